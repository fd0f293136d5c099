"""docs/formats.md against the code: the JSON Schemas its tables are generated from match what the writers
write and what the readers refuse, the documented checkpoint roles and key prefixes are what the loader does,
and the documented project example opens in the command line and the editor."""

from __future__ import annotations

import copy
import io
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from regionpaint.app.model.document import Document, EngineSettings, StyleSourceData
from regionpaint.app.model.project import ProjectError, open_project, project_members
from regionpaint.testing import tiny_label_map
from tools.formats_doc import BLOCK, DOC, PROJECT_SCHEMA, SIDECAR_SCHEMA, generated_blocks, load_schema, render

jsonschema = pytest.importorskip("jsonschema")
REPO = Path(__file__).resolve().parents[1]
DEMO_MODEL = REPO / "assets" / "demo" / "models" / "sean_faces.safetensors"
CLI_TIMEOUT_S = 600  # a cold start imports torch and loads the model on 2 busy cores


def doc_text() -> str:
    return DOC.read_text(encoding="utf-8")


def validator(path: Path):
    schema = load_schema(path)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_the_generated_tables_in_docs_formats_md_are_up_to_date():
    text = doc_text()
    assert render(text, generated_blocks()) == text, "docs/formats.md is out of date: run python -m tools.formats_doc"


def test_the_schemas_examples_are_valid():
    for path in (PROJECT_SCHEMA, SIDECAR_SCHEMA):
        for example in load_schema(path)["examples"]:
            validator(path).validate(example)


# ---- projects ------------------------------------------------------------------------------------


