"""Training jobs in their own processes (Qt-free): start, follow, stop and resume ``regionpaint train``.

A :class:`TrainingJob` runs ``python -m regionpaint train ... --json`` as a subprocess, so a crashing or
out-of-memory training never takes the editor down. Two reader threads collect its stdout (JSON-lines events,
see :mod:`regionpaint.engines.training.events`) and stderr (log lines); the owner calls :meth:`TrainingJob.poll` (from a
GUI timer, or a loop) to apply new events to :attr:`TrainingJob.progress` and get them.

:meth:`TrainingJob.stop` sends SIGINT (CTRL_BREAK on Windows): the trainer saves a checkpoint and exits with a
``stopped`` event; :meth:`TrainingJob.resume` starts the same command with ``--resume``.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from regionpaint import untrusted
from regionpaint.app.training.loss_log import read_loss_history

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
LOG_TAIL = 200  # stderr / non-JSON lines kept per job
LOSS_HISTORY = 5000  # loss points kept for the plot


class JobState(str, Enum):
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"  # stopped on request, checkpoint saved: can be resumed
    DONE = "done"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        return self in (JobState.STOPPED, JobState.DONE, JobState.FAILED)


@dataclass
class JobProgress:
    """What the events said so far."""

    step: int = 0
    start_step: int = 0
    total_steps: int | None = None
    epoch: int | None = None
    it_s: float | None = None
    eta_s: float | None = None
    losses: dict[str, float] = field(default_factory=dict)
    history: deque = field(default_factory=lambda: deque(maxlen=LOSS_HISTORY))  # (step, {name: value})
    latest_sample: Path | None = None
    latest_checkpoint_step: int | None = None
    features: Path | None = None
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    engine: str | None = None
    failed: list = field(default_factory=list)  # batch: [(input, message)] from the summary

    @property
    def fraction(self) -> float:
        return min(1.0, self.step / self.total_steps) if self.total_steps else 0.0


def with_json(argv: Sequence[str]) -> list[str]:
    argv = list(argv)
    return argv if "--json" in argv else argv + ["--json"]


def with_resume(argv: Sequence[str]) -> list[str]:
    argv = list(argv)
    return argv if "--resume" in argv else argv + ["--resume"]


class TrainingJob:
    """One ``regionpaint train`` process. ``argv`` starts with ``train`` (the CLI sub-command)."""

    kind = "train"

    def __init__(
        self,
        argv: Sequence[str],
        run_dir: str | Path,
        python: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.argv = with_json(argv)
        self.run_dir = Path(run_dir)
        self.python = python or sys.executable
        self.env = env
        self.state = JobState.STARTING
        self.progress = JobProgress()
        self.events: list[dict[str, Any]] = []
        self.log_tail: deque[str] = deque(maxlen=LOG_TAIL)
        self.returncode: int | None = None
        self.started_at: float | None = None
        self._process: subprocess.Popen | None = None
        self._queue: queue.Queue = queue.Queue()
        self._readers: list[threading.Thread] = []

    # ---- process -------------------------------------------------------------------------------------
    @property
    def command(self) -> list[str]:
        return [self.python, "-m", "regionpaint", *self.argv]

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def exited(self) -> bool:
        """The process was never started, or it ended and was reaped (no defunct child is left)."""
        return self._process is None or self.returncode is not None

    def start(self) -> TrainingJob:
        env = dict(os.environ if self.env is None else self.env)
        env["PYTHONUNBUFFERED"] = "1"
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p)
        kwargs: dict[str, Any] = {}
        if os.name == "nt":
            kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP  # so CTRL_BREAK reaches only the job
        else:
            kwargs["start_new_session"] = True  # a Ctrl-C in the editor's terminal does not stop the job
        self._process = subprocess.Popen(
            self.command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
            errors="replace",
            bufsize=1,
            env=env,
            **kwargs,
        )
        self.started_at = time.time()
        for stream, name in ((self._process.stdout, "stdout"), (self._process.stderr, "stderr")):
            reader = threading.Thread(target=self._read, args=(stream, name), daemon=True, name=f"job-{name}")
            reader.start()
            self._readers.append(reader)
        log.info("started training job pid %d: %s", self._process.pid, " ".join(self.command))
        return self

    def _read(self, stream, name: str) -> None:
        for line in stream:
            line = line.rstrip("\n")
            if name == "stdout" and line.startswith("{"):
                try:  # bounded: a 100,000-level line must not kill this thread with a RecursionError
                    event = untrusted.loads_json(line, "training event")
                except untrusted.UntrustedFileError:
                    event = None
                if isinstance(event, dict) and "event" in event:
                    self._queue.put(("event", event))
                    continue
            self._queue.put(("log", line))
        self._queue.put(("closed", name))

    def stop(self) -> None:
        """Ask the trainer to save a checkpoint and stop (it exits with a ``stopped`` event)."""
        if self._process is None or self._process.poll() is not None:
            return
        self.state = JobState.STOPPING
        if os.name == "nt":
            self._process.send_signal(signal.CTRL_BREAK_EVENT)
        else:
            self._process.send_signal(signal.SIGINT)

    def kill(self) -> None:
        """End the process at once (the last complete checkpoint stays usable)."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait for the process and its output; returns the exit code (None on timeout)."""
        if self._process is None:
            return None
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        for reader in self._readers:
            reader.join(timeout=5)
        self.poll()
        return self._process.returncode

    def resume(self) -> TrainingJob:
        """A new job continuing this run from its latest checkpoint (not started yet). It shows where the run
        is until its own events arrive, and the run's loss curve so far (the run folder's loss log)."""
        job = TrainingJob(with_resume(self.argv), self.run_dir, self.python, self.env)
        job.progress.history.extend(read_loss_history(self.run_dir, LOSS_HISTORY))
        done = self.progress
        job.progress.step = done.latest_checkpoint_step if done.latest_checkpoint_step is not None else done.step
        job.progress.latest_checkpoint_step = done.latest_checkpoint_step
        job.progress.total_steps, job.progress.engine = done.total_steps, done.engine
        return job

    # ---- events --------------------------------------------------------------------------------------
    def poll(self) -> list[dict[str, Any]]:
        """Apply the events that arrived since the last call; returns them."""
        new = []
        while True:
            try:
                kind, payload = self._queue.get_nowait()
            except queue.Empty:
                break
            if kind == "event":
                try:
                    self._apply(payload)
                except (KeyError, TypeError, ValueError, OverflowError) as exc:  # e.g. {"event": "step"} alone
                    self.log_tail.append(f"unreadable event ({type(exc).__name__}): {json.dumps(payload)[:200]}")
                    continue
                self.events.append(payload)
                new.append(payload)
            elif kind == "log":
                self.log_tail.append(payload)
        self._check_exit()
        return new

    def _apply(self, event: dict[str, Any]) -> None:
        kind, progress = event["event"], self.progress
        if kind == "start":
            self.state = JobState.RUNNING if self.state is JobState.STARTING else self.state
            progress.engine = event.get("engine")
            progress.total_steps = event.get("total_steps")
            progress.start_step = progress.step = int(event.get("start_step") or 0)
            if progress.start_step:  # resumed: its checkpoint is there; steps logged after it are trained again
                progress.latest_checkpoint_step = progress.latest_checkpoint_step or progress.start_step
                kept = [(step, losses) for step, losses in progress.history if step <= progress.start_step]
                progress.history.clear()
                progress.history.extend(kept)
        elif kind in ("step", "progress"):  # "progress": the steps between logged ones, without losses
            progress.step = int(event["step"])
            progress.total_steps = event.get("total_steps", progress.total_steps)
            progress.epoch = event.get("epoch")
            progress.it_s, progress.eta_s = event.get("it_s"), event.get("eta_s")
            if kind == "step":
                progress.losses = dict(event.get("losses") or {})
                progress.history.append((progress.step, progress.losses))
        elif kind == "sample":
            progress.latest_sample = Path(event["path"])
        elif kind == "checkpoint":
            progress.latest_checkpoint_step = int(event["step"])
        elif kind == "features":
            progress.features = Path(event["path"])
        elif kind == "warning":
            progress.warnings.append(str(event.get("message")))
        elif kind == "error":
            progress.error = str(event.get("message"))
        elif kind in ("stopped", "done"):
            self.state = JobState.STOPPED if kind == "stopped" else JobState.DONE
            # Where the run really is (the last logged step may be far behind), and no time left to estimate.
            progress.step = int(event.get("step", progress.step))
            progress.it_s = progress.eta_s = None

    def _check_exit(self) -> None:
        if self._process is None or self.returncode is not None:
            return
        code = self._process.poll()
        if code is None or any(reader.is_alive() for reader in self._readers):
            return
        self.returncode = code
        if self.state not in (JobState.DONE, JobState.STOPPED):
            self.state = JobState.FAILED
            self.progress.it_s = self.progress.eta_s = None
            if self.progress.error is None:
                tail = [line for line in self.log_tail if line.strip()][-5:]
                self.progress.error = "\n".join(tail) or f"training process exited with code {code}"

    def exit_description(self) -> str:
        """How the process ended: "exited with code 1", "killed by SIGKILL (out of memory?)"."""
        code = self.returncode
        if code is None:
            return "still running"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            hint = " (the system may have run out of memory)" if name == "SIGKILL" else ""
            return f"killed by {name}{hint}"
        return f"exited with code {code}"

    def failure_text(self, lines: int = 12) -> str:
        """What a failed job left behind: its error, how it ended, and its last ``lines`` log lines."""
        parts = [f"The training process {self.exit_description()}."]
        tail = [line for line in self.log_tail if line.strip()][-lines:]
        error = self.progress.error
        if error and not all(line in tail for line in error.splitlines()):  # not just the tail again
            parts.append(f"Error: {error}")
        if tail:
            parts.append("Last log lines:")
            parts.extend(tail)
        elif self.events:  # it logged nothing: its last events say how far it got
            parts.append("Last events:")
            parts.extend(json.dumps(event)[:200] for event in self.events[-3:])
        return "\n".join(parts)

    @property
    def checkpoint(self) -> Path | None:
        """The run folder once it holds a generator checkpoint."""
        return self.run_dir if (self.run_dir / "latest_net_G.pth").is_file() else None

    @property
    def can_resume(self) -> bool:
        return self.checkpoint is not None


