"""The edit mask: label changes, restyled regions, pix2pixHD cluster picks, global styles; grown by the reach."""

from __future__ import annotations

import numpy as np
import pytest

import regionpaint.engines.base as contract
from regionpaint.app.model import Document, edits
from regionpaint.app.model import edit_mask as em
from regionpaint.app.model.labelsets import CELEBAMASK_HQ

SEAN = {contract.REGION_STYLES, contract.STYLE_INTERPOLATION, contract.CROSSOVER, contract.MEAN_STYLE}
SPADE_VAE = {contract.LATENT_Z}
PIX2PIXHD = {contract.INSTANCE_MAP, contract.INSTANCE_FEATURES}
SKIN, HAIR, HAT = 1, 13, 14


def test_capability_names_mirror_the_engine_contract():
    assert em.REGION_STYLES == contract.REGION_STYLES
    assert em.LATENT_Z == contract.LATENT_Z
    assert em.INSTANCE_FEATURES == contract.INSTANCE_FEATURES


def face_document() -> Document:
    label = np.zeros((40, 60), np.uint8)
    label[10:30, 20:40] = SKIN
    label[2:12, 15:45] = HAIR
    photo = np.random.default_rng(0).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    doc = Document(label, CELEBAMASK_HQ.id, photo=photo)
    em.start_photo_edit(doc)
    doc.history.clear()
    return doc


def mask_of(doc: Document, capabilities) -> em.EditMask:
    return em.compute_edit_mask(em.document_edit_inputs(doc), capabilities)


def test_an_unedited_photo_document_has_an_empty_mask_for_every_engine():
    doc = face_document()
    for caps in (SEAN, SPADE_VAE, PIX2PIXHD, set()):
        assert mask_of(doc, caps).empty, caps
    assert em.document_edit_inputs(Document(doc.label, CELEBAMASK_HQ.id)) is None  # no photo: nothing to keep


def test_a_label_edit_marks_exactly_the_changed_pixels():
    doc = face_document()
    edits.fill_rectangle(doc, CELEBAMASK_HQ, (16, 0), (44, 6), HAT)  # hair -> hat, part of it over the background
    mask = mask_of(doc, SEAN)
    np.testing.assert_array_equal(mask.mask, doc.label != doc.baseline)
    assert mask.mask.sum() == (doc.label != doc.baseline).sum() > 0


def test_a_hair_restyle_marks_the_hair_and_nothing_else():
    doc = face_document()
    doc.replace_fields(style_sources={**doc.style_sources, "B": doc.style_sources["photo"]})
    edits.assign_style(doc, CELEBAMASK_HQ, (("B", 1.0),), regions=[HAIR])
    np.testing.assert_array_equal(mask_of(doc, SEAN).mask, doc.label == HAIR)
    # The same document under an engine without region styles changes nothing.
    assert mask_of(doc, set()).empty


@pytest.mark.parametrize(
    "mix", [(("photo", 0.5), ("B", 0.5)), (("@random", 1.0),), (("@mean", 1.0),)], ids=["mix", "random", "mean"]
)
def test_mixes_and_engine_styles_count_as_restyles(mix):
    doc = face_document()
    doc.replace_fields(style_sources={**doc.style_sources, "B": doc.style_sources["photo"]})
    doc.replace_fields(region_styles={SKIN: mix})
    np.testing.assert_array_equal(mask_of(doc, SEAN).mask, doc.label == SKIN)


def test_a_crossover_from_another_source_or_another_default_changes_everything():
    doc = face_document()
    doc.replace_fields(style_sources={**doc.style_sources, "B": doc.style_sources["photo"]})
    doc.replace_fields(crossover={"up_0": "B"})
    assert mask_of(doc, SEAN).mask.all()
    doc.replace_fields(crossover={}, default_style=(("B", 1.0),))
    assert mask_of(doc, SEAN).mask.all()


def test_a_global_z_changes_everything_unless_it_is_the_photos():
    doc = face_document()
    edits.fill_rectangle(doc, CELEBAMASK_HQ, (0, 30), (5, 39), HAT)
    assert not mask_of(doc, SPADE_VAE).whole  # z encoded from the photo: only the label edit
    edits.set_engine_settings(doc, options={"spade_z": "random"})
    assert mask_of(doc, SPADE_VAE).whole
    # SEAN declares region styles: its style is not global even if a checkpoint also had a z.
    assert not mask_of(doc, SEAN | SPADE_VAE).whole


def test_pix2pixhd_cluster_picks_mark_their_instance_or_class():
    label = np.zeros((20, 30), np.uint8)
    label[5:15, 2:12] = 26
    label[5:15, 16:28] = 26
    instance = np.where(label == 26, 26000, 7).astype(np.int32)
    instance[:, 15:] = np.where(label[:, 15:] == 26, 26001, 7)
    doc = Document(label, "cityscapes", photo=np.zeros((20, 30, 3), np.uint8), instance=instance)
    em.start_photo_edit(doc)
    edits.set_engine_settings(doc, options={"feature_source": "photo", "instance_clusters": {"26001": 2}})
    np.testing.assert_array_equal(mask_of(doc, PIX2PIXHD).mask, instance == 26001)
    edits.set_engine_settings(doc, options={"feature_source": "photo", "class_clusters": {"26": 1}})
    np.testing.assert_array_equal(mask_of(doc, PIX2PIXHD).mask, label == 26)
    edits.set_engine_settings(doc, options={})  # features from the checkpoint's clusters, not the photo
    assert mask_of(doc, PIX2PIXHD).whole


def test_growing_reaches_the_engines_reach_scaled_to_the_photo():
    mask = np.zeros((64, 64), bool)
    mask[32, 32] = True
    radius = em.reach_in_pixels((64, 64), (16, 16), reach=2)
    assert radius == 8
    grown = em.grow_mask(mask, radius)
    ys, xs = np.nonzero(grown)
    assert ys.min() == 32 - radius and ys.max() == 32 + radius and xs.min() == 32 - radius
    assert not grown[32 - radius, 32 - radius]  # a disk, not a square
    assert em.reach_in_pixels((64, 64), None, reach=2) == 2
