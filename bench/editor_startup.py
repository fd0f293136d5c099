"""Editor start-up: launch to window, launch to the demo's first render, event-loop lateness while rendering.

    python -m bench --only editor_startup                                  # this tree
    python -m bench --only editor_startup --startup-baseline 5c5becf       # and an older commit, side by side

Each run launches the real editor (``python -m regionpaint gui --demo``, ``QT_QPA_PLATFORM=offscreen``, a scratch data
folder) in a child process with ``REGIONPAINT_STARTUP_PROBE`` set (:mod:`regionpaint.app.qt.workers.startup_probe`) and
reads the times it writes, relative to the moment this process launched it:

* ``startup_s``: the window's first paint; ``first_render_s``: the first rendered pixels on the canvas;
  ``first_exact_s``: the exact render (the one that stays); ``torch_s`` / ``loaded_s``: the warm-up's torch
  import and checkpoint load, where the tree has a warm-up;
* then ``--startup-load-s`` seconds of label dabs through the editor's brush edit (renders back to back)
  while a 10 ms timer on the UI thread records how late each tick fires: p50 / p99 / max lateness, and the
  renders that finished meanwhile;
* slider drag -> result on screen (``slider_*``, :mod:`bench.slider_drag`): the face demo's A↔B slider dragged
  through 43 values in another launch, and when its values reach the screen.

A baseline tree without the probe (older commits) gets the same probe from this tree's file, attached at the
same moment (just before the window shows) by a small wrapper. Runs of the trees alternate, so background load
falls on both alike; each figure is the median over ``--startup-runs`` runs (lateness: all ticks pooled).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import slider_drag

NAME = "editor_startup"
DESCRIPTION = "editor launch to window, to the demo's first render, and UI event-loop lateness while rendering"
REPO = Path(__file__).resolve().parents[1]
# Where a tree keeps its probe (it moved into app/qt/workers); a tree with neither gets this tree's, attached.
PROBE_PLACES = (Path("app/qt/workers/startup_probe.py"), Path("app/qt/startup_probe.py"))
PROBE_FILE = REPO / PROBE_PLACES[0]
RUN_TIMEOUT_S = 240

# For a tree without a startup probe of its own: this tree's probe, attached just before the window shows.
ATTACH_PROBE = r"""
import importlib.util, sys
spec = importlib.util.spec_from_file_location("_regionpaint_startup_probe", sys.argv[1])
probe = importlib.util.module_from_spec(spec)
spec.loader.exec_module(probe)
import regionpaint.app.qt.main_window as main_window
show = main_window.MainWindow.show
def show_with_probe(self):
    if not hasattr(self, "_startup_probe"):
        self._startup_probe = probe.attach_from_env(self)
    show(self)
main_window.MainWindow.show = show_with_probe
from regionpaint.app.cli import main
sys.exit(main(["gui", *sys.argv[2:]]))
"""


def add_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--startup-runs", type=int, default=3, help="editor launches per tree (default 3)")
    group.add_argument(
        "--startup-load-s", type=float, default=8.0, help="seconds of continuous re-rendering per launch (default 8)"
    )
    group.add_argument(
        "--startup-baseline",
        metavar="DIR_OR_COMMIT",
        help="also measure this tree (a folder, or a commit of this repository), alternating with this one",
    )
    group.add_argument("--startup-project", metavar="FILE.rpaint", help="open this document instead of the demo")


def launch(tree: Path, scratch: Path, load_s: float, project: str | None = None) -> dict[str, Any]:
    """One editor launch on the demo (or ``project``); the probe's report with times relative to the launch."""
    out = scratch / "probe.json"
    out.unlink(missing_ok=True)
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHONPATH": str(tree),
        "REGIONPAINT_DATA_DIR": str(scratch / "data"),
        "REGIONPAINT_STARTUP_PROBE": str(out),
        "REGIONPAINT_STARTUP_PROBE_LOAD_S": str(load_s),
    }
    opening = ["--open", str(Path(project).resolve())] if project else ["--demo"]
    if any((tree / place).is_file() for place in PROBE_PLACES):
        command = [sys.executable, "-m", "regionpaint", "gui", *opening]
    else:
        command = [sys.executable, "-c", ATTACH_PROBE, str(PROBE_FILE), *opening]
    launched = time.time()
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    if not out.is_file():
        raise RuntimeError(f"{tree}: the editor wrote no probe report (exit {done.returncode}): {done.stderr[-800:]}")
    report = json.loads(out.read_text(encoding="utf-8"))
    report["since_launch"] = {key: value - launched for key, value in report["times"].items()}
    return report


def summarise(label: str, reports: list[dict[str, Any]]) -> dict[str, Any]:
    def median(key: str) -> float | None:
        values = [r["since_launch"][key] for r in reports if key in r["since_launch"]]
        return round(statistics.median(values), 3) if values else None

    ticks = sorted(value for r in reports for value in r["lateness_ms"])

    def quantile(q: float) -> float | None:
        return round(ticks[min(len(ticks) - 1, int(q * len(ticks)))], 1) if ticks else None

    return {
        "tree": label,
        "runs": len(reports),
        "startup_s": median("window_painted"),
        "window_shown_s": median("window_shown"),
        "torch_s": median("torch_imported"),
        "loaded_s": median("checkpoint_loaded"),
        "first_render_s": median("first_render"),
        "first_exact_s": median("first_exact"),
        "event_loop_p50_ms": quantile(0.5),
        "event_loop_p99_ms": quantile(0.99),
        "event_loop_max_ms": round(ticks[-1], 1) if ticks else None,
        "ticks": len(ticks),
        "renders_during_load": sum(r["renders_during_load"] for r in reports),
    }


def baseline_tree(spec: str, scratch: Path) -> Path:
    """A folder as it is, or a commit exported with ``git archive`` (sharing this tree's virtual environment)."""
    folder = Path(spec)
    if folder.is_dir():
        return folder.resolve()
    tree = scratch / "baseline"
    tree.mkdir()
    archive = subprocess.run(["git", "archive", spec], cwd=REPO, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def run(args: argparse.Namespace) -> list[dict]:
    runs = max(1, int(getattr(args, "startup_runs", 3)))
    load_s = float(getattr(args, "startup_load_s", 8.0))
    baseline = getattr(args, "startup_baseline", None)
    project = getattr(args, "startup_project", None)
    with tempfile.TemporaryDirectory(prefix="regionpaint-startup-") as folder:
        scratch = Path(folder)
        trees = {"this tree": REPO}
        if baseline:
            trees = {f"baseline {baseline}": baseline_tree(baseline, scratch), **trees}
        reports: dict[str, list[dict]] = {label: [] for label in trees}
        drags: dict[str, list[dict]] = {label: [] for label in trees}  # bench/slider_drag.py
        for _ in range(runs):  # alternate, so background load falls on every tree alike
            for label, tree in trees.items():
                reports[label].append(launch(tree, scratch, load_s, project))
                drags[label].append(slider_drag.measure(tree, scratch))
    rows = [{**summarise(label, found), **slider_drag.summarise(drags[label])} for label, found in reports.items()]
    current = rows[-1]
    args._startup = {
        "startup_s": current["startup_s"],
        "first_render_s": current["first_render_s"],
        "event_loop_p99_ms": current["event_loop_p99_ms"],
        "rows": rows,
    }
    return rows


if __name__ == "__main__":
    from bench.__main__ import standalone_main

    sys.exit(standalone_main(sys.modules[__name__]))
