"""The ``regionpaint`` command line.

Every sub-command, built-in or from a plugin, is added through the ``register_commands(cli)`` hook.
Errors a user can fix are printed as one line (``regionpaint: error: ...``) with a non-zero exit,
never a traceback (``--debug`` shows it). Every line regionpaint prints to stderr goes through
:func:`one_line`: a file name holding a newline or an escape sequence cannot forge a second line.

``plugins enable`` / ``disable`` / ``uninstall`` (and ``uninstall``) import no installed plugin: they are
the way out of a plugin that breaks the application (see :func:`regionpaint.plugins.manager.use_builtins_only`).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from regionpaint.plugins.command_line import CommandLine, version_text  # noqa: F401 - CommandLine: the hook's cli object

log = logging.getLogger(__name__)

EXIT_USER_ERROR = 2


def one_line(text: object) -> str:
    """``text`` with control characters (newline, carriage return, escape, ...) written as ``repr`` writes
    them (``\\n``, ``\\x1b``), so a message naming a hostile file name stays one honest line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def say(message: object) -> None:
    """Print one line of regionpaint's own to stderr (``regionpaint: ...``)."""
    print(f"regionpaint: {one_line(message)}", file=sys.stderr)


class _OneLineFormatter(logging.Formatter):
    """Log messages through :func:`one_line` (a traceback under ``--debug`` keeps its lines)."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        return one_line(super().formatMessage(record))


def report_plugin_errors(manager) -> None:
    """Print each plugin load error once: the first run that meets it, not every command after
    (``regionpaint plugins list`` always shows them)."""
    from regionpaint.plugins.state import unseen_errors

    for plugin, error in unseen_errors(manager.errors):
        say(f"plugin {plugin}: {error} (shown once; see `regionpaint plugins list`)")


def manages_plugins(argv: Sequence[str]) -> bool:
    """Whether ``argv`` is ``plugins enable|disable|uninstall ...`` or ``uninstall ...``: commands that must
    not import installed plugins (the first words that are not options name the command)."""
    words = [a for a in argv if not a.startswith("-")]
    return words[:1] == ["uninstall"] or (
        words[:1] == ["plugins"] and words[1:2] in (["enable"], ["disable"], ["uninstall"])
    )


def _user_errors() -> tuple[type[BaseException], ...]:
    """Exception types whose message is meant for the user (imported lazily to keep start-up light)."""
    from regionpaint.app.model.document import DocumentError
    from regionpaint.engines.base import EngineError
    from regionpaint.plugins.manager import PluginError

    return (EngineError, DocumentError, PluginError, ValueError, OSError, KeyError)


def _where_to_find_more(exc: BaseException) -> str:
    """Where the traceback of an engine's crash (a bug, not the person's mistake) is: the one line says how."""
    from regionpaint.app.render.guard import EngineCrash

    return "; `regionpaint --debug ...` shows the traceback" if isinstance(exc, EngineCrash) else ""


def _configure_logging(debug: bool) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(_OneLineFormatter("regionpaint: %(message)s"))
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, handlers=[handler])


def _command_line(argv: Sequence[str]) -> CommandLine:
    """The parser with every command; plugins are loaded here (all of them, or only the built-ins)."""
    from regionpaint.plugins.manager import get_plugin_manager, use_builtins_only

    cli = CommandLine()
    if manages_plugins(argv):
        use_builtins_only().add_commands(cli)
        return cli
    manager = get_plugin_manager()
    manager.add_commands(cli)
    report_plugin_errors(manager)
    return cli


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    _configure_logging(debug)
    try:
        cli = _command_line(argv)
        if not any(a in cli.commands for a in argv) and not {"-h", "--help"} & set(argv) and "gui" in cli.commands:
            argv.append("gui")  # plain `regionpaint` opens the editor
        args = cli.parser.parse_args(argv)
        return int(args._run(args) or 0)
    except KeyboardInterrupt:  # the person's Ctrl+C (a plugin's own KeyboardInterrupt is its load error)
        say("interrupted")
        return 130
    except MemoryError:
        if debug:
            raise
        say("error: out of memory; try a smaller --size or --device cpu")
        return EXIT_USER_ERROR
    except _user_errors() as exc:
        if debug:
            raise
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        say(f"error: {message}{_where_to_find_more(exc)}")
        return EXIT_USER_ERROR
    finally:
        if manages_plugins(argv):
            from regionpaint.plugins.manager import get_plugin_manager

            get_plugin_manager.cache_clear()  # this process's next command loads every plugin again


if __name__ == "__main__":
    sys.exit(main())
