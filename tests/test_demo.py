"""The bundled demo models respond to edits the way a person expects (measured on the rendered pixels).

Renders go through ``regionpaint render --project`` on the demo documents in ``assets/demo``; region masks
are the documents' label maps resized (PIL NEAREST) to the network's output size.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from regionpaint.app.cli import main
from regionpaint.app.model.project import open_project
from tools.demo.measure import car_like_share, world_colours, write_road_patch_as_car

# Renders full-size reference networks, trains or starts processes: `./dev test -m "not slow"` skips it.
pytestmark = pytest.mark.slow

DEMO = Path(__file__).resolve().parents[1] / "assets" / "demo"
HAIR, BACKGROUND = 13, 0
ROAD, CAR = 7, 26


def _demo(name: str) -> Path:
    path = DEMO / name
    if not path.is_file():
        pytest.skip(f"{path} is not built (python -m tools.demo.build)")
    return path


def _render(tmp_path: Path, project: Path, *flags: str) -> np.ndarray:
    out = tmp_path / "render.png"
    assert main(["render", "--project", str(project), "--device", "cpu", "--out", str(out), *flags]) == 0
    return np.asarray(Image.open(out).convert("RGB")).astype(np.float64)


def _mask(label: np.ndarray, class_id: int, shape: tuple[int, int]) -> np.ndarray:
    small = Image.fromarray(label.astype(np.uint8)).resize((shape[1], shape[0]), Image.NEAREST)
    return np.asarray(small) == class_id


def _region_mean(image: np.ndarray, label: np.ndarray, class_id: int) -> np.ndarray:
    return image[label == class_id].reshape(-1, 3).mean(0)


@pytest.fixture(scope="module")
def face():
    project = _demo("faces.rpaint")
    return project, open_project(project)


def test_hair_from_source_b_moves_the_rendered_hair_toward_bs_hair(tmp_path, face):
    project, doc = face
    render_a = _render(tmp_path, project)
    render_b = _render(tmp_path, project, "--region-style", "hair=B")
    hair = _mask(doc.label, HAIR, render_a.shape[:2])
    background = _mask(doc.label, BACKGROUND, render_a.shape[:2])
    source_b = doc.style_sources["B"]
    target = _region_mean(source_b.image.astype(np.float64), source_b.label, HAIR)
    before = np.linalg.norm(render_a[hair].mean(0) - target)
    after = np.linalg.norm(render_b[hair].mean(0) - target)
    assert after < 0.75 * before, (before, after)
    hair_change = np.abs(render_b[hair] - render_a[hair]).mean()
    background_change = np.abs(render_b[background] - render_a[background]).mean()
    assert background_change < 0.25 * hair_change, (hair_change, background_change)


def test_half_way_interpolation_lands_between_a_and_b(tmp_path, face):
    project, doc = face
    colours = {}
    for name, spec in (("A", "A"), ("B", "B"), ("mix", "A:0.5,B:0.5")):
        image = _render(tmp_path, project, "--region-style", f"hair={spec}")
        colours[name] = image[_mask(doc.label, HAIR, image.shape[:2])].mean(0)
    direction = colours["B"] - colours["A"]
    position = float(np.dot(colours["mix"] - colours["A"], direction) / np.dot(direction, direction))
    assert 0.2 < position < 0.8, position


def test_crossover_of_the_fine_blocks_from_b_moves_the_hair_toward_b(tmp_path, face):
    """SEAN crossover: every region keeps style A, but blocks up_0..up_2 take their codes from B."""
    project, doc = face
    plain = _render(tmp_path, project, "--region-style", "all=A")
    crossed = _render(tmp_path, project, "--region-style", "all=A", "--crossover", "up_0=B,up_1=B,up_2=B")
    hair = _mask(doc.label, HAIR, plain.shape[:2])
    source_b = doc.style_sources["B"]
    target = _region_mean(source_b.image.astype(np.float64), source_b.label, HAIR)
    before = np.linalg.norm(plain[hair].mean(0) - target)
    after = np.linalg.norm(crossed[hair].mean(0) - target)
    assert after < 0.75 * before, (before, after)


def test_road_repainted_as_car_takes_car_like_colours(tmp_path):
    project = _demo("streets.rpaint")
    doc = open_project(project)
    patch, edited, instance = write_road_patch_as_car(doc.label, doc.instance, tmp_path)
    assert patch.sum() > 0.01 * patch.size
    before = _render(tmp_path, project)
    after = _render(tmp_path, project, "--label", str(edited), "--instance", str(instance))
    region = _mask(patch.astype(np.uint8), 1, before.shape[:2])
    cars, roads = world_colours(CAR), world_colours(ROAD)
    share_before = car_like_share(before[region], cars, roads)
    share_after = car_like_share(after[region], cars, roads)
    assert share_before < 0.3 and share_after > 0.6, (share_before, share_after)
    road = _mask(doc.label, ROAD, before.shape[:2]) & ~region
    road_colour = before[road].mean(0)
    patch_before, patch_after = before[region].mean(0), after[region].mean(0)
    assert np.linalg.norm(patch_after - road_colour) > 3 * np.linalg.norm(patch_before - road_colour)


def test_gui_demo_opens_the_face_demo_rendered_by_sean(tmp_path):
    """What ``./dev run`` does on a fresh machine: the editor opens the face demo and renders it."""
    _demo("faces.rpaint")
    out = tmp_path / "shot.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "REGIONPAINT_DATA_DIR": str(tmp_path / "data")}
    result = subprocess.run(
        [sys.executable, "-m", "regionpaint", "--debug", "gui", "--demo", "--screenshot", str(out)],
        cwd=DEMO.parents[1],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "faces.rpaint" in result.stderr and "rendered by sean" in result.stderr, result.stderr[-2000:]
    assert Image.open(out).size[0] >= 1000


def test_the_manifest_records_how_each_bundled_model_was_made_and_they_fit_the_budget():
    manifest = json.loads(_demo("MANIFEST.json").read_text())
    total = 0
    for name, record in manifest["models"].items():
        path = DEMO / record["file"]
        data = path.read_bytes()
        total += len(data) + path.with_suffix(".json").stat().st_size
        assert record["bytes"] == len(data) and record["sha256"] == hashlib.sha256(data).hexdigest(), name
        assert record["command"].startswith(f"regionpaint train --engine {record['engine']} "), record["command"]
        assert record["steps_reached"] > 0 and record["final_losses"], name
    assert set(manifest["models"]) == {"sean_faces", "spade_streets", "pix2pixhd_streets"}
    assert total < 25 * 2**20, total


def test_the_pix2pixhd_street_demo_renders_a_street(tmp_path):
    project = _demo("streets_pix2pixhd.rpaint")
    doc = open_project(project)
    image = _render(tmp_path, project)
    road = image[_mask(doc.label, ROAD, image.shape[:2])].mean(0)
    sky = image[_mask(doc.label, 23, image.shape[:2])].mean(0)
    assert np.linalg.norm(sky - road) > 30, (sky, road)  # regions are told apart, not one flat colour
