"""``regionpaint segmenters``, ``segment`` and ``evaluate``: label photos, and score renders' label fidelity."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def register(cli) -> None:
    cli.add_command("segmenters", "List the registered segmenters (photo → label map).", _configure_list, run_list)
    cli.add_command(
        "segment", "Label a photo with a segmenter and write the label map.", _configure_segment, run_segment
    )
    cli.add_command(
        "evaluate",
        "Label fidelity: segment rendered images and score them (mIoU, pixel accuracy) against the label "
        "maps they were rendered from.",
        _configure_evaluate,
        run_evaluate,
    )


def _configure_list(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _add_segmenter_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--segmenter", required=True, metavar="ID", help="segmenter id (see `regionpaint segmenters`)")
    parser.add_argument(
        "--weights",
        metavar="FILE",
        help="the segmenter's weights (.pth or .safetensors, or an installed model's name); "
        "default: the installed catalog model for this segmenter (`regionpaint models list`)",
    )
    parser.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N or mps")
    parser.add_argument(
        "--size",
        metavar="SIZE",
        help="the size the network sees the photo at, where the segmenter has a choice: drn-d-105 takes 2048 "
        "(default: the width it was trained at), native (the photo's own size, ~16x faster for 512x256) or "
        "a width in pixels (docs/segmenters.md)",
    )
    parser.add_argument(
        "--fast",
        action="store_true",
        help="bfloat16 on the CPU, float16 on CUDA: faster, labels agree with the exact ones on nearly every "
        "pixel (docs/segmenters.md)",
    )


def _configure_segment(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("photo", metavar="PHOTO", help="the photo to label")
    _add_segmenter_arguments(parser)
    parser.add_argument("--out", required=True, metavar="LABEL.png", help="where to write the label map")
    parser.add_argument("--colour", "--color", action="store_true", help="write the label set's colours, not ids")


def _configure_evaluate(parser: argparse.ArgumentParser) -> None:
    _add_segmenter_arguments(parser)
    parser.add_argument("--labels", required=True, metavar="DIR", help="the label maps the images were rendered from")
    parser.add_argument("--images", required=True, metavar="DIR", help="rendered images, named like their label maps")
    parser.add_argument("--per-class", action="store_true", help="also print the IoU of every class")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run_list(args: argparse.Namespace) -> int:
    from regionpaint.plugins.manager import get_plugin_manager

    manager = get_plugin_manager()
    rows = [
        {
            "id": segmenter_id,
            "name": entry.segmenter_class.display_name,
            "label_set": entry.segmenter_class.label_set,
            "needs_weights": entry.segmenter_class.needs_weights,
            "weights": entry.segmenter_class.weights_hint,
            "plugin": entry.plugin,
        }
        for segmenter_id, entry in sorted(manager.segmenters().items())
    ]
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    from regionpaint.app.commands.tables import table

    rows_text = [[r["id"], r["name"], r["label_set"], r["weights"] if r["needs_weights"] else "none"] for r in rows]
    # Plugin load errors are reported once by the CLI's entry point, as for every command.
    print(table(rows_text, ["id", "name", "label set", "weights needed"]))
    return 0


def _check_weights(args: argparse.Namespace) -> None:
    """``--weights`` as given, an installed model's name resolved, or the installed catalog model by default."""
    from regionpaint.app.model_manager.manager import installed_segmenter_weights, resolve_checkpoint, segmenter_hint
    from regionpaint.app.segmentation import segmenter_class

    cls = segmenter_class(args.segmenter)
    args.size = cls.check_size(args.size)  # a wrong --size is an error before any weights load
    if args.weights:
        args.weights = resolve_checkpoint(args.weights)
    elif cls.needs_weights:
        installed = installed_segmenter_weights(args.segmenter)
        if installed is None:
            raise ValueError(
                f"segmenter {args.segmenter} needs --weights FILE, {cls.weights_hint}{segmenter_hint(args.segmenter)}"
            )
        args.weights = str(installed)


def run_segment(args: argparse.Namespace) -> int:
    from PIL import Image

    from regionpaint.app.model.imports import read_upright_photo
    from regionpaint.app.model.orientation import ORIENTATION_TAG
    from regionpaint.app.segmentation import label_set_of, load_segmenter, segmenter_class

    _check_weights(args)
    upright = read_upright_photo(args.photo)
    segmenter = load_segmenter(args.segmenter, args.weights, args.device)
    label = segmenter.segment(upright.pixels, size=args.size, fast=args.fast)
    out = Path(args.out)
    array = label_set_of(segmenter_class(args.segmenter)).to_color(label) if args.colour else label
    exif = Image.Exif()
    if upright.orientation != 1:
        # The map is of the upright photo; orientation 1 says so, so reading it with the photo (whose EXIF
        # orientation turns it) keeps it as it is (app/model/orientation.py, rule 1).
        exif[ORIENTATION_TAG] = 1
    try:
        target = out.with_suffix(".png") if out.suffix != ".png" else out
        Image.fromarray(np.ascontiguousarray(array)).save(target, exif=exif)
    except (OSError, ValueError) as exc:
        raise OSError(f"{out}: could not write ({exc})") from exc
    print(f"wrote {out} ({label.shape[1]}x{label.shape[0]}, {len(np.unique(label))} classes)", file=sys.stderr)
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from regionpaint.app.segmentation import evaluate_pairs, label_set_of, load_segmenter, pair_folders, segmenter_class

    _check_weights(args)
    pairs = pair_folders(Path(args.labels), Path(args.images))
    label_set = label_set_of(segmenter_class(args.segmenter))
    segmenter = load_segmenter(args.segmenter, args.weights, args.device)
    progress = None
    if not args.json and sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=len(pairs), unit="image", file=sys.stderr)
        progress = lambda done, total: bar.update(1)  # noqa: E731
    result = evaluate_pairs(segmenter, label_set, pairs, progress, size=args.size, fast=args.fast)
    score = result.score
    per_class = {label_set.name_of(cid): round(100 * iou, 2) for cid, iou in score.per_class_iou.items()}
    if args.json:
        report = {
            "segmenter": args.segmenter,
            "images": result.images,
            "miou": round(100 * score.miou, 2),
            "pixel_accuracy": round(100 * score.pixel_accuracy, 2),
            "per_class_iou": per_class,
        }
        print(json.dumps(report, indent=1))
        return 0
    print(f"images          {result.images}")
    print(f"mIoU            {100 * score.miou:.2f}")
    print(f"pixel accuracy  {100 * score.pixel_accuracy:.2f}")
    if args.per_class:
        for name, iou in per_class.items():
            print(f"  {name:<22} {iou:6.2f}")
    return 0
