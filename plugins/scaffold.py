"""``regionpaint plugins new NAME``: a plugin package that installs, lists, renders and tests out of the box.

The package holds one engine that needs no weights (each region in the mean colour of the same region
of its style photo, or a flat colour per class), its option schema, the hook module with the
``REGIONPAINT_API`` it needs, and a test that runs :func:`regionpaint.testing.check_engine`.
"""

from __future__ import annotations

import re
from pathlib import Path

from regionpaint.markers import PLUGIN_API_VERSION

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


def names_for(name: str) -> dict[str, str]:
    """Distribution, module, entry-point/engine id and class names derived from ``name``."""
    if not _NAME.match(name):
        raise ValueError(f"plugin name {name!r}: use letters, digits, '-' and '_', starting with a letter")
    distribution = name.lower().replace("_", "-")
    module = distribution.replace("-", "_")
    engine_id = re.sub(r"^regionpaint[-_]", "", distribution).replace("-", "_") or module
    class_name = "".join(part.capitalize() for part in engine_id.split("_")) + "Engine"
    return {
        "distribution": distribution,
        "module": module,
        "engine_id": engine_id,
        "class_name": class_name,
        "display_name": engine_id.replace("_", " ").capitalize(),
        "api": PLUGIN_API_VERSION,
    }


def create_plugin(name: str, parent: Path) -> Path:
    """Write the package into ``parent/<distribution>``; refuses a folder that exists and is not empty."""
    names = names_for(name)
    root = Path(parent) / names["distribution"]
    if root.exists() and any(root.iterdir()):
        raise ValueError(f"{root}: already exists and is not empty")
    files = {
        "pyproject.toml": PYPROJECT,
        "README.md": README,
        f"src/{names['module']}/__init__.py": INIT,
        f"src/{names['module']}/plugin.py": PLUGIN,
        f"src/{names['module']}/engine.py": ENGINE,
        "tests/test_engine.py": TEST,
    }
    for relative, template in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(template.format(**names), encoding="utf-8")
    return root


PYPROJECT = """\
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "{distribution}"
version = "0.1.0"
description = "A regionpaint engine plugin."
readme = "README.md"
requires-python = ">=3.10"
# regionpaint is the host application; numpy comes with it.
dependencies = ["numpy>=1.24"]

# regionpaint finds the plugin through this entry point: it names the module with the hooks.
[project.entry-points.regionpaint]
{engine_id} = "{module}.plugin"

[tool.setuptools.packages.find]
where = ["src"]
"""

README = """\
# {distribution}

A regionpaint engine plugin (engine id `{engine_id}`), made by `regionpaint plugins new`.

    regionpaint plugins install -e .          # editable: changes apply on the next run
    regionpaint plugins list                  # shows {engine_id} and what it registered
    regionpaint render --engine {engine_id} --label LABEL.png --style a=PHOTO.jpg:PHOTO_LABEL.png --out out.png
    python -m pytest tests                    # the regionpaint engine contract and your own tests

Edit `src/{module}/engine.py`; the contract is described in regionpaint's docs/plugins.md.
"""

INIT = '''\
"""{distribution}: a regionpaint engine plugin."""
'''

PLUGIN = '''\
"""The module the ``regionpaint`` entry point names: hooks, and the plugin API version this plugin needs."""

import regionpaint

REGIONPAINT_API = "{api}"


@regionpaint.hookimpl
def register_engines(register):
    from {module}.engine import {class_name}

    register({class_name})
'''