class BatchJob(TrainingJob):
    """One ``regionpaint batch`` process (``argv`` starts with ``batch``); ``run_dir`` is its output folder.

    Its events have the training envelope (start/step/stopped/done, see :mod:`regionpaint.app.batch.events`); steps
    count images. Resuming runs the same command again: the batch skips the outputs it already wrote.
    """

    kind = "batch"

    def resume(self) -> BatchJob:
        return BatchJob(self.argv, self.run_dir, self.python, self.env)

    @property
    def checkpoint(self) -> Path | None:
        return None

    @property
    def can_resume(self) -> bool:
        return True

    def _apply(self, event: dict[str, Any]) -> None:
        super()._apply(event)
        if event["event"] == "bad_input":
            self.progress.warnings.append(f"skipped {event.get('message')}")
        elif event["event"] in ("done", "stopped"):
            self.progress.failed = list(event.get("failed") or [])


def job_for(
    argv: Sequence[str], run_dir: str | Path, python: str | None = None, env: dict | None = None
) -> TrainingJob:
    """The job type of a command line: :class:`BatchJob` for ``batch``, else :class:`TrainingJob`."""
    cls = BatchJob if list(argv)[:1] == ["batch"] else TrainingJob
    return cls(argv, run_dir, python=python, env=env)
