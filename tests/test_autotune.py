"""Kernel choices by measurement (engines/acceleration/autotune.py): the per-machine cache, the timing, the
background queue, the choice points' wiring, and parity whichever way each choice goes."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time

import numpy as np
import pytest
import torch

from regionpaint.engines.acceleration import autotune
from regionpaint.engines.acceleration.autotune import Tuner

KEY = {"cpu": "Test CPU 9000", "cores": 2, "threads": 2, "torch": "2.x"}


class Counted:
    """Candidates whose calls are counted: a measurement calls each at least once, a cached choice never."""

    def __init__(self, *names: str, sleep: dict[str, float] | None = None) -> None:
        self.calls = dict.fromkeys(names, 0)
        self.sleep = sleep or {}

    def __call__(self) -> dict:
        return {name: (lambda name=name: self._run(name)) for name in self.calls}

    def _run(self, name: str) -> None:
        self.calls[name] += 1
        time.sleep(self.sleep.get(name, 0.0))

    @property
    def total(self) -> int:
        return sum(self.calls.values())


def fake_timer(seconds: dict[str, float]):
    """A timer that calls each candidate once and reports fixed times (so the winner is known)."""

    def timer(candidates):
        for run in candidates.values():
            run()
        return {name: seconds[name] for name in candidates}

    return timer


@pytest.fixture(autouse=True)
def _no_forced_choices_and_a_quiet_machine(monkeypatch):
    monkeypatch.delenv(autotune.FORCE_ENV, raising=False)
    monkeypatch.setattr(autotune, "load_per_core", lambda: 0.0)  # no entry is provisional unless a test says so


def test_a_measured_choice_is_written_keyed_and_reused_without_timing_again(tmp_path):
    path = tmp_path / "cache" / "autotune.json"
    tuner = Tuner(path, KEY, timer=fake_timer({"a": 2.0, "b": 1.0}), mode="inline")
    counted = Counted("a", "b")
    assert tuner.choose("winograd", "512>512 1x34x66", counted, guess="a") == "b"  # the guess loses
    assert counted.total == 2
    data = json.loads(path.read_text())
    assert data["machine"] == KEY
    assert data["choices"]["winograd"]["512>512 1x34x66"] == {
        "winner": "b",
        "seconds": {"a": 2.0, "b": 1.0},
        "load": 0.0,
    }

    assert tuner.choose("winograd", "512>512 1x34x66", counted, guess="a") == "b"
    fresh = Tuner(path, KEY, timer=fake_timer({"a": 0.0, "b": 9.0}), mode="inline")  # a new process
    assert fresh.choose("winograd", "512>512 1x34x66", counted, guess="a") == "b"
    assert counted.total == 2  # neither timed again

    assert fresh.choose("winograd", "1024>1024 1x18x34", counted, guess="b") == "a"  # another shape: timed
    assert counted.total == 4


def test_another_machine_key_measures_again_and_replaces_the_file(tmp_path):
    path = tmp_path / "autotune.json"
    counted = Counted("a", "b")
    Tuner(path, KEY, timer=fake_timer({"a": 1.0, "b": 2.0}), mode="inline").choose("x", "s", counted, "b")
    for changed in ({"torch": "3.0"}, {"cpu": "Other CPU"}, {"cores": 64}, {"threads": 1}):
        other = {**KEY, **changed}
        before = counted.total
        assert (
            Tuner(path, other, timer=fake_timer({"a": 3.0, "b": 2.0}), mode="inline").choose("x", "s", counted, "a")
            == "b"
        )
        assert counted.total == before + 2, changed
        assert json.loads(path.read_text())["machine"] == other


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"[" * 10000 + b"]" * 10000,  # far deeper than read_json allows
        b'{"format": 1, "machine": null, "choices": {"x": {"s": {"winner": "a"}}}}',
        b"\xff\xfe garbage",
    ],
)
def test_a_damaged_or_hostile_cache_file_is_logged_and_rebuilt(tmp_path, content, caplog):
    path = tmp_path / "autotune.json"
    path.write_bytes(content)
    counted = Counted("a", "b")
    tuner = Tuner(path, KEY, timer=fake_timer({"a": 1.0, "b": 2.0}), mode="inline")
    with caplog.at_level(logging.INFO, logger=autotune.__name__):
        assert tuner.choose("x", "s", counted, "b") == "a"
    assert counted.total == 2
    assert any(str(path) in r.getMessage() for r in caplog.records)
    assert json.loads(path.read_text())["choices"] == {
        "x": {"s": {"winner": "a", "seconds": {"a": 1.0, "b": 2.0}, "load": 0.0}}
    }


def test_malformed_entries_of_a_matching_file_are_dropped_and_the_good_ones_kept(tmp_path):
    path = tmp_path / "autotune.json"
    choices = {
        "x": {"good": {"winner": "a", "seconds": {"a": 1, "b": 2}}, "bad": {"winner": "c", "seconds": {"a": 1}}},
        "y": "not a table",
    }
    path.write_text(json.dumps({"format": autotune.FORMAT, "machine": KEY, "choices": choices}))
    tuner = Tuner(path, KEY, timer=fake_timer({"a": 2.0, "b": 1.0}), mode="inline")
    counted = Counted("a", "b")
    assert tuner.choose("x", "good", counted, "b") == "a" and counted.total == 0
    assert tuner.choose("x", "bad", counted, "a") == "b" and counted.total == 2


def test_a_choice_measured_on_a_busy_machine_is_measured_again_once_it_is_quieter(tmp_path):
    path = tmp_path / "autotune.json"
    load = [8.0]  # runnable threads per core: every kernel got a slice of a core
    busy = Tuner(path, KEY, timer=fake_timer({"a": 2.0, "b": 1.0}), mode="inline", load=lambda: load[0])
    counted = Counted("a", "b")
    assert busy.choose("x", "s", counted, "a") == "b" and counted.total == 2
    assert json.loads(path.read_text())["choices"]["x"]["s"]["load"] == 8.0
    assert Tuner(path, KEY, mode="inline", load=lambda: 8.0).choose("x", "s", counted, "a") == "b"
    assert counted.total == 2  # still busy: the provisional choice is used as it is
    quiet = Tuner(path, KEY, timer=fake_timer({"a": 1.0, "b": 2.0}), mode="inline", load=lambda: 0.3)
    assert quiet.choose("x", "s", counted, "b") == "a" and counted.total == 4  # measured again
    assert quiet.choose("x", "s", counted, "b") == "a" and counted.total == 4  # and kept
    assert json.loads(path.read_text())["choices"]["x"]["s"]["load"] == 0.3


def test_a_cache_folder_that_cannot_be_written_leaves_the_choice_working(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    tuner = Tuner(blocker / "sub" / "autotune.json", KEY, timer=fake_timer({"a": 1.0, "b": 2.0}), mode="inline")
    assert tuner.choose("x", "s", Counted("a", "b"), "b") == "a"
    assert tuner.lookup("x", "s") == "a"  # kept for this session


def test_a_candidate_that_measures_slower_is_not_taken(tmp_path):
    """Real timing (time_candidates): the candidate that sleeps loses, whichever one is the guess."""
    for slow, fast in (("direct", "winograd"), ("winograd", "direct")):
        counted = Counted(slow, fast, sleep={slow: 0.02})
        tuner = Tuner(tmp_path / f"{slow}.json", KEY, mode="inline")
        assert tuner.choose("winograd", "s", counted, guess=slow) == fast
        assert counted.calls[slow] >= 2 and counted.calls[fast] >= 2  # warm-up + at least one timed round
        assert tuner.measured[-1].seconds[slow] > tuner.measured[-1].seconds[fast]


def test_off_returns_the_guess_untimed_and_writes_nothing(tmp_path, monkeypatch):
    path = tmp_path / "autotune.json"
    monkeypatch.setenv(autotune.ENV, "0")
    counted = Counted("a", "b")
    tuner = Tuner(path, KEY, timer=fake_timer({"a": 1.0, "b": 2.0}))
    assert tuner.mode == "off"
    assert tuner.choose("x", "s", counted, "b") == "b"
    assert counted.total == 0 and not path.exists()


def test_forced_choices_win_over_the_cache_and_the_guess(tmp_path, monkeypatch):
    tuner = Tuner(tmp_path / "a.json", KEY, timer=fake_timer({"a": 1.0, "b": 2.0}), mode="inline")
    counted = Counted("a", "b")
    monkeypatch.setenv(autotune.FORCE_ENV, "x=b, bad-part ,y=a")
    assert tuner.choose("x", "s", counted, "a") == "b"
    assert tuner.choose("z", "s", counted, "b") == "a"  # not forced: measured
    assert counted.total == 2


def test_background_mode_returns_the_guess_and_measures_when_no_render_runs(tmp_path, monkeypatch):
    monkeypatch.setattr(autotune, "IDLE_S", 0.2)
    tuner = Tuner(tmp_path / "a.json", KEY, timer=fake_timer({"a": 1.0, "b": 2.0}), mode="background")
    counted = Counted("a", "b")
    with tuner.rendering():
        assert tuner.choose("x", "s", counted, "b") == "b"  # the guess, at once
        assert tuner.choose("x", "s", counted, "b") == "b"  # queued once
        time.sleep(0.4)
        assert counted.total == 0  # never while a render runs
    assert tuner.wait_idle(10)
    assert counted.total == 2
    assert tuner.choose("x", "s", counted, "b") == "a"
    assert json.loads((tmp_path / "a.json").read_text())["choices"]["x"]["s"]["winner"] == "a"


def test_a_background_timing_a_render_overlapped_is_redone(tmp_path, monkeypatch):
    monkeypatch.setattr(autotune, "IDLE_S", 0.05)
    tuner = Tuner(tmp_path / "a.json", KEY, mode="background")
    rounds = []

    def timer(candidates):
        rounds.append(1)
        if len(rounds) == 1:
            with tuner.rendering():  # a render starts while the first timing runs
                pass
        return {"a": 1.0, "b": 2.0}

    tuner.timer = timer
    tuner.choose("x", "s", Counted("a", "b"), "b")
    assert tuner.wait_idle(10)
    assert len(rounds) == 2 and tuner.lookup("x", "s") == "a"


def test_machine_key_names_the_cpu_cores_threads_and_torch():
    key = autotune.machine_key()
    assert key["torch"] == torch.__version__ and key["threads"] == torch.get_num_threads()
    assert key["cores"] == os.cpu_count() and key["cpu"]


def test_reset_forgets_every_choice(tmp_path):
    tuner = Tuner(tmp_path / "a.json", KEY, timer=fake_timer({"a": 1.0, "b": 2.0}), mode="inline")
    tuner.choose("x", "s", Counted("a", "b"), "b")
    assert tuner.reset() and not (tmp_path / "a.json").exists()
    assert tuner.lookup("x", "s") is None


# ---------------------------------------------------------------- the choice points


@pytest.fixture
def process_tuner(tmp_path, monkeypatch):
    """The process's tuner replaced by one with fixed times (set per test) and its own file."""

    made = []

    def make(seconds: dict[str, float]) -> Tuner:
        made.append(seconds)
        tuner = Tuner(tmp_path / f"autotune{len(made)}.json", KEY, timer=fake_timer(seconds), mode="inline")
        monkeypatch.setattr(autotune, "_tuner", tuner)
        return tuner

    return make


