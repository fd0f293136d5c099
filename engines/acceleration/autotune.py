"""Kernel choices by measurement on the machine at hand, cached per machine.

Which algorithm is fastest for a shape (Winograd or the direct convolution, pattern lookups or the plain
modulation convolutions, the one-hot head's lookup or its convolution, a compiled graph or eager) depends on
the CPU: a rule measured on one machine was 4-16x wrong on another (docs/performance.md). So each choice is
timed the first time a shape is met: every candidate once to warm up, then alternating rounds, the fastest
round of each (:func:`time_candidates`); the fastest candidate wins. The winner is kept in a JSON file in
the user cache folder, under a key of the CPU model, core count, torch's thread count and torch version; a
file with another key is ignored and replaced, a damaged or hostile one is logged and rebuilt.

Three modes: ``inline`` (the CLI: the first use of a shape times it, well under a second per shape),
``background`` (the editor: the choice point gets its guess at once and the timing is queued for a daemon
thread that runs it while no render is running, :func:`rendering`), ``off`` (``REGIONPAINT_AUTOTUNE=0``:
the guesses only, the cache neither read nor written; the tests' determinism). The guesses are the old
hard-coded rules. ``REGIONPAINT_AUTOTUNE_FORCE=winograd=winograd,spade_modulation=plain`` forces choices by
name (parity tests, bisecting). Importable without torch (the editor's start-up path imports it).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import platform
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

ENV = "REGIONPAINT_AUTOTUNE"  # "0"/"off": guesses only; "background": queue timings (the editor sets it)
FORCE_ENV = "REGIONPAINT_AUTOTUNE_FORCE"  # "name=candidate,...": always take that candidate
CACHE_FILE = "autotune.json"
FORMAT = 1

# Timing: a warm-up call per candidate, then at least MIN_ROUNDS alternating rounds, more (up to MAX_ROUNDS)
# while the whole measurement stays within BUDGET_S. Each candidate's *fastest* round decides: interference
# (another process taking the cores, a page fault) only ever adds time, so the minimum is the estimate least
# disturbed by it; on a shared 2-core machine the median of 3-7 rounds still picked 100x-wrong winners for
# sub-millisecond kernels when one process was preempted for a whole round.
MIN_ROUNDS, MAX_ROUNDS, BUDGET_S = 3, 15, 0.3
CLEAR_LOSS = 2.0  # a candidate this many times slower than the best after a round: not timed further
# A measurement taken while the machine was this busy (load average per core) is provisional: every process
# then gets a slice of the cores, and the kernels' times say more about the scheduler than about them. It is
# used, and measured again the first time the shape is met on a quieter machine.
BUSY_LOAD = 1.5
# Background mode: a queued timing starts only after no render has run for this long (the editor's renders
# come in bursts while a person paints; the timings must not compete with them for the cores).
IDLE_S = 1.0

Candidates = Mapping[str, Callable[[], object]]


@dataclass
class Measurement:
    """One timed choice: the seconds of each candidate (:func:`time_candidates`) and the winner."""

    name: str
    shape: str
    seconds: dict[str, float]
    winner: str
    guess: str | None = None  # what the first-guess rule would have run (not kept in the cache)
    load: float = 0.0  # the machine's load average per core while it was measured

    def to_json(self) -> dict:
        seconds = {k: round(v, 7) for k, v in self.seconds.items()}
        return {"winner": self.winner, "seconds": seconds, "load": round(self.load, 2)}


def machine_key() -> dict[str, str | int]:
    """What a measurement is valid for: CPU model, logical cores, torch's threads and torch's version."""
    import torch  # callers have imported it already: this runs at a choice point, never at start-up

    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count() or 0,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo on Linux, else the platform's processor string)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def load_per_core() -> float:
    """The 1-minute load average per logical core (0 where the platform has none, e.g. Windows)."""
    try:
        return os.getloadavg()[0] / (os.cpu_count() or 1)
    except (AttributeError, OSError):
        return 0.0


def default_cache_path() -> Path:
    from regionpaint.locations import cache_dir

    return cache_dir() / CACHE_FILE


def time_candidates(candidates: Candidates) -> dict[str, float]:
    """Seconds per call of each candidate, its fastest round (warm-up first, rounds alternate between candidates).

    A candidate whose fastest round is more than :data:`CLEAR_LOSS` times the best one's after a round is
    clearly losing and is not run again: the large shapes, where one call takes a second, cost a few calls.
    """
    names = list(candidates)
    start = time.perf_counter()
    for name in names:
        candidates[name]()
    fastest = dict.fromkeys(names, float("inf"))
    running = list(names)
    for round_index in range(MAX_ROUNDS):
        if round_index >= MIN_ROUNDS and time.perf_counter() - start > BUDGET_S:
            break
        for name in running:
            t0 = time.perf_counter()
            candidates[name]()
            fastest[name] = min(fastest[name], time.perf_counter() - t0)
        best = min(fastest.values())
        running = [name for name in running if fastest[name] <= CLEAR_LOSS * best]
        if len(running) < 2:
            break
    return fastest


@functools.lru_cache(maxsize=8)  # read at every choice point (each convolution call): parsed, and warned about, once
def parse_forced(text: str) -> dict[str, str]:
    """``"a=x,b=y"`` -> {"a": "x", "b": "y"} (malformed parts are logged and skipped). Not to be modified."""
    forced = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, choice = part.partition("=")
        if not sep or not name.strip() or not choice.strip():
            log.warning("%s: ignoring %r (expected name=candidate)", FORCE_ENV, part)
            continue
        forced[name.strip()] = choice.strip()
    return forced


@dataclass
class _Job:
    name: str
    shape: str
    make_candidates: Callable[[], Candidates]
    guess: str | None = None
    tries: int = 0


class Tuner:
    """The per-machine choice cache and the timing of choices not in it.

    ``path``: the cache file (default: ``autotune.json`` in the user cache folder); ``key``: the machine key
    (default :func:`machine_key`, read on first use); ``timer``: how candidates are timed (tests count calls);
    ``load``: the machine's load per core now (default :func:`load_per_core`).
    """

    def __init__(
        self,
        path: Path | None = None,
        key: Mapping[str, str | int] | None = None,
        timer: Callable[[Candidates], dict[str, float]] = time_candidates,
        mode: str | None = None,
        load: Callable[[], float] | None = None,
    ) -> None:
        self.path = path
        self._key = dict(key) if key is not None else None
        self.timer = timer
        self.load = load if load is not None else (lambda: load_per_core())  # looked up at each call
        self._mode = mode
        self._rechecked: set[tuple[str, str]] = set()  # provisional entries already measured again this session
        self._lock = threading.RLock()
        self._choices: dict[str, dict[str, dict]] | None = None  # name -> shape -> {"winner", "seconds"}
        self.measured: list[Measurement] = []  # what this process timed (``regionpaint tune`` prints it)
        self.retune = False  # time every choice met again, whatever the cache holds (``regionpaint tune``)
        self._retuned: set[tuple[str, str]] = set()
        # Background mode: queued timings, renders in flight, and when the last one ended.
        self._queue: dict[tuple[str, str], _Job] = {}
        self._renders = 0
        self._render_serial = 0
        self._last_render = 0.0
        self._busy_job = False
        self._wake = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None

    # -- configuration -------------------------------------------------------------------------------
    @property
    def mode(self) -> str:
        """``inline``, ``background`` or ``off`` (``REGIONPAINT_AUTOTUNE``, unless set on the tuner)."""
        if self._mode is not None:
            return self._mode
        value = os.environ.get(ENV, "").strip().lower()
        if value in ("0", "off", "false", "no"):
            return "off"
        return "background" if value == "background" else "inline"

    @mode.setter
    def mode(self, value: str) -> None:
        if value not in ("inline", "background", "off"):
            raise ValueError(f"unknown autotune mode {value!r}")
        self._mode = value

    @property
    def key(self) -> dict[str, str | int]:
        if self._key is None:
            self._key = machine_key()
        return self._key

    def cache_path(self) -> Path:
        return self.path if self.path is not None else default_cache_path()

    # -- choosing ------------------------------------------------------------------------------------
    def choose(
        self, name: str, shape: str, make_candidates: Callable[[], Candidates], guess: str, inline: bool = False
    ) -> str:
        """The candidate to run for ``shape`` of choice ``name``.

        ``make_candidates()`` builds the zero-argument callables to time (on inputs of the real shape and
        dtype); it is called only when a measurement is needed. ``guess`` is returned when tuning is off, or
        (background mode) until the queued measurement is done. ``inline``: time now even in background mode
        (the caller is a background thread already).
        """
        forced = parse_forced(os.environ.get(FORCE_ENV, "")).get(name)
        if forced is not None:
            return forced
        mode = self.mode
        if mode == "off":
            return guess
        known = self.lookup(name, shape)
        if known is not None:
            return known
        if mode == "background" and not inline:
            self._enqueue(_Job(name, shape, make_candidates, guess))
            return guess
        return self.measure(name, shape, make_candidates(), guess).winner

    def lookup(self, name: str, shape: str) -> str | None:
        """The cached winner, or None (never measured on this machine, or being re-measured by ``tune``)."""
        if self.mode == "off":
            return None
        with self._lock:
            if self.retune and (name, shape) not in self._retuned:
                return None
            entry = self._load().get(name, {}).get(shape)
            if entry is None:
                return None
            if entry["load"] > BUSY_LOAD and (name, shape) not in self._rechecked and self.load() <= BUSY_LOAD:
                self._rechecked.add((name, shape))
                return None  # measured on a busy machine, and this one is quieter: measure again
        return entry["winner"]

    def measure(self, name: str, shape: str, candidates: Candidates, guess: str | None = None) -> Measurement:
        """Time ``candidates`` now, keep the winner and return the measurement."""
        return self.record(name, shape, self.timer(candidates), guess)

    def record(self, name: str, shape: str, seconds: Mapping[str, float], guess: str | None = None) -> Measurement:
        """Keep the fastest of measured ``seconds`` (per candidate) as the choice for ``shape``."""
        seconds = dict(seconds)
        winner = min(seconds, key=seconds.__getitem__)
        measurement = Measurement(name, shape, seconds, winner, guess, self.load())
        log.info("autotune %s %s: %s (%s)", name, shape, winner, _describe(seconds))
        with self._lock:
            self._load().setdefault(name, {})[shape] = measurement.to_json()
            self._retuned.add((name, shape))
            self.measured.append(measurement)
            self._save()
        return measurement

    def entries(self) -> dict[str, dict[str, dict]]:
        """A copy of the cached choices of this machine."""
        with self._lock:
            return json.loads(json.dumps(self._load()))

    def reset(self) -> bool:
        """Forget every measurement (the file too); whether there was a file."""
        with self._lock:
            self._choices = {}
            self._retuned.clear()
            path = self.cache_path()
            try:
                path.unlink()
            except FileNotFoundError:
                return False
            return True

    # -- the cache file ------------------------------------------------------------------------------
    def _load(self) -> dict[str, dict[str, dict]]:
        if self._choices is None:
            self._choices = self._read()
        return self._choices

    def _read(self) -> dict[str, dict[str, dict]]:
        """This machine's choices from the file; {} when it is absent, for another machine, or damaged."""
        from regionpaint.untrusted import read_json

        path = self.cache_path()
        if not path.exists():
            return {}
        try:
            data = read_json(path, f"autotune cache {path}", max_depth=8)
        except (OSError, ValueError) as exc:
            log.warning("autotune cache %s is unreadable (%s): measuring again", path, exc)
            return {}
        if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("machine") != self.key:
            log.info("autotune cache %s is for another machine or version: measuring again", path)
            return {}
        return _valid_choices(data.get("choices"), path)

    def _save(self) -> None:
        """Write the file atomically (a temporary file renamed over it), over what other processes (batch
        workers, another session) wrote since it was read; a failure is logged, never raised."""
        path = self.cache_path()
        merged = self._read() if path.exists() else {}
        for name, shapes in (self._choices or {}).items():
            merged.setdefault(name, {}).update(shapes)
        self._choices = merged
        data = {"format": FORMAT, "machine": self.key, "choices": merged}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(data, handle, indent=1, sort_keys=True)
                os.replace(temp, path)
            finally:
                if os.path.exists(temp):
                    os.unlink(temp)
        except OSError as exc:
            log.warning("autotune cache %s not written (%s): choices last for this session only", path, exc)

    # -- background mode -----------------------------------------------------------------------------
    @contextlib.contextmanager
    def rendering(self) -> Iterator[None]:
        """Mark a render in progress: background timings wait for it, and one it overlapped is redone."""
        with self._lock:
            self._renders += 1
            self._render_serial += 1
        try:
            yield
        finally:
            with self._lock:
                self._renders -= 1
                self._last_render = time.monotonic()
                self._wake.notify_all()

    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until the background queue is empty (tests, ``tune``); whether it is."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._queue or self._busy_job:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._wake.wait(min(left, 0.05))
        return True

    def _enqueue(self, job: _Job) -> None:
        with self._lock:
            self._queue.setdefault((job.name, job.shape), job)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="regionpaint-autotune", daemon=True)
                self._thread.start()
            self._wake.notify_all()

    def _next_job(self) -> tuple[_Job, int]:
        """The next queued job once no render has run for IDLE_S, and the render serial at its start."""
        with self._lock:
            while True:
                idle_for = time.monotonic() - self._last_render
                if self._queue and self._renders == 0 and idle_for >= IDLE_S:
                    key = next(iter(self._queue))
                    self._busy_job = True
                    return self._queue.pop(key), self._render_serial
                self._wake.wait(max(0.05, IDLE_S - idle_for) if self._queue else None)

    def _work(self) -> None:
        while True:
            job, serial = self._next_job()
            try:
                if self.lookup(job.name, job.shape) is None:
                    seconds = self.timer(job.make_candidates())
                    with self._lock:
                        overlapped = self._render_serial != serial or self._renders
                    if overlapped and job.tries < 3:  # a render shared the cores: the times are not fair
                        job.tries += 1
                        with self._lock:
                            self._queue.setdefault((job.name, job.shape), job)
                    else:
                        self.record(job.name, job.shape, seconds, job.guess)
            except Exception:  # noqa: BLE001 - a failed timing leaves the guess in place, never the editor
                log.exception("autotune %s %s failed: keeping the guess", job.name, job.shape)
            finally:
                with self._lock:
                    self._busy_job = False
                    self._wake.notify_all()


