"""Procedural frontal faces in the CelebAMask-HQ 19-class scheme, for training the demo SEAN/SPADE models.

A sample is made in two steps, so that tests and the demo can re-render one face with another style:

1. :func:`random_face_shape` + :func:`face_label` draw the geometry as a label map (H, W) uint8;
2. :func:`paint_face` paints a photo from *only* that label map and a :class:`FaceStyle` (per-region colours
   and patterns). Each region is painted by its own function from its own random stream, so changing one
   style field changes only the pixels of the regions that use it (``hair_rgb`` -> hair pixels only).

``l_*``/``r_*`` classes are the person's left/right, i.e. the image's right/left, as in CelebAMask-HQ
(checked on the official label 29258: l_eye, l_brow and l_ear lie right of the centre; :data:`_LEFT_SIDE`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from .textures import (
    RGB,
    as_rng,
    blend,
    colour_field,
    coordinates,
    draw_polyline,
    edge_shade,
    ellipse_points,
    fill_polygon,
    fine_noise,
    inside_distance,
    jitter_rgb,
    linear_gradient,
    mask_bbox,
    mean_one,
    mix_rgb,
    paint_region,
    radial_strands,
    region_rng,
    scale_rgb,
    streak_noise,
    stripes,
    to_uint8,
    value_noise,
)

# CelebAMask-HQ class ids (as stored in its label PNGs and used by SEAN).
BACKGROUND, SKIN, NOSE, EYE_G, L_EYE, R_EYE, L_BROW, R_BROW, L_EAR, R_EAR = range(10)
MOUTH, U_LIP, L_LIP, HAIR, HAT, EAR_R, NECK_L, NECK, CLOTH = range(10, 19)
FACE_CLASSES: dict[str, int] = {
    "background": BACKGROUND, "skin": SKIN, "nose": NOSE, "eye_g": EYE_G, "l_eye": L_EYE, "r_eye": R_EYE,
    "l_brow": L_BROW, "r_brow": R_BROW, "l_ear": L_EAR, "r_ear": R_EAR, "mouth": MOUTH, "u_lip": U_LIP,
    "l_lip": L_LIP, "hair": HAIR, "hat": HAT, "ear_r": EAR_R, "neck_l": NECK_L, "neck": NECK, "cloth": CLOTH,
}  # fmt: skip
HAIR_STYLES = ("short", "long", "bob", "bald", "fringe")
_LEFT_SIDE = 1  # l_* parts sit at positive local x: the image's right, the person's left


# ---------------------------------------------------------------- geometry


@dataclass(frozen=True)
class FaceShape:
    """Geometry of one face. Lengths are in units of the face half-width ``a`` (px) unless noted."""

    cx: float  # face centre, px
    cy: float
    a: float  # face half-width, px
    aspect: float = 1.3  # face half-height / half-width
    chin: float = 0.2  # how much the jaw narrows towards the chin, 0..0.4
    roll: float = 0.0  # head tilt, degrees
    hair: str = "short"  # one of HAIR_STYLES
    hair_length: float = 1.0  # long hair: how far below the chin it falls
    parting: float = 0.0  # horizontal offset of the hairline's highest point
    glasses: bool = False
    hat: str = "none"  # "none", "cap" (with a brim) or "beanie"
    earrings: bool = False
    necklace: bool = False
    ears_visible: bool = True
    eye_spacing: float = 0.42
    eye_width: float = 0.19  # half-width
    eye_open: float = 0.45  # half-height / half-width
    brow_arch: float = 0.06
    brow_thickness: float = 0.075
    nose_width: float = 0.2
    mouth_width: float = 0.34
    mouth_open: float = 0.0
    lip_upper: float = 0.07
    lip_lower: float = 0.1
    shoulder_width: float = 2.6  # half-width of the shoulders
    neckline: float = 0.5  # depth of the collar's U below the shoulder line


def random_face_shape(rng: np.random.Generator, size: int) -> FaceShape:
    """Random geometry for a ``size`` x ``size`` image: position, proportions, hair style and accessories."""
    a = size * rng.uniform(0.19, 0.235)
    hair = str(rng.choice(HAIR_STYLES, p=[0.3, 0.25, 0.18, 0.09, 0.18]))
    ears_visible = hair in ("short", "bald") or rng.random() < 0.3
    return FaceShape(
        cx=size * (0.5 + rng.normal(0, 0.025)),
        cy=size * (0.46 + rng.normal(0, 0.02)),
        a=a,
        aspect=rng.uniform(1.2, 1.42),
        chin=rng.uniform(0.1, 0.35),
        roll=float(np.clip(rng.normal(0, 4), -9, 9)),
        hair=hair,
        hair_length=rng.uniform(0.5, 1.8),
        parting=rng.uniform(-0.4, 0.4),
        glasses=rng.random() < 0.22,
        hat=str(rng.choice(["none", "cap", "beanie"], p=[0.9, 0.05, 0.05])),
        earrings=ears_visible and rng.random() < 0.12,
        necklace=rng.random() < 0.08,
        ears_visible=ears_visible,
        eye_spacing=rng.uniform(0.38, 0.46),
        eye_width=rng.uniform(0.16, 0.21),
        eye_open=rng.uniform(0.36, 0.55),
        brow_arch=rng.uniform(0.02, 0.1),
        brow_thickness=rng.uniform(0.06, 0.1),
        nose_width=rng.uniform(0.16, 0.24),
        mouth_width=rng.uniform(0.28, 0.4),
        mouth_open=float(rng.choice([0.0, rng.uniform(0.04, 0.12)], p=[0.65, 0.35])),
        lip_upper=rng.uniform(0.05, 0.08),
        lip_lower=rng.uniform(0.07, 0.11),
        shoulder_width=rng.uniform(2.3, 2.9),
        neckline=rng.uniform(0.3, 0.9),
    )


@dataclass(frozen=True)
class _Frame:
    """Face-local coordinates (origin at the face centre, unit = half-width, y down, rolled) <-> pixels."""

    cx: float
    cy: float
    a: float
    roll: float

    def px(self, pts: np.ndarray) -> np.ndarray:
        """(N, 2) local points -> (N, 2) pixel points."""
        c, s = math.cos(math.radians(self.roll)), math.sin(math.radians(self.roll))
        x, y = pts[:, 0] * self.a, pts[:, 1] * self.a
        return np.stack([self.cx + c * x - s * y, self.cy + s * x + c * y], axis=1)

    def local(self, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pixel coordinate grids -> local coordinate grids (the inverse of :meth:`px`)."""
        c, s = math.cos(math.radians(self.roll)), math.sin(math.radians(self.roll))
        dx, dy = (xs - self.cx) / self.a, (ys - self.cy) / self.a
        return c * dx + s * dy, -s * dx + c * dy


