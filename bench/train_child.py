"""One timed training run in its own process (started by :mod:`bench.train_speed`).

``python -m bench.train_child SPEC_JSON`` where the spec holds engine, mode (``official`` or
``regionpaint``), dataroot, layout, the given options, warm-up and timed iteration counts. Prints one JSON
line: the timed iterations' seconds, their median, the losses of the last iteration and this process's
VmHWM. The launcher reads the peak resident set from ``wait4`` as well.

* ``regionpaint``: :class:`regionpaint.engines.training.trainer.Trainer` as ``regionpaint train`` runs it (the allocator
  keeps its working memory, data loaded in the loop); timed from one ``step`` event to the next. The run
  stops after the last timed step (no final checkpoint: writing a few GB would dominate the bench).
* ``official``: the same networks built the same way, stepped by :mod:`bench.official_train` on the
  dataset's first batch, with glibc's default allocator (the official process does not change it).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path


class _Finished(Exception):
    """Raised from the event callback after the last timed step."""


def _options(spec: dict, out: Path):
    from regionpaint.engines.training.options import resolve_options

    given = {**spec["given"], "steps": spec["warmup"] + spec["iters"]}
    return resolve_options(spec["engine"], Path(spec["dataroot"]), out, given, spec["layout"], "cpu")


def run_regionpaint(spec: dict, out: Path) -> dict:
    from regionpaint.engines.acceleration.memory import keep_working_memory
    from regionpaint.engines.training.trainer import Trainer

    if spec.get("keep_memory", True):
        keep_working_memory()  # as app/commands/train.py does
    opt = _options(spec, out)
    total = spec["warmup"] + spec["iters"]
    stamps: dict[int, float] = {}
    last: dict = {}

    def emit(event: dict) -> None:
        if event["event"] == "step":
            stamps[event["step"]] = time.perf_counter()
            last.update(event["losses"])
            if event["step"] == total:
                raise _Finished
        elif event["event"] == "start":
            stamps[0] = time.perf_counter()

    try:
        Trainer(opt, emit).run()
    except _Finished:
        pass
    times = [stamps[k] - stamps[k - 1] for k in range(spec["warmup"] + 1, total + 1)]
    return {"times": times, "losses": last, "notes": list(opt.notes)}


def run_official(spec: dict, out: Path) -> dict:
    import torch

    from bench import official_train
    from regionpaint.engines.layers.spade_norm import STRUCTURAL
    from regionpaint.engines.torchrun import DistContext
    from regionpaint.engines.training.datasets import PairedDataset
    from regionpaint.engines.training.losses import VGGLoss
    from regionpaint.engines.training.model_base import make_batch
    from regionpaint.engines.training.trainer import Trainer
    from regionpaint.engines.training.vgg import load_vgg19

    STRUCTURAL.enabled = False  # the official forwards are plain convolutions, also under no_grad
    opt = _options(spec, out)
    trainer = Trainer(opt)
    trainer.ctx, trainer.device = DistContext(), torch.device("cpu")
    samples = trainer._dataset()  # validation and the label options agreed as the trainer does
    opt = trainer.opt
    torch.manual_seed(opt.seed)
    engine = spec["engine"]
    if engine == "sean":
        from regionpaint.engines.sean.train_model import build_sean_networks as build
    elif engine == "spade":
        from regionpaint.engines.spade.train_model import build_spade_networks as build
    else:
        from regionpaint.engines.pix2pixhd.train_model import build_pix2pixhd_networks as build
    nets = build(opt)
    for net in nets.values():
        net.train()
    vgg_loss = VGGLoss(load_vgg19(opt.vgg_weights)) if not opt.no_vgg_loss else None
    if engine == "pix2pixhd":
        lrs = (opt.lr, opt.lr)
    else:
        lrs = (opt.lr, opt.lr) if opt.no_TTUR else (opt.lr / 2, opt.lr * 2)
    betas = opt.trainer.betas(opt)
    optimizers = {
        "G": torch.optim.Adam(nets["G"].parameters(), lr=lrs[0], betas=betas),
        "D": torch.optim.Adam(nets["D"].parameters(), lr=lrs[1], betas=betas),
    }
    item = torch.utils.data.default_collate([PairedDataset(samples, opt, seed=opt.seed)[0]])
    batch = make_batch(item, opt, torch.device("cpu"))
    if engine == "sean":
        g = nets["G"]
        generate = lambda b: official_train.official_sean_generator(g, b.semantics, b.image)  # noqa: E731
    elif engine == "spade":
        g = nets["G"]
        generate = lambda b: g(b.semantics)  # noqa: E731
    times, losses = [], {}
    for _ in range(spec["warmup"] + spec["iters"]):
        started = time.perf_counter()
        if engine == "pix2pixhd":
            losses = official_train.pix2pixhd_step(nets, optimizers, vgg_loss, opt, batch)
        else:
            losses = official_train.spade_family_step(generate, nets, optimizers, vgg_loss, opt, batch)
        times.append(time.perf_counter() - started)
    losses = {k: float(v) for k, v in losses.items()}
    return {"times": times[spec["warmup"] :], "losses": losses, "notes": []}


def main(argv: list[str]) -> int:
    import tempfile

    from regionpaint.engines.acceleration.memory import peak_rss_mb

    spec = json.loads(argv[0])
    with tempfile.TemporaryDirectory(prefix="regionpaint-train-child-") as tmp:
        run = run_official if spec["mode"] == "official" else run_regionpaint
        result = run(spec, Path(tmp) / "run")
    result["s_per_iter"] = statistics.median(result["times"])
    result["vmhwm_mb"] = peak_rss_mb()
    print("RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
