"""The Batch dialog shows the checkpoint's engine options (the editor's own option controls) and passes them
on to `regionpaint batch` as --option flags; the batch renders with them and records them.

A tiny SPADE-VAE checkpoint offers the "z from" option (``spade_z``, requires latent_z); the same engine
without a VAE does not, so the box hides. Offscreen, with pytest-qt; the batch runs for real.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("PySide6")

from regionpaint.app.commands.batch import configure  # noqa: E402
from regionpaint.app.qt.dialogs.batch import BatchDialog  # noqa: E402
from tests.factories import make_tiny_checkpoint  # noqa: E402


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    configure(parser)
    return parser.parse_args(argv[1:])


def choose(combo, value: str) -> None:
    """Pick ``value`` as a person does (``activated`` is what the form listens to)."""
    index = combo.findData(value)
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


def test_the_dialog_shows_the_checkpoints_options_and_passes_changed_ones_on(qtbot, tmp_path):
    vae = make_tiny_checkpoint(tmp_path / "vae", use_vae=True, crop_size=64, label_nc=5)
    plain = make_tiny_checkpoint(tmp_path / "plain", crop_size=64, label_nc=5)
    dialog = BatchDialog(None, checkpoint=vae)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: "spade_z" in dialog.option_form.controls, timeout=10000)
    assert not dialog.options_box.isHidden() and dialog.options_box.title() == "SPADE (GauGAN) options"
    combo = dialog.option_form.controls["spade_z"]
    assert [combo.itemText(i) for i in range(combo.count())] == ["style", "random"]
    assert parse(dialog.command()).option == []  # the default is not spelled out
    choose(combo, "random")
    assert parse(dialog.command()).option == ["spade_z=random"]

    dialog.checkpoint.choose(str(plain))  # no VAE: no z, no option
    qtbot.waitUntil(lambda: dialog.options_box.isHidden(), timeout=10000)
    assert "--option" not in dialog.command()


def test_the_documents_engine_and_options_start_the_dialog_and_the_batch_uses_them(qtbot, tmp_path):
    from regionpaint.app.cli import main

    vae = make_tiny_checkpoint(tmp_path / "vae", use_vae=True, crop_size=64, label_nc=5)
    labels = tmp_path / "maps" / "labels"
    labels.mkdir(parents=True)
    label = np.zeros((32, 64), np.uint8)
    label[16:] = 3
    Image.fromarray(label).save(labels / "0.png")
    dialog = BatchDialog(None, checkpoint=vae, engine="spade", options={"spade_z": "random", "other_engines": 1})
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: "spade_z" in dialog.option_form.controls, timeout=10000)
    assert dialog.option_form.controls["spade_z"].currentData() == "random"
    dialog.labels.setText(str(labels))
    dialog.out.setText(str(tmp_path / "out"))
    dialog.device.setCurrentText("cpu")
    qtbot.waitUntil(dialog.start_button.isEnabled, timeout=10000)
    argv = dialog.command()
    args = parse(argv)
    assert (args.engine, args.option) == ("spade", ["spade_z=random"])  # only this engine's shown options

    assert main(argv) == 0
    record = json.loads((tmp_path / "out" / "manifest.jsonl").read_text().splitlines()[0])
    assert record["settings"]["option"] == ["spade_z=random"]
    assert "--option" in record["render"] and "spade_z=random" in record["render"]