def test_winograd_runs_where_it_measured_faster_and_not_where_it_measured_slower(process_tuner):
    from regionpaint.engines.acceleration.winograd import WinogradConvs, worth_winograd

    conv = torch.nn.Conv2d(8, 8, 3, padding=1)
    big = torch.nn.Conv2d(512, 512, 3, padding=1)  # weights made outside inference mode, as an engine's are
    x = torch.randn(1, 8, 6, 10)
    assert not worth_winograd(conv, x)  # the rule's guess: direct (8 channels)
    with torch.inference_mode():
        expected = conv(x)
        tuner = process_tuner({"direct": 2.0, "winograd": 1.0})
        runner = WinogradConvs()
        assert torch.allclose(runner(conv, x), expected, atol=1e-5)  # float32, sums in another order
        assert runner.calls == 1
        runner(conv, x)
        assert runner.calls == 2 and len(tuner.measured) == 1  # one measurement per shape
        assert list(tuner.entries()["winograd"]) == ["8>8 1x6x10 pad1 float32 nchw"]

        process_tuner({"direct": 1.0, "winograd": 2.0})
        small_map = torch.randn(1, 512, 8, 16)
        assert worth_winograd(big, small_map)  # the rule's guess: Winograd
        runner = WinogradConvs()
        runner(big, small_map)
        assert runner.calls == 0


