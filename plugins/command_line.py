"""The object a plugin's ``register_commands(cli)`` hook receives: sub-commands collected on an argparse parser.

It belongs to the plugin contract, so it lives in the plugin layer: the CLI builds its parser with it, and the
plugin manager uses one to learn which plugin adds which command (``plugins list``, the Plugins dialog).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable


class CommandLine:
    """The object handed to ``register_commands(cli)``: collects sub-commands on an argparse parser."""

    def __init__(self) -> None:
        self.parser = argparse.ArgumentParser(
            prog="regionpaint",
            description="Repaint semantic regions of a photo and render them with SPADE, SEAN or pix2pixHD.",
        )
        self.parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
        self.parser.add_argument(
            "--version", action="version", version=version_text(), help="show the app and plugin API versions"
        )
        self._subparsers = self.parser.add_subparsers(dest="command", metavar="COMMAND")
        self.commands: dict[str, argparse.ArgumentParser] = {}

    def add_command(
        self,
        name: str,
        help: str,
        configure: Callable[[argparse.ArgumentParser], None],
        run: Callable[[argparse.Namespace], int],
    ) -> None:
        if name in self.commands:
            raise ValueError(f"command {name!r} is already defined")
        parser = self._subparsers.add_parser(name, help=help, description=help)
        configure(parser)
        parser.set_defaults(_run=run)
        self.commands[name] = parser


def version_text() -> str:
    """``regionpaint 0.1.0 (plugin API 1.0)``: what ``--version`` prints."""
    import regionpaint

    return f"regionpaint {regionpaint.__version__} (plugin API {regionpaint.PLUGIN_API_VERSION})"
