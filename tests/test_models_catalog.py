"""The built-in model catalog: it validates against its schema, names layouts that exist, and every layout is
the official network's — the one each engine and segmenter builds, key by key, in order."""

from __future__ import annotations

import json
import math

import pytest
import torch

from regionpaint.app.model_manager.catalog import CATALOG_FILE, SCHEMA_FILE, Catalog, load_catalog
from regionpaint.app.model_manager.errors import ModelError
from regionpaint.app.model_manager.layouts import builtin_layout, builtin_layout_names, first_mismatch
from tests.conftest import require_shared

SEVEN = {
    "spade-coco-stuff": ("engine", "spade", "coco-stuff", "spade_coco_stuff"),
    "spade-ade20k": ("engine", "spade", "ade20k", "spade_ade20k"),
    "spade-cityscapes": ("engine", "spade", "cityscapes", "spade_cityscapes"),
    "sean-celebahq": ("engine", "sean", "celebamask-hq", "sean_celebahq"),
    "pix2pixhd-label2city-1024p": ("engine", "pix2pixhd", "cityscapes", "pix2pixhd_label2city_1024p"),
    "bisenet-face": ("segmenter", "bisenet-face", "celebamask-hq", "bisenet_face_parsing"),
    "drn-d-105-cityscapes": ("segmenter", "drn-d-105", "cityscapes", "drn_d_105_cityscapes"),
}
#: layout -> the shared listing of the official network it must equal (specs made by the official code)
FROM_SPECS = {
    "spade_cityscapes": "spade_cityscapes_default.json",
    "spade_ade20k": "spade_ade20k_default.json",
    "sean_celebahq": "sean_celebahq_default.json",
    "pix2pixhd_label2city_1024p": "pix2pixhd_local_1024p_default.json",
}


def _raw() -> dict:
    return json.loads(CATALOG_FILE.read_text())


def test_the_catalog_validates_against_its_schema():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA_FILE.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(_raw())


def test_the_seven_official_models_each_name_a_layout_that_exists():
    catalog = load_catalog(use_env=False, use_plugins=False)
    assert set(catalog.entries) == set(SEVEN)
    for name, (kind, target, label_set, layout) in SEVEN.items():
        entry = catalog.entry(name)
        assert (entry.kind, entry.target, entry.label_set, entry.layout) == (kind, target, label_set, layout)
        assert builtin_layout(entry.layout) is not None
        assert entry.licence.title and entry.licence.url.startswith("https://")
        assert entry.homepage.startswith("https://github.com/")
        assert any(s.official for f in entry.files for s in f.sources), f"{name}: no official source"
    assert set(builtin_layout_names()) == {v[3] for v in SEVEN.values()}  # no layout ships unused
    # Only the CC BY-NC-SA models ask before their first download.
    assert {n for n, e in catalog.entries.items() if e.non_commercial} == {
        "spade-coco-stuff", "spade-ade20k", "spade-cityscapes", "sean-celebahq",
    }  # fmt: skip


def test_known_hashes_and_sizes_are_the_published_ones():
    """Only BiSeNet's is published (the Hub's Git LFS pointer of 79999_iter.pth); every other is left unknown."""
    catalog = load_catalog(use_env=False, use_plugins=False)
    known = {(e.name, f.path): (f.size, f.sha256) for e in catalog.entries.values() for f in e.files if f.sha256}
    assert known == {
        ("bisenet-face", "79999_iter.pth"): (
            53289463,
            "468e13ca13a9b43cc0881a9f99083a430e9c0a38abd935431d1c28ee94b26567",
        )
    }
    # The file's size is its tensors plus a few kB of pickle framing: the layout describes this very file.
    tensors = builtin_layout("bisenet_face_parsing").tensor_bytes
    assert 0 < 53289463 - tensors < 100_000


@pytest.mark.parametrize("layout_name", sorted(FROM_SPECS))
def test_engine_layouts_are_the_official_listings(layout_name):
    spec = json.loads(require_shared("specs", FROM_SPECS[layout_name]).read_text())
    expected = [(k, tuple(shape), dtype) for k, shape, dtype in spec["nets"]["G"]["keys"]]
    assert list(builtin_layout(layout_name).nets["G"]) == expected


def test_the_coco_stuff_layout_is_the_vae_listing_with_the_convolutional_input_layer():
    spec = json.loads(require_shared("specs", "spade_coco_vae_default.json").read_text())
    vae = {k: tuple(shape) for k, shape, _ in spec["nets"]["G"]["keys"]}
    coco = builtin_layout("spade_coco_stuff").shapes("G")
    assert [k for k in coco] == [k for k in vae]
    differ = {k for k in coco if coco[k] != vae[k]}
    assert differ == {"fc.weight", "fc.bias"}  # Linear(z, 16*ngf*sh*sw) in the VAE, Conv2d(184, 1024, 3) here
    assert coco["fc.weight"] == (1024, 184, 3, 3) and coco["fc.bias"] == (1024,)


def _spade_shapes(layout) -> list[tuple[str, tuple[int, ...]]]:
    from regionpaint.engines.spade.loading import infer_config
    from regionpaint.engines.spade.networks import SPADEGenerator, official_state_shapes

    config = infer_config(layout.shapes("G"), {}, layout.name)
    with torch.device("meta"):
        net = SPADEGenerator(config, spectral_hooks=False)
    return list(official_state_shapes(net).items())


