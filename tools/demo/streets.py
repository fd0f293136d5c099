"""Procedural street scenes in the Cityscapes ``labelIds`` scheme, for training the demo SPADE/pix2pixHD models.

Like :mod:`tools.demo.faces`, a sample is made in two steps:

1. :func:`random_street_scene` + :func:`street_label` place a camera over a straight street (road, sidewalks,
   building facades, a far skyline, trees, poles, signs, cars, persons, bicycles) and project it with a
   pinhole model into a label map (H, W) uint8 and a Cityscapes instance map (H, W) int32 (stuff = class id,
   things = class * 1000 + k);
2. :func:`paint_street` paints a photo from *only* those two maps and a :class:`StreetStyle`. It recovers the
   vanishing point from the road's edges, so lane markings, paving and windows follow the perspective.

Each class (and each thing instance) is painted from its own random stream, so changing one style field
changes only the pixels of the regions that use it (``car_palette`` -> car pixels only).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from .textures import (
    RGB,
    as_rng,
    blend,
    colour_field,
    coordinates,
    draw_ring,
    edge_shade,
    ellipse_points,
    fill_polygon,
    fine_noise,
    inside_distance,
    jitter_rgb,
    mask_bbox,
    mix_rgb,
    paint_region,
    paste,
    region_rng,
    scale_rgb,
    streak_noise,
    to_uint8,
    value_noise,
)

# Cityscapes labelIds (cityscapesScripts helpers/labels.py).
UNLABELED, ROAD, SIDEWALK, BUILDING, POLE, TRAFFIC_SIGN = 0, 7, 8, 11, 17, 20
VEGETATION, TERRAIN, SKY, PERSON, CAR, BICYCLE = 21, 22, 23, 24, 26, 33
STREET_CLASSES: dict[str, int] = {
    "unlabeled": UNLABELED, "road": ROAD, "sidewalk": SIDEWALK, "building": BUILDING, "pole": POLE,
    "traffic sign": TRAFFIC_SIGN, "vegetation": VEGETATION, "terrain": TERRAIN, "sky": SKY, "person": PERSON,
    "car": CAR, "bicycle": BICYCLE,
}  # fmt: skip
THING_CLASSES = (PERSON, CAR, BICYCLE)  # classes with instances (Cityscapes hasInstances)

CAMERA_HEIGHT = 1.4  # metres above the road
FOCAL = 0.9  # focal length as a fraction of the image width; the painter assumes the same


# ---------------------------------------------------------------- geometry


@dataclass(frozen=True)
class Camera:
    """Pinhole camera looking down a street: X right, Y up, Z forward (metres) -> pixels."""

    width: int
    height: int
    horizon: float  # y of the horizon, px
    vanish_x: float  # x of the vanishing point of the street, px

    @property
    def focal(self) -> float:
        return FOCAL * self.width

    def project(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        """(N,) world coordinates -> (N, 2) float pixel points (x, y)."""
        z = np.maximum(np.asarray(z, np.float64), 1e-3)
        return np.stack(
            [
                self.vanish_x + self.focal * np.asarray(x) / z,
                self.horizon + self.focal * (CAMERA_HEIGHT - np.asarray(y)) / z,
            ],
            axis=1,
        )

    def near_z(self) -> float:
        """Depth whose ground projects well below the image, so ground polygons cover the bottom rows."""
        return self.focal * CAMERA_HEIGHT / (2.0 * self.height)


@dataclass(frozen=True)
class Thing:
    """One object to draw: ``polygons`` (pixel points) filled with ``cls``; ``z`` orders the drawing."""

    cls: int
    z: float
    polygons: tuple[np.ndarray, ...]
    rings: tuple[tuple[float, float, float, float], ...] = ()  # (cx, cy, radius, thickness) px: wheels


@dataclass(frozen=True)
class StreetScene:
    """Geometry of one street: the camera, the road and sidewalk edges (metres), and what stands on it."""

    camera: Camera
    road: tuple[float, float]  # X of the left and right road edges
    sidewalks: tuple[float, float]  # widths, left and right
    facades: tuple[float, float]  # X of the left and right building fronts
    skyline_z: float  # depth of the far buildings that close the street
    buildings: tuple[tuple[float, float, float, float], ...]  # (x, z0, z1, height) facade pieces
    skyline: tuple[tuple[float, float, float], ...]  # (x0, x1, height) far front-facing blocks
    parks: tuple[int, ...]  # sides (-1, +1) lined with vegetation instead of buildings
    things: tuple[Thing, ...] = field(default=())
    border: str = "none"  # unlabelled pixels: "none", "bottom" (ego vehicle) or "sides" (rectification)


def _box_face(cam: Camera, x0: float, x1: float, y0: float, y1: float, z: float) -> np.ndarray:
    """A rectangle facing the camera at depth ``z`` spanning X x0..x1 and Y y0..y1."""
    return cam.project(np.array([x0, x1, x1, x0]), np.array([y0, y0, y1, y1]), np.full(4, z))


def _side_face(cam: Camera, x: float, z0: float, z1: float, y0: float, y1: float) -> np.ndarray:
    """A vertical rectangle along the street at lateral ``x`` spanning depths z0..z1 and heights y0..y1."""
    return cam.project(np.full(4, x), np.array([y0, y1, y1, y0]), np.array([z0, z0, z1, z1]))


def _ground(cam: Camera, x0: float, x1: float, z0: float, z1: float) -> np.ndarray:
    """A ground rectangle spanning X x0..x1 and depths z0..z1."""
    return cam.project(np.array([x0, x1, x1, x0]), np.zeros(4), np.array([z0, z0, z1, z1]))


def _random_camera(rng: np.random.Generator, width: int, height: int) -> Camera:
    return Camera(width, height, horizon=height * rng.uniform(0.38, 0.5), vanish_x=width * rng.uniform(0.42, 0.58))


def _random_facades(
    rng: np.random.Generator, side: int, x: float, z_end: float
) -> list[tuple[float, float, float, float]]:
    """Facade pieces (x, z0, z1, height) along one side, from the camera to ``z_end``, with a few alleys."""
    pieces, z = [], 2.0
    while z < z_end:
        length = rng.uniform(7, 28)
        if rng.random() < 0.12 and z > 15:
            z += rng.uniform(3, 8)  # an alley: the sky (or the skyline) shows through
            continue
        setback = side * rng.uniform(0, 1.2)
        pieces.append((x + setback, z, min(z + length, z_end), rng.uniform(7, 30)))
        z += length
    return pieces


def random_street_scene(rng: np.random.Generator, width: int, height: int) -> StreetScene:
    """A random street seen from a car in its right lane; ``width`` x ``height`` px (2:1 like Cityscapes)."""
    cam = _random_camera(rng, width, height)
    road = (-rng.uniform(3.5, 10), rng.uniform(1.6, 3.5))
    sidewalks = (rng.uniform(2, 5), rng.uniform(2, 5))
    verges = [rng.uniform(1, 4) if rng.random() < 0.3 else 0.0 for _ in range(2)]
    facades = (road[0] - sidewalks[0] - verges[0], road[1] + sidewalks[1] + verges[1])
    skyline_z = rng.uniform(90, 220)
    parks = tuple(side for side in (-1, 1) if rng.random() < 0.15)
    buildings = []
    for side, x in ((-1, facades[0]), (1, facades[1])):
        if side not in parks:
            buildings += _random_facades(rng, side, x, skyline_z)
    skyline, x0 = [], facades[0] - 30
    while x0 < facades[1] + 30:
        x1 = x0 + rng.uniform(8, 25)
        skyline.append((x0, x1, rng.uniform(8, 45) if rng.random() < 0.85 else 0.0))
        x0 = x1
    scene = StreetScene(cam, road, sidewalks, facades, skyline_z, tuple(buildings), tuple(skyline), parks)
    things = _random_trees(rng, scene) + _random_poles(rng, scene) + _random_cars(rng, scene)
    things += _random_persons(rng, scene) + _random_bicycles(rng, scene)
    border = str(rng.choice(["none", "bottom", "sides"], p=[0.8, 0.12, 0.08]))
    return replace(scene, things=tuple(things), border=border)


def _random_trees(rng: np.random.Generator, scene: StreetScene) -> list[Thing]:
    """Street trees near the outer edge of each sidewalk, and a dense tree line on park sides."""
    cam, trees = scene.camera, []
    for side, road_x, walk in ((-1, scene.road[0], scene.sidewalks[0]), (1, scene.road[1], scene.sidewalks[1])):
        park = side in scene.parks
        if not park and rng.random() < 0.4:
            continue
        x, z = road_x + side * walk * 0.7, rng.uniform(12, 20)
        while z < min(scene.skyline_z * 0.7, 90):
            trees.append(_tree(rng, cam, x + side * (rng.uniform(2, 12) if park else 0), z))
            z += rng.uniform(3, 7) if park else rng.uniform(7, 15)
    return trees


def _tree(rng: np.random.Generator, cam: Camera, x: float, z: float) -> Thing:
    """A trunk and a crown of overlapping ellipses (all vegetation in Cityscapes)."""
    trunk_h, radius = rng.uniform(2, 3.2), rng.uniform(1.3, 2.4)
    polys = [_box_face(cam, x - 0.15, x + 0.15, 0, trunk_h + radius * 0.5, z)]
    for _ in range(int(rng.integers(4, 8))):
        cx, cy = x + rng.normal(0, radius * 0.45), trunk_h + radius + rng.normal(0, radius * 0.35)
        r = radius * rng.uniform(0.45, 0.8)
        centre = cam.project(np.array([cx]), np.array([cy]), np.array([z]))[0]
        scale = cam.focal / z
        polys.append(ellipse_points(centre[0], centre[1], r * scale, r * scale * 0.9, n=24))
    return Thing(VEGETATION, z, tuple(polys))


def _random_poles(rng: np.random.Generator, scene: StreetScene) -> list[Thing]:
    """Lamp and sign poles at the kerb; most carry a sign (round, square or triangular)."""
    cam, poles = scene.camera, []
    for side, road_x in ((-1, scene.road[0]), (1, scene.road[1])):
        z = rng.uniform(10, 25)
        while z < 90:
            x = road_x + side * 0.4
            height = rng.uniform(3, 8)
            polys = [_box_face(cam, x - 0.08, x + 0.08, 0, height, z)]
            poles.append(Thing(POLE, z + 0.01, tuple(polys)))
            if rng.random() < 0.65:
                poles.append(_sign(rng, cam, x, min(height - 0.3, rng.uniform(2.2, 3.2)), z))
            z += rng.uniform(12, 35)
    return poles


def _sign(rng: np.random.Generator, cam: Camera, x: float, y: float, z: float) -> Thing:
    kind, s = int(rng.integers(3)), rng.uniform(0.25, 0.35)
    if kind == 0:
        centre, scale = cam.project(np.array([x]), np.array([y]), np.array([z]))[0], cam.focal / z
        poly = ellipse_points(centre[0], centre[1], s * scale, s * scale, n=20)
    elif kind == 1:
        poly = _box_face(cam, x - s, x + s, y - s, y + s, z)
    else:
        poly = cam.project(np.array([x - s * 1.1, x + s * 1.1, x]), np.array([y + s, y + s, y - s]), np.full(3, z))
    return Thing(TRAFFIC_SIGN, z, (poly,))


def _random_cars(rng: np.random.Generator, scene: StreetScene) -> list[Thing]:
    """2-6 cars: some driving in the lanes ahead, the rest parked along the kerbs."""
    count = int(rng.integers(2, 7))
    left, right = scene.road
    lanes = np.arange(right - 1.6, left + 1.0, -3.2)  # lane centres, right lane first
    cars, used = [], []
    for i in range(count):
        parked = i > 0 and rng.random() < 0.5
        if parked:
            x = right - 1.1 if rng.random() < 0.6 else left + 1.1
        else:
            x = float(lanes[int(rng.integers(len(lanes)))]) + rng.normal(0, 0.25)
        for _ in range(10):  # keep cars apart so each stays visible
            z = rng.uniform(7, 45) if parked else rng.uniform(9, 70)
            if all(abs(z - uz) > 7 or abs(x - ux) > 2.4 for ux, uz in used):
                break
        used.append((x, z))
        cars.append(_car(rng, scene.camera, x, z))
    return cars


def _car(rng: np.random.Generator, cam: Camera, x: float, z: float) -> Thing:
    """A car seen from behind (rear silhouette) plus the side that faces the camera's axis."""
    w, h, length = rng.uniform(1.65, 1.9), rng.uniform(1.35, 1.6), rng.uniform(3.9, 4.8)
    hw, belt = w / 2, h * rng.uniform(0.58, 0.66)
    rear = cam.project(
        np.array([-hw + 0.05, hw - 0.05, hw, hw, hw * 0.9, hw * 0.7, -hw * 0.7, -hw * 0.9, -hw, -hw]) + x,
        np.array([0.25, 0.25, 0.35, belt, belt + 0.05, h, h, belt + 0.05, belt, 0.35]),
        np.full(10, z),
    )
    polys = [rear]
    for side in (-1, 1):
        polys.append(_box_face(cam, x + side * hw - 0.25 * (side > 0), x + side * hw + 0.25 * (side < 0), 0, 0.35, z))
    # The camera sees the side that faces the street's axis, if the car is off to one side.
    toward = -1 if x - hw > 0 else (1 if x + hw < 0 else 0)
    if toward:
        side_x = x + toward * hw
        body = cam.project(
            np.full(4, side_x), np.array([0.25, 0.25, belt, belt]), np.array([z, z + length, z + length, z])
        )
        # The cabin leans inwards: its side runs from the belt (0.9 of the half-width) up to the roof (0.7).
        cabin_x = x + toward * hw * np.array([0.9, 0.7, 0.7, 0.9])
        cabin_z = np.array([z, z + 0.3, z + length - 1.9, z + length - 1.1])
        cabin = cam.project(cabin_x, np.array([belt + 0.05, h, h, belt + 0.05]), cabin_z)
        polys += [body, cabin]
        for wz in (z + 0.85, z + length - 0.9):
            t = np.linspace(0, 2 * np.pi, 16, endpoint=False)
            polys.append(cam.project(np.full(16, side_x), 0.33 + 0.33 * np.sin(t), wz + 0.33 * np.cos(t)))
    return Thing(CAR, z, tuple(polys))


