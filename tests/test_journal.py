"""The edit journal: every finished edit is on disk at once, replays exactly, survives a torn last record."""

from __future__ import annotations

import json

import numpy as np
import pytest

from regionpaint.app.model import edits
from regionpaint.app.model.document import Document, StyleSourceData
from regionpaint.app.model.journal import EditJournal, read_journal, read_records, replay, replay_journal
from regionpaint.app.model.labelsets import CELEBAMASK_HQ
from regionpaint.app.model.project import open_project, save_project


def face(width: int = 64, height: int = 48) -> Document:
    label = np.zeros((height, width), np.uint8)
    label[10:30, 16:48] = 1
    label[:12, 16:48] = 13
    photo = np.random.default_rng(0).integers(0, 255, (height, width, 3), dtype=np.uint8)
    return Document(label, CELEBAMASK_HQ.id, photo=photo, instance=label.astype(np.int32))


def stroke(doc: Document, number: int) -> None:
    y = 4 + (number * 7) % 40
    edits.paint_stroke(doc, CELEBAMASK_HQ, [(2, y), (60, y + 3)], 1 + number % 17, 2.5)


def assert_same(a: Document, b: Document) -> None:
    np.testing.assert_array_equal(a.label, b.label)
    assert a.label.dtype == b.label.dtype
    np.testing.assert_array_equal(a.instance, b.instance)
    np.testing.assert_array_equal(a.photo, b.photo)
    assert a.region_styles == b.region_styles and a.default_style == b.default_style
    assert a.crossover == b.crossover and a.engine == b.engine and a.composite == b.composite
    assert list(a.style_sources) == list(b.style_sources)
    for name, source in a.style_sources.items():
        np.testing.assert_array_equal(source.image, b.style_sources[name].image)
        assert source.display_name == b.style_sources[name].display_name


def session(doc: Document, journal: EditJournal) -> None:
    """Strokes, a fill, a style source and assignments, an engine change, undo and redo."""
    journal.start(doc)
    for number in range(5):
        stroke(doc, number)
        assert journal.record(doc)
    edits.fill_rectangle(doc, CELEBAMASK_HQ, (0, 0), (8, 8), 4)
    journal.record(doc)
    image = np.full((48, 64, 3), 200, np.uint8)
    edits.add_style_source(doc, "B", StyleSourceData(image, doc.label.copy(), None, "b.png"))
    journal.record(doc)
    edits.assign_style(doc, CELEBAMASK_HQ, [("B", 1.0)], [13])
    journal.record(doc)
    edits.set_engine_settings(doc, engine_id="sean", seed=7)
    journal.record(doc)
    doc.history.undo()
    journal.record(doc)
    doc.history.undo()
    journal.record(doc)
    doc.history.redo()
    journal.record(doc)
    edits.paint_stroke(doc, CELEBAMASK_HQ, [(5, 5)], 15, 3.0)
    journal.record(doc)


def test_a_session_replays_exactly_from_the_journal_alone(tmp_path):
    doc, journal = face(), EditJournal(tmp_path / "journal.bin")
    session(doc, journal)
    recovered, applied = replay(read_records(journal.path), None)
    assert applied == len(read_records(journal.path)) > 10
    assert_same(recovered, doc)


def test_nothing_is_written_when_nothing_changed(tmp_path):
    doc, journal = face(), EditJournal(tmp_path / "journal.bin")
    journal.start(doc)
    assert not journal.record(doc)
    edits.paint_stroke(doc, CELEBAMASK_HQ, [(5, 5)], 1, 2.0)  # class 1 on background
    size = journal.size_bytes()
    assert journal.record(doc)
    assert journal.size_bytes() > size
    assert not journal.record(doc)


def test_a_pixel_record_holds_the_changed_box_only(tmp_path):
    doc, journal = face(640, 480), EditJournal(tmp_path / "journal.bin")
    journal.start(doc)
    base = journal.size_bytes()
    edits.paint_stroke(doc, CELEBAMASK_HQ, [(100, 100), (120, 100)], 5, 2.0)
    journal.record(doc)
    assert journal.size_bytes() - base < 2000, "a short stroke costs bytes, not a whole layer"


