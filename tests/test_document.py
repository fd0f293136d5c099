"""The document: layer checks, sizes, style mixes, settings values and change notification."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from regionpaint.app.model import (
    Document,
    DocumentError,
    EngineSettings,
    EventKind,
    SizeMismatchError,
    StyleMixError,
    StyleSourceData,
    check_style_mix,
    mix_with_weight,
)
from regionpaint.app.model.document import fit_layers, scale_id_map


def test_layers_are_checked_and_normalised():
    label = np.array([[0, 3], [7, 7]], np.int64)
    doc = Document(label, "cityscapes", instance=label * 1000)
    assert doc.label.dtype == np.uint8 and doc.instance.dtype == np.int32
    assert doc.size == (2, 2) and (doc.width, doc.height) == (2, 2)
    assert doc.present_class_ids() == [0, 3, 7]
    assert Document(np.array([[300]]), "big").label.dtype == np.uint16
    with pytest.raises(DocumentError, match="0..65535"):
        Document(np.array([[-1]]), "cityscapes")
    with pytest.raises(DocumentError, match="integer"):
        Document(np.zeros((2, 2), np.float32), "cityscapes")
    with pytest.raises(DocumentError, match="RGB"):
        Document(np.zeros((2, 2), np.uint8), "cityscapes", photo=np.zeros((2, 2), np.uint8))
    with pytest.raises(DocumentError, match="label set"):
        Document(np.zeros((2, 2), np.uint8), "")


def test_document_owns_its_pixel_layers():
    label = np.zeros((3, 3), np.uint8)
    doc = Document(label, "cityscapes")
    doc.label[0, 0] = 5
    assert label[0, 0] == 0


def test_size_mismatch_names_the_files():
    label = np.zeros((10, 20), np.uint8)
    photo = np.zeros((20, 40, 3), np.uint8)
    with pytest.raises(SizeMismatchError) as caught:
        Document(label, "cityscapes", photo=photo, names={"photo": "p.jpg", "label": "l.png"})
    message = str(caught.value)
    assert "p.jpg" in message and "l.png" in message and "40x20" in message and "20x10" in message
    with pytest.raises(SizeMismatchError, match="instance map"):
        Document(label, "cityscapes", instance=np.zeros((10, 21), np.int32))


def test_resize_brings_everything_to_the_label_size():
    label = np.zeros((10, 20), np.uint8)
    photo = np.random.default_rng(0).integers(0, 256, (20, 40, 3), dtype=np.uint8)
    instance = np.arange(20 * 40, dtype=np.int32).reshape(20, 40)
    doc = Document(label, "cityscapes", photo=photo, instance=instance, resize=True)
    assert doc.photo.shape == (10, 20, 3) and doc.photo.dtype == np.uint8
    assert doc.instance.shape == (10, 20)
    assert set(np.unique(doc.instance)) <= set(instance.ravel())  # nearest: no new ids


def test_resize_to_an_explicit_size_uses_nearest_for_ids():
    label = np.array([[1, 2], [3, 4]], np.uint8)
    resized, photo, instance = fit_layers(label, resize=True, size=(4, 4))
    np.testing.assert_array_equal(resized, np.kron(label, np.ones((2, 2), np.uint8)))
    assert photo is None and instance is None
    assert scale_id_map(np.array([[70000, -5]], np.int32), (4, 1)).tolist() == [[70000, 70000, -5, -5]]


def test_style_source_checks_its_own_sizes():
    image = np.zeros((8, 12, 3), np.uint8)
    source = StyleSourceData(image, label=np.zeros((8, 12), np.int64), instance=np.zeros((8, 12), np.uint16))
    assert source.size == (12, 8) and source.label.dtype == np.uint8 and source.instance.dtype == np.int32
    with pytest.raises(SizeMismatchError, match="face"):
        StyleSourceData(image, label=np.zeros((8, 11), np.uint8), display_name="face")
    with pytest.raises(DocumentError):
        StyleSourceData(np.zeros((8, 12), np.uint8))


def test_check_style_mix():
    assert check_style_mix([("a", 0.5), ("b", 0.5)], {"a", "b"}) == (("a", 0.5), ("b", 0.5))
    assert check_style_mix([("a", 0.9995)], {"a"}) == (("a", 0.9995),)  # within 1e-3
    assert check_style_mix([], allow_empty=True) == ()
    for bad, match in [
        ([("a", 0.5), ("b", 0.4)], "sum"),
        ([("a", 1.5), ("b", -0.5)], "negative"),
        ([("a", 0.5), ("a", 0.5)], "twice"),
        ([("c", 1.0)], "unknown"),
        ([], "empty"),
        ([("a",)], "pairs"),
    ]:
        with pytest.raises(StyleMixError, match=match):
            check_style_mix(bad, {"a", "b"})


def test_mix_with_weight_rescales_the_others():
    mix = (("a", 0.5), ("b", 0.25), ("c", 0.25))
    new = mix_with_weight(mix, "a", 0.8)
    assert [name for name, _ in new] == ["a", "b", "c"]
    assert dict(new) == pytest.approx({"a": 0.8, "b": 0.1, "c": 0.1})
    assert mix_with_weight((("a", 1.0),), "b", 0.3) == (("a", pytest.approx(0.7)), ("b", 0.3))
    assert mix_with_weight((("a", 1.0),), "a", 0.3) == (("a", 1.0),)
    assert dict(mix_with_weight((("a", 1.0), ("b", 0.0), ("c", 0.0)), "a", 0.5)) == pytest.approx(
        {"a": 0.5, "b": 0.25, "c": 0.25}
    )
    with pytest.raises(StyleMixError):
        mix_with_weight(mix, "a", 1.5)


def test_engine_settings_values():
    settings = EngineSettings(engine_id="spade", options={"x": 1}, output_size=[512, 256])
    assert settings.output_size == (512, 256)
    assert settings.replaced(seed=3) == EngineSettings(
        engine_id="spade", options={"x": 1}, output_size=(512, 256), seed=3
    )
    for bad in [{"seed": 1.5}, {"seed": True}, {"output_size": (0, 4)}, {"output_size": (4,)}]:
        with pytest.raises(DocumentError):
            EngineSettings(**bad)


def test_subscribers_and_render():
    doc = Document(np.zeros((4, 4), np.uint8), "cityscapes")
    events = []
    unsubscribe = doc.subscribe(events.append)
    doc.set_render(np.zeros((8, 8, 3), np.uint8), 1.5)
    assert events == [(EventKind.RENDER, None)]
    assert doc.last_render.seconds == 1.5 and doc.history.entries == []  # not an undo step
    doc.replace_fields(default_style=(), region_styles={})
    assert [event.kind for event in events[1:]] == [EventKind.STYLE_ASSIGNMENTS]  # one event per kind
    unsubscribe()
    unsubscribe()  # twice is harmless
    doc.set_render(np.zeros((8, 8, 3), np.uint8), 2.0)
    assert len(events) == 2
    with pytest.raises(AttributeError):
        doc.replace_fields(label=None)


def test_a_failing_subscriber_does_not_stop_the_others(caplog):
    doc = Document(np.zeros((4, 4), np.uint8), "cityscapes")
    seen = []

    def broken(event):
        raise RuntimeError("view is gone")

    doc.subscribe(broken)
    doc.subscribe(seen.append)
    with caplog.at_level(logging.ERROR):
        doc.notify(EventKind.PHOTO)
    assert seen == [(EventKind.PHOTO, None)]
    assert "view is gone" in caplog.text


def test_style_of_region_falls_back_to_the_default():
    doc = Document(np.zeros((4, 4), np.uint8), "cityscapes")
    doc.replace_fields(default_style=(("a", 1.0),), region_styles={3: (("b", 1.0),)})
    assert doc.style_of_region(3) == (("b", 1.0),)
    assert doc.style_of_region(np.uint8(5)) == (("a", 1.0),)
    assert doc.layer("label") is doc.label
    with pytest.raises(DocumentError):
        doc.layer("instance")
