"""``regionpaint batch``: render every label map of a folder, batched, resumable, sharded under torchrun.

    regionpaint batch --checkpoint CK --labels DIR --out DIR [--layout cityscapes] [--style-mode random]
    torchrun --nproc_per_node 4 -m regionpaint batch --checkpoint CK --labels DIR --out DIR
    regionpaint batch --engine transfer --labels DIR --out DIR --patch-size 8 --option texture=false

Engine options are taken as ``render`` takes them (app/commands/engine_options.py), checked before the model
loads, merged with a styles manifest's per-output ``options`` and recorded in each output's replay command.

Outputs mirror the label tree (named the dataset's way), each with a record in ``OUT/manifest.jsonl`` holding
the ``render`` command that reproduces it. A rerun renders only what is missing or changed; Ctrl+C stops
after the current batch. See docs/batch.md.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from regionpaint.app.commands.engine_options import add_option_flags

log = logging.getLogger(__name__)

EXIT_SOME_FAILED = 1
EXIT_STOPPED = 130


def register(cli) -> None:
    cli.add_command(
        "batch", "Render a folder of label maps (batched; resumable; many GPUs with torchrun).", configure, run
    )


def configure(parser: argparse.ArgumentParser) -> None:
    from regionpaint.app.batch.discovery import LAYOUTS
    from regionpaint.app.batch.styles import STYLE_MODES

    parser.add_argument(
        "--checkpoint",
        metavar="PATH",
        help="official folder, .pth or .safetensors, or an installed model's name (`regionpaint models list`); "
        "left out for an engine without weights, named by --engine",
    )
    parser.add_argument("--engine", metavar="ID", help="engine id (default: recognised from the checkpoint)")
    parser.add_argument("--labels", required=True, metavar="DIR", help="folder of label maps (searched recursively)")
    parser.add_argument("--instances", metavar="DIR", help="instance maps mirroring --labels (default: the layout's)")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder (mirrors the label tree)")
    parser.add_argument("--layout", choices=LAYOUTS, default="auto", help="dataset layout: names and folders")
    parser.add_argument("--label-set", metavar="ID", help="label set for class names and colour maps")
    parser.add_argument("--styles", metavar="FILE", help="styles manifest (.json or .csv): settings per output")
    parser.add_argument("--style-mode", choices=STYLE_MODES, help="styles for outputs the manifest does not name")
    parser.add_argument("--photos", metavar="DIR", help="--style-mode from-photos: the maps' own photos")
    parser.add_argument(
        "--mean-styles", metavar="DIR", help="SEAN: per-class mean/spread codes from DIR/images + DIR/labels"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed (random mode: the base of per-image seeds)")
    parser.add_argument(
        "--no-noise", action="store_true", help="switch stochastic noise off (any engine with the 'noise' capability)"
    )
    parser.add_argument("--size", metavar="WxH", help="network size (default: the checkpoint's preprocessing)")
    parser.add_argument("--fast", action="store_true", help="fast mode where the engine has one (default: exact)")
    parser.add_argument(
        "--compile",
        action="store_true",
        help="with --fast: torch.compile the generator in the background (20-60 s per size on a CPU); maps "
        "render in eager fast mode until it is ready. Pays off for long batches of one size",
    )
    parser.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N or mps")
    parser.add_argument("--batch-size", type=int, metavar="N", help="maps per generator call (default per device)")
    parser.add_argument("--loaders", type=int, default=2, metavar="N", help="threads reading inputs ahead")
    parser.add_argument("--overwrite", action="store_true", help="render every output again")
    parser.add_argument("--json", action="store_true", help="JSON-lines events on stdout instead of a progress bar")
    # Last, as in render: an engine option's flag that clashes with any of the above is refused, not fatal.
    add_option_flags(parser, "batch")


class _Emitter:
    """Events to the sink from any thread (rank 0 only); step events at most every ``interval`` seconds."""

    def __init__(self, sink, enabled: bool, interval: float = 0.25) -> None:
        self.sink, self.enabled, self.interval = sink, enabled, interval
        self._lock = threading.Lock()
        self._last_step = 0.0
        self.total = 0
        self.started = time.perf_counter()
        self.first_done = 0

    def __call__(self, kind: str, **fields: Any) -> None:
        from regionpaint.app.batch.events import batch_event

        if self.enabled:
            with self._lock:
                self.sink(batch_event(kind, **fields))

    def step(self, done: int, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self._last_step < self.interval and done < self.total:
            return
        self._last_step = now
        elapsed = now - self.started
        rendered = done - self.first_done
        rate = rendered / elapsed if elapsed > 0 and rendered > 0 else None
        eta = (self.total - done) / rate if rate else None
        self("step", step=done, total_steps=self.total, it_s=rate, eta_s=eta, losses={})


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event):
    """SIGINT/SIGTERM set ``stop`` (the batch ends after the current batch); a second Ctrl+C interrupts."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _render_defaults() -> argparse.Namespace:
    from regionpaint.app.commands import render

    parser = argparse.ArgumentParser(add_help=False)
    render.configure(parser)
    return parser.parse_args(["--out", "-"])


