"""The simulator's renderable world in the `map` frame (z up), shared by the LiDAR and the camera.

Built from plain arrays so an adapter from any map (Lanelet2, a test's hand-made street) is a few
lines: extruded polygons (`Prism`), open vertical walls such as curbs (`Wall`), flat ground layers
(`GroundPolygon`, `LaneMarking`), objects that never move such as parked cars (static `Box`es)
and, set anew every frame, the moving actors (`Box`).

The static part is preprocessed once: every vertical face becomes a 2D segment for the LiDAR's
ray casting and a polygon for the camera's rasteriser, each kept in a coarse grid so a sensor only
looks at what lies within its range. Objects (static or moving) are drawn and scanned as a few
sub-boxes (body, glass, wheels, head...) inside their `Box`, so both sensors see the same shape,
the Box stays the ground truth and its object_id names its LiDAR points and camera 2D box.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import cv2
import numpy as np

from robovan_autonomy.perception.classes import ObjectClass
from robovan_autonomy.vehicle_params import SensorPose

CURB_HEIGHT_M = 0.15  # kerb stone height on the district's streets
GRID_CELL_M = 25.0  # spatial index cell: a few per 100 m sensor range keeps queries short
MAX_PANEL_LENGTH_M = 8.0  # façades are split so the camera's painter's sort by centroid holds
GROUND_RASTER_RES_M = 0.1  # LiDAR intensity map of the ground: resolves 0.12 m lane markings
MAX_GROUND_RASTER_CELLS = 64_000_000  # ~64 MB; larger worlds get a coarser raster

GROUND_ID = -1  # per-point ground-truth id of the ground plane
STATIC_ID = -2  # per-point ground-truth id of static structure (buildings, curbs)

# Sun: south-west, 40° up; light = AMBIENT + DIFFUSE · max(0, n · sun), so shade never goes black.
SUN_AZIMUTH_RAD = math.radians(225.0)
SUN_ELEVATION_RAD = math.radians(40.0)
AMBIENT_LIGHT = 0.55
DIFFUSE_LIGHT = 0.45

# Ground layers, drawn in this order by the camera (all at z = 0).
LAYER_SIDEWALK, LAYER_ROAD, LAYER_CROSSWALK, LAYER_MARKING, LAYER_SOLID = 1, 2, 3, 4, 5

# Default looks (BGR) and LiDAR reflectivities (0…1) of the surfaces.
GROUND_COLOUR_BGR = (92, 104, 98)  # verge / unpaved ground
GROUND_REFLECTIVITY = 0.20
ROAD_COLOUR_BGR = (78, 76, 74)  # asphalt
ROAD_REFLECTIVITY = 0.10
SIDEWALK_COLOUR_BGR = (150, 156, 160)  # concrete slabs
SIDEWALK_REFLECTIVITY = 0.30
CROSSWALK_COLOUR_BGR = (225, 228, 230)
MARKING_COLOUR_BGR = (225, 228, 230)  # white paint; yellow is (60, 200, 230)
MARKING_REFLECTIVITY = 0.70  # retro-reflective beads: bright in the LiDAR intensity
CURB_COLOUR_BGR = (170, 174, 176)
CURB_REFLECTIVITY = 0.35
BUILDING_REFLECTIVITY = 0.40


@dataclasses.dataclass(frozen=True)
class Pose3:
    """A rigid frame in `map`: `rotation` maps the frame's axes into map, `position` its origin."""

    position: np.ndarray
    rotation: np.ndarray

    @staticmethod
    def from_xyz_ypr(
        x_m: float,
        y_m: float,
        z_m: float,
        yaw_rad: float,
        pitch_rad: float = 0.0,
        roll_rad: float = 0.0,
    ) -> Pose3:
        pose = SensorPose(x_m, y_m, z_m, roll_rad, pitch_rad, yaw_rad)
        return Pose3(pose.translation(), pose.rotation())

    def compose(self, extrinsic: SensorPose) -> Pose3:
        """This pose (e.g. base_link in map) followed by a sensor extrinsic: the sensor in map."""
        return Pose3(
            self.position + self.rotation @ extrinsic.translation(),
            self.rotation @ extrinsic.rotation(),
        )

    def to_map(self, points_local: np.ndarray) -> np.ndarray:
        return np.asarray(points_local) @ self.rotation.T + self.position

    def from_map(self, points_map: np.ndarray) -> np.ndarray:
        return (np.asarray(points_map) - self.position) @ self.rotation

    @property
    def yaw_rad(self) -> float:
        return math.atan2(self.rotation[1, 0], self.rotation[0, 0])


@dataclasses.dataclass(frozen=True, eq=False)
class Prism:
    """A closed footprint extruded from z_min to z_max: a building, a parked car, a kiosk."""

    footprint: np.ndarray  # (N, 2) map x, y; either orientation
    z_min_m: float
    z_max_m: float
    colour_bgr: tuple[int, int, int] = (160, 170, 185)
    label: str = "building"
    reflectivity: float = BUILDING_REFLECTIVITY


@dataclasses.dataclass(frozen=True, eq=False)
class Wall:
    """An open vertical polyline face of no thickness: a curb (the default), a fence, a barrier."""

    polyline: np.ndarray  # (N, 2)
    z_min_m: float = 0.0
    z_max_m: float = CURB_HEIGHT_M
    colour_bgr: tuple[int, int, int] = CURB_COLOUR_BGR
    label: str = "curb"
    reflectivity: float = CURB_REFLECTIVITY


@dataclasses.dataclass(frozen=True, eq=False)
class GroundPolygon:
    """A flat area at z = 0 (road surface, sidewalk, crosswalk stripe); may be concave."""

    polygon: np.ndarray  # (N, 2)
    colour_bgr: tuple[int, int, int]
    reflectivity: float


