"""The wheel a user installs: one top-level name, the demo inside it, and an app that runs from it alone.

The wheel is built from the checkout's tracked files and installed (not editable) into a fresh venv whose only
link to this one is the dependencies' site-packages (as ``tests/plugin_env.py`` does), run from a folder outside
the checkout with no PYTHONPATH: what works there works for a pipx or distro install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import tomllib
from PIL import Image

from tests.plugin_env import make_plugin_env

REPO = Path(__file__).resolve().parents[1]
#: Repository folder -> the package it installs as.
ROOMS = {
    "regionpaint": "regionpaint",
    "app": "regionpaint.app",
    "engines": "regionpaint.engines",
    "plugins": "regionpaint.plugins",
}


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def test_the_package_list_is_every_package_folder_of_the_rooms():
    found = set()
    for folder, package in ROOMS.items():
        for init in (REPO / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(REPO / folder)
            if "examples" in relative.parts:  # the example plugin is a distribution of its own
                continue
            found.add(".".join([package, *relative.parts]))
    listed = {p for p in _pyproject()["tool"]["setuptools"]["packages"] if not p.startswith("regionpaint.assets")}
    assert listed == found, f"missing from pyproject: {sorted(found - listed)}; stale: {sorted(listed - found)}"


def test_torch_is_not_pinned_for_users():
    deps = _pyproject()["project"]["dependencies"]
    torch = [d for d in deps if d.replace(" ", "").startswith("torch")]
    assert torch and "==" not in torch[0], "a user's own torch build must never be replaced by pip"
    assert "torch==" in (REPO / ".ci" / "constraints.txt").read_text()  # this machine's CPU wheel, for ./dev and CI


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    source = tmp_path_factory.mktemp("source")
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in tracked.decode().split("\0"):
        if name and (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out), str(source)],
        check=True,
        timeout=600,
        capture_output=True,
    )
    (path,) = out.glob("regionpaint-*.whl")
    return path


@pytest.mark.slow
def test_the_wheel_installs_one_top_level_package_with_the_demo(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))}
    assert tops == {"regionpaint"}
    for member in (
        "regionpaint/assets/demo/faces.rpaint",
        "regionpaint/assets/demo/models/sean_faces.safetensors",
        "regionpaint/app/cli.py",
        "regionpaint/__main__.py",
        "regionpaint/app/model/labelsets.py",
        "regionpaint/app/model_manager/catalog.json",
        "regionpaint/app/model_manager/layouts/sean_celebahq.json",
    ):
        assert member in names, member
    assert not any(n.startswith(("regionpaint/app/demo/", "tools/", "tests/")) for n in names)


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory):
    env = make_plugin_env(tmp_path_factory.mktemp("venv") / "env")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", env.python, "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        timeout=600,
        capture_output=True,
    )
    return env


def _run(env, argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "REGIONPAINT_LOAD_PLUGINS")}
    clean.update(QT_QPA_PLATFORM="offscreen", REGIONPAINT_DATA_DIR=str(env.data))
    return subprocess.run(argv, cwd=cwd, env=clean, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_the_installed_wheel_opens_and_renders_the_demo_without_the_checkout(installed, tmp_path):
    bin_dir = Path(installed.python).parent
    where = _run(
        installed, [installed.python, "-c", "import regionpaint.app, sys; print(regionpaint.app.__file__)"], tmp_path
    )
    assert where.returncode == 0, where.stderr
    assert str(installed.site_packages) in where.stdout and str(REPO) not in where.stdout
    for internal in ("app", "engines", "plugins"):
        probe = _run(installed, [installed.python, "-c", f"import {internal}"], tmp_path)
        assert probe.returncode != 0 and "ModuleNotFoundError" in probe.stderr, internal

    shot = tmp_path / "shot.png"
    gui = _run(installed, [str(bin_dir / "regionpaint"), "gui", "--demo", "--screenshot", str(shot)], tmp_path)
    assert gui.returncode == 0, gui.stderr
    assert "not built" not in gui.stderr, gui.stderr  # the demo was found inside the installed package
    pixels = np.asarray(Image.open(shot).convert("RGB"))
    assert pixels.shape[0] > 200 and pixels.std() > 10  # a window with content, not a blank frame

    demos = installed.site_packages / "regionpaint" / "assets" / "demo"
    for project in ("faces.rpaint", "streets.rpaint", "streets_pix2pixhd.rpaint"):
        out = tmp_path / f"{project}.png"
        done = _run(
            installed,
            [installed.python, "-m", "regionpaint", "render", "--project", str(demos / project), "--out", str(out)],
            tmp_path,
        )
        assert done.returncode == 0, f"{project}: {done.stderr}"
        assert np.asarray(Image.open(out)).std() > 5, project
