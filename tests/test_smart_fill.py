"""Smart fill (GrabCut) and snap brush (watershed): they follow the photo's edges, one undo step each."""

from __future__ import annotations

import numpy as np
import pytest

from regionpaint.app.model.document import Document
from regionpaint.app.model.edits import EditError, paint_stroke
from regionpaint.app.model.labelsets import CELEBAMASK_HQ
from regionpaint.app.model.smart_fill import smart_fill_box, smart_fill_stroke, snap_paint_stroke

HAIR = CELEBAMASK_HQ.id_of("hair")


def disc_photo(size: int = 160, radius: int = 45, centre: tuple[int, int] = (80, 80)) -> tuple[np.ndarray, np.ndarray]:
    """A noisy red disc on a noisy green-grey background, and the disc's mask."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:size, :size]
    disc = (xx - centre[0]) ** 2 + (yy - centre[1]) ** 2 <= radius**2
    photo = np.where(disc[..., None], [200, 40, 40], [70, 140, 90]).astype(np.float64)
    photo += rng.normal(0, 12, photo.shape)
    return np.clip(photo, 0, 255).astype(np.uint8), disc


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


def make_doc(photo: np.ndarray | None) -> Document:
    size = (160, 160) if photo is None else photo.shape[:2]
    return Document(np.zeros(size, np.uint8), CELEBAMASK_HQ.id, photo=photo)


def test_smart_fill_grows_a_stroke_to_the_object_in_one_undo_step():
    photo, disc = disc_photo()
    doc = make_doc(photo)
    assert smart_fill_stroke(doc, CELEBAMASK_HQ, [(70, 80), (90, 80)], HAIR)
    filled = doc.label == HAIR
    assert iou(filled, disc) > 0.9  # a 20 px stroke fills most of a 90 px disc and stops at its edge
    assert doc.history.entries == ["Smart fill"]
    doc.history.undo()
    assert not (doc.label == HAIR).any()


def test_smart_fill_from_a_box():
    photo, disc = disc_photo()
    doc = make_doc(photo)
    assert smart_fill_box(doc, CELEBAMASK_HQ, (30, 30), (130, 130), HAIR)
    assert iou(doc.label == HAIR, disc) > 0.9
    assert doc.history.entries == ["Smart fill"]


def test_smart_fill_grows_its_box_for_a_big_object():
    photo, disc = disc_photo(size=240, radius=100, centre=(120, 120))
    doc = make_doc(photo)
    assert smart_fill_stroke(doc, CELEBAMASK_HQ, [(115, 120), (125, 120)], HAIR)  # a 10 px stroke, 200 px disc
    assert iou(doc.label == HAIR, disc) > 0.85


def test_snap_brush_stops_at_the_edge_a_plain_brush_crosses():
    photo, disc = disc_photo()
    stroke = [(80, 40), (80, 60)]  # inside the disc, 5..25 px from its top edge at y = 35
    plain, snapped = make_doc(photo), make_doc(photo)
    paint_stroke(plain, CELEBAMASK_HQ, stroke, HAIR, 12)
    assert snap_paint_stroke(snapped, CELEBAMASK_HQ, stroke, HAIR, 12)
    outside = ~disc
    assert (plain.label[outside] == HAIR).sum() > 50
    assert (snapped.label[outside] == HAIR).sum() <= 5
    # Inside the disc it paints about what the brush covers, not a thin core only.
    assert (snapped.label[disc] == HAIR).sum() >= 0.7 * (plain.label[disc] == HAIR).sum()
    assert snapped.history.entries == ["Snap brush"]


def test_without_a_photo_the_smart_fill_refuses_and_the_snap_brush_paints_plainly():
    doc = make_doc(None)
    with pytest.raises(EditError, match="no photo"):
        smart_fill_stroke(doc, CELEBAMASK_HQ, [(10, 10), (20, 10)], HAIR)
    assert snap_paint_stroke(doc, CELEBAMASK_HQ, [(10, 10), (20, 10)], HAIR, 3)
    reference = make_doc(None)
    paint_stroke(reference, CELEBAMASK_HQ, [(10, 10), (20, 10)], HAIR, 3)
    assert np.array_equal(doc.label, reference.label)


def test_strokes_outside_the_photo_change_nothing():
    photo, _ = disc_photo()
    doc = make_doc(photo)
    assert not smart_fill_stroke(doc, CELEBAMASK_HQ, [(-50, -50), (-40, -50)], HAIR)
    assert not smart_fill_box(doc, CELEBAMASK_HQ, (-50, -50), (-40, -40), HAIR)
    assert not doc.history.entries


def test_one_stroke_on_real_street_photo_finds_sky_and_a_car():
    """On the Cityscapes fixture, a stroke along the sky / the biggest car fills most of it (bench: 0.81 / 0.84)."""
    from bench import smart_fill_accuracy

    cases = {name: case for name, *case in smart_fill_accuracy.fixture_cases() if name.startswith("cityscapes")}
    if not cases:
        pytest.skip("the Cityscapes fixture photo is not present")
    photo, label, label_set, _ = next(iter(cases.values()))
    for region, floor in (("sky", 0.7), ("car", 0.7)):
        found_iou, _seconds = smart_fill_accuracy.measure(photo, label, label_set.id_of(region))
        assert found_iou > floor, region