def _face_outline(shape: FaceShape) -> np.ndarray:
    """Local (N, 2) outline of the face: an ellipse whose lower half narrows towards the chin."""
    t = np.linspace(0, 2 * np.pi, 96, endpoint=False)
    narrowing = 1 - shape.chin * np.clip(np.sin(t), 0, None) ** 1.5
    return np.stack([np.cos(t) * narrowing, shape.aspect * np.sin(t)], axis=1)


def _eye_points(shape: FaceShape, side: int) -> np.ndarray:
    """Local almond outline of one eye; ``side`` -1 (image left) or +1."""
    ex, ey = side * shape.eye_spacing, -0.14 * shape.aspect
    w, h = shape.eye_width, shape.eye_width * shape.eye_open
    t = np.linspace(0, np.pi, 16)
    upper = np.stack([ex + w * np.cos(t), ey - h * np.sin(t) + side * 0.04 * w * np.cos(t)], axis=1)
    lower = np.stack([ex - w * np.cos(t), ey + 0.65 * h * np.sin(t) - side * 0.04 * w * np.cos(t)], axis=1)
    return np.concatenate([upper, lower])


def _brow_points(shape: FaceShape, side: int) -> np.ndarray:
    """Local outline of one eyebrow: an arched band that thins towards the temple."""
    ex, ey = side * shape.eye_spacing, -0.14 * shape.aspect
    base_y = ey - shape.eye_width * shape.eye_open - 0.16
    u = np.linspace(-1, 1, 14)  # -1 at the nose end, +1 at the temple end
    x = ex + side * (u * 1.25 * shape.eye_width + 0.04)
    centre = base_y - shape.brow_arch * (1 - (u - 0.2) ** 2) + 0.03 * u
    half = shape.brow_thickness * (0.6 - 0.25 * u) / 1.2
    return np.concatenate([np.stack([x, centre - half], 1), np.stack([x, centre + half], 1)[::-1]])


def _nose_points(shape: FaceShape) -> np.ndarray:
    """Local outline of the nose: a narrow bridge widening into a rounded tip."""
    top, bottom, w = -0.12 * shape.aspect, 0.28 * shape.aspect, shape.nose_width
    tip_y = bottom - 0.09
    arc = ellipse_points(0, tip_y, w, 0.09, 0, 180, 20)
    return np.concatenate(
        [
            [[0.065, top], [0.09, tip_y - 0.2]],
            [[w * 0.85, tip_y - 0.05]],
            arc,
            [[-w * 0.85, tip_y - 0.05], [-0.09, tip_y - 0.2], [-0.065, top]],
        ]
    )


def _lip_curves(shape: FaceShape) -> dict[str, np.ndarray]:
    """Local y of the four lip edges sampled at the same x (``x`` key): upper top/bottom, lower top/bottom."""
    ym, w, gap = 0.55 * shape.aspect, shape.mouth_width, shape.mouth_open
    x = np.linspace(-w, w, 25)
    r = np.clip(1 - (x / w) ** 2, 0, 1)
    bow = shape.lip_upper * (1.15 * np.sqrt(r) - 0.35 * np.exp(-((x / (0.25 * w)) ** 2)) * r)
    return {
        "x": x,
        "upper_top": ym - bow - 0.005,
        "upper_bottom": ym - 0.5 * gap * r,
        "lower_top": ym + 0.5 * gap * r,
        "lower_bottom": ym + 0.5 * gap * r + shape.lip_lower * r**0.7,
    }


