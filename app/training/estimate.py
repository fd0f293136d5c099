"""How long a training run will take, from a few real, timed steps (Qt-free).

:func:`timing_command` turns a ``regionpaint train`` argv into a short run of the same command (same engine,
dataset, options and device) into a throw-away folder; :func:`seconds_per_step` reads its step events. The
first step pays for start-up (building networks, first kernels), so the rate is taken between the first
and the last step event.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TIMED_STEPS = 4  # step 1 (warm-up) + 3 timed steps
# Flags of the argv that the timing run replaces (each takes one value).
_REPLACED = {"--out", "--steps", "--epochs", "--save-every", "--sample-every", "--log-every"}
_NEVER = 10**9  # no interval checkpoints or samples during the timing run


@dataclass(frozen=True)
class Estimate:
    seconds_per_step: float
    total_steps: int

    @property
    def total_seconds(self) -> float:
        return self.seconds_per_step * self.total_steps

    def describe(self) -> str:
        return (
            f"≈ {self.seconds_per_step:.2f} s/step × {self.total_steps:,} steps ≈ {format_seconds(self.total_seconds)}"
        )


def timing_command(argv: Sequence[str], out: str | Path, steps: int = TIMED_STEPS) -> list[str]:
    """``argv`` (starting with ``train``) as a ``steps``-iteration run into ``out`` that logs every step."""
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in _REPLACED:
            skip = True
            continue
        if arg == "--resume":
            continue
        kept.append(arg)
    return (
        kept
        + ["--out", str(out), "--steps", str(steps), "--log-every", "1"]
        + [
            "--save-every",
            str(_NEVER),
            "--sample-every",
            str(_NEVER),
        ]
    )


def seconds_per_step(events: Iterable[dict[str, Any]]) -> float | None:
    """Seconds per iteration between the first and the last ``step`` event, None with fewer than two."""
    times = [(e["step"], e["time"]) for e in events if e.get("event") == "step"]
    if len(times) < 2:
        return None
    (first_step, first_time), (last_step, last_time) = times[0], times[-1]
    if last_step <= first_step:
        return None
    return max(0.0, (last_time - first_time) / (last_step - first_step))


def planned_steps(length_kind: str, length: int, iters_per_epoch: int | None) -> int | None:
    """The steps of the real run: ``length`` steps, or ``length`` epochs of ``iters_per_epoch``."""
    if length_kind == "steps":
        return length
    return length * iters_per_epoch if iters_per_epoch else None


def format_seconds(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    hours = seconds / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"
