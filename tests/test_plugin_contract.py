"""The plugin contract in-process: API versions, enable/disable, failures isolated, regionpaint.testing."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import regionpaint
from regionpaint.plugins.api import ApiVersionError, check_api
from regionpaint.plugins.manager import LOAD_PLUGINS_ENV, PluginManager
from regionpaint.testing import check_engine, sample_requests, tiny_label_map
from tests.plugin_env import EXAMPLE
from tests.test_plugins import TOY_ENGINE, make_distribution

BUILTIN_ENGINES = {"spade", "sean", "pix2pixhd"}


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delenv(LOAD_PLUGINS_ENV, raising=False)
    monkeypatch.setenv("REGIONPAINT_DATA_DIR", str(tmp_path / "data"))
    yield tmp_path / "site"
    for name in [m for m in sys.modules if m.startswith(("rp_test_", "regionpaint_transfer"))]:
        del sys.modules[name]


def _with_api(version: str, engine_id: str) -> str:
    return f"REGIONPAINT_API = {version!r}\n" + TOY_ENGINE.format(engine_id=engine_id)


@pytest.mark.parametrize("version", ["1.0", "1", regionpaint.PLUGIN_API_VERSION])
def test_a_compatible_api_version_loads(site, version):
    make_distribution(site, "rp-ok", "0.1", {"ok": "rp_test_ok"}, {"rp_test_ok": _with_api(version, "okengine")})
    manager = PluginManager()
    assert "okengine" in manager.engines() and manager.errors == []
    assert manager.plugins["ok"].api == version


@pytest.mark.parametrize("version", ["2.0", "1.9", "0.9", "one"])
def test_an_incompatible_api_version_is_refused_with_a_clear_message(site, version):
    make_distribution(site, "rp-new", "3.0", {"new": "rp_test_new"}, {"rp_test_new": _with_api(version, "newengine")})
    manager = PluginManager()
    assert "newengine" not in manager.engines()
    assert BUILTIN_ENGINES <= set(manager.engines())
    message = dict(manager.errors)["new"]
    assert repr(version) in message if version == "one" else f"plugin API {version}" in message
    if version != "one":
        assert f"provides plugin API {regionpaint.PLUGIN_API_VERSION}" in message
    assert manager.plugins["new"].status == "failed"


def test_check_api_compares_major_and_minor():
    class Plugin:
        REGIONPAINT_API = "1.0"

    assert check_api(Plugin, "1.3") == "1.0"
    with pytest.raises(ApiVersionError, match="upgrade regionpaint"):
        check_api(Plugin, "0.9")
    Plugin.REGIONPAINT_API = "1.4"
    with pytest.raises(ApiVersionError):
        check_api(Plugin, "1.3")


def test_a_disabled_plugin_is_listed_but_not_imported(site):
    from regionpaint.plugins.state import disabled_plugins, set_enabled

    make_distribution(
        site, "rp-off", "0.1", {"off": "rp_test_off"}, {"rp_test_off": TOY_ENGINE.format(engine_id="off")}
    )
    set_enabled("off", False)
    assert disabled_plugins() == {"off"}
    manager = PluginManager()
    assert "off" not in manager.engines() and "rp_test_off" not in sys.modules
    assert manager.plugins["off"].status == "disabled"
    assert "regionpaint plugins enable off" in manager.missing_engine_message("off")
    set_enabled("off", True)
    assert "off" in PluginManager().engines()


def test_a_missing_engine_names_its_package():
    manager = PluginManager(load_entry_points=False)
    message = manager.missing_engine_message("transfer", "regionpaint-transfer")
    assert "`regionpaint plugins install regionpaint-transfer`" in message
    sean_plugin = manager.plugins["regionpaint.engines.sean.plugin"]
    assert manager.engine_provider("sean") == ("regionpaint", sean_plugin.version)


def _example_distribution(site):
    """The example plugin's sources on sys.path with an installed-looking entry point (no pip)."""
    sys.path.insert(0, str(EXAMPLE / "src"))
    make_distribution(site, "regionpaint-transfer", "0.1.0", {"transfer": "regionpaint_transfer.plugin"}, {})


def test_broken_plugins_are_skipped_while_the_example_engine_works(site):
    _example_distribution(site)
    raising_hook = (
        "from regionpaint.plugins import hookimpl\n"
        "@hookimpl\ndef register_engines(register):\n    raise OSError('hook')\n"
    )
    make_distribution(
        site,
        "rp-bad",
        "0.1",
        {"bad_import": "rp_test_bad_import", "bad_hook": "rp_test_bad_hook"},
        {"rp_test_bad_import": "import no_such_module_anywhere\n", "rp_test_bad_hook": raising_hook},
    )
    try:
        manager = PluginManager()
        errors = dict(manager.errors)
        assert "no_such_module_anywhere" in errors["bad_import"] and "hook" in errors["bad_hook"]
        engine = manager.engine_class("transfer")()
        engine.load(None)
        result = engine.generate(sample_requests(type(engine), "cityscapes")[regionpaint.REGION_STYLES])
        assert result.image.shape == (48, 64, 3)
    finally:
        sys.path.remove(str(EXAMPLE / "src"))