def test_winograd_timing_candidates_compute_the_convolution_both_ways():
    from regionpaint.engines.acceleration.winograd import timing_candidates

    conv = torch.nn.Conv2d(4, 6, 3, padding=1)
    math = autotune.TorchMath("cpu")
    for layout in (torch.contiguous_format, torch.channels_last):
        runs = timing_candidates(conv, torch.Size((1, 4, 8, 8)), torch.float32, layout, torch.float32, math)
        direct, winograd = runs["direct"](), runs["winograd"]()
        assert direct.shape == winograd.shape == (1, 6, 8, 8)


def test_the_modulation_choice_follows_the_measurement(process_tuner):
    from regionpaint.engines.acceleration import region_patterns

    calls = []
    pattern, plain = (lambda: calls.append("pattern")), (lambda: calls.append("plain"))
    cpu = torch.device("cpu")
    process_tuner({"pattern": 1.0, "plain": 2.0})
    assert region_patterns.patterns_chosen("spade_modulation", "35>32>64 (1, 35, 8, 16)", 0.9, pattern, plain, cpu)
    process_tuner({"pattern": 2.0, "plain": 1.0})
    assert not region_patterns.patterns_chosen("spade_modulation", "35>32>64 (1, 35, 8, 16)", 0.1, pattern, plain, cpu)
    assert calls == ["pattern", "plain", "pattern", "plain"]  # timed once each, never run outside the timing