def _band(x: np.ndarray, top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """Closed polygon between two curves ``top(x)`` and ``bottom(x)``."""
    return np.concatenate([np.stack([x, top], 1), np.stack([x, bottom], 1)[::-1]])


def _hair_back(shape: FaceShape) -> np.ndarray | None:
    """Local outline of the hair mass behind the head (long hair, bob, fringe), or None."""
    if shape.hair not in ("long", "bob", "fringe"):
        return None
    b = shape.aspect
    if shape.hair == "long":
        bottom, width = b + shape.hair_length, 1.42
    else:
        bottom, width = b * (0.55 + 0.3 * min(shape.hair_length, 1.0)), 1.3
    cap = ellipse_points(0, -0.1 * b, width * 0.92, 1.08 * b, 180, 360, 32)
    sides = [[width, 0.0], [width + 0.05, bottom * 0.6], [width * 0.95, bottom]]
    bottom_edge = ellipse_points(0, bottom, width * 0.93, 0.12, 0, 180, 16)
    left = [[-width * 0.95, bottom], [-width - 0.05, bottom * 0.6], [-width, 0.0]]
    return np.concatenate([cap, sides, bottom_edge, left])


def _hairline(shape: FaceShape, lx: np.ndarray) -> np.ndarray | None:
    """Local y of the hairline across the forehead at local ``lx`` (skin above it becomes hair), or None."""
    b = shape.aspect
    if shape.hair == "bald":
        return None
    if shape.hair == "fringe":
        return -0.48 * b + 0.035 * np.sin(lx * 11 + shape.parting * 7) + 0.02 * np.abs(lx)
    return -0.74 * b + 0.4 * (lx - shape.parting * 0.3) ** 2 + 0.08 * np.abs(lx - shape.parting)


def face_label(shape: FaceShape, size: int) -> np.ndarray:
    """Draw ``shape`` as a (size, size) uint8 CelebAMask-HQ label map (painter's order: back to front)."""
    label = np.zeros((size, size), np.uint8)
    frame = _Frame(shape.cx, shape.cy, shape.a, shape.roll)
    _draw_body(label, shape, frame)
    _draw_head(label, shape, frame)
    _draw_features(label, shape, frame)
    _draw_accessories(label, shape, frame)
    return label


def _draw_body(label: np.ndarray, shape: FaceShape, frame: _Frame) -> None:
    """Hair behind the shoulders, the neck, the clothed shoulders, the neckline, and long locks in front."""
    b = shape.aspect
    # The shoulders do not roll with the head: draw them in an un-rolled frame.
    body = _Frame(shape.cx, shape.cy, shape.a, 0.0)
    y_shoulder = b + 0.45
    back = _hair_back(shape)
    if back is not None:
        fill_polygon(label, frame.px(back), HAIR)
    neck = np.array([[-0.5, 0.3 * b], [0.5, 0.3 * b], [0.58, y_shoulder + 0.8], [-0.58, y_shoulder + 0.8]])
    fill_polygon(label, frame.px(neck), NECK)
    w = shape.shoulder_width
    shoulders = np.concatenate([ellipse_points(0, y_shoulder + 2.2, w, 2.3, 180, 360, 48), [[w, 50], [-w, 50]]])
    fill_polygon(label, body.px(shoulders), CLOTH)
    collar = ellipse_points(0, y_shoulder - 0.1, 0.5 + 0.2 * shape.neckline, shape.neckline, 0, 180, 24)
    collar_mask = np.zeros_like(label)
    fill_polygon(collar_mask, body.px(collar), 1)
    label[(collar_mask > 0) & (label == CLOTH)] = NECK
    if shape.hair == "long" and back is not None:
        # Locks hang in front of the shoulders, beside the neck.
        locks = np.zeros_like(label)
        fill_polygon(locks, frame.px(back), 1)
        ys, xs = coordinates(label.shape)
        lx, _ = frame.local(xs, ys)
        label[(locks > 0) & (label == CLOTH) & (np.abs(lx) > 0.72)] = HAIR


def _draw_head(label: np.ndarray, shape: FaceShape, frame: _Frame) -> None:
    """Hair cap or side tufts behind the face, the ears, the face itself and the hairline over the forehead."""
    b = shape.aspect
    if shape.hair == "bald":
        for side in (-1, 1):
            fill_polygon(label, frame.px(ellipse_points(side * 0.93, -0.2 * b, 0.17, 0.32 * b)), HAIR)
    elif shape.hair in ("short", "fringe"):
        # A cap over the skull that ends at the top of the ears (the face covers its middle).
        cap = ellipse_points(0, -0.12 * b, 1.1, 1.04 * b, 180, 360, 40)
        sides = [[1.1, -0.12 * b], [1.06, 0.02 * b], [0.9, 0.05 * b], [-0.9, 0.05 * b], [-1.06, 0.02 * b]]
        fill_polygon(label, frame.px(np.concatenate([cap, sides])), HAIR)
    if shape.ears_visible:
        for side, cls in ((_LEFT_SIDE, L_EAR), (-_LEFT_SIDE, R_EAR)):
            fill_polygon(label, frame.px(ellipse_points(side * 1.0, -0.02 * b, 0.15, 0.27)), cls)
    fill_polygon(label, frame.px(_face_outline(shape)), SKIN)
    ys, xs = coordinates(label.shape)
    lx, ly = frame.local(xs, ys)
    line = _hairline(shape, lx)
    if line is not None:
        label[(label == SKIN) & (ly < line)] = HAIR


def _draw_features(label: np.ndarray, shape: FaceShape, frame: _Frame) -> None:
    """Nose, glasses, eyes, brows, lips and the open mouth."""
    fill_polygon(label, frame.px(_nose_points(shape)), NOSE)
    if shape.glasses:
        _draw_glasses(label, shape, frame)
    for side, eye, brow in ((_LEFT_SIDE, L_EYE, L_BROW), (-_LEFT_SIDE, R_EYE, R_BROW)):
        fill_polygon(label, frame.px(_eye_points(shape, side)), eye)
        fill_polygon(label, frame.px(_brow_points(shape, side)), brow)
    lips = _lip_curves(shape)
    x = lips["x"]
    fill_polygon(label, frame.px(_band(x, lips["upper_top"], lips["upper_bottom"])), U_LIP)
    fill_polygon(label, frame.px(_band(x, lips["lower_top"], lips["lower_bottom"])), L_LIP)
    if shape.mouth_open > 0:
        fill_polygon(label, frame.px(_band(x, lips["upper_bottom"], lips["lower_top"])), MOUTH)


def _draw_glasses(label: np.ndarray, shape: FaceShape, frame: _Frame) -> None:
    """Lenses (CelebAMask-HQ labels the whole glasses, lenses included), bridge and temple arms."""
    ey = -0.14 * shape.aspect
    w, h = shape.eye_width * 1.5, shape.eye_width * 1.05
    for side in (-1, 1):
        fill_polygon(label, frame.px(ellipse_points(side * shape.eye_spacing, ey + 0.02, w, h)), EYE_G)
        arm = np.array([[side * (shape.eye_spacing + w * 0.95), ey - 0.03], [side * 1.02, ey - 0.06]])
        draw_polyline(label, frame.px(arm), EYE_G, 0.05 * shape.a)
    inner = shape.eye_spacing - w * 0.95
    bridge = np.array([[-inner, ey - 0.02], [0, ey - 0.06], [inner, ey - 0.02]])
    draw_polyline(label, frame.px(bridge), EYE_G, 0.05 * shape.a)


def _draw_accessories(label: np.ndarray, shape: FaceShape, frame: _Frame) -> None:
    """Hat, earrings and necklace, drawn last because they sit in front of everything else."""
    b = shape.aspect
    if shape.hat == "cap":
        crown = ellipse_points(0, -0.62 * b, 1.1, 0.62 * b, 180, 360, 32)
        fill_polygon(label, frame.px(crown), HAT)
        fill_polygon(label, frame.px(ellipse_points(0, -0.62 * b, 1.45, 0.13)), HAT)
    elif shape.hat == "beanie":
        crown = ellipse_points(0, -0.5 * b, 1.14, 0.82 * b, 180, 360, 32)
        cuff = np.array([[1.14, -0.5 * b], [1.12, -0.36 * b], [-1.12, -0.36 * b], [-1.14, -0.5 * b]])
        fill_polygon(label, frame.px(np.concatenate([crown, cuff])), HAT)
    if shape.earrings and shape.ears_visible:
        for side in (-1, 1):
            fill_polygon(label, frame.px(ellipse_points(side * 1.04, 0.3, 0.07, 0.09, n=20)), EAR_R)
    if shape.necklace:
        y_shoulder = b + 0.45
        arc = ellipse_points(0, y_shoulder - 0.35, 0.62, 0.45 + 0.3 * shape.neckline, 10, 170, 24)
        draw_polyline(label, _Frame(shape.cx, shape.cy, shape.a, 0).px(arc), NECK_L, 0.07 * shape.a)


def random_face_label(rng: np.random.Generator, size: int = 256) -> np.ndarray:
    """A random face label map: (size, size) uint8 CelebAMask-HQ ids."""
    return face_label(random_face_shape(rng, size), size)


# ---------------------------------------------------------------- appearance


@dataclass(frozen=True)
class FaceStyle:
    """Per-region appearance of a face photo; every colour is an (r, g, b) tuple of ints 0..255."""

    skin_rgb: RGB = (224, 180, 150)
    hair_rgb: RGB = (70, 45, 30)
    brow_rgb: RGB = (55, 38, 28)
    eye_rgb: RGB = (90, 60, 35)  # iris
    lip_rgb: RGB = (190, 95, 95)
    cloth_rgb: RGB = (60, 80, 140)
    cloth2_rgb: RGB = (230, 230, 230)  # second stripe colour
    cloth_pattern: str = "solid"  # "solid" or "stripes"
    stripe_period: float = 0.05  # stripe period as a fraction of the image size
    stripe_angle: float = 0.0  # degrees, 0 = horizontal stripes
    background_rgb: RGB = (200, 205, 215)  # top of the backdrop
    background2_rgb: RGB = (150, 160, 180)  # bottom of the backdrop
    hat_rgb: RGB = (40, 40, 60)
    glasses_rgb: RGB = (25, 25, 25)  # frame
    lens_rgb: RGB = (200, 220, 240)
    lens_alpha: float = 0.2  # how much the lens tint hides the skin behind it
    jewel_rgb: RGB = (220, 180, 80)  # earrings and necklace
    mouth_rgb: RGB = (90, 30, 35)
    blush: float = 0.08  # red tint on the cheeks, 0..0.2
    light_angle: float = 300.0  # direction the light comes *from*, degrees (image coords, y down)
    light_strength: float = 0.12  # brightness swing across the image from the light, 0..0.3


HAIR_COLOURS: dict[str, RGB] = {
    "black": (28, 24, 22), "dark_brown": (58, 40, 28), "brown": (105, 70, 45), "blonde": (212, 178, 115),
    "red": (160, 64, 30), "grey": (168, 166, 160), "blue": (45, 85, 195), "pink": (225, 110, 165),
}  # fmt: skip
_HAIR_WEIGHTS = (0.22, 0.2, 0.18, 0.14, 0.08, 0.1, 0.04, 0.04)
_SKIN_TONES = np.array([(248, 216, 192), (238, 196, 165), (214, 165, 125), (176, 120, 85), (125, 82, 55),
                        (88, 56, 38)], np.float64)  # fmt: skip
EYE_COLOURS: dict[str, RGB] = {
    "brown": (92, 58, 32), "dark": (45, 30, 22), "blue": (70, 120, 175), "green": (80, 120, 70),
    "grey": (120, 130, 135), "hazel": (125, 95, 50),
}  # fmt: skip
_LIPSTICKS: tuple[RGB, ...] = ((175, 30, 45), (205, 95, 125), (140, 40, 80), (220, 120, 110))
_FRAMES: tuple[RGB, ...] = ((20, 20, 20), (95, 55, 30), (200, 170, 90), (185, 185, 190), (160, 30, 40))
_JEWELS: tuple[RGB, ...] = ((225, 185, 80), (205, 205, 215), (240, 235, 225))


def _skin_tone(t: float) -> RGB:
    """A skin colour along a light (t=0) to dark (t=1) scale."""
    pos = t * (len(_SKIN_TONES) - 1)
    i = min(int(pos), len(_SKIN_TONES) - 2)
    return mix_rgb(_SKIN_TONES[i], _SKIN_TONES[i + 1], pos - i)


def _random_hue_rgb(rng: np.random.Generator, sat: tuple[float, float], val: tuple[float, float]) -> RGB:
    """A colour of random hue with saturation and value drawn from the given ranges (0..1)."""
    hsv = np.array([[[rng.uniform(0, 180), rng.uniform(*sat) * 255, rng.uniform(*val) * 255]]], np.uint8)
    return tuple(int(v) for v in cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0])  # type: ignore[return-value]


