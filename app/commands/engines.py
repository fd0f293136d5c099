"""``regionpaint engines``: the registered rendering engines, their label sets and capabilities."""

from __future__ import annotations

import argparse
import json

from regionpaint.app.commands.tables import table


def register(cli) -> None:
    cli.add_command("engines", "List the registered rendering engines.", _configure_json, run_engines)


def _configure_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run_engines(args: argparse.Namespace) -> int:
    from regionpaint.plugins.manager import get_plugin_manager

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
                "needs_checkpoint": bool(cls.needs_checkpoint),
            }
        )
    if args.json:
        print(json.dumps(engines, indent=1))
    else:
        rows = [
            [
                e["id"],
                e["name"],
                e["plugin"],
                "yes" if e["needs_checkpoint"] else "no",
                ", ".join(e["label_sets"]),
                ", ".join(e["capabilities"]),
            ]
            for e in engines
        ]
        print(table(rows, ["id", "name", "plugin", "checkpoint", "label sets", "capabilities"]))
    return 0
