"""A throw-away Python environment to install plugins into, and the regionpaint CLI run inside it.

The environment is a venv without pip whose ``site-packages`` links (through a ``.pth`` file) to the
test interpreter's, so torch, Qt, pip and setuptools are there without copying; what ``plugins install``
puts in it lands in its own ``site-packages`` and vanishes with the folder. Nothing is downloaded:
installs use ``--no-deps --no-build-isolation``.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "plugins" / "examples" / "regionpaint-transfer"
OFFLINE = ("--no-deps", "--no-build-isolation")


@dataclass
class PluginEnv:
    root: Path
    data: Path  # REGIONPAINT_DATA_DIR: plugin settings of this environment

    @property
    def python(self) -> str:
        return str(self.root / "bin" / "python")

    @property
    def site_packages(self) -> Path:
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        return self.root / "lib" / version / "site-packages"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("REGIONPAINT_LOAD_PLUGINS", "PIP_TARGET")}
        env.update(PYTHONPATH=str(REPO), REGIONPAINT_DATA_DIR=str(self.data), QT_QPA_PLATFORM="offscreen")
        env.update(extra)
        return env

    def cli(self, *args: str, timeout: int = 300, **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [self.python, "-m", "regionpaint", *args],
            capture_output=True,
            text=True,
            env=self.env(**extra),
            cwd=REPO,
            timeout=timeout,
        )


def make_plugin_env(root: Path) -> PluginEnv:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=120)
    env = PluginEnv(root, root.parent / f"{root.name}-data")
    shared = [p for p in {*site.getsitepackages(), sysconfig.get_paths()["purelib"]} if Path(p).is_dir()]
    (env.site_packages / "_shared_test_env.pth").write_text("\n".join(shared) + "\n")
    return env


def example_copy(folder: Path) -> Path:
    """A copy of the example plugin to install from: pip's in-tree build leaves ``build/`` behind."""
    target = Path(folder) / EXAMPLE.name
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    return target