def random_face_style(rng: np.random.Generator) -> FaceStyle:
    """A random, plausible :class:`FaceStyle` (hair colour, skin tone, lipstick, clothes, backdrop, light)."""
    hair_name = str(rng.choice(list(HAIR_COLOURS), p=_HAIR_WEIGHTS))
    hair = jitter_rgb(rng, HAIR_COLOURS[hair_name], 14)
    skin = jitter_rgb(rng, _skin_tone(rng.beta(1.6, 2.2)), 8)
    natural_brow = scale_rgb(hair, 0.7) if hair_name not in ("blue", "pink", "grey") else (60, 45, 35)
    lip = _LIPSTICKS[rng.integers(len(_LIPSTICKS))] if rng.random() < 0.35 else mix_rgb(skin, (170, 60, 70), 0.45)
    background = _random_hue_rgb(rng, (0.05, 0.45), (0.45, 0.95))
    return FaceStyle(
        skin_rgb=skin,
        hair_rgb=hair,
        brow_rgb=jitter_rgb(rng, natural_brow, 8),
        eye_rgb=jitter_rgb(rng, list(EYE_COLOURS.values())[rng.integers(len(EYE_COLOURS))], 10),
        lip_rgb=jitter_rgb(rng, lip, 10),
        cloth_rgb=_random_hue_rgb(rng, (0.2, 0.9), (0.2, 0.9)),
        cloth2_rgb=_random_hue_rgb(rng, (0.0, 0.5), (0.6, 1.0)),
        cloth_pattern="stripes" if rng.random() < 0.3 else "solid",
        stripe_period=rng.uniform(0.03, 0.08),
        stripe_angle=float(rng.choice([0.0, 90.0, 45.0, 135.0], p=[0.5, 0.3, 0.1, 0.1])),
        background_rgb=background,
        background2_rgb=jitter_rgb(rng, scale_rgb(background, rng.uniform(0.6, 1.1)), 25),
        hat_rgb=_random_hue_rgb(rng, (0.2, 0.8), (0.15, 0.8)),
        glasses_rgb=_FRAMES[rng.integers(len(_FRAMES))],
        lens_rgb=jitter_rgb(rng, (200, 215, 230), 20),
        lens_alpha=rng.uniform(0.08, 0.35),
        jewel_rgb=_JEWELS[rng.integers(len(_JEWELS))],
        mouth_rgb=jitter_rgb(rng, (90, 30, 35), 15),
        blush=rng.uniform(0.0, 0.12),
        light_angle=rng.uniform(0, 360),
        light_strength=rng.uniform(0.04, 0.2),
    )


