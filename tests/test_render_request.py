"""From a document to a render job (regionpaint.app.render.from_document) and how the render service fits it to an
engine (regionpaint.app.render.service): what is copied, what engines get."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from regionpaint.app.model import edits
from regionpaint.app.model.document import Document, StyleSourceData
from regionpaint.app.model.labelsets import CELEBAMASK_HQ
from regionpaint.app.render.from_document import RenderRequestError, job_from_document
from regionpaint.app.render.service import fit_job, uses_engine_styles
from regionpaint.engines.base import INSTANCE_FEATURES, LATENT_Z, MEAN_STYLE, REGION_STYLES, EngineError, InputError
from regionpaint.plugins.manager import get_plugin_manager
from tests.conftest import REPO


def request_from_document(doc: Document, capabilities=None):
    """(engine id, checkpoint, device, request); fitted to ``capabilities`` with the document's engine."""
    job = job_from_document(doc)
    request = job.request
    if capabilities is not None:
        engine_class = get_plugin_manager().engine_class(job.engine_id or "sean")
        request = fit_job(job, engine_class, frozenset(capabilities))
    return job.engine_id, job.checkpoint, job.device, request


def fitted_for(doc: Document, engine_id: str, capabilities):
    job = job_from_document(doc)
    return fit_job(job, get_plugin_manager().engine_class(engine_id), frozenset(capabilities))


SEAN_CASE = REPO.parent / "shared" / "refs" / "sean_celebahq"
HAIR, SKIN = 13, 1


def styled_document() -> Document:
    label = np.zeros((24, 32), np.uint8)
    label[8:20, 8:24] = SKIN
    label[:6] = HAIR
    instance = label.astype(np.int32) * 1000
    doc = Document(label, CELEBAMASK_HQ.id, instance=instance)
    rng = np.random.default_rng(0)
    for name in ("A", "B"):
        image = rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)
        edits.add_style_source(doc, name, StyleSourceData(image, label.copy(), None, f"{name}.png"))
    edits.assign_style(doc, CELEBAMASK_HQ, (("A", 1.0),))
    edits.assign_style(doc, CELEBAMASK_HQ, (("A", 0.25), ("B", 0.75)), [HAIR])
    edits.set_crossover(doc, "up_1", "B")
    edits.set_engine_settings(
        doc, engine_id="sean", checkpoint="/models/sean", device="cpu", seed=7, noise=False, output_size=(64, 48)
    )
    return doc


def test_the_request_carries_everything_the_document_says():
    doc = styled_document()
    engine_id, checkpoint, device, request = request_from_document(doc)
    assert (engine_id, checkpoint, device) == ("sean", "/models/sean", "cpu")
    assert np.array_equal(request.label, doc.label) and np.array_equal(request.instance, doc.instance)
    assert set(request.styles) == {"A", "B"}
    assert request.styles["B"].image is doc.style_sources["B"].image
    assert request.styles["B"].label is doc.style_sources["B"].label and request.styles["B"].name == "B"
    assert request.region_styles == {HAIR: (("A", 0.25), ("B", 0.75))}
    assert request.default_style == (("A", 1.0),)
    assert request.crossover == {"up_1": "B"}
    assert (request.seed, request.noise, request.size) == (7, False, (64, 48))
    assert request.feature_source is None and request.sample is False


def test_the_label_maps_are_copies():
    doc = styled_document()
    _, _, _, request = request_from_document(doc)
    edits.fill_rectangle(doc, CELEBAMASK_HQ, (0, 0), (31, 23), 18)
    assert (request.label != 18).any() and (request.instance != 18).all()


def test_no_checkpoint_is_an_error_with_a_hint():
    doc = Document(np.zeros((4, 4), np.uint8), CELEBAMASK_HQ.id)
    with pytest.raises(RenderRequestError, match="Engine panel"):
        request_from_document(doc)


def test_an_empty_default_style_means_the_engine_chooses():
    doc = styled_document()
    edits.assign_style(doc, CELEBAMASK_HQ, None)
    assert request_from_document(doc)[3].default_style is None


