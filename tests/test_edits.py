"""Edits: brush geometry, fills, relabels, style and engine changes, and exact undo/redo."""

from __future__ import annotations

from collections import deque

import cv2
import numpy as np
import pytest

from regionpaint.app.model import (
    Document,
    EditError,
    EngineSettings,
    EventKind,
    LabelIdError,
    LabelSet,
    StyleMixError,
    StyleSourceData,
    add_style_source,
    assign_style,
    fill_polygon,
    fill_rectangle,
    flood_fill,
    paint_stroke,
    relabel_region,
    remove_style_source,
    replace_class,
    set_crossover,
    set_engine_settings,
    set_style_weight,
)
from regionpaint.app.model.edits import stroke_mask

TINY = LabelSet(
    id="tiny",
    display_name="Tiny",
    names=("sky", "tree", "road", "car", "person"),
    colors=((0, 0, 255), (0, 255, 0), (128, 128, 128), (255, 0, 0), (255, 255, 0)),
    dontcare_id=255,
)


def make_doc(height: int = 48, width: int = 64, fill: int = 0, instance: bool = False) -> Document:
    label = np.full((height, width), fill, np.uint8)
    return Document(label, TINY.id, instance=label.astype(np.int32) + 1000 if instance else None)


def style_image(seed: int, size: int = 8) -> StyleSourceData:
    rng = np.random.default_rng(seed)
    return StyleSourceData(rng.integers(0, 256, (size, size, 3), dtype=np.uint8), display_name=f"s{seed}")


def distance_to_segment(shape, a, b, samples: int = 4000) -> np.ndarray:
    """Distance of every pixel centre to segment a-b, measured against dense samples of it."""
    t = np.linspace(0.0, 1.0, samples)[:, None]
    along = np.asarray(a, float) + t * (np.asarray(b, float) - np.asarray(a, float))
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]]
    best = np.full(shape, np.inf)
    for x, y in along:
        np.minimum(best, (xs - x) ** 2 + (ys - y) ** 2, out=best)
    return np.sqrt(best)


# -- brush ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("a", "b", "radius"),
    [((5, 7), (50, 30), 3), ((60, 2), (3, 44), 1), ((10.3, 40.7), (52.2, 8.9), 6.5), ((20, 20), (20, 20), 4)],
)
def test_round_brush_covers_the_swept_disc_and_nothing_far(a, b, radius):
    doc = make_doc()
    assert paint_stroke(doc, TINY, [a, b], 3, radius)
    painted = doc.label == 3
    distance = distance_to_segment(doc.label.shape, a, b)
    assert painted[distance <= radius - 0.01].all()
    assert not painted[distance > radius + 1].any()
    assert doc.history.entries == [f"Brush {TINY.name_of(3)}"], "the step names the label painted"


def test_thin_stroke_has_no_gaps():
    doc = make_doc(80, 120)
    points = [(3, 5), (117, 41), (60, 77), (4, 60)]
    assert paint_stroke(doc, TINY, points, 4, 0)
    painted = (doc.label == 4).astype(np.uint8)
    count, _ = cv2.connectedComponents(painted, connectivity=8)
    assert count == 2  # background + one stroke
    for x, y in points:
        assert painted[y, x]
    assert doc.history.entries == ["Brush person"]  # a polyline is one step


def test_square_tip_covers_the_square_and_its_sweep():
    doc = make_doc()
    assert paint_stroke(doc, TINY, [(20, 20)], 1, 3, tip="square")
    expected = np.zeros_like(doc.label, bool)
    expected[17:24, 17:24] = True
    np.testing.assert_array_equal(doc.label == 1, expected)

    doc = make_doc()
    paint_stroke(doc, TINY, [(10, 10), (30, 25)], 1, 2, tip="square")
    painted = doc.label == 1
    for k in range(0, 21):  # squares centred on points along the segment
        x, y = 10 + k, 10 + 0.75 * k
        cy = round(y)
        assert painted[cy - 2 + (y % 1 > 0) : cy + 3 - (y % 1 > 0), x - 2 : x + 3].all()
    ys, xs = np.nonzero(painted)
    t = np.clip(((xs - 10) * 20 + (ys - 10) * 15) / (20**2 + 15**2), 0, 1)
    chebyshev = np.maximum(np.abs(xs - 10 - 20 * t), np.abs(ys - 10 - 15 * t))
    assert chebyshev.max() <= 2 + 1


