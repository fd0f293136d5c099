"""Write procedural demo datasets to disk in the folder layouts the training code reads.

Layouts (``phase`` is ``train`` unless told otherwise; ``NNNNNN`` is the zero-padded sample index):

* ``celebamask-hq`` (faces' default): ``<phase>/images/NNNNNN.png`` (or ``.jpg``) and ``<phase>/labels/NNNNNN.png``
  (8-bit CelebAMask-HQ ids), as SEAN reads them.
* ``flat`` (streets' default): ``<phase>_img/NNNNNN.png``, ``<phase>_label/NNNNNN.png`` (8-bit labelIds) and, for
  streets, ``<phase>_inst/NNNNNN.png`` (16-bit Cityscapes instance ids), as pix2pixHD/SPADE read them.
* ``cityscapes``: ``leftImg8bit/<phase>/demo/demo_000000_NNNNNN_leftImg8bit.png`` and
  ``gtFine/<phase>/demo/demo_000000_NNNNNN_gtFine_{labelIds,instanceIds}.png``.

Sample ``i`` of a dataset is generated from the seed sequence ``[seed, i]``, so it does not depend on
``count`` or on how many workers wrote the set, and the same arguments always give the same bytes.

Command line: ``python -m tools.demo.dataset faces OUT --count 100 --size 128 --seed 0`` (or ``streets``), and
``python -m tools.demo.dataset sheet OUT.png`` for a contact sheet of photos over their label maps.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .faces import FaceSample, make_face
from .streets import StreetSample, make_street, street_size

log = logging.getLogger(__name__)

KINDS = ("faces", "streets")
LAYOUTS = ("celebamask-hq", "flat", "cityscapes")
DEFAULT_LAYOUT = {"faces": "celebamask-hq", "streets": "flat"}
DEFAULT_SIZE = {"faces": 256, "streets": 512}
LABEL_SET = {"faces": "celebamask-hq", "streets": "cityscapes"}  # ids of regionpaint.app.model.labelsets
INFO_FILE = "demo_dataset.json"

Sample = FaceSample | StreetSample


@dataclass(frozen=True)
class PairPaths:
    """Files written for one sample; ``instance`` is None for faces (they have no instances)."""

    photo: Path
    label: Path
    instance: Path | None = None


def make_sample(kind: str, seed: int | Sequence[int], size: int | tuple[int, int] | None = None) -> Sample:
    """One sample of ``kind`` ("faces" or "streets"); ``size`` defaults to 256 (faces) / 512 wide (streets)."""
    _check_kind(kind)
    rng = np.random.default_rng(seed)
    size = DEFAULT_SIZE[kind] if size is None else size
    if kind == "faces":
        return make_face(rng, size if isinstance(size, int) else int(size[0]))
    return make_street(rng, size)


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")


# ---------------------------------------------------------------- files


def save_png(array: np.ndarray, path: Path) -> None:
    """Write (H, W, 3) uint8 RGB, (H, W) uint8 ids or (H, W) uint16 instance ids as a lossless PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # uint16 arrays become Pillow's "I;16" mode, which PNG stores as 16-bit greyscale.
    Image.fromarray(np.ascontiguousarray(array)).save(path)


