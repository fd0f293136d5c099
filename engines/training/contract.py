"""The trainer contract: what an engine's slice declares so the shared loop can train it (torch-free).

A trainer is a class registered through the ``register_trainers`` plugin hook, like an engine class through
``register_engines``. Registering classes keeps listing (``regionpaint train --help``, the Train dialog)
free of torch: only class attributes are read until :meth:`EngineTrainer.build_model` runs.

The shared loop (:mod:`regionpaint.engines.training.trainer`) owns data, schedule, optimisers, checkpoints and events;
the trainer owns what differs per engine: its training-only options, its defaults and dataset presets, its
option checks, its ``opt.txt``, its training model (networks + objectives) and what runs after training.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from regionpaint.engines.loading.options import format_opt_text
from regionpaint.engines.schema import Option

if TYPE_CHECKING:  # torch-only types
    from regionpaint.engines.training.model_base import TrainingModel
    from regionpaint.engines.training.options import TrainOptions
    from regionpaint.engines.training.trainer import Trainer


class EngineTrainer:
    """Base class of every trainer. Subclasses set the class attributes and override what differs."""

    engine: ClassVar[str]  # the id of the engine whose checkpoints this trains (``Engine.id``)
    display_name: ClassVar[str] = ""
    # Training-only options of this engine, added to the shared schema (engines/training/schema.py).
    options: ClassVar[tuple[Option, ...]] = ()
    # Values of shared or own options that differ from their schema default for this engine.
    defaults: ClassVar[Mapping[str, Any]] = {}
    # Dataset presets: layout -> option values (the official dataset classes' set_defaults).
    presets: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    # Options of other engines this one refuses, with the reason (shown as the error for ``--name``).
    refused: ClassVar[Mapping[str, str]] = {}
    # Own options that shape the networks: a resumed run must keep them.
    architecture_options: ClassVar[tuple[str, ...]] = ()
    # Sizes after preprocessing are multiples of this (``size_multiple`` may depend on the options).
    power_base: ClassVar[int] = 32
    crop_only_if_larger: ClassVar[bool] = False

    @classmethod
    def check(cls, opt: TrainOptions) -> None:
        """Raise ``OptionError`` for option combinations this engine cannot train (naming the flags)."""

    @classmethod
    def betas(cls, opt: TrainOptions) -> tuple[float, float]:
        """Adam betas for these options (the official default is (0.5, 0.999))."""
        return (0.5 if opt.beta1 is None else opt.beta1), (0.999 if opt.beta2 is None else opt.beta2)

    @classmethod
    def size_multiple(cls, opt: TrainOptions) -> int:
        return cls.power_base

    @classmethod
    def generator_param_set(cls, opt: TrainOptions, epoch: int) -> str:
        """Which generator parameters the optimiser updates during ``epoch``; "all" unless staged."""
        return "all"

    @classmethod
    def official_opt(cls, opt: TrainOptions, gpu_ids: str) -> dict[str, Any]:
        """What this engine's official ``train.py`` writes to ``opt.txt`` (default: every option value)."""
        values = opt.values()
        values.pop("notes")
        return values

    @classmethod
    def opt_text(cls, values: Mapping[str, Any]) -> str:
        """``opt.txt`` contents for ``values`` (default: the SPADE layout, which the loaders read)."""
        return format_opt_text(dict(values))

    @classmethod
    def build_model(cls, opt: TrainOptions, device: Any, vgg: Any) -> TrainingModel:
        """The training model (networks under their official roles + objectives) on ``device``."""
        raise NotImplementedError(f"trainer {cls.__name__} does not build a training model")

    @classmethod
    def after_training(cls, trainer: Trainer) -> None:
        """Work after the last checkpoint, on rank 0 (pix2pixHD feature clusters, SEAN mean style codes)."""
