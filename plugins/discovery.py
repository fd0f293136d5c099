"""Installed plugins as their packages' metadata describes them, without importing any of them.

Entry points in the ``regionpaint`` group name the plugins; reading them touches only ``*.dist-info``
files. ``plugins disable``, ``enable`` and ``uninstall`` work from this alone, so they keep working
when a plugin cannot even be imported (the way out of a broken plugin must not run it).
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass

from regionpaint.plugins import PROJECT_NAME

ENTRY_POINT_GROUP = PROJECT_NAME


@dataclass(frozen=True)
class InstalledPlugin:
    """One entry point of the ``regionpaint`` group: ``name = value`` from ``distribution`` ``version``."""

    name: str
    value: str  # "module" or "module:attribute"
    distribution: str
    version: str
    entry_point: importlib.metadata.EntryPoint

    def matches(self, name: str) -> bool:
        """Whether ``name`` is this plugin's entry-point name or its distribution's (``My_Pkg`` == ``my-pkg``)."""
        from regionpaint.plugins.install import normalize

        return name == self.name or (bool(self.distribution) and normalize(name) == normalize(self.distribution))


def installed_plugins() -> list[InstalledPlugin]:
    """Every installed plugin's entry point, in the order importlib.metadata lists them."""
    found = []
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        found.append(
            InstalledPlugin(
                name=ep.name,
                value=ep.value,
                distribution=(dist.metadata["Name"] or "") if dist is not None else "",
                version=dist.version if dist is not None else "",
                entry_point=ep,
            )
        )
    return found


def find_installed(name: str) -> list[InstalledPlugin]:
    """The installed plugins ``name`` designates (a distribution may provide several entry points)."""
    return [plugin for plugin in installed_plugins() if plugin.matches(name)]
