"""``regionpaint engines``, ``plugins``, ``install`` and ``uninstall``: what is installed, and managing it."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys


def register(cli) -> None:
    cli.add_command("engines", "List the registered rendering engines.", _configure_json, run_engines)
    cli.add_command(
        "plugins", "List loaded plugins, their hooks, engines and load errors.", _configure_json, run_plugins
    )
    cli.add_command("install", "pip-install plugin packages into this environment.", _configure_packages, run_install)
    cli.add_command(
        "uninstall", "pip-uninstall plugin packages from this environment.", _configure_packages, run_uninstall
    )


def _configure_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _configure_packages(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("packages", nargs="+", help="package names, paths or requirement specifiers")


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def run_engines(args: argparse.Namespace) -> int:
    from plugins.manager import get_plugin_manager

    manager = get_plugin_manager()
    engines = []
    for engine_id, entry in sorted(manager.engines().items()):
        cls = entry.engine_class
        engines.append(
            {
                "id": engine_id,
                "name": cls.display_name,
                "plugin": entry.plugin,
                "label_sets": list(cls.label_sets),
                "capabilities": sorted(cls.capabilities),
            }
        )
    if args.json:
        print(json.dumps(engines, indent=1))
    else:
        rows = [
            [e["id"], e["name"], e["plugin"], ", ".join(e["label_sets"]), ", ".join(e["capabilities"])] for e in engines
        ]
        print(_table(rows, ["id", "name", "plugin", "label sets", "capabilities"]))
    _print_errors(manager)
    return 0


def run_plugins(args: argparse.Namespace) -> int:
    from plugins.manager import get_plugin_manager

    manager = get_plugin_manager()
    plugins = [
        {
            "name": info.name,
            "version": info.version,
            "source": info.source,
            "hooks": info.hooks,
            "engines": info.engines,
            "label_sets": info.label_sets,
            "segmenters": info.segmenters,
            "errors": info.errors,
        }
        for info in manager.plugins.values()
    ]
    if args.json:
        print(json.dumps(plugins, indent=1))
        return 0
    rows = [
        [
            p["name"],
            p["version"],
            p["source"],
            ", ".join(p["hooks"]),
            ", ".join(p["engines"] + p["label_sets"] + p["segmenters"]),
            "; ".join(p["errors"]) or "-",
        ]
        for p in plugins
    ]
    print(_table(rows, ["plugin", "version", "source", "hooks", "provides", "errors"]))
    return 0


def _print_errors(manager) -> None:
    for plugin, error in manager.errors:
        print(f"regionpaint: plugin {plugin}: {error}", file=sys.stderr)


def _pip(*arguments: str) -> int:
    # The running interpreter's pip, so plugins land in the environment regionpaint runs from.
    return subprocess.call([sys.executable, "-m", "pip", *arguments])


def run_install(args: argparse.Namespace) -> int:
    return _pip("install", *args.packages)


def run_uninstall(args: argparse.Namespace) -> int:
    return _pip("uninstall", "-y", *args.packages)