def _describe(seconds: Mapping[str, float]) -> str:
    return ", ".join(f"{name} {s * 1e3:.2f} ms" for name, s in seconds.items())


def _valid_choices(choices: object, path: Path) -> dict[str, dict[str, dict]]:
    """The well-formed entries of a cache file's ``choices`` (anything else is dropped with a log line)."""
    kept: dict[str, dict[str, dict]] = {}
    dropped = 0
    for name, shapes in (choices if isinstance(choices, dict) else {}).items():
        for shape, entry in (shapes if isinstance(shapes, dict) else {}).items():
            seconds = entry.get("seconds") if isinstance(entry, dict) else None
            winner = entry.get("winner") if isinstance(entry, dict) else None
            if (
                isinstance(winner, str)
                and isinstance(seconds, dict)
                and winner in seconds
                and all(isinstance(v, (int, float)) for v in seconds.values())
            ):
                load = entry.get("load", 0.0)
                load = float(load) if isinstance(load, (int, float)) and load >= 0 else 0.0
                kept.setdefault(name, {})[shape] = {"winner": winner, "seconds": dict(seconds), "load": load}
            else:
                dropped += 1
    if dropped or (choices is not None and not isinstance(choices, dict)):
        log.warning("autotune cache %s: %d malformed entries ignored", path, dropped)
    return kept


