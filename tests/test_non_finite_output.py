"""A network that outputs NaN or infinity is an error naming the checkpoint, never a silent black image.

Demo models with damaged weights (temporary copies: NaN in the last convolution, or huge SPADE gammas that
overflow float32), a plugin engine whose output is NaN in part of the image, through `render`, `batch`
and the editor.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from regionpaint.app.model import edits
from regionpaint.app.model.project import open_project
from tests.qt_support import make_window, no_leaked_threads  # noqa: F401 (autouse fixture)
from tests.test_batch_cli import write_street_maps
from tests.test_plugins import make_distribution

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "assets" / "demo" / "models"
FACES = REPO / "assets" / "demo" / "faces.rpaint"
ENV = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "REGIONPAINT_LOAD_PLUGINS": ""}


def nan_last_conv(weights: dict) -> None:
    weights["G.conv_img.weight"][:] = np.nan


def huge_gammas(weights: dict) -> None:
    """60000 (float16's range, as the demo files store) in every SPADE gamma: finite weights whose products
    pass float32's 3.4e38 a few blocks in; the norms then make NaN of infinity."""
    for key, value in weights.items():
        if key.endswith("mlp_gamma.weight"):
            value[:] = 6e4


def damaged_copy(folder: Path, model: str, damage: Callable[[dict], None]) -> Path:
    """A copy of demo model ``model`` (with its sidecar) with ``damage`` applied to its weights."""
    from safetensors.numpy import load_file, save_file

    weights = load_file(MODELS / f"{model}.safetensors")
    damage(weights)
    target = folder / f"{model}-{damage.__name__}.safetensors"
    save_file(weights, target)
    shutil.copy(MODELS / f"{model}.json", target.with_suffix(".json"))
    return target


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "regionpaint", *args],
        capture_output=True,
        text=True,
        env=env or ENV,
        cwd=REPO,
        timeout=300,
    )


@pytest.mark.parametrize("damage", [nan_last_conv, huge_gammas])
@pytest.mark.parametrize("fast", [False, True])
def test_render_refuses_a_non_finite_output_naming_the_checkpoint(tmp_path, damage, fast):
    checkpoint = damaged_copy(tmp_path, "spade_streets", damage)
    label = write_street_maps(tmp_path / "city", 1)[0]
    out = tmp_path / "out.png"
    args = ["render", "--checkpoint", str(checkpoint), "--label", str(label), "--out", str(out), "--device", "cpu"]
    result = cli(*args, *(["--fast"] if fast else []))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"regionpaint: error: {checkpoint}: engine 'spade'"), lines
    assert "produced NaN in 100 % of pixels" in lines[0]
    if fast:
        assert "render without --fast" in lines[0]
    else:
        assert "weights may hold NaN or huge values" in lines[0]
    assert not out.exists()  # no black image left behind


PARTLY_NAN_ENGINE = """
import numpy as np
from regionpaint.engines.base import Engine, RenderResult
from regionpaint.plugins import hookimpl

class PartlyNan(Engine):
    id = "partly-nan"
    display_name = "Partly NaN"
    needs_checkpoint = False
    label_sets = ("cityscapes",)

    @classmethod
    def recognizes(cls, info):
        return False

    def load(self, checkpoint, device="auto"):
        pass

    def generate(self, request):
        height, width = request.label.shape
        tensor = np.zeros((1, 3, height, width), np.float32)
        tensor[0, 2, : round(height * 0.37)] = np.nan  # one channel is enough to lose the pixel
        return RenderResult(np.zeros((height, width, 3), np.uint8), tensor)

@hookimpl
def register_engines(register):
    register(PartlyNan)
"""


def test_a_plugin_engine_is_checked_too_and_the_share_is_measured(tmp_path):
    site = tmp_path / "site"
    make_distribution(site, "rp-partly-nan", "0.2", {"partly": "rp_partly_nan"}, {"rp_partly_nan": PARTLY_NAN_ENGINE})
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{site}:{REPO}", "REGIONPAINT_DATA_DIR": str(tmp_path / "data")}
    label = tmp_path / "label.png"
    Image.fromarray(np.full((100, 60), 7, np.uint8)).save(label)
    result = cli("render", "--engine", "partly-nan", "--label", str(label), "--out", str(tmp_path / "o.png"), env=env)
    assert result.returncode == 2
    assert "engine 'partly-nan' (plugin 'partly', package rp-partly-nan 0.2) produced NaN in 37 % of pixels" in (
        result.stderr
    )


def test_batch_fails_each_map_whose_render_is_not_finite_and_writes_no_image(tmp_path):
    checkpoint = damaged_copy(tmp_path, "spade_streets", nan_last_conv)
    write_street_maps(tmp_path / "city", 2)
    out = tmp_path / "out"
    result = cli(
        "batch", "--checkpoint", str(checkpoint), "--labels", str(tmp_path / "city"), "--out", str(out),
        "--device", "cpu", "--json",
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    failed = events[-1]["failed"]
    assert events[-1]["rendered"] == 0 and len(failed) == 2
    assert all("produced NaN in 100 % of pixels" in message for _path, message in failed)
    assert not list(out.rglob("*.png"))


def test_the_editor_shows_a_notice_naming_the_checkpoint(qtbot, tmp_path):
    checkpoint = damaged_copy(tmp_path, "sean_faces", nan_last_conv)
    window = make_window(qtbot, tmp_path, open_project(FACES))
    controller = window.render_controller
    controller.auto_render = False
    doc = window.document
    edits.set_engine_settings(doc, doc.engine.replaced(checkpoint=str(checkpoint), device="cpu"))
    with qtbot.waitSignal(controller.idle, timeout=120_000):
        controller.render_now()
    outcome = controller.last_outcome
    assert not outcome.ok
    assert str(checkpoint) in outcome.error and "produced NaN in 100 % of pixels" in outcome.error
    assert window.notice.isVisible() and "produced NaN" in window.notice.message
    controller.shutdown()