def _save_photo(photo: np.ndarray, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in (".jpg", ".jpeg"):
        Image.fromarray(photo).save(path, quality=95)
    else:
        save_png(photo, path)


def _instance_u16(instance: np.ndarray) -> np.ndarray:
    if instance.size and (int(instance.min()) < 0 or int(instance.max()) > 65535):
        raise ValueError("instance ids must fit in 16 bits (0..65535)")
    return instance.astype(np.uint16)


def sample_paths(
    kind: str, root: Path, index: int, layout: str, phase: str = "train", image_ext: str = ".png"
) -> PairPaths:
    """Where sample ``index`` goes in ``layout`` under ``root``."""
    name = f"{index:06d}"
    with_instance = kind == "streets"  # faces have no instances
    if layout == "celebamask-hq":  # SEAN's layout has no instance maps
        return PairPaths(root / phase / "images" / f"{name}{image_ext}", root / phase / "labels" / f"{name}.png")
    if layout == "flat":
        return PairPaths(
            root / f"{phase}_img" / f"{name}{image_ext}",
            root / f"{phase}_label" / f"{name}.png",
            root / f"{phase}_inst" / f"{name}.png" if with_instance else None,
        )
    if layout == "cityscapes":
        stem, gt, img = f"demo_000000_{name}", root / "gtFine" / phase / "demo", root / "leftImg8bit" / phase / "demo"
        return PairPaths(
            img / f"{stem}_leftImg8bit{image_ext}",
            gt / f"{stem}_gtFine_labelIds.png",
            gt / f"{stem}_gtFine_instanceIds.png" if with_instance else None,
        )
    raise ValueError(f"unknown layout {layout!r}; expected one of {', '.join(LAYOUTS)}")


def save_sample(sample: Sample, paths: PairPaths) -> PairPaths:
    """Write a sample's photo, label map and (when ``paths.instance`` is set) 16-bit instance map."""
    _save_photo(sample.photo, paths.photo)
    save_png(sample.label, paths.label)
    if paths.instance is not None:
        save_png(_instance_u16(sample.instance), paths.instance)
    return paths


def write_pair(
    kind: str,
    out_dir: str | os.PathLike[str],
    seed: int = 0,
    size: int | tuple[int, int] | None = None,
    stem: str | None = None,
) -> PairPaths:
    """Write one sample as a document: ``<stem>.png``, ``<stem>_label.png`` (+ ``<stem>_inst.png`` for streets).

    ``stem`` defaults to ``<kind>_<seed>``. The sample is ``make_sample(kind, seed, size)``.
    """
    out = Path(out_dir)
    stem = stem or f"{kind}_{seed}"
    sample = make_sample(kind, seed, size)
    paths = PairPaths(
        out / f"{stem}.png", out / f"{stem}_label.png", out / f"{stem}_inst.png" if kind == "streets" else None
    )
    return save_sample(sample, paths)


def _write_one(job: tuple[str, str, int, int, int | tuple[int, int], str, str, str]) -> None:
    kind, root, seed, index, size, layout, phase, image_ext = job
    sample = make_sample(kind, [seed, index], size)
    save_sample(sample, sample_paths(kind, Path(root), index, layout, phase, image_ext))


def write_dataset(
    kind: str,
    out_dir: str | os.PathLike[str],
    count: int,
    size: int | tuple[int, int] | None = None,
    seed: int = 0,
    layout: str | None = None,
    phase: str = "train",
    image_format: str = "png",
    start: int = 0,
    workers: int = 1,
) -> list[PairPaths]:
    """Generate ``count`` samples of ``kind`` into ``out_dir`` and return their paths, in index order.

    size: faces: the side in px (default 256); streets: the width (height = width // 2, default 512) or
    (width, height). layout: "celebamask-hq", "flat" or "cityscapes" (default: celebamask-hq for faces,
    flat for streets). image_format: "png" (lossless) or "jpg" for the photos; labels are always PNG.
    start: index of the first sample (to extend a set). workers: processes to use (output is identical).
    Also writes ``demo_dataset.json`` describing the set (kind, label set, size, seed, layout, count).
    """
    _check_kind(kind)
    layout = layout or DEFAULT_LAYOUT[kind]
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; expected one of {', '.join(LAYOUTS)}")
    if image_format not in ("png", "jpg"):
        raise ValueError(f"image_format must be 'png' or 'jpg', got {image_format!r}")
    size = DEFAULT_SIZE[kind] if size is None else size
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    ext = f".{image_format}"
    jobs = [(kind, str(root), seed, i, size, layout, phase, ext) for i in range(start, start + count)]
    if workers > 1 and count > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            list(pool.map(_write_one, jobs, chunksize=max(1, count // (workers * 4))))
    else:
        for job in jobs:
            _write_one(job)
    _write_info(root, kind, size, seed, layout, phase, start, count)
    log.info("wrote %d %s samples to %s (%s layout)", count, kind, root, layout)
    return [sample_paths(kind, root, i, layout, phase, ext) for i in range(start, start + count)]


def _write_info(
    root: Path, kind: str, size: int | tuple[int, int], seed: int, layout: str, phase: str, start: int, count: int
) -> None:
    """``demo_dataset.json``: what the generator wrote, for the training code and for people."""
    width, height = (size, size) if kind == "faces" and isinstance(size, int) else street_size(size)
    info = {
        "kind": kind,
        "label_set": LABEL_SET[kind],
        "width": width,
        "height": height,
        "seed": seed,
        "layout": layout,
        "phase": phase,
        "first_index": start,
        "count": count,
        "instances": kind == "streets" and layout != "celebamask-hq",
    }
    (root / INFO_FILE).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")


# ---------------------------------------------------------------- contact sheet


def _colorize(label: np.ndarray, kind: str) -> np.ndarray:
    """(H, W, 3) uint8 official label colours of a label map."""
    from regionpaint.app.model.labelsets import CELEBAMASK_HQ, CITYSCAPES  # the sheet only; keeps generation light

    colours = np.zeros((256, 3), np.uint8)
    table = (CELEBAMASK_HQ if kind == "faces" else CITYSCAPES).colors
    colours[: len(table)] = np.asarray(table, np.uint8)
    return colours[label]


def contact_sheet(
    faces: int = 12, streets: int = 6, seed: int = 0, face_size: int = 128, street_width: int = 256
) -> np.ndarray:
    """(H, W, 3) uint8 grid: rows of face photos over their label maps, then street photos over theirs."""
    face_tiles = [make_sample("faces", [seed, i], face_size) for i in range(faces)]
    street_tiles = [make_sample("streets", [seed, i], street_width) for i in range(streets)]
    rows = []
    # Six faces per row; as many streets as fit in the same width.
    for kind, tiles, per_row in (
        ("faces", face_tiles, 6),
        ("streets", street_tiles, max(1, 6 * face_size // street_width)),
    ):
        for i in range(0, len(tiles), per_row):
            pairs = [np.concatenate([s.photo, _colorize(s.label, kind)], 0) for s in tiles[i : i + per_row]]
            rows.append(np.concatenate(pairs, 1))
    width = max(r.shape[1] for r in rows)
    return np.concatenate([np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0))) for r in rows], 0)


def save_sheet(sheet: np.ndarray, path: Path, zoom: int = 2) -> None:
    """Save a contact sheet ``zoom`` times enlarged as a dithered 256-colour PNG.

    Grainy photos compress badly as true colour; a palette keeps the file small, and quantising before
    enlarging keeps each enlarged pixel one flat block, which PNG compresses well.
    """
    image = Image.fromarray(sheet).quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.FLOYDSTEINBERG)
    image.resize((image.width * zoom, image.height * zoom), Image.Resampling.NEAREST).save(path, optimize=True)


# ---------------------------------------------------------------- command line


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.demo.dataset", description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=[*KINDS, "sheet"], help="what to write ('sheet': a contact sheet PNG)")
    parser.add_argument("out", help="dataset folder (or the sheet's PNG path)")
    parser.add_argument("--count", type=int, default=100, help="number of samples (default 100)")
    parser.add_argument("--size", type=int, default=None, help="faces: side px (256); streets: width px (512)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--layout", choices=LAYOUTS, default=None, help="folder layout (default by kind)")
    parser.add_argument("--phase", default="train", help="phase folder name (default train)")
    parser.add_argument("--jpg", action="store_true", help="write photos as JPEG (labels stay PNG)")
    parser.add_argument("--start", type=int, default=0, help="index of the first sample")
    parser.add_argument("--workers", type=int, default=1, help="processes to use")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.kind == "sheet":
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        save_sheet(contact_sheet(seed=args.seed), Path(args.out))
        log.info("wrote %s", args.out)
        return 0
    write_dataset(
        args.kind,
        args.out,
        args.count,
        args.size,
        args.seed,
        args.layout,
        args.phase,
        "jpg" if args.jpg else "png",
        args.start,
        args.workers,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
