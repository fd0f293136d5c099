"""A long editing session: 1,000 scripted edits, each rendered, in the real editor (offscreen).

    python -m bench.long_session                    # 1000 edits on the SPADE street demo, table of samples
    python -m bench.long_session --edits 200 --json

The editor opens the bundled street demo (SPADE, its small demo size) with autosave and the edit journal on
(in a scratch folder), then runs strokes, fills, style changes and undo/redo through the same calls the
tools make, waiting for each render. Every ``--every`` edits it records the process's RSS and the undo
history's memory; the last row gives the slopes (least squares over the second half, after warm-up) in
kB per edit. Bounded means the RSS slope is near zero and the history grows only by what the edits
changed, and the count of live render jobs (each holds copies of the label maps, photo and style images)
stays at one or two however many renders ran.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

NAME = "long_session"
DESCRIPTION = "RSS and undo-history memory over a long scripted editing session with renders"
REPO = Path(__file__).resolve().parents[1]
STREETS = REPO / "assets" / "demo" / "streets.rpaint"  # SPADE at the demo's 256x128: ~30 ms a render on CPU


def rss_bytes() -> int:
    """The process's resident memory now (not the peak)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def slope_kb_per_edit(points: list[tuple[int, int]]) -> float:
    """Least-squares slope of bytes against edit number over the second half, in kB per edit."""
    half = points[len(points) // 2 :]
    if len(half) < 2:
        return 0.0
    x = np.array([p[0] for p in half], float)
    y = np.array([p[1] for p in half], float)
    return float(np.polyfit(x, y, 1)[0] / 1024)


def live_render_jobs() -> int:
    """Render jobs still alive (after a collection): the editor keeps the last shown one, not one per render."""
    import gc

    from regionpaint.app.qt.workers.render_worker import EditorRenderJob

    gc.collect()
    return sum(1 for obj in gc.get_objects() if type(obj) is EditorRenderJob)


def scripted_edit(window, number: int, rng: np.random.Generator) -> None:
    """Edit ``number`` of the script: mostly strokes, some fills, style changes, undo and redo."""
    from regionpaint.app.model import edits

    state = window.state
    doc = state.document
    kind = number % 10
    height, width = doc.label.shape
    classes = doc.present_class_ids()
    if kind == 7 and doc.style_sources:
        names = list(doc.style_sources)
        state.label_edit(edits.assign_style, [(names[number % len(names)], 1.0)], [int(rng.choice(classes))])
    elif kind == 7:
        state.edit(edits.set_engine_settings, seed=number)  # a settings edit: a new seed
    elif kind == 8 and doc.history.can_undo:
        state.undo()
    elif kind == 9 and doc.history.can_redo:
        state.redo()
    elif kind == 6:
        x, y = int(rng.integers(0, width - 8)), int(rng.integers(0, height - 8))
        state.label_edit(edits.fill_rectangle, (x, y), (x + 6, y + 6), int(rng.choice(classes)))
    else:
        points = np.cumsum(rng.normal(0, 3, (12, 2)), axis=0) + [width / 2, height / 2]
        label = int(rng.choice(classes))
        with doc.history.group("Brush"):
            for start, end in zip(points[:-1], points[1:], strict=True):  # one dab per mouse move
                state.label_edit(edits.paint_stroke, [tuple(start), tuple(end)], label, 2.0)


def add_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--edits", type=int, default=1000, help="scripted edits (each rendered)")
    group.add_argument("--every", type=int, default=50, help="record memory every N edits")
    group.add_argument("--size", default="64x32", help="output size WxH (small keeps 1,000 CPU renders short)")


def run(args: argparse.Namespace) -> list[dict]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    from regionpaint.app.model.project import open_project
    from regionpaint.app.qt.main_window import MainWindow
    from regionpaint.app.qt.settings import EditorSettings

    rows: list[dict] = []
    rss: list[tuple[int, int]] = []
    history: list[tuple[int, int]] = []
    with tempfile.TemporaryDirectory(prefix="regionpaint-long-session-") as scratch:
        settings = EditorSettings(QSettings(str(Path(scratch) / "settings.ini"), QSettings.Format.IniFormat))
        from regionpaint.app.model import edits
        from regionpaint.app.render_spec import parse_size

        doc = open_project(STREETS)
        edits.set_engine_settings(doc, output_size=parse_size(args.size), device="cpu")
        doc.history.clear()
        window = MainWindow(doc, settings=settings, data_folder=Path(scratch), remember_window=False)
        window.ask_unsaved = lambda *_: "discard"
        window.show()
        controller = window.render_controller
        controller.auto_render = False
        rng = np.random.default_rng(0)
        renders, start = 0, time.perf_counter()

        def render() -> None:
            nonlocal renders
            controller.render_now()
            while controller.busy or controller.scheduled:
                app.processEvents()
                time.sleep(0.001)
            renders += int(bool(controller.last_outcome and controller.last_outcome.ok))

        render()  # loads the model: the baseline is taken after it
        for number in range(args.edits + 1):
            if number % args.every == 0:
                app.processEvents()
                point_rss, point_history = rss_bytes(), window.document.history.memory_bytes()
                rss.append((number, point_rss))
                history.append((number, point_history))
                rows.append(
                    {
                        "edits": number,
                        "RSS MiB": round(point_rss / 2**20, 1),
                        "history kB": round(point_history / 1024, 1),
                        "undo steps": len(window.document.history.entries),
                        "journal kB": round(window.autosave.journal.size_bytes() / 1024, 1) if window.autosave else 0,
                        "render jobs": live_render_jobs(),
                        "seconds": round(time.perf_counter() - start, 1),
                    }
                )
            if number == args.edits:
                break
            scripted_edit(window, number, rng)
            render()
        window.close()
    rows.append(
        {
            "edits": "slope",
            "RSS MiB": f"{slope_kb_per_edit(rss):+.2f} kB/edit",
            "history kB": f"{slope_kb_per_edit(history):+.2f} kB/edit",
            "undo steps": "",
            "journal kB": "",
            "render jobs": "",
            "seconds": f"{renders} renders",
        }
    )
    return rows


def main(argv: list[str] | None = None) -> int:
    from bench.__main__ import standalone_main

    return standalone_main(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())
