"""The house as a newcomer reads it: the arrows between rooms hold, and the README's room table lists every room."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: Folders whose packages are rooms a reader should find in the README.
ROOM_ROOTS = ("regionpaint", "app", "engines", "plugins", "tools")


def test_import_contracts_hold():
    pytest.importorskip("importlinter")
    done = subprocess.run(
        [sys.executable, "-m", "tools.lint_imports"], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "BROKEN" not in done.stdout and "KEPT" in done.stdout


def test_the_contracts_name_the_arrows_the_project_promises():
    text = (REPO / "pyproject.toml").read_text()
    for promise in (
        "The document model imports no Qt, torch, engines or plugins",
        "Engines never import the app",
        "Plugins never import the app",
        "The Qt editor never imports the CLI",
        "Front ends do not import each other",
    ):
        assert promise in text, promise


def _rooms() -> set[str]:
    rooms = set()
    for root in ROOM_ROOTS:
        for init in (REPO / root).rglob("__init__.py"):
            folder = init.parent.relative_to(REPO)
            if "examples" not in folder.parts and "__pycache__" not in folder.parts:
                rooms.add(folder.as_posix() + "/")
    return rooms


def test_the_readme_room_table_lists_every_package():
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Rooms") :]
    section = section[: section.index("\n## ", 5)] if "\n## " in section[5:] else section
    first_cells = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    listed = {path for cell in first_cells for path in re.findall(r"`([\w/]+/)`", cell)}
    missing, stale = _rooms() - listed, listed - _rooms() - {"assets/", "tests/", "bench/", "docs/"}
    assert not missing, f"rooms missing from README's room table: {sorted(missing)}"
    assert not stale, f"README's room table lists folders that are not packages: {sorted(stale)}"