def test_spade_modulation_measures_on_the_real_layer_and_takes_the_winner(process_tuner):
    from regionpaint.engines.layers.spade_norm import SPADE

    torch.manual_seed(0)
    layer = SPADE("spadeinstance3x3", 16, 5, hidden=8).eval()
    seg = torch.nn.functional.one_hot(torch.randint(0, 5, (1, 12, 20)), 5).permute(0, 3, 1, 2).float()
    with torch.inference_mode():
        plain = layer._plain_modulation(seg)
        for winner in ("pattern", "plain"):
            loser = "plain" if winner == "pattern" else "pattern"
            tuner = process_tuner({winner: 1.0, loser: 2.0})
            gamma, beta = layer.modulation(seg, (12, 20))
            ((name, shapes),) = tuner.entries().items()
            assert name == "spade_modulation" and next(iter(shapes.values()))["winner"] == winner
            # float32 both ways, sums in another order (~1e-6 relative): 1e-5 is 10x that.
            assert torch.allclose(gamma, plain[0], atol=1e-5) and torch.allclose(beta, plain[1], atol=1e-5)


# ---------------------------------------------------------------- parity, each choice forced

ALGORITHMS = (
    "winograd=winograd,spade_modulation=pattern,sean_style_modulation=pattern,onehot_head=lookup,tap_matmul=matmul"
)
PLAIN = "winograd=direct,spade_modulation=plain,sean_style_modulation=plain,onehot_head=conv,tap_matmul=direct"