# ---------------------------------------------------------------- painting


@dataclass
class _Canvas:
    """What a region painter may read: a window of the label map and light around its region, and the style.

    Painters work on the region's bounding box (plus a margin for shadows cast by neighbours) rather than
    the whole image, which keeps a 256 px face under 50 ms.
    """

    label: np.ndarray  # (h, w) uint8 window of the label map
    style: FaceStyle
    base_seed: int
    light: np.ndarray  # (h, w) float32 multiplicative lighting
    size: int  # side of the whole image, px: features scale with it
    origin: tuple[int, int] = (0, 0)  # (y, x) of the window in the image
    mottling: np.ndarray | None = None  # (h, w) float32 skin blotches, one field shared by all skin regions
    grain: np.ndarray | None = None  # (h, w) float32 sensor grain, one field for the whole photo

    def rng(self, cls: int) -> np.random.Generator:
        return region_rng(self.base_seed, cls)

    def coords(self) -> tuple[np.ndarray, np.ndarray]:
        """Image coordinates ``(ys, xs)`` of the window's pixels, each (h, w) float32 (broadcast views)."""
        return coordinates(self.label.shape, self.origin)

    def window(self, y0: int, y1: int, x0: int, x1: int) -> _Canvas:
        """The same canvas cut to rows y0:y1 and columns x0:x1 of this one."""
        oy, ox = self.origin
        mottling = None if self.mottling is None else self.mottling[y0:y1, x0:x1]
        grain = None if self.grain is None else self.grain[y0:y1, x0:x1]
        return _Canvas(
            self.label[y0:y1, x0:x1],
            self.style,
            self.base_seed,
            self.light[y0:y1, x0:x1],
            self.size,
            (oy + y0, ox + x0),
            mottling,
            grain,
        )

    def shadow_from(self, classes: tuple[int, ...], reach: float, strength: float) -> np.ndarray:
        """(h, w) float32 darkening factor next to the given classes (contact shadow), 1 far from them."""
        others = ~np.isin(self.label, classes)
        dist = cv2.distanceTransform(others.astype(np.uint8), cv2.DIST_L2, 3)
        return 1.0 - np.float32(strength) * np.exp(-dist / np.float32(reach))


Painter = Callable[[_Canvas, np.ndarray], np.ndarray]


def _grain(c: _Canvas, amount: float = 3.0) -> np.ndarray:
    """Additive (h, w, 1) sensor grain so no region is a perfectly flat colour."""
    if c.grain is None:
        return np.zeros((*c.label.shape, 1), np.float32)
    return (c.grain * np.float32(amount))[..., None]


def _blob(xs: np.ndarray, ys: np.ndarray, cx: float, cy: float, rx: float, ry: float) -> np.ndarray:
    """Gaussian bump (h, w) float32, 1 at (cx, cy), falling off over radii rx, ry (px)."""
    return np.exp(-(((xs - cx) / rx) ** 2 + ((ys - cy) / ry) ** 2)).astype(np.float32)


