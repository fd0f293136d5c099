"""check_engine's behaviour checks: dishonest engines fail, the built-ins and the example plugin pass.

Every capability check is shown failing on an engine that breaks that one promise (a real engine with one
input dropped or misused, or the deliberately dishonest engines of tests/broken_engines.py)."""

from __future__ import annotations

import dataclasses
import sys

import numpy as np
import pytest

from regionpaint.capability_checks import capability_checks
from regionpaint.engines.base import CROSSOVER, INSTANCE_MAP, MEAN_STYLE, REGION_STYLES, STYLE_INTERPOLATION
from regionpaint.testing import behaviour_inputs, check_engine
from tests.broken_engines import SeedIgnoringEngine, ZIgnoringEngine
from tests.conftest import REPO
from tests.plugin_env import EXAMPLE

DEMO = REPO / "assets" / "demo" / "models"


def demo_model(name: str):
    path = DEMO / f"{name}.safetensors"
    if not path.is_file():
        pytest.skip(f"{path} is not present")
    return path


@pytest.fixture
def transfer_engine():
    sys.path.insert(0, str(EXAMPLE / "src"))
    try:
        from regionpaint_transfer.engine import TransferEngine

        yield TransferEngine
    finally:
        sys.path.remove(str(EXAMPLE / "src"))


def test_an_engine_that_declares_noise_but_ignores_the_seed_fails():
    with pytest.raises(AssertionError) as failure:
        check_engine(SeedIgnoringEngine, check_import=False)
    assert "seeded noise[celebamask-hq]: declares noise, but seeds 5 and 6 gave the same image" in str(failure.value)


def test_an_engine_that_declares_latent_z_but_ignores_z_fails():
    with pytest.raises(AssertionError) as failure:
        check_engine(ZIgnoringEngine, check_import=False)
    assert "latent_z[celebamask-hq]: declares latent_z, but two different z gave the same image" in str(failure.value)


def test_the_example_plugin_passes_every_behaviour_check(transfer_engine):
    passed = check_engine(transfer_engine, label_sets=["cityscapes"], check_import=False)
    for name in ("repeatable", "seeded noise", REGION_STYLES, STYLE_INTERPOLATION, "undeclared crossover"):
        assert f"{name}[cityscapes]" in passed


@pytest.mark.parametrize(
    ("engine_module", "model", "label_set", "behaviours"),
    [
        ("sean", "sean_faces", "celebamask-hq", ("seeded noise", STYLE_INTERPOLATION, CROSSOVER, MEAN_STYLE)),
        ("spade", "spade_streets", "cityscapes", (INSTANCE_MAP, "undeclared latent_z", "undeclared region_styles")),
        ("pix2pixhd", "pix2pixhd_streets", "cityscapes", (INSTANCE_MAP, "instance_features", "undeclared crossover")),
    ],
)
def test_the_builtin_engines_pass_on_their_demo_models(engine_module, model, label_set, behaviours):
    from regionpaint.plugins.manager import PluginManager

    engine_class = PluginManager(load_entry_points=False).engine_class(engine_module)
    passed = check_engine(engine_class, demo_model(model), label_sets=[label_set], check_import=False)
    for name in ("repeatable", *behaviours):
        assert f"{name}[{label_set}]" in passed


def test_spade_with_a_vae_passes_the_latent_z_checks(tmp_path):
    from regionpaint.engines.spade.engine import SpadeEngine
    from tests.factories import make_tiny_checkpoint

    # crop 256: the smallest size whose VAE encoder is usable (it ends in a 4x4 map of 256/2^6).
    folder = make_tiny_checkpoint(tmp_path / "vae", label_nc=35, use_vae=True, crop_size=256, aspect_ratio=2.0)
    passed = check_engine(SpadeEngine, folder, label_sets=["cityscapes"], check_import=False)
    assert "latent_z[cityscapes]" in passed


# ---- each behaviour check fails on an engine that breaks its promise ----


def _run_check(engine, name: str, label_set: str) -> None:
    offered = frozenset(engine.capabilities)
    capability_checks(engine, behaviour_inputs(type(engine), label_set), offered)[name]()


def _dropping(engine_class, change):
    """``engine_class`` whose generate() sees each request changed by ``change`` first."""

    class Changed(engine_class):
        def generate(self, request):
            return super().generate(change(request))

    return Changed


def _heaviest_source_only(request):
    heaviest = {c: ((max(mix, key=lambda pair: pair[1])[0], 1.0),) for c, mix in request.region_styles.items()}
    return dataclasses.replace(request, region_styles=heaviest)


def _styles_everywhere(request):
    mixes = list(request.region_styles.values())
    return dataclasses.replace(request, region_styles={}, default_style=mixes[0] if mixes else request.default_style)


def _flip_with_crossover(engine_class):
    class Flipping(engine_class):
        def generate(self, request):
            result = super().generate(request)
            if request.crossover:
                result = dataclasses.replace(result, image=np.ascontiguousarray(result.image[::-1]))
            return result

    return Flipping


@pytest.mark.parametrize(
    ("broken", "check", "message"),
    [
        (lambda c: _dropping(c, lambda r: dataclasses.replace(r, region_styles={})), REGION_STYLES, "style is ignored"),
        (lambda c: _dropping(c, _styles_everywhere), REGION_STYLES, "must change that region more than the rest"),
        (lambda c: _dropping(c, _heaviest_source_only), STYLE_INTERPOLATION, "must land between them"),
        (_flip_with_crossover, f"undeclared {CROSSOVER}", "crossover is not declared, but its inputs changed"),
    ],
    ids=["ignores region styles", "styles every region", "mix keeps the heaviest source", "undeclared input used"],
)
def test_each_style_check_fails_on_an_engine_breaking_it(transfer_engine, broken, check, message):
    engine = broken(transfer_engine)()
    engine.load(None)
    with pytest.raises(AssertionError, match=message):
        _run_check(engine, check, "cityscapes")


@pytest.mark.parametrize(
    ("change", "check", "message"),
    [
        (lambda r: dataclasses.replace(r, crossover={}), CROSSOVER, "every style block from B differs from the pure B"),
        (lambda r: dataclasses.replace(r, seed=0), MEAN_STYLE, "@random with seeds 1 and 2 gave the same image"),
    ],
    ids=["crossover ignored", "random styles ignore the seed"],
)
def test_the_sean_checks_fail_when_sean_drops_an_input(change, check, message):
    from regionpaint.engines.sean.engine import SeanEngine

    engine = _dropping(SeanEngine, change)()
    engine.load(demo_model("sean_faces"), "cpu")
    with pytest.raises(AssertionError, match=message):
        _run_check(engine, check, "celebamask-hq")


def test_the_instance_check_fails_when_the_instance_map_is_ignored():
    from regionpaint.engines.spade.engine import SpadeEngine

    whole = behaviour_inputs(SpadeEngine, "cityscapes").label.astype(np.int32) * 1000
    engine = _dropping(SpadeEngine, lambda r: dataclasses.replace(r, instance=whole))()
    engine.load(demo_model("spade_streets"), "cpu")
    with pytest.raises(AssertionError, match="the instance map is ignored"):
        _run_check(engine, INSTANCE_MAP, "cityscapes")