ENGINE = '''\
"""{display_name}: each region in the mean colour of the same region of its style photo.

It needs no weights, but it has a checkpoint format of its own to show the locate step: a folder holding
``palette.json`` (``{{"class id": [r, g, b], ...}}``) colours the regions no style photo paints
(``regionpaint render --checkpoint FOLDER``). Class attributes are read to list engines, so keep heavy
imports (torch, OpenCV) inside methods.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

import regionpaint
from regionpaint import CheckpointError, InputError, Option, OptionError, RenderRequest, RenderResult

PALETTE = "palette.json"


class {class_name}(regionpaint.Engine):
    id = "{engine_id}"
    display_name = "{display_name}"
    capabilities = frozenset({{regionpaint.REGION_STYLES}})
    label_sets = ("celebamask-hq", "cityscapes", "ade20k", "coco-stuff")
    needs_checkpoint = False  # renders without trained weights
    options = (
        Option("brightness", "float", 1.0, "scale every colour by this factor", minimum=0.0, maximum=2.0, flag=True),
    )

    @classmethod
    def locate(cls, path: Path) -> regionpaint.CheckpointInfo | None:
        """Claim a checkpoint in this engine's own layout: a folder with palette.json, or that file.

        regionpaint asks before its own rules (official folders, .safetensors), and always when
        --engine names this engine. Return None for anything else; raise CheckpointError naming the file
        for a checkpoint in your layout that is broken: the message reaches the person as it is. Look at
        names and small files only (no weights, no torch): the editor asks while it lists folders.
        """
        palette = path / PALETTE if path.is_dir() else path
        if palette.name != PALETTE or not os.path.lexists(palette):
            return None
        return regionpaint.CheckpointInfo(path=path, files={{"palette": palette}}, opt={{}}, shapes={{}})

    @classmethod
    def recognizes(cls, info: regionpaint.CheckpointInfo) -> bool:
        return False  # its checkpoints are claimed by locate, never by regionpaint's own rules

    def load(self, checkpoint=None, device: str = "auto") -> None:
        self._device = "cpu"
        self.palette: dict[int, np.ndarray] = {{}}
        if checkpoint is None:  # needs_checkpoint = False: no checkpoint chosen
            return
        info = self.locate(Path(checkpoint))
        if info is None:
            raise CheckpointError(f"{{checkpoint}}: not a {display_name} checkpoint (a folder with {{PALETTE}})")
        # The host's reader: regular files only, bounded size and depth, one-line errors naming the file.
        # (For weights: regionpaint.read_state_dict, which never unpickles code.)
        data = regionpaint.read_checkpoint_json(info.files["palette"], "palette")
        try:
            self.palette = {{int(k): np.array(v, np.float32).reshape(3) for k, v in dict(data).items()}}
        except (TypeError, ValueError):
            shape = '{{"class id": [r, g, b], ...}}'
            raise CheckpointError(f"{{info.files['palette']}}: expected {{shape}}") from None

    def network_size(self, label_shape: tuple[int, int]) -> tuple[int, int]:
        return int(label_shape[1]), int(label_shape[0])

    def generate(self, request: RenderRequest) -> RenderResult:
        start = time.perf_counter()
        label = request.label
        if not isinstance(label, np.ndarray) or label.ndim != 2 or label.size == 0:
            raise InputError("the label map must be a non-empty (H, W) array of class ids")
        try:
            brightness = self.options[0].parse(request.options.get("brightness", 1.0))
        except OptionError as exc:
            raise InputError(str(exc)) from None
        if request.size is not None:  # nearest-neighbour resize to (W, H)
            width, height = request.size
            rows = np.arange(height) * label.shape[0] // height
            cols = np.arange(width) * label.shape[1] // width
            label = label[rows][:, cols]
        image = np.zeros((*label.shape, 3), dtype=np.float32)
        for class_id in np.unique(label):
            image[label == class_id] = self._colour(int(class_id), request)
        image = np.clip(image * brightness, 0, 255).astype(np.uint8)
        tensor = (image.astype(np.float32) / 127.5 - 1.0).transpose(2, 0, 1)[None].copy()
        return RenderResult(image=image, tensor=tensor, seconds=time.perf_counter() - start)

    def _colour(self, class_id: int, request: RenderRequest) -> np.ndarray:
        mix = request.region_styles.get(class_id) or request.default_style
        if not mix:  # no style photo: the checkpoint's palette, else a stable colour per class
            if class_id in getattr(self, "palette", {{}}):
                return self.palette[class_id]
            return np.array([(class_id * 67) % 256, (class_id * 131) % 256, (class_id * 197) % 256], np.float32)
        name = max(mix, key=lambda item: item[1])[0]
        if name not in request.styles:
            raise InputError(f"style source {{name!r}} is not given")
        source = request.styles[name]
        pixels = source.image.reshape(-1, 3)
        if source.label is not None and source.label.shape == source.image.shape[:2]:
            inside = source.label.reshape(-1) == class_id
            if inside.any():
                pixels = pixels[inside]
        return pixels.astype(np.float32).mean(0)
'''

TEST = '''\
"""The engine keeps regionpaint's engine contract (regionpaint.testing), paints regions from their styles and
reads its own checkpoint layout."""

import json

import numpy as np
import pytest

from regionpaint import CheckpointError, RenderRequest, StyleSource
from regionpaint.testing import check_engine
from {module}.engine import {class_name}


def test_engine_contract():
    check_engine({class_name})


def test_region_takes_the_mean_colour_of_its_style_region():
    label = np.array([[0, 1], [0, 1]], np.uint8)
    photo = np.array([[[10, 20, 30], [200, 0, 0]], [[30, 40, 50], [220, 0, 0]]], np.uint8)
    engine = {class_name}()
    engine.load(None)
    style = StyleSource("a", photo, label)
    result = engine.generate(RenderRequest(label=label, styles={{"a": style}}, default_style=(("a", 1.0),)))
    assert result.image[0, 0].tolist() == [20, 30, 40]
    assert result.image[0, 1].tolist() == [210, 0, 0]


def test_a_palette_folder_is_claimed_and_colours_the_regions(tmp_path):
    (tmp_path / "palette.json").write_text(json.dumps({{"0": [1, 2, 3], "1": [250, 0, 0]}}))
    info = {class_name}.locate(tmp_path)
    assert info is not None and info.files == {{"palette": tmp_path / "palette.json"}}
    assert {class_name}.locate(tmp_path / "elsewhere") is None  # not this engine's layout
    engine = {class_name}()
    engine.load(str(tmp_path))
    result = engine.generate(RenderRequest(label=np.array([[0, 1]], np.uint8)))
    assert result.image.tolist() == [[[1, 2, 3], [250, 0, 0]]]
    (tmp_path / "palette.json").write_text("[1, 2]")
    with pytest.raises(CheckpointError, match="palette.json"):
        engine.load(str(tmp_path))
'''
