"""Check the arrows between rooms: import-linter's contracts (pyproject.toml) on the package as installed.

In a checkout the rooms sit beside ``regionpaint/`` (app/, engines/, plugins/ at the repository's top) and
``regionpaint`` finds them at run time; import-linter reads files, not run-time paths, so this lays the
package out as the wheel does (in a temporary folder) and runs ``lint-imports`` on that.

    python -m tools.lint_imports        # exit 0 when every contract is kept
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: Repository folder -> where the wheel puts it inside ``regionpaint/``.
ROOMS = {"app": "app", "engines": "engines", "plugins": "plugins"}


def wheel_layout(target: Path) -> Path:
    """Copy the package's Python files into ``target/regionpaint`` as the wheel installs them."""
    package = target / "regionpaint"
    ignore = shutil.ignore_patterns("__pycache__", "examples", "*.pyc")
    shutil.copytree(REPO / "regionpaint", package, ignore=ignore)
    for folder, inside in ROOMS.items():
        shutil.copytree(REPO / folder, package / inside, ignore=ignore)
    return target


def main() -> int:
    lint = Path(sys.executable).with_name("lint-imports")
    with tempfile.TemporaryDirectory(prefix="regionpaint-layout-") as tmp:
        root = wheel_layout(Path(tmp))
        done = subprocess.run(
            [str(lint), str(REPO / "pyproject.toml")],
            cwd=root,
            env={**os.environ, "PYTHONPATH": str(root)},
            capture_output=True,
            text=True,
        )
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