def _random_persons(rng: np.random.Generator, scene: StreetScene) -> list[Thing]:
    """1-4 pedestrians on the sidewalks, now and then one crossing the road."""
    persons = []
    for _ in range(int(rng.integers(1, 5))):
        z = rng.uniform(6, 40)
        if rng.random() < 0.15:
            x = rng.uniform(scene.road[0] + 1, scene.road[1] - 0.5)
        else:
            side = 1 if rng.random() < 0.55 else -1
            road_x, walk = (scene.road[1], scene.sidewalks[1]) if side > 0 else (scene.road[0], scene.sidewalks[0])
            x = road_x + side * rng.uniform(0.5, max(walk - 0.4, 0.6))
        persons.append(_person(rng, scene.camera, x, z))
    return persons


def _person(rng: np.random.Generator, cam: Camera, x: float, z: float) -> Thing:
    """Head, torso with arms, and two legs (in stride) facing the camera."""
    h, stride = rng.uniform(1.55, 1.92), rng.uniform(0.0, 0.18)
    shoulder, hip, knee_w = 0.21 * h / 1.75, 0.15 * h / 1.75, 0.075
    head_c = cam.project(np.array([x]), np.array([h - 0.12]), np.array([z]))[0]
    scale = cam.focal / z
    head = ellipse_points(head_c[0], head_c[1], 0.1 * scale, 0.125 * scale, n=20)
    torso = cam.project(
        np.array([x - shoulder - 0.07, x + shoulder + 0.07, x + hip + 0.08, x - hip - 0.08]),
        np.array([h - 0.25, h - 0.25, 0.47 * h, 0.47 * h]),
        np.full(4, z),
    )
    neck = _box_face(cam, x - 0.05, x + 0.05, h - 0.28, h - 0.18, z)
    legs = []
    for s in (-1, 1):  # hip to foot; the feet are apart by the stride
        xs = x + s * np.array([0.02, hip + 0.02, 0.02 + 2 * knee_w + stride, 0.02 + stride])
        legs.append(cam.project(xs, np.array([0.5 * h, 0.5 * h, 0.0, 0.0]), np.full(4, z)))
    return Thing(PERSON, z, (head, neck, torso, *legs))


