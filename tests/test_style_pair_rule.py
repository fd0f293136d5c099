"""One rule for a style photo and its label map, in the command line and the editor (app/model/imports.py,
read_style_pair): a map of the photo's shape at another resolution is scaled to the photo; a map of another
aspect ratio is refused, naming the file and both sizes. Projects store the pair at one size."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
from PIL import Image

from regionpaint.app.model.document import scale_id_map
from regionpaint.app.model.imports import ImportFileError, read_style_pair
from regionpaint.app.model.labelsets import BUILTIN_LABEL_SETS
from regionpaint.testing import tiny_label_map, tiny_style_source

CELEBAMASK = next(item for item in BUILTIN_LABEL_SETS if item.id == "celebamask-hq")


@pytest.fixture
def pair(tmp_path):
    """A 128x96 style photo, its label map at half the resolution (64x48) and one of another shape (64x64)."""
    source = tiny_style_source("celebamask-hq", "B", size=(128, 96))
    Image.fromarray(source.image).save(tmp_path / "b.png")
    Image.fromarray(tiny_label_map("celebamask-hq", (64, 48))).save(tmp_path / "b_half.png")
    Image.fromarray(tiny_label_map("celebamask-hq", (64, 64))).save(tmp_path / "b_square.png")
    return tmp_path


def _cli_styles(*styles: str):
    from regionpaint.app.commands.render import _read_styles

    return _read_styles(argparse.Namespace(style=list(styles)), CELEBAMASK, None)


def _editor_source(photo, label):
    from regionpaint.app.qt.panels.styles import load_style_source

    return load_style_source(photo, label, CELEBAMASK)


def test_a_half_resolution_map_is_scaled_to_its_photo(pair):
    image, label = read_style_pair(pair / "b.png", pair / "b_half.png", CELEBAMASK)
    assert label.shape == image.shape[:2] == (96, 128)
    expected = scale_id_map(tiny_label_map("celebamask-hq", (64, 48)), (128, 96))
    assert np.array_equal(label, expected)


def test_the_command_line_and_the_editor_read_the_same_pair(pair):
    cli = _cli_styles(f"B={pair / 'b.png'}:{pair / 'b_half.png'}")["B"]
    editor = _editor_source(pair / "b.png", pair / "b_half.png")
    assert np.array_equal(cli.image, editor.image) and np.array_equal(cli.label, editor.label)


def test_a_map_of_another_shape_is_refused_by_both_with_the_file_and_both_sizes(pair):
    expected = (
        f"{pair / 'b_square.png'}: 64x64 has another aspect ratio than {pair / 'b.png'} (128x96), so scaling it "
        "to the photo would squash it; use a map of the photo's shape"
    )
    with pytest.raises(ImportFileError) as cli:
        _cli_styles(f"B={pair / 'b.png'}:{pair / 'b_square.png'}")
    with pytest.raises(ImportFileError) as editor:
        _editor_source(pair / "b.png", pair / "b_square.png")
    assert str(cli.value) == f"style source 'B': {expected}"
    assert str(editor.value) == expected
