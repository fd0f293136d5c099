"""Pixel caps: a render and an opened project are refused before they allocate, with a message that says the
limit and the environment variable that raises it; out-of-memory advice names a size the network renders.

Memory is measured as the child's own peak RSS (``tests/test_hostile_files.peak_rss_of``). Each child also
runs under a 4 GiB address-space limit, so a regression fails here with an allocation error instead of
growing to the 6+ GB these inputs used to take on a machine other jobs share.
"""

from __future__ import annotations

import io
import json
import re
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from regionpaint import limits
from tests.factories import make_tiny_checkpoint
from tests.test_hostile_files import peak_rss_of

REPO = Path(__file__).resolve().parents[1]
FACE_DEMO = REPO / "assets" / "demo" / "faces.rpaint"
SEAN_MODEL = REPO / "assets" / "demo" / "models" / "sean_faces.safetensors"
ADDRESS_LIMIT = 4 * 1024**3  # see the module docstring; the CPU torch build maps ~0.7 GB at import
# A refusal costs what starting the CLI costs (~0.4 GB with torch imported); 1 GiB leaves room for that and
# would still catch any decode of the inputs below (each is at least 1.2 GB decoded).
REFUSAL_PEAK_BYTES = 1024**3

_WITH_ADDRESS_LIMIT = (
    "import os, resource, sys; limit = int(sys.argv[1]); resource.setrlimit(resource.RLIMIT_AS, (limit, limit)); "
    "os.execv(sys.executable, [sys.executable, *sys.argv[2:]])"
)


def cli_peak(*args: str, address_limit: int = ADDRESS_LIMIT) -> tuple[int, int, str]:
    """(exit code, peak RSS in bytes, stderr) of ``regionpaint ARGS`` under an address-space limit."""
    return peak_rss_of([sys.executable, "-c", _WITH_ADDRESS_LIMIT, str(address_limit), "-m", "regionpaint", *args])


@pytest.fixture(scope="module")
def face_demo() -> dict[str, bytes]:
    if not FACE_DEMO.is_file():
        pytest.skip(f"{FACE_DEMO} is not built")
    with zipfile.ZipFile(FACE_DEMO) as demo:
        return {name: demo.read(name) for name in demo.namelist()}