def _paint_background(c: _Canvas, mask: np.ndarray) -> np.ndarray:
    rng = c.rng(BACKGROUND)
    ys, xs = c.coords()
    t = np.clip(ys[:, :1] / max(c.size - 1, 1), 0, 1)[..., None]  # (h, 1, 1): top to bottom
    top, bottom = np.float32(c.style.background_rgb), np.float32(c.style.background2_rgb)
    vignette = 1.0 - 0.25 * (((xs - c.size / 2) / c.size) ** 2 + ((ys - c.size * 0.4) / c.size) ** 2)
    blotches = 1.0 + 0.04 * value_noise(rng, mask.shape, c.size / 3, octaves=2)
    return (top + (bottom - top) * t) * (vignette * blotches)[..., None] + _grain(c, 2.0)


_FACE_PARTS = (SKIN, NOSE, EYE_G, L_EYE, R_EYE, L_BROW, R_BROW, MOUTH, U_LIP, L_LIP)


def _skin_shading(c: _Canvas, mask: np.ndarray, edge: float) -> np.ndarray:
    """(h, w) float32: light x soft darkening at the region's outer border x mottled skin.

    Face features count as inside, so the skin darkens towards the outline of the face, not around the
    nose or the eyes.
    """
    dist = inside_distance(mask | np.isin(c.label, _FACE_PARTS))
    mottling = 1.0 if c.mottling is None else 1.0 + 0.035 * c.mottling
    return c.light * edge_shade(dist, c.size * 0.035, edge) * mottling


def _paint_skin(c: _Canvas, mask: np.ndarray) -> np.ndarray:
    shade = mean_one(_skin_shading(c, mask, 0.28) * c.shadow_from((HAIR, HAT), c.size * 0.02, 0.3), mask)
    colour = colour_field(c.style.skin_rgb, shade)
    box = mask_bbox(mask)
    if box is not None and c.style.blush > 0:
        # Cheeks: below the eyes, a third of the face width out from the middle.
        y0, y1, x0, x1 = box
        ys, xs = coordinates(mask.shape)  # window coordinates, like the box
        fw, fh = x1 - x0, y1 - y0
        cheeks = sum(_blob(xs, ys, x0 + fw * f, y0 + 0.62 * fh, 0.13 * fw, 0.09 * fh) for f in (0.25, 0.75))
        colour = blend(colour, np.asarray((200, 70, 80), np.float32) * shade[..., None], cheeks * c.style.blush * 1.5)
    return colour + _grain(c, 2.5)


def _paint_nose(c: _Canvas, mask: np.ndarray) -> np.ndarray:
    """Skin that is lit along the bridge, shaded on the sides, with two dark nostrils at the bottom."""
    shade = _skin_shading(c, mask, 0.28)
    box = mask_bbox(mask)
    if box is not None:
        y0, y1, x0, x1 = box
        ys, xs = coordinates(mask.shape)  # window coordinates, like the box
        mid, w, h = (x0 + x1) / 2, max(x1 - x0, 2), max(y1 - y0, 2)
        across = np.clip(np.abs(xs - mid) / (0.5 * w), 0, 1)
        down = np.clip((ys - y0) / h, 0, 1)
        shade = shade * (1 + 0.07 * np.exp(-((across / 0.25) ** 2)) * down - 0.1 * across**2 * down)
        nostrils = sum(_blob(xs, ys, mid + s * 0.24 * w, y1 - 0.17 * h, 0.11 * w, 0.06 * h) for s in (-1, 1))
        shade = shade * (1 - 0.5 * np.clip(nostrils, 0, 1))
    return colour_field(c.style.skin_rgb, shade) + _grain(c, 2.5)


def _paint_ear(c: _Canvas, mask: np.ndarray) -> np.ndarray:
    shade = _skin_shading(c, mask, 0.3)
    dist = inside_distance(mask)
    # The hollow of the ear is darker than its rim.
    shade = shade * (1 - 0.25 * np.clip(dist / max(float(dist.max()), 1) - 0.35, 0, 1) * 1.6)
    ear_rgb = np.asarray(c.style.skin_rgb, np.float32) * np.float32([1.0, 0.92, 0.9])
    return colour_field(ear_rgb, shade) + _grain(c, 2.5)


def _paint_neck(c: _Canvas, mask: np.ndarray) -> np.ndarray:
    shade = _skin_shading(c, mask, 0.2) * 0.93 * c.shadow_from((SKIN, L_LIP, U_LIP), c.size * 0.05, 0.38)
    return colour_field(c.style.skin_rgb, shade) + _grain(c, 2.5)


def _paint_eye(c: _Canvas, mask: np.ndarray) -> np.ndarray:
    """Sclera with an iris (``eye_rgb``) and pupil centred on each eye region, lash line along the top."""
    ys, xs = coordinates(mask.shape)
    out = colour_field((232, 226, 220), c.light * edge_shade(inside_distance(mask), c.size * 0.006, 0.35))
    count, parts = cv2.connectedComponents(mask.astype(np.uint8))
    for k in range(1, count):
        part = parts == k
        py, px = np.nonzero(part)
        cy, cx, h = float(py.mean()), float(px.mean()), float(py.max() - py.min() + 1)
        r = np.hypot(xs - cx, ys - cy) / max(0.62 * h, 1.0)
        iris = np.clip((1.0 - r) * 4, 0, 1)
        ring = 0.75 + 0.35 * np.clip(1 - r, 0, 1)
        iris_rgb = colour_field(c.style.eye_rgb, ring * c.light)
        out = np.where(part[..., None], blend(out, iris_rgb, iris), out)
        pupil = np.clip((0.42 - r) * 8, 0, 1)
        out = np.where(part[..., None], blend(out, (15, 12, 12), pupil), out)
        glint = np.exp(-(((xs - cx - 0.18 * h) ** 2 + (ys - cy + 0.18 * h) ** 2) / max(0.02 * h * h, 0.3)))
        out = np.where(part[..., None], blend(out, (250, 250, 250), glint), out)
        lash = (ys < cy) & (inside_distance(part) < max(1.0, 0.12 * h))
        out[lash & part] = out[lash & part] * 0.35
    return out + _grain(c, 2.0)


