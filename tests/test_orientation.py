"""A photo and the maps that describe it line up: one EXIF orientation rule, and a word whenever it acts.

Files are made from the demo's own photos and label maps: the "stored" versions hold the pixels turned the
way a camera stores them, with EXIF orientation 6 ("turn 90 degrees clockwise to show") on the photo only,
as a segmenter that ignores EXIF writes the map. Read through regionpaint, the stored files must give
exactly what the upright originals give.
"""

from __future__ import annotations

import io
import logging
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from regionpaint.app.model.imports import new_document, read_label_map, read_photo
from regionpaint.app.model.labelsets import CELEBAMASK_HQ, CITYSCAPES
from regionpaint.app.model.orientation import ORIENTATION_TAG, upright

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "assets" / "demo"
MODELS = DEMO / "models"
CLI_TIMEOUT_S = 300
ROTATED = 6  # EXIF: the stored pixels are shown turned 90 degrees clockwise


def demo_member(project: str, name: str) -> np.ndarray:
    path = DEMO / project
    if not path.is_file():
        pytest.skip(f"{path} is not built")
    with zipfile.ZipFile(path) as archive:
        return np.asarray(Image.open(io.BytesIO(archive.read(name))))


def save(array: np.ndarray, path: Path, orientation: int | None = None) -> Path:
    """PNG of ``array``, with an EXIF orientation tag when given (PNG carries EXIF in its eXIf chunk)."""
    exif = Image.Exif()
    if orientation is not None:
        exif[ORIENTATION_TAG] = orientation
    Image.fromarray(array).save(path, exif=exif)
    return path


def stored(array: np.ndarray) -> np.ndarray:
    """The pixels a camera stores for an upright ``array`` under orientation 6 (the inverse turn)."""
    return np.ascontiguousarray(np.rot90(array, 1))


@pytest.fixture
def street(tmp_path) -> dict[str, Path]:
    """The street demo (512x256, not square): upright files, and stored ones (photo tagged, map not)."""
    photo, label = demo_member("streets.rpaint", "photo.png"), demo_member("streets.rpaint", "label.png")
    return {
        "photo": save(photo, tmp_path / "street.png"),
        "label": save(label, tmp_path / "street_label.png"),
        "stored_photo": save(stored(photo), tmp_path / "street_stored.png", ROTATED),
        "stored_label": save(stored(label), tmp_path / "street_stored_label.png"),
    }


@pytest.fixture
def face(tmp_path) -> dict[str, Path]:
    """The face demo (256x256, square: its shape cannot tell whether a map was turned)."""
    photo, label = demo_member("faces.rpaint", "photo.png"), demo_member("faces.rpaint", "label.png")
    return {
        "photo": save(photo, tmp_path / "face.png"),
        "label": save(label, tmp_path / "face_label.png"),
        "stored_photo": save(stored(photo), tmp_path / "face_stored.png", ROTATED),
        "stored_label": save(stored(label), tmp_path / "face_stored_label.png"),
    }


# -- the rule, in the document model ---------------------------------------------------------------
@pytest.mark.parametrize("orientation", range(1, 9))
def test_upright_turns_arrays_as_pillow_turns_images(orientation):
    pixels = np.random.default_rng(orientation).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[ORIENTATION_TAG] = orientation
    image.info["exif"] = exif.tobytes()
    assert np.array_equal(upright(pixels, orientation), np.asarray(ImageOps.exif_transpose(image)))


def test_a_non_square_map_stored_like_its_photo_is_turned_with_it(street, caplog):
    """It used to be refused (sizes differ) here, and squashed 2:1 -> 1:2 by render --photo."""
    caplog.set_level(logging.WARNING)
    doc = new_document(street["stored_photo"], street["stored_label"], label_set=CITYSCAPES)
    assert np.array_equal(doc.photo, read_photo(street["photo"]))
    assert np.array_equal(doc.label, read_label_map(street["label"], CITYSCAPES))
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert said == [
        f"{street['stored_label']}: turned like {street['stored_photo']} (turned 90° clockwise by its EXIF "
        "orientation), as the map has no orientation of its own"
    ]