_tuner: Tuner | None = None
_tuner_lock = threading.Lock()


def tuner() -> Tuner:
    """The process's tuner."""
    global _tuner
    with _tuner_lock:
        if _tuner is None:
            _tuner = Tuner()
        return _tuner


def choose(name: str, shape: str, make_candidates: Callable[[], Candidates], guess: str, inline: bool = False) -> str:
    """:meth:`Tuner.choose` of the process's tuner."""
    return tuner().choose(name, shape, make_candidates, guess, inline)


def rendering() -> contextlib.AbstractContextManager[None]:
    """:meth:`Tuner.rendering` of the process's tuner."""
    return tuner().rendering()


def tune_in_background() -> None:
    """Queue timings instead of running them at the choice point (the editor), unless tuning is off."""
    t = tuner()
    if t.mode != "off":
        t.mode = "background"


@dataclass
class TorchMath:
    """The math a choice point runs under (grad mode and autocast), so its timing candidates run the same."""

    device: str
    autocast_dtype: object = None
    extra: dict = field(default_factory=dict)

    @classmethod
    def current(cls, device: str) -> TorchMath:
        import torch

        on = torch.is_autocast_enabled(device)
        return cls(device, torch.get_autocast_dtype(device) if on else None)

    @contextlib.contextmanager
    def applied(self) -> Iterator[None]:
        import torch

        with torch.inference_mode():
            if self.autocast_dtype is None:
                with torch.autocast(self.device, enabled=False):
                    yield
            else:
                with torch.autocast(self.device, dtype=self.autocast_dtype):
                    yield


def under(math: TorchMath, candidates: dict[str, Callable[[], object]]) -> dict[str, Callable[[], object]]:
    """Each candidate run under ``math`` (grad off, the caller's autocast), from any thread."""

    def wrap(fn: Callable[[], object]) -> Callable[[], object]:
        def run() -> object:
            with math.applied():
                return fn()

        return run

    return {name: wrap(fn) for name, fn in candidates.items()}
