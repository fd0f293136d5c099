"""A FIFO, device or folder where regionpaint expects a file is refused at once, naming what the path is.

Opening a FIFO that has no writer blocks forever, so each case would hang the command (or the editor's UI
thread) if a reader opened it blindly. The in-process tests run under :func:`unblocking`, which opens the
FIFO's write end if the code under test is still stuck after a while, so a regression fails the test
instead of hanging the suite; the command-line tests run the real CLI in a subprocess with a timeout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from regionpaint.engines.base import CheckpointError
from regionpaint.locations import DATA_DIR_ENV
from tests.factories import make_tiny_checkpoint

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX-only")

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "assets" / "demo" / "models"
SEAN_MODEL = MODELS / "sean_faces.safetensors"
FACE_DEMO = REPO / "assets" / "demo" / "faces.rpaint"
FIFO_MESSAGE = "is a named pipe (FIFO), not a file regionpaint can read"
# Seconds the CLI may take to refuse: start-up is ~4 s on a loaded 2-core machine; a blocked open never
# returns, so any finite limit separates the two.
CLI_TIMEOUT_S = 120
# Seconds before an in-process reader still blocked on a FIFO is set free (and the test fails).
UNBLOCK_AFTER_S = 10.0


# Runs in its own process, so it frees a reader stuck in open() even when that reader holds the GIL
# (safetensors' Rust open does): after a delay, it opens the write end whenever a reader waits there.
_RESCUER = """
import os, sys, time
fifo, marker, delay = sys.argv[1], sys.argv[2], float(sys.argv[3])
time.sleep(delay)
while True:
    try:
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        open(marker, "w").close()
    except OSError:
        pass
    time.sleep(0.2)
