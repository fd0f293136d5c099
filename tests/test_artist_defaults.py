"""Issue 28, bug 6 and "an interface that speaks to artists", without a window: the model a new document
starts with, where Save as and Export suggest writing, crossover names, and the status line's words."""

from __future__ import annotations

import shutil
from pathlib import Path

from regionpaint.app.bundled_demo import DEMO_DIR, DEMO_MODELS_DIR
from regionpaint.app.model.suggested_paths import suggest_export_path, suggest_project_path
from regionpaint.app.model.titles import style_block_titles
from regionpaint.app.model_manager.store import Manifest, write_manifest
from regionpaint.app.render import status_words
from regionpaint.app.render.default_checkpoint import best_checkpoint, label_set_of

HOME = Path("/home/artist")


def _installed_model(folder: Path, label_set: str) -> Path:
    """A folder as `regionpaint models get` leaves it: a checkpoint and its manifest."""
    folder.mkdir(parents=True)
    (folder / "latest_net_G.pth").write_bytes(b"not read here")
    write_manifest(folder, Manifest("x", "SPADE · test", "engine", "spade", label_set, "spade", "", "", ""))
    return folder


def test_a_new_document_starts_with_the_demo_model_of_its_label_set(tmp_path):
    assert best_checkpoint("celebamask-hq", tmp_path / "models") == DEMO_MODELS_DIR / "sean_faces.safetensors"
    # Streets: SPADE, as the street demo, though pix2pixHD's demo model sorts first by name.
    assert best_checkpoint("cityscapes", tmp_path / "models") == DEMO_MODELS_DIR / "spade_streets.safetensors"


def test_an_installed_official_model_wins_over_the_demo(tmp_path):
    models = tmp_path / "models"
    _installed_model(models / "sean-faces-other", "ade20k")  # another label set: not taken
    official = _installed_model(models / "spade-cityscapes", "cityscapes")
    assert label_set_of(official) == "cityscapes"
    assert best_checkpoint("cityscapes", models) == official


def test_without_installed_or_demo_model_the_last_used_one_is_taken(tmp_path):
    last = tmp_path / "mine.safetensors"
    last.write_bytes(b"")
    assert best_checkpoint("ade20k", tmp_path / "models") is None
    assert best_checkpoint("ade20k", tmp_path / "models", last_used=str(last)) == last
    assert best_checkpoint("ade20k", tmp_path / "models", last_used=str(tmp_path / "gone.pth")) is None


def test_a_damaged_sidecar_is_not_a_label_set(tmp_path):
    model = tmp_path / "m.safetensors"
    shutil.copy(DEMO_MODELS_DIR / "sean_faces.safetensors", model)
    (tmp_path / "m.json").write_text("[" * 500)  # deeper than the bounded reader allows
    assert label_set_of(model) is None


def test_save_as_and_export_suggest_the_document_folder_and_name(tmp_path):
    project = tmp_path / "work" / "street.rpaint"
    assert suggest_project_path(project, None, "/elsewhere", HOME) == project
    assert suggest_export_path("result", project, None, "/elsewhere", HOME) == tmp_path / "work" / "street_result.png"
    assert suggest_export_path("labels", project, None, None, HOME).name == "street_labels.png"


def test_a_new_document_suggests_the_folder_and_name_of_its_photo(tmp_path):
    photo = tmp_path / "photos" / "aachen_000000_000019_leftImg8bit.png"
    assert suggest_project_path(None, photo, "/last", HOME) == photo.with_suffix(".rpaint")
    assert suggest_export_path("result", None, photo, "/last", HOME).parent == photo.parent


def test_nothing_known_falls_back_to_the_last_folder_then_home_never_the_working_folder():
    assert suggest_project_path(None, None, "/last", HOME) == Path("/last/untitled.rpaint")
    assert suggest_project_path(None, None, "", HOME) == HOME / "untitled.rpaint"
    assert suggest_export_path("result", None, None, None, HOME) == HOME / "untitled_result.png"


def test_a_bundled_demo_is_saved_to_the_persons_folder_under_its_own_name():
    demo = DEMO_DIR / "faces.rpaint"
    assert suggest_project_path(demo, None, "/last", HOME, DEMO_DIR) == Path("/last/faces.rpaint")
    assert suggest_export_path("result", demo, None, "", HOME, DEMO_DIR) == HOME / "faces_result.png"


def test_crossover_blocks_are_named_for_what_they_change():
    from regionpaint.engines.sean.engine import SeanEngine

    titles = style_block_titles(SeanEngine.style_blocks, SeanEngine.style_block_titles)
    assert titles["head_0"] == "Coarse shape" and titles["up_3"] == "Fine texture"
    assert all("_" not in title for title in titles.values())
    # An engine that names none gets names from the coarse-to-fine order.
    assert style_block_titles(("a", "b", "c"), {}) == {"a": "Coarse shape", "b": "Detail level 2", "c": "Fine texture"}


def test_the_status_line_says_what_the_engine_is_doing():
    loading = status_words.RenderStep(fast=True, model_loaded=False)
    assert status_words.while_rendering(loading) == status_words.LOADING
    assert status_words.while_rendering(status_words.RenderStep(True, True)) == status_words.PREVIEWING
    assert status_words.while_rendering(status_words.RenderStep(False, True, after_preview=True)) == "Refining…"
    assert status_words.when_done("SEAN", True, 0.384) == "SEAN · preview in 0.38 s"
    assert "exact" in status_words.details("SEAN", "cpu", False, 1.0)


def test_a_failed_save_says_what_to_fix_not_the_temporary_files_errno(tmp_path):
    import pytest

    from regionpaint.app.model.project import ProjectError, save_project
    from tests.qt_support import face_document

    with pytest.raises(ProjectError) as caught:
        save_project(face_document(), tmp_path / "missing" / "mine.rpaint")
    message = str(caught.value)
    assert f"the folder {tmp_path / 'missing'} does not exist" in message
    assert "Errno" not in message and ".tmp" not in message


def test_a_training_preset_reads_in_words():
    from types import SimpleNamespace

    from regionpaint.app.qt.dialogs.train import preset_in_words
    from regionpaint.engines.training.schema import PREPROCESS_MODES

    preset = SimpleNamespace(
        load_size=512,
        crop_size=512,
        aspect_ratio=2.0,
        preprocess_mode="fixed",
        label_nc=35,
        no_instance=False,
        contain_dontcare_label=True,
    )
    assert preset_in_words(preset) == "35 labels, trained at 512×256, label 255 ignored"
    for mode in PREPROCESS_MODES:  # every mode has words, none shows the option's name
        preset.preprocess_mode = mode
        assert "_" not in preset_in_words(preset) and f"{mode} 512" not in preset_in_words(preset)