@pytest.fixture(scope="module")
def face_files(face_demo, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("face")
    paths = {"label": folder / "label.png", "photo": folder / "photo.png"}
    paths["label"].write_bytes(face_demo["label.png"])
    paths["photo"].write_bytes(face_demo["photo.png"])
    return paths


def write_project(path: Path, members: dict[str, bytes], doc: dict) -> Path:
    with zipfile.ZipFile(path, "w") as out:
        out.writestr("doc.json", json.dumps(doc))
        for name, data in members.items():
            if name != "doc.json":
                out.writestr(name, data)
    return path


def solid_png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(buffer, format="PNG", compress_level=9)
    return buffer.getvalue()


def with_style_sources(face_demo: dict[str, bytes], images: list[str]) -> dict:
    """The demo's doc.json with one extra style source per name in ``images`` (image members, no label)."""
    doc = json.loads(face_demo["doc.json"])
    doc["style_sources"] += [{"name": f"big{n}", "image": name, "label": None} for n, name in enumerate(images)]
    return doc


# -- renders ---------------------------------------------------------------------------------------
def test_render_refuses_a_huge_size_before_allocating(face_files, tmp_path):
    out = tmp_path / "o.png"
    code, peak, stderr = cli_peak(
        "render", "--checkpoint", str(SEAN_MODEL), "--label", str(face_files["label"]),
        "--style", f"A={face_files['photo']}:{face_files['label']}",
        "--size", "19968x19968", "--device", "cpu", "--out", str(out),
    )  # fmt: skip
    assert code == 2, stderr
    assert stderr.strip().startswith("regionpaint: error: --size: a 19968x19968 render is 398.7 megapixels")
    assert limits.RENDER_ENV in stderr and "4.2 megapixels" in stderr and "Traceback" not in stderr
    assert peak < REFUSAL_PEAK_BYTES, f"peak memory {peak / 2**20:.0f} MiB"
    assert not out.exists()


def test_render_project_refuses_a_huge_output_size(face_demo, tmp_path):
    doc = json.loads(face_demo["doc.json"])
    doc["engine"]["output_size"] = [19968, 19968]
    doc["engine"]["checkpoint"] = str(SEAN_MODEL)
    project = write_project(tmp_path / "huge.rpaint", face_demo, doc)
    code, peak, stderr = cli_peak(
        "render", "--project", str(project), "--device", "cpu", "--out", str(tmp_path / "o.png")
    )
    assert code == 2, stderr
    assert "the project's output size: a 19968x19968 render" in stderr and limits.RENDER_ENV in stderr
    assert peak < REFUSAL_PEAK_BYTES, f"peak memory {peak / 2**20:.0f} MiB"


def test_a_checkpoint_whose_own_size_is_huge_is_refused_before_rendering(face_files, tmp_path):
    """crop_size 16384 is within what opt.txt may say, but 16384x8192 is far past the render cap."""
    folder = make_tiny_checkpoint(tmp_path / "ckpt", label_nc=19, crop_size=16384, aspect_ratio=2.0, ngf=2)
    code, peak, stderr = cli_peak(
        "render", "--checkpoint", str(folder), "--label", str(face_files["label"]), "--device", "cpu",
        "--out", str(tmp_path / "o.png"),
    )  # fmt: skip
    assert code == 2, stderr
    assert "the network's output size: a 16384x8192 render is 134.2 megapixels" in stderr, stderr
    assert limits.RENDER_ENV in stderr
    assert peak < REFUSAL_PEAK_BYTES, f"peak memory {peak / 2**20:.0f} MiB"


@pytest.mark.parametrize(
    ("key", "value"),
    [("crop_size", "65536"), ("load_size", "20000"), ("loadSize", "100000"), ("fineSize", "65536"), ("fineSize", "0")],
)
def test_sizes_in_options_files_are_range_checked(key, value):
    from regionpaint.engines.base import CheckpointError
    from regionpaint.engines.loading.options import check_opt_values

    with pytest.raises(CheckpointError, match=f"option {key} = '{value}' is out of range"):
        check_opt_values({key: value}, "opt.txt")


def test_the_render_limit_follows_its_environment_variable(monkeypatch):
    monkeypatch.setenv(limits.RENDER_ENV, "400")
    limits.check_render_size((19968, 19968))
    monkeypatch.setenv(limits.RENDER_ENV, "0.01")
    with pytest.raises(limits.PixelLimitError, match=r"0\.0 megapixels"):
        limits.check_render_size((128, 128))
    monkeypatch.setenv(limits.RENDER_ENV, "lots")
    assert limits.max_render_pixels() == limits.DEFAULT_MAX_RENDER_PIXELS


# -- projects --------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_small_project_of_huge_solid_images_is_refused_from_their_headers(face_demo, tmp_path):
    """Thirty 9999x9999 solid PNGs: ~9 MB of archive, each under the 100-megapixel image cap, 3 gigapixels
    (9 GB as RGB) together."""
    big = solid_png(9999, 9999)
    names = [f"styles/big{n}/image.png" for n in range(30)]
    project = write_project(
        tmp_path / "solid.rpaint", {**face_demo, **dict.fromkeys(names, big)}, with_style_sources(face_demo, names)
    )
    assert project.stat().st_size < 12 * 1024**2
    out = str(tmp_path / "o.png")
    code, peak, stderr = cli_peak("render", "--project", str(project), "--device", "cpu", "--out", out)
    assert code == 2, stderr
    assert re.search(rf"{re.escape(str(project))}: its 37 images would take the project to 2999\.\d megapixels", stderr)
    assert limits.PROJECT_ENV in stderr and "600.0 megapixels" in stderr
    assert peak < REFUSAL_PEAK_BYTES, f"peak memory {peak / 2**20:.0f} MiB"


def test_one_image_named_by_many_style_sources_is_counted_each_time(face_demo, tmp_path, monkeypatch):
    """The headers sum to little (one member), but thirty decodes of it would not: each decode is charged."""
    from regionpaint.app.model.project import ProjectError, open_project

    members = {**face_demo, "shared.png": solid_png(500, 400)}  # 0.2 megapixels per decode
    project = write_project(tmp_path / "shared.rpaint", members, with_style_sources(face_demo, ["shared.png"] * 30))
    monkeypatch.setenv(limits.PROJECT_ENV, "1")
    with pytest.raises(ProjectError) as caught:
        open_project(project)
    message = str(caught.value)
    assert message.startswith(f"{project}: shared.png would take the project to ") and limits.PROJECT_ENV in message
    assert "more than regionpaint opens (1.0 megapixels)" in message
    monkeypatch.setenv(limits.PROJECT_ENV, "7")  # 30 x 0.2 + the demo's own images fit
    assert len(open_project(project).style_sources) == 3 + 30  # the demo has three of its own


# -- out-of-memory advice --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sean_engine():
    from regionpaint.app.render.service import RenderService

    service = RenderService()
    engine, _ = service.load(service.engine_class("", SEAN_MODEL), str(SEAN_MODEL), "cpu")
    return engine


def face_request(face_demo, **changes):
    """The face demo's label map styled by its own photo: a request the SEAN demo model renders."""
    from regionpaint.engines.base import RenderRequest, StyleSource

    label = np.asarray(Image.open(io.BytesIO(face_demo["label.png"])))
    photo = np.asarray(Image.open(io.BytesIO(face_demo["photo.png"])).convert("RGB"))
    source = StyleSource("A", photo, label)
    return RenderRequest(label=label, styles={"A": source}, default_style=(("A", 1.0),), seed=0, **changes)


def test_out_of_memory_advice_names_a_size_the_network_renders(face_demo, sean_engine, monkeypatch):
    """The advice used to name the label map's size; a 512x512 label on a 128-pixel network ran out at 128."""
    from regionpaint.app.render.guard import EngineFault, guarded_generate

    big_label = np.kron(face_request(face_demo).label, np.ones((4, 4), np.uint8))  # 512x512, same regions
    request = face_request(face_demo)
    request.label = big_label

    def out_of_memory(request):
        raise MemoryError

    monkeypatch.setattr(sean_engine, "generate", out_of_memory)
    with pytest.raises(EngineFault) as caught:
        guarded_generate(sean_engine, request)
    message = str(caught.value)
    own = sean_engine.network_size(big_label.shape)
    assert f"smaller output size than {own[0]}x{own[1]}, such as 64x64" in message, message
    monkeypatch.undo()
    smaller = guarded_generate(sean_engine, face_request(face_demo, size=(64, 64)))
    assert smaller.image.shape == (64, 64, 3)


@pytest.mark.slow
def test_a_real_out_of_memory_render_suggests_a_size_that_fits_the_network(face_files, tmp_path):
    """Under a 1.5 GiB address space the SEAN demo runs out at 1024x1024 (it needs ~1.7 GB there)."""
    code, _, stderr = cli_peak(
        "render", "--checkpoint", str(SEAN_MODEL), "--label", str(face_files["label"]),
        "--style", f"A={face_files['photo']}:{face_files['label']}",
        "--size", "1024x1024", "--device", "cpu", "--out", str(tmp_path / "o.png"),
        address_limit=int(1.5 * 1024**3),
    )  # fmt: skip
    assert code == 2, stderr
    assert "ran out of memory" in stderr and "smaller output size than 1024x1024, such as 512x512" in stderr, stderr
