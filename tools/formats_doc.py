"""The field tables of docs/formats.md, generated from the JSON Schemas the code is tested against.

``python -m tools.formats_doc`` rewrites the generated blocks of docs/formats.md (between
``<!-- generated: NAME -->`` and ``<!-- end generated -->``); ``--check`` says whether they are up to date
(tests/test_formats_doc.py runs the same comparison). The prose around the blocks is written by hand.

Sources: ``app/model/project.schema.json`` (doc.json of a ``.rpaint``), ``engines/loading/sidecar.schema.json``
(the ``.safetensors`` sidecar) and the :class:`regionpaint.engines.base.CheckpointInfo` dataclass.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "formats.md"
PROJECT_SCHEMA = REPO / "app" / "model" / "project.schema.json"
SIDECAR_SCHEMA = REPO / "engines" / "loading" / "sidecar.schema.json"
BLOCK = re.compile(r"(<!-- generated: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- end generated -->)", re.DOTALL)


def load_schema(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _type_text(node: dict[str, Any], root: dict[str, Any]) -> str:
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return _type_text(root["$defs"][name], root) if name != "mix" else "mix"
    if "const" in node:
        return f"`{json.dumps(node['const'])}`"
    if "enum" in node:
        return " \\| ".join(f"`{json.dumps(v)}`" for v in node["enum"])
    kinds = node.get("type", "any")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if "prefixItems" in node:
        items = ", ".join(_type_text(item, root) for item in node["prefixItems"])
        kinds = [f"[{items}]" if kind == "array" else kind for kind in kinds]
    elif "array" in kinds and isinstance(node.get("items"), dict) and node["items"].get("type") != "object":
        kinds = [f"array of {_type_text(node['items'], root)}" if k == "array" else k for k in kinds]
    if "object" in kinds and isinstance(node.get("additionalProperties"), dict):
        kinds = [f"object of {_type_text(node['additionalProperties'], root)}" if k == "object" else k for k in kinds]
    return " \\| ".join(kinds)


def _range_text(node: dict[str, Any]) -> str:
    parts = []
    if "minimum" in node and "maximum" in node:
        parts.append(f"{node['minimum']}..{node['maximum']}")
    elif "minimum" in node:
        parts.append(f"≥ {node['minimum']}")
    if node.get("minLength"):
        parts.append("non-empty")
    return f" ({', '.join(parts)})" if parts else ""


def _rows(node: dict[str, Any], root: dict[str, Any], prefix: str = "") -> list[list[str]]:
    rows = []
    required = set(node.get("required", ()))
    for name, child in node.get("properties", {}).items():
        path = f"{prefix}{name}"
        default = f"`{json.dumps(child['default'])}`" if "default" in child else ""
        need = "yes" if name in required else ""
        text = child.get("description", "")
        rows.append([f"`{path}`", _type_text(child, root) + _range_text(child), need, default, text])
        if child.get("type") == "object" and "properties" in child:
            rows += _rows(child, root, f"{path}.")
        items = child.get("items")
        if isinstance(items, dict) and items.get("type") == "object":
            rows += _rows(items, root, f"{path}[].")
    return rows


def field_table(schema: dict[str, Any]) -> str:
    """One row per field (nested objects as ``a.b``, list items as ``a[].b``)."""
    lines = ["| field | type | required | default | meaning |", "|---|---|---|---|---|"]
    for row in _rows(schema, schema):
        lines.append("| " + " | ".join(cell.replace("\n", " ") for cell in row).rstrip() + " |")
    notes = [f"`mix`: {schema['$defs']['mix']['description']}"] if "mix" in schema.get("$defs", {}) else []
    if schema.get("additionalProperties") is False:
        notes.append("No other fields are written.")
    return "\n".join(lines) + ("\n\n" + " ".join(notes) if notes else "") + "\n"


def _json(value: Any, indent: str = "") -> str:
    """Objects one field a line (two levels deep), lists of objects one object a line, the rest on one line."""
    inner = indent + "  "
    if isinstance(value, dict) and value and len(indent) < 4:
        fields = [f"{inner}{json.dumps(k)}: {_json(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(fields) + f"\n{indent}}}"
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return "[\n" + ",\n".join(f"{inner}{json.dumps(v)}" for v in value) + f"\n{indent}]"
    return json.dumps(value)


def example(schema: dict[str, Any]) -> str:
    return "```json\n" + _json(schema["examples"][0]) + "\n```\n"


def checkpoint_info_table() -> str:
    from regionpaint.engines.base import CheckpointInfo

    lines = ["| field | type |", "|---|---|"]
    for item in dataclasses.fields(CheckpointInfo):
        kind = str(item.type).replace("|", "\\|")  # a bar would end the table cell
        lines.append(f"| `{item.name}` | `{kind}` |")
    return "\n".join(lines) + "\n"


def generated_blocks() -> dict[str, str]:
    """The text of every generated block by name."""
    project, sidecar = load_schema(PROJECT_SCHEMA), load_schema(SIDECAR_SCHEMA)
    return {
        "project-fields": field_table(project),
        "project-example": example(project),
        "sidecar-fields": field_table(sidecar),
        "sidecar-example": example(sidecar),
        "checkpoint-info": checkpoint_info_table(),
    }


def render(text: str, blocks: dict[str, str]) -> str:
    """``text`` with each generated block replaced by its current contents."""
    missing = set(blocks) - {match["name"] for match in BLOCK.finditer(text)}
    if missing:
        raise ValueError(f"{DOC}: no generated block named {', '.join(sorted(missing))}")
    return BLOCK.sub(lambda m: m.group(1) + blocks[m["name"]] + m.group(4), text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.formats_doc", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when docs/formats.md is out of date")
    args = parser.parse_args(argv)
    text = DOC.read_text(encoding="utf-8")
    wanted = render(text, generated_blocks())
    if args.check:
        if wanted != text:
            print(f"{DOC} is out of date: run python -m tools.formats_doc", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
