"""Training events: one dict per event, printed as JSON lines (``--json``) or shown with tqdm.

Every event has ``"event"`` (its type), ``"v"`` (schema version) and ``"time"`` (Unix seconds). Types:

* ``start``: engine, run_dir, device, world_size, dataset (layout, pairs, unpaired), total_steps,
  iters_per_epoch, epochs, start_step (> 0 when resumed), options (the official opt.txt values), notes.
* ``warning``: message (e.g. no VGG weights: trained without the perceptual loss).
* ``step``: step, total_steps, epoch, epoch_iter, losses {name: float}, lr {"G", "D"}, it_s, eta_s (every
  ``--log-every`` steps, the first and the last; also appended to the run folder's :data:`LOSS_LOG`).
* ``progress``: step, total_steps, epoch, it_s, eta_s: every other step, so a follower's progress moves at
  each step without the cost of reducing the losses (a step takes seconds to minutes on a CPU).
* ``sample``: step, path (PNG: label colours | generated | real, one row per image).
* ``checkpoint``: step, epoch, reason (interval, epoch, stop, final), files [paths].
* ``features``: a per-class file the trainer wrote after training (pix2pixHD ``features_clustered_*.npy``,
  SEAN ``mean_style_codes.npz``): path, classes.
* ``stopped``: step, reason (the signal), checkpoint (run dir).
* ``done``: step, checkpoint (run dir), seconds.
* ``error``: message.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import IO, Any

SCHEMA_VERSION = 1
EVENT_TYPES = ("start", "warning", "step", "progress", "sample", "checkpoint", "features", "stopped", "done", "error")
#: The run folder's log of ``step`` events (one JSON line each, with ``time``): the run's whole loss curve.
LOSS_LOG = "loss_log.jsonl"

Emit = Callable[[dict[str, Any]], None]


def training_event(kind: str, **fields: Any) -> dict[str, Any]:
    if kind not in EVENT_TYPES:
        raise ValueError(f"unknown event type {kind!r}")
    return {"event": kind, "v": SCHEMA_VERSION, "time": round(time.time(), 3), **fields}


class JsonLinesSink:
    """Writes each event as one JSON line and flushes (a reading process sees it at once)."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stdout

    def __call__(self, event: dict[str, Any]) -> None:
        self.stream.write(json.dumps(event, default=str) + "\n")
        self.stream.flush()


class TqdmSink:
    """A progress bar with the latest losses; other events as one line above it."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        self.bar = None

    def __call__(self, event: dict[str, Any]) -> None:
        from tqdm import tqdm

        kind = event["event"]
        if kind == "start":
            self.bar = tqdm(total=event["total_steps"], initial=event["start_step"], unit="it", file=self.stream)
            self._write(f"training {event['engine']} on {event['dataset']['pairs']} pairs -> {event['run_dir']}")
        elif kind == "step" and self.bar is not None:
            self.bar.update(event["step"] - self.bar.n)
            self.bar.set_postfix({k: f"{v:.3f}" for k, v in event["losses"].items()}, refresh=False)
        elif kind == "progress" and self.bar is not None:
            self.bar.update(event["step"] - self.bar.n)
        elif kind == "warning":
            self._write(f"warning: {event['message']}")
        elif kind == "checkpoint" and event["reason"] != "interval":
            self._write(f"checkpoint ({event['reason']}) at step {event['step']}")
        elif kind in ("stopped", "done", "error"):
            self._write(f"{kind}: {event.get('message') or event.get('checkpoint', '')}")
            if self.bar is not None:
                self.bar.close()
                self.bar = None

    def _write(self, text: str) -> None:
        from tqdm import tqdm

        if self.bar is not None:
            tqdm.write(text, file=self.stream)
        else:
            print(text, file=self.stream)


class RateMeter:
    """Iterations per second over a sliding window of recent steps, and the time left."""

    def __init__(self, window: int = 20) -> None:
        self.window = window
        self.marks: list[tuple[int, float]] = []

    def mark(self, step: int, now: float | None = None) -> None:
        self.marks.append((step, time.perf_counter() if now is None else now))
        del self.marks[: -self.window - 1]

    def rate(self) -> float | None:
        if len(self.marks) < 2:
            return None
        (first_step, first_time), (last_step, last_time) = self.marks[0], self.marks[-1]
        elapsed = last_time - first_time
        return (last_step - first_step) / elapsed if elapsed > 0 else None

    def eta(self, step: int, total: int) -> float | None:
        rate = self.rate()
        return (total - step) / rate if rate else None
