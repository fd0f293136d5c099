"""The ``regionpaint`` command line.

Every sub-command, built-in or from a plugin, is added through the ``register_commands(cli)`` hook.
Errors a user can fix are printed as one line (``regionpaint: error: ...``) with a non-zero exit,
never a traceback (``--debug`` shows it).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

log = logging.getLogger(__name__)

EXIT_USER_ERROR = 2


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


def report_plugin_errors(manager) -> None:
    """Print each plugin load error once: the first run that meets it, not every command after
    (``regionpaint plugins list`` always shows them)."""
    from plugins.state import unseen_errors

    for plugin, error in unseen_errors(manager.errors):
        print(f"regionpaint: plugin {plugin}: {error} (shown once; see `regionpaint plugins list`)", file=sys.stderr)


def _user_errors() -> tuple[type[BaseException], ...]:
    """Exception types whose message is meant for the user (imported lazily to keep start-up light)."""
    from app.model.document import DocumentError
    from engines.base import EngineError
    from plugins.manager import PluginError

    return (EngineError, DocumentError, PluginError, ValueError, OSError, KeyError)


def main(argv: Sequence[str] | None = None) -> int:
    from plugins.manager import get_plugin_manager

    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="regionpaint: %(message)s")
    cli = CommandLine()
    manager = get_plugin_manager()
    manager.add_commands(cli)
    report_plugin_errors(manager)
    if not any(a in cli.commands for a in argv) and not {"-h", "--help"} & set(argv) and "gui" in cli.commands:
        argv.append("gui")  # plain `regionpaint` opens the editor
    args = cli.parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("regionpaint: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        if args.debug:
            raise
        print("regionpaint: error: out of memory; try a smaller --size or --device cpu", file=sys.stderr)
        return EXIT_USER_ERROR
    except _user_errors() as exc:
        if args.debug:
            raise
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"regionpaint: error: {message}", file=sys.stderr)
        return EXIT_USER_ERROR


if __name__ == "__main__":
    sys.exit(main())
