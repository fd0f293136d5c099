"""Every reader of a JSON file regionpaint did not write in this process bounds nesting and number size.

A 100,000-level document used to raise ``RecursionError`` (not a ``ValueError``) from ``json.loads``: a
traceback from ``render --project``, a crashed editor, a dead job-reader thread, every command failing on a
damaged ``plugins.json``. Each reader now goes through :func:`regionpaint.untrusted.loads_json` and turns
what it cannot read into its usual one-line error (or, where a file is only a cache, skips it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from regionpaint.locations import DATA_DIR_ENV

REPO = Path(__file__).resolve().parents[1]
FACE_DEMO = REPO / "assets" / "demo" / "faces.rpaint"
SEAN_MODEL = REPO / "assets" / "demo" / "models" / "sean_faces.safetensors"
DEEP = "[" * 100_000 + "]" * 100_000  # far past Python's recursion limit (1,000)
HUGE = "9" * 400  # a 400-digit number: overflows every float conversion downstream
CLI_TIMEOUT_S = 120  # start-up is a few seconds; the limit only stops a hang


def deep_under(key: str) -> str:
    """A JSON object whose ``key`` holds the deeply nested list (valid JSON, just very deep)."""
    return "{" + json.dumps(key) + ": " + DEEP + "}"


def demo_with_doc_json(tmp_path: Path, text: str) -> Path:
    """The face demo with its doc.json replaced by ``text``."""
    if not FACE_DEMO.is_file():
        pytest.skip(f"{FACE_DEMO} is not built")
    path = tmp_path / "deep.rpaint"
    with zipfile.ZipFile(FACE_DEMO) as demo, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for entry in demo.infolist():
            data = text.encode() if entry.filename == "doc.json" else demo.read(entry.filename)
            out.writestr(entry.filename, data)
    return path


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "regionpaint", *args],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        cwd=REPO,
        env=env,
    )


# -- projects --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("doc_json", "problem"),
    [(DEEP, "nested too deeply"), ('{"schema": 2, "app": "regionpaint", "size": [' + HUGE + ", 1]}", "400-digit")],
)
def test_open_project_refuses_deep_or_huge_doc_json_in_one_line(tmp_path, doc_json, problem):
    from regionpaint.app.model.project import ProjectError, open_project

    path = demo_with_doc_json(tmp_path, doc_json)
    with pytest.raises(ProjectError) as caught:
        open_project(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: doc.json: ") and problem in message and "\n" not in message


def test_render_project_with_a_deep_doc_json_is_one_error_line(tmp_path):
    path = demo_with_doc_json(tmp_path, DEEP)
    done = run_cli("render", "--project", str(path), "--out", str(tmp_path / "o.png"))
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == f"regionpaint: error: {path}: doc.json: JSON nested too deeply (more than 64 levels)"


@pytest.mark.slow
def test_the_editor_opened_on_a_deep_doc_json_shows_a_notice_and_keeps_running(tmp_path):
    path = demo_with_doc_json(tmp_path, DEEP)
    shot = tmp_path / "shot.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "REGIONPAINT_DATA_DIR": str(tmp_path / "data")}
    done = run_cli("gui", "--open", str(path), "--screenshot", str(shot), env=env)
    assert shot.is_file(), done.stderr  # the window survived the file and was drawn
    assert "nested too deeply" in done.stderr and "RecursionError" not in done.stderr


def test_a_deep_json_engine_option_from_a_pix2pixhd_project_is_one_error_line(tmp_path):
    """Engine options of kind "json" (pix2pixHD's cluster picks) are strings parsed again at render time."""
    demo = REPO / "assets" / "demo" / "streets_pix2pixhd.rpaint"
    if not demo.is_file():
        pytest.skip(f"{demo} is not built")
    with zipfile.ZipFile(demo) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    doc = json.loads(members["doc.json"])
    doc["engine"]["options"]["instance_clusters"] = DEEP  # a string: doc.json itself stays shallow
    doc["engine"]["checkpoint"] = str(demo.parent / doc["engine"]["checkpoint"])
    path = tmp_path / "deep_option.rpaint"
    with zipfile.ZipFile(path, "w") as out:
        for name, data in members.items():
            out.writestr(name, json.dumps(doc) if name == "doc.json" else data)
    done = run_cli("render", "--project", str(path), "--device", "cpu", "--out", str(tmp_path / "o.png"))
    assert done.returncode == 2, done.stderr
    assert "option instance_clusters" in done.stderr and "is not a valid json" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


# -- checkpoint sidecars ---------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "problem"), [(deep_under("options"), "nested too deeply"), (HUGE, "400-digit")])
def test_a_deep_or_huge_sidecar_is_a_checkpoint_error(tmp_path, text, problem):
    from regionpaint.engines.base import CheckpointError
    from regionpaint.engines.loading.checkpoint import inspect_checkpoint

    weights = tmp_path / "m.safetensors"
    shutil.copy(SEAN_MODEL, weights)
    weights.with_suffix(".json").write_text(text)
    with pytest.raises(CheckpointError) as caught:
        inspect_checkpoint(weights)
    assert str(weights.with_suffix(".json")) in str(caught.value) and problem in str(caught.value)


# -- label mappings --------------------------------------------------------------------------------
def test_a_deep_label_mapping_table_is_a_mapping_error(tmp_path, monkeypatch):
    from regionpaint.app.model import label_mapping
    from regionpaint.app.model.labelsets import CELEBAMASK_HQ, CITYSCAPES

    (tmp_path / f"mapping_{CITYSCAPES.id}_to_{CELEBAMASK_HQ.id}.json").write_text(deep_under("classes"))
    monkeypatch.setattr(label_mapping, "MAPPINGS_DIR", tmp_path)
    with pytest.raises(label_mapping.LabelMappingError, match="nested too deeply"):
        label_mapping.load_mapping(CITYSCAPES, CELEBAMASK_HQ)


# -- batch styles manifests and manifest.jsonl -----------------------------------------------------
@pytest.mark.parametrize(("text", "problem"), [(DEEP, "nested too deeply"), ('[{"seed": ' + HUGE + "}]", "400-digit")])
def test_a_deep_or_huge_styles_manifest_is_a_styles_error(tmp_path, text, problem):
    from regionpaint.app.batch.styles import StylesError, read_styles_manifest

    path = tmp_path / "styles.json"
    path.write_text(text)
    with pytest.raises(StylesError) as caught:
        read_styles_manifest(path)
    assert str(path) in str(caught.value) and problem in str(caught.value)


def test_a_deep_line_in_manifest_jsonl_is_skipped_like_a_torn_one(tmp_path):
    from regionpaint.app.batch.manifest import MANIFEST_NAME, read_records

    good = {"key": "a", "fingerprint": "f", "path": "a.png"}
    lines = [deep_under("key"), json.dumps(good), '{"key": "b", "fingerprint": ' + HUGE + "}"]
    (tmp_path / MANIFEST_NAME).write_text("\n".join(lines) + "\n")
    assert read_records(tmp_path) == {"a": good}


# -- plugins.json (read by every command) ----------------------------------------------------------
def test_a_deep_plugins_json_reads_as_empty_and_every_command_still_runs(tmp_path, monkeypatch):
    from regionpaint.plugins import state

    (tmp_path / state.STATE_FILE).write_text(deep_under("disabled"))
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    assert state.disabled_plugins() == set()
    done = run_cli("engines", env={**os.environ, DATA_DIR_ENV: str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert "sean" in done.stdout and "Traceback" not in done.stderr


# -- training job events and run files -------------------------------------------------------------
def test_a_deep_event_line_from_a_job_is_kept_as_a_log_line(tmp_path):
    """The reader thread used to die on RecursionError, so the job never saw its stdout close."""
    from regionpaint.app.training.jobs import JobState, TrainingJob

    fake_python = tmp_path / "python"  # the job runs "<python> -m regionpaint train ..."; this one ignores them
    lines = ['{"event": ' + DEEP + "}", '{"event": "start", "step": ' + HUGE + "}", '{"event": "step", "step": "x"}']
    lines.append('{"event": "done"}')
    fake_python.write_text(f"#!{sys.executable}\nprint({chr(10).join(lines)!r})\n")
    fake_python.chmod(0o755)
    job = TrainingJob(["train"], tmp_path / "run", python=str(fake_python)).start()
    assert job.wait(CLI_TIMEOUT_S) == 0
    assert job.state is JobState.DONE, list(job.log_tail)
    assert [event["event"] for event in job.events] == ["done"]
    assert any(line.startswith('{"event": [[[') for line in job.log_tail)
    assert any("unreadable event" in line and '"step": "x"' in line for line in job.log_tail)


@pytest.mark.parametrize("name", ["train_options.json", "train_state.json"])
def test_deep_training_run_files_are_one_line_errors(tmp_path, name):
    from regionpaint.engines.base import EngineError
    from regionpaint.engines.training.checkpoints import RunDir

    run = RunDir(tmp_path)
    (tmp_path / name).write_text(DEEP)
    read = run.read_options if name == "train_options.json" else run.load_state
    with pytest.raises(EngineError) as caught:
        read()
    assert str(tmp_path / name) in str(caught.value) and "nested too deeply" in str(caught.value)
