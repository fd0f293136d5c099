"""Write the official key/shape layouts the model catalog names (``app/model_manager/layouts/*.json``).

A build-time tool (the runtime never imports it). Sources:

- ``--specs`` (default ``../shared/specs``): key/shape listings of the full-size official networks, made by
  running the official SPADE / SEAN / pix2pixHD code; copied as they are.
- ``tests/data/*_keys.txt``: the BiSeNet face-parsing and DRN-D-105 listings the segmenters are checked with.
- ``spade_coco_stuff`` is derived: the released COCO-Stuff generator was trained without ``--use_vae`` (the
  README's test command has no such flag, and the generator's ``fc`` differs between the two), so its layout is
  the VAE listing's generator with ``fc`` as the 3x3 convolution from the 184 input channels
  (``tests/test_model_layouts.py`` checks it against the network the engine builds).

    python -m tools.models.make_layouts [--specs DIR]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "app" / "models" / "layouts"
TEST_DATA = REPO / "tests" / "data"

#: layout name -> (spec file, description)
FROM_SPECS = {
    "spade_cityscapes": ("spade_cityscapes_default.json", "SPADE generator, Cityscapes (35 labels + instance edges)"),
    "spade_ade20k": ("spade_ade20k_default.json", "SPADE generator, ADE20K (150 labels + don't-care)"),
    "sean_celebahq": ("sean_celebahq_default.json", "SEAN generator with its style encoder, CelebAMask-HQ (19)"),
    "pix2pixhd_label2city_1024p": (
        "pix2pixhd_local_1024p_default.json",
        "pix2pixHD local enhancer generator (netG local, ngf 32), Cityscapes 1024p",
    ),
}
FROM_LISTINGS = {
    "bisenet_face_parsing": ("bisenet_keys.txt", "face-parsing.PyTorch BiSeNet (79999_iter.pth), 19 classes"),
    "drn_d_105_cityscapes": ("drn_d_105_keys.txt", "fyu/drn DRNSeg drn_d_105, Cityscapes 19 train ids"),
}


def _spec_keys(spec: dict, net: str) -> list[list]:
    return [[key, list(shape), dtype] for key, shape, dtype in spec["nets"][net]["keys"]]


def _listing_keys(path: Path) -> list[list]:
    rows = []
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        key, shape, dtype = line.split()
        rows.append([key, [] if shape == "scalar" else [int(d) for d in shape.split("x")], dtype])
    return rows


def _write(name: str, description: str, source: str, nets: dict[str, list[list]]) -> None:
    # One key per line: a reviewer reads a changed shape as a one-line diff.
    lines = ["{", f' "name": {json.dumps(name)},', f' "description": {json.dumps(description)},']
    lines.append(f' "source": {json.dumps(source)},')
    lines.append(' "nets": {')
    for n, (role, keys) in enumerate(nets.items()):
        lines.append(f"  {json.dumps(role)}: [")
        lines += [f"   {json.dumps(row)}{',' if i < len(keys) - 1 else ''}" for i, row in enumerate(keys)]
        lines.append("  ]" + ("," if n < len(nets) - 1 else ""))
    lines += [" }", "}", ""]
    (OUT / f"{name}.json").write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specs", type=Path, default=REPO.parent / "shared" / "specs")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    for name, (file, description) in FROM_SPECS.items():
        spec = json.loads((args.specs / file).read_text())
        _write(name, description, f"official code, listed in specs/{file}", {"G": _spec_keys(spec, "G")})
    coco = json.loads((args.specs / "spade_coco_vae_default.json").read_text())
    generator = _spec_keys(coco, "G")
    width, semantic_nc = 16 * coco["ngf"], coco["semantic_nc"]
    fc = {"fc.weight": [width, semantic_nc, 3, 3], "fc.bias": [width]}
    generator = [[key, fc.get(key, shape), dtype] for key, shape, dtype in generator]
    _write(
        "spade_coco_stuff",
        "SPADE generator, COCO-Stuff (182 labels + don't-care + instance edges), trained without the VAE",
        "specs/spade_coco_vae_default.json with fc as Conv2d(184, 1024, 3) (the released model has no encoder)",
        {"G": generator},
    )
    for name, (file, description) in FROM_LISTINGS.items():
        _write(name, description, f"tests/data/{file}", {"weights": _listing_keys(TEST_DATA / file)})


if __name__ == "__main__":
    main()
