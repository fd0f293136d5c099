"""Plugin discovery: built-ins, entry-point plugins, failures isolated, clashes named, selection by env."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from regionpaint.engines.base import Engine
from regionpaint.plugins import hookimpl
from regionpaint.plugins.manager import DEFAULT_PLUGINS, LOAD_PLUGINS_ENV, PluginManager
from tests.conftest import REPO

BUILTIN_ENGINES = {"spade", "sean", "pix2pixhd"}

TOY_ENGINE = """
from regionpaint.engines.base import Engine, RenderResult
from regionpaint.plugins import hookimpl

class ToyEngine(Engine):
    id = "{engine_id}"
    display_name = "Toy"
    capabilities = frozenset({{"noise"}})
    label_sets = ("cityscapes",)

    @classmethod
    def recognizes(cls, info):
        return "toy.weight" in info.shapes

    def load(self, checkpoint, device="auto"):
        pass

    def generate(self, request):
        raise NotImplementedError

@hookimpl
def register_engines(register):
    register(ToyEngine)
"""


def make_distribution(root: Path, dist: str, version: str, entry_points: dict[str, str], modules: dict[str, str]):
    """Write an installed-looking distribution (dist-info + modules) that importlib.metadata finds on sys.path."""
    # dist-info folders use underscores: importlib.metadata reads the name up to the first dash.
    info = root / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    lines = ["[regionpaint]"] + [f"{name} = {target}" for name, target in entry_points.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    for module, source in modules.items():
        (root / f"{module}.py").write_text(textwrap.dedent(source))


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv(LOAD_PLUGINS_ENV, raising=False)
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("rp_test_")]:
        del sys.modules[name]


def test_builtins_register_engines_and_label_sets_without_errors():
    manager = PluginManager(load_entry_points=False)
    assert manager.errors == []
    assert BUILTIN_ENGINES <= set(manager.engines())
    assert {"celebamask-hq", "cityscapes", "ade20k", "coco-stuff"} <= set(manager.label_sets())
    assert set(DEFAULT_PLUGINS) == set(manager.plugins)
    for engine_id in BUILTIN_ENGINES:
        entry = manager.engines()[engine_id]
        assert issubclass(entry.engine_class, Engine)
        assert "register_engines" in manager.plugins[entry.plugin].hooks


def test_entry_point_plugin_engine_appears_with_its_version(site):
    make_distribution(
        site, "rp-toy", "1.2.3", {"toy": "rp_test_toy"}, {"rp_test_toy": TOY_ENGINE.format(engine_id="toy")}
    )
    manager = PluginManager()
    assert manager.engines()["toy"].plugin == "toy"
    assert manager.plugins["toy"].version == "1.2.3"
    assert manager.plugins["toy"].source == "entry point"
    assert manager.plugins["toy"].hooks == ["register_engines"]
    assert manager.errors == []


def test_entry_point_may_name_an_instance(site):
    source = """
        from regionpaint.plugins import hookimpl
        from regionpaint.app.model.labelsets import LabelSet

        class Plugin:
            @hookimpl
            def register_label_sets(self, register):
                register(LabelSet(id="two", display_name="Two", names=("a", "b"), colors=((0, 0, 0), (9, 9, 9))))

        plugin = Plugin()
    """
    make_distribution(site, "rp-inst", "0.1", {"inst": "rp_test_inst:plugin"}, {"rp_test_inst": source})
    manager = PluginManager()
    assert "two" in manager.label_sets()
    assert manager.plugins["inst"].label_sets == ["two"]


def test_plugin_failing_to_import_is_reported_and_skipped(site):
    make_distribution(
        site,
        "rp-broken",
        "0.1",
        {"broken": "rp_test_broken", "toy": "rp_test_toy2"},
        {
            "rp_test_broken": "raise RuntimeError('boom at import')\n",
            "rp_test_toy2": TOY_ENGINE.format(engine_id="toy2"),
        },
    )
    manager = PluginManager()
    errors = dict(manager.errors)
    assert "boom at import" in errors["broken"]
    assert "toy2" in manager.engines()  # the other plugins still work
    assert BUILTIN_ENGINES <= set(manager.engines())


def test_plugin_raising_in_hook_is_reported_and_skipped(site):
    source = """
        from regionpaint.plugins import hookimpl

        @hookimpl
        def register_engines(register):
            raise ValueError("hook exploded")
    """
    make_distribution(site, "rp-raises", "0.1", {"raises": "rp_test_raises"}, {"rp_test_raises": source})
    manager = PluginManager()
    assert "hook exploded" in dict(manager.errors)["raises"]
    assert BUILTIN_ENGINES <= set(manager.engines())


def test_duplicate_engine_id_is_an_error_naming_both_plugins(site):
    make_distribution(
        site, "rp-clash", "0.1", {"clash": "rp_test_clash"}, {"rp_test_clash": TOY_ENGINE.format(engine_id="spade")}
    )
    manager = PluginManager()
    message = dict(manager.errors)["clash"]
    assert "'spade'" in message and "regionpaint.engines.spade.plugin" in message and "'clash'" in message
    assert manager.engines()["spade"].plugin == "regionpaint.engines.spade.plugin"


def test_entry_point_naming_a_class_is_rejected(site):
    make_distribution(
        site, "rp-class", "0.1", {"cls": "rp_test_cls:ToyEngine"}, {"rp_test_cls": TOY_ENGINE.format(engine_id="cls")}
    )
    manager = PluginManager()
    assert "names a class" in dict(manager.errors)["cls"]
    assert "cls" not in manager.engines()


def test_load_plugins_env_restricts_entry_points(site, monkeypatch):
    make_distribution(site, "rp-a", "0.1", {"a": "rp_test_a"}, {"rp_test_a": TOY_ENGINE.format(engine_id="ea")})
    make_distribution(site, "rp-b", "0.1", {"b": "rp_test_b"}, {"rp_test_b": TOY_ENGINE.format(engine_id="eb")})
    monkeypatch.setenv(LOAD_PLUGINS_ENV, "b")
    engines = PluginManager().engines()
    assert "eb" in engines and "ea" not in engines
    monkeypatch.setenv(LOAD_PLUGINS_ENV, "")
    engines = PluginManager().engines()
    assert "ea" not in engines and "eb" not in engines and BUILTIN_ENGINES <= set(engines)


def test_register_engines_rejects_non_engine_objects():
    class BadPlugin:
        @hookimpl
        def register_engines(self, register):
            register("not an engine class")

    manager = PluginManager(load_entry_points=False, extra_plugins=[("bad", BadPlugin())])
    assert "expects an Engine subclass" in dict(manager.errors)["bad"]


def test_engine_is_recognised_from_checkpoint_keys():
    from regionpaint.engines.base import CheckpointInfo

    manager = PluginManager(load_entry_points=False)
    info = CheckpointInfo(path=Path("x"), files={}, opt={}, shapes={"Zencoder.model.1.weight": (32, 3, 3, 3)})
    assert manager.engine_for_checkpoint(info).id == "sean"


def _run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", LOAD_PLUGINS_ENV: "", "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "regionpaint", *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=120
    )


def test_cli_engines_and_plugins_list_the_builtins():
    result = _run_cli("engines", "--json")
    assert result.returncode == 0, result.stderr
    listed = {e["id"]: e for e in json.loads(result.stdout)}
    assert BUILTIN_ENGINES <= set(listed)
    assert "cityscapes" in listed["spade"]["label_sets"]
    assert result.stderr == ""
    result = _run_cli("plugins", "--json")
    plugins = {p["name"]: p for p in json.loads(result.stdout)}
    for name in DEFAULT_PLUGINS:
        assert plugins[name]["errors"] == []
    assert plugins["regionpaint.engines.sean.plugin"]["engines"] == ["sean"]


def test_listing_engines_does_not_import_torch_or_qt():
    code = (
        "import sys; from regionpaint.plugins.manager import PluginManager; "
        "m = PluginManager(load_entry_points=False); "
        "assert len(m.engines()) >= 3; "
        "[(c.engine_class.display_name, c.engine_class.capabilities) for c in m.engines().values()]; "
        "print(sorted(k for k in ('torch', 'PySide6') if k in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_every_hook_is_documented_with_its_signature():
    import inspect

    from regionpaint.plugins import hookspecs

    docs = (REPO / "docs" / "plugins.md").read_text()
    for name, func in inspect.getmembers(hookspecs, inspect.isfunction):
        assert func.__doc__ and func.__doc__.strip(), f"hook {name} has no docstring"
        assert f"{name}{inspect.signature(func)}" in docs, f"docs/plugins.md does not document {name}"
