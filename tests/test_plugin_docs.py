"""docs/plugins.md is a contract a stranger can follow: only public names, every field, every capability, pictures."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import regionpaint
from regionpaint.engines.base import RenderRequest, RenderResult
from regionpaint.engines.schema import Option

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "plugins.md"
PLUGIN_PACKAGES = ("regionpaint", "regionpaint_flatcolor", "regionpaint_transfer")


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_code_examples_import_only_regionpaint_and_the_plugin_itself():
    imports = [
        line.split()[1].split(".")[0]
        for block in _python_blocks(DOC.read_text())
        for line in block.splitlines()
        if line.strip().startswith(("import ", "from "))
    ]
    assert imports, "the examples import nothing?"
    assert set(imports) <= set(PLUGIN_PACKAGES), sorted(set(imports) - set(PLUGIN_PACKAGES))


def test_every_request_result_and_option_field_is_documented():
    text = DOC.read_text()
    for cls in (RenderRequest, RenderResult, Option):
        for field in dataclasses.fields(cls):
            assert f"`{field.name}`" in text or f"{field.name}=" in text, f"{cls.__name__}.{field.name}"


def test_every_capability_has_a_row_in_the_capability_table():
    text = DOC.read_text()
    for name in regionpaint.ALL_CAPABILITIES:
        constant = next(k for k in dir(regionpaint) if getattr(regionpaint, k) == name and k.isupper())
        assert re.search(rf"^\| `{constant}` `\"{name}\"` \|", text, flags=re.M), name


def test_the_pictures_it_links_exist():
    pictures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", DOC.read_text())
    assert {"plugins-dialog.png", "plugins-editor-transfer.png"} <= set(pictures)
    for picture in pictures:
        assert (DOC.parent / picture).is_file(), picture


def test_the_example_plugin_it_points_to_exists_with_its_own_pyproject():
    assert "(../plugins/examples/regionpaint-transfer)" in DOC.read_text()
    assert (REPO / "plugins" / "examples" / "regionpaint-transfer" / "pyproject.toml").is_file()
