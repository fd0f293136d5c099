"""Training options under their official names, with the official defaults and dataset presets (torch-free).

Precedence, lowest first, as in the official option parsers: the shared schema's defaults
(:mod:`regionpaint.engines.training.schema`, NVlabs/SPADE's ``train_options.py``), the engine trainer's own options and
``defaults`` (its official ``train_options.py``), the trainer's preset for the dataset layout (the official
dataset classes' ``modify_commandline_options``), then what the user passed (:mod:`regionpaint.engines.training.flags`
declares every flag with a ``None`` default, so "given" differs from "default").

Trainers come from the plugins (``register_trainers``); :func:`find_trainer` looks one up by engine id.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# One error for an option that does not fit, whether a render option or a training flag (its message names it).
from regionpaint.engines.schema import Option, OptionError
from regionpaint.engines.training.contract import EngineTrainer
from regionpaint.engines.training.schema import LAYOUTS, PREPROCESS_MODES, SHARED_ARCHITECTURE, SHARED_OPTIONS, merged

__all__ = ["LAYOUTS", "PREPROCESS_MODES", "OptionError", "TrainOptions", "find_trainer", "resolve_options"]

DONTCARE_ID = 255
# Set from the command's own arguments, not flags of the schema.
RUN_FIELDS = {"engine": "", "dataroot": "", "out": "", "device": "auto", "resume": False}


def registered_trainers() -> dict[str, type[EngineTrainer]]:
    """Trainers by engine id, from every loaded plugin (built-ins included)."""
    # The one look-up from the training room into the plugin layer, done late so importing stays cheap.
    from regionpaint.plugins.manager import get_plugin_manager

    return {engine: entry.trainer_class for engine, entry in get_plugin_manager().trainers().items()}


def find_trainer(engine: str | type[EngineTrainer]) -> type[EngineTrainer]:
    if isinstance(engine, type):
        return engine
    known = registered_trainers()
    if engine not in known:
        raise OptionError(f"--engine {engine!r}: expected one of {', '.join(sorted(known)) or 'none registered'}")
    return known[engine]


def trainer_schema(trainer: type[EngineTrainer]) -> tuple[Option, ...]:
    """The shared options followed by the trainer's own."""
    return merged(SHARED_OPTIONS, trainer.options)


class TrainOptions:
    """Every option of a run as an attribute: the shared schema's, the trainer's own and the run fields."""

    def __init__(self, trainer: str | type[EngineTrainer], values: Mapping[str, Any] | None = None) -> None:
        self.trainer = find_trainer(trainer)
        self.schema = trainer_schema(self.trainer)
        for option in self.schema:
            setattr(self, option.name, option.default)
        for key, value in RUN_FIELDS.items():
            setattr(self, key, value)
        self.engine = self.trainer.engine
        self.notes: list[str] = []
        for key, value in (values or {}).items():
            setattr(self, key, value)

    def names(self) -> list[str]:
        """Every option name of this run (schema + run fields), in schema order."""
        return [o.name for o in self.schema] + list(RUN_FIELDS)

    def values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.names()} | {"notes": list(self.notes)}

    def copy(self) -> TrainOptions:
        return TrainOptions(self.trainer, self.values())

    def __repr__(self) -> str:
        return f"TrainOptions({self.engine!r}, {self.values()!r})"

    # ---- derived values ---------------------------------------------------------------------------
    @property
    def label_channels(self) -> int:
        """One-hot channels: ``label_nc`` (+1 when 255 is kept as its own don't-care channel)."""
        return int(self.label_nc or 0) + int(self.contain_dontcare_label)

    @property
    def semantic_nc(self) -> int:
        """Generator input of the SPADE family: label channels + instance edge."""
        return self.label_channels + int(not self.no_instance)

    @property
    def total_epochs(self) -> int:
        return self.niter + self.niter_decay

    @property
    def betas(self) -> tuple[float, float]:
        """Adam betas (the trainer decides; SPADE's depend on TTUR)."""
        return self.trainer.betas(self)

    def to_json(self) -> str:
        return json.dumps(self.values(), indent=1, sort_keys=True)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> TrainOptions:
        """Options saved by a run (``train_options.json``); keys this engine does not know are dropped (runs
        written before the options moved into the engines' slices saved every engine's keys)."""
        if not data.get("engine"):
            raise OptionError("the saved options name no engine")
        trainer = find_trainer(str(data["engine"]))
        known = {o.name for o in trainer_schema(trainer)} | set(RUN_FIELDS) | {"notes"}
        return cls(trainer, {k: v for k, v in data.items() if k in known})