@pytest.mark.parametrize("name", ["faces.rpaint", "streets.rpaint", "streets_pix2pixhd.rpaint"])
def test_exact_renders_of_the_demo_models_stay_within_parity_whichever_way_each_choice_goes(name, monkeypatch):
    """Every choice forced to regionpaint's algorithm, then to the official computation (direct convolutions,
    plain modulation convolutions, the one-hot head as a convolution): the exact renders agree."""
    from bench.fast_quality import DEMO
    from regionpaint.app.model.project import open_project
    from regionpaint.app.render.from_document import job_from_document
    from regionpaint.app.render.service import RenderService, mean_style_sources
    from regionpaint.engines.base import MEAN_STYLE

    project = DEMO / name
    if not project.is_file():
        pytest.skip(f"{project} is not built (python -m tools.demo.build)")
    job = job_from_document(open_project(project))
    service = RenderService()
    engine_class = service.engine_class(job.engine_id, job.checkpoint)
    capabilities = service.capabilities(engine_class.id, job.checkpoint)
    request = dataclasses.replace(service.fit(job, engine_class, capabilities), fast=False)
    engine, _ = service.load(engine_class, job.checkpoint, "cpu")
    if MEAN_STYLE in capabilities:
        engine.set_mean_styles(mean_style_sources(job, request))
    try:
        renders = {}
        for forced in (ALGORITHMS, PLAIN):
            monkeypatch.setenv(autotune.FORCE_ENV, forced)
            if hasattr(engine, "_label_cache"):
                engine._label_cache.reset()  # SPADE keeps the last output per label
            renders[forced] = engine.generate(request).tensor
        # float32 both ways, the same sums in other orders: the Winograd forcing of test_render_convs measured
        # up to 4.1e-6 on these models; 1e-4 is the parity bound against the official code.
        difference = (renders[ALGORITHMS] - renders[PLAIN]).abs().max().item()
        assert difference < 1e-4
        assert np.isfinite(renders[PLAIN].numpy()).all()
    finally:
        service.release()


def test_an_editor_render_takes_the_guesses_and_the_timings_follow_in_the_background(process_tuner, monkeypatch):
    """The editor's render thread (render_steps) never times a kernel: it renders with the first guesses, and
    the queued timings run on the tuner's thread once no render is running."""
    from bench.fast_quality import DEMO
    from regionpaint.app.model.project import open_project
    from regionpaint.app.qt.workers.render_worker import EditorRenderJob, render_steps
    from regionpaint.app.render.from_document import job_from_document
    from regionpaint.app.render.service import RenderService

    project = DEMO / "streets.rpaint"
    if not project.is_file():
        pytest.skip(f"{project} is not built (python -m tools.demo.build)")
    monkeypatch.setattr(autotune, "IDLE_S", 0.3)
    tuner = process_tuner({"direct": 1.0, "winograd": 2.0, "pattern": 1.0, "plain": 2.0})
    tuner.mode = "background"
    service = RenderService()
    try:
        steps = render_steps(
            EditorRenderJob(1, 1, dataclasses.replace(job_from_document(open_project(project)))), service
        )
        next(steps)  # the checkpoint's facts
        with pytest.raises(StopIteration) as finished:
            next(steps)
        outcome = finished.value.value
        assert outcome.ok, outcome.error
        assert tuner.measured == [] and tuner.pending() > 0  # rendered with the guesses, timings queued
        assert tuner.wait_idle(120)
        assert {m.name for m in tuner.measured} >= {"winograd", "spade_modulation"}
    finally:
        service.release()


def test_a_compiled_graph_that_measures_slower_than_eager_is_dropped_and_not_compiled_again(tmp_path, monkeypatch):
    from regionpaint.engines.acceleration import compiled
    from regionpaint.engines.acceleration.fast import fast_inference

    compiles = []

    def slow_compile(fn, **options):  # stands in for torch.compile: the same forward, 20 ms slower a call
        compiles.append(fn)

        def run(*args):
            time.sleep(0.02)
            return fn(*args)

        return run

    monkeypatch.setattr(compiled.torch, "compile", slow_compile)
    tuner = Tuner(tmp_path / "autotune.json", KEY, mode="background")  # as in the editor: timed on its thread
    monkeypatch.setattr(autotune, "_tuner", tuner)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1)).eval()
    x = torch.randn(1, 3, 8, 8)
    compiler = compiled.BackgroundCompiler(net, lambda: fast_inference("cpu"), "test")
    assert compiler.run(compiled.shape_key(x), (x,)) is None
    compiler.wait()
    assert compiler.status(compiled.shape_key(x)) == compiled.SLOWER
    assert compiler.run(compiled.shape_key(x), (x,)) is None  # renders stay eager
    (measurement,) = tuner.measured
    assert measurement.name == "compile" and measurement.winner == "eager"

    again = compiled.BackgroundCompiler(net, lambda: fast_inference("cpu"), "test")  # e.g. the next session
    assert again.run(compiled.shape_key(x), (x,)) is None
    assert again.status(compiled.shape_key(x)) == compiled.SLOWER and len(compiles) == 1  # not compiled again


