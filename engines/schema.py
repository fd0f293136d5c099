"""Declarative option schemas: an engine (or trainer) lists its options once, front ends are generated from it.

The CLI turns each :class:`Option` into a flag (``render``: ``--option name=value`` and, for options with
``flag=True``, ``--name``), the editor into a control, the Train dialog into a field. ``requires`` names a
capability the *loaded checkpoint* must offer for the option to apply (SPADE's ``z`` only on VAE
checkpoints), so front ends hide it otherwise. Torch-free.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from regionpaint.untrusted import loads_json

# Option kinds and the Python type a value of that kind has after parsing.
KINDS = ("int", "float", "bool", "str", "choice", "path", "json")  # json: any JSON value (a str is parsed)


class OptionError(ValueError):
    """A value that does not fit its option (wrong type, out of range, not a choice, unknown name)."""


@dataclass(frozen=True)
class Option:
    name: str  # identifier: lower_case_with_underscores
    kind: str  # one of KINDS
    default: Any = None
    help: str = ""
    choices: tuple[Any, ...] = ()  # for kind "choice"
    minimum: float | None = None  # inclusive, for int / float
    maximum: float | None = None
    requires: str | None = None  # a capability the loaded checkpoint must offer
    advanced: bool = False  # shown under "Advanced" in dialogs
    flag: bool = False  # also a dedicated command-line flag --<name-with-dashes>
    label: str = ""  # display label; defaults to the name in words

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"option {self.name!r}: kind must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if self.kind == "choice" and not self.choices:
            raise ValueError(f"option {self.name!r}: a choice option needs choices")

    @property
    def display_label(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()

    @property
    def cli_flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def parse(self, value: Any) -> Any:
        """``value`` (a string from the command line or a JSON value) as this option's type, checked."""
        try:
            if self.kind == "int":
                parsed: Any = int(value) if not isinstance(value, bool) else int(value)
            elif self.kind == "float":
                parsed = float(value)
            elif self.kind == "bool":
                if isinstance(value, bool):
                    parsed = value
                elif str(value).strip().lower() in ("1", "true", "yes", "on"):
                    parsed = True
                elif str(value).strip().lower() in ("0", "false", "no", "off"):
                    parsed = False
                else:
                    raise ValueError
            elif self.kind == "json":  # bounded: a deep string from a project is a ValueError, not a RecursionError
                parsed = loads_json(value, f"option {self.name}") if isinstance(value, str) else value
            else:
                parsed = str(value)
        except (TypeError, ValueError):
            raise OptionError(f"option {self.name}: {value!r} is not a valid {self.kind}") from None
        if self.kind == "choice":
            names = [str(c) for c in self.choices]
            if str(parsed) not in names:
                raise OptionError(f"option {self.name}: {value!r} is not one of {', '.join(names)}")
            parsed = self.choices[names.index(str(parsed))]
        if self.kind in ("int", "float"):
            if self.minimum is not None and parsed < self.minimum:
                raise OptionError(f"option {self.name}: {parsed} is below the minimum {self.minimum}")
            if self.maximum is not None and parsed > self.maximum:
                raise OptionError(f"option {self.name}: {parsed} is above the maximum {self.maximum}")
        return parsed


def option_text(option: Option, value: Any) -> str:
    """``value`` (already parsed) as the text ``--option NAME=TEXT`` takes: ``option.parse(text) == value``.

    Written one way per value (``true``, not ``1``; compact sorted JSON), so a batch record's replay command
    and its fingerprint do not depend on how the value was typed.
    """
    if option.kind == "bool":
        return "true" if value else "false"
    if option.kind == "json":
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    if option.kind == "float":
        return repr(float(value))
    return str(value)


def describe_option(option: Option) -> dict[str, Any]:
    """An option as plain JSON for listings (``regionpaint engines --json``): what it is, what it takes."""
    return {
        "name": option.name,
        "type": option.kind,
        "default": option.default,
        "help": option.help,
        "choices": list(option.choices) if option.kind == "choice" else None,
        "minimum": option.minimum,
        "maximum": option.maximum,
        "requires": option.requires,
        "flag": option.cli_flag if option.flag else None,
        "advanced": option.advanced,
        "label": option.display_label,
    }


def accepted_values(option: Option) -> str:
    """What an option takes, in a few words: ``0 to 128``, ``lab | rgb``, ``true/false``, ``>= 1``."""
    if option.kind == "choice":
        return " | ".join(str(c) for c in option.choices)
    if option.kind == "bool":
        return "true/false"
    if option.kind in ("int", "float"):
        if option.minimum is not None and option.maximum is not None:
            return f"{option.minimum:g} to {option.maximum:g}"
        if option.minimum is not None:
            return f">= {option.minimum:g}"
        if option.maximum is not None:
            return f"<= {option.maximum:g}"
        return f"any {option.kind}"
    return {"json": "JSON value", "path": "file path"}.get(option.kind, "text")


def option_map(options: Iterable[Option]) -> dict[str, Option]:
    return {o.name: o for o in options}


def parse_options(schema: Iterable[Option], values: Mapping[str, Any], *, fill_defaults: bool = True) -> dict[str, Any]:
    """Check ``values`` against ``schema``: unknown names are an error; missing ones get their defaults."""
    by_name = option_map(schema)
    unknown = sorted(set(values) - set(by_name))
    if unknown:
        known = ", ".join(sorted(by_name)) or "none"
        raise OptionError(f"unknown option {', '.join(unknown)} (this engine's options: {known})")
    parsed = {name: by_name[name].parse(value) for name, value in values.items()}
    if fill_defaults:
        for name, option in by_name.items():
            parsed.setdefault(name, option.default)
    return parsed


def checked_engine_options(engine_class: Any, values: Mapping[str, Any], where: str = "") -> dict[str, Any]:
    """``values`` parsed against ``engine_class.options`` (no defaults added); the OptionError names ``where``
    (e.g. a styles manifest's file and entry), the engine and the option."""
    try:
        return parse_options(engine_class.options, values, fill_defaults=False)
    except OptionError as exc:
        prefix = f"{where}: " if where else ""
        raise OptionError(f"{prefix}the {engine_class.display_name} engine: {exc}") from None


def option_texts(schema: Iterable[Option], values: Mapping[str, Any]) -> dict[str, str]:
    """Parsed values as the texts ``--option NAME=TEXT`` reads back to the same values, sorted by name."""
    by_name = option_map(schema)
    return {name: option_text(by_name[name], value) for name, value in sorted(values.items())}


def parse_key_values(pairs: Iterable[str]) -> dict[str, str]:
    """``["a=1", "b=x"]`` from ``--option a=1 --option b=x`` as a dict (values still strings)."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise OptionError(f"--option takes key=value, not {pair!r}")
        out[key.strip().replace("-", "_")] = value.strip()
    return out


def applicable(schema: Iterable[Option], capabilities: Iterable[str]) -> tuple[Option, ...]:
    """The options that apply to a checkpoint with these capabilities (``requires`` met or absent)."""
    caps = set(capabilities)
    return tuple(o for o in schema if o.requires is None or o.requires in caps)
