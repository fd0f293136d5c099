"""Outputs never destroy inputs, are checked before a render starts, and messages cannot be forged.

`render`: --out over an input needs --force; a folder, a device or an unknown extension is refused before
anything is read (a missing checkpoint comes second); a newline in a file name stays on the error's one
line. `batch`: one batch per output folder (a lock the kernel drops with its process); an output folder
inside the label folder is not read back as label maps; outputs over label or instance maps are refused.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.test_batch_cli import SPADE, write_street_maps

REPO = Path(__file__).resolve().parents[1]
ENV = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "REGIONPAINT_LOAD_PLUGINS": ""}
MISSING = "/nonexistent/checkpoint.safetensors"  # found missing only if the output check let the render start


def cli(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "regionpaint", *args], capture_output=True, text=True, env=ENV, cwd=REPO, timeout=timeout
    )


def one_error(result: subprocess.CompletedProcess) -> str:
    """The single stderr line of a refused command (exit 2)."""
    lines = result.stderr.splitlines()
    assert result.returncode == 2 and len(lines) == 1 and lines[0].startswith("regionpaint: error: "), result.stderr
    return lines[0]


@pytest.fixture
def label(tmp_path) -> Path:
    return write_street_maps(tmp_path / "city", 1)[0]


def test_out_over_the_label_map_is_refused_unless_forced(tmp_path, label):
    before = label.read_bytes()
    render = ["render", "--checkpoint", str(SPADE), "--label", str(label), "--device", "cpu"]
    refused = one_error(cli(*render, "--out", str(label)))
    assert f"--out {str(label)!r}: is also the input --label" in refused and "--force" in refused
    assert label.read_bytes() == before
    # The same file through another name (a symlinked folder) is the same file.
    (tmp_path / "alias").symlink_to(label.parent)
    assert "is also the input --label" in one_error(cli(*render, "--out", str(tmp_path / "alias" / label.name)))
    assert label.read_bytes() == before
    forced = cli(*render, "--out", str(label), "--force")
    assert forced.returncode == 0, forced.stderr
    assert np.asarray(Image.open(label)).ndim == 3  # now the RGB render, as asked


@pytest.mark.parametrize(
    "out, words",
    [
        ("{tmp}", "is a folder; name the file to write in it"),
        ("/dev/full", "is a character device, not a file regionpaint can write"),
        ("{tmp}/render.foo", "unknown image file extension '.foo'; name an image file .png, .jpg"),
        ("{tmp}/render", "no file extension"),
        ("{label}/x.png", "is not a folder"),
    ],
)
def test_a_bad_out_is_refused_before_anything_is_read(tmp_path, label, out, words):
    out = out.format(tmp=tmp_path, label=label)
    error = one_error(cli("render", "--checkpoint", MISSING, "--label", str(label), "--out", out))
    assert error.startswith(f"regionpaint: error: --out {out!r}: ") and words in error, error


def test_out_and_save_tensor_must_differ(tmp_path, label):
    same = str(tmp_path / "x.png")
    render = ["render", "--checkpoint", MISSING, "--label", str(label)]
    error = one_error(cli(*render, "--out", same, "--save-tensor", same))
    assert "--out and --save-tensor are the same file" in error


def test_a_newline_in_a_file_name_cannot_forge_a_second_error_line(tmp_path):
    hostile = str(tmp_path / "a\nregionpaint: error: forged\x1b[2J.png")
    error = one_error(cli("render", "--checkpoint", str(SPADE), "--label", hostile, "--out", str(tmp_path / "o.png")))
    assert "a\\nregionpaint: error: forged\\x1b[2J.png" in error and "\x1b" not in error


# ---- batch ----------------------------------------------------------------------------------------------


def batch(labels: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return cli("batch", "--checkpoint", str(SPADE), "--labels", str(labels), "--out", str(out), "--device", "cpu",
               "--json", *extra)  # fmt: skip


def done(result: subprocess.CompletedProcess) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


HOLD = """
import sys, time
from regionpaint.app.batch.lock import FolderLock
FolderLock(sys.argv[1]).acquire()
print("held", flush=True)
time.sleep(120)
"""


def test_a_second_batch_on_one_output_folder_is_refused_and_a_killed_holder_leaves_no_stale_lock(tmp_path):
    write_street_maps(tmp_path / "city", 2)
    out = tmp_path / "out"
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(HOLD), str(out)], cwd=REPO, env=ENV, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        refused = batch(tmp_path / "city", out)
        error = refused.stderr.strip().splitlines()[-1]
        assert refused.returncode == 2, refused.stderr
        assert f"{str(out)!r}: another regionpaint batch is writing to this folder (pid {holder.pid} on " in error
        assert json.loads(refused.stdout.splitlines()[-1])["event"] == "error"  # --json says so too
        assert not list(out.rglob("*.png"))
        holder.send_signal(signal.SIGKILL)  # no chance to clean up: the lock file stays, the lock does not
        holder.wait(timeout=30)
    finally:
        holder.kill()
    assert (out / ".regionpaint-batch.lock").exists()
    assert done(batch(tmp_path / "city", out))["rendered"] == 2
    assert not (out / ".regionpaint-batch.lock").exists()  # a finished batch removes its lock file


def flat_maps(folder: Path, count: int) -> None:
    folder.mkdir(parents=True)
    for index in range(count):
        Image.fromarray(np.full((64, 128), (7, 11, 21, 23)[index % 4], np.uint8)).save(folder / f"map{index}.png")


def test_an_output_folder_inside_the_label_folder_is_not_read_back_as_label_maps(tmp_path):
    labels = tmp_path / "maps"
    flat_maps(labels, 2)
    out = labels / "renders"
    first = done(batch(labels, out))
    assert first["rendered"] == 2 and sorted(p.name for p in out.glob("*.png")) == ["map0.png", "map1.png"]
    again = done(batch(labels, out))
    assert (again["rendered"], again["skipped"], again["failed"]) == (0, 2, [])  # 2 maps, not 4


def test_the_label_folder_itself_or_the_instance_folder_as_output_is_refused(tmp_path):
    labels = tmp_path / "maps"
    flat_maps(labels, 1)
    assert "is the label folder" in one_error(batch(labels, labels))
    dataset = tmp_path / "custom"
    flat_maps(dataset / "labels", 1)
    flat_maps(dataset / "instances", 1)  # the custom layout's instance maps, beside the labels
    error = one_error(batch(dataset, dataset / "instances"))
    assert "the render 'map0.png' would overwrite the map" in error and "instances/map0.png" in error