def test_the_pix2pixhd_head_follows_its_measurement(tmp_path, process_tuner):
    from regionpaint.engines.base import RenderRequest
    from tests.test_render_convs import _tiny_global

    engine = _tiny_global(tmp_path)
    label = np.repeat(np.repeat(np.random.RandomState(0).randint(0, 5, size=(4, 6)), 8, 0), 8, 1).astype(np.uint8)
    request = RenderRequest(label=label, instance=label.astype(np.int32))
    with torch.inference_mode():
        x, _info, codes = engine._network_input(request)
        process_tuner({"lookup": 1.0, "conv": 2.0})
        head = engine._input_head(codes, x)
        expected = engine._require().generator.model[:2](x)  # reflection pad + the convolution
        # float32 both, the same 49 x 6 products summed in another order (~1e-7 relative): 1e-5.
        assert head is not None and torch.allclose(head, expected, atol=1e-5)
        tuner = process_tuner({"lookup": 2.0, "conv": 1.0})
        assert engine._input_head(codes, x) is None  # the generator runs its convolution
        assert [m.name for m in tuner.measured] == ["onehot_head"]


def test_two_processes_measuring_at_once_keep_each_others_choices(tmp_path):
    path = tmp_path / "autotune.json"
    first = Tuner(path, KEY, timer=fake_timer({"a": 1.0, "b": 2.0}), mode="inline")
    second = Tuner(path, KEY, timer=fake_timer({"a": 2.0, "b": 1.0}), mode="inline")
    first.lookup("x", "s1"), second.lookup("x", "s2")  # both have read the (empty) file
    first.choose("x", "s1", Counted("a", "b"), "b")
    second.choose("x", "s2", Counted("a", "b"), "a")
    choices = json.loads(path.read_text())["choices"]["x"]
    assert {shape: entry["winner"] for shape, entry in choices.items()} == {"s1": "a", "s2": "b"}


# ---------------------------------------------------------------- regionpaint tune


def _tune(tmp_path, *args: str):
    import subprocess
    import sys

    env = {**os.environ, "REGIONPAINT_CACHE_DIR": str(tmp_path / "cache")}  # REGIONPAINT_AUTOTUNE=0 stays set
    return subprocess.run(
        [sys.executable, "-m", "regionpaint", "tune", *args], capture_output=True, text=True, env=env, timeout=600
    )


def test_tune_measures_a_document_s_choices_keeps_them_and_reset_forgets_them(tmp_path):
    from bench.fast_quality import DEMO

    project = DEMO / "streets.rpaint"
    if not project.is_file():
        pytest.skip(f"{project} is not built (python -m tools.demo.build)")
    done = _tune(tmp_path, "--project", str(project), "--modes", "exact", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    names = {c["choice"] for c in report["choices"]}
    assert {"winograd", "spade_modulation"} <= names  # measured although the suite's REGIONPAINT_AUTOTUNE is 0
    assert all(c["winner"] in c["seconds"] and c["guess"] in c["seconds"] for c in report["choices"])
    cache = tmp_path / "cache" / autotune.CACHE_FILE
    kept = json.loads(cache.read_text())
    assert kept["machine"] == report["machine"]
    assert sum(len(shapes) for shapes in kept["choices"].values()) == len(report["choices"])

    done = _tune(tmp_path, "--reset")
    assert done.returncode == 0 and "forgot" in done.stdout and not cache.exists()


def test_tune_says_what_is_missing_in_one_line(tmp_path):
    done = _tune(tmp_path, "--label", "nothing.png")
    assert done.returncode == 2
    assert done.stderr.strip() == "regionpaint: error: --label goes with --checkpoint"
    done = _tune(tmp_path, "--modes", "slow")
    assert done.returncode == 2 and "--modes" in done.stderr and "Traceback" not in done.stderr