def _random_bicycles(rng: np.random.Generator, scene: StreetScene) -> list[Thing]:
    """Now and then a bicycle parked on the right sidewalk, seen from the side."""
    if rng.random() > 0.25:
        return []
    cam, z = scene.camera, rng.uniform(8, 25)
    x = scene.road[1] + rng.uniform(0.6, max(scene.sidewalks[1] - 0.5, 0.8))
    scale, rings = cam.focal / z, []
    pts = cam.project(np.array([x - 0.55, x + 0.55]), np.array([0.34, 0.34]), np.full(2, z))
    for cx, cy in pts:
        rings.append((float(cx), float(cy), 0.34 * scale, max(0.06 * scale, 1.0)))
    frame = cam.project(
        np.array([x - 0.55, x - 0.1, x + 0.4, x + 0.55, x + 0.4, x - 0.05, x - 0.1]),
        np.array([0.34, 0.34, 0.8, 0.34, 0.8, 0.78, 0.34]),
        np.full(7, z),
    )
    frame_poly = np.concatenate([frame, frame[::-1] + np.array([0, max(0.05 * scale, 1.0)])])
    return [Thing(BICYCLE, z, (frame_poly,), tuple(rings))]


# ---------------------------------------------------------------- rasterising


def _stamp(label: np.ndarray, instance: np.ndarray, thing: Thing, inst_id: int) -> None:
    """Fill a thing's polygons (and wheel rings) into both maps, working inside its bounding box only."""
    corners = [np.array([[cx - r - t, cy - r - t], [cx + r + t, cy + r + t]]) for cx, cy, r, t in thing.rings]
    pts = np.concatenate([*thing.polygons, *corners])
    h, w = label.shape
    x0, y0 = max(int(np.floor(pts[:, 0].min())) - 1, 0), max(int(np.floor(pts[:, 1].min())) - 1, 0)
    x1, y1 = min(int(np.ceil(pts[:, 0].max())) + 2, w), min(int(np.ceil(pts[:, 1].max())) + 2, h)
    if x1 <= x0 or y1 <= y0:
        return
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    fill_polygon(mask, list(thing.polygons), 1, offset=(x0, y0))
    for cx, cy, r, t in thing.rings:
        draw_ring(mask, cx - x0, cy - y0, r, t, 1)
    hit = mask.astype(bool)
    label[y0:y1, x0:x1][hit] = thing.cls
    instance[y0:y1, x0:x1][hit] = inst_id


def street_label(scene: StreetScene) -> tuple[np.ndarray, np.ndarray]:
    """Rasterise a scene far to near: label (H, W) uint8 labelIds and instance (H, W) int32.

    Instances follow Cityscapes: stuff pixels hold their class id, things ``class * 1000 + k`` with ``k``
    counting the things of that class from 0 in drawing order.
    """
    cam = scene.camera
    label = np.full((cam.height, cam.width), SKY, np.uint8)
    _draw_ground(label, scene)
    _draw_buildings(label, scene)
    instance = label.astype(np.int32)
    counts: dict[int, int] = {}
    for thing in sorted(scene.things, key=lambda t: -t.z):
        if thing.cls in THING_CLASSES:
            k = counts.get(thing.cls, 0)
            counts[thing.cls] = k + 1
            _stamp(label, instance, thing, thing.cls * 1000 + k)
        else:
            _stamp(label, instance, thing, thing.cls)
    _draw_border(label, instance, scene)
    return label, instance


def _draw_ground(label: np.ndarray, scene: StreetScene) -> None:
    """Sidewalk everywhere below the horizon, then grass verges, then the road."""
    cam, near, far = scene.camera, scene.camera.near_z(), scene.skyline_z
    left, right = scene.road
    fill_polygon(label, [_ground(cam, -1e4, 1e4, near, far)], SIDEWALK)
    verges = [
        _ground(cam, scene.facades[0], left - scene.sidewalks[0], near, far),
        _ground(cam, right + scene.sidewalks[1], scene.facades[1], near, far),
    ]
    fill_polygon(label, [v for v in verges if abs(v[1, 0] - v[0, 0]) > 0.5], TERRAIN)
    for side in scene.parks:
        x = scene.facades[0] if side < 0 else scene.facades[1]
        fill_polygon(label, [_ground(cam, min(x, x + side * 1e4), max(x, x + side * 1e4), near, far)], TERRAIN)
    fill_polygon(label, [_ground(cam, left, right, near, far)], ROAD)


def _draw_buildings(label: np.ndarray, scene: StreetScene) -> None:
    """The far skyline, the tree walls behind parks, then the facade pieces from far to near."""
    cam = scene.camera
    blocks = [_box_face(cam, x0, x1, 0, h, scene.skyline_z) for x0, x1, h in scene.skyline if h > 0]
    fill_polygon(label, blocks, BUILDING)
    # Parks: a distant wall of trees behind the grass.
    for side in scene.parks:
        x = scene.facades[0] if side < 0 else scene.facades[1]
        fill_polygon(label, [_side_face(cam, x + side * 25, 5, scene.skyline_z, 0, 14)], VEGETATION)
    for x, z0, z1, height in sorted(scene.buildings, key=lambda b: -b[1]):
        fill_polygon(label, [_side_face(cam, x, z0, z1, 0, height)], BUILDING)


