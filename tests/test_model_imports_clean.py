"""regionpaint.app.model stays free of Qt, torch and the engine/plugin packages."""

from __future__ import annotations

import ast
import subprocess
import sys

from tests.conftest import REPO

FORBIDDEN = ("torch", "PySide6", "engines", "plugins")


def test_importing_the_model_loads_neither_torch_nor_qt():
    code = (
        "import sys, regionpaint.app.model, regionpaint.app.model.edits, regionpaint.app.model.imports, "
        "regionpaint.app.model.project;"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {set(FORBIDDEN)!r}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]", result.stdout


def test_model_sources_do_not_import_forbidden_packages():
    for path in sorted((REPO / "app" / "model").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN, f"{path.name} imports {name}"
