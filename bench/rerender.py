"""SEAN re-renders as the editor makes them: a style slider move and a brush stroke, fast, exact, and alternating.

The editor renders a fast preview and then the exact render of the same edit, so the two modes alternate:
``fast after exact`` times a fast preview right after an exact render and ``exact follow-up`` the exact render
of the edit just previewed fast (the label context must serve both modes); ``fast only`` / ``exact only`` repeat
one mode. Each round makes a new slider position and a new stroke,
so nothing is served from the output: the style-only render must skip the label work, the label edit the
style work.

Old vs new side by side: ``--rerender-old DIR`` (a worktree of the old commit) runs the same rounds in a second
child process on DIR's code, alternating round by round with this tree's child, so machine load affects both
alike. Row fields: scenario, order, mode, tree (new/old), median_s and p90_s over the rounds, cpu_s (median CPU
seconds of the process). On a shared machine pass ``--rerender-threads 1``: with two threads every op waits for
its other thread's time slice and spins meanwhile, which inflates wall and CPU seconds alike.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

NAME = "rerender"
DESCRIPTION = "SEAN 256x256 re-renders: style-only and label edit, fast/exact and alternating (old vs new)"
HERE = Path(__file__).resolve()
# How a timed render follows the one before it: (the render before it: mode and whether it is the same edit,
# mode timed). "exact follow-up" is the editor's exact render of the edit it just previewed fast.
ORDERS = {
    "fast only": ("fast", False, "fast"),
    "exact only": ("exact", False, "exact"),
    "fast after exact": ("exact", False, "fast"),
    "exact follow-up": ("fast", True, "exact"),
}
STEPS = tuple((scenario, order) for scenario in ("style only", "label edit") for order in ORDERS)


def add_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--rerender-rounds", type=int, default=5, help="timed rounds (each a new slider and stroke)")
    group.add_argument("--rerender-old", default=None, metavar="DIR", help="a checkout of the old code to compare")
    group.add_argument(
        "--rerender-threads", type=int, default=0, help="torch threads per child (0: torch's; 1 on a shared machine)"
    )


class Session:
    """One SEAN engine on the engine_speed inputs; each step renders a new edit and times it."""

    def __init__(self, folder: Path) -> None:
        from bench.engine_speed import Child

        self.child = Child("sean", folder, 1)
        self.label = self.child.inputs["label"]
        self.edits = 0

    def _painted(self) -> Any:
        self.edits += 1
        painted = self.label.copy()
        y, x = 60 + (7 * self.edits) % 140, 60 + (11 * self.edits) % 140
        painted[y : y + 24, x : x + 24] = 13  # a hair stroke somewhere new
        return painted

    def _render(self, mode: str) -> None:
        self.child.engine.generate(self.child.request(0, mode == "fast", label=self.current, weight=self.weight))

    def step(self, scenario: str, order: str) -> dict[str, float]:
        """One new edit of ``scenario`` rendered as ``order`` says (:data:`ORDERS`); its timed render's seconds."""
        before, same_edit, timed = ORDERS[order]
        if not same_edit:
            self._render(before)  # the previous edit, in the mode before
        self.edits += 1
        if scenario == "label edit":
            self.current = self._painted()
        else:
            self.weight = 0.1 + (0.37 * self.edits) % 0.8
        if same_edit:
            self._render(before)  # the preview of this edit
        start, cpu = time.perf_counter(), time.process_time()
        self._render(timed)
        return {"wall": time.perf_counter() - start, "cpu": time.process_time() - cpu}

    def start(self) -> None:
        self.current, self.weight = self.label, 0.0
        for fast in (True, False):  # both modes warmed up, style codes encoded
            self.child.engine.generate(self.child.request(0, fast, label=self.current))


def child_main() -> int:
    """Serve rounds: each line on stdin runs every step once and prints one JSON line of their times."""
    from regionpaint.engines.acceleration.memory import keep_working_memory

    keep_working_memory()
    import torch

    threads = int(os.environ.get("REGIONPAINT_BENCH_THREADS", "0"))
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    session = Session(Path(os.environ["REGIONPAINT_BENCH_CHECKPOINT"]))
    session.start()
    for _ in sys.stdin:
        print(json.dumps([session.step(*step) for step in STEPS]), flush=True)
    return 0


def _start_child(tree: Path, folder: Path, threads: int) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(tree), REGIONPAINT_BENCH_CHECKPOINT=str(folder))
    env["REGIONPAINT_BENCH_THREADS"] = str(threads)
    command = [sys.executable, str(HERE), "--child"]  # this file, on ``tree``'s regionpaint and bench
    return subprocess.Popen(command, cwd=tree, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.9 * len(ordered)) - 1)]


def run(args: argparse.Namespace) -> list[dict]:
    from bench.engine_speed import CASES
    from bench.render_speed import CASES as SPEED_CASES
    from bench.render_speed import write_checkpoint

    rounds = getattr(args, "rerender_rounds", 5)
    trees = {"new": HERE.parents[1]}
    if getattr(args, "rerender_old", None):
        trees["old"] = Path(args.rerender_old).resolve()
    times: dict[str, list[list[dict[str, float]]]] = {name: [] for name in trees}
    with tempfile.TemporaryDirectory(prefix="regionpaint-rerender-") as tmp:
        folder = write_checkpoint(SPEED_CASES[CASES["sean"][0]], Path(tmp) / "sean")
        if folder is None:
            return [{"scenario": "spec missing"}]
        threads = getattr(args, "rerender_threads", 0)
        children = {name: _start_child(tree, folder, threads) for name, tree in trees.items()}
        try:
            for round_ in range(rounds + 1):  # round 0 warms up
                for name, child in children.items():
                    child.stdin.write("round\n")
                    child.stdin.flush()
                    line = child.stdout.readline()
                    if not line:
                        raise RuntimeError(f"rerender child ({name}) ended; see its stderr above")
                    if round_:
                        times[name].append(json.loads(line))
        finally:
            for child in children.values():
                child.stdin.close()
                child.wait()
    rows = []
    for index, (scenario, order) in enumerate(STEPS):
        for name in trees:
            walls = [r[index]["wall"] for r in times[name]]
            cpus = [r[index]["cpu"] for r in times[name]]
            rows.append({"scenario": scenario, "order": order, "mode": ORDERS[order][2], "tree": name,
                         "median_s": statistics.median(walls), "p90_s": _p90(walls),
                         "cpu_s": statistics.median(cpus)})  # fmt: skip
    return rows


if __name__ == "__main__":
    if sys.argv[1:] == ["--child"]:
        sys.exit(child_main())
    from bench.__main__ import standalone_main

    sys.exit(standalone_main(sys.modules[__name__]))
