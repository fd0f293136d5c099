"""``regionpaint gui``: open the editor window."""

from __future__ import annotations

import argparse
import logging

from regionpaint.app.bundled_demo import FACE_DEMO as DEMO_PROJECT  # a face with two style sources, rendered by SEAN

log = logging.getLogger(__name__)


def register(cli) -> None:
    cli.add_command("gui", "Open the editor (the default command).", configure, run)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--open", metavar="FILE", help="a .rpaint project to open")
    parser.add_argument("--demo", action="store_true", help="open the bundled face demo")
    parser.add_argument("--screenshot", metavar="OUT.png", help="save a screenshot of the window and exit")
    parser.add_argument("--engine", metavar="ID", help="render the opened document with this engine")
    parser.add_argument("--checkpoint", metavar="PATH", help="render the opened document with this checkpoint")


def run(args: argparse.Namespace) -> int:
    from regionpaint.app.qt.main import run_editor  # Qt is imported only when the editor is asked for

    open_path = args.open
    if args.demo and not open_path:
        if DEMO_PROJECT.is_file():
            open_path = str(DEMO_PROJECT)
        else:  # the editor still opens, empty; the message says how to build the demo
            log.warning("%s is not built yet (python -m tools.demo.build); opening an empty editor", DEMO_PROJECT)
    if args.engine:
        from regionpaint.plugins.manager import get_plugin_manager

        get_plugin_manager().engine_class(args.engine)  # an unknown id is an error here, not in the window
    return run_editor(open_path=open_path, screenshot=args.screenshot, engine=args.engine, checkpoint=args.checkpoint)
