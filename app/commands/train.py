"""``regionpaint train``: train any engine that has a trainer (built-in: SPADE, SEAN, pix2pixHD) on a dataset
folder, into an official run folder. The flags are generated from the shared training schema and every
registered trainer's options.

``--json`` prints one JSON event per line on stdout (what the editor's job runner reads); otherwise a tqdm
bar on stderr. SIGINT / SIGTERM save a checkpoint and stop; ``--resume`` continues the same run folder.
Under ``torchrun --nproc_per_node N -m regionpaint train ...`` every rank runs this command; rank 0 writes.
"""

from __future__ import annotations

import argparse
import logging
import sys

log = logging.getLogger(__name__)


def register(cli) -> None:
    cli.add_command(
        "train", "Train a checkpoint (SPADE, SEAN, pix2pixHD or a plugin's engine) on a dataset.", configure, run
    )


def configure(parser: argparse.ArgumentParser) -> None:
    from regionpaint.engines.training.flags import add_arguments
    from regionpaint.engines.training.options import registered_trainers

    trainers = registered_trainers()
    parser.add_argument("--engine", choices=sorted(trainers), help="what to train (required unless --resume)")
    parser.add_argument("--data", metavar="DIR", help="dataset folder (layouts: see --layout)")
    parser.add_argument("--out", required=True, metavar="RUN_DIR", help="run folder: checkpoints, opt.txt, samples")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--resume", action="store_true", help="continue the run in RUN_DIR from its latest checkpoint")
    parser.add_argument("--json", action="store_true", help="JSON-lines events on stdout instead of a progress bar")
    add_arguments(parser, trainers.values())


def build_options(args: argparse.Namespace):
    """TrainOptions from the flags; with --resume, the run folder's saved options plus the flags given now."""
    from regionpaint.engines.training.checkpoints import RunDir
    from regionpaint.engines.training.flags import given_options
    from regionpaint.engines.training.layouts import detect_layout
    from regionpaint.engines.training.options import (
        OptionError,
        TrainOptions,
        apply_epochs,
        architecture_differences,
        check_options,
        registered_trainers,
        resolve_options,
    )

    given = given_options(args, registered_trainers().values())
    saved = RunDir(args.out).read_options() if args.resume else None
    if saved is not None:
        opt = TrainOptions.from_mapping(saved)
        changed = architecture_differences(opt, given)
        if args.engine and args.engine != opt.engine:
            changed.insert(0, f"--engine {opt.engine} -> {args.engine}")
        if changed:
            raise OptionError(f"--resume cannot change the architecture of {args.out}: {', '.join(changed)}")
        for key, value in given.items():
            setattr(opt, key, value)
        if args.data:
            opt.dataroot = args.data
        opt.resume, opt.device = True, args.device
        if "epochs" in given:
            apply_epochs(opt, given)
        check_options(opt)
        return opt
    if not args.engine:
        raise OptionError("--engine is required (see --help for the engines that can be trained)")
    if not args.data and not given.get("label_dir"):
        raise OptionError("--data DIR (or --label-dir and --image-dir) is required")
    layout = given.get("layout")
    if layout in (None, "auto"):
        layout = (detect_layout(args.data, given.get("phase", "train")) if args.data else None) or "custom"
    return resolve_options(args.engine, args.data or "", args.out, given, layout, args.device, args.resume)


def run(args: argparse.Namespace) -> int:
    from regionpaint.engines.training.events import JsonLinesSink, TqdmSink, training_event
    from regionpaint.engines.training.trainer import Trainer, TrainingError

    sink = JsonLinesSink(sys.stdout) if args.json else TqdmSink(sys.stderr)
    try:
        opt = build_options(args)
    except ValueError as exc:
        if args.json:
            sink(training_event("error", message=str(exc)))
        raise
    from regionpaint.engines.acceleration.memory import keep_working_memory

    keep_working_memory()  # every iteration reuses the same large temporaries (engines/acceleration/memory.py)
    try:
        result = Trainer(opt, emit=sink).run()
    except TrainingError:
        raise  # already reported as an "error" event; the CLI prints the message
    log.info("%s at step %d: %s", result.status, result.step, result.run_dir)
    return 0
