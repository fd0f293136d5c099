"""``regionpaint gui``: open the editor window."""

from __future__ import annotations

import argparse


def register(cli) -> None:
    cli.add_command("gui", "Open the editor (the default command).", configure, run)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--open", metavar="FILE", help="a .rpaint project to open")
    parser.add_argument("--screenshot", metavar="OUT.png", help="save a screenshot of the window and exit")


def run(args: argparse.Namespace) -> int:
    from app.qt.main import run_editor  # Qt is imported only when the editor is asked for

    return run_editor(open_path=args.open, screenshot=args.screenshot)