def _rng_image(seed: int, width: int, height: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def _documents() -> dict[str, Document]:
    """Documents that use every field the writer knows."""
    label = tiny_label_map("celebamask-hq")
    height, width = label.shape
    plain = Document(label, "celebamask-hq")
    full = Document(label, "celebamask-hq", photo=_rng_image(1, width, height), instance=label.astype(np.int32) * 7)
    full.set_baseline(label, label.astype(np.int32))
    sources = {
        "photo": StyleSourceData(full.photo, full.baseline, None, "photo"),
        "B": StyleSourceData(_rng_image(2, 32, 16), np.ones((16, 32), np.uint8), np.full((16, 32), 70000, np.int32)),
    }
    full.replace_fields(
        style_sources=sources,
        default_style=(("photo", 1.0),),
        region_styles={13: (("B", 1.0),), 1: (("photo", 0.25), ("B", 0.75))},
        crossover={"up_1": "B"},
        engine=EngineSettings("sean", "m.safetensors", {"x": 1}, "cpu", 3, False, (64, 48), "regionpaint", "0.1"),
    )
    full.set_render(_rng_image(3, width, height), 1.5, _rng_image(4, width, height))
    return {"plain": plain, "full": full}


def _manifest(doc: Document) -> dict:
    return json.loads(project_members(doc)["doc.json"])


@pytest.mark.parametrize("name", ["plain", "full"])
def test_what_the_project_writer_writes_is_documented(name):
    validator(PROJECT_SCHEMA).validate(_manifest(_documents()[name]))


def test_the_bundled_demo_projects_are_documented():
    projects = sorted((REPO / "assets" / "demo").glob("*.rpaint"))
    if not projects:
        pytest.skip("no demo projects built")
    for path in projects:
        with zipfile.ZipFile(path) as archive:
            validator(PROJECT_SCHEMA).validate(json.loads(archive.read("doc.json")))


def _with_manifest(members: dict[str, bytes], manifest: dict, path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("doc.json", json.dumps(manifest))
        for name, data in members.items():
            if name != "doc.json":
                archive.writestr(name, data)
    return path


def _required_paths(schema: dict) -> list[tuple[str, ...]]:
    """Every required field as a path into doc.json ("[]" for the first item of a list)."""
    paths = []

    def walk(node: dict, prefix: tuple[str, ...]) -> None:
        paths.extend(prefix + (name,) for name in node.get("required", ()))
        for name, child in node.get("properties", {}).items():
            if child.get("type") == "object":
                walk(child, prefix + (name,))
            if isinstance(child.get("items"), dict) and child["items"].get("type") == "object":
                walk(child["items"], prefix + (name, "[]"))

    walk(schema, ())
    return paths


def _drop(manifest: dict, path: tuple[str, ...]) -> dict:
    changed = copy.deepcopy(manifest)
    node = changed
    for part in path[:-1]:
        node = node[0] if part == "[]" else node[part]
    del node[path[-1]]
    return changed


def test_every_required_field_is_refused_when_missing_and_nothing_else_is_needed(tmp_path):
    schema = load_schema(PROJECT_SCHEMA)
    members = project_members(_documents()["full"])
    manifest = json.loads(members["doc.json"])
    required = _required_paths(schema)
    assert ("app",) in required and ("members",) in required and ("style_sources", "[]", "image") in required
    for path in required:
        target = _with_manifest(members, _drop(manifest, path), tmp_path / "missing.rpaint")
        with pytest.raises(ProjectError, match="missing.rpaint"):
            open_project(target)
    # Only the required fields (and the members they name): it opens.
    minimal = {key: manifest[key] for key in schema["required"]}
    minimal["members"] = {"label": manifest["members"]["label"]}
    doc = open_project(_with_manifest(members, minimal, tmp_path / "minimal.rpaint"))
    assert doc.style_sources == {} and doc.engine == EngineSettings()


@pytest.mark.parametrize(("field", "value"), [("app", "paintregion"), ("schema", 3), ("schema", 0)])
def test_values_outside_the_documented_ones_are_refused(tmp_path, field, value):
    members = project_members(_documents()["plain"])
    manifest = {**json.loads(members["doc.json"]), field: value}
    with pytest.raises(jsonschema.ValidationError):
        validator(PROJECT_SCHEMA).validate(manifest)
    with pytest.raises(ProjectError):
        open_project(_with_manifest(members, manifest, tmp_path / "bad.rpaint"))


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def documented_example() -> dict:
    match = next(m for m in BLOCK.finditer(doc_text()) if m["name"] == "project-example")
    return json.loads(re.search(r"```json\n(.*?)```", match["body"], re.DOTALL)[1])


def build_documented_project(folder: Path) -> Path:
    """The documented doc.json with members it names: a face-like label map of the stated size (the classes
    its region_styles name among them) and two style sources; the demo face model beside it."""
    example = documented_example()
    width, height = example["size"]
    label = np.zeros((height, width), np.uint8)
    label[height // 4 :, width // 4 : 3 * width // 4] = 1  # skin
    label[: height // 3] = 13  # hair
    members = {example["members"]["label"]: _png(label)}
    for number, source in enumerate(example["style_sources"]):
        members[source["image"]] = _png(_rng_image(10 + number, width, height))
        members[source["label"]] = _png(label)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(DEMO_MODEL, folder / example["engine"]["checkpoint"])
    shutil.copyfile(DEMO_MODEL.with_suffix(".json"), (folder / example["engine"]["checkpoint"]).with_suffix(".json"))
    return _with_manifest(members, example, folder / "example.rpaint")


@pytest.fixture
def documented_project(tmp_path):
    if not DEMO_MODEL.is_file():
        pytest.skip(f"{DEMO_MODEL} is not present")
    return build_documented_project(tmp_path / "project")


def test_the_documented_example_renders_with_render_project(documented_project, tmp_path):
    out = tmp_path / "out.png"
    done = subprocess.run(
        [sys.executable, "-m", "regionpaint", "render", "--project", str(documented_project), "--device", "cpu",
         "--out", str(out)],
        capture_output=True, text=True, timeout=CLI_TIMEOUT_S, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert Image.open(out).size == (128, 128)


def test_the_documented_example_opens_in_the_editor(qtbot, documented_project, tmp_path):
    from tests.qt_support import make_window

    window = make_window(qtbot, tmp_path)
    assert window.open_project(documented_project)
    doc = window.document
    assert doc.region_styles == {13: (("B", 1.0),), 1: (("A", 0.5), ("B", 0.5))}
    assert list(doc.style_sources) == ["A", "B"] and doc.crossover == {"up_1": "B"}
    assert doc.engine.engine_id == "sean" and Path(doc.engine.checkpoint).parent == documented_project.parent


def test_a_style_map_of_another_size_than_its_photo_is_refused_naming_both_sizes(tmp_path):
    members = project_members(_documents()["full"])
    manifest = json.loads(members["doc.json"])
    members["styles/1/label.png"] = _png(np.ones((8, 16), np.uint8))  # source B's photo is 32x16
    with pytest.raises(ProjectError, match=r"style_sources\[1\]: .*label map is 16x8 but its image is 32x16"):
        open_project(_with_manifest(members, manifest, tmp_path / "sizes.rpaint"))


# ---- checkpoints ----------------------------------------------------------------------------------


def _table(heading: str) -> list[list[str]]:
    """Rows of the markdown table whose header row starts with ``heading``."""
    lines = doc_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {heading} |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def test_the_documented_checkpoint_roles_are_what_the_loader_finds(tmp_path):
    from regionpaint.engines.loading.checkpoint import locate_files

    rows = _table("checkpoint given")
    assert len(rows) >= 5
    for number, (given, files, roles) in enumerate(rows):
        folder = tmp_path / str(number) / "ckpt"
        folder.mkdir(parents=True)
        for name in re.findall(r"`([^`]+)`", files):
            (folder / name).write_bytes(b"x")
        target = folder.parent / given.strip("`").rstrip("/")
        documented = dict(re.findall(r"`(\w+)` ([\w.]+)", roles))
        found = {role: path.name for role, path in locate_files(target).items()}
        assert found == documented, f"row {number + 1} ({given}: {files})"


def test_the_documented_key_prefixes_are_how_safetensors_are_split(tmp_path):
    import torch
    from safetensors.torch import save_file

    from regionpaint.engines.loading.checkpoint import load_safetensors

    rows = _table("key in the file")
    save_file({key.strip("`"): torch.zeros(1) for key, _, _ in rows}, str(tmp_path / "m.safetensors"))
    roles = load_safetensors(tmp_path / "m.safetensors")
    for key, role, name in rows:
        assert name.strip("`") in roles[role.strip("`")], key


def test_what_engine_save_writes_as_sidecar_is_documented(tmp_path):
    import torch

    from regionpaint.engines.base import CheckpointError
    from regionpaint.engines.loading.checkpoint import read_sidecar, save_safetensors

    path = save_safetensors(tmp_path / "m", {"G": {"w": torch.zeros(2)}}, "sean", "celebamask-hq", {"ngf": 8})
    sidecar = json.loads(path.with_suffix(".json").read_text())
    validator(SIDECAR_SCHEMA).validate(sidecar)
    for demo in sorted((REPO / "assets" / "demo" / "models").glob("*.json")):
        validator(SIDECAR_SCHEMA).validate(json.loads(demo.read_text()))
    for field in load_schema(SIDECAR_SCHEMA)["required"]:
        bare = tmp_path / "bare.json"
        bare.write_text(json.dumps({k: v for k, v in sidecar.items() if k != field}))
        with pytest.raises(CheckpointError, match="bare.json"):
            read_sidecar(bare)
