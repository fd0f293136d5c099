"""Issue 17 driven with real X input (xdotool) under Xvfb: docs/make_editor_screenshots.py, checked.

The script opens the street demo from the start screen, zooms with the wheel and '+' before any click,
Ctrl-clicks a car, drags the wipe divider, types a size, picks a style source for the hair, stops a job,
clicks "Open in editor" on a run of another label set and tries a photo of another aspect ratio.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from regionpaint.app.bundled_demo import DEMO_DIR
from tests.conftest import REPO

pytestmark = pytest.mark.slow  # about a minute and a half: a real X session with renders

SCRIPT = REPO / "docs" / "make_editor_screenshots.py"


@pytest.fixture(scope="module")
def checks(tmp_path_factory):
    if not (shutil.which("xvfb-run") and shutil.which("xdotool") and shutil.which("import")):
        pytest.skip("needs xvfb-run, xdotool and ImageMagick's import")
    if not (DEMO_DIR / "streets.rpaint").is_file() or not (DEMO_DIR / "faces.rpaint").is_file():
        pytest.skip("the demos are not built")
    out = tmp_path_factory.mktemp("shots")
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "PYTHONPATH": str(REPO)}
    command = [
        "xvfb-run",
        "-a",
        "-s",
        "-screen 0 1600x1000x24",
        sys.executable,
        str(SCRIPT),
        "--out",
        str(out),
        "--json",
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["_shots"] = sorted(p.name for p in out.glob("*.png"))
    return result


def test_zoom_works_before_any_click(checks):
    assert checks["start_screen_shown"] and checks["demo_opened"]
    assert checks["zoom_after_wheel"] == pytest.approx(checks["zoom_fitted"] * 1.25**2, rel=1e-3)
    assert checks["zoom_after_plus"] == pytest.approx(checks["zoom_fitted"] * 1.25**3, rel=1e-3)
    assert checks["navigator_when_zoomed"] and checks["zoom_after_z"] == pytest.approx(1.0)
    assert checks["navigator_hidden_when_fitted"]


def test_ctrl_click_alt_click_and_the_wipe_do_not_paint(checks):
    assert checks["ctrl_click_selects"] == [26] and checks["highlight_shown"] and checks["ctrl_click_did_not_paint"]
    assert checks["wipe_mode"] == "wipe" and checks["wipe_fraction"] == pytest.approx(0.35, abs=0.03)
    assert checks["wipe_drag_did_not_paint"]
    assert (checks["alt_click_label"], checks["alt_click_tool"]) == (23, "rectangle")
    assert checks["alt_click_did_not_paint"]


def test_real_size_and_typing_once(checks):
    assert checks["size_shown"] == [checks["rendered"][1], checks["rendered"][0]] == [256, 128]
    assert checks["size_edits_while_typing"] == 0 and checks["size_after_typing"] == [512, 128]
    assert checks["size_steps"] == ["Size checkpoint's size → 256×128", "Size 256×128 → 512×128"]


def test_demo_models_style_pick_jobs_open_in_editor_and_aspect(checks):
    listed = checks["demo_models_listed"]
    assert "Demo models" in listed and "sean_faces" in listed[listed.index("Demo models") :]
    assert checks["hair_selected"] == [13] and checks["hair_style"] == [["B", 1.0]]
    # The face demo edits its photo: the hair starts as "photo"; the last step names the new source.
    assert checks["combo_shows"] == ["B", "—"] and checks["history"][-1] == "hair: photo → B"
    assert checks["dragged_skin_style"] == [["B", 1.0]]
    assert checks["gallery_kept_items"] == 3  # A, B and the photo itself
    assert checks["jobs_no_hscroll"] and checks["jobs_stop_visible"] and checks["stopped_job_reaped"]
    assert checks["open_in_editor_asked"] == [["cityscapes", "celebamask-hq"]]
    assert checks["open_in_editor_kept_document"]
    if "new_refused" in checks:
        assert "aspect ratio" in checks["new_refused"] and checks["new_error_cleared"]
        assert checks["new_cropped_photo"] == [512, 512, 3]
    assert "editor-wipe.png" in checks["_shots"] and "editor-start-screen.png" in checks["_shots"]
