"""The old code and this tree, side by side in one run: full-size renders alternating round by round.

    python -m bench --only side_by_side --old-tree /path/to/worktree-of-the-old-commit

One long-lived child per tree and engine (the tree's own ``regionpaint`` and ``bench`` on its path, this
machine's virtual environment) loads the engine once (full-size networks, random weights, the real label maps of
``engine_speed``); then each round asks every child for one render per mode, the trees taking turns
and the first tree alternating between rounds, so machine load falls on both alike. The official forward
(:mod:`bench.official`) runs in the same rounds in a third child, with glibc's default allocator (the official
code as it ships; both trees keep their working memory, as regionpaint ships). Every render gets a label map of its own
(shifted, as ``engine_speed``) and SEAN re-encodes its style photo, so no cache of either tree serves it.

Both children share the user's kernel-choice cache (:mod:`regionpaint.engines.acceleration.autotune`); round 0
(untimed) lets each tree time the shapes it has not met. Rows: engine, mode, tree, median_s, min_s, cpu_s and
speedup over the official forward of the same rounds; ``vs_old`` is old median / new median.
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

NAME = "side_by_side"
DESCRIPTION = "the old tree and this one, alternating: official, exact and fast renders per engine"
HERE = Path(__file__).resolve()
MODES = ("exact", "fast")


def add_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--old-tree", metavar="DIR", help="a checkout of the old code (e.g. a git worktree)")
    group.add_argument("--side-engines", default="spade,sean,pix2pixhd", help="comma-separated engines")
    group.add_argument("--side-rounds", type=int, default=5, help="timed rounds (one more warms up)")


def child_main() -> int:
    """Serve requests: each stdin line ``ENGINE MODE K`` renders once and prints its wall and CPU seconds."""
    from regionpaint.engines.acceleration.memory import keep_working_memory

    keep_working_memory()
    import torch

    from bench.engine_speed import Child

    torch.manual_seed(0)
    folders = json.loads(os.environ["REGIONPAINT_BENCH_FOLDERS"])
    children = {engine: Child(engine, Path(folder), 1) for engine, folder in folders.items()}
    officials: dict[str, Any] = {}
    print("ready", flush=True)
    for line in sys.stdin:
        engine, mode, k = line.split()
        child = children[engine]
        if mode == "official":
            forward = officials.get(engine) or officials.setdefault(engine, child.official())
        start, start_cpu = time.perf_counter(), time.process_time()
        if mode == "official":
            with torch.inference_mode():
                forward()
        else:
            child.fresh()
            child.engine.generate(child.request(int(k) + 1, mode == "fast"))
        print(json.dumps([time.perf_counter() - start, time.process_time() - start_cpu]), flush=True)
    return 0


def _start(tree: Path, folders: dict[str, str], allocator: str = "") -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(tree), REGIONPAINT_BENCH_FOLDERS=json.dumps(folders))
    env["REGIONPAINT_MALLOC"] = allocator  # "default": glibc as it comes (the official code's own setting)
    command = [sys.executable, str(HERE), "--child"]  # this file, on ``tree``'s regionpaint and bench
    child = subprocess.Popen(command, cwd=tree, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    if child.stdout.readline().strip() != "ready":
        raise RuntimeError(f"side_by_side child for {tree} did not start; see its stderr above")
    return child


def _ask(child: subprocess.Popen, engine: str, mode: str, k: int) -> tuple[float, float]:
    child.stdin.write(f"{engine} {mode} {k}\n")
    child.stdin.flush()
    line = child.stdout.readline()
    if not line:
        raise RuntimeError(f"side_by_side child ended during {engine} {mode}; see its stderr above")
    wall, cpu = json.loads(line)
    return wall, cpu


def run(args: argparse.Namespace) -> list[dict]:
    from bench.engine_speed import CASES
    from bench.render_speed import CASES as SPEED_CASES
    from bench.render_speed import write_checkpoint

    old = getattr(args, "old_tree", None)
    if not old:
        return [{"engine": "-", "mode": "give --old-tree DIR (a worktree of the old commit)"}]
    trees = {"new": HERE.parents[1], "old": Path(old).resolve()}
    engines = [e.strip() for e in getattr(args, "side_engines", "spade,sean,pix2pixhd").split(",") if e.strip()]
    rounds = getattr(args, "side_rounds", 5)
    times: dict[tuple[str, str, str], list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="regionpaint-side-") as tmp:
        folders = {}
        for engine in engines:
            folder = write_checkpoint(SPEED_CASES[CASES[engine][0]], Path(tmp) / engine)
            if folder is not None:
                folders[engine] = str(folder)
        if not folders:
            return [{"engine": "-", "mode": "spec missing"}]
        for engine, folder in folders.items():  # one engine at a time: three children each hold its networks
            children = {name: _start(tree, {engine: folder}) for name, tree in trees.items()}
            # The official forward as it ships: glibc's default allocator, in a process of its own.
            children["official"] = _start(trees["new"], {engine: folder}, allocator="default")
            try:
                for round_ in range(rounds + 1):  # round 0 warms up (and times new kernel shapes)
                    order = list(trees) if round_ % 2 == 0 else list(reversed(trees))
                    jobs = [("official", "official")] + [(name, mode) for mode in MODES for name in order]
                    for name, mode in jobs:
                        measured = _ask(children[name], engine, mode, 2 * round_ + (name == "old"))
                        if round_:
                            times.setdefault((engine, mode, name), []).append(measured)
            finally:
                for child in children.values():
                    child.stdin.close()
                    child.wait()
    rows = []
    for engine in folders:
        official = statistics.median(w for w, _ in times[(engine, "official", "official")])
        size = CASES[engine][1]
        for mode in ("official", *MODES):
            names = ("official",) if mode == "official" else ("old", "new")
            for name in names:
                walls = [w for w, _ in times[(engine, mode, name)]]
                median = statistics.median(walls)
                row = {"engine": engine, "size": f"{size[0]}x{size[1]}", "mode": mode,
                       "tree": name, "median_s": median, "min_s": min(walls),
                       "cpu_s": statistics.median(c for _, c in times[(engine, mode, name)]),
                       "speedup": official / median}  # fmt: skip
                if name == "new" and mode != "official":
                    row["vs_old"] = statistics.median(w for w, _ in times[(engine, mode, "old")]) / median
                rows.append(row)
    return rows


if __name__ == "__main__":
    if sys.argv[1:] == ["--child"]:
        sys.exit(child_main())
    from bench.__main__ import standalone_main

    sys.exit(standalone_main(sys.modules[__name__]))
