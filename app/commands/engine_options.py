"""Engine options on the command line, one implementation for ``render`` and ``batch``.

Every engine option is ``--option NAME=VALUE``; an option declared with ``flag=True`` is also its own flag
(``--patch-size 8``), added for every registered engine's such options when the parser is built, since the
engine is known only once the arguments are parsed. :func:`given_options` then picks this engine's values
(a dedicated flag of another engine's option is an error, not silently ignored) and
:func:`regionpaint.engines.schema.checked_engine_options` checks them against the engine's schema, so a bad
value stops the command before a model is loaded.
"""

from __future__ import annotations

import argparse
from typing import Any

FLAG_PREFIX = "engine_option_"  # argparse destinations of the dedicated flags
OPTION_HELP = (
    "an engine option from the engine's schema, NAME=VALUE (repeatable; `regionpaint engines --options` "
    "lists every engine's options, their types, ranges and defaults)"
)


def add_option_flags(parser: argparse.ArgumentParser, command: str) -> None:
    """``--option`` and a dedicated flag for every engine option that asks for one (``Option.flag``).

    Call it after the command's own flags: an option whose flag is already one of them (``size`` ->
    ``--size``) is refused and reported against its plugin (``plugins list``; the option stays usable as
    ``--option NAME=VALUE``): argparse would otherwise abort the registration of this and every later command.
    """
    from regionpaint.plugins.manager import get_plugin_manager

    parser.add_argument("--option", action="append", default=[], metavar="NAME=VALUE", help=OPTION_HELP)
    manager = get_plugin_manager()
    seen: set[str] = set()
    for entry in manager.engines().values():
        for option in entry.engine_class.options:
            if not option.flag or option.cli_flag in seen:
                continue
            seen.add(option.cli_flag)
            help_text = f"{entry.engine_class.display_name}: {option.help}" if option.help else None
            try:
                parser.add_argument(
                    option.cli_flag, dest=flag_dest(option), metavar=option.kind.upper(), help=help_text
                )
            except argparse.ArgumentError:
                _report_clash(manager, entry, option, command)


def _report_clash(manager, entry, option, command: str) -> None:
    """One load error per refused flag, naming the first command it clashes with (``render`` and ``batch``
    share most flags: ``--size`` would otherwise be reported twice)."""
    about = f"engine {entry.engine_class.id!r} option {option.name!r}: its flag {option.cli_flag} is already a flag of"
    info = manager.plugins.get(entry.plugin)
    if info is not None and any(error.startswith(about) for error in info.errors):
        return
    manager.record_error(
        entry.plugin,
        f"{about} `regionpaint {command}`; not added (pass it as --option {option.name}=VALUE)",
    )


def flag_dest(option) -> str:
    """The argparse destination of an option's dedicated flag (apart from the command's own flags)."""
    return FLAG_PREFIX + option.name


def given_options(args: argparse.Namespace, engine_class) -> dict[str, Any]:
    """``{name: value}`` given on the command line for ``engine_class``: ``--option`` pairs, then its
    dedicated flags. Values are as typed (strings); ``schema.checked_engine_options`` parses them.

    Raises OptionError for a dedicated flag that is not this engine's (``--patch-size`` with SPADE).
    """
    from regionpaint.engines.schema import OptionError, parse_key_values

    values: dict[str, Any] = parse_key_values(getattr(args, "option", None) or [])
    own = {flag_dest(o): o for o in engine_class.options if o.flag}
    for dest, value in sorted(vars(args).items()):
        if not dest.startswith(FLAG_PREFIX) or value is None:
            continue
        option = own.get(dest)
        if option is None:
            name = dest[len(FLAG_PREFIX) :]
            flag = "--" + name.replace("_", "-")
            known = ", ".join(o.name for o in engine_class.options) or "none"
            raise OptionError(
                f"{flag}: the {engine_class.display_name} engine has no option {name} (its options: {known}; "
                "`regionpaint engines --options` lists every engine's)"
            )
        values[option.name] = value
    return values
