"""``python -m bench --gpu-check`` without CUDA: says so in one line and runs the same checks on the CPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bench.gpu_check import REF_CASES, REFS
from tests.conftest import REPO

# Renders the three reference networks several times in a child process.
pytestmark = pytest.mark.slow


@pytest.mark.skipif(not all((REFS / case).is_dir() for case in REF_CASES.values()), reason=f"{REFS} is absent")
def test_gpu_check_without_cuda_runs_the_same_checks_on_the_cpu():
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "REGIONPAINT_LOAD_PLUGINS": ""}
    # A shorter budget than the default 420 s: every parity and quality check runs; speed rows start until it is
    # spent (the first one always has time: the checks before it take ~20 s on an idle 2-core machine).
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--gpu-check", "--device", "cuda", "--gpu-check-budget", "240", "--json"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["headline"].startswith("gpu-check: no CUDA (no CUDA device visible to torch")
    assert "asked for cuda" in report["headline"] and "CUDA is unmeasured" in report["headline"]
    assert report["passed"] is True
    rows = {(row["engine"], row["check"], row["mode"]): row for row in report["rows"]}
    for engine in REF_CASES:
        parity = rows[(engine, "parity", "exact")]
        assert parity["ok"] is True and 0 <= parity["value"] <= 1e-4, parity
        quality = rows[(engine, "fast quality", "fast")]
        assert quality["ok"] is True and quality["value"] >= 40, quality
        for mode in ("exact", "fast"):  # timed, or said to be skipped for the budget: never silently absent
            speed = rows[(engine, "speed", mode)]
            assert speed["value"] is not None and speed["value"] > 0 or "time budget" in speed["note"], speed
    assert not any(mode == "fast+compile" for _, _, mode in rows)  # no compiling on the CPU fallback
    assert rows[("spade", "speed", "exact")]["value"] > 0  # the first speed row always runs within the budget