def test_a_square_map_stored_like_its_photo_is_turned_with_it_and_said_so(face, caplog):
    """Square: the map used to stay as stored, 90 degrees off its upright photo, without a word."""
    caplog.set_level(logging.WARNING)
    doc = new_document(face["stored_photo"], face["stored_label"], label_set=CELEBAMASK_HQ)
    assert np.array_equal(doc.photo, read_photo(face["photo"]))
    assert np.array_equal(doc.label, read_label_map(face["label"], CELEBAMASK_HQ))
    assert any("turned like" in r.getMessage() for r in caplog.records)


def test_a_map_of_the_upright_shape_or_with_its_own_orientation_is_not_turned_again(street, face, tmp_path):
    """Rule 3 (its shape shows it is upright) and rule 1 (it says so itself, as `regionpaint segment` writes)."""
    doc = new_document(street["stored_photo"], street["label"], label_set=CITYSCAPES)
    assert np.array_equal(doc.label, read_label_map(street["label"], CITYSCAPES))
    tagged = save(demo_member("faces.rpaint", "label.png"), tmp_path / "tagged.png", orientation=1)
    doc = new_document(face["stored_photo"], tagged, label_set=CELEBAMASK_HQ)
    assert np.array_equal(doc.label, read_label_map(face["label"], CELEBAMASK_HQ))


def test_a_map_read_alone_follows_its_own_orientation(face, tmp_path):
    label = demo_member("faces.rpaint", "label.png")
    tagged = save(stored(label), tmp_path / "tagged_stored.png", ROTATED)
    assert np.array_equal(read_label_map(tagged, CELEBAMASK_HQ), label)


# -- frames ------------------------------------------------------------------------------------------
def frames(kind: str, path: Path) -> Path:
    """A two-frame image: an animated PNG or GIF, or a two-page TIFF."""
    first, second = (Image.fromarray(np.full((8, 12), value, np.uint8)) for value in (1, 2))
    if kind == "apng":
        first.save(path, save_all=True, append_images=[second], format="PNG")
    elif kind == "gif":
        first.save(path, save_all=True, append_images=[second], format="GIF")
    else:
        first.save(path, save_all=True, append_images=[second], format="TIFF")
    return path


@pytest.mark.parametrize("kind", ["apng", "gif", "tiff"])
def test_an_animation_or_multi_page_file_says_only_its_first_frame_is_used(tmp_path, caplog, kind):
    path = frames(kind, tmp_path / f"map.{ {'apng': 'png', 'gif': 'gif', 'tiff': 'tif'}[kind] }")
    caplog.set_level(logging.WARNING)
    ids = read_label_map(path, CELEBAMASK_HQ)
    assert ids.shape == (8, 12) and (kind == "gif" or (ids == 1).all())  # GIF re-indexes its palette
    assert [r.getMessage() for r in caplog.records] == [
        f"{path}: has 2 frames (an animation or a multi-page file); only the first is used"
    ]


# -- the command line --------------------------------------------------------------------------------
def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "regionpaint", *args], capture_output=True, text=True, timeout=CLI_TIMEOUT_S, cwd=REPO
    )


