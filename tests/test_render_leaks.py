"""A long editing session keeps no render's inputs alive: memory stays flat over hundreds of edits and renders.

Every render job holds copies of the document's label maps, photo and style images (~0.65 MB on the street
demo). The editor used to keep every job alive for the whole session (PySide kept each started QRunnable, and
with it the job its error handler captured): RSS grew by ~674 kB per edit (``python -m bench.long_session``).
"""

from __future__ import annotations

import gc

import numpy as np
import pytest

from bench.long_session import STREETS, rss_bytes, scripted_edit
from regionpaint.app.model import edits
from regionpaint.app.model.project import open_project
from regionpaint.app.qt.workers.render_worker import EditorRenderJob
from regionpaint.app.render_spec import parse_size
from regionpaint.engines.acceleration.memory import release_free_memory
from tests.qt_support import make_window, no_leaked_threads  # noqa: F401

EDITS = 240
WARM_UP_EDITS = 40  # the first renders fill caches (the model, torch's allocator, Qt's pixmaps): not a leak
SAMPLE_EVERY = 20
# At most the last shown render's job (EditorState keeps the last outcome) plus one running and one pending:
# the count does not grow with the number of renders. It was one per render.
MAX_LIVE_JOBS = 3
# RSS slope over the edits after the warm-up. Measured: +674 kB per edit with the leak, +10-25 kB without it
# (the undo history grows by ~0.4 kB per edit; the rest is allocator noise). 200 kB is far below the leak
# and far above the noise of a few samples.
MAX_KB_PER_EDIT = 200


def live(kind: type) -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if type(obj) is kind)


@pytest.mark.slow
def test_hundreds_of_edits_and_renders_keep_no_render_inputs_alive(qtbot, tmp_path):
    if not STREETS.is_file():
        pytest.skip(f"{STREETS} is not built (python -m tools.demo.build)")
    doc = open_project(STREETS)
    edits.set_engine_settings(doc, output_size=parse_size("64x32"), device="cpu")  # ~30 ms a render on a CPU
    doc.history.clear()
    window = make_window(qtbot, tmp_path, doc)
    controller = window.render_controller
    controller.auto_render = False
    controller.fast_preview = False  # one render per edit
    rng = np.random.default_rng(0)

    def render() -> None:
        with qtbot.waitSignal(controller.idle, timeout=60_000):
            controller.render_now()
        assert controller.last_outcome.ok, controller.last_outcome.error

    render()
    samples: list[tuple[int, int]] = []
    for number in range(EDITS + 1):
        if number >= WARM_UP_EDITS and number % SAMPLE_EVERY == 0:
            gc.collect()
            # The render worker keeps its working memory (glibc never trims the heap: memory.keep_working_memory),
            # so RSS also counts freed blocks kept for reuse, and how many depends on what this process ran before
            # (a full suite run saw 272 kB per edit where this test alone sees 21). Handing the free pages back
            # before each sample measures the memory in use, which is what a leak grows.
            release_free_memory()
            samples.append((number, rss_bytes()))
        if number == EDITS:
            break
        scripted_edit(window, number, rng)
        render()
    jobs = live(EditorRenderJob)
    assert jobs <= MAX_LIVE_JOBS, f"{jobs} render jobs alive after {EDITS} renders"
    x, y = np.array(samples, float).T
    growth = np.polyfit(x, y, 1)[0] / 1024  # least squares over every sample after the warm-up, kB per edit
    assert growth < MAX_KB_PER_EDIT, f"RSS grew by {growth:.0f} kB per edit (samples {samples})"