def _sean_shapes(layout):
    from regionpaint.engines.sean.loading import build_generator, infer_config

    net = build_generator(infer_config(layout.shapes("G"), {}, layout.name), "meta")
    return [(k, tuple(v.shape)) for k, v in net.state_dict().items()]


def _pix2pixhd_shapes(layout):
    from regionpaint.engines.pix2pixhd.architecture import infer_generator
    from regionpaint.engines.pix2pixhd.networks import build_generator

    with torch.device("meta"):
        net = build_generator(infer_generator(layout.shapes("G"), layout.name))
    return [(k, tuple(v.shape)) for k, v in net.state_dict().items()]


def _segmenter_shapes(layout, segmenter_id):
    from regionpaint.plugins.manager import get_plugin_manager

    cls = get_plugin_manager().segmenter_class(segmenter_id)
    with torch.device("meta"):
        net = cls().build_network()
    listed = layout.shapes("weights")
    # The DRN release predates num_batches_tracked (the loader adds them): compare what the file holds.
    return [(k, tuple(v.shape)) for k, v in net.state_dict().items() if k in listed or "num_batches" not in k]


@pytest.mark.parametrize("name", sorted(SEVEN))
def test_every_layout_is_what_the_engine_or_segmenter_builds(name):
    """The engines' full-size networks were checked against the official code; the layouts must agree with
    them exactly, order included, or a verified download could still fail to load."""
    kind, target, _label_set, layout_name = SEVEN[name]
    layout = builtin_layout(layout_name)
    role = "G" if kind == "engine" else "weights"
    expected = [(k, s) for k, s, _ in layout.nets[role]]
    build = {"spade": _spade_shapes, "sean": _sean_shapes, "pix2pixhd": _pix2pixhd_shapes}.get(target)
    built = build(layout) if build else _segmenter_shapes(layout, target)
    assert built == expected
    assert sum(math.prod(s) for _, s in built) * 4 == pytest.approx(layout.tensor_bytes, rel=1e-3)


def test_first_mismatch_forgives_what_the_loaders_forgive():
    expected = {"a.weight": (2, 3), "bn.num_batches_tracked": ()}
    assert first_mismatch({"module.a.weight": (2, 3)}, expected) is None  # DataParallel prefix, old counters
    assert first_mismatch({"a.weight": (3, 2)}, expected) == (
        "key 'a.weight' has shape (3, 2), the official layout has (2, 3)"
    )
    assert first_mismatch({"a.weight": (2, 3), "b": (1,)}, expected) == "unexpected key 'b'"


BROKEN = {
    "an unknown field": (lambda e: e.update(mirror="https://x"), "unknown field 'mirror'"),
    "a short sha256": (lambda e: e["files"][0].update(sha256="abc"), "64 lowercase hex"),
    "a path with folders": (lambda e: e["files"][0].update(path="../latest_net_G.pth"), "plain file name"),
    "a member climbing out": (
        lambda e: e["files"][0]["sources"][0].update(member="../../x.pth"),
        "relative path inside the archive",
    ),
    "a missing layout": (lambda e: e.update(layout="no_such_layout"), "layout 'no_such_layout' does not exist"),
    "an undeclared licence": (lambda e: e.update(licence="WTFPL"), "licence 'WTFPL' is not declared"),
    "a bad kind": (lambda e: e.update(kind="upscaler"), "'kind' must be one of"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_the_parser_and_the_schema_refuse_the_same_mistakes(case):
    change, message = BROKEN[case]
    data = _raw()
    change(data["entries"][2])
    with pytest.raises(ModelError, match=message) as caught:
        Catalog().add_document(data, "broken.json")
    assert "broken.json: entry 'spade-cityscapes'" in str(caught.value) or "broken.json: entry" in str(caught.value)
    jsonschema = pytest.importorskip("jsonschema")
    if case not in ("a missing layout", "an undeclared licence"):  # cross-references: the parser's job only
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(data, json.loads(SCHEMA_FILE.read_text()))


def test_an_entry_name_already_in_the_catalog_is_refused():
    catalog = load_catalog(use_env=False, use_plugins=False)
    data = _raw()
    data["entries"] = [data["entries"][0]]
    data["archives"] = {}
    data["entries"][0]["files"][0]["sources"] = [{"kind": "url", "url": "https://example.org/x.pth"}]
    data["entries"][0]["files"] = data["entries"][0]["files"][:1]
    with pytest.raises(ModelError, match="model 'spade-coco-stuff' is already declared by the built-in catalog"):
        catalog.add_document(data, "plugin evil")


def test_a_broken_extra_catalog_is_skipped_and_the_built_in_entries_stay(tmp_path, monkeypatch, caplog):
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": 1, "entries": [{"name": "Bad Name"}]}')
    monkeypatch.setenv("REGIONPAINT_MODEL_CATALOG", str(bad))
    catalog = load_catalog(use_plugins=False)
    assert set(catalog.entries) == set(SEVEN)
    assert "bad.json" in caplog.text