@dataclasses.dataclass(frozen=True, eq=False)
class LaneMarking:
    """A painted line along a polyline; dashes are separate markings."""

    polyline: np.ndarray  # (N, 2)
    width_m: float = 0.12
    colour_bgr: tuple[int, int, int] = MARKING_COLOUR_BGR
    reflectivity: float = MARKING_REFLECTIVITY


@dataclasses.dataclass(frozen=True)
class Box:
    """An object (a moving actor or a parked car): an oriented box standing on z_base_m.
    `colour_bgr` None: the scene's seeded palette picks one from object_id, so every object looks
    different but stays the same from frame to frame."""

    x_m: float
    y_m: float
    z_base_m: float
    yaw_rad: float
    length_m: float
    width_m: float
    height_m: float
    colour_bgr: tuple[int, int, int] | None
    class_id: int
    object_id: int
    reflectivity: float = 0.5

    def corners(self) -> np.ndarray:
        """(8, 3) corners in map: bottom four counter-clockwise from rear right, then the top."""
        return _box_corners(self, (-0.5, 0.5, -0.5, 0.5, 0.0, 1.0))


# ---------------------------------------------------------------------------------------------
# Actor shapes: sub-boxes as fractions of the Box (x, y in [-0.5, 0.5] of length / width, z in
# [0, 1] of height) with a colour role. Bodies stay 2 % inside the sides the wheels sit on, so
# no two faces are coplanar (coplanar faces flicker under a painter's sort).
# ---------------------------------------------------------------------------------------------
_WHEELS = tuple(
    (x0, x1, y0, y1, 0.0, 0.24, "tyre")
    for x0, x1 in ((0.22, 0.38), (-0.38, -0.22))
    for y0, y1 in ((-0.5, -0.36), (0.36, 0.5))
)
_CAR = (
    (-0.5, 0.5, -0.48, 0.48, 0.14, 0.58, "body"),
    (-0.30, 0.16, -0.44, 0.44, 0.58, 0.93, "glass"),
    (-0.28, 0.14, -0.42, 0.42, 0.93, 1.0, "body"),
) + _WHEELS
_VAN = (
    (-0.5, 0.5, -0.48, 0.48, 0.10, 0.55, "body"),
    (-0.5, 0.30, -0.48, 0.48, 0.55, 1.0, "body"),
    (0.30, 0.44, -0.46, 0.46, 0.55, 0.92, "glass"),
) + _WHEELS
_TRUCK = (
    (0.30, 0.5, -0.48, 0.48, 0.10, 0.55, "body"),
    (0.30, 0.5, -0.46, 0.46, 0.55, 0.78, "glass"),
    (-0.5, 0.27, -0.48, 0.48, 0.14, 1.0, "cargo"),
) + _WHEELS
_PEDESTRIAN = (
    (-0.16, 0.16, -0.34, -0.04, 0.0, 0.48, "legs"),
    (-0.16, 0.16, 0.04, 0.34, 0.0, 0.48, "legs"),
    (-0.22, 0.22, -0.42, 0.42, 0.48, 0.83, "shirt"),
    (-0.14, 0.14, -0.15, 0.15, 0.86, 1.0, "skin"),
)
_CYCLIST = (
    (0.20, 0.48, -0.05, 0.05, 0.0, 0.38, "tyre"),
    (-0.48, -0.20, -0.05, 0.05, 0.0, 0.38, "tyre"),
    (-0.25, 0.30, -0.04, 0.04, 0.28, 0.45, "frame"),
    (-0.10, 0.12, -0.25, 0.25, 0.32, 0.55, "legs"),
    (-0.15, 0.12, -0.38, 0.38, 0.55, 0.85, "shirt"),
    (-0.04, 0.06, -0.12, 0.12, 0.87, 1.0, "skin"),
)
_PLAIN = ((-0.5, 0.5, -0.5, 0.5, 0.0, 1.0, "body"),)
TRUCK_MIN_LENGTH_M = 7.0  # longer VAN_TRUCK actors are drawn as cab + cargo box, shorter as vans

PART_REFLECTIVITY = {
    "glass": 0.08,
    "tyre": 0.05,
    "skin": 0.30,
    "legs": 0.25,
    "shirt": 0.35,
    "frame": 0.50,
    "cargo": 0.60,
}  # "body" uses the Box's reflectivity


_PART_TABLES = {
    template: (np.array([part[:6] for part in template], float), [part[6] for part in template])
    for template in (_CAR, _VAN, _TRUCK, _PEDESTRIAN, _CYCLIST, _PLAIN)
}


def actor_parts(box: Box) -> tuple[tuple, ...]:
    """The sub-boxes (x0, x1, y0, y1, z0, z1 fractions, role) an actor is drawn and scanned as."""
    if box.class_id == ObjectClass.CAR:
        return _CAR
    if box.class_id == ObjectClass.VAN_TRUCK:
        return _TRUCK if box.length_m >= TRUCK_MIN_LENGTH_M else _VAN
    if box.class_id == ObjectClass.PEDESTRIAN:
        return _PEDESTRIAN
    if box.class_id == ObjectClass.CYCLIST:
        return _CYCLIST
    return _PLAIN


def _box_corners(box: Box, part: Sequence[float]) -> np.ndarray:
    x0, x1, y0, y1, z0, z1 = part[:6]
    local = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]) * (box.length_m, box.width_m)
    c, s = math.cos(box.yaw_rad), math.sin(box.yaw_rad)
    xy = local @ np.array([[c, s], [-s, c]]) + (box.x_m, box.y_m)
    lo, hi = box.z_base_m + z0 * box.height_m, box.z_base_m + z1 * box.height_m
    return np.vstack([np.column_stack([xy, np.full(4, lo)]), np.column_stack([xy, np.full(4, hi)])])


