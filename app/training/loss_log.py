"""A run folder's loss curve (Qt-free, torch-free): the ``step`` events the trainer appended to its loss log.

A resumed job starts a new process whose events begin at the resumed step; the curve before it is read here,
so the jobs panel keeps the run's whole curve across Stop and Resume (and for a run stopped in an earlier
session of the editor).
"""

from __future__ import annotations

import logging
import math
from collections import deque
from pathlib import Path

from regionpaint import untrusted
from regionpaint.engines.training.events import LOSS_LOG

log = logging.getLogger(__name__)

MAX_LINE = 64 * 1024  # one step record is ~300 bytes; a longer line is not one of the trainer's


def read_loss_history(run_dir: str | Path, keep: int) -> list[tuple[int, dict[str, float]]]:
    """The last ``keep`` (step, {loss name: value}) records of the run folder's loss log, in file order.

    A missing or unreadable log is an empty curve (the plot starts again, the job runs as before); lines that
    are not step records (cut off by a kill, damaged) are skipped.
    """
    path = Path(run_dir) / LOSS_LOG
    if not path.exists():
        return []
    history: deque[tuple[int, dict[str, float]]] = deque(maxlen=keep)
    try:
        with untrusted.open_regular(path, "loss log") as handle:  # a FIFO named loss_log.jsonl must not block
            while line := handle.readline(MAX_LINE + 1):
                if len(line) > MAX_LINE or not line.strip():
                    continue
                record = _record(line)
                if record is not None:
                    history.append(record)
    except (OSError, ValueError) as exc:
        log.info("loss log of %s not read: %s", run_dir, exc)
        return []
    return list(history)


def _record(line: bytes) -> tuple[int, dict[str, float]] | None:
    try:
        event = untrusted.loads_json(line, "loss log line")
        step, losses = int(event["step"]), event["losses"]
        values = {str(name): float(value) for name, value in losses.items()}
    except (untrusted.UntrustedFileError, KeyError, TypeError, ValueError, AttributeError, OverflowError):
        return None
    return step, {name: value for name, value in values.items() if math.isfinite(value)}
