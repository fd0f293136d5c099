"""Installing and removing plugin packages with the pip of the running interpreter (CLI and editor share it).

:func:`pip_install_args` / :func:`pip_uninstall_args` build the command; the CLI runs it with its
output on the terminal, the Plugins dialog in a ``QProcess`` with live output. :func:`distribution_name`
says which distribution a spec (a name, a wheel, a folder) installs, so the caller can list what that
package registered once the plugin manager is reloaded.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def normalize(name: str) -> str:
    """PEP 503 normalised name: ``My_Plugin`` == ``my-plugin``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pip_install_args(
    specs: list[str],
    editable: bool = False,
    no_deps: bool = False,
    no_build_isolation: bool = False,
    upgrade: bool = False,
) -> list[str]:
    """``[python, -m, pip, install, ...]`` for ``specs`` (package names, wheels, folders)."""
    args = [sys.executable, "-m", "pip", "install"]
    if upgrade:
        args.append("--upgrade")
    if no_deps:
        args.append("--no-deps")
    if no_build_isolation:
        args.append("--no-build-isolation")
    for spec in specs:
        args += ["-e", spec] if editable else [spec]
    return args


def pip_uninstall_args(distributions: list[str]) -> list[str]:
    return [sys.executable, "-m", "pip", "uninstall", "-y", *distributions]


def distribution_name(spec: str) -> str:
    """The distribution a spec installs: a folder's pyproject ``[project] name``, a wheel's or sdist's
    file-name prefix, or the requirement's name. Empty when it cannot be told."""
    path = Path(spec).expanduser()
    if path.is_dir():
        return _project_name(path)
    if path.suffix == ".whl":
        return path.name.split("-")[0]
    if path.name.endswith((".tar.gz", ".zip")) and path.exists():
        return path.name.rsplit("-", 1)[0]
    match = _NAME.match(spec)
    return match.group(1) if match and "/" not in spec else ""


def _project_name(folder: Path) -> str:
    pyproject = folder / "pyproject.toml"
    if not pyproject.is_file():
        return ""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        return _grep_name(pyproject.read_text(encoding="utf-8"))
    try:
        return str(tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {}).get("name", ""))
    except (OSError, ValueError):
        return ""


def _grep_name(text: str) -> str:
    match = re.search(r'^\s*name\s*=\s*"([^"]+)"', text, re.MULTILINE)
    return match.group(1) if match else ""


def installed_distribution(name: str) -> str:
    """The distribution to uninstall for ``name``: an installed plugin's entry-point name or a distribution name."""
    import importlib.metadata

    wanted = normalize(name)
    for ep in importlib.metadata.entry_points(group="regionpaint"):
        dist = getattr(ep, "dist", None)
        if dist is not None and (ep.name == name or normalize(dist.metadata["Name"]) == wanted):
            return dist.metadata["Name"]
    return name