# Colour palettes (BGR) the per-object colours are drawn from, with a small jitter each.
_PAINT = np.array(
    [
        (235, 235, 235),
        (30, 30, 32),
        (180, 182, 185),
        (120, 122, 125),
        (40, 40, 180),
        (150, 80, 20),
        (60, 90, 40),
        (40, 140, 210),
        (90, 40, 40),
        (200, 200, 190),
        (60, 60, 110),
        (30, 180, 230),
    ],
    float,
)
_CARGO = np.array([(240, 240, 240), (215, 220, 225), (60, 120, 200), (170, 110, 40)], float)
_TROUSERS = np.array(
    [(110, 70, 40), (35, 35, 35), (110, 150, 170), (90, 90, 95), (60, 45, 30)], float
)
_SKIN = np.array(
    [(180, 200, 240), (140, 170, 215), (100, 135, 190), (60, 90, 140), (45, 65, 100)], float
)
_STATIC = np.array([(0, 120, 240), (30, 200, 240), (90, 130, 160), (200, 200, 200)], float)
_GLASS_BGR = np.array((75, 60, 50), float)
_TYRE_BGR = np.array((28, 28, 30), float)
COLOUR_JITTER = 18.0  # ± per channel: no two cars of one paint look identical


def object_colours(box: Box, palette_seed: int) -> dict[str, np.ndarray]:
    """Role → BGR for one actor, the same every frame for one (palette_seed, object_id)."""
    rng = np.random.default_rng([palette_seed, abs(int(box.object_id)), int(box.class_id)])

    def pick(palette: np.ndarray) -> np.ndarray:
        base = palette[rng.integers(len(palette))]
        return np.clip(base + rng.uniform(-COLOUR_JITTER, COLOUR_JITTER, 3), 0, 255)

    if box.class_id in (ObjectClass.STATIC, ObjectClass.UNKNOWN):
        body = pick(_STATIC)
    else:
        body = pick(_PAINT)
    shirt = rng.uniform(20, 235, 3)
    if box.colour_bgr is not None:
        body = shirt = np.asarray(box.colour_bgr, float)
    return {
        "body": body,
        "glass": _GLASS_BGR + rng.uniform(-10, 10, 3),
        "tyre": _TYRE_BGR,
        "cargo": pick(_CARGO),
        "shirt": shirt,
        "legs": pick(_TROUSERS),
        "skin": pick(_SKIN),
        "frame": rng.uniform(30, 230, 3),
    }