def test_an_engine_raising_in_generate_is_reported_by_render(site, tmp_path, capsys):
    from PIL import Image

    from regionpaint.app.cli import main

    crashing = TOY_ENGINE.format(engine_id="crash").replace(
        "raise NotImplementedError", "raise ZeroDivisionError('oops')"
    )
    crashing = crashing.replace('display_name = "Toy"', 'display_name = "Toy"\n    needs_checkpoint = False')
    make_distribution(site, "rp-crash", "0.4", {"crash": "rp_test_crash"}, {"rp_test_crash": crashing})
    from regionpaint.plugins.manager import get_plugin_manager

    get_plugin_manager.cache_clear()
    try:
        Image.fromarray(tiny_label_map("cityscapes")).save(tmp_path / "l.png")
        code = main(
            ["render", "--engine", "crash", "--label", str(tmp_path / "l.png"), "--out", str(tmp_path / "o.png")]
        )
    finally:
        get_plugin_manager.cache_clear()
    err = capsys.readouterr().err
    assert code == 2
    assert "engine 'crash' (plugin 'crash', package rp-crash 0.4) failed" in err and "ZeroDivisionError: oops" in err


def test_check_engine_passes_the_example_engine():
    sys.path.insert(0, str(EXAMPLE / "src"))
    try:
        from regionpaint_transfer.engine import TransferEngine

        passed = check_engine(TransferEngine, label_sets=["cityscapes"])
    finally:
        sys.path.remove(str(EXAMPLE / "src"))
    assert "importable without torch" in passed and "seeded noise[cityscapes]" in passed
    assert "generate[cityscapes:style_interpolation]" in passed


class SloppyEngine(regionpaint.Engine):
    """Breaks the contract three ways: float images, a ValueError on bad input, an unknown capability."""

    id = "sloppy"
    display_name = "Sloppy"
    capabilities = frozenset({"telepathy"})
    needs_checkpoint = False

    @classmethod
    def recognizes(cls, info):
        return False

    def load(self, checkpoint=None, device="auto"):
        pass

    def generate(self, request):
        label = np.asarray(request.label)
        if label.ndim != 2:
            raise ValueError("bad label")
        return regionpaint.RenderResult(image=np.zeros((*label.shape, 3), np.float32), tensor=None)


def test_check_engine_names_every_broken_rule():
    with pytest.raises(AssertionError) as failure:
        check_engine(SloppyEngine, check_import=False)
    text = str(failure.value)
    assert "unknown capabilities ['telepathy']" in text
    assert "image must be (H, W, 3) uint8 RGB" in text
    assert "a 3-D label map raised ValueError, not a regionpaint.EngineError" in text


def test_check_engine_runs_a_builtin_engine_on_its_demo_checkpoint():
    from tests.conftest import REPO

    checkpoint = REPO / "assets" / "demo" / "models" / "sean_faces.safetensors"
    if not checkpoint.is_file():
        pytest.skip(f"{checkpoint} is not present")
    from regionpaint.engines.sean.engine import SeanEngine

    passed = check_engine(SeanEngine, checkpoint, label_sets=["celebamask-hq"])
    assert "generate[celebamask-hq:crossover]" in passed


def test_the_example_plugins_own_tests_pass():
    import os
    import subprocess

    from tests.conftest import REPO

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(EXAMPLE / "src")]))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLE / "tests")],
        capture_output=True,
        text=True,
        env=env,
        cwd=EXAMPLE,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert " passed" in result.stdout and "failed" not in result.stdout


@pytest.mark.parametrize(
    ("spec", "name"),
    [
        ("regionpaint-transfer", "regionpaint-transfer"),
        ("regionpaint-transfer==0.1.0", "regionpaint-transfer"),
        ("regionpaint_transfer[extra]>=0.1", "regionpaint_transfer"),
        ("dist/regionpaint_transfer-0.1.0-py3-none-any.whl", "regionpaint_transfer"),
        (str(EXAMPLE), "regionpaint-transfer"),
        ("./no/such/folder", ""),
    ],
)
def test_the_distribution_a_spec_installs_is_known_before_pip_runs(spec, name):
    from regionpaint.plugins.install import distribution_name, normalize

    assert distribution_name(spec) == name
    assert normalize("Regionpaint_Transfer") == normalize("regionpaint-transfer")
