"""`regionpaint models` as a user runs it, in child processes against a loopback server: the listing, a download
interrupted with Ctrl+C and resumed, `--offline` opening no connection at all, and rendering an installed model
by its name."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.model_fixtures import make_test_models
from tests.model_server import ModelServer

# Child processes (each imports torch to verify or render): `./dev test -m "not slow"` skips them.
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
BUILTIN = (
    "spade-coco-stuff",
    "spade-ade20k",
    "spade-cityscapes",
    "sean-celebahq",
    "pix2pixhd-label2city-1024p",
    "bisenet-face",
    "drn-d-105-cityscapes",
)
# Installed by this test's sitecustomize: any socket connection from the child fails loudly.
NO_SOCKETS = """
import socket
def _refuse(self, *args, **kwargs):
    raise ConnectionRefusedError("NETWORK USED IN OFFLINE MODE")
socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse
socket.create_connection = lambda *a, **k: _refuse(None)
"""


@pytest.fixture
def server():
    server = ModelServer()
    yield server
    server.close()


@pytest.fixture
def setup(tmp_path, server):
    models = make_test_models(tmp_path, server)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REGIONPAINT_", "HF_"))}
    env.update(
        PYTHONPATH=str(REPO),
        REGIONPAINT_DATA_DIR=str(tmp_path / "data"),
        REGIONPAINT_MODEL_CATALOG=str(models.catalog_path),
        REGIONPAINT_LOAD_PLUGINS="",
        HF_ENDPOINT=server.base,
        QT_QPA_PLATFORM="offscreen",
    )
    return models, env, tmp_path


def cli(env, *args, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "regionpaint", *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=timeout
    )


def test_list_shows_the_seven_official_models_with_licence_and_size(setup):
    _models, env, _tmp = setup
    done = cli(env, "models", "list")
    assert done.returncode == 0, done.stderr
    lines = {line.split()[0]: line for line in done.stdout.splitlines() if line.strip()}
    for name in BUILTIN:
        assert name in lines and "not installed" in lines[name]
    assert "CC-BY-NC-SA-4.0" in lines["sean-celebahq"] and "1.1 GB" in lines["sean-celebahq"]
    assert "53.3 MB" in lines["bisenet-face"]  # the catalog's exact size of 79999_iter.pth
    rows = json.loads(cli(env, "models", "list", "--json").stdout)
    by_name = {r["name"]: r for r in rows}
    assert set(BUILTIN) | {"test-spade-city", "test-bare", "test-safetensors"} == set(by_name)
    assert all(r["licence"]["title"] and r["size"] > 0 for r in rows)
    assert by_name["spade-cityscapes"]["licence"]["non_commercial"] is True


def test_get_interrupted_by_ctrl_c_resumes_verifies_and_renders_by_name(setup):
    models, env, tmp = setup
    half = 4 << 20  # whole 1 MiB reads: the client has written exactly this much when the server stalls
    assert len(models.tarball) > half + (1 << 20)
    models.server.files["/files/checkpoints.tar.gz"].stall_after = half
    downloads = tmp / "data" / "models" / ".downloads"
    args = [sys.executable, "-m", "regionpaint", "models", "get", "test-spade-city", "--accept-licence"]
    child = subprocess.Popen(args, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not any(p.stat().st_size >= half for p in downloads.glob("checkpoints.tar.gz.*.part")):
        assert child.poll() is None and time.monotonic() < deadline, child.communicate()
        time.sleep(0.05)
    child.send_signal(signal.SIGINT)  # Ctrl+C mid-download
    _out, err = child.communicate(timeout=60)
    assert child.returncode == 130 and "interrupted" in err
    [part] = downloads.glob("checkpoints.tar.gz.*.part")
    assert part.stat().st_size == half  # kept for the next run

    before = len(models.server.gets("/files/checkpoints.tar.gz"))
    done = cli(env, "models", "get", "test-spade-city")  # the licence was accepted once, above
    assert done.returncode == 0, done.stderr
    # One request, for the rest only: trying the 404 mirror first did not throw the partial file away.
    assert [h.get("Range") for h in models.server.gets("/files/checkpoints.tar.gz")[before:]] == [f"bytes={half}-"]
    assert "checkpoints.tar.gz" in done.stderr and "100%" in done.stderr  # the tqdm bar
    assert "installed and verified" in done.stdout

    label = tmp / "label.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 34, size=(128, 256), dtype=np.uint8)).save(label)
    folder = tmp / "data" / "models" / "test-spade-city"
    by_name = cli(env, "render", "--checkpoint", "test-spade-city", "--label", str(label), "--out", str(tmp / "a.png"))
    assert by_name.returncode == 0, by_name.stderr
    by_path = cli(env, "render", "--checkpoint", str(folder), "--label", str(label), "--out", str(tmp / "b.png"))
    assert by_path.returncode == 0, by_path.stderr
    # Two processes: kernel choices are timed per machine (a loaded one re-times them), and exact renders agree
    # within parity whichever kernel runs: within 1 level of 255, as batch replays (docs/batch.md).
    by_name_px = np.asarray(Image.open(tmp / "a.png")).astype(np.int16)
    assert np.abs(by_name_px - np.asarray(Image.open(tmp / "b.png"))).max() <= 1

    listing = {r["name"]: r for r in json.loads(cli(env, "models", "list", "--json").stdout)}
    assert listing["test-spade-city"]["status"] == "verified"
    assert cli(env, "models", "where", "test-spade-city").stdout.strip() == str(folder)


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_offline_opens_no_connection_and_says_which_file_to_put_where(setup, how):
    models, env, tmp = setup
    guard = tmp / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(NO_SOCKETS)
    env = {**env, "PYTHONPATH": os.pathsep.join([str(guard), str(REPO)])}
    args = ["models", "get", "test-bare", "test-spade-city", "--accept-licence"]
    if how == "flag":
        args.append("--offline")
    else:
        env["REGIONPAINT_OFFLINE"] = "1"
    done = cli(env, *args)
    assert done.returncode == 2
    assert "NETWORK USED" not in done.stderr and not models.server.requests
    assert done.stderr.startswith("regionpaint: error: offline: test-bare is not downloaded")
    assert str(tmp / "data" / "models" / "test-bare" / "tiny_seg.pth") in done.stderr
    assert "regionpaint models add tiny_seg.pth" in done.stderr
    # The guard is real: the same child without --offline is stopped by it.
    online = cli({k: v for k, v in env.items() if k != "REGIONPAINT_OFFLINE"}, "models", "get", "test-bare")
    assert online.returncode == 2 and "NETWORK USED IN OFFLINE MODE" in online.stderr


def test_segment_uses_the_installed_model_and_says_how_to_get_one(setup):
    _models, env, tmp = setup
    photo = tmp / "face.png"
    Image.fromarray(np.full((64, 64, 3), 128, np.uint8)).save(photo)
    done = cli(env, "segment", str(photo), "--segmenter", "bisenet-face", "--out", str(tmp / "l.png"))
    assert done.returncode == 2
    assert "`regionpaint models get bisenet-face` downloads them" in done.stderr
