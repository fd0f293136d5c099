"""A few hundred fuzz cases over every loader in the normal suite (``python -m bench.fuzz`` runs 10,000+).

Each case must end in a result or a one-line user error naming the file; see :mod:`bench.fuzz`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from bench import fuzz

REPO = Path(__file__).resolve().parents[1]
#: Cases per target here: the fast loaders get dozens, the two that build a whole engine a few.
CASES = {name: 3 if name in ("sidecar", "opt_txt") else 30 for name in fuzz.TARGETS}


@pytest.mark.parametrize("name", sorted(fuzz.TARGETS))
def test_loader_survives_fuzzing(name, tmp_path):
    before = fuzz.TALLY.cases[name]
    fuzz.fuzz_target(fuzz.TARGETS[name], CASES[name], tmp_path)
    assert fuzz.TALLY.cases[name] - before >= min(CASES[name], 3), "hypothesis ran the cases"


def test_the_harness_reports_a_traceback_and_an_unnamed_file_as_bugs():
    from regionpaint.app.model.document import DocumentError

    with pytest.raises(fuzz.FuzzBug, match="KeyError escaped"):
        fuzz.check("demo", lambda: {}["x"], ["file.png"])
    with pytest.raises(fuzz.FuzzBug, match="does not name the file"):
        fuzz.check("demo", lambda: (_ for _ in ()).throw(DocumentError("something broke")), ["file.png"])
    assert fuzz.check("demo", lambda: (_ for _ in ()).throw(DocumentError("file.png: broken")), ["file.png"]) == (
        "user error"
    )


def damaged_projects(folder: Path) -> list[Path]:
    """A handful of hostile projects for the real command line."""
    demo = REPO / "assets" / "demo" / "streets.rpaint"
    with zipfile.ZipFile(demo) as archive:
        members = {info.filename: archive.read(info.filename) for info in archive.infolist()}
    doc = json.loads(members["doc.json"])
    cases = {
        "escape": {**members, "../evil.png": members["label.png"]},
        "schema": {**members, "doc.json": json.dumps({**doc, "schema": 99}).encode()},
        "types": {**members, "doc.json": json.dumps({**doc, "members": {"label": 7}}).encode()},
        "png": {**members, "label.png": members["label.png"][:100]},
    }
    paths = []
    for name, content in cases.items():
        path = folder / f"{name}.rpaint"
        with zipfile.ZipFile(path, "w") as archive:
            for member, data in content.items():
                archive.writestr(member, data)
        paths.append(path)
    truncated = folder / "truncated.rpaint"
    truncated.write_bytes(demo.read_bytes()[:5000])
    return [*paths, truncated]


def test_the_cli_answers_hostile_projects_with_one_line_and_exit_2(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    for path in damaged_projects(tmp_path):
        result = subprocess.run(
            [sys.executable, "-m", "regionpaint", "render", "--project", str(path), "--out", str(tmp_path / "o.png")],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert result.returncode == 2, (path.name, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"regionpaint: error: {path}: "), (path.name, lines)


@pytest.mark.fuzz
def test_ten_thousand_cases():
    """The full run (``pytest -m fuzz``); the same as ``python -m bench.fuzz``."""
    import argparse

    rows = fuzz.run(argparse.Namespace(cases=fuzz.DEFAULT_CASES, target=None, seed=None))
    assert rows[-1]["cases"] >= fuzz.DEFAULT_CASES
    assert not fuzz.TALLY.bugs, fuzz.TALLY.bugs