def run(args: argparse.Namespace) -> int:
    from regionpaint.app.batch import torchrun_sharding
    from regionpaint.app.batch.events import batch_event
    from regionpaint.app.cli import _user_errors
    from regionpaint.app.commands.output_checks import check_folder_output
    from regionpaint.engines.training.events import JsonLinesSink

    if getattr(args, "compile", False) and not args.fast:
        raise ValueError("--compile compiles the fast mode's generator: add --fast")
    from regionpaint.app.model_manager.manager import resolve_checkpoint

    if not args.checkpoint and not args.engine:
        raise ValueError("batch needs --checkpoint, or --engine ID for an engine that needs no weights")
    if args.checkpoint:
        args.checkpoint = resolve_checkpoint(args.checkpoint)  # an installed model's name -> its folder
    sink = JsonLinesSink(sys.stdout) if args.json else _tqdm_sink()
    stop = threading.Event()
    ranks = torchrun_sharding.Ranks()
    try:
        check_folder_output(args.out)  # every rank checks the same: they all stop, or none
        with _stop_on_signals(stop):
            ranks, device = torchrun_sharding.join(args.device)
            with _holding_output_folder(Path(args.out), ranks):
                return _run(args, ranks, device, stop, _Emitter(sink, ranks.is_main))
    except _user_errors() as exc:
        if args.json and ranks.is_main:  # the editor shows it; the CLI prints the one-line error too
            sink(batch_event("error", message=str(exc.args[0] if isinstance(exc, KeyError) and exc.args else exc)))
        raise
    finally:
        torchrun_sharding.leave(ranks)


@contextlib.contextmanager
def _holding_output_folder(out: Path, ranks):
    """Rank 0 holds ``out``'s batch lock for the whole run (app/batch/lock.py); every rank learns whether it
    got it, so a refused torchrun batch stops on all ranks instead of leaving them waiting."""
    from regionpaint.app.batch import torchrun_sharding
    from regionpaint.app.batch.lock import FolderLock, FolderLocked

    lock, refusal = FolderLock(out), None
    if ranks.is_main:
        try:
            lock.acquire()
        except FolderLocked as exc:
            refusal = str(exc)
    refusal = torchrun_sharding.gather(refusal, ranks)[0]
    if refusal is not None:
        raise FolderLocked(refusal)
    try:
        yield
    finally:
        lock.release()


def _tqdm_sink():
    from regionpaint.app.batch.events import TqdmBatchSink

    return TqdmBatchSink(sys.stderr)


def _plan(args, loaded, ranks, emit, options: dict[str, str], styles):
    """(layout, all items, this rank's jobs, failures while planning, skipped count, planner).

    ``options``: the engine options of ``--option`` and the dedicated flags (checked, as ``render --option``
    texts); ``styles``: the styles manifest read by :func:`read_checked_inputs`, or None.
    """
    from regionpaint.app.batch import manifest, torchrun_sharding
    from regionpaint.app.batch.discovery import discover, photo_index
    from regionpaint.app.batch.pipeline import Job
    from regionpaint.app.batch.styles import StylePlanner, StylesError

    out = Path(args.out)
    layout, items = discover(args.labels, args.layout, args.instances, out=out)
    _refuse_outputs_over_inputs(items, out)
    caps = loaded.capabilities
    photos = photo_index(args.photos, layout, out=out) if args.photos else None
    base = {
        "seed": args.seed,
        "no_noise": args.no_noise,
        "size": args.size,
        "label_set": args.label_set,
        "mean_styles": str(Path(args.mean_styles).resolve()) if args.mean_styles else None,
        "options": options,
    }
    mode = args.style_mode
    if mode is None and args.photos:
        mode = "from-photos"
    planner = StylePlanner(Path(args.labels), frozenset(caps), base, mode, photos, styles)
    mean_z = _mean_z(loaded, out) if mode == "mean" else None
    stamp = manifest.checkpoint_stamp(loaded.checkpoint) if loaded.checkpoint else []
    records = {} if args.overwrite else manifest.read_records(out)
    jobs, failed, skipped = [], [], 0
    for item in torchrun_sharding.shard(items, ranks.rank, ranks.world_size):
        try:
            settings = planner.settings_for(item, mean_z)
        except StylesError as exc:
            failed.append((str(item.label), str(exc)))
            continue
        if args.fast:
            settings["fast"] = True
        key = manifest.fingerprint(loaded.engine_class.id, stamp, settings)
        output = out / item.key
        if not args.overwrite and manifest.is_done(records.get(item.key), key, output):
            skipped += 1
            continue
        jobs.append(Job(item, settings, key, output))
    for target in planner.unused_entries() if ranks.is_main else ():
        emit("warning", message=f"styles manifest entry {target!r} matches no label map")
    return layout, items, jobs, failed, skipped, stamp


