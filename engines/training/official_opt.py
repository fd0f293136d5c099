"""What an official ``train.py`` writes to ``opt.txt`` for a run: every option under its official name.

Each trainer writes its engine's option set (:meth:`EngineTrainer.official_opt`); this module adds what is
shared: ``gpu_ids`` from the processes, the run's name and folder, and this project's extensions (recorded
only when used, so an official run's ``opt.txt`` stays official).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from regionpaint.engines.training.options import TrainOptions

# Official ``dataset_mode`` per regionpaint layout (others: "custom").
DATASET_MODES = {"cityscapes": "cityscapes", "ade20k": "ade20k", "coco-stuff": "coco"}


def official_opt(opt: TrainOptions, world_size: int = 1, cuda: bool = False) -> dict[str, Any]:
    """The options an official ``train.py`` would have written to ``opt.txt`` for this run (``gpu_ids`` from
    the number of processes when they run on CUDA, ``-1`` on CPU)."""
    gpu_ids = ",".join(str(i) for i in range(world_size)) if cuda else "-1"
    values = opt.trainer.official_opt(opt, gpu_ids)
    if opt.lambda_l1:
        values["lambda_l1"] = opt.lambda_l1
    return values


def run_name_and_dir(opt: TrainOptions) -> tuple[str, str]:
    """Official ``name`` and ``checkpoints_dir`` of the run folder."""
    out = Path(opt.out)
    return out.name, str(out.parent)