def _paint_brow(c: _Canvas, mask: np.ndarray) -> np.ndarray:
    rng = c.rng(L_BROW)
    hairs = streak_noise(rng, mask.shape, 0.0, max(3, c.size // 50))
    dist = inside_distance(mask)
    colour = colour_field(c.style.brow_rgb, c.light * (1 + 0.25 * hairs))
    # Brows thin out into the skin at their edges.
    feather = np.clip(dist / max(c.size * 0.008, 1.0), 0, 1) * 0.6 + 0.4
    return blend(colour_field(c.style.skin_rgb, c.light), colour, feather) + _grain(c, 2.0)


def _paint_lip(c: _Canvas, mask: np.ndarray, cls: int) -> np.ndarray:
    rng = c.rng(cls)
    dist = inside_distance(mask)
    lines = streak_noise(rng, mask.shape, 90.0, max(3, c.size // 80))
    shade = c.light * edge_shade(dist, c.size * 0.01, 0.3) * (1 + 0.05 * lines) * (0.88 if cls == U_LIP else 1.0)
    colour = colour_field(c.style.lip_rgb, shade)
    if cls == L_LIP:
        gloss = np.clip(dist / max(float(dist.max()), 1.0) - 0.55, 0, 1) * 1.2
        colour = blend(colour, (245, 225, 225), gloss * 0.6)
    return colour + _grain(c, 2.0)


def _paint_mouth(c: _Canvas, mask: np.ndarray) -> np.ndarray:
    out = colour_field(c.style.mouth_rgb, c.light * edge_shade(inside_distance(mask), c.size * 0.01, 0.4))
    box = mask_bbox(mask)
    if box is not None and box[1] - box[0] >= 3:
        # Upper teeth show in the top part of an open mouth.
        ys, xs = coordinates(mask.shape)  # window coordinates, like the box
        y0, y1, x0, x1 = box
        teeth = (ys < y0 + 0.45 * (y1 - y0)) & (np.abs(xs - (x0 + x1) / 2) < 0.32 * (x1 - x0))
        out[teeth] = np.float32([232, 226, 212]) * c.light[teeth][:, None]
    return out + _grain(c, 2.0)


def _paint_hair(c: _Canvas, mask: np.ndarray) -> np.ndarray:
    """Strands radiating from the crown, a soft sheen band and darker edges."""
    rng = c.rng(HAIR)
    box = mask_bbox(mask)
    y0, y1, x0, x1 = box if box is not None else (0, 1, 0, 1)
    # Strands radiate from a point above the head, so they fall nearly straight down the sides.
    crown = (c.origin[1] + (x0 + x1) / 2, c.origin[0] + y0 - 0.08 * c.size)  # image coordinates
    strands = radial_strands(rng, mask.shape, crown, int(c.size * 3), c.size / 6, c.origin)
    clumps = value_noise(rng, mask.shape, c.size / 12)
    ys, xs = c.coords()
    r = np.hypot(xs - crown[0], ys - crown[1])
    sheen = np.exp(-(((r - 0.22 * c.size) / (0.05 * c.size)) ** 2)) * np.clip(0.6 + 0.4 * strands, 0, 1.5)
    sheen = (sheen - float(sheen[mask].mean())) * 28  # a highlight even on black hair; zero mean over the hair
    dist = inside_distance(mask)
    shade = mean_one(c.light * edge_shade(dist, c.size * 0.02, 0.35) * (1 + 0.22 * strands + 0.1 * clumps), mask)
    colour = colour_field(c.style.hair_rgb, shade) + sheen[..., None]
    return colour + _grain(c, 2.0)


def _paint_hat(c: _Canvas, mask: np.ndarray) -> np.ndarray:
    rng = c.rng(HAT)
    knit = stripes(mask.shape, max(c.size / 60, 2.0), 0.0, origin=c.origin)
    shade = c.light * edge_shade(inside_distance(mask), c.size * 0.03, 0.35) * (0.94 + 0.08 * knit)
    shade = shade * (1 + 0.05 * value_noise(rng, mask.shape, c.size / 25))
    return colour_field(c.style.hat_rgb, shade) + _grain(c, 3.0)


def _paint_glasses(c: _Canvas, mask: np.ndarray) -> np.ndarray:
    """Frame (``glasses_rgb``) along the outer border; lenses show tinted skin (``lens_rgb``/``lens_alpha``)."""
    rng = c.rng(EYE_G)
    # Eyes and brows lie behind the lens: measure the frame from the border of glasses + eyes + brows.
    whole = np.isin(c.label, (EYE_G, L_EYE, R_EYE, L_BROW, R_BROW))
    frame = inside_distance(whole) < max(c.size * 0.008, 1.2)
    behind = colour_field(c.style.skin_rgb, c.light * 0.95)
    lens = blend(behind, colour_field(c.style.lens_rgb, c.light), np.full(mask.shape, c.style.lens_alpha, np.float32))
    ys, xs = c.coords()
    glare = np.clip(stripes(mask.shape, c.size / 9, 45.0, origin=c.origin) - 0.8, 0, 1) * 0.6
    lens = blend(lens, (250, 250, 250), glare)
    frame_rgb = colour_field(c.style.glasses_rgb, c.light * (1 + 0.1 * value_noise(rng, mask.shape, 4.0)))
    return np.where(frame[..., None], frame_rgb, lens) + _grain(c, 2.0)


def _paint_jewel(c: _Canvas, mask: np.ndarray, cls: int) -> np.ndarray:
    """Shiny metal/pearls: bright where the surface faces the camera, beads along a necklace."""
    dist = inside_distance(mask)
    bulge = np.clip(dist / max(float(dist.max()), 1.0), 0, 1)
    shade = 0.55 + 0.65 * bulge
    if cls == NECK_L:
        _, xs = c.coords()
        shade = shade * (0.7 + 0.45 * np.sin(xs * (2 * np.pi / max(c.size / 50, 3))) ** 2)
    return colour_field(c.style.jewel_rgb, shade * c.light) + _grain(c, 2.0)


def _paint_cloth(c: _Canvas, mask: np.ndarray) -> np.ndarray:
    """Solid or striped fabric with vertical folds, shadowed under the chin and along its border."""
    rng = c.rng(CLOTH)
    folds = streak_noise(rng, mask.shape, 80.0, max(5, c.size // 6))
    wrinkles = value_noise(rng, mask.shape, c.size / 10, octaves=2)
    shade = c.light * edge_shade(inside_distance(mask), c.size * 0.03, 0.3) * (1 + 0.09 * folds + 0.05 * wrinkles)
    shade = mean_one(shade * c.shadow_from((NECK, HAIR), c.size * 0.02, 0.25), mask)
    colour = colour_field(c.style.cloth_rgb, shade)
    if c.style.cloth_pattern == "stripes":
        pattern = stripes(
            mask.shape, max(c.style.stripe_period * c.size, 3.0), c.style.stripe_angle + 90.0, origin=c.origin
        )
        colour = blend(colour, colour_field(c.style.cloth2_rgb, shade), pattern)
    return colour + _grain(c, 3.0)


_PAINTERS: dict[int, Painter] = {
    BACKGROUND: _paint_background, SKIN: _paint_skin, NOSE: _paint_nose, EYE_G: _paint_glasses,
    L_EYE: _paint_eye, R_EYE: _paint_eye, L_BROW: _paint_brow, R_BROW: _paint_brow, L_EAR: _paint_ear,
    R_EAR: _paint_ear, MOUTH: _paint_mouth, U_LIP: lambda c, m: _paint_lip(c, m, U_LIP),
    L_LIP: lambda c, m: _paint_lip(c, m, L_LIP), HAIR: _paint_hair, HAT: _paint_hat,
    EAR_R: lambda c, m: _paint_jewel(c, m, EAR_R), NECK_L: lambda c, m: _paint_jewel(c, m, NECK_L),
    NECK: _paint_neck, CLOTH: _paint_cloth,
}  # fmt: skip
# Classes painted in one call: left/right pairs share a painter run so both sides look alike.
_PAINT_GROUPS: tuple[tuple[int, ...], ...] = tuple(
    (cls,) if cls not in (L_EYE, L_BROW, L_EAR) else (cls, cls + 1)
    for cls in range(len(FACE_CLASSES))
    if cls not in (R_EYE, R_BROW, R_EAR)
)


def paint_face(label: np.ndarray, style: FaceStyle, rng: np.random.Generator | int) -> np.ndarray:
    """Paint a photo of a face label map.

    label: (H, W) uint8 CelebAMask-HQ ids 0..18. style: the per-region appearance. rng: a Generator or seed;
    one number is drawn from it and every region derives its own stream from that number and its class id.
    Returns (H, W, 3) uint8 RGB whose region boundaries are exactly those of ``label``.
    """
    label = np.asarray(label)
    if label.ndim != 2:
        raise ValueError(f"label must be (H, W), got shape {label.shape}")
    if label.size and int(label.max()) >= len(FACE_CLASSES):
        raise ValueError(f"label holds ids above {len(FACE_CLASSES) - 1} (CelebAMask-HQ has 19 classes)")
    base_seed = int(as_rng(rng).integers(2**62))
    # Brighter towards the side the light comes from.
    light = 1.0 + np.float32(style.light_strength) * linear_gradient(label.shape, style.light_angle)
    # One blotch field for all skin regions, so the texture runs on across face, nose, ears and neck.
    mottling = value_noise(region_rng(base_seed, SKIN, 1), label.shape, max(label.shape) / 20, octaves=2)
    grain = fine_noise(region_rng(base_seed, 255), label.shape)
    canvas = _Canvas(label, style, base_seed, light.astype(np.float32), max(label.shape), (0, 0), mottling, grain)
    photo = np.zeros((*label.shape, 3), np.float32)
    counts = np.bincount(label.ravel(), minlength=len(FACE_CLASSES))
    margin = max(label.shape) // 16  # room for shadows cast by neighbouring regions
    for group in _PAINT_GROUPS:
        if not counts[list(group)].any():
            continue
        mask = label == group[0]
        for cls in group[1:]:
            mask |= label == cls
        paint_region(photo, mask, margin, canvas, _PAINTERS[group[0]])
    return to_uint8(photo)


# ---------------------------------------------------------------- samples


@dataclass(frozen=True)
class FaceSample:
    """One generated face: ``photo`` (H, W, 3) uint8, ``label`` (H, W) uint8, ``instance`` (H, W) int32 (= label)."""

    photo: np.ndarray
    label: np.ndarray
    instance: np.ndarray
    style: FaceStyle
    shape: FaceShape


def make_face(seed: int | np.random.Generator = 0, size: int = 256) -> FaceSample:
    """A random face of ``size`` x ``size`` px; the same seed gives the same bytes."""
    rng = as_rng(seed)
    shape = random_face_shape(rng, size)
    style = random_face_style(rng)
    label = face_label(shape, size)
    photo = paint_face(label, style, rng)
    return FaceSample(photo=photo, label=label, instance=label.astype(np.int32), style=style, shape=shape)