# ---------------------------------------------------------------------------------------------
# Small array helpers
# ---------------------------------------------------------------------------------------------
def concat_ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenation of arange(s, s + c) for each (s, c), without a Python loop."""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(np.asarray(starts, dtype=np.int64), counts) + np.arange(total) - offsets


def _ccw(polygon: np.ndarray) -> np.ndarray:
    polygon = np.asarray(polygon, dtype=float)
    if len(polygon) > 1 and np.allclose(polygon[0], polygon[-1]):
        polygon = polygon[:-1]
    x, y = polygon[:, 0], polygon[:, 1]
    signed_area = 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))
    return polygon if signed_area >= 0.0 else polygon[::-1]


def shade(colour_bgr, normals: np.ndarray, sun: np.ndarray, two_sided: bool) -> np.ndarray:
    """Sun-lit colours (F, 3) of faces with (F, 3) normals; colour_bgr is one BGR or (F, 3)."""
    lambert = normals @ sun
    lambert = np.abs(lambert) if two_sided else np.maximum(lambert, 0.0)
    return (
        np.asarray(colour_bgr, float).reshape(-1, 3)
        * (AMBIENT_LIGHT + DIFFUSE_LIGHT * lambert)[:, None]
    )


class GridIndex:
    """Items by axis-aligned bounding box in a uniform grid; a query returns the items whose
    cells overlap a query box (a superset of the true hits, sorted, without repeats)."""

    def __init__(self, bboxes: np.ndarray, cell_m: float = GRID_CELL_M):
        self.cell_m = cell_m
        bboxes = np.asarray(bboxes, dtype=float).reshape(-1, 4)
        lo = np.floor(bboxes[:, :2] / cell_m).astype(np.int64)
        hi = np.floor(bboxes[:, 2:] / cell_m).astype(np.int64)
        nx, ny = hi[:, 0] - lo[:, 0] + 1, hi[:, 1] - lo[:, 1] + 1
        item = np.repeat(np.arange(len(bboxes)), nx * ny)
        k = concat_ranges(np.zeros(len(bboxes)), nx * ny)
        cx = lo[item, 0] + k % np.repeat(nx, nx * ny)
        cy = lo[item, 1] + k // np.repeat(nx, nx * ny)
        keys = self._key(cx, cy)
        order = np.lexsort((item, keys))
        self._items = item[order]
        self._keys, self._starts, self._counts = np.unique(
            keys[order], return_index=True, return_counts=True
        )
        self._cache: tuple | None = None

    @staticmethod
    def _key(cx, cy):
        return (np.asarray(cx, np.int64) << 32) + np.asarray(cy, np.int64)

    def query(self, x_min: float, y_min: float, x_max: float, y_max: float) -> np.ndarray:
        cells = (
            math.floor(x_min / self.cell_m),
            math.floor(y_min / self.cell_m),
            math.floor(x_max / self.cell_m),
            math.floor(y_max / self.cell_m),
        )
        if self._cache is not None and self._cache[0] == cells:
            return self._cache[1]
        if len(self._keys) == 0:
            return np.zeros(0, np.int64)
        cx, cy = np.meshgrid(np.arange(cells[0], cells[2] + 1), np.arange(cells[1], cells[3] + 1))
        keys = self._key(cx.ravel(), cy.ravel())
        at = np.searchsorted(self._keys, keys)
        at = at[(at < len(self._keys)) & (self._keys[np.minimum(at, len(self._keys) - 1)] == keys)]
        found = np.unique(self._items[concat_ranges(self._starts[at], self._counts[at])])
        self._cache = (cells, found)
        return found


# ---------------------------------------------------------------------------------------------
# What the sensors consume: segments (LiDAR) and polygons (camera)
# ---------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class SegmentSet:
    """Vertical faces as 2D segments a→b from z_lo to z_hi. `solid` ≥ 0 names the closed solid
    (counter-clockwise footprint, with a top and bottom cap) a face belongs to; -1: an open wall.
    `owner` is the per-point ground-truth id (an object's object_id, or STATIC_ID)."""

    ax: np.ndarray
    ay: np.ndarray
    bx: np.ndarray
    by: np.ndarray
    z_lo: np.ndarray
    z_hi: np.ndarray
    reflectivity: np.ndarray
    solid: np.ndarray
    owner: np.ndarray

    def __len__(self) -> int:
        return len(self.ax)

    def take(self, index: np.ndarray) -> SegmentSet:
        return SegmentSet(*(getattr(self, f.name)[index] for f in dataclasses.fields(self)))

    @staticmethod
    def concat(sets: Sequence[SegmentSet]) -> SegmentSet:
        return SegmentSet(
            *(
                np.concatenate([getattr(s, f.name) for s in sets])
                for f in dataclasses.fields(SegmentSet)
            )
        )

    @staticmethod
    def from_rings(rings: Sequence[tuple]) -> SegmentSet:
        """rings: (points (N, 2), closed, z_lo, z_hi, reflectivity, solid, owner) per polyline."""
        columns = [[] for _ in dataclasses.fields(SegmentSet)]
        for points, closed, z_lo, z_hi, reflectivity, solid, owner in rings:
            a = points if closed else points[:-1]
            b = np.roll(points, -1, axis=0) if closed else points[1:]
            n = len(a)
            for column, values in zip(
                columns,
                (
                    a[:, 0],
                    a[:, 1],
                    b[:, 0],
                    b[:, 1],
                    [z_lo] * n,
                    [z_hi] * n,
                    [reflectivity] * n,
                    [solid] * n,
                    [owner] * n,
                ),
            ):
                column.append(np.asarray(values))
        dtypes = (float,) * 7 + (np.int64, np.int64)
        return SegmentSet(
            *(np.concatenate(c).astype(t) if c else np.zeros(0, t) for c, t in zip(columns, dtypes))
        )


@dataclasses.dataclass(frozen=True)
class FaceSet:
    """Planar polygons in map for the camera: vertices of face i are
    vertices[starts[i]:starts[i + 1]]. `colour` is already sun-shaded BGR; `owner` is 1 + the
    object's index in Scene.objects, 0 for structure; `layer` orders the flat ground layers."""

    vertices: np.ndarray  # (V, 3)
    starts: np.ndarray  # (F + 1,)
    normal: np.ndarray  # (F, 3)
    colour: np.ndarray  # (F, 3)
    layer: np.ndarray  # (F,)
    owner: np.ndarray  # (F,)
    two_sided: np.ndarray  # (F,)

    def __len__(self) -> int:
        return len(self.starts) - 1

    def take(self, index: np.ndarray) -> FaceSet:
        index = np.asarray(index, dtype=np.int64)
        counts = self.starts[index + 1] - self.starts[index]
        vertices = self.vertices[concat_ranges(self.starts[index], counts)]
        starts = np.concatenate([[0], np.cumsum(counts)])
        return FaceSet(
            vertices,
            starts,
            self.normal[index],
            self.colour[index],
            self.layer[index],
            self.owner[index],
            self.two_sided[index],
        )

    @staticmethod
    def concat(sets: Sequence[FaceSet]) -> FaceSet:
        offsets = np.cumsum([0] + [len(s.vertices) for s in sets])
        starts = np.concatenate([[0]] + [s.starts[1:] + o for s, o in zip(sets, offsets)])
        return FaceSet(
            np.concatenate([s.vertices for s in sets]),
            starts,
            *(
                np.concatenate([getattr(s, name) for s in sets])
                for name in ("normal", "colour", "layer", "owner", "two_sided")
            ),
        )

    @staticmethod
    def from_polygons(
        polygons: Sequence[np.ndarray],
        normals: np.ndarray,
        colours: np.ndarray,
        layer: int,
        owner: np.ndarray | int,
        two_sided: bool,
    ) -> FaceSet:
        count = len(polygons)
        if count == 0:
            return FaceSet(
                np.zeros((0, 3)),
                np.zeros(1, np.int64),
                np.zeros((0, 3)),
                np.zeros((0, 3)),
                np.zeros(0, np.int8),
                np.zeros(0, np.int64),
                np.zeros(0, bool),
            )
        sizes = [len(p) for p in polygons]
        return FaceSet(
            np.concatenate(polygons).astype(float),
            np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
            np.asarray(normals, float).reshape(count, 3),
            np.asarray(colours, float).reshape(count, 3),
            np.full(count, layer, np.int8),
            np.broadcast_to(np.asarray(owner, np.int64), (count,)).copy(),
            np.full(count, two_sided, bool),
        )

    def bboxes(self) -> np.ndarray:
        """(F, 4) x_min, y_min, x_max, y_max."""
        head = self.starts[:-1]
        xy = self.vertices[:, :2]
        return np.column_stack([np.minimum.reduceat(xy, head), np.maximum.reduceat(xy, head)])


def sun_direction() -> np.ndarray:
    """Unit vector towards the sun in map."""
    ce = math.cos(SUN_ELEVATION_RAD)
    return np.array(
        [
            ce * math.cos(SUN_AZIMUTH_RAD),
            ce * math.sin(SUN_AZIMUTH_RAD),
            math.sin(SUN_ELEVATION_RAD),
        ]
    )


def _wall_panels(points: np.ndarray, closed: bool, z_lo: float, z_hi: float):
    """Quads (each (4, 3)) and outward normals of the vertical faces along a polyline, split
    into panels of at most MAX_PANEL_LENGTH_M."""
    a = points if closed else points[:-1]
    b = np.roll(points, -1, axis=0) if closed else points[1:]
    quads, normals = [], []
    for p, q in zip(a, b):
        length = float(np.hypot(*(q - p)))
        if length < 1e-9:
            continue
        pieces = max(1, math.ceil(length / MAX_PANEL_LENGTH_M))
        cuts = p + np.linspace(0.0, 1.0, pieces + 1)[:, None] * (q - p)
        normal = np.array([(q - p)[1], -(q - p)[0], 0.0]) / length  # right of a→b: outward for CCW
        for u, v in zip(cuts[:-1], cuts[1:]):
            quads.append(np.array([[*u, z_lo], [*v, z_lo], [*v, z_hi], [*u, z_hi]]))
            normals.append(normal)
    return quads, normals


def _marking_quads(marking: LaneMarking) -> list[np.ndarray]:
    points = np.asarray(marking.polyline, float)
    quads = []
    for p, q in zip(points[:-1], points[1:]):
        d = q - p
        length = float(np.hypot(*d))
        if length < 1e-9:
            continue
        side = np.array([-d[1], d[0]]) / length * (marking.width_m / 2.0)
        quad = np.array([p - side, q - side, q + side, p + side])
        quads.append(np.column_stack([quad, np.zeros(4)]))
    return quads


def _as_ground(item, colour_bgr, reflectivity) -> GroundPolygon:
    """Accept a bare (N, 2) array for a ground polygon, with the layer's default look."""
    if isinstance(item, GroundPolygon):
        return item
    return GroundPolygon(np.asarray(item, float), colour_bgr, reflectivity)


class Scene:
    """The world for the sensor models. Static geometry and static boxes (objects that never
    move, e.g. parked cars) are given once; `set_boxes` each frame with the moving actors only.
    `objects` is the static boxes followed by this frame's boxes: a face's owner indexes it."""

    def __init__(
        self,
        prisms: Sequence[Prism] = (),
        walls: Sequence[Wall] = (),
        roads: Sequence[GroundPolygon | np.ndarray] = (),
        sidewalks: Sequence[GroundPolygon | np.ndarray] = (),
        crosswalks: Sequence[GroundPolygon | np.ndarray] = (),
        markings: Sequence[LaneMarking] = (),
        palette_seed: int = 0,
        static_boxes: Sequence[Box] = (),
    ):
        self.prisms = tuple(prisms)
        self.walls = tuple(walls)
        self.sidewalks = tuple(
            _as_ground(s, SIDEWALK_COLOUR_BGR, SIDEWALK_REFLECTIVITY) for s in sidewalks
        )
        self.roads = tuple(_as_ground(r, ROAD_COLOUR_BGR, ROAD_REFLECTIVITY) for r in roads)
        self.crosswalks = tuple(
            _as_ground(c, CROSSWALK_COLOUR_BGR, MARKING_REFLECTIVITY) for c in crosswalks
        )
        self.markings = tuple(markings)
        self.palette_seed = palette_seed
        self.sun = sun_direction()
        footprints = [_ccw(p.footprint) for p in self.prisms]
        rings = [
            (f, True, p.z_min_m, p.z_max_m, p.reflectivity, i, STATIC_ID)
            for i, (f, p) in enumerate(zip(footprints, self.prisms))
        ]
        rings += [
            (
                np.asarray(w.polyline, float),
                False,
                w.z_min_m,
                w.z_max_m,
                w.reflectivity,
                -1,
                STATIC_ID,
            )
            for w in self.walls
        ]
        self._colour_cache: dict[tuple, dict[str, np.ndarray]] = {}
        self._subsets: dict[str, tuple] = {}
        self.static_boxes = tuple(static_boxes)
        box_segments, box_faces = self._box_geometry(self.static_boxes, len(self.prisms), 0)
        self._dynamic_solid_base = len(self.prisms) + len(box_segments) // 4  # four sides a part
        self.static_segments = SegmentSet.concat([SegmentSet.from_rings(rings), box_segments])
        s = self.static_segments
        self._segment_index = GridIndex(
            np.column_stack(
                [
                    np.minimum(s.ax, s.bx),
                    np.minimum(s.ay, s.by),
                    np.maximum(s.ax, s.bx),
                    np.maximum(s.ay, s.by),
                ]
            )
        )
        self.static_faces = FaceSet.concat([self._static_faces(footprints), box_faces])
        self._face_index = GridIndex(self.static_faces.bboxes())
        self._build_ground_raster()
        self.set_boxes(())

    # -- static preprocessing ---------------------------------------------------------------
    def _static_faces(self, footprints: list[np.ndarray]) -> FaceSet:
        up = np.array([0.0, 0.0, 1.0])
        parts = []
        for layer, items in (
            (LAYER_SIDEWALK, self.sidewalks),
            (LAYER_ROAD, self.roads),
            (LAYER_CROSSWALK, self.crosswalks),
        ):
            outlines = [_ccw(g.polygon) for g in items]
            polygons = [np.column_stack([o, np.zeros(len(o))]) for o in outlines]
            colours = [shade(g.colour_bgr, up[None], self.sun, False)[0] for g in items]
            parts.append(
                FaceSet.from_polygons(
                    polygons, np.tile(up, (len(items), 1)), colours, layer, 0, False
                )
            )
        for marking in self.markings:
            quads = _marking_quads(marking)
            colour = shade(marking.colour_bgr, up[None], self.sun, False)
            parts.append(
                FaceSet.from_polygons(
                    quads,
                    np.tile(up, (len(quads), 1)),
                    np.repeat(colour, len(quads), 0),
                    LAYER_MARKING,
                    0,
                    False,
                )
            )
        for footprint, prism in zip(footprints, self.prisms):
            quads, normals = _wall_panels(footprint, True, prism.z_min_m, prism.z_max_m)
            caps = [np.column_stack([footprint, np.full(len(footprint), prism.z_max_m)])]
            cap_normals = [up]
            if prism.z_min_m > 0.0:
                caps.append(
                    np.column_stack([footprint[::-1], np.full(len(footprint), prism.z_min_m)])
                )
                cap_normals.append(-up)
            normals = np.array(normals + cap_normals)
            parts.append(
                FaceSet.from_polygons(
                    quads + caps,
                    normals,
                    shade(prism.colour_bgr, normals, self.sun, False),
                    LAYER_SOLID,
                    0,
                    False,
                )
            )
        for wall in self.walls:
            quads, normals = _wall_panels(
                np.asarray(wall.polyline, float), False, wall.z_min_m, wall.z_max_m
            )
            normals = np.array(normals).reshape(-1, 3)
            parts.append(
                FaceSet.from_polygons(
                    quads,
                    normals,
                    shade(wall.colour_bgr, normals, self.sun, True),
                    LAYER_SOLID,
                    0,
                    True,
                )
            )
        parts.append(FaceSet.from_polygons([], [], [], LAYER_SOLID, 0, False))
        return FaceSet.concat(parts)

    def _build_ground_raster(self) -> None:
        """LiDAR reflectivity of the ground as an image over the scene's extent (uint8, 0…255)."""
        outlines = [g.polygon for g in self.sidewalks + self.roads + self.crosswalks] + [
            q[:, :2] for m in self.markings for q in _marking_quads(m)
        ]
        if not outlines:
            self._raster = None
            return
        points = np.concatenate(outlines)
        lo, hi = points.min(axis=0) - 1.0, points.max(axis=0) + 1.0
        res = max(GROUND_RASTER_RES_M, math.sqrt(float(np.prod(hi - lo)) / MAX_GROUND_RASTER_CELLS))
        shape = np.ceil((hi - lo) / res).astype(int)
        raster = np.full((shape[1], shape[0]), round(GROUND_REFLECTIVITY * 255), np.uint8)

        def fill(polygons, reflectivity):
            pixels = [
                np.round((np.asarray(p)[:, :2] - lo) / res * 16).astype(np.int32) for p in polygons
            ]
            cv2.fillPoly(raster, pixels, int(round(reflectivity * 255)), cv2.LINE_8, 4)

        for item in self.sidewalks + self.roads + self.crosswalks:
            fill([item.polygon], item.reflectivity)
        for marking in self.markings:
            fill([q[:, :2] for q in _marking_quads(marking)], marking.reflectivity)
        self._raster, self._raster_origin, self._raster_res = raster, lo, res

    # -- per frame --------------------------------------------------------------------------
    def set_boxes(self, boxes: Sequence[Box]) -> None:
        """The moving actors of this frame; their parts become segments and faces for both
        sensors. Static boxes stay as they were built."""
        self.boxes = tuple(boxes)
        self.objects = self.static_boxes + self.boxes
        self.dynamic_segments, self.dynamic_faces = self._box_geometry(
            self.boxes, self._dynamic_solid_base, len(self.static_boxes)
        )

    def _box_geometry(
        self, boxes: tuple[Box, ...], solid_base: int, owner_base: int
    ) -> tuple[SegmentSet, FaceSet]:
        """Segments and faces of the boxes' parts: part k is solid solid_base + k, and the faces
        of boxes[i] have owner owner_base + 1 + i (their place in `objects`)."""
        tables, roles, owner_index = [], [], []
        for index, box in enumerate(boxes):
            table, part_roles = _PART_TABLES[actor_parts(box)]
            tables.append(table)
            roles += part_roles
            owner_index += [index] * len(part_roles)
        if not tables:
            return SegmentSet.from_rings([]), FaceSet.from_polygons(
                [], [], [], LAYER_SOLID, 0, False
            )
        frac, owner_index = np.concatenate(tables), np.array(owner_index)
        size = np.array([(b.length_m, b.width_m, b.height_m) for b in boxes])[owner_index]
        pose = np.array([(b.x_m, b.y_m, b.z_base_m, b.yaw_rad) for b in boxes])[owner_index]
        local = np.stack(
            [frac[:, [0, 2]], frac[:, [1, 2]], frac[:, [1, 3]], frac[:, [0, 3]]], axis=1
        )
        local = local * size[:, None, :2]
        c, s = np.cos(pose[:, 3])[:, None], np.sin(pose[:, 3])[:, None]
        xy = np.stack(
            [
                local[..., 0] * c - local[..., 1] * s + pose[:, None, 0],
                local[..., 0] * s + local[..., 1] * c + pose[:, None, 1],
            ],
            axis=-1,
        )  # (P, 4, 2)
        z_lo = pose[:, 2] + frac[:, 4] * size[:, 2]
        z_hi = pose[:, 2] + frac[:, 5] * size[:, 2]
        count = len(frac)
        box_reflectivity = np.array([b.reflectivity for b in boxes])[owner_index]
        reflectivity = np.array([PART_REFLECTIVITY.get(r, np.nan) for r in roles])
        reflectivity = np.where(np.isnan(reflectivity), box_reflectivity, reflectivity)
        object_id = np.array([b.object_id for b in boxes], np.int64)[owner_index]
        nxt = xy[:, [1, 2, 3, 0]]
        segments = SegmentSet(
            xy[..., 0].ravel(),
            xy[..., 1].ravel(),
            nxt[..., 0].ravel(),
            nxt[..., 1].ravel(),
            np.repeat(z_lo, 4),
            np.repeat(z_hi, 4),
            np.repeat(reflectivity, 4),
            np.repeat(solid_base + np.arange(count), 4),
            np.repeat(object_id, 4),
        )

        bottom = np.concatenate([xy, np.broadcast_to(z_lo[:, None, None], (count, 4, 1))], axis=-1)
        top = np.concatenate([xy, np.broadcast_to(z_hi[:, None, None], (count, 4, 1))], axis=-1)
        order = [1, 2, 3, 0]
        sides = np.stack(
            [bottom, bottom[:, order], top[:, order], top], axis=2
        )  # (P, 4 sides, 4, 3)
        quads = np.concatenate([sides, top[:, None], bottom[:, None, ::-1]], axis=1)  # (P, 6, 4, 3)
        edge = nxt - xy
        length = np.maximum(np.hypot(edge[..., 0], edge[..., 1]), 1e-12)
        side_normal = np.stack(
            [edge[..., 1] / length, -edge[..., 0] / length, np.zeros((count, 4))], axis=-1
        )
        caps = np.broadcast_to(np.array([[0.0, 0.0, 1.0], [0.0, 0.0, -1.0]]), (count, 2, 3))
        normals = np.concatenate([side_normal, caps], axis=1).reshape(-1, 3)
        colours = np.array([self._colours(boxes[i])[r] for i, r in zip(owner_index, roles)])
        faces = FaceSet(
            quads.reshape(-1, 3),
            np.arange(count * 6 + 1, dtype=np.int64) * 4,
            normals,
            shade(np.repeat(colours, 6, axis=0), normals, self.sun, False),
            np.full(count * 6, LAYER_SOLID, np.int8),
            np.repeat(owner_base + owner_index + 1, 6).astype(np.int64),
            np.zeros(count * 6, bool),
        )
        return segments, faces

    def _colours(self, box: Box) -> dict[str, np.ndarray]:
        key = (box.object_id, box.class_id, box.colour_bgr)
        if key not in self._colour_cache:
            self._colour_cache[key] = object_colours(box, self.palette_seed)
        return self._colour_cache[key]

    # -- queries ----------------------------------------------------------------------------
    def segments_near(self, xy: Sequence[float], radius_m: float) -> SegmentSet:
        """Static segments (static boxes' included) whose grid cells lie within radius_m of xy,
        and every moving actor's."""
        index = self._segment_index.query(
            xy[0] - radius_m, xy[1] - radius_m, xy[0] + radius_m, xy[1] + radius_m
        )
        return SegmentSet.concat(
            [self._static_subset("static_segments", index), self.dynamic_segments]
        )

    def faces_near(self, xy: Sequence[float], radius_m: float) -> FaceSet:
        index = self._face_index.query(
            xy[0] - radius_m, xy[1] - radius_m, xy[0] + radius_m, xy[1] + radius_m
        )
        return FaceSet.concat([self._static_subset("static_faces", index), self.dynamic_faces])

    def _static_subset(self, name: str, index: np.ndarray):
        """getattr(self, name).take(index), reused while the grid returns the same cells (then
        it returns the very same index array)."""
        cached = self._subsets.get(name)
        if cached is None or cached[0] is not index:
            cached = self._subsets[name] = (index, getattr(self, name).take(index))
        return cached[1]

    def ground_reflectivity(self, xy: np.ndarray) -> np.ndarray:
        """Reflectivity (0…1) of the ground under (N, 2) map points."""
        xy = np.asarray(xy, float).reshape(-1, 2)
        if self._raster is None:
            return np.full(len(xy), GROUND_REFLECTIVITY)
        cells = np.rint((xy - self._raster_origin) / self._raster_res).astype(
            np.int64
        )  # centres on integers
        h, w = self._raster.shape
        inside = (cells[:, 0] >= 0) & (cells[:, 0] < w) & (cells[:, 1] >= 0) & (cells[:, 1] < h)
        out = np.full(len(xy), GROUND_REFLECTIVITY)
        out[inside] = self._raster[cells[inside, 1], cells[inside, 0]] / 255.0
        return out


# ---------------------------------------------------------------------------------------------
# A synthetic district for benchmarks and tests: a grid of blocks with buildings, sidewalks,
# curbs, two-lane streets with markings and crosswalks, and actors on them.
# ---------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class SyntheticDistrict:
    scene: Scene
    boxes: tuple[Box, ...]
    ego_path: np.ndarray  # (M, 3) x, y, yaw of base_link along a street, right-hand lane


SYNTH_BLOCK_M = (90.0, 70.0)  # block size between street centre lines
SYNTH_ROAD_HALF_M = 6.0  # two 3.5 m lanes plus parking edge: 12 m carriageway
SYNTH_SIDEWALK_M = 3.5
SYNTH_CURB_SEGMENT_M = 15.0  # curb polylines are sampled like a surveyed map's
SYNTH_EGO_X_M = (10.0, 110.0)  # the ego path; actors in its lane keep to beyond it
SYNTH_LANE_OFFSETS_M = (
    -1.75,
    1.75,
    -4.5,
    4.5,
)  # lane centres and parking strips from the centre line
_FACADES = np.array(
    [
        (170, 200, 220),
        (60, 80, 150),
        (160, 160, 160),
        (220, 225, 225),
        (100, 100, 105),
        (140, 180, 200),
        (200, 180, 160),
        (90, 120, 170),
    ],
    float,
)
_SYNTH_ACTORS = (
    ((ObjectClass.CAR, (4.5, 1.8, 1.5)),) * 10
    + (
        (ObjectClass.VAN_TRUCK, (5.9, 2.0, 2.6)),
        (ObjectClass.VAN_TRUCK, (9.0, 2.5, 3.5)),
        (ObjectClass.VAN_TRUCK, (5.9, 2.0, 2.6)),
    )
    + ((ObjectClass.PEDESTRIAN, (0.6, 0.6, 1.75)),) * 5
    + ((ObjectClass.CYCLIST, (1.8, 0.6, 1.75)),) * 2
)


def _rect(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])


