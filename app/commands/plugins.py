"""``regionpaint plugins`` (list, install, uninstall, enable, disable, new) and the top-level ``install`` /
``uninstall``: managing the plugins installed in this environment."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from regionpaint.app.commands.tables import table


def register(cli) -> None:
    cli.add_command(
        "plugins",
        "Manage plugins: list (the default), install, uninstall, enable, disable, new.",
        _configure_plugins,
        run_plugins,
    )
    # Kept from before `plugins install`: the same commands at the top level.
    cli.add_command("install", "Install plugin packages (= plugins install).", _configure_install, run_install)
    cli.add_command("uninstall", "Uninstall plugin packages (= plugins uninstall).", _configure_names, run_uninstall)


def _configure_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _configure_install(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("specs", nargs="*", metavar="SPEC", help="package name, wheel file or project folder")
    parser.add_argument(
        "-e", "--editable", action="append", default=[], metavar="FOLDER", help="install a project folder editable"
    )
    parser.add_argument("-U", "--upgrade", action="store_true", help="upgrade an installed package")
    parser.add_argument("--no-deps", action="store_true", help="do not install the package's dependencies")
    parser.add_argument(
        "--no-build-isolation", action="store_true", help="build with the packages already installed (offline)"
    )


def _configure_names(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("names", nargs="+", metavar="NAME", help="plugin (entry-point) or package names")


def _configure_plugins(parser: argparse.ArgumentParser) -> None:
    _configure_json(parser)
    sub = parser.add_subparsers(dest="plugins_command", metavar="ACTION")
    _configure_json(sub.add_parser("list", help="installed plugins: version, status, what they provide, errors"))
    _configure_install(sub.add_parser("install", help="pip-install plugin packages into this environment"))
    _configure_names(sub.add_parser("uninstall", help="pip-uninstall plugin packages"))
    _configure_names(sub.add_parser("enable", help="load these plugins again (remembered)"))
    _configure_names(sub.add_parser("disable", help="keep these plugins from loading (remembered)"))
    new = sub.add_parser("new", help="create a plugin package with an engine, options and a test")
    new.add_argument("name", metavar="NAME", help="package name, e.g. regionpaint-flatcolor")
    new.add_argument("--dir", metavar="FOLDER", default=".", help="where to create it (default: here)")


def run_plugins(args: argparse.Namespace) -> int:
    action = getattr(args, "plugins_command", None) or "list"
    runners = {
        "list": run_plugin_list,
        "install": run_install,
        "uninstall": run_uninstall,
        "enable": lambda a: _set_enabled(a, True),
        "disable": lambda a: _set_enabled(a, False),
        "new": run_new,
    }
    return runners[action](args)


def run_plugin_list(args: argparse.Namespace) -> int:
    from regionpaint.plugins.manager import get_plugin_manager

    manager = get_plugin_manager()
    manager.collect_commands()
    plugins = manager.plugin_rows()
    if args.json:
        print(json.dumps(plugins, indent=1))
        return 0
    print(_pluginstable(plugins))
    return 0


def _pluginstable(plugins: list[dict]) -> str:
    rows = [
        [
            p["name"],
            p["distribution"] if p["distribution"] != p["name"] else "",
            p["version"],
            p["status"],
            ", ".join(p["engines"] + p["label_sets"] + p["segmenters"] + [f"`{c}`" for c in p["commands"]]) or "-",
            "; ".join(p["errors"]) or "-",
        ]
        for p in plugins
    ]
    return table(rows, ["plugin", "package", "version", "status", "provides", "errors"])


def _pip(argv: list[str]) -> int:
    # The running interpreter's pip, so plugins land in the environment regionpaint runs from;
    # its output goes straight to the terminal.
    print("$ " + " ".join(argv[2:] if argv[1:2] == ["-m"] else argv), flush=True)
    return subprocess.call(argv)


def run_install(args: argparse.Namespace) -> int:
    from regionpaint.plugins.install import distribution_name, normalize, pip_install_args
    from regionpaint.plugins.manager import get_plugin_manager, reload_plugin_manager

    specs, editable = list(args.specs), list(args.editable)
    if not specs and not editable:
        raise ValueError("plugins install needs a package name, a wheel, a folder or -e FOLDER")
    before = {(i.name, i.version) for i in get_plugin_manager().plugins.values()}
    wanted = {normalize(n) for n in map(distribution_name, specs + editable) if n}
    options = {"no_deps": args.no_deps, "no_build_isolation": args.no_build_isolation, "upgrade": args.upgrade}
    for group, is_editable in ((specs, False), (editable, True)):
        if group:
            status = _pip(pip_install_args(group, editable=is_editable, **options))
            if status != 0:
                print(f"regionpaint: error: pip install failed (exit {status}); nothing changed", file=sys.stderr)
                return status
    manager = reload_plugin_manager()
    manager.collect_commands()
    new = [
        row
        for row in manager.plugin_rows()
        if row["source"] == "entry point"
        and (normalize(row["distribution"]) in wanted or (row["name"], row["version"]) not in before)
    ]
    if not new:
        print("Installed, but no regionpaint plugin was registered by it (no entry point in the 'regionpaint' group).")
        return 0
    print("\nThe package provides:")
    print(_pluginstable(new))
    return 1 if any(row["errors"] for row in new) else 0


def run_uninstall(args: argparse.Namespace) -> int:
    import importlib.metadata

    from regionpaint.plugins.discovery import installed_plugins
    from regionpaint.plugins.install import installed_distribution, normalize, pip_uninstall_args

    distributions = [installed_distribution(name) for name in args.names]
    pairs = list(zip(args.names, distributions, strict=True))
    for name, distribution in pairs:
        try:
            importlib.metadata.distribution(distribution)
        except importlib.metadata.PackageNotFoundError:
            message = f"{name}: no installed plugin or package of that name (see `regionpaint plugins list`)"
            raise ValueError(message) from None
    status = _pip(pip_uninstall_args(distributions))
    if status != 0:
        return status
    importlib.invalidate_caches()
    left = {normalize(plugin.distribution) for plugin in installed_plugins()}  # from metadata: nothing is imported
    named = {d: name if normalize(name) == normalize(d) else f"{name} (package {d})" for name, d in pairs}
    removed = [named[d] for d in distributions if normalize(d) not in left]
    if removed:
        print("Removed: " + ", ".join(removed))
    kept = [d for d in distributions if normalize(d) in left]
    if kept:  # pip exits 0 when it declines, e.g. for a copy outside this environment (a folder on PYTHONPATH)
        where = "; ".join(f"{d} at {_location(d)}" for d in kept)
        raise ValueError(
            f"pip did not remove {where} (outside this environment: delete it there or take it off PYTHONPATH; "
            f"`regionpaint plugins disable NAME` keeps a plugin from loading)"
        )
    return 0


def _location(distribution: str) -> str:
    """The folder an installed distribution's metadata is in (where to remove it by hand)."""
    import importlib.metadata

    try:
        return str(importlib.metadata.distribution(distribution).locate_file(""))
    except importlib.metadata.PackageNotFoundError:
        return "an unknown place"


