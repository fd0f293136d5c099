"""``regionpaint export-labels``: label maps converted to another label set, for other tools.

    regionpaint export-labels --labels gtFine/val --from cityscapes --to ade20k --out seg/

writes ADE20K colour-coded segmentation images (the palette ControlNet-style segmentation models are
conditioned on), mirroring the label tree; ``--format index`` writes the target set's ids instead (255 =
unmapped). Classes without a meaningful counterpart are listed with their pixel counts at the end. The
tables are data files (app/model/mapping_*_to_*.json, see docs/batch.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path


def register(cli) -> None:
    cli.add_command(
        "export-labels",
        "Convert label maps to another label set (e.g. Cityscapes -> ADE20K colours for ControlNet).",
        configure,
        run,
    )


def configure(parser: argparse.ArgumentParser) -> None:
    from regionpaint.app.batch.discovery import LAYOUTS

    parser.add_argument("--labels", required=True, metavar="DIR|FILE", help="label map(s): index or colour PNGs")
    parser.add_argument("--from", dest="source", required=True, metavar="ID", help="label set of the maps")
    parser.add_argument("--to", dest="target", default="ade20k", metavar="ID", help="label set to write (ade20k)")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder (mirrors the label tree)")
    parser.add_argument("--format", choices=("color", "index"), default="color", help="colour PNG or id PNG")
    parser.add_argument("--layout", choices=LAYOUTS, default="auto", help="dataset layout of --labels")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON line")


def _inputs(labels: Path, layout: str) -> list[tuple[Path, str]]:
    """(label file, output path below --out) for a single file or a folder."""
    from regionpaint.app.batch.discovery import discover

    if labels.is_file():
        return [(labels, f"{labels.stem}.png")]
    _, items = discover(labels, layout)
    return [(item.label, str(Path(item.key).parent / f"{item.label.stem}.png")) for item in items]


def run(args: argparse.Namespace) -> int:
    from PIL import Image

    from regionpaint.app.batch.manifest import write_atomic
    from regionpaint.app.model.imports import read_label_map
    from regionpaint.app.model.label_mapping import load_mapping
    from regionpaint.plugins.manager import get_plugin_manager

    manager = get_plugin_manager()
    mapping = load_mapping(manager.label_set(args.source), manager.label_set(args.target))
    labels, out = Path(args.labels), Path(args.out)
    if not labels.exists():
        raise ValueError(f"{labels}: no such label file or folder")
    unmapped: Counter[int] = Counter()
    failed: list[tuple[str, str]] = []
    written = 0
    for path, rel in _inputs(labels, args.layout):
        try:
            ids, missing = mapping.convert(read_label_map(path, mapping.source), str(path))
            pixels = mapping.target.to_color(ids) if args.format == "color" else ids
            buffer = __import__("io").BytesIO()
            Image.fromarray(pixels).save(buffer, format="PNG")
            write_atomic(out / rel, buffer.getvalue())
        except (ValueError, OSError) as exc:
            failed.append((str(path), str(exc)))
            continue
        unmapped.update(missing)
        written += 1
    names = mapping.source.names
    summary = {
        "written": written,
        "out": str(out),
        "source": mapping.source.id,
        "target": mapping.target.id,
        "unmapped": {names[i]: count for i, count in unmapped.most_common()},
        "failed": failed,
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"wrote {written} {mapping.target.id} {args.format} maps to {out}", file=sys.stderr)
        if unmapped:
            listed = ", ".join(f"{names[i]} ({count} px)" for i, count in unmapped.most_common())
            print(f"no {mapping.target.id} class for: {listed} (written as unlabeled)", file=sys.stderr)
        for path, message in failed:
            print(
                f"regionpaint: error: {message if message.startswith(path) else f'{path}: {message}'}", file=sys.stderr
            )
    return 1 if failed else 0
