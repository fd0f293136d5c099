"""The ``regionpaint train`` flags, generated from the training schema (torch-free).

Every shared option (:data:`regionpaint.engines.training.schema.SHARED_OPTIONS`: official names such as ``--niter``,
``--batchSize`` plus hyphenated aliases such as ``--batch-size``) and every option of every registered
trainer becomes a flag. Every flag defaults to None, so :func:`given_options` returns exactly what the user
passed and the presets fill the rest. :func:`command_line` writes option values back as an argv.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from regionpaint.engines.schema import Option
from regionpaint.engines.training.contract import EngineTrainer
from regionpaint.engines.training.schema import GROUP_TITLES, SHARED_OPTIONS, flag_names, merged

_TYPES = {"int": int, "float": float, "str": str, "path": str}
_METAVARS = {"int": "N", "float": "X", "str": "TEXT", "path": "PATH"}


def all_options(trainers: Iterable[type[EngineTrainer]] | None = None) -> tuple[Option, ...]:
    """The shared options, then each trainer's own (registered trainers when ``trainers`` is None)."""
    if trainers is None:
        from regionpaint.engines.training.options import registered_trainers

        trainers = registered_trainers().values()
    return merged(SHARED_OPTIONS, *(t.options for t in trainers))


def option_engines(trainers: Iterable[type[EngineTrainer]]) -> dict[str, tuple[str, ...] | None]:
    """Option name -> the engines it applies to (None: every engine, a shared option)."""
    owners: dict[str, tuple[str, ...] | None] = {o.name: None for o in SHARED_OPTIONS}
    for trainer in trainers:
        for option in trainer.options:
            if option.name in owners and owners[option.name] is None:
                continue
            owners[option.name] = (*(owners.get(option.name) or ()), trainer.engine)
    return owners


def add_arguments(parser: argparse.ArgumentParser, trainers: Iterable[type[EngineTrainer]] | None = None) -> None:
    """Declare every training flag on ``parser`` (defaults None: presets fill what is not given)."""
    if trainers is None:
        from regionpaint.engines.training.options import registered_trainers

        trainers = registered_trainers().values()
    trainers = list(trainers)
    owners = option_engines(trainers)
    groups: dict[str, Any] = {}
    for option in all_options(trainers):
        # Shared options by section; an engine's own under the engines that have it ("--engine sean, spade").
        group_name = getattr(option, "group", None) or ", ".join(sorted(owners.get(option.name) or ()))
        group = groups.get(group_name)
        if group is None:
            title = GROUP_TITLES.get(group_name, f"options of --engine {group_name}")
            group = groups[group_name] = parser.add_argument_group(title)
        names = flag_names(option)
        if option.kind == "bool":
            group.add_argument(*names, dest=option.name, action="store_true", default=None, help=option.help)
            continue
        choices = tuple(str(c) for c in option.choices) if option.kind == "choice" else None
        group.add_argument(
            *names,
            dest=option.name,
            type=_TYPES.get(option.kind, str),
            default=None,
            choices=choices,
            metavar=getattr(option, "metavar", None) or (None if choices else _METAVARS.get(option.kind)),
            help=option.help,
        )


def given_options(
    args: argparse.Namespace | Mapping[str, Any], trainers: Iterable[type[EngineTrainer]] | None = None
) -> dict[str, Any]:
    """The training flags the user actually passed (argparse leaves the others at None)."""
    values = vars(args) if isinstance(args, argparse.Namespace) else dict(args)
    return {o.name: values[o.name] for o in all_options(trainers) if values.get(o.name) is not None}


def command_line(
    engine: str,
    data: str,
    out: str,
    given: Mapping[str, Any],
    extra: Sequence[str] = (),
    trainers: Iterable[type[EngineTrainer]] | None = None,
) -> list[str]:
    """``train`` argv for ``regionpaint`` from option values (used by the editor's training dialog)."""
    by_name = {o.name: o for o in all_options(trainers)}
    argv = ["train", "--engine", engine, "--data", str(data), "--out", str(out)]
    for name, value in given.items():
        option = by_name[name]
        flag = flag_names(option)[0]
        if option.kind == "bool":
            if value:
                argv.append(flag)
        elif value is not None and value != "":
            argv += [flag, str(value)]
    return argv + list(extra)