def test_render_photo_refuses_a_label_of_another_aspect_instead_of_squashing_it(street, face, tmp_path):
    done = run_cli(
        "render", "--checkpoint", str(MODELS / "spade_streets.safetensors"), "--photo", str(street["photo"]),
        "--photo-label", str(street["stored_label"]), "--device", "cpu", "--out", str(tmp_path / "o.png"),
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (
        f"regionpaint: error: {street['stored_label']}: 256x512 has another aspect ratio than {street['photo']} "
        "(512x256), so scaling it to the photo would squash it; use a map of the photo's shape"
    )
    assert not (tmp_path / "o.png").exists()


def same_render(got: np.ndarray, want: np.ndarray) -> bool:
    """Two render processes agree within 1 level of 255 (the promise of docs/batch.md, REPLAY_TOLERANCE_LEVELS:
    float rounding between processes moves outputs by ~1e-6, a level is 7.8e-3); a map turned 90 degrees
    differs by tens of levels over whole regions."""
    return got.shape == want.shape and int(np.abs(got.astype(np.int16) - want).max()) <= 1


def render(tmp_path: Path, name: str, *args: str) -> tuple[np.ndarray, str]:
    out = tmp_path / f"{name}.png"
    done = run_cli("render", *args, "--device", "cpu", "--seed", "0", "--out", str(out))
    assert done.returncode == 0, done.stderr
    return np.asarray(Image.open(out)), done.stderr


@pytest.mark.slow
def test_render_photo_with_stored_files_equals_the_upright_ones(street, tmp_path):
    spade = ["--checkpoint", str(MODELS / "spade_streets.safetensors"), "--composite", "off"]
    want, _ = render(
        tmp_path, "upright", *spade, "--photo", str(street["photo"]), "--photo-label", str(street["label"])
    )
    got, said = render(
        tmp_path, "stored", *spade, "--photo", str(street["stored_photo"]), "--photo-label", str(street["stored_label"])
    )
    assert same_render(got, want)
    assert f"regionpaint: {street['stored_label']}: turned like {street['stored_photo']}" in said


@pytest.mark.slow
def test_square_photo_and_style_pairs_stored_turned_render_as_the_upright_ones(face, tmp_path):
    """SEAN reads each region's style from the style photo under its map: a map 90 degrees off mixes them."""
    sean = ["--checkpoint", str(MODELS / "sean_faces.safetensors")]
    want, _ = render(tmp_path, "upright", *sean, "--photo", str(face["photo"]), "--photo-label", str(face["label"]))
    got, said = render(
        tmp_path, "stored", *sean, "--photo", str(face["stored_photo"]), "--photo-label", str(face["stored_label"])
    )
    assert same_render(got, want) and "turned like" in said
    label = ["--label", str(face["label"])]
    want, _ = render(tmp_path, "style", *sean, *label, "--style", f"A={face['photo']}:{face['label']}")
    got, said = render(
        tmp_path, "style_st", *sean, *label, "--style", f"A={face['stored_photo']}:{face['stored_label']}"
    )
    assert same_render(got, want) and "turned like" in said


# -- the editor -------------------------------------------------------------------------------------------
def test_the_new_document_dialog_shows_what_it_turned(qtbot, tmp_path, street, monkeypatch):
    from regionpaint.app.qt.dialogs.new_document import NewDocumentDialog
    from tests.qt_support import make_window

    window = make_window(qtbot, tmp_path)
    window.render_controller.auto_render = False

    def fill_and_accept(dialog):
        dialog.set_paths(street["stored_photo"], street["stored_label"])
        dialog.label_set.setCurrentIndex(dialog.label_set.findData(CITYSCAPES.id))
        return dialog.create_document() is not None

    monkeypatch.setattr(NewDocumentDialog, "exec", fill_and_accept)
    assert window.files.new_document()
    assert np.array_equal(window.document.label, read_label_map(street["label"], CITYSCAPES))
    assert "turned like" in window.notice.message and str(street["stored_label"]) in window.notice.message


@pytest.mark.slow
def test_a_map_written_by_regionpaint_segment_lines_up_with_its_rotated_photo(face, tmp_path):
    """`segment` labels the upright photo and tags its map with orientation 1, so the rule keeps it as it is
    (untagged, a square map would be turned a second time). Random weights label the face all one class, so
    the tag itself is checked; test_a_map_of_the_upright_shape... shows a tagged map is not turned."""
    import torch

    from tests.test_segmenters import random_state

    weights = tmp_path / "79999_iter.pth"
    torch.save(random_state("bisenet_keys.txt"), weights)
    out = tmp_path / "segmented.png"
    done = run_cli(
        "segment", str(face["stored_photo"]), "--segmenter", "bisenet-face", "--weights", str(weights),
        "--device", "cpu", "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with Image.open(out) as written:
        assert written.getexif().get(ORIENTATION_TAG) == 1  # rule 1: the map says it is upright as stored
        ids = np.asarray(written)
    assert ids.shape == (256, 256)
    doc = new_document(face["stored_photo"], out, label_set=CELEBAMASK_HQ)
    assert np.array_equal(doc.label, ids)