def _draw_border(label: np.ndarray, instance: np.ndarray, scene: StreetScene) -> None:
    """Unlabelled pixels at the image border: the bonnet of the ego car, or the rectification border."""
    h, w = label.shape
    border = np.zeros_like(label)
    if scene.border == "bottom":
        fill_to = ellipse_points(w / 2, h * 1.35, w * 0.8, h * 0.42, 180, 360, 48)
        fill_polygon(border, [fill_to], 1)
    elif scene.border == "sides":
        edge = max(int(w * 0.015), 2)
        border[:, :edge] = 1
        border[:, -edge:] = 1
    label[border > 0] = UNLABELED
    instance[border > 0] = UNLABELED


def random_street_label(rng: np.random.Generator, width: int = 512, height: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """A random street's label (H, W) uint8 and instance (H, W) int32 maps."""
    return street_label(random_street_scene(rng, width, height))


# ---------------------------------------------------------------- appearance


@dataclass(frozen=True)
class StreetStyle:
    """Appearance of a street photo; colours are (r, g, b) tuples of ints 0..255."""

    mood: str = "sunny"  # "sunny", "overcast" or "dusk" (informative; the colours carry it)
    sky_rgb: RGB = (90, 140, 210)  # zenith
    horizon_rgb: RGB = (190, 210, 230)  # sky at the horizon, also the haze colour
    cloud_rgb: RGB = (240, 240, 245)
    cloudiness: float = 0.3  # 0 clear .. 1 overcast
    road_rgb: RGB = (95, 95, 100)
    marking_rgb: RGB = (225, 225, 220)
    sidewalk_rgb: RGB = (160, 155, 150)
    terrain_rgb: RGB = (120, 135, 70)
    vegetation_rgb: RGB = (60, 100, 45)
    trunk_rgb: RGB = (80, 65, 50)
    building_palette: tuple[RGB, ...] = ((190, 170, 150), (150, 140, 135), (200, 190, 170), (160, 110, 90))
    window_rgb: RGB = (50, 60, 75)
    lit_window_rgb: RGB = (250, 210, 130)
    lit_fraction: float = 0.0  # share of windows with the lights on
    pole_rgb: RGB = (110, 115, 120)
    sign_rgb: RGB = (30, 80, 170)
    car_palette: tuple[RGB, ...] = ((200, 200, 205), (30, 30, 35), (150, 20, 25), (40, 60, 120), (120, 120, 125))
    clothes_palette: tuple[RGB, ...] = ((40, 40, 50), (150, 40, 40), (50, 80, 140), (200, 200, 190), (90, 110, 60))
    brightness: float = 1.0  # overall exposure
    sun_side: float = 1.0  # +1 sun from the right, -1 from the left: which facade side is lit
    shadow: float = 0.35  # how dark the shaded side and cast shadows are, 0..0.6


_FACADE_COLOURS: tuple[RGB, ...] = (
    (196, 178, 150), (170, 160, 150), (215, 205, 185), (165, 105, 85), (140, 130, 125), (205, 190, 160),
    (120, 115, 120), (180, 150, 110), (225, 220, 210), (150, 160, 170), (175, 125, 95), (110, 100, 95),
)  # fmt: skip
_CAR_COLOURS: tuple[RGB, ...] = (
    (205, 205, 210), (25, 25, 30), (120, 122, 128), (160, 20, 25), (35, 55, 115), (230, 230, 225),
    (70, 90, 70), (180, 150, 60), (90, 40, 30), (60, 100, 160),
)  # fmt: skip


def random_street_style(rng: np.random.Generator) -> StreetStyle:
    """A random :class:`StreetStyle` in one of three moods (sunny, overcast, dusk)."""
    mood = str(rng.choice(["sunny", "overcast", "dusk"], p=[0.5, 0.3, 0.2]))
    if mood == "sunny":
        sky, horizon, cloud_rgb, clouds, bright, lit = (70, 130, 215), (185, 210, 235), (245, 245, 250), 0.3, 1.05, 0.0
    elif mood == "overcast":
        sky, horizon, cloud_rgb, clouds, bright, lit = (150, 158, 170), (200, 204, 210), (215, 218, 222), 0.9, 0.9, 0.03
    else:
        sky, horizon, cloud_rgb, clouds, bright, lit = (60, 70, 130), (240, 160, 100), (200, 120, 110), 0.35, 0.7, 0.35
    palette_idx = rng.choice(len(_FACADE_COLOURS), size=5, replace=False)
    car_idx = rng.choice(len(_CAR_COLOURS), size=6, replace=False)
    return StreetStyle(
        mood=mood,
        sky_rgb=jitter_rgb(rng, sky, 12),
        horizon_rgb=jitter_rgb(rng, horizon, 12),
        cloud_rgb=cloud_rgb,
        cloudiness=float(np.clip(clouds + rng.normal(0, 0.15), 0, 1)),
        road_rgb=jitter_rgb(rng, (92, 92, 98), 14),
        marking_rgb=(225, 225, 220) if rng.random() < 0.85 else (230, 190, 60),
        sidewalk_rgb=jitter_rgb(rng, (165, 158, 150), 20),
        terrain_rgb=jitter_rgb(rng, (125, 135, 70), 18),
        vegetation_rgb=jitter_rgb(rng, (60, 100, 45), 15),
        trunk_rgb=jitter_rgb(rng, (80, 65, 50), 10),
        building_palette=tuple(jitter_rgb(rng, _FACADE_COLOURS[i], 12) for i in palette_idx),
        window_rgb=jitter_rgb(rng, (50, 60, 75), 10),
        lit_window_rgb=jitter_rgb(rng, (250, 210, 130), 8),
        lit_fraction=lit,
        pole_rgb=jitter_rgb(rng, (110, 115, 120), 15),
        sign_rgb=((30, 80, 170), (190, 30, 35), (230, 190, 40))[int(rng.integers(3))],
        car_palette=tuple(_CAR_COLOURS[i] for i in car_idx),
        clothes_palette=tuple(
            jitter_rgb(rng, c, 25)
            for c in ((40, 40, 50), (150, 40, 40), (50, 80, 140), (200, 200, 190), (90, 110, 60), (180, 140, 90))
        ),
        brightness=bright * rng.uniform(0.92, 1.08),
        sun_side=float(rng.choice([-1.0, 1.0])),
        shadow=rng.uniform(0.2, 0.45) if mood == "sunny" else rng.uniform(0.05, 0.2),
    )


# ---------------------------------------------------------------- painting


@dataclass(frozen=True)
class _Perspective:
    """Vanishing point and focal length recovered from a label map (see :func:`estimate_perspective`)."""

    vanish_x: float
    horizon: float
    focal: float

    def ground(self, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Ground-plane (X, Z) in metres of pixels below the horizon, and metres per pixel at each."""
        below = np.maximum(ys - self.horizon, 0.5)
        z = self.focal * CAMERA_HEIGHT / below
        x = (xs - self.vanish_x) * CAMERA_HEIGHT / below
        return x, z, CAMERA_HEIGHT / below


def estimate_perspective(label: np.ndarray) -> _Perspective:
    """Vanishing point of the street from the label map alone.

    The borders between road, sidewalk and grass run along the street, so in a straight street they are
    lines through the vanishing point: fit a line to each kind of border (e.g. road -> sidewalk) and take
    the point closest to all of them. With fewer than two lines, the road's top row stands in for the
    horizon (the street ends a few rows below it).

    label: (H, W) uint8 labelIds.
    """
    h, w = label.shape
    focal = FOCAL * w
    road_rows = np.flatnonzero((label == ROAD).any(axis=1))
    if road_rows.size < 4:
        return _Perspective(w / 2, h * 0.45, focal)
    top = int(road_rows[0])
    lines = _ground_border_lines(label, top)
    if len(lines) >= 2:
        point = _closest_point(lines)
        if point is not None and top - 0.2 * h < point[1] <= top + 2 and -w < point[0] < 2 * w:
            return _Perspective(point[0], point[1], focal)
    y = top - 1.0
    if lines:
        a, b = max(lines, key=lambda line: line[2])[:2]
        return _Perspective(a * y + b, y, focal)
    xs = np.flatnonzero(label[top] == ROAD)
    return _Perspective(float(xs.mean()), y, focal)


_GROUND = (ROAD, SIDEWALK, TERRAIN)


def _ground_border_lines(label: np.ndarray, top: int) -> list[tuple[float, float, int]]:
    """Lines ``x = a * y + b`` (with their support in rows) along borders between two ground classes."""
    h = label.shape[0]
    start = top + max(2, (h - top) // 20)
    left, right = label[start:, :-1], label[start:, 1:]
    border = (left != right) & np.isin(left, _GROUND) & np.isin(right, _GROUND)
    ys, xs = np.nonzero(border)
    codes = left[ys, xs].astype(np.int32) * 256 + right[ys, xs]
    lines = []
    for code in np.unique(codes):
        sel = codes == code
        rows, cols = ys[sel], xs[sel]
        once = np.bincount(rows, minlength=h)[rows] == 1  # rows where this border is unambiguous
        if once.sum() >= 6:
            fit = _fit_edge((rows[once] + start).astype(np.float64), cols[once] + 0.5, np.ones(int(once.sum()), bool))
            if fit is not None:
                lines.append((*fit, int(once.sum())))
    return lines


def _fit_edge(rows: np.ndarray, edges: np.ndarray, keep: np.ndarray) -> tuple[float, float] | None:
    """Line ``x = a * y + b`` through edge pixels, refitted twice without the outliers (occluded rows)."""
    for _ in range(3):
        if keep.sum() < 4:
            return None
        a, b = np.polyfit(rows[keep], edges[keep], 1)
        residual = np.abs(edges - (a * rows + b))
        keep = keep & (residual <= max(1.5, 2.0 * float(np.median(residual[keep]))))
    return float(a), float(b)


def _closest_point(lines: list[tuple[float, float, int]]) -> tuple[float, float] | None:
    """Least-squares intersection (x, y) of lines ``x = a * y + b``, weighted by support; None if parallel."""
    a = np.array([line[0] for line in lines])
    b = np.array([line[1] for line in lines])
    weight = np.sqrt(np.array([line[2] for line in lines], np.float64))
    norm = np.sqrt(1 + a * a)
    normals = np.stack([1 / norm, -a / norm], axis=1) * weight[:, None]
    offsets = b / norm * weight
    matrix = normals.T @ normals
    if abs(np.linalg.det(matrix)) < 1e-6 * max(float(np.trace(matrix)) ** 2, 1e-12):
        return None
    x, y = np.linalg.solve(matrix, normals.T @ offsets)
    return float(x), float(y)


@dataclass
class _Canvas:
    """What a region painter may read: a window of the maps around its region, the style and the perspective."""

    label: np.ndarray  # (h, w) uint8 window
    instance: np.ndarray  # (h, w) int32 window
    style: StreetStyle
    base_seed: int
    view: _Perspective
    width: int  # of the whole image, px
    origin: tuple[int, int] = (0, 0)  # (y, x) of the window in the image
    grain: np.ndarray | None = None  # (h, w) float32 sensor grain, one field for the whole photo

    def rng(self, *keys: int) -> np.random.Generator:
        return region_rng(self.base_seed, *keys)

    def coords(self) -> tuple[np.ndarray, np.ndarray]:
        """Image coordinates ``(ys, xs)`` of the window's pixels."""
        return coordinates(self.label.shape, self.origin)

    def window(self, y0: int, y1: int, x0: int, x1: int) -> _Canvas:
        oy, ox = self.origin
        grain = None if self.grain is None else self.grain[y0:y1, x0:x1]
        return _Canvas(
            self.label[y0:y1, x0:x1],
            self.instance[y0:y1, x0:x1],
            self.style,
            self.base_seed,
            self.view,
            self.width,
            (oy + y0, ox + x0),
            grain,
        )

    def shadow_from(self, classes: tuple[int, ...], reach: float, strength: float) -> np.ndarray:
        """(h, w) float32 darkening next to the given classes, 1 far from them."""
        dist = cv2.distanceTransform((~np.isin(self.label, classes)).astype(np.uint8), cv2.DIST_L2, 3)
        return 1.0 - np.float32(strength) * np.exp(-dist / np.float32(max(reach, 0.5)))


Painter = Callable[[_Canvas, np.ndarray], np.ndarray]


def _grain(c: _Canvas, amount: float = 3.0) -> np.ndarray:
    """Additive (h, w, 1) sensor grain so no region is a perfectly flat colour."""
    if c.grain is None:
        return np.zeros((*c.label.shape, 1), np.float32)
    return (c.grain * np.float32(amount))[..., None]


def _haze(c: _Canvas, colour: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """Fade ``colour`` (h, w, 3) towards the horizon colour with distance ``depth`` (h, w) metres."""
    amount = 1.0 - np.exp(-np.maximum(depth, 0) / np.float32(400.0))
    return blend(colour, c.style.horizon_rgb, amount.astype(np.float32) * 0.8)


def _aa_line(offset: np.ndarray, half_width: float, footprint: np.ndarray) -> np.ndarray:
    """Coverage 0..1 of a line ``half_width`` wide at distance ``offset`` (same units as ``footprint``/px)."""
    return np.clip((half_width - np.abs(offset)) / np.maximum(footprint, 1e-6) + 0.5, 0, 1)


def _paint_sky(c: _Canvas, mask: np.ndarray) -> np.ndarray:
    """Zenith-to-horizon gradient with soft clouds."""
    rng = c.rng(SKY)
    ys, _ = c.coords()
    t = np.clip(ys / max(c.view.horizon, 1.0), 0, 1) ** 1.5
    base = blend(colour_field(c.style.sky_rgb, np.ones_like(t)), c.style.horizon_rgb, t)
    noise = value_noise(rng, mask.shape, c.width / 5, octaves=4)
    cover = np.clip((noise - (1.2 - 2.2 * c.style.cloudiness)) * 0.8, 0, 1) * (1 - 0.5 * t)
    shade = 1.0 - 0.15 * np.clip(value_noise(rng, mask.shape, c.width / 12, octaves=2), 0, 1)
    clouds = colour_field(c.style.cloud_rgb, shade)
    return blend(base, clouds, cover) + _grain(c, 1.5)


def _paint_road(c: _Canvas, mask: np.ndarray) -> np.ndarray:
    """Asphalt with patches and grit, lane markings in ground coordinates, shadows under cars."""
    rng = c.rng(ROAD)
    ys, xs = c.coords()
    gx, gz, footprint = c.view.ground(xs, ys)
    patches = value_noise(rng, mask.shape, c.width / 16, octaves=3)
    shade = 1.0 + 0.06 * patches + 0.05 * fine_noise(rng, mask.shape)
    shade = shade * c.shadow_from((CAR,), c.width / 150, c.style.shadow + 0.25)
    colour = colour_field(c.style.road_rgb, shade * c.style.brightness)
    marks = _lane_marks(c, mask, gx, gz, footprint)
    colour = blend(colour, np.asarray(c.style.marking_rgb, np.float32) * c.style.brightness, marks * 0.9)
    return _haze(c, colour, gz) + _grain(c, 2.0)


def _lane_marks(c: _Canvas, mask: np.ndarray, gx: np.ndarray, gz: np.ndarray, footprint: np.ndarray) -> np.ndarray:
    """(h, w) float32 coverage of dashed lane lines and solid edge lines, in ground-plane metres."""
    road = c.label == ROAD
    if not road.any():
        return np.zeros(mask.shape, np.float32)
    rows_gx = np.where(road, gx, np.nan)
    valid = ~np.all(np.isnan(rows_gx), axis=1)
    if not valid.any():
        return np.zeros(mask.shape, np.float32)
    # The road edges are the same X in every row when the perspective fits; take robust medians.
    left = float(np.nanmedian(np.nanmin(rows_gx[valid], axis=1)))
    right = float(np.nanmedian(np.nanmax(rows_gx[valid], axis=1)))
    lanes = max(int(round((right - left) / 3.3)), 1)
    marks = np.zeros(mask.shape, np.float32)
    dash = np.clip(np.sin(gz / 9.0 * 2 * np.pi) * 3 + 0.5, 0, 1)
    metres_per_row = gz * gz / (c.view.focal * CAMERA_HEIGHT)
    dash = np.where(metres_per_row > 2.0, 0.35, dash)  # too far away to resolve the dashes
    for k in range(1, lanes):
        marks = np.maximum(marks, _aa_line(gx - (left + k * (right - left) / lanes), 0.08, footprint) * dash)
    for edge in (left + 0.35, right - 0.35):
        marks = np.maximum(marks, _aa_line(gx - edge, 0.07, footprint))
    return marks.astype(np.float32)


def _paint_sidewalk(c: _Canvas, mask: np.ndarray) -> np.ndarray:
    """Paving slabs in ground coordinates and a light kerb along the road."""
    rng = c.rng(SIDEWALK)
    ys, xs = c.coords()
    gx, gz, footprint = c.view.ground(xs, ys)
    slab = 0.6
    joints = np.maximum(
        _aa_line((gx + slab / 2) % slab - slab / 2, 0.02, footprint),
        _aa_line((gz + slab / 2) % slab - slab / 2, 0.02, footprint * gz / CAMERA_HEIGHT),
    )
    joints = np.where(footprint > slab / 4, 0.15, joints)  # far away the joints blur into a slight darkening
    kerb = np.exp(-cv2.distanceTransform((c.label != ROAD).astype(np.uint8), cv2.DIST_L2, 3) / max(c.width / 400, 1))
    shade = (
        (1.0 + 0.05 * value_noise(rng, mask.shape, c.width / 20, octaves=2)) * (1 - 0.18 * joints) * (1 + 0.2 * kerb)
    )
    shade = shade * c.shadow_from((BUILDING, VEGETATION, PERSON, CAR, POLE), c.width / 300, c.style.shadow * 0.6)
    colour = colour_field(c.style.sidewalk_rgb, shade * c.style.brightness)
    return _haze(c, colour, gz) + _grain(c, 2.5)


def _paint_terrain(c: _Canvas, mask: np.ndarray) -> np.ndarray:
    rng = c.rng(TERRAIN)
    ys, xs = c.coords()
    _, gz, _ = c.view.ground(xs, ys)
    blades = streak_noise(rng, mask.shape, 90.0, max(3, c.width // 200))
    shade = (1.0 + 0.1 * value_noise(rng, mask.shape, c.width / 25, octaves=2) + 0.08 * blades) * c.style.brightness
    return _haze(c, colour_field(c.style.terrain_rgb, shade), gz) + _grain(c, 3.0)


def _paint_vegetation(c: _Canvas, mask: np.ndarray) -> np.ndarray:
    """Leafy clumps lit from above; thin vertical parts (trunks) in bark colour."""
    rng = c.rng(VEGETATION)
    clumps = value_noise(rng, mask.shape, max(c.width / 90, 2.0), octaves=2)
    dist = inside_distance(mask)
    shade = (0.9 + 0.22 * np.tanh(clumps * 1.5)) * edge_shade(dist, c.width / 120, 0.3) * c.style.brightness
    ys, _ = c.coords()
    colour = colour_field(c.style.vegetation_rgb, shade.astype(np.float32))
    # A trunk is vegetation too narrow to survive a horizontal opening.
    k = max(c.width // 80, 3)
    wide = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, np.ones((1, k), np.uint8)).astype(bool)
    trunk = mask & ~wide
    colour[trunk] = np.asarray(c.style.trunk_rgb, np.float32) * c.style.brightness
    return colour + _grain(c, 4.0)


def _paint_building(c: _Canvas, mask: np.ndarray) -> np.ndarray:
    """Facades: one colour per building (found from jumps in the roof line) with a perspective window grid."""
    colour = np.zeros((*mask.shape, 3), np.float32)
    base, trusted = _building_base(c.label, mask)
    for x0, x1 in _building_runs(c.label, mask):
        rows = np.flatnonzero(mask[:, x0:x1].any(axis=1))
        y0, y1 = int(rows[0]), int(rows[-1]) + 1
        sub = c.window(y0, y1, x0, x1)
        rng_run = region_rng(c.base_seed, BUILDING, x0 + c.origin[1])
        base_run = (base[x0:x1] + c.origin[0], trusted[x0:x1])
        colour[y0:y1, x0:x1] = _paint_facade(sub, mask[y0:y1, x0:x1], base_run, rng_run)
    dist = inside_distance(mask)
    colour *= edge_shade(dist, c.width / 250, 0.2)[..., None]
    return colour + _grain(c, 3.0)


def _forward_fill(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """``values`` where ``known``, else the last known value to the left (the first known one at the start)."""
    if not known.any():
        return values
    idx = np.where(known, np.arange(values.size), 0)
    np.maximum.accumulate(idx, out=idx)
    idx[: int(np.argmax(known))] = int(np.argmax(known))
    return values[idx]


def _building_base(label: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column: the lowest building row (w,) int and whether ground lies right below it (w,) bool."""
    h, w = mask.shape
    has = mask.any(axis=0)
    bottom = np.where(has, h - 1 - np.argmax(mask[::-1], axis=0), h - 1)
    below = label[np.minimum(bottom + 1, h - 1), np.arange(w)]
    return bottom, has & (bottom < h - 1) & np.isin(below, (ROAD, SIDEWALK, TERRAIN))


def _building_runs(label: np.ndarray, mask: np.ndarray) -> list[tuple[int, int]]:
    """Column ranges [x0, x1) of single buildings: where the roof line or the base line jumps.

    Only a roof with sky above it and a base with ground below it are trusted; where a tree, a pole or a
    car hides them the line carries on from the left, so occluders do not split a building.
    """
    h, w = mask.shape
    has = mask.any(axis=0)
    top = np.where(has, np.argmax(mask, axis=0), 0)
    above = label[np.maximum(top - 1, 0), np.arange(w)]
    top = _forward_fill(top, has & ((top == 0) | (above == SKY)))
    bottom, trusted = _building_base(label, mask)
    bottom = _forward_fill(bottom, trusted)
    jump = max(2, h // 60)
    breaks = np.flatnonzero((np.abs(np.diff(top)) > jump) | (np.abs(np.diff(bottom)) > jump)) + 1
    edges = [0, *[int(b) for b in breaks], w]
    runs = [(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a and has[a:b].any()]
    merged: list[tuple[int, int]] = []
    for a, b in runs:  # slivers (a pole's width, a rounding step) join the building on their left
        if merged and b - a < max(3, w // 150):
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return merged


def _paint_facade(
    c: _Canvas, mask: np.ndarray, base: tuple[np.ndarray, np.ndarray], rng: np.random.Generator
) -> np.ndarray:
    """One building's columns: wall colour, floors of windows in metric facade coordinates, haze with depth."""
    palette = c.style.building_palette
    wall = np.asarray(jitter_rgb(rng, palette[int(rng.integers(len(palette)))], 8), np.float32)
    floor_h, bay = rng.uniform(2.9, 3.6), rng.uniform(2.2, 3.6)
    win_w, win_h = rng.uniform(0.35, 0.6), rng.uniform(0.4, 0.6)
    ys, xs = c.coords()
    h_coord, u_coord, depth, footprint = _facade_coords(c, mask, base, ys, xs)
    in_floor = (h_coord / floor_h) % 1.0
    in_bay = (u_coord / bay) % 1.0
    window = _aa_line(in_floor - 0.55, win_h / 2, footprint / floor_h) * _aa_line(
        in_bay - 0.5, win_w / 2, footprint / bay
    )
    window = np.where(footprint > bay / 3, 0.3, window) * (h_coord > 3.2)  # unresolved far away; no ground floor
    # Lights on per window: a hash of the window's floor and bay numbers.
    cell = np.floor(h_coord / floor_h) * 12.9898 + np.floor(u_coord / bay) * 78.233 + rng.uniform(0, 100)
    lit = ((np.sin(cell) * 43758.5453) % 1.0 < c.style.lit_fraction) & (window > 0.5)
    sunlit = 1.0 - c.style.shadow * (0.5 - 0.5 * np.sign((xs - c.view.vanish_x) * -c.style.sun_side))
    grime = 1.0 + 0.06 * value_noise(rng, mask.shape, max(c.width / 60, 2.0), octaves=2)
    colour = colour_field(wall, (sunlit * grime * c.style.brightness).astype(np.float32))
    glass = colour_field(
        c.style.window_rgb, (0.9 + 0.2 * np.clip(ys / max(c.view.horizon, 1), 0, 1)) * c.style.brightness
    )
    glass[lit] = c.style.lit_window_rgb
    colour = blend(colour, glass, window.astype(np.float32))
    shop = (h_coord < 3.0) & (h_coord > 0.4)  # the ground floor: darker shop fronts
    colour[shop] *= 0.7
    return _haze(c, colour, depth)


def _facade_coords(
    c: _Canvas, mask: np.ndarray, base: tuple[np.ndarray, np.ndarray], ys: np.ndarray, xs: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Metric facade coordinates of one building's pixels: height (m), along-facade (m), depth (m), m/px.

    ``base`` holds the building's lowest row per column (image rows) and whether ground lies below it (else
    something stands in front). A facade along the street has its base on a line through the vanishing
    point, which gives its distance from the street's axis; one facing the camera has a level base.
    """
    view = c.view
    rows, trusted = base
    has = mask.any(axis=0)
    use = trusted if trusted.sum() >= 2 else has
    dx = xs[0] - view.vanish_x
    below = np.maximum(rows - view.horizon, 0.5)
    # Occluders only lift the apparent base, so the steepest columns are the most trustworthy.
    slope = float(np.percentile(below[use] / np.maximum(np.abs(dx[use]), 1.0), 90)) if use.any() else 1.0
    level = np.ptp(rows[use]) <= max(1.0, 0.3 * slope * mask.shape[1]) if use.sum() >= 2 else False
    if level or np.all(np.abs(dx[has]) < 3):
        depth = np.full(mask.shape[1], view.focal * CAMERA_HEIGHT / float(np.max(below[use])))
        u = dx * depth / view.focal
        footprint = depth / view.focal
    else:
        lateral = CAMERA_HEIGHT / max(slope, 1e-3)  # |X| of the facade plane, metres
        depth = view.focal * lateral / np.maximum(np.abs(dx), 1.0)
        u = depth
        footprint = depth * depth / (view.focal * lateral)  # dZ/dx
    height = CAMERA_HEIGHT + (view.horizon - ys) * (depth / view.focal)[None, :]
    fp = np.broadcast_to(np.maximum(footprint, depth / view.focal)[None, :], ys.shape)
    return height, np.broadcast_to(u[None, :], ys.shape), np.broadcast_to(depth[None, :], ys.shape), fp


def _paint_pole(c: _Canvas, mask: np.ndarray) -> np.ndarray:
    dist = inside_distance(mask)
    shade = (0.75 + 0.35 * np.clip(dist / max(float(dist.max()), 1.0), 0, 1)) * c.style.brightness
    return colour_field(c.style.pole_rgb, shade.astype(np.float32)) + _grain(c, 3.0)


def _paint_sign(c: _Canvas, mask: np.ndarray) -> np.ndarray:
    """Sign plates in ``sign_rgb`` with a white rim."""
    dist = inside_distance(mask)
    colour = colour_field(c.style.sign_rgb, np.full(mask.shape, c.style.brightness, np.float32))
    rim = np.clip(1.6 - dist, 0, 1) * (dist > 0)
    return blend(colour, np.float32([235, 235, 235]) * c.style.brightness, rim) + _grain(c, 3.0)


def _for_instances(c: _Canvas, mask: np.ndarray, paint: Callable[[_Canvas, np.ndarray, int], np.ndarray]) -> np.ndarray:
    """Paint each instance of a thing class in its own box with its own random stream."""
    out = np.zeros((*mask.shape, 3), np.float32)
    for inst in np.unique(c.instance[mask]):
        part = mask & (c.instance == inst)
        y0, y1, x0, x1 = mask_bbox(part)  # type: ignore[misc]
        sub = c.window(y0, y1, x0, x1)
        painted = paint(sub, part[y0:y1, x0:x1], int(inst))
        paste(out[y0:y1, x0:x1], painted, part[y0:y1, x0:x1])
    return out


def _column_bottom_rel(mask: np.ndarray) -> np.ndarray:
    """(h, w) float32 height above the instance's lowest pixel in the same column, as a share of its box."""
    h = mask.shape[0]
    bottom = np.where(mask.any(axis=0), h - 1 - np.argmax(mask[::-1], axis=0), h - 1)
    ys = np.arange(h, dtype=np.float32)[:, None]
    return (bottom[None, :] - ys) / np.float32(max(h, 1))


def _paint_car(c: _Canvas, mask: np.ndarray, inst: int) -> np.ndarray:
    """Body colour from ``car_palette``, dark glass above the belt line, tyres below, red rear lights."""
    rng = c.rng(CAR, inst)
    palette = c.style.car_palette
    body = np.asarray(palette[int(rng.integers(len(palette)))], np.float32)
    h, w = mask.shape
    rel = _column_bottom_rel(mask)
    dist = inside_distance(mask)
    shine = 1.0 + 0.12 * np.clip(rel - 0.3, 0, 1) + 0.04 * value_noise(rng, mask.shape, max(w / 4, 2.0))
    colour = colour_field(
        body, (shine * edge_shade(dist, max(w / 30, 1.0), 0.3) * c.style.brightness).astype(np.float32)
    )
    pillar = max(w / 25, 1.0)
    glass = (rel > 0.66) & (dist > pillar)
    sky = np.clip(1.2 - rel, 0, 1)[..., None]
    colour[glass] = (
        np.float32([40, 45, 55]) + np.float32(c.style.horizon_rgb) * 0.25 * sky[glass]
    ) * c.style.brightness
    colour[(rel < 0.17)] = np.float32([28, 28, 30]) * c.style.brightness
    xs = np.arange(w, dtype=np.float32)[None, :]
    lights = (rel > 0.42) & (rel < 0.52) & (np.abs(xs - (w - 1) / 2) > 0.36 * w) & (dist > 0.5)
    colour[lights] = (190, 30, 30)
    plate = (rel > 0.27) & (rel < 0.36) & (np.abs(xs - (w - 1) / 2) < 0.11 * w)
    colour[plate & (dist > 1)] = np.float32([225, 225, 215]) * c.style.brightness
    return colour + _grain(c, 3.0)


def _paint_person(c: _Canvas, mask: np.ndarray, inst: int) -> np.ndarray:
    """Hair, face, top and trousers by height in the figure's box; colours from ``clothes_palette``."""
    rng = c.rng(PERSON, inst)
    palette = c.style.clothes_palette
    top, legs = (np.asarray(palette[int(i)], np.float32) for i in rng.choice(len(palette), 2, replace=False))
    skin = np.asarray(mix_rgb((235, 195, 160), (95, 60, 40), rng.uniform(0, 1)), np.float32)
    hair = np.asarray(scale_rgb((60, 45, 35), rng.uniform(0.4, 1.6)), np.float32)
    h = mask.shape[0]
    rel = (np.arange(h, dtype=np.float32) / max(h - 1, 1))[:, None] * np.ones(mask.shape[1], np.float32)[None, :]
    colour = np.empty((*mask.shape, 3), np.float32)
    for lo, hi, rgb in (
        (0.0, 0.04, hair),
        (0.04, 0.13, skin),
        (0.13, 0.5, top),
        (0.5, 0.96, legs),
        (0.96, 1.01, np.float32([30, 28, 28])),
    ):
        colour[(rel >= lo) & (rel < hi)] = rgb
    shade = edge_shade(inside_distance(mask), max(mask.shape[1] / 8, 1.0), 0.3) * c.style.brightness
    return colour * shade[..., None] + _grain(c, 3.0)


def _paint_bicycle(c: _Canvas, mask: np.ndarray, inst: int) -> np.ndarray:
    rng = c.rng(BICYCLE, inst)
    frame = jitter_rgb(rng, (40, 40, 45) if rng.random() < 0.6 else (150, 30, 30), 20)
    return colour_field(frame, np.full(mask.shape, c.style.brightness, np.float32)) + _grain(c, 3.0)


def _paint_unlabeled(c: _Canvas, mask: np.ndarray) -> np.ndarray:
    return np.full((*mask.shape, 3), 12, np.float32) + _grain(c, 2.0)


_PAINTERS: dict[int, Painter] = {
    UNLABELED: _paint_unlabeled, ROAD: _paint_road, SIDEWALK: _paint_sidewalk, BUILDING: _paint_building,
    POLE: _paint_pole, TRAFFIC_SIGN: _paint_sign, VEGETATION: _paint_vegetation, TERRAIN: _paint_terrain,
    SKY: _paint_sky, PERSON: lambda c, m: _for_instances(c, m, _paint_person),
    CAR: lambda c, m: _for_instances(c, m, _paint_car), BICYCLE: lambda c, m: _for_instances(c, m, _paint_bicycle),
}  # fmt: skip


def paint_street(
    label: np.ndarray, instance: np.ndarray, style: StreetStyle, rng: np.random.Generator | int
) -> np.ndarray:
    """Paint a photo of a street label map.

    label: (H, W) uint8 Cityscapes labelIds (classes without a painter are painted like ``unlabeled``);
    instance: (H, W) int32 Cityscapes instance ids (things ``class * 1000 + k``; they separate the cars and
    persons); style: the appearance; rng: a Generator or seed (one number is drawn from it).
    Returns (H, W, 3) uint8 RGB.
    """
    label, instance = np.asarray(label), np.asarray(instance)
    if label.ndim != 2 or instance.shape != label.shape:
        raise ValueError(f"label and instance must be the same (H, W) shape, got {label.shape} and {instance.shape}")
    base_seed = int(as_rng(rng).integers(2**62))
    grain = fine_noise(region_rng(base_seed, 255), label.shape)
    canvas = _Canvas(
        label,
        instance.astype(np.int32, copy=False),
        style,
        base_seed,
        estimate_perspective(label),
        label.shape[1],
        (0, 0),
        grain,
    )
    photo = np.zeros((*label.shape, 3), np.float32)
    margin = max(label.shape) // 32
    for cls in np.flatnonzero(np.bincount(label.ravel(), minlength=256)).tolist():
        paint_region(photo, label == cls, margin, canvas, _PAINTERS.get(cls, _paint_unlabeled))
    return to_uint8(photo)


# ---------------------------------------------------------------- samples


@dataclass(frozen=True)
class StreetSample:
    """One generated street: ``photo`` (H, W, 3) uint8, ``label`` (H, W) uint8, ``instance`` (H, W) int32."""

    photo: np.ndarray
    label: np.ndarray
    instance: np.ndarray
    style: StreetStyle
    scene: StreetScene


def street_size(size: int | tuple[int, int]) -> tuple[int, int]:
    """(width, height) of a street image: an int is the width (SPADE's ``load_size``), height = width // 2."""
    if isinstance(size, int):
        return size, max(size // 2, 1)
    return int(size[0]), int(size[1])


def make_street(seed: int | np.random.Generator = 0, size: int | tuple[int, int] = 512) -> StreetSample:
    """A random street of ``size`` (width, or (width, height)); the same seed gives the same bytes."""
    rng = as_rng(seed)
    width, height = street_size(size)
    scene = random_street_scene(rng, width, height)
    style = random_street_style(rng)
    label, instance = street_label(scene)
    photo = paint_street(label, instance, style, rng)
    return StreetSample(photo=photo, label=label, instance=instance, style=style, scene=scene)