def _set_enabled(args: argparse.Namespace, enabled: bool) -> int:
    """Remember the choice; reads installed plugins from their metadata and imports none of them, so a plugin
    that breaks on import can still be disabled (and enabling one does not run it: the next command does)."""
    from regionpaint.plugins.discovery import find_installed
    from regionpaint.plugins.manager import DEFAULT_PLUGINS
    from regionpaint.plugins.state import set_enabled

    chosen = []
    for name in args.names:
        found = find_installed(name)
        if not found:
            if name in DEFAULT_PLUGINS:
                raise ValueError(f"{name!r} is built into regionpaint and cannot be disabled")
            raise ValueError(f"no installed plugin named {name!r} (see `regionpaint plugins list`)")
        chosen += [plugin.name for plugin in found if plugin.name not in chosen]
    for name in chosen:
        set_enabled(name, enabled)
    for name in chosen:
        print(f"{name}: enabled (loads from the next command on)" if enabled else f"{name}: disabled")
    return 0


def run_new(args: argparse.Namespace) -> int:
    from regionpaint.plugins.scaffold import create_plugin

    folder = create_plugin(args.name, Path(args.dir))
    print(f"Created {folder}")
    print(f"Install it with:  regionpaint plugins install -e {folder}")
    print(f"Test it with:     python -m pytest {folder / 'tests'}")
    return 0