def defaults_for(engine: str | type[EngineTrainer], layout: str) -> TrainOptions:
    """Options before user flags: shared defaults < trainer defaults < the trainer's layout preset."""
    opt = TrainOptions(engine)
    opt.layout = layout
    for key, value in {**opt.trainer.defaults, **opt.trainer.presets.get(layout, {})}.items():
        setattr(opt, key, value)
    return opt


def resolve_options(
    engine: str | type[EngineTrainer],
    dataroot: str | Path,
    out: str | Path,
    given: Mapping[str, Any],
    layout: str | None = None,
    device: str = "auto",
    resume: bool = False,
) -> TrainOptions:
    """Build the options of a run: defaults < preset of ``layout`` < ``given``; then check them.

    ``layout`` must already be resolved (not ``auto``) for the preset to apply; see
    :func:`regionpaint.engines.training.layouts.detect_layout`. ``label_nc`` may stay None (filled from the data).
    """
    layout = layout or given.get("layout") or "custom"
    opt = defaults_for(engine, layout)
    given = dict(given)
    given.pop("layout", None)
    check_known(opt, given)
    _scale_load_size(opt, given)
    for key, value in given.items():
        setattr(opt, key, value)
    opt.dataroot, opt.out, opt.device, opt.resume = str(dataroot), str(out), device, resume
    apply_epochs(opt, given)
    check_options(opt)
    return opt


def check_known(opt: TrainOptions, given: Mapping[str, Any]) -> None:
    known = {o.name for o in opt.schema}
    foreign = [key for key in given if key not in known]
    for key in foreign:
        if key in opt.trainer.refused:
            raise OptionError(f"--{key}: {opt.trainer.refused[key]}")
    if foreign:
        name = opt.trainer.display_name or opt.engine
        raise OptionError(f"--{foreign[0]} is not an option of the {name} trainer")


def _scale_load_size(opt: TrainOptions, given: Mapping[str, Any]) -> None:
    """A user crop size without a load size keeps the preset's load/crop ratio (286/256 -> 72/64)."""
    if "crop_size" in given and "load_size" not in given and opt.crop_size:
        opt.load_size = max(int(given["crop_size"]), round(given["crop_size"] * opt.load_size / opt.crop_size))


def apply_epochs(opt: TrainOptions, given: Mapping[str, Any]) -> None:
    """``--epochs N`` sets niter + niter_decay = N, split in the engine's default proportion unless given."""
    if opt.epochs is None:
        return
    total = int(opt.epochs)
    if total < 1:
        raise OptionError("--epochs must be at least 1")
    if "niter" in given and "niter_decay" not in given:
        opt.niter_decay = max(0, total - opt.niter)
    elif "niter_decay" in given and "niter" not in given:
        opt.niter = max(0, total - opt.niter_decay)
    elif "niter" not in given:
        defaults = defaults_for(opt.trainer, "custom")
        share = defaults.niter / max(1, defaults.niter + defaults.niter_decay)
        opt.niter = max(1, math.ceil(total * share))
        opt.niter_decay = total - opt.niter
    if opt.niter + opt.niter_decay != total:
        raise OptionError(f"--epochs {total} disagrees with --niter {opt.niter} + --niter_decay {opt.niter_decay}")


def check_options(opt: TrainOptions) -> None:
    """Raise OptionError for values below their schema minimum and for combinations the engine cannot train."""
    for option in opt.schema:
        value = getattr(opt, option.name)
        if option.kind in ("int", "float") and option.minimum is not None and value is not None:
            if value < option.minimum:
                raise OptionError(f"--{option.name} must be at least {option.minimum:g} (got {value})")
        if option.kind == "choice" and value is not None and value not in option.choices:
            raise OptionError(f"--{option.name} {value!r}: expected one of {', '.join(map(str, option.choices))}")
    if opt.label_nc is not None and not 1 <= opt.label_nc <= 255:
        raise OptionError(f"--label_nc {opt.label_nc}: expected 1..255 classes")
    opt.trainer.check(opt)


def architecture_differences(saved: TrainOptions, given: Mapping[str, Any]) -> list[str]:
    """``--flag saved -> given`` for every architecture option a resumed run was asked to change."""
    keys = (*SHARED_ARCHITECTURE, *saved.trainer.architecture_options)
    return [
        f"--{key} {getattr(saved, key)} -> {given[key]}"
        for key in keys
        if key in given and given[key] != getattr(saved, key)
    ]
