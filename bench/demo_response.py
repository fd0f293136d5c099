"""How the bundled demo models respond to edits, in numbers (the quantities tests/test_demo.py bounds).

    python -m bench.demo_response

Hair: distance of the rendered hair's mean colour to source B's hair colour before / after hair=B, and the
mean change of background pixels relative to hair pixels. Interpolation: where the 0.5 A/B mix lands on the
line from A's render to B's (0 = A, 1 = B). Crossover: the mean change of hair pixels when only some blocks
take B. Street: the repainted road patch's colour before / after against the rendered road, and the share of its
pixels whose nearest colour among the demo world's cars and roads is a car's.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from tools.demo.measure import car_like_share, world_colours, write_road_patch_as_car

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "assets" / "demo"
HAIR, BACKGROUND, ROAD, CAR = 13, 0, 7, 26


def render(scratch: Path, project: Path, *flags: str) -> np.ndarray:
    from regionpaint.app.cli import main

    out = scratch / "render.png"
    if main(["render", "--project", str(project), "--device", "cpu", "--out", str(out), *flags]) != 0:
        raise RuntimeError(f"render of {project} failed")
    return np.asarray(Image.open(out).convert("RGB")).astype(np.float64)


def mask(label: np.ndarray, class_id: int, shape: tuple[int, ...]) -> np.ndarray:
    small = Image.fromarray(label.astype(np.uint8)).resize((shape[1], shape[0]), Image.NEAREST)
    return np.asarray(small) == class_id


def face_rows(scratch: Path) -> list[tuple[str, str]]:
    from regionpaint.app.model.project import open_project

    project = DEMO / "faces.rpaint"
    doc = open_project(project)
    a = render(scratch, project, "--region-style", "hair=A")
    b = render(scratch, project, "--region-style", "hair=B")
    mix = render(scratch, project, "--region-style", "hair=A:0.5,B:0.5")
    hair, background = mask(doc.label, HAIR, a.shape), mask(doc.label, BACKGROUND, a.shape)
    source_b = doc.style_sources["B"]
    target = source_b.image[source_b.label == HAIR].reshape(-1, 3).mean(0)
    before, after = (np.linalg.norm(img[hair].mean(0) - target) for img in (a, b))
    hair_change = np.abs(b[hair] - a[hair]).mean()
    background_change = np.abs(b[background] - a[background]).mean()
    direction = b[hair].mean(0) - a[hair].mean(0)
    position = float(np.dot(mix[hair].mean(0) - a[hair].mean(0), direction) / np.dot(direction, direction))
    rows = [
        ("B's hair colour (RGB)", str(np.round(target).astype(int).tolist())),
        ("rendered hair, style A (RGB)", str(np.round(a[hair].mean(0)).astype(int).tolist())),
        ("rendered hair, hair=B (RGB)", str(np.round(b[hair].mean(0)).astype(int).tolist())),
        ("distance to B's hair: A -> B", f"{before:.1f} -> {after:.1f} ({100 * (1 - after / before):.0f} % closer)"),
        ("mean |change| hair / background", f"{hair_change:.1f} / {background_change:.1f} levels"),
        ("0.5 mix position (0 = A, 1 = B)", f"{position:.2f}"),
    ]
    for blocks in ("head_0", "G_middle_0", "G_middle_1", "up_0", "up_1", "up_2", "up_0,up_1,up_2"):
        spec = ",".join(f"{block}=B" for block in blocks.split(","))
        crossed = render(scratch, project, "--region-style", "all=A", "--crossover", spec)
        change = np.abs(crossed[hair] - a[hair]).mean()
        rows.append((f"crossover {blocks} from B: hair |change|", f"{change:.1f} levels"))
    return rows


def street_rows(scratch: Path) -> list[tuple[str, str]]:
    from regionpaint.app.model.project import open_project

    project = DEMO / "streets.rpaint"
    doc = open_project(project)
    patch, label_path, instance_path = write_road_patch_as_car(doc.label, doc.instance, scratch)
    before = render(scratch, project)
    after = render(scratch, project, "--label", str(label_path), "--instance", str(instance_path))
    region = mask(patch.astype(np.uint8), 1, before.shape)
    road = before[mask(doc.label, ROAD, before.shape) & ~region].mean(0)
    patch_before, patch_after = before[region].mean(0), after[region].mean(0)
    cars, roads = world_colours(CAR), world_colours(ROAD)
    rendered_cars = before[mask(doc.label, CAR, before.shape)]

    def rgb(value: np.ndarray) -> str:
        return str(np.round(value).astype(int).tolist())

    return [
        ("patch mean colour before -> after (RGB)", f"{rgb(patch_before)} -> {rgb(patch_after)}"),
        (
            "patch distance to the rendered road colour",
            f"{np.linalg.norm(patch_before - road):.1f} -> {np.linalg.norm(patch_after - road):.1f}",
        ),
        (
            "car-like share of patch pixels",
            f"{car_like_share(before[region], cars, roads):.2f} -> {car_like_share(after[region], cars, roads):.2f}",
        ),
        ("car-like share of the scene's rendered cars", f"{car_like_share(rendered_cars, cars, roads):.2f}"),
    ]


def main() -> int:
    if not (DEMO / "faces.rpaint").is_file():
        print(f"{DEMO} is not built (python -m tools.demo.build)")
        return 1
    with tempfile.TemporaryDirectory() as scratch:
        rows = [("face demo (SEAN)", "")] + face_rows(Path(scratch))
        rows += [("street demo (SPADE)", "")] + street_rows(Path(scratch))
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}" if value else f"\n{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