def test_stroke_is_clipped_at_the_borders():
    doc = make_doc(20, 30)
    assert paint_stroke(doc, TINY, [(-10, 5), (10, 5)], 2, 2)
    assert (doc.label[3:8, 0:11] == 2).all()
    assert not paint_stroke(doc, TINY, [(-50, -50), (-20, -30)], 2, 5)
    assert doc.history.entries == ["Brush road"]
    assert stroke_mask([(100, 100)], 3, "round", (30, 20)) is None


def test_huge_brush_covers_everything():
    doc = make_doc(40, 60)
    assert paint_stroke(doc, TINY, [(30, 20)], 2, 500)
    assert (doc.label == 2).all()


def test_brush_rejects_bad_arguments():
    doc = make_doc()
    with pytest.raises(LabelIdError):
        paint_stroke(doc, TINY, [(1, 1)], 17, 2)
    with pytest.raises(EditError):
        paint_stroke(doc, TINY, [(1, 1)], 1, -1)
    with pytest.raises(EditError):
        paint_stroke(doc, TINY, [(1, float("nan"))], 1, 2)
    with pytest.raises(EditError):
        paint_stroke(doc, TINY, [(1, 1)], 1, 2, tip="star")
    other = LabelSet(id="other", display_name="Other", names=("a",), colors=((0, 0, 0),))
    with pytest.raises(EditError):
        paint_stroke(doc, other, [(1, 1)], 0, 2)
    assert doc.history.entries == []


def test_painting_the_same_label_records_nothing():
    doc = make_doc(fill=2)
    assert not paint_stroke(doc, TINY, [(3, 3), (30, 30)], 2, 4)
    assert doc.history.entries == []


def test_dontcare_id_is_a_valid_paint_label():
    doc = make_doc()
    assert paint_stroke(doc, TINY, [(5, 5)], 255, 1)
    assert doc.label[5, 5] == 255


def test_label_ids_above_255_widen_the_map():
    big = LabelSet(id="big", display_name="Big", names=[f"c{i}" for i in range(300)], colors=[(0, 0, 0)] * 300)
    doc = Document(np.zeros((10, 10), np.uint8), "big")
    assert paint_stroke(doc, big, [(5, 5)], 299, 1)
    assert doc.label.dtype == np.uint16 and doc.label[5, 5] == 299
    doc.history.undo()
    assert (doc.label == 0).all()


# -- fills ---------------------------------------------------------------------------------
def reference_component(label: np.ndarray, x: int, y: int) -> np.ndarray:
    """4-connected component under (x, y) by breadth-first search."""
    seen = np.zeros(label.shape, bool)
    value = label[y, x]
    queue = deque([(y, x)])
    seen[y, x] = True
    while queue:
        r, c = queue.popleft()
        for nr, nc in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
            inside = 0 <= nr < label.shape[0] and 0 <= nc < label.shape[1]
            if inside and not seen[nr, nc] and label[nr, nc] == value:
                seen[nr, nc] = True
                queue.append((nr, nc))
    return seen