def read_checked_inputs(args) -> tuple[dict[str, str], Any]:
    """(engine options of the command line, styles manifest or None), both checked against the engine's
    option schema before its model is loaded: a bad value stops the batch in a second with one line naming
    the option (and the manifest's file and entry), not after the load."""
    from regionpaint.app.batch.styles import read_styles_manifest
    from regionpaint.app.commands.engine_options import given_options
    from regionpaint.app.render.service import default_service
    from regionpaint.engines.schema import checked_engine_options, option_texts

    engine_class = default_service().engine_class(args.engine or "", args.checkpoint or "")
    if engine_class.needs_checkpoint and not args.checkpoint:
        raise ValueError(f"the {engine_class.display_name} engine needs --checkpoint (a trained folder or file)")
    options = option_texts(
        engine_class.options, checked_engine_options(engine_class, given_options(args, engine_class))
    )
    styles = read_styles_manifest(args.styles, engine_class) if args.styles else None
    return options, styles


def _refuse_outputs_over_inputs(items, out: Path) -> None:
    """No output may be one of the label or instance maps (``--labels`` inside ``--out``, custom names)."""
    from regionpaint.app.commands.output_checks import OutputError, q

    out_root = out.resolve()
    inputs = {path.resolve(): path for item in items for path in (item.label, item.instance) if path is not None}
    if not any(out_root in path.parents for path in inputs):
        return  # outputs are all under --out, inputs all elsewhere
    for item in items:
        if (out_root / item.key) in inputs:
            raise OutputError(
                f"--out {q(out)}: the render {q(item.key)} would overwrite the map {q(inputs[out_root / item.key])}; "
                "choose an output folder that holds no label or instance maps"
            )


def _mean_z(loaded, out: Path) -> str | None:
    """SPADE-VAE's mean style: z = 0 (the prior's mean), written once as a file render can read."""
    import numpy as np

    from regionpaint.app.batch.manifest import write_atomic
    from regionpaint.engines.base import LATENT_Z

    if LATENT_Z not in loaded.capabilities:
        return None
    z_dim = int(getattr(loaded.engine.config, "z_dim", 256))
    path = out / f"mean_z_{z_dim}.npy"
    buffer = __import__("io").BytesIO()
    np.save(buffer, np.zeros((1, z_dim), np.float32))
    write_atomic(path, buffer.getvalue())
    return str(path.resolve())


