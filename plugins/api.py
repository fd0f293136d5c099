"""The plugin API version a plugin declares, and whether this regionpaint can load it.

A plugin declares the API it was written for with a module (or instance) attribute::

    REGIONPAINT_API = "1.0"   # needs plugin API 1.x, at least 1.0

``MAJOR.MINOR``: the major number must equal this regionpaint's (:data:`regionpaint.PLUGIN_API_VERSION`),
the minor number must not be newer (a minor bump only adds hooks and fields). A plugin that declares
nothing is loaded as before, and listed with API "undeclared".
"""

from __future__ import annotations

import re
from typing import Any

from regionpaint.markers import PLUGIN_API_VERSION

API_ATTRIBUTE = "REGIONPAINT_API"
_VERSION = re.compile(r"^\s*(\d+)(?:\.(\d+))?\s*$")


class ApiVersionError(Exception):
    """A plugin made for a plugin API this regionpaint does not provide."""


def parse_api_version(text: str) -> tuple[int, int]:
    """``"1.2"`` -> ``(1, 2)``; ``"1"`` -> ``(1, 0)``. Raises ValueError on anything else."""
    match = _VERSION.match(str(text))
    if not match:
        raise ValueError(f"{API_ATTRIBUTE} must look like '1.0', not {text!r}")
    return int(match.group(1)), int(match.group(2) or 0)


def declared_api(plugin: Any) -> str | None:
    """The API version a loaded plugin (module or instance) declares, or None."""
    value = getattr(plugin, API_ATTRIBUTE, None)
    return None if value is None else str(value)


def check_api(plugin: Any, provided: str = PLUGIN_API_VERSION) -> str | None:
    """Raise :class:`ApiVersionError` when ``plugin`` needs an API that ``provided`` is not compatible with.

    Returns the declared version (None when the plugin declares none).
    """
    declared = declared_api(plugin)
    if declared is None:
        return None
    try:
        major, minor = parse_api_version(declared)
    except ValueError as exc:
        raise ApiVersionError(str(exc)) from None
    have_major, have_minor = parse_api_version(provided)
    if major != have_major or minor > have_minor:
        raise ApiVersionError(
            f"made for plugin API {declared}, but this regionpaint provides plugin API {provided}: "
            f"install a version of the plugin made for API {have_major}.x"
            + (" or upgrade regionpaint" if (major, minor) > (have_major, have_minor) else "")
        )
    return declared
