""".rpaint files: lossless round trip, validation of damaged files, atomic saving."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from regionpaint.app.model import (
    Document,
    EngineSettings,
    LabelSet,
    ProjectError,
    StyleSourceData,
    edits,
    open_project,
    save_project,
)
from regionpaint.app.model.project import SCHEMA_VERSION

TINY = LabelSet(
    id="tiny",
    display_name="Tiny",
    names=("sky", "tree", "road", "car"),
    colors=((0, 0, 255), (0, 255, 0), (128, 128, 128), (255, 0, 0)),
    dontcare_id=255,
)
LABEL_SETS = {TINY.id: TINY}


def rich_document(label_dtype=np.uint8, instance_high: int = 60000) -> Document:
    rng = np.random.default_rng(7)
    height, width = 24, 40
    label = rng.choice([0, 1, 2, 3, 255], size=(height, width)).astype(label_dtype)
    instance = rng.integers(0, instance_high, (height, width)).astype(np.int32)
    photo = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    doc = Document(label, TINY.id, photo=photo, instance=instance)
    face = StyleSourceData(
        rng.integers(0, 256, (16, 12, 3), dtype=np.uint8),
        label=rng.integers(0, 4, (16, 12)).astype(np.uint8),
        instance=rng.integers(0, 70000, (16, 12)).astype(np.int32),
        display_name="Face ✓",
    )
    plain = StyleSourceData(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8), display_name="plain")
    doc.replace_fields(
        style_sources={"face/../odd name": face, "plain": plain},
        default_style=(("plain", 1.0),),
        region_styles={1: (("face/../odd name", 0.3), ("plain", 0.7)), 255: (("plain", 1.0),)},
        crossover={"up_1": "plain"},
        engine=EngineSettings(
            engine_id="sean",
            checkpoint="/models/sean/celeba",
            options={"use_vae": True, "nested": {"list": [1, 2.5]}},
            device="cuda:1",
            seed=42,
            noise=False,
            output_size=(512, 256),
        ),
    )
    doc.set_render(rng.integers(0, 256, (32, 64, 3), dtype=np.uint8), 0.125)
    return doc


def assert_documents_equal(left: Document, right: Document) -> None:
    for name in ("label", "instance", "photo"):
        a, b = getattr(left, name), getattr(right, name)
        assert (a is None) == (b is None), name
        if a is not None:
            assert a.dtype == b.dtype and np.array_equal(a, b), name
    assert left.label_set_id == right.label_set_id
    assert left.style_sources.keys() == right.style_sources.keys()
    for key, source in left.style_sources.items():
        other = right.style_sources[key]
        assert source.display_name == other.display_name
        for name in ("image", "label", "instance"):
            a, b = getattr(source, name), getattr(other, name)
            assert (a is None) == (b is None)
            if a is not None:
                assert a.dtype == b.dtype and np.array_equal(a, b)
    assert left.region_styles == right.region_styles
    assert left.default_style == right.default_style
    assert left.crossover == right.crossover
    assert left.engine == right.engine
    assert (left.last_render is None) == (right.last_render is None)
    if left.last_render is not None:
        assert np.array_equal(left.last_render.image, right.last_render.image)
        assert left.last_render.seconds == right.last_render.seconds


@pytest.mark.parametrize(
    ("label_dtype", "instance_high"), [(np.uint8, 60000), (np.uint16, 2**31 - 1)], ids=["png16", "npy"]
)
def test_round_trip_is_lossless(tmp_path, label_dtype, instance_high):
    doc = rich_document(label_dtype, instance_high)
    path = tmp_path / "scene.rpaint"
    save_project(doc, path)
    opened = open_project(path, LABEL_SETS)
    assert_documents_equal(doc, opened)
    assert opened.history.entries == []
    names = zipfile.ZipFile(path).namelist()
    assert names[0] == "doc.json"
    assert ("instance.npy" in names) == (instance_high > 65536)
    assert "styles/0/instance.npy" in names  # style instance ids above 65535


def test_minimal_document_round_trip(tmp_path):
    doc = Document(np.zeros((3, 5), np.uint8), "cityscapes")
    path = tmp_path / "blank.rpaint"
    save_project(doc, path)
    assert_documents_equal(doc, open_project(path))  # built-in label sets by default
    assert sorted(zipfile.ZipFile(path).namelist()) == ["doc.json", "label.png"]


def test_negative_instance_ids_survive(tmp_path):
    doc = Document(np.zeros((2, 2), np.uint8), TINY.id, instance=np.array([[-1, 0], [5, 2**31 - 1]], np.int32))
    save_project(doc, tmp_path / "neg.rpaint")
    np.testing.assert_array_equal(open_project(tmp_path / "neg.rpaint", LABEL_SETS).instance, doc.instance)


# -- damaged files -------------------------------------------------------------------------
def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def good_project(tmp_path) -> Path:
    path = tmp_path / "good.rpaint"
    save_project(rich_document(), path)
    return path


def rewrite(
    source: Path,
    target: Path,
    manifest: Callable[[dict], None] | None = None,
    members: dict[str, bytes | None] | None = None,
) -> Path:
    """Copy a project, editing doc.json and replacing (bytes), dropping (None) or adding members."""
    members = dict(members or {})
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for name in old.namelist():
            data = old.read(name)
            if name == "doc.json" and manifest is not None:
                content = json.loads(data)
                manifest(content)
                data = json.dumps(content).encode()
            if name in members:
                data = members.pop(name)
            if data is not None:
                new.writestr(name, data)
        for name, data in members.items():
            if data is not None:
                new.writestr(name, data)
    return target


def set_key(key: str, value) -> Callable[[dict], None]:
    return lambda content: content.__setitem__(key, value)


def not_a_zip(good: Path, target: Path) -> Path:
    target.write_text("hello")
    return target


def truncated(good: Path, target: Path) -> Path:
    data = good.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    return target


def edited(manifest=None, members=None) -> Callable[[Path, Path], Path]:
    return lambda good, target: rewrite(good, target, manifest, members)


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


ZEROS_LABEL = np.zeros((24, 40), np.uint8)
NOISY_LABEL = np.random.default_rng(3).integers(0, 4, (24, 40)).astype(np.uint8)

#: case -> (how to damage a good project, text the error must contain)
DAMAGE = {
    "not a zip": (not_a_zip, "not a zip"),
    "truncated zip": (truncated, "truncated"),
    "missing doc.json": (edited(members={"doc.json": None}), "doc.json is missing"),
    "bad json": (edited(members={"doc.json": b"{oops"}), "not valid JSON"),
    "json not an object": (edited(members={"doc.json": b"[1]"}), "must be dict"),
    "newer schema": (edited(set_key("schema", SCHEMA_VERSION + 1)), "newer"),
    "unknown schema": (edited(set_key("schema", "one")), "unknown schema"),
    "schema zero": (edited(set_key("schema", 0)), "unknown schema"),
    "bad composite mode": (edited(set_key("composite", {"mode": "smudge"})), "composite mode"),
    "bad composite band": (edited(set_key("composite", {"band": -3})), "composite band"),
    "baseline size": (
        edited(lambda c: c["members"].update(baseline="styles/0/label.png")),
        "baseline label map",
    ),
    "other app": (edited(set_key("app", "gimp")), "not written by"),
    "escaping member": (edited(members={"../evil.png": b"x"}), "escapes"),
    "absolute member": (edited(members={"/etc/evil.png": b"x"}), "escapes"),
    "escaping reference": (edited(lambda c: c["members"].update(photo="../photo.png")), "escapes"),
    "missing member": (edited(members={"photo.png": None}), "photo.png"),
    "missing style member": (edited(members={"styles/1/image.png": None}), "styles/1/image.png"),
    "corrupt member": (edited(members={"label.png": png(NOISY_LABEL)[:200]}), "label.png: corrupt"),
    "photo size": (edited(members={"photo.png": png(np.zeros((10, 10, 3), np.uint8))}), "10x10"),
    "style label size": (edited(members={"styles/0/label.png": png(np.zeros((3, 3), np.uint8))}), "3x3"),
    "label ids": (edited(members={"label.png": png(ZEROS_LABEL + 200)}), "200"),
    "unknown label set": (edited(set_key("label_set", "mars")), "mars"),
    "unknown style source": (
        edited(set_key("region_styles", [{"region": 1, "mix": [["ghost", 1.0]]}])),
        "ghost",
    ),
    "weights": (edited(set_key("default_style", [["plain", 0.5]])), "sum to 0.5"),
    "unknown region": (edited(set_key("region_styles", [{"region": 77, "mix": [["plain", 1]]}])), "77"),
    "crossover": (edited(set_key("crossover", {"up_0": "ghost"})), "ghost"),
    "engine": (edited(set_key("engine", {"seed": "x"})), "engine.seed"),
    "npy dtype": (
        edited(
            lambda c: c["members"].update(instance="instance.npy"),
            {"instance.npy": _npy(np.zeros((24, 40), np.float64))},
        ),
        "int32",
    ),
}


@pytest.mark.parametrize("case", DAMAGE)
def test_damaged_file_gives_a_one_line_error_naming_it(good_project, tmp_path, case):
    damage, expected = DAMAGE[case]
    path = damage(good_project, tmp_path / f"{case.replace(' ', '_')}.rpaint")
    with pytest.raises(ProjectError) as caught:
        open_project(path, LABEL_SETS)
    message = str(caught.value)
    assert path.name in message and expected in message, message
    assert "\n" not in message


def test_missing_project_file(tmp_path):
    with pytest.raises(ProjectError, match="nowhere.rpaint: no such file"):
        open_project(tmp_path / "nowhere.rpaint")


# -- atomic saving -------------------------------------------------------------------------
def test_failed_save_leaves_the_old_file_untouched(good_project, monkeypatch):
    before = good_project.read_bytes()
    calls = []
    original = zipfile.ZipFile.writestr

    def failing_writestr(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise OSError("disk full")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", failing_writestr)
    changed = rich_document()
    changed.replace_fields(engine=EngineSettings(seed=1))
    with pytest.raises(ProjectError, match="good.rpaint: could not save.*disk full"):
        save_project(changed, good_project)
    assert good_project.read_bytes() == before
    assert sorted(p.name for p in good_project.parent.iterdir()) == ["good.rpaint"]  # no temp file left


def test_save_replaces_and_keeps_permissions(good_project):
    good_project.chmod(0o640)
    doc = rich_document()
    doc.replace_fields(engine=EngineSettings(seed=99))
    save_project(doc, good_project)
    assert open_project(good_project, LABEL_SETS).engine.seed == 99
    assert good_project.stat().st_mode & 0o777 == 0o640


def test_unsaveable_settings_and_folders_are_reported(tmp_path):
    doc = Document(np.zeros((2, 2), np.uint8), TINY.id)
    doc.replace_fields(engine=EngineSettings(options={"callback": object()}))
    with pytest.raises(ProjectError, match="bad.rpaint.*JSON"):
        save_project(doc, tmp_path / "bad.rpaint")
    assert not (tmp_path / "bad.rpaint").exists()
    with pytest.raises(ProjectError, match="missing_folder"):
        save_project(Document(np.zeros((2, 2), np.uint8), TINY.id), tmp_path / "missing_folder" / "x.rpaint")


def test_relative_checkpoint_beside_the_project_is_resolved_on_open(tmp_path):
    doc = Document(np.zeros((4, 6), np.uint8), "cityscapes")
    edits.set_engine_settings(doc, checkpoint="models/demo.safetensors")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "demo.safetensors").write_bytes(b"x")
    save_project(doc, tmp_path / "demo.rpaint")
    opened = open_project(tmp_path / "demo.rpaint")
    assert opened.engine.checkpoint == str((tmp_path / "models" / "demo.safetensors").resolve())
    assert not opened.history.can_undo
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "demo.rpaint").rename(elsewhere / "demo.rpaint")
    assert open_project(elsewhere / "demo.rpaint").engine.checkpoint == "models/demo.safetensors"


# -- photo edits (schema 2) ----------------------------------------------------------------
def photo_edit_document() -> Document:
    from regionpaint.app.model.edit_mask import PHOTO_SOURCE, start_photo_edit

    doc = rich_document()
    start_photo_edit(doc)
    assert doc.is_photo_edit and doc.default_style == ((PHOTO_SOURCE, 1.0),)
    edits.fill_rectangle(doc, TINY, (2, 2), (9, 9), 3)
    edits.set_composite_settings(doc, mode="seamless", band=7, harmonize=True)
    raw = np.random.default_rng(1).integers(0, 256, (12, 20, 3), dtype=np.uint8)
    doc.set_render(doc.photo.copy(), 0.5, raw)
    return doc


def test_photo_edit_round_trip_keeps_baseline_composite_and_raw_render(tmp_path):
    doc = photo_edit_document()
    path = tmp_path / "edit.rpaint"
    save_project(doc, path)
    opened = open_project(path, LABEL_SETS)
    assert_documents_equal(doc, opened)
    np.testing.assert_array_equal(opened.baseline, doc.baseline)
    np.testing.assert_array_equal(opened.baseline_instance, doc.baseline_instance)
    assert not np.array_equal(opened.baseline, opened.label)  # the edit is not the baseline
    assert opened.composite == doc.composite
    np.testing.assert_array_equal(opened.last_render.raw, doc.last_render.raw)
    manifest = json.loads(zipfile.ZipFile(path).read("doc.json"))
    assert manifest["schema"] == SCHEMA_VERSION == 2
    photo_entry = next(entry for entry in manifest["style_sources"] if entry["name"] == "photo")
    # The photo's own style source names the photo and baseline members instead of storing copies.
    assert photo_entry["image"] == "photo.png" and photo_entry["label"] == "baseline.png"
    assert opened.style_sources["photo"].image is opened.photo


def test_a_schema_1_project_opens_without_baseline(tmp_path):
    doc = rich_document()
    path = tmp_path / "old.rpaint"
    save_project(doc, path)
    old = rewrite(path, tmp_path / "schema1.rpaint", lambda c: (c.__setitem__("schema", 1), c.pop("composite")))
    opened = open_project(old, LABEL_SETS)
    assert opened.baseline is None and not opened.is_photo_edit
    assert_documents_equal(doc, opened)


@pytest.mark.parametrize("name", ["faces.rpaint", "streets.rpaint", "streets_pix2pixhd.rpaint"])
def test_the_bundled_demos_open(name):
    path = Path(__file__).resolve().parents[1] / "assets" / "demo" / name
    if not path.is_file():
        pytest.skip(f"{path} is not built")
    doc = open_project(path)
    assert doc.baseline is None or doc.baseline.shape == doc.label.shape
