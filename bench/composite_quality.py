"""Photo editing measured: exactness, seam visibility and colour difference per compositing mode, and the time
to composite at 2048x1024.

    python -m bench --only composite                      # every case (demo + ../shared/fixtures)
    python -m bench.composite_quality --json              # the same as JSON lines
    python -m bench.composite_quality --quick             # the demo face and the timing only

Renders are real: the bundled demo checkpoints (SEAN faces at 128², SPADE streets at 256x128) render the
demo documents and the fixtures (CelebA-HQ 28083 at 1024² with its CelebAMask-HQ label, Cityscapes
2048x1024 with labelIds), upsampled to the photo's size by the compositor. Columns:

* ``out_max``: max |output - photo| outside the grown mask plus the band (must be 0);
* ``in_max``: max |output - upsampled render| inside the mask minus the band (must be 0);
* ``seam``: mean gradient magnitude (Sobel, grey) of the output along the grown mask's boundary divided by
  the photo's own there (1 = no more edge than the photo has; a hard paste is the reference row ``hard``);
* ``dE_band``: mean CIE76 colour difference between the (harmonised) render and the photo at the band's
  outer edge, where both show the same content: the step the blend has to hide;
* ``ms``: time to composite (median of repeats) at the photo's size.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "assets" / "demo"
FIXTURES = REPO.parent / "shared" / "fixtures"
REFS = REPO.parent / "shared" / "refs"

NAME = "composite"
DESCRIPTION = "photo editing: exactness, seam visibility, colour step and time per compositing mode"
MODES = ("hard", "feather", "seamless", "pyramid")
SKIN, HAIR, HAT, CLOTH = 1, 13, 14, 18
ROAD, CAR, BUILDING, VEGETATION = 7, 26, 11, 21


# --quick (the demo face and the timing only) is the suite's own flag: python -m bench --quick, or
# python -m bench.composite_quality --quick.


# -- measures ----------------------------------------------------------------------------------
def gradient(image: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return cv2.magnitude(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))


def ring(mask: np.ndarray, radius: int, width: int = 2) -> np.ndarray:
    """Pixels between ``radius`` and ``radius + width`` outside ``mask``."""
    from regionpaint.app.model.edit_mask import grow_mask

    return grow_mask(mask, radius + width) & ~grow_mask(mask, radius)


def measure(photo, render_up, output, mask, band) -> dict:
    from regionpaint.app.model.edit_mask import disk

    reach = band // 2 + 1
    outside = ~cv2.dilate(mask.astype(np.uint8), disk(reach)).astype(bool)
    inside = cv2.erode(mask.astype(np.uint8), disk(reach), borderValue=1).astype(bool)
    # The seam would sit on the grown mask's boundary: the pixels within 1.5 px of it, on either side.
    contour = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_GRADIENT, disk(1)).astype(bool)
    photo_grad, out_grad = gradient(photo), gradient(output)
    edge = ring(mask, band // 2, 2)
    lab = lambda image: cv2.cvtColor(image, cv2.COLOR_RGB2LAB).astype(np.float32) * [100 / 255, 1, 1]  # noqa: E731
    delta = np.linalg.norm(lab(render_up)[edge] - lab(photo)[edge], axis=-1) if edge.any() else np.zeros(1)
    return {
        "out_max": int(np.abs(output[outside].astype(int) - photo[outside]).max()) if outside.any() else 0,
        "in_max": int(np.abs(output[inside].astype(int) - render_up[inside]).max()) if inside.any() else 0,
        "seam": round(float(out_grad[contour].mean() / max(photo_grad[contour].mean(), 1e-6)), 3)
        if contour.any()
        else None,
        "dE_band": round(float(delta.mean()), 2),
    }


def composite_case(case: str, edit, request, render, capabilities, band: int, repeats: int = 3) -> list[dict]:
    """One row per mode (and harmonised feather/seamless) for one edit."""
    from regionpaint.app.render.composite import composite, upsample_render

    grown = edit.grown_mask(edit.edit_mask(request, capabilities), (render.shape[1], render.shape[0]))
    rows = []
    for mode, harmonize in [(m, False) for m in MODES] + [("feather", True), ("seamless", True)]:
        settings = edit.settings.replaced(
            mode="feather" if mode == "hard" else mode, band=0 if mode == "hard" else band, harmonize=harmonize
        )
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            result = composite(edit.photo, render, grown, settings)
            times.append(time.perf_counter() - start)
        up = result.render if harmonize else upsample_render(render, edit.size)
        row = {"case": case, "size": f"{edit.size[0]}x{edit.size[1]}", "mode": mode + ("+harm" if harmonize else "")}
        row.update({"mask_%": round(100 * float(grown.mean()), 1), "band": settings.band})
        row.update(measure(edit.photo, up, result.image, grown, settings.band))
        row["ms"] = round(1000 * float(np.median(times)), 1)
        rows.append(row)
    return rows


# -- renders ---------------------------------------------------------------------------------
def load_engine(engine_id: str, checkpoint: Path):
    from regionpaint.plugins.manager import get_plugin_manager

    engine = get_plugin_manager().engine_class(engine_id)()
    engine.load(checkpoint, "cpu")
    return engine


def face_cases(engine, edit, source_b, band: int, prefix: str) -> list[dict]:
    """Hair restyle, skin restyle, hair -> hat (top third of the hair), cloth relabelled as hair."""
    from regionpaint.app.render.photo_edit import photo_base_request

    rows = []
    styles = {"B": source_b}
    label = edit.baseline
    hat = label.copy()
    rows_hair = np.nonzero((label == HAIR).any(1))[0]
    top = rows_hair.min() + (rows_hair.max() - rows_hair.min()) // 3 if rows_hair.size else 0
    hat[:top][label[:top] == HAIR] = HAT
    cases = {
        "hair restyle": (label, {HAIR: (("B", 1.0),)}),
        "skin restyle": (label, {SKIN: (("B", 1.0),)}),
        "hair->hat": (hat, {}),
        "cloth->hair (whole object)": (np.where(label == CLOTH, HAIR, label).astype(label.dtype), {}),
    }
    for name, (edited, region_styles) in cases.items():
        request = dataclasses.replace(photo_base_request(edit, edited, None), seed=0)
        request = dataclasses.replace(request, styles={**request.styles, **styles}, region_styles=region_styles)
        render = engine.generate(request).image
        rows += composite_case(f"{prefix} {name}", edit, request, render, engine.checkpoint_capabilities, band)
    return rows


def street_cases(engine, edit, band: int, prefix: str) -> list[dict]:
    """Road patch -> car (a new instance) and the largest car relabelled as road (the whole object)."""
    from regionpaint.app.render.photo_edit import photo_base_request

    label, instance = edit.baseline, edit.baseline_instance
    height, width = label.shape
    patch = np.zeros_like(label, dtype=bool)
    patch[int(height * 0.80) : int(height * 0.95), int(width * 0.35) : int(width * 0.55)] = True
    patch &= label == ROAD
    car_label, car_instance = label.copy(), instance.copy()
    car_label[patch], car_instance[patch] = CAR, CAR * 1000 + 99
    cars = instance[(label == CAR) & (instance >= CAR * 1000)]
    rows = []
    cases = {"road patch->car": (car_label, car_instance)}
    if cars.size:
        biggest = np.bincount(cars - CAR * 1000).argmax() + CAR * 1000
        gone = instance == biggest
        cases["car->road (whole object)"] = (
            np.where(gone, ROAD, label).astype(label.dtype),
            np.where(gone, ROAD, instance),
        )
    for name, (edited, edited_instance) in cases.items():
        request = dataclasses.replace(photo_base_request(edit, edited, edited_instance), seed=0)
        render = engine.generate(request).image
        rows += composite_case(f"{prefix} {name}", edit, request, render, engine.checkpoint_capabilities, band)
    return rows


def demo_face(band: int) -> list[dict]:
    from regionpaint.app.model.edit_mask import start_photo_edit
    from regionpaint.app.model.project import open_project
    from regionpaint.app.render.photo_edit import photo_edit_from_document
    from regionpaint.engines.base import StyleSource

    doc = open_project(DEMO / "faces.rpaint")
    if not doc.is_photo_edit:
        start_photo_edit(doc)
    engine = load_engine("sean", Path(doc.engine.checkpoint))
    b = doc.style_sources["B"]
    return face_cases(engine, photo_edit_from_document(doc), StyleSource("B", b.image, b.label), band, "demo face")


def demo_street(band: int) -> list[dict]:
    from regionpaint.app.model.edit_mask import start_photo_edit
    from regionpaint.app.model.project import open_project
    from regionpaint.app.render.photo_edit import photo_edit_from_document

    doc = open_project(DEMO / "streets.rpaint")
    start_photo_edit(doc)
    engine = load_engine("spade", Path(doc.engine.checkpoint))
    return street_cases(engine, photo_edit_from_document(doc), band, "demo street")


def fixture_face(band: int) -> list[dict]:
    from regionpaint.app.model.imports import read_label_map, read_photo
    from regionpaint.app.model.labelsets import CELEBAMASK_HQ
    from regionpaint.app.render.photo_edit import PhotoEdit
    from regionpaint.engines.base import StyleSource

    photo_path = FIXTURES / "celebahq" / "styles" / "28083.jpg"
    label_path = REFS / "sean_celebahq" / "datasets" / "CelebA-HQ" / "test" / "labels_A" / "28083.png"
    if not (photo_path.is_file() and label_path.is_file()):
        return []
    photo = read_photo(photo_path)
    edit = PhotoEdit(photo, read_label_map(label_path, CELEBAMASK_HQ))
    edit = dataclasses.replace(edit, baseline=edit.fit(edit.baseline))
    b_image = FIXTURES / "celebahq" / "styles" / "28090.jpg"
    b_label = REFS / "sean_celebahq" / "datasets" / "CelebA-HQ" / "test" / "labels_B" / "28090.png"
    source_b = StyleSource(
        "B", read_photo(b_image), read_label_map(b_label, CELEBAMASK_HQ) if b_label.is_file() else None
    )
    if source_b.label is None:
        source_b = StyleSource("B", photo, edit.baseline)
    engine = load_engine("sean", DEMO / "models" / "sean_faces.safetensors")
    return face_cases(engine, edit, source_b, band * 4, "celebahq 28083")


def fixture_street(band: int) -> list[dict]:
    from regionpaint.app.model.imports import read_instance_map, read_label_map, read_photo
    from regionpaint.app.model.labelsets import CITYSCAPES
    from regionpaint.app.render.photo_edit import PhotoEdit

    images = sorted((FIXTURES / "cityscapes" / "train_img").glob("*.png"))
    if not images:
        return []
    stem = images[0].name.replace("_leftImg8bit.png", "")
    label = read_label_map(FIXTURES / "cityscapes" / "train_label" / f"{stem}_gtFine_labelIds.png", CITYSCAPES)
    instance = read_instance_map(FIXTURES / "cityscapes" / "train_inst" / f"{stem}_gtFine_instanceIds.png")
    edit = PhotoEdit(read_photo(images[0]), label, instance)
    engine = load_engine("spade", DEMO / "models" / "spade_streets.safetensors")
    return street_cases(engine, edit, band * 4, f"cityscapes {stem[:20]}")


def timing_rows(repeats: int = 5) -> list[dict]:
    """Time to composite a 512x256 render onto a 2048x1024 photo, mask ~12 % of the image (random weights
    are not needed: compositing never looks at the network)."""
    from regionpaint.app.model.document import CompositeSettings
    from regionpaint.app.render.composite import composite

    rng = np.random.default_rng(0)
    photo = cv2.GaussianBlur(rng.integers(0, 256, (1024, 2048, 3), dtype=np.uint8), (0, 0), 3)
    render = cv2.GaussianBlur(rng.integers(0, 256, (256, 512, 3), dtype=np.uint8), (0, 0), 1)
    mask = np.zeros((1024, 2048), np.uint8)
    cv2.ellipse(mask, (1000, 600), (420, 200), 0, 0, 360, 1, -1)
    mask = mask.astype(bool)
    rows = []
    for mode, harmonize in [
        ("off", False),
        ("feather", False),
        ("feather", True),
        ("seamless", False),
        ("pyramid", False),
    ]:
        settings = CompositeSettings(mode, 48, harmonize)
        composite(photo, render, mask, settings)  # warm-up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            composite(photo, render, mask, settings)
            times.append(time.perf_counter() - start)
        row = {"case": "timing 512x256 -> 2048x1024", "mode": mode + ("+harm" if harmonize else "")}
        row.update(
            {"mask_%": round(100 * float(mask.mean()), 1), "band": 48, "ms": round(1000 * float(np.median(times)), 1)}
        )
        rows.append(row)
    return rows


def run(args: argparse.Namespace) -> list[dict]:
    band = 12
    rows = demo_face(band)
    if not getattr(args, "quick", False):
        rows += demo_street(band) + fixture_face(band) + fixture_street(band)
    return rows + timing_rows()


def main(argv: list[str] | None = None) -> int:
    from bench.__main__ import standalone_main

    return standalone_main(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())