def test_a_torn_last_record_loses_only_that_record(tmp_path):
    doc, journal = face(), EditJournal(tmp_path / "journal.bin")
    journal.start(doc)
    states = []
    for number in range(6):
        stroke(doc, number)
        journal.record(doc)
        states.append(doc.label.copy())
    data = journal.path.read_bytes()
    for cut in (1, 7, 40):
        journal.path.write_bytes(data[:-cut])
        recovered, _ = replay(read_records(journal.path), None)
        np.testing.assert_array_equal(recovered.label, states[-2])
    damaged = bytearray(data)
    damaged[-3] ^= 0xFF  # a flipped bit in the last record: its CRC no longer matches
    journal.path.write_bytes(bytes(damaged))
    recovered, _ = replay(read_records(journal.path), None)
    np.testing.assert_array_equal(recovered.label, states[-2])


def test_compaction_keeps_later_records_and_a_lagging_snapshot_seq_still_replays_right(tmp_path):
    doc, journal = face(), EditJournal(tmp_path / "journal.bin")
    journal.start(doc)
    for number in range(4):
        stroke(doc, number)
        journal.record(doc)
    snapshot_path = tmp_path / "autosave.rpaint"
    save_project(doc, snapshot_path)
    covered = journal.seq
    for number in range(4, 8):
        stroke(doc, number)
        journal.record(doc)
    before = journal.size_bytes()
    journal.compact(covered)
    assert journal.size_bytes() < before
    assert [record.seq for record in read_records(journal.path)] == list(range(covered + 1, journal.seq + 1))
    stroke(doc, 8)  # appending goes on after compaction
    journal.record(doc)
    recovered, applied = replay(read_records(journal.path), open_project(snapshot_path), covered)
    assert applied == 5
    assert_same(recovered, doc)
    # Records the snapshot already holds replay harmlessly (absolute values): a session file that lags.
    full = EditJournal(tmp_path / "full.bin")
    again = face()
    full.start(again)
    for number in range(9):
        stroke(again, number)
        full.record(again)
    middle = face()
    for number in range(4):
        stroke(middle, number)
    recovered, _ = replay(read_records(full.path), middle, 2)
    np.testing.assert_array_equal(recovered.label, again.label)


@pytest.mark.parametrize("garbage", [b"", b"RPJ", b"not a journal at all", b"RPJ1R\xff\xff\xff\xff\x00"])
def test_damaged_journals_read_as_what_is_intact(tmp_path, garbage):
    path = tmp_path / "journal.bin"
    path.write_bytes(garbage)
    assert read_records(path) == []
    assert replay([], None) == (None, 0)


def photo_edit(width: int = 64, height: int = 48) -> Document:
    """A photo document: baseline and its instance map, the photo as style source, a composite, a render."""
    from regionpaint.app.model.edit_mask import start_photo_edit

    doc = face(width, height)
    start_photo_edit(doc)
    edits.set_composite_settings(doc, mode="seamless", band=20, harmonize=True)
    doc.set_render(doc.photo[::-1].copy(), 0.5, doc.photo[::2, ::2].copy())
    doc.history.clear()
    return doc


