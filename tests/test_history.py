"""The undo stack: steps, grouping, sparse pixel diffs and their memory cost."""

from __future__ import annotations

import numpy as np
import pytest

from regionpaint.app.model import Document, paint_stroke, set_engine_settings
from regionpaint.app.model.history import ArrayPatch, Box, History
from regionpaint.app.model.labelsets import CITYSCAPES


class AppendCommand:
    """Appends a value to a list; undo removes it."""

    def __init__(self, log: list[int], value: int):
        self.title = f"append {value}"
        self.log = log
        self.value = value
        log.append(value)

    def undo(self) -> None:
        assert self.log.pop() == self.value

    def redo(self) -> None:
        self.log.append(self.value)

    def nbytes(self) -> int:
        return 8


def test_box_helpers():
    mask = np.zeros((6, 8), bool)
    mask[2:4, 3:7] = True
    box = Box.of_mask(mask)
    assert box == Box(3, 2, 7, 4)
    assert (box.width, box.height) == (4, 2)
    assert mask[box.slices].all()
    assert Box.of_mask(np.zeros((3, 3), bool)) is None
    assert Box(0, 0, 2, 2).union(Box(5, 1, 6, 9)) == Box(0, 0, 6, 9)
    assert Box(-3, -1, 20, 4).clipped(10, 3) == Box(0, 0, 10, 3)
    assert Box(5, 5, 5, 9).is_empty()


def test_array_patch_keeps_only_changed_pixels_and_round_trips():
    layer = np.arange(100, dtype=np.uint8).reshape(10, 10)
    original = layer.copy()
    box = Box(2, 2, 9, 9)
    before = layer[box.slices].copy()
    after = before.copy()
    after[1:3, 2:4] = 200  # changes pixels (4..5, 3..4) of the layer
    patch = ArrayPatch.capture("label", box, before, after)
    assert patch is not None
    assert patch.box == Box(4, 3, 6, 5)  # shrunk to the change
    assert patch.nbytes < 16  # packed mask + one compacted "after" value + 4 "before" values
    patch.write_after(layer)
    assert (layer[3:5, 4:6] == 200).all()
    patch.write_before(layer)
    np.testing.assert_array_equal(layer, original)
    assert ArrayPatch.capture("label", box, before, before.copy()) is None


def test_merged_patches_keep_the_oldest_before_and_newest_after():
    layer = np.zeros((8, 8), np.uint8)
    patches = []
    for box, value in [(Box(0, 0, 4, 4), 1), (Box(2, 2, 6, 6), 2), (Box(5, 5, 8, 8), 3)]:
        before = layer[box.slices].copy()
        layer[box.slices] = value
        patches.append(ArrayPatch.capture("label", box, before, layer[box.slices]))
    merged = ArrayPatch.merge(patches)
    assert merged.box == Box(0, 0, 8, 8)
    result = np.zeros_like(layer)
    merged.write_after(result)
    np.testing.assert_array_equal(result, layer)
    merged.write_before(layer)
    assert (layer == 0).all()
    # Painting a pixel and painting it back is no change at all.
    there = ArrayPatch.capture("label", Box(0, 0, 1, 1), np.array([[0]], np.uint8), np.array([[5]], np.uint8))
    back = ArrayPatch.capture("label", Box(0, 0, 1, 1), np.array([[5]], np.uint8), np.array([[0]], np.uint8))
    assert ArrayPatch.merge([there, back]) is None


def test_push_undo_redo_and_entries():
    changes = []
    history = History(on_change=lambda: changes.append(1))
    log: list[int] = []
    assert not history.can_undo and not history.can_redo and history.undo() is None
    for value in range(3):
        history.push(AppendCommand(log, value))
    assert history.entries == ["append 0", "append 1", "append 2"] and history.index == 3
    assert history.undo() == "append 2" and log == [0, 1]
    assert history.can_redo and history.redo_title == "append 2"
    history.undo()
    assert log == [0] and history.index == 1 and history.undo_title == "append 0"
    assert history.redo() == "append 1" and log == [0, 1]
    # A new step after undo drops what could have been redone.
    history.push(AppendCommand(log, 9))
    assert history.entries == ["append 0", "append 1", "append 9"] and not history.can_redo
    history.go_to(0)
    assert log == [] and history.index == 0
    history.go_to(3)
    assert log == [0, 1, 9]
    with pytest.raises(IndexError):
        history.go_to(4)
    assert history.memory_bytes() == 24
    history.clear()
    assert history.entries == [] and history.index == 0 and log == [0, 1, 9]
    assert len(changes) > 5