def blocky_label(rng: np.random.Generator, height: int = 40, width: int = 56) -> np.ndarray:
    coarse = rng.integers(0, 3, (height // 4, width // 4), dtype=np.uint8)
    return cv2.resize(coarse, (width, height), interpolation=cv2.INTER_NEAREST)


@pytest.mark.parametrize("edit", [flood_fill, relabel_region])
def test_flood_fill_changes_exactly_the_connected_component(edit):
    rng = np.random.default_rng(5)
    for _ in range(15):
        label = blocky_label(rng)
        doc = Document(label, TINY.id, instance=np.arange(label.size, dtype=np.int32).reshape(label.shape))
        x, y = int(rng.integers(0, label.shape[1])), int(rng.integers(0, label.shape[0]))
        component = reference_component(label, x, y)
        assert edit(doc, TINY, (x, y), 4)
        np.testing.assert_array_equal(doc.label == 4, component)
        np.testing.assert_array_equal(doc.label[~component], label[~component])
        # Region tools keep instance ids so object outlines survive.
        np.testing.assert_array_equal(doc.instance.ravel(), np.arange(label.size))
        doc.history.undo()
        np.testing.assert_array_equal(doc.label, label)
    assert doc.history.undo_title is None and doc.history.redo_title in ("Flood fill person", "Relabel as person")


def test_flood_fill_outside_or_same_label_is_a_no_op():
    doc = make_doc(fill=1)
    assert not flood_fill(doc, TINY, (-5, 3), 2)
    assert not flood_fill(doc, TINY, (3, 3), 1)
    assert doc.history.entries == []


def test_polygon_fill_matches_point_in_polygon():
    doc = make_doc(60, 80, instance=True)
    triangle = [(5.0, 4.0), (70.5, 20.0), (20.0, 55.0)]
    assert fill_polygon(doc, TINY, triangle, 3)
    painted = doc.label == 3
    contour = np.array(triangle, np.float32).reshape(-1, 1, 2)
    for y in range(doc.height):
        for x in range(doc.width):
            signed = cv2.pointPolygonTest(contour, (float(x), float(y)), True)
            if signed > 0.5:
                assert painted[y, x], (x, y)
            elif signed < -1.0:
                assert not painted[y, x], (x, y)
    # Shape tools write the class into the instance map: the drawn shape gets its own outline.
    assert (doc.instance[painted] == 3).all()
    assert not fill_polygon(doc, TINY, [(1, 1), (5, 5)], 3)  # fewer than 3 vertices


def test_axis_aligned_polygon_and_rectangle_fill_exact_pixels():
    doc = make_doc()
    assert fill_polygon(doc, TINY, [(2, 3), (10, 3), (10, 8), (2, 8)], 1)
    expected = np.zeros_like(doc.label, bool)
    expected[3:9, 2:11] = True
    np.testing.assert_array_equal(doc.label == 1, expected)

    doc = make_doc()
    assert fill_rectangle(doc, TINY, (10, 8), (2, 3), 1)  # corners in any order, both included
    np.testing.assert_array_equal(doc.label == 1, expected)
    assert fill_rectangle(doc, TINY, (-20, -20), (1, 1), 2)
    assert (doc.label[0:2, 0:2] == 2).all() and (doc.label == 2).sum() == 4
    assert not fill_rectangle(doc, TINY, (-20, -20), (-1, -1), 2)


def test_replace_class_is_global_and_keeps_instances():
    rng = np.random.default_rng(2)
    label = blocky_label(rng)
    instance = rng.integers(0, 50, label.shape).astype(np.int32)
    doc = Document(label, TINY.id, instance=instance)
    assert replace_class(doc, TINY, 1, 4)
    np.testing.assert_array_equal(doc.label, np.where(label == 1, 4, label))
    np.testing.assert_array_equal(doc.instance, instance)
    assert doc.history.entries == ["Replace tree → person"]
    assert not replace_class(doc, TINY, 1, 4)  # nothing of class 1 left
    with pytest.raises(LabelIdError):
        replace_class(doc, TINY, 0, 99)


def test_edits_notify_with_the_changed_box():
    doc = make_doc(instance=True)
    events = []
    unsubscribe = doc.subscribe(events.append)
    fill_rectangle(doc, TINY, (4, 5), (9, 7), 2)
    kinds = [event.kind for event in events]
    assert kinds == [EventKind.LABEL, EventKind.INSTANCE, EventKind.HISTORY]
    assert events[0].bbox == (4, 5, 10, 8)
    events.clear()
    doc.history.undo()
    assert events[0].kind == EventKind.INSTANCE and events[0].bbox == (4, 5, 10, 8)
    unsubscribe()
    events.clear()
    doc.history.redo()
    assert events == []


# -- styles and engine ---------------------------------------------------------------------
def test_style_assignments_weights_and_crossover():
    doc = make_doc()
    assert add_style_source(doc, "a", style_image(1))
    assert add_style_source(doc, "b", style_image(2, size=12))
    with pytest.raises(EditError):
        add_style_source(doc, "a", style_image(3))

    assert assign_style(doc, TINY, [("a", 1.0)])  # all regions
    assert doc.default_style == (("a", 1.0),) and doc.region_styles == {}
    assert assign_style(doc, TINY, [("a", 0.25), ("b", 0.75)], regions=[1, 3])
    assert doc.style_of_region(3) == (("a", 0.25), ("b", 0.75))
    assert doc.style_of_region(2) == (("a", 1.0),)
    assert not assign_style(doc, TINY, [("a", 0.25), ("b", 0.75)], regions=[1, 3])  # no change, no step
    with pytest.raises(StyleMixError):
        assign_style(doc, TINY, [("a", 0.5), ("b", 0.4)], regions=[1])
    with pytest.raises(StyleMixError):
        assign_style(doc, TINY, [("zzz", 1.0)], regions=[1])
    with pytest.raises(LabelIdError):
        assign_style(doc, TINY, [("a", 1.0)], regions=[42])

    assert set_style_weight(doc, TINY, 2, "b", 0.3)  # region 2 starts from the default mix
    assert doc.region_styles[2] == (("a", pytest.approx(0.7)), ("b", 0.3))
    assert set_style_weight(doc, TINY, None, "b", 1.0)
    assert doc.default_style == (("a", 0.0), ("b", 1.0))

    assert set_crossover(doc, "up_0", "b")
    assert doc.crossover == {"up_0": "b"}
    with pytest.raises(EditError):
        set_crossover(doc, "up_1", "nope")

    assert assign_style(doc, TINY, None, regions=[1])
    assert 1 not in doc.region_styles

    before = (dict(doc.region_styles), doc.default_style, dict(doc.crossover))
    assert remove_style_source(doc, "b")
    assert "b" not in doc.style_sources and doc.crossover == {}
    assert all(name != "b" for mix in doc.region_styles.values() for name, _ in mix)
    assert doc.default_style == (("a", 1.0),)
    doc.history.undo()
    assert (dict(doc.region_styles), doc.default_style, dict(doc.crossover)) == before
    assert "b" in doc.style_sources


def test_engine_settings_are_undoable():
    doc = make_doc()
    assert set_engine_settings(doc, engine_id="spade", seed=7, options={"use_vae": True})
    assert doc.engine == EngineSettings(engine_id="spade", seed=7, options={"use_vae": True})
    assert not set_engine_settings(doc, seed=7)
    assert set_engine_settings(doc, EngineSettings(engine_id="sean", output_size=(512, 256)))
    with pytest.raises(EditError):
        set_engine_settings(doc, colour="red")
    doc.history.undo()
    assert doc.engine.engine_id == "spade"
    doc.history.undo()
    assert doc.engine == EngineSettings()


def test_slider_drag_in_a_group_is_one_step_and_no_net_change_is_none():
    doc = make_doc()
    add_style_source(doc, "a", style_image(1))
    add_style_source(doc, "b", style_image(2))
    with doc.history.group("Weight"):
        for weight in np.linspace(0, 1, 11):
            set_style_weight(doc, TINY, 1, "b", float(weight))
    assert doc.history.entries[-1] == "Weight" and len(doc.history.entries) == 3
    with doc.history.group("Seed"):
        set_engine_settings(doc, seed=5)
        set_engine_settings(doc, seed=0)
    assert len(doc.history.entries) == 3


# -- the whole thing -----------------------------------------------------------------------
def snapshot(doc: Document) -> tuple:
    return (
        doc.label.copy(),
        doc.instance.copy(),
        dict(doc.style_sources),
        dict(doc.region_styles),
        doc.default_style,
        dict(doc.crossover),
        doc.engine,
    )


def assert_same(left: tuple, right: tuple) -> None:
    np.testing.assert_array_equal(left[0], right[0])
    assert left[0].dtype == right[0].dtype
    np.testing.assert_array_equal(left[1], right[1])
    assert left[2:] == right[2:]


def random_edit(doc: Document, rng: np.random.Generator) -> None:
    height, width = doc.label.shape
    label_id = int(rng.choice([0, 1, 2, 3, 4, 255]))

    def point():
        return (float(rng.uniform(-10, width + 10)), float(rng.uniform(-10, height + 10)))

    kind = int(rng.integers(0, 11))
    if kind <= 2:
        points = [point() for _ in range(int(rng.integers(1, 6)))]
        tip = "round" if kind < 2 else "square"
        paint_stroke(doc, TINY, points, label_id, float(rng.uniform(0, 40)), tip=tip)
    elif kind == 3:
        with doc.history.group("Brush"):
            start = np.array(point())
            for step in rng.normal(0, 6, size=(int(rng.integers(2, 30)), 2)):
                paint_stroke(doc, TINY, [start, start + step], label_id, float(rng.uniform(0, 8)))
                start = start + step
    elif kind == 4:
        flood_fill(doc, TINY, point(), label_id)
    elif kind == 5:
        relabel_region(doc, TINY, point(), label_id)
    elif kind == 6:
        fill_polygon(doc, TINY, [point() for _ in range(int(rng.integers(3, 8)))], label_id)
    elif kind == 7:
        fill_rectangle(doc, TINY, point(), point(), label_id)
    elif kind == 8:
        replace_class(doc, TINY, int(rng.integers(0, 5)), label_id)
    elif kind == 9:
        names = sorted(doc.style_sources)
        chosen = list(rng.choice(names, size=int(rng.integers(1, len(names) + 1)), replace=False))
        weights = rng.dirichlet(np.ones(len(chosen)))
        mix = [(str(name), float(w)) for name, w in zip(chosen, weights, strict=True)]
        regions = None if rng.random() < 0.2 else [int(r) for r in rng.choice(5, size=2, replace=False)]
        assign_style(doc, TINY, mix, regions=regions)
        set_style_weight(doc, TINY, int(rng.integers(0, 5)), str(rng.choice(names)), float(rng.random()))
    else:
        set_crossover(doc, f"block{int(rng.integers(0, 3))}", str(rng.choice(sorted(doc.style_sources))))
        set_engine_settings(doc, seed=int(rng.integers(0, 5)), noise=bool(rng.random() < 0.5))


def test_random_edits_undo_all_and_redo_all_exactly():
    rng = np.random.default_rng(1234)
    label = blocky_label(rng, 256, 512)
    instance = (label.astype(np.int32) * 1000 + rng.integers(0, 3, label.shape)).astype(np.int32)
    doc = Document(label, TINY.id, instance=instance)
    for seed in range(3):
        add_style_source(doc, f"style{seed}", style_image(seed))
    doc.history.clear()
    original = snapshot(doc)
    for _ in range(200):
        random_edit(doc, rng)
    steps = doc.history.index
    assert steps > 150
    final = snapshot(doc)
    assert not np.array_equal(final[0], original[0])

    while doc.history.can_undo:
        doc.history.undo()
    assert_same(snapshot(doc), original)
    while doc.history.can_redo:
        doc.history.redo()
    assert doc.history.index == steps
    assert_same(snapshot(doc), final)