"""


@contextmanager
def unblocking(fifo: Path, after: float = UNBLOCK_AFTER_S) -> Iterator[Callable[[], bool]]:
    """Set free any reader blocked opening ``fifo`` after ``after`` seconds; yields ``blocked()``, true when
    one was. Opening the write end succeeds only while a reader waits in open(); that reader then sees EOF.
    """
    marker = fifo.with_name(fifo.name + ".blocked")
    rescuer = subprocess.Popen([sys.executable, "-c", _RESCUER, str(fifo), str(marker), str(after)])
    try:
        yield marker.exists
    finally:
        rescuer.kill()
        rescuer.wait()


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "regionpaint", *args],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        cwd=REPO,
    )


def assert_refused(done: subprocess.CompletedProcess, path: Path, what: str = FIFO_MESSAGE) -> None:
    assert done.returncode == 2, done.stderr
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith("regionpaint: error: ") and str(path) in line and what in line, done.stderr
    assert "Traceback" not in done.stderr


# -- the checkpoint's files, one role at a time ----------------------------------------------------
def official_folder(tmp_path: Path, fifo_role: str) -> tuple[Path, Path]:
    """A tiny official SPADE folder whose ``fifo_role`` file ("G", "E", "opt") is a FIFO: (folder, FIFO)."""
    folder = make_tiny_checkpoint(tmp_path / "ckpt", use_vae=fifo_role == "E")
    name = {"G": "latest_net_G.pth", "E": "latest_net_E.pth", "opt": "opt.txt"}[fifo_role]
    (folder / name).unlink()
    os.mkfifo(folder / name)
    return folder, folder / name


def safetensors_copy(tmp_path: Path, fifo_role: str) -> tuple[Path, Path]:
    """A copy of the SEAN demo model whose weights ("weights") or sidecar ("sidecar") is a FIFO."""
    weights, sidecar = tmp_path / "m.safetensors", tmp_path / "m.json"
    shutil.copy(SEAN_MODEL, weights)
    shutil.copy(SEAN_MODEL.with_suffix(".json"), sidecar)
    fifo = weights if fifo_role == "weights" else sidecar
    fifo.unlink()
    os.mkfifo(fifo)
    return weights, fifo


@pytest.mark.parametrize("role", ["G", "E", "opt"])
def test_an_official_folder_with_a_fifo_is_refused_in_process(tmp_path, role):
    from regionpaint.engines.loading.checkpoint import inspect_checkpoint

    folder, fifo = official_folder(tmp_path, role)
    with unblocking(fifo) as blocked, pytest.raises(CheckpointError) as caught:
        inspect_checkpoint(folder)
    assert not blocked(), f"reading the checkpoint blocked on {fifo.name}"
    assert str(fifo) in str(caught.value) and FIFO_MESSAGE in str(caught.value)


@pytest.mark.parametrize("role", ["weights", "sidecar"])
def test_a_safetensors_checkpoint_with_a_fifo_is_refused_in_process(tmp_path, role):
    from regionpaint.engines.loading.checkpoint import inspect_checkpoint

    weights, fifo = safetensors_copy(tmp_path, role)
    with unblocking(fifo) as blocked, pytest.raises(CheckpointError) as caught:
        inspect_checkpoint(weights)
    assert not blocked()
    assert str(fifo) in str(caught.value) and FIFO_MESSAGE in str(caught.value)


def test_a_bare_pth_that_is_a_fifo_is_refused_by_every_reader(tmp_path):
    from regionpaint.engines.loading.checkpoint import inspect_checkpoint, torch_load_tensors

    fifo = tmp_path / "latest_net_G.pth"
    os.mkfifo(fifo)
    for read in (inspect_checkpoint, torch_load_tensors):
        with unblocking(fifo) as blocked, pytest.raises(CheckpointError, match="named pipe"):
            read(fifo)
        assert not blocked(), f"{read.__name__} blocked"


def test_a_device_named_as_a_checkpoint_is_refused(tmp_path):
    from regionpaint.engines.loading.checkpoint import inspect_checkpoint

    link = tmp_path / "zeros_net_G.pth"
    link.symlink_to("/dev/zero")
    with pytest.raises(CheckpointError, match="character device"):
        inspect_checkpoint(link)


def test_a_project_that_is_a_fifo_or_a_device_is_refused_in_process(tmp_path):
    from regionpaint.app.model.project import ProjectError, open_project

    fifo = tmp_path / "p.rpaint"
    os.mkfifo(fifo)
    with unblocking(fifo) as blocked, pytest.raises(ProjectError) as caught:
        open_project(fifo)
    assert not blocked()
    assert str(caught.value) == f"{fifo}: {FIFO_MESSAGE}"
    with pytest.raises(ProjectError, match="character device"):
        open_project("/dev/zero")


def test_a_fifo_as_styles_manifest_or_plugins_json_is_refused_without_blocking(tmp_path, monkeypatch):
    from regionpaint.app.batch.styles import StylesError, read_styles_manifest
    from regionpaint.plugins import state

    manifest = tmp_path / "styles.json"
    os.mkfifo(manifest)
    with unblocking(manifest) as blocked, pytest.raises(StylesError, match="named pipe"):
        read_styles_manifest(manifest)
    assert not blocked()
    os.mkfifo(tmp_path / state.STATE_FILE)  # read by every command: a FIFO there must not stop them all
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    with unblocking(tmp_path / state.STATE_FILE) as blocked:
        assert state.disabled_plugins() == set()
    assert not blocked()


# -- the same through the command line ---------------------------------------------------------------
def test_render_project_refuses_a_fifo(tmp_path):
    fifo = tmp_path / "p.rpaint"
    os.mkfifo(fifo)
    assert_refused(run_cli("render", "--project", str(fifo), "--out", str(tmp_path / "o.png")), fifo)


def test_render_refuses_a_fifo_generator_in_an_official_folder(tmp_path):
    folder, fifo = official_folder(tmp_path, "G")
    done = run_cli(
        "render", "--checkpoint", str(folder), "--label", str(label_png(tmp_path)), "--out", str(tmp_path / "o.png")
    )
    assert_refused(done, fifo)


def label_png(tmp_path: Path) -> Path:
    import numpy as np
    from PIL import Image

    path = tmp_path / "label.png"
    Image.fromarray(np.zeros((64, 128), np.uint8)).save(path)
    return path


@pytest.mark.slow
@pytest.mark.parametrize(
    "case", ["E", "opt", "weights", "sidecar", "bare_pth", "device", "z_pt", "z_npy", "dev_zero_project"]
)
def test_render_cli_refuses_every_non_file(tmp_path, case):
    label, out = label_png(tmp_path), str(tmp_path / "o.png")
    what = FIFO_MESSAGE
    if case in ("E", "opt"):
        checkpoint, path = official_folder(tmp_path, case)
        args = ["--checkpoint", str(checkpoint), "--label", str(label)]
    elif case in ("weights", "sidecar"):
        checkpoint, path = safetensors_copy(tmp_path, case)
        args = ["--checkpoint", str(checkpoint), "--label", str(label)]
    elif case == "bare_pth":
        path = tmp_path / "latest_net_G.pth"
        os.mkfifo(path)
        args = ["--checkpoint", str(path), "--label", str(label)]
    elif case == "device":
        path, what = tmp_path / "zeros_net_G.pth", "character device"
        path.symlink_to("/dev/zero")
        args = ["--checkpoint", str(path), "--label", str(label)]
    elif case in ("z_pt", "z_npy"):
        path = tmp_path / ("z.pt" if case == "z_pt" else "z.npy")
        os.mkfifo(path)
        args = ["--checkpoint", str(MODELS / "spade_streets.safetensors"), "--label", str(label), "--z", str(path)]
    else:
        path, what = Path("/dev/zero"), "character device"
        args = ["--project", str(path)]
    assert_refused(run_cli("render", *args, "--out", out), path, what)
    assert not Path(out).exists()


@pytest.mark.slow
def test_the_editor_opened_on_a_fifo_says_so_and_keeps_running(tmp_path):
    """``gui --open FIFO`` used to block the UI thread in open(); now the window opens with a notice."""
    fifo = tmp_path / "p.rpaint"
    os.mkfifo(fifo)
    shot = tmp_path / "shot.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "REGIONPAINT_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run(
        [sys.executable, "-m", "regionpaint", "gui", "--open", str(fifo), "--screenshot", str(shot)],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        cwd=REPO,
        env=env,
    )
    assert shot.is_file(), done.stderr  # the window came up and was drawn: the UI thread was not stuck
    assert f"{fifo}: {FIFO_MESSAGE}" in done.stderr
