"""``regionpaint engines``: the registered rendering engines, their label sets, capabilities and options.

The table names each engine's options; ``--options`` describes them (type, accepted values, default, the
dedicated flag, the capability a checkpoint must offer, help), as ``render --help`` promises; ``--json``
always holds every option in full (:func:`regionpaint.engines.schema.describe_option`).
"""

from __future__ import annotations

import argparse
import json

from regionpaint.app.commands.tables import table


def register(cli) -> None:
    cli.add_command("engines", "List the registered rendering engines and their options.", configure, run_engines)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output (options included)")
    parser.add_argument(
        "--options",
        action="store_true",
        help="describe every engine's options: type, accepted values, default, flag, required capability, help",
    )


def run_engines(args: argparse.Namespace) -> int:
    from regionpaint.engines.schema import describe_option
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
                "options": [describe_option(option) for option in cls.options],
            }
        )
    if args.json:
        print(json.dumps(engines, indent=1, default=str))
    elif args.options:
        print(_options_text(manager, engines))
    else:
        rows = [
            [
                e["id"],
                e["name"],
                e["plugin"],
                "yes" if e["needs_checkpoint"] else "no",
                ", ".join(e["label_sets"]),
                ", ".join(e["capabilities"]),
                ", ".join(o["name"] for o in e["options"]) or "-",
            ]
            for e in engines
        ]
        print(table(rows, ["id", "name", "plugin", "checkpoint", "label sets", "capabilities", "options"]))
    return 0


def _options_text(manager, engines: list[dict]) -> str:
    """Per engine, a table of its options (or a line saying it has none)."""
    from regionpaint.engines.schema import accepted_values, option_text

    def _default_text(option) -> str:
        if option.default is None:
            return "-"
        return '""' if option.default == "" else option_text(option, option.default)

    blocks = []
    for engine in engines:
        schema = manager.engine_class(engine["id"]).options
        title = f"{engine['id']} ({engine['name']}, plugin {engine['plugin']})"
        if not schema:
            blocks.append(f"{title}: no options")
            continue
        rows = [
            [
                option.name,
                option.kind,
                accepted_values(option),
                _default_text(option),
                option.cli_flag if option.flag else "-",
                option.requires or "-",
                option.help,
            ]
            for option in schema
        ]
        blocks.append(f"{title}\n" + table(rows, ["option", "type", "values", "default", "flag", "requires", "help"]))
    usage = "render and batch take each option as --option NAME=VALUE (and by its flag where it has one)"
    return "\n\n".join([*blocks, usage])
