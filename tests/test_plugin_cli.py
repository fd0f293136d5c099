"""Plugins from the command line: install the example plugin from its folder, list it, render with it
(no checkpoint: it needs no weights), disable, uninstall; scaffold a plugin with `plugins new` and run its
own tests; load errors reported once; `--version`; projects naming the package of a missing engine."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import regionpaint
from tests.plugin_env import OFFLINE, REPO, example_copy, make_plugin_env
from tests.test_plugins import make_distribution

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory):
    return make_plugin_env(tmp_path_factory.mktemp("venv") / "env")


def _inputs(folder):
    """A two-class label map and a style photo (red left, blue right) with its segmentation."""
    label = np.zeros((40, 48), np.uint8)
    label[:, 24:] = 13  # hair, in CelebAMask-HQ ids
    rng = np.random.default_rng(0)
    photo = np.where(label[..., None] == 0, (200, 40, 40), (30, 60, 210)) + rng.normal(0, 8, (40, 48, 3))
    paths = {"label": folder / "label.png", "photo": folder / "photo.png"}
    Image.fromarray(label).save(paths["label"])
    Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8)).save(paths["photo"])
    return paths


def _engines(env) -> dict:
    result = env.cli("engines", "--json")
    assert result.returncode == 0, result.stderr
    return {e["id"]: e for e in json.loads(result.stdout)}


def test_version_prints_the_app_and_plugin_api_versions():
    result = subprocess.run(
        [sys.executable, "-m", "regionpaint", "--version"], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert result.returncode == 0
    assert (
        result.stdout.strip() == f"regionpaint {regionpaint.__version__} (plugin API {regionpaint.PLUGIN_API_VERSION})"
    )


def test_example_plugin_installs_lists_renders_and_uninstalls(plugin_env, tmp_path):
    env = plugin_env
    assert "transfer" not in _engines(env)
    installed = env.cli("plugins", "install", str(example_copy(tmp_path)), *OFFLINE)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert "Successfully installed regionpaint-transfer-0.1.0" in installed.stdout  # pip's own output
    assert "The package provides:" in installed.stdout and "transfer" in installed.stdout.split("provides:")[1]

    engine = _engines(env)["transfer"]
    assert engine["needs_checkpoint"] is False and "region_styles" in engine["capabilities"]
    listed = {p["name"]: p for p in json.loads(env.cli("plugins", "list", "--json").stdout)}
    assert listed["transfer"]["distribution"] == "regionpaint-transfer"
    # The example declares plugin API 1.0 (it uses nothing added since) and loads under any newer 1.x.
    assert listed["transfer"]["api"] == "1.0" and listed["transfer"]["status"] == "loaded"
    assert regionpaint.PLUGIN_API_VERSION.startswith("1.")

    paths, out = _inputs(tmp_path), tmp_path / "out.png"
    style = f"a={paths['photo']}:{paths['label']}"
    rendered = env.cli(
        "render", "--engine", "transfer", "--label", str(paths["label"]), "--style", style, "--out", str(out)
    )
    assert rendered.returncode == 0, rendered.stderr
    image = np.asarray(Image.open(out)).astype(float)
    assert image.shape == (40, 48, 3)
    assert image[:, :20, 0].mean() > 150 and image[:, 28:, 2].mean() > 150  # each region from its own

    assert env.cli("plugins", "disable", "transfer").returncode == 0
    assert "transfer" not in _engines(env)
    assert env.cli("plugins", "enable", "transfer").returncode == 0
    assert "transfer" in _engines(env)

    removed = env.cli("plugins", "uninstall", "transfer")
    assert removed.returncode == 0, removed.stderr
    assert "Successfully uninstalled regionpaint-transfer" in removed.stdout
    assert "Removed: transfer (package regionpaint-transfer)" in removed.stdout.splitlines()  # the plugin name given
    assert "transfer" not in _engines(env)
    gone = env.cli("render", "--engine", "transfer", "--label", str(paths["label"]), "--out", str(out))
    assert gone.returncode == 2 and "unknown engine 'transfer'" in gone.stderr and "Traceback" not in gone.stderr


def test_scaffolded_plugin_installs_lists_renders_and_passes_its_own_tests(plugin_env, tmp_path):
    env = plugin_env
    created = env.cli("plugins", "new", "regionpaint-flatcolor", "--dir", str(tmp_path))
    assert created.returncode == 0, created.stderr
    folder = tmp_path / "regionpaint-flatcolor"
    assert (folder / "pyproject.toml").is_file() and (folder / "tests" / "test_engine.py").is_file()
    installed = env.cli("install", "-e", str(folder), *OFFLINE)  # the top-level alias, editable
    assert installed.returncode == 0, installed.stdout + installed.stderr
    try:
        assert _engines(env)["flatcolor"]["needs_checkpoint"] is False
        paths, out = _inputs(tmp_path), tmp_path / "flat.png"
        rendered = env.cli("render", "--engine", "flatcolor", "--label", str(paths["label"]), "--out", str(out))
        assert rendered.returncode == 0, rendered.stderr
        assert np.asarray(Image.open(out)).shape == (40, 48, 3)
        # The scaffold's own checkpoint layout (a folder with palette.json) is claimed by its locate step.
        palette = tmp_path / "palette"
        palette.mkdir()
        (palette / "palette.json").write_text(json.dumps({"0": [10, 20, 30], "13": [200, 100, 0]}))
        args = ("render", "--checkpoint", str(palette), "--label", str(paths["label"]), "--out", str(out))
        rendered = env.cli(*args)
        assert rendered.returncode == 0, rendered.stderr
        image = np.asarray(Image.open(out))
        assert image[0, 0].tolist() == [10, 20, 30] and image[0, -1].tolist() == [200, 100, 0]
        tests = subprocess.run(
            [env.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder / "tests")],
            capture_output=True,
            text=True,
            env=env.env(),
            cwd=folder,
            timeout=300,
        )
        assert tests.returncode == 0, tests.stdout[-2000:]
        assert "3 passed" in tests.stdout
    finally:
        assert env.cli("uninstall", "regionpaint-flatcolor").returncode == 0
    assert "flatcolor" not in _engines(env)


def test_a_broken_plugin_is_reported_once_and_the_rest_works(tmp_path):
    site = tmp_path / "site"
    make_distribution(
        site, "rp-broken", "0.1", {"broken": "rp_cli_broken"}, {"rp_cli_broken": "raise RuntimeError('boom')\n"}
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{site}:{REPO}", "REGIONPAINT_DATA_DIR": str(tmp_path / "data")}

    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "regionpaint", *args], capture_output=True, text=True, env=env, cwd=REPO
        )

    first, second = run("engines"), run("engines")
    assert first.returncode == 0 and "spade" in first.stdout
    assert "plugin broken: import of 'rp_cli_broken' failed: RuntimeError: boom" in first.stderr
    assert second.returncode == 0 and "boom" not in second.stderr  # once, not on every call
    listed = {p["name"]: p for p in json.loads(run("plugins", "--json").stdout)}
    assert listed["broken"]["status"] == "failed" and "boom" in listed["broken"]["errors"][0]


def test_render_without_a_checkpoint_needs_an_engine_without_weights(tmp_path):
    paths = _inputs(tmp_path)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "REGIONPAINT_LOAD_PLUGINS": ""}
    base = [sys.executable, "-m", "regionpaint", "render", "--label", str(paths["label"])]
    base += ["--out", str(tmp_path / "o.png")]
    plain = subprocess.run(base, capture_output=True, text=True, env=env, cwd=REPO)
    assert plain.returncode == 2 and "--engine ID for an engine that needs no weights" in plain.stderr
    spade = subprocess.run([*base, "--engine", "spade"], capture_output=True, text=True, env=env, cwd=REPO)
    assert spade.returncode == 2 and "SPADE (GauGAN) engine needs --checkpoint" in spade.stderr
    helped = subprocess.run(base[:4] + ["--help"], capture_output=True, text=True, env=env, cwd=REPO)
    assert "SPADE, SEAN or pix2pixHD checkpoint" not in helped.stdout


def test_a_project_names_the_package_of_its_missing_engine(tmp_path):
    from regionpaint.app.model import edits
    from regionpaint.app.model.document import Document
    from regionpaint.app.model.labelsets import CELEBAMASK_HQ
    from regionpaint.app.model.project import open_project, save_project

    doc = Document(np.zeros((16, 16), np.uint8), CELEBAMASK_HQ.id)
    edits.set_engine_settings(doc, engine_id="transfer", package="regionpaint-transfer", package_version="0.1.0")
    path = tmp_path / "face.rpaint"
    save_project(doc, path)
    reopened = open_project(path, {CELEBAMASK_HQ.id: CELEBAMASK_HQ})
    assert (reopened.engine.package, reopened.engine.package_version) == ("regionpaint-transfer", "0.1.0")
    older = open_project(REPO / "assets" / "demo" / "faces.rpaint", {CELEBAMASK_HQ.id: CELEBAMASK_HQ})
    assert older.engine.package == ""  # written before the field existed: still opens
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "REGIONPAINT_LOAD_PLUGINS": ""}
    result = subprocess.run(
        [sys.executable, "-m", "regionpaint", "render", "--project", str(path), "--out", str(tmp_path / "o.png")],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
    )
    assert result.returncode == 2
    assert "`regionpaint plugins install regionpaint-transfer`" in result.stderr


def test_a_wheel_installs_too(plugin_env, tmp_path):
    env = plugin_env
    built = subprocess.run(
        [env.python, "-m", "pip", "wheel", *OFFLINE, "-w", str(tmp_path), str(example_copy(tmp_path / "src"))],
        capture_output=True,
        text=True,
        env=env.env(),
        timeout=300,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    wheel = next(tmp_path.glob("regionpaint_transfer-0.1.0-*.whl"))
    installed = env.cli("plugins", "install", str(wheel), "--no-deps")
    try:
        assert installed.returncode == 0, installed.stdout + installed.stderr
        assert "transfer  regionpaint-transfer  0.1.0    loaded" in installed.stdout
    finally:
        env.cli("plugins", "uninstall", "regionpaint-transfer")