def synthetic_district(
    seed: int = 0, blocks: tuple[int, int] = (5, 5), n_boxes: int = 20
) -> SyntheticDistrict:
    """A grid of blocks: 4 buildings each (100 for 5 × 5), sidewalks ringed by curbs (~500
    segments), streets with dashed centre lines and crosswalks, and n_boxes actors on the
    street y = SYNTH_BLOCK_M[1] that the ego path follows."""
    rng = np.random.default_rng(seed)
    (bx, by), road, walk = SYNTH_BLOCK_M, SYNTH_ROAD_HALF_M, SYNTH_SIDEWALK_M
    prisms, walls, sidewalks, roads, crosswalks, markings = [], [], [], [], [], []
    for i in range(blocks[0]):
        for j in range(blocks[1]):
            x0, y0, x1, y1 = i * bx + road, j * by + road, (i + 1) * bx - road, (j + 1) * by - road
            sidewalks.append(_rect(x0, y0, x1, y1))
            walls.append(
                Wall(
                    _resample(np.vstack([_rect(x0, y0, x1, y1), [[x0, y0]]]), SYNTH_CURB_SEGMENT_M)
                )
            )
            xs = (x0 + walk, (x0 + x1) / 2 + rng.uniform(-8, 8), x1 - walk)
            ys = (y0 + walk, (y0 + y1) / 2 + rng.uniform(-6, 6), y1 - walk)
            for a in range(2):
                for b in range(2):
                    gap = 0.5  # between neighbouring buildings
                    facade = _FACADES[rng.integers(len(_FACADES))] + rng.uniform(
                        -COLOUR_JITTER, COLOUR_JITTER, 3
                    )
                    prisms.append(
                        Prism(
                            _rect(xs[a] + gap, ys[b] + gap, xs[a + 1] - gap, ys[b + 1] - gap),
                            0.0,
                            float(rng.uniform(6.0, 30.0)),
                            tuple(int(c) for c in np.clip(facade, 0, 255)),
                        )
                    )
    width, height = blocks[0] * bx, blocks[1] * by
    for i in range(blocks[0] + 1):
        roads.append(_rect(i * bx - road, -road, i * bx + road, height + road))
        markings += _dashes(np.array([i * bx, 0.0]), np.array([i * bx, height]))
    for j in range(blocks[1] + 1):
        roads.append(_rect(-road, j * by - road, width + road, j * by + road))
        markings += _dashes(np.array([0.0, j * by]), np.array([width, j * by]))
        for i in range(blocks[0] + 1):  # zebra stripes just east of every crossing
            x = i * bx + road + 1.8
            crosswalks += [
                _rect(x, j * by + k - 0.25, x + 3.0, j * by + k + 0.25) for k in range(-5, 6)
            ]
    xs = np.linspace(*SYNTH_EGO_X_M, 200)
    ego_path = np.column_stack(
        [xs, np.full_like(xs, by - 1.75), np.zeros_like(xs)]
    )  # eastbound lane
    boxes = []
    for k in range(n_boxes):
        kind, (length, w, h) = _SYNTH_ACTORS[k % len(_SYNTH_ACTORS)]
        x = float(rng.uniform(15.0, 180.0))
        if kind == ObjectClass.PEDESTRIAN:
            offset = float(rng.choice([-1, 1]) * (road + rng.uniform(0.5, walk - 0.5)))
        else:
            offset = float(rng.choice(SYNTH_LANE_OFFSETS_M))
            if offset == SYNTH_LANE_OFFSETS_M[0]:  # the ego's lane: ahead of its path
                x = float(rng.uniform(SYNTH_EGO_X_M[1] + 15.0, 200.0))
        yaw = float((0.0 if offset < 0 else math.pi) + rng.normal(0.0, 0.05))
        boxes.append(Box(x, by + offset, 0.0, yaw, length, w, h, None, int(kind), k))
    return SyntheticDistrict(
        Scene(prisms, walls, roads, sidewalks, crosswalks, markings, palette_seed=seed),
        tuple(boxes),
        ego_path,
    )


def _resample(polyline: np.ndarray, step_m: float) -> np.ndarray:
    points = [polyline[0]]
    for p, q in zip(polyline[:-1], polyline[1:]):
        pieces = max(1, math.ceil(float(np.hypot(*(q - p))) / step_m))
        points += list(p + np.linspace(0.0, 1.0, pieces + 1)[1:, None] * (q - p))
    return np.array(points)


def _dashes(
    start: np.ndarray, end: np.ndarray, dash_m: float = 3.0, gap_m: float = 6.0
) -> list[LaneMarking]:
    length = float(np.hypot(*(end - start)))
    direction = (end - start) / length
    return [
        LaneMarking(np.array([start + direction * s, start + direction * min(s + dash_m, length)]))
        for s in np.arange(0.0, length, dash_m + gap_m)
    ]