def test_the_base_holds_every_member_and_setting_of_a_photo_document(tmp_path):
    doc, journal = photo_edit(), EditJournal(tmp_path / "journal.bin", "doc-1")
    journal.prime(doc)
    stroke(doc, 0)
    journal.start(doc)
    journal.record(doc)
    contents = read_journal(journal.path)
    assert contents.problem is None and {record.document for record in contents.records} == {"doc-1"}
    recovered = replay_journal(contents.records, None).document
    assert_same(recovered, doc)
    np.testing.assert_array_equal(recovered.baseline, doc.baseline)
    np.testing.assert_array_equal(recovered.baseline_instance, doc.baseline_instance)
    assert recovered.composite == doc.composite and recovered.is_photo_edit
    np.testing.assert_array_equal(recovered.last_render.image, doc.last_render.image)
    np.testing.assert_array_equal(recovered.last_render.raw, doc.last_render.raw)
    # The photo's style source is written once, not beside the photo again; sharing it is safe because the
    # document copies the layers it paints into.
    base = contents.records[0]
    assert base.header["sources"][0]["image"] == base.header["photo"]
    edits.paint_stroke(recovered, CELEBAMASK_HQ, [(2, 2), (60, 40)], 4, 3.0)
    np.testing.assert_array_equal(recovered.style_sources["photo"].label, doc.baseline)


def test_the_history_is_rebuilt_step_by_step_with_undo_and_redo(tmp_path):
    doc, journal = face(), EditJournal(tmp_path / "journal.bin")
    journal.prime(doc)
    clean = doc.label.copy()
    journal.start(doc)

    def step(edit, *args, **kwargs) -> None:
        edit(doc, *args, **kwargs)
        journal.record(doc)

    for number in range(3):
        with doc.history.group("Brush"):
            stroke(doc, number)
        journal.record(doc)
    step(edits.fill_rectangle, CELEBAMASK_HQ, (0, 0), (8, 8), 4)
    step(edits.add_style_source, "B", StyleSourceData(np.full((48, 64, 3), 200, np.uint8), doc.label.copy()))
    step(edits.assign_style, CELEBAMASK_HQ, [("B", 1.0)], [13])
    step(edits.set_composite_settings, mode="off")
    for move in (doc.history.undo, doc.history.undo, doc.history.redo, doc.history.undo):
        move()
        journal.record(doc)
    step(edits.paint_stroke, CELEBAMASK_HQ, [(5, 5)], 15, 3.0)  # a push after undo drops the redo
    recovered = replay_journal(read_records(journal.path), None).document
    assert recovered.history.entries == doc.history.entries and recovered.history.index == doc.history.index
    assert_same(recovered, doc)
    while recovered.history.can_undo:  # every step undoes to the document as it was opened
        recovered.history.undo()
        doc.history.undo()
        assert_same(recovered, doc)
    np.testing.assert_array_equal(recovered.label, clean)
    while recovered.history.can_redo:
        recovered.history.redo()
    doc.history.go_to(len(doc.history.entries))
    assert_same(recovered, doc)


@pytest.mark.parametrize(
    "tail, problem",
    [
        (b"", None),
        (b"\0" * 64, None),  # zeros after a power cut: the file system's tail, not a record
        (b"R\x05\x00", None),  # torn frame header
        (b"X" + b"\0" * 8 + b"more", "damaged"),
    ],
)
def test_reading_tells_a_torn_end_from_a_damaged_record(tmp_path, tail, problem):
    doc, journal = face(), EditJournal(tmp_path / "journal.bin")
    journal.start(doc)
    stroke(doc, 0)
    journal.record(doc)
    journal.close()
    with open(journal.path, "ab") as handle:
        handle.write(tail)
    contents = read_journal(journal.path)
    assert len(contents.records) == 2
    assert (contents.problem is None) if problem is None else (problem in contents.problem)


def test_a_wrong_checksum_with_records_after_it_is_damage_not_a_torn_end(tmp_path):
    doc, journal = face(), EditJournal(tmp_path / "journal.bin")
    journal.start(doc)
    for number in range(3):
        stroke(doc, number)
        journal.record(doc)
    data = bytearray(journal.path.read_bytes())
    second = read_records(journal.path)[1]
    data[data.index(json.dumps(second.header, separators=(",", ":")).encode()[:20]) + 5] ^= 0xFF
    journal.path.write_bytes(bytes(data))
    contents = read_journal(journal.path)
    assert len(contents.records) == 1 and "checksum" in contents.problem