def test_engine_styles_reach_engines_with_mean_codes_only():
    doc = styled_document()
    edits.assign_style(doc, CELEBAMASK_HQ, (("@random", 0.5), ("B", 0.5)), [HAIR])
    edits.assign_style(doc, CELEBAMASK_HQ, (("@mean", 1.0),), [SKIN])
    sean = request_from_document(doc, {REGION_STYLES, MEAN_STYLE})[3]
    assert sean.region_styles[HAIR] == (("@random", 0.5), ("B", 0.5)) and uses_engine_styles(sean)
    other = request_from_document(doc, {REGION_STYLES})[3]
    assert other.region_styles == {HAIR: (("B", 1.0),)}, "dropped and renormalised; SKIN falls back"
    assert not uses_engine_styles(other)


def test_an_engine_recognised_later_gets_the_request_fitted_then():
    doc = styled_document()
    edits.assign_style(doc, CELEBAMASK_HQ, (("@mean", 1.0),), [SKIN])
    edits.set_engine_settings(doc, engine_id="")  # "Auto": recognised from the checkpoint by the worker
    engine_id, _, _, raw = request_from_document(doc)
    assert engine_id == "" and raw.region_styles[SKIN] == (("@mean", 1.0),), "nothing dropped before it is known"
    fitted = fitted_for(doc, "sean", {REGION_STYLES})
    assert SKIN not in fitted.region_styles and raw.region_styles[SKIN], "a new request; the raw one is kept"


def test_spade_random_z_sends_no_style_photo():
    doc = styled_document()
    edits.set_engine_settings(doc, options={"spade_z": "random"})
    request = fitted_for(doc, "spade", {LATENT_Z})
    assert request.styles == {} and request.default_style is None and request.sample
    assert fitted_for(doc, "spade", set()).styles, "checkpoints without a VAE ignore the option"
    assert fitted_for(doc, "sean", {REGION_STYLES}).styles, "other engines ignore the option"


def test_pix2pixhd_options_become_clusters_and_feature_source():
    doc = styled_document()
    edits.set_engine_settings(
        doc, options={"instance_clusters": {"13000": 2}, "class_clusters": {"1": 4}, "feature_source": "B"}
    )
    request = fitted_for(doc, "pix2pixhd", {INSTANCE_FEATURES})
    assert request.instance_clusters == {13000: 2} and request.class_clusters == {1: 4}
    assert request.feature_source == "B"
    assert fitted_for(doc, "pix2pixhd", set()).instance_clusters == {}, "no features: no cluster picks"
    edits.set_engine_settings(doc, options={"instance_clusters": ["not", "a", "map"]})
    with pytest.raises(EngineError, match="instance_clusters"):
        fitted_for(doc, "pix2pixhd", {INSTANCE_FEATURES})


def test_importing_it_loads_neither_qt_nor_torch():
    code = (
        "import sys, regionpaint.app.render.from_document, regionpaint.app.render.service;"
        "print(sorted(m for m in sys.modules if m in ('torch', 'PySide6')))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]", result.stderr


def test_mean_and_random_styles_render_with_the_sean_reference():
    if not (SEAN_CASE / "checkpoints" / "sean_celebahq").is_dir():
        pytest.skip("../shared/refs/sean_celebahq is not present")
    from regionpaint.plugins.manager import get_plugin_manager

    engine = get_plugin_manager().engine_class("sean")()
    engine.load(SEAN_CASE / "checkpoints" / "sean_celebahq", "cpu")
    doc = styled_document()
    edits.set_engine_settings(doc, output_size=None)
    edits.assign_style(doc, CELEBAMASK_HQ, (("@random", 1.0),), [HAIR])
    _, _, _, request = request_from_document(doc)
    engine.set_mean_styles([s for s in request.styles.values() if s.label is not None])
    first = engine.generate(request).image
    edits.set_engine_settings(doc, seed=8)
    _, _, _, request = request_from_document(doc)
    engine.set_mean_styles([s for s in request.styles.values() if s.label is not None])
    assert not np.array_equal(engine.generate(request).image, first), "another seed, another random style"
    with_random = request
    engine.set_mean_styles(None)  # back to the checkpoint's own statistics: this one has none
    with pytest.raises(InputError, match="mean codes"):
        engine.generate(with_random)