def _run(args, ranks, device, stop: threading.Event, emit: _Emitter) -> int:
    from regionpaint.app.batch import manifest, torchrun_sharding
    from regionpaint.app.batch.engine import load_engine
    from regionpaint.app.batch.pipeline import BatchPipeline, default_batch_size
    from regionpaint.app.batch.styles import render_argv
    from regionpaint.app.commands.render import build_request, read_style_folder
    from regionpaint.app.render.service import RenderJob as ServiceJob
    from regionpaint.app.render.service import fit_job, mean_style_sources
    from regionpaint.engines.base import MEAN_STYLE
    from regionpaint.engines.schema import parse_key_values

    start = time.perf_counter()
    out = Path(args.out)
    options, styles = read_checked_inputs(args)
    loaded = load_engine(args, str(device))
    if args.mean_styles:
        if MEAN_STYLE not in loaded.capabilities:
            raise ValueError(
                f"--mean-styles: the {loaded.engine_class.display_name} engine has no per-class style codes"
            )
        loaded.engine.set_mean_styles(read_style_folder(Path(args.mean_styles), loaded.label_set))
    layout, items, jobs, failed, skipped, stamp = _plan(args, loaded, ranks, emit, options, styles)
    batch_size = args.batch_size or default_batch_size(device)
    if batch_size < 1:
        raise ValueError(f"--batch-size {batch_size}: must be at least 1")
    total_skipped = sum(torchrun_sharding.gather(skipped, ranks))
    emit.total, emit.first_done = len(items), total_skipped
    ranks.add_done(total_skipped if ranks.is_main else 0)  # the global count starts at what is done
    emit(
        "start",
        engine=loaded.engine_class.id,
        checkpoint=str(loaded.checkpoint or ""),
        out=str(out),
        layout=layout,
        device=str(device),
        world_size=ranks.world_size,
        batch_size=batch_size,
        total_steps=len(items),
        start_step=total_skipped,
        todo=len(items) - total_skipped,
    )

    def counted(n: int) -> None:
        done = ranks.add_done(n)
        if ranks.is_main:
            emit.step(done)

    def on_failed(path: str, message: str) -> None:
        emit("bad_input", path=path, message=message)  # rank 0's now; the others' in the summary
        counted(1)

    for path, message in failed:
        on_failed(path, message)
    defaults = _render_defaults()

    def make_request(job):
        namespace = argparse.Namespace(**{**vars(defaults), **job.settings})
        request = build_request(namespace, loaded.engine_class, loaded.label_set)
        request.label_set = loaded.label_set.id if loaded.label_set is not None else None
        request.fast = bool(job.settings.get("fast"))
        request.compile = request.fast and bool(getattr(args, "compile", False))
        # Fitted as the render service fits every request: nothing the checkpoint does not offer, and the
        # engine options checked and applied as `render --option` applies them (what the replay runs).
        options = parse_key_values(job.settings.get("option") or [])
        job_options = ServiceJob(request=request, options=options, strict_options=True)
        return fit_job(job_options, loaded.engine_class, loaded.capabilities)

    def record(job, result, digest: str) -> dict[str, Any]:
        entry = {
            "key": job.item.key,
            "rank": ranks.rank,
            "path": str(job.output.resolve()),
            "engine": loaded.engine_class.id,
            "checkpoint": str(loaded.checkpoint.resolve()) if loaded.checkpoint else "",
            "checkpoint_stamp": stamp,
            "settings": job.settings,
            "fingerprint": job.fingerprint,
            "sha256": digest,
            "size": list(result.image.shape[1::-1]),
            "seconds": round(float(result.seconds), 4),
            "info": _plain_info(result.info),
        }
        entry["render"] = render_argv(entry)
        return entry

    prepare = None
    if MEAN_STYLE in loaded.capabilities and not args.mean_styles:

        def prepare(request) -> None:
            loaded.engine.set_mean_styles(mean_style_sources(ServiceJob(request=request), request))

    writer = manifest.ManifestWriter(out, ranks.rank)
    pipeline = BatchPipeline(
        _FiniteChecked(loaded.engine, loaded.engine_class.id, loaded.checkpoint),
        jobs,
        make_request,
        record,
        writer,
        batch_size=batch_size,
        loaders=args.loaders,
        stop=stop,
        should_stop=ranks.stop_requested if ranks.distributed else None,
        on_written=counted,
        on_failed=on_failed,
        prepare=prepare,
    )
    try:
        outcome = pipeline.run()
    finally:
        writer.close()
    if outcome.stopped:
        ranks.request_stop()
    ranks.finish()
    if ranks.is_main:
        ranks.wait_for_all(on_tick=emit.step)
    outcomes = torchrun_sharding.gather((outcome.rendered, failed + outcome.failed, outcome.stopped), ranks)
    torchrun_sharding.barrier(ranks)
    rendered = sum(o[0] for o in outcomes)
    all_failed = sorted(f for o in outcomes for f in o[1])
    stopped = any(o[2] for o in outcomes)
    if ranks.is_main:
        target = manifest.merge(out)
        emit.step(ranks.global_done(), force=True)
        summary = {
            "step": ranks.global_done(),
            "seconds": round(time.perf_counter() - start, 3),
            "rendered": rendered,
            "skipped": total_skipped,
            "failed": all_failed,
            "manifest": str(target),
        }
        # A stopped batch is resumable (a rerun renders the rest): it ends with "stopped", not "done".
        emit("stopped", reason="interrupted", **summary) if stopped else emit("done", **summary)
    torchrun_sharding.barrier(ranks)
    from regionpaint.app.render.service import default_service

    default_service().release()  # through the service's cache, which holds the engine
    if stopped:
        return EXIT_STOPPED
    return EXIT_SOME_FAILED if all_failed else 0


class _FiniteChecked:
    """The batch's engine, its every output checked as the render service checks its own (``check_finite``):
    a map whose render is NaN fails with a message instead of being written black."""

    def __init__(self, engine: Any, engine_id: str, checkpoint: Path | None) -> None:
        self.engine, self.engine_id, self.checkpoint = engine, engine_id, checkpoint

    def generate_batch(self, requests: list) -> list:
        from regionpaint.app.render.service import check_finite

        results = self.engine.generate_batch(requests)
        for request, result in zip(requests, results, strict=True):
            check_finite(result, self.engine_id, self.checkpoint or "", fast=bool(getattr(request, "fast", False)))
        return results

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)


def _plain_info(info: dict[str, Any]) -> dict[str, Any]:
    """The JSON-friendly part of a result's info (no arrays)."""
    plain = {}
    for key, value in info.items():
        if isinstance(value, (str, int, float, bool)) or value is None:
            plain[key] = value
        elif isinstance(value, (list, tuple)) and all(isinstance(v, (str, int, float)) for v in value):
            plain[key] = list(value)
    return plain
