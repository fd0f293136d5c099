"""Batch events: JSON lines (``--json``, what the editor's Jobs panel reads) or a tqdm bar.

Same envelope as training events (``event``, ``v``, ``time``) and the same progress fields, so
:class:`regionpaint.app.training.jobs.TrainingJob` follows a batch as it follows training. Types:

* ``start``: engine, checkpoint, out, layout, device, world_size, batch_size, total_steps (outputs of the
  whole batch), start_step (outputs already done and skipped), todo.
* ``step``: step (outputs finished, all ranks), total_steps, it_s (images per second), eta_s, losses ({}).
* ``bad_input``: path, message (the file is skipped; the run goes on).
* ``warning``: message.
* ``done``: step, seconds, rendered, skipped, failed [(path, message)], manifest.
* ``stopped`` (Ctrl+C / SIGTERM; a rerun continues): reason and the fields of ``done``.
* ``error``: message.
"""

from __future__ import annotations

import time
from typing import IO, Any

SCHEMA_VERSION = 1
EVENT_TYPES = ("start", "step", "bad_input", "warning", "stopped", "done", "error")


def batch_event(kind: str, **fields: Any) -> dict[str, Any]:
    if kind not in EVENT_TYPES:
        raise ValueError(f"unknown batch event type {kind!r}")
    return {"event": kind, "v": SCHEMA_VERSION, "time": round(time.time(), 3), **fields}


class TqdmBatchSink:
    """A tqdm bar counting images (global over ranks) with images/s; other events as lines above it."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.bar = None

    def __call__(self, event: dict[str, Any]) -> None:
        from tqdm import tqdm

        kind = event["event"]
        if kind == "start":
            self.bar = tqdm(
                total=event["total_steps"], initial=event["start_step"], unit="img", file=self.stream, smoothing=0.1
            )
            ranks = f" on {event['world_size']} processes" if event["world_size"] > 1 else ""
            self._write(
                f"batch: {event['todo']} to render, {event['start_step']} already done -> {event['out']}{ranks}"
            )
        elif kind == "step" and self.bar is not None:
            self.bar.update(event["step"] - self.bar.n)
        elif kind == "bad_input":
            path, message = event["path"], event["message"]
            self._write(f"skipped {message}" if message.startswith(path) else f"skipped {path}: {message}")
        elif kind == "warning":
            self._write(f"warning: {event['message']}")
        elif kind in ("stopped", "done", "error"):
            if self.bar is not None:
                self.bar.close()
                self.bar = None
            if kind == "done":
                self._write(summary_text(event))
            elif kind == "stopped":
                self._write(summary_text(event).replace("done:", "stopped:", 1) + "\nrerun the command to continue")
            else:
                self._write(f"error: {event['message']}")

    def _write(self, text: str) -> None:
        from tqdm import tqdm

        if self.bar is not None:
            tqdm.write(text, file=self.stream)
        else:
            print(text, file=self.stream)


def summary_text(event: dict[str, Any]) -> str:
    """The end-of-run summary: counts, then every input that could not be rendered."""
    lines = [
        f"done: {event['rendered']} rendered, {event['skipped']} already done, {len(event['failed'])} failed "
        f"in {event['seconds']:.1f} s; manifest {event['manifest']}"
    ]
    lines += [f"  {m}" if m.startswith(p) else f"  {p}: {m}" for p, m in event["failed"]]
    return "\n".join(lines)
