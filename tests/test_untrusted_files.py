"""What an untrusted file may make regionpaint do: no other program runs, nothing blocks, JSON is bounded.

The PostScript case puts a fake ``gs`` first on PATH that leaves a marker file: the test fails if anything
the app opens reaches Ghostscript, whether or not the real one is installed on the machine.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from regionpaint import untrusted
from regionpaint.app.model.imports import ImportFileError, read_label_map, read_photo
from regionpaint.app.model.project import ProjectError, open_project

REPO = Path(__file__).resolve().parents[1]
FACE_DEMO = REPO / "assets" / "demo" / "faces.rpaint"
SEAN_DEMO_MODEL = REPO / "assets" / "demo" / "models" / "sean_faces.safetensors"
POSTSCRIPT = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 256 128\n{} loop\n"


@pytest.fixture
def fake_ghostscript(tmp_path, monkeypatch) -> Path:
    """A ``gs`` (and ``gswin64c``) first on PATH that records that it ran."""
    marker = tmp_path / "gs-ran"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("gs", "gswin32c", "gswin64c"):
        script = bin_dir / name
        script.write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
        script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return marker


def test_postscript_named_png_is_refused_as_label_and_photo_and_never_runs(tmp_path, fake_ghostscript):
    path = tmp_path / "x.png"
    path.write_bytes(POSTSCRIPT)
    for reader in (read_label_map, read_photo):
        with pytest.raises(ImportFileError, match=r"x\.png: not an image file regionpaint reads"):
            reader(path)
    assert not fake_ghostscript.exists(), "a PostScript file reached Ghostscript"


def test_postscript_as_a_project_member_is_refused_and_never_runs(tmp_path, fake_ghostscript):
    hostile = tmp_path / "hostile.rpaint"
    with zipfile.ZipFile(FACE_DEMO) as demo, zipfile.ZipFile(hostile, "w") as out:
        for entry in demo.infolist():
            out.writestr(entry.filename, POSTSCRIPT if entry.filename == "label.png" else demo.read(entry.filename))
    with pytest.raises(ProjectError, match="label.png"):
        open_project(hostile)
    assert not fake_ghostscript.exists()


def _render_label(label, out) -> subprocess.CompletedProcess:
    """``regionpaint render`` of the SEAN demo model on ``label``, in a child process."""
    command = [sys.executable, "-m", "regionpaint", "render", "--checkpoint", str(SEAN_DEMO_MODEL),
               "--label", str(label), "--out", str(out)]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=REPO, env=os.environ.copy())


def test_render_cli_refuses_postscript_label_within_seconds(tmp_path, fake_ghostscript):
    label = tmp_path / "x.png"
    label.write_bytes(POSTSCRIPT)
    done = _render_label(label, tmp_path / "o.png")
    assert done.returncode == 2, done.stderr
    assert "x.png: not an image file regionpaint reads" in done.stderr
    assert "Traceback" not in done.stderr
    assert not fake_ghostscript.exists()
    assert not (tmp_path / "o.png").exists()


def test_every_allowed_format_is_decoded_in_process():
    from PIL import Image

    Image.init()
    for name in untrusted.IMAGE_FORMATS:
        assert name in Image.OPEN, f"{name} is not a format this Pillow opens"
    assert "EPS" not in untrusted.IMAGE_FORMATS


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX-only")
def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "label.png"
    os.mkfifo(fifo)
    # A blocking open() of a FIFO with no writer never returns: the reader must refuse it from its type.
    with pytest.raises(ImportFileError, match=r"label\.png: is a named pipe \(FIFO\)"):
        read_label_map(fifo)
    with pytest.raises(untrusted.UntrustedFileError, match="named pipe"):
        untrusted.read_json(fifo)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX-only")
def test_render_cli_refuses_a_fifo_label(tmp_path):
    fifo = tmp_path / "label.png"
    os.mkfifo(fifo)
    done = _render_label(fifo, tmp_path / "o.png")
    assert done.returncode == 2
    assert "named pipe (FIFO)" in done.stderr


def test_a_device_is_named_as_such():
    with pytest.raises(untrusted.UntrustedFileError, match="character device"):
        untrusted.open_regular("/dev/null")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"a":' * 70 + "1" + "}" * 70, "nested too deeply"),
        ('{"weight": ' + "9" * 400 + "}", "400-digit number"),
        ('{"weight": 1e400}', "out of range"),
        ('{"weight": NaN}', "NaN is not a number"),
        ('{"weight": ', "not valid JSON"),
        (b'{"name": "\xff"}', "not UTF-8"),
    ],
)
def test_json_bounds_give_one_line_errors(text, problem):
    with pytest.raises(untrusted.UntrustedFileError) as caught:
        untrusted.loads_json(text, "doc.json")
    message = str(caught.value)
    assert message.startswith("doc.json: ") and problem in message
    assert "\n" not in message


def test_json_within_bounds_reads_as_plain_json():
    text = '{"a": [1, 2.5, {"b": [true, null, "x"]}], "seed": 12345678901234567890}'
    assert untrusted.loads_json(text, "x") == {"a": [1, 2.5, {"b": [True, None, "x"]}], "seed": 12345678901234567890}
    assert untrusted.loads_json(io.BytesIO(text.encode()).read(), "x")["seed"] == 12345678901234567890