def test_group_records_one_step_and_nests():
    history = History()
    log: list[int] = []
    with history.group("Stroke"):
        history.push(AppendCommand(log, 1))
        with history.group("inner"):
            history.push(AppendCommand(log, 2))
        history.push(AppendCommand(log, 3))
        assert history.is_grouping and not history.can_undo
    assert history.entries == ["Stroke"]
    history.undo()
    assert log == []
    history.redo()
    assert log == [1, 2, 3]


def test_empty_group_records_nothing_and_begin_end_api():
    history = History()
    history.begin("nothing")
    assert history.end() is None
    assert history.entries == []
    log: list[int] = []
    history.begin("Drag")
    history.push(AppendCommand(log, 5))
    step = history.end()
    assert step is not None and step.title == "Drag" and history.entries == ["Drag"]


def test_failed_group_rolls_back_and_records_nothing():
    history = History()
    log: list[int] = []
    with pytest.raises(RuntimeError, match="boom"), history.group("Stroke"):
        history.push(AppendCommand(log, 1))
        history.push(AppendCommand(log, 2))
        raise RuntimeError("boom")
    assert log == [] and history.entries == [] and not history.is_grouping


def test_abort_cancels_the_open_group():
    history = History()
    log: list[int] = []
    history.begin("Stroke")
    history.push(AppendCommand(log, 1))
    history.abort()
    history.end()
    assert log == [] and history.entries == []


def test_misuse_is_refused():
    history = History()
    with pytest.raises(RuntimeError):
        history.end()
    with pytest.raises(RuntimeError):
        history.abort()
    history.begin("open")
    with pytest.raises(RuntimeError):
        history.undo()
    with pytest.raises(RuntimeError):
        history.clear()
    history.end()


def test_grouped_dabs_become_one_diff_and_undo_exactly():
    label = np.full((64, 96), 7, np.uint8)
    doc = Document(label, "cityscapes")
    rng = np.random.default_rng(1)
    path = np.cumsum(rng.normal(0, 3, size=(40, 2)), axis=0) + [48, 32]
    with doc.history.group("Brush"):
        for a, b in zip(path, path[1:], strict=False):
            paint_stroke(doc, CITYSCAPES, [a, b], int(rng.integers(20, 30)), 2.5)
    assert doc.history.entries == ["Brush"]
    final = doc.label.copy()
    doc.history.undo()
    np.testing.assert_array_equal(doc.label, label)
    doc.history.redo()
    np.testing.assert_array_equal(doc.label, final)


def test_group_mixing_pixel_and_setting_changes_undoes_exactly():
    label = np.full((32, 32), 7, np.uint8)
    doc = Document(label, "cityscapes", instance=np.zeros((32, 32), np.int32))
    with doc.history.group("Mixed"):
        paint_stroke(doc, CITYSCAPES, [(4, 4), (20, 20)], 26, 3)
        set_engine_settings(doc, seed=4)
        paint_stroke(doc, CITYSCAPES, [(20, 4), (4, 20)], 24, 3)
        set_engine_settings(doc, seed=9)
        paint_stroke(doc, CITYSCAPES, [(10, 10)], 7, 5)
    final_label, final_instance = doc.label.copy(), doc.instance.copy()
    assert doc.history.entries == ["Mixed"]
    doc.history.undo()
    assert (doc.label == 7).all() and (doc.instance == 0).all() and doc.engine.seed == 0
    doc.history.redo()
    np.testing.assert_array_equal(doc.label, final_label)
    np.testing.assert_array_equal(doc.instance, final_instance)
    assert doc.engine.seed == 9


def test_memory_of_100_strokes_is_far_below_100_full_maps():
    width, height = 2048, 1024
    label = np.full((height, width), 7, np.uint8)
    doc = Document(label, "cityscapes")
    rng = np.random.default_rng(0)
    for _ in range(100):
        start = rng.uniform([0, 0], [width, height])
        points = start + np.cumsum(rng.normal(0, 20, size=(8, 2)), axis=0)
        assert paint_stroke(doc, CITYSCAPES, points, int(rng.integers(11, 34)), 10)
    assert len(doc.history.entries) == 100
    full_maps = 100 * label.nbytes
    assert doc.history.memory_bytes() < 0.05 * full_maps
    # Undo still restores exactly.
    doc.history.go_to(0)
    assert (doc.label == 7).all()
