"""The district map drawn for a viewer (RViz, Foxglove): lane bounds and centrelines, kerbs,
stop lines, crosswalks, delivery bays and building outlines, as line and triangle lists in `map`.

One layer per kind of feature, each one marker (`interfaces.encode_map_markers`). Polylines are
thinned first (Ramer–Douglas–Peucker within SIMPLIFY_TOLERANCE_M, far below a drawn line's
width) and a lane bound two lanes share is drawn once, so the shipped district is about 140 kB,
sent once, latched. No ROS here.
"""

from __future__ import annotations

import numpy as np

from robovan_autonomy.core_types import LINE_LIST, TRIANGLE_LIST, MapLayer
from robovan_autonomy.mapping.lanelet_map import MARKING_WIDTH_M, DistrictMap

SIMPLIFY_TOLERANCE_M = 0.05  # a vertex nearer its neighbours' chord than this adds nothing drawn
DEDUPLICATE_GRID_M = 0.01  # segment ends this close are one point when deduplicating
# Heights above the road, so lines are not hidden in the LiDAR's ground returns.
LINE_Z_M = 0.03
FILL_Z_M = 0.02


def simplify_polyline(points: np.ndarray, tolerance_m: float = SIMPLIFY_TOLERANCE_M) -> np.ndarray:
    """The vertices of an (N, 2) polyline that Ramer–Douglas–Peucker keeps: every dropped vertex
    lies within tolerance_m of the kept polyline; the ends are always kept."""
    points = np.asarray(points, dtype=float)
    if len(points) < 3:
        return points
    keep = np.zeros(len(points), dtype=bool)
    keep[[0, -1]] = True
    spans = [(0, len(points) - 1)]
    while spans:
        first, last = spans.pop()
        if last - first < 2:
            continue
        chord = points[last] - points[first]
        offset = points[first + 1 : last] - points[first]
        along = np.clip(offset @ chord / max(float(chord @ chord), 1e-12), 0.0, 1.0)
        distance = np.linalg.norm(offset - along[:, None] * chord, axis=1)  # to the kept segment
        k = int(np.argmax(distance))
        if distance[k] > tolerance_m:
            keep[first + 1 + k] = True
            spans += [(first, first + 1 + k), (first + 1 + k, last)]
    return points[keep]


def segments(polyline: np.ndarray, z_m: float = LINE_Z_M) -> np.ndarray:
    """(2(N-1), 3): each segment of an (N, 2) polyline as a pair of points at height z_m."""
    xy = np.repeat(polyline, 2, axis=0)[1:-1]
    return np.column_stack([xy, np.full(len(xy), z_m)])


def unique_segments(pairs: np.ndarray) -> np.ndarray:
    """Segment pairs (2M, 3) with a segment drawn more than once (either way round) kept once,
    in first-seen order."""
    ends = np.round(pairs / DEDUPLICATE_GRID_M).astype(np.int64).reshape(-1, 6)
    seen, kept = set(), []
    for k, row in enumerate(ends.tolist()):
        a, b = tuple(row[:3]), tuple(row[3:])
        key = (a, b) if a <= b else (b, a)
        if key not in seen:
            seen.add(key)
            kept.append(k)
    return pairs.reshape(-1, 2, 3)[kept].reshape(-1, 3)


def triangulate(polygon: np.ndarray) -> np.ndarray:
    """(K, 3) vertex indices of triangles covering a simple (N, 2) polygon (ear clipping; either
    winding, convex or not)."""
    polygon = np.asarray(polygon, dtype=float)
    remaining = list(range(len(polygon)))
    x, y = polygon[:, 0], polygon[:, 1]
    winding = np.sign(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y)) or 1.0
    triangles = []
    while len(remaining) > 3:
        for k in range(len(remaining)):
            a, b, c = remaining[k - 1], remaining[k], remaining[(k + 1) % len(remaining)]
            if _is_ear(polygon, a, b, c, remaining, winding):
                triangles.append((a, b, c))
                del remaining[k]
                break
        else:  # degenerate (collinear or self-touching) rest: fan it
            triangles += [(remaining[0], p, q) for p, q in zip(remaining[1:], remaining[2:])]
            remaining = []
    if len(remaining) == 3:
        triangles.append(tuple(remaining))
    return np.array(triangles, dtype=int).reshape(-1, 3)


def _cross(o: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    return float((a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]))


def _is_ear(polygon, a: int, b: int, c: int, remaining: list[int], winding: float) -> bool:
    pa, pb, pc = polygon[a], polygon[b], polygon[c]
    if _cross(pa, pb, pc) * winding <= 0.0:  # reflex or flat corner
        return False
    for other in remaining:
        if other in (a, b, c):
            continue
        p = polygon[other]
        sides = (_cross(pa, pb, p), _cross(pb, pc, p), _cross(pc, pa, p))
        if all(s * winding >= 0.0 for s in sides):
            return False
    return True


def _fill(polygons) -> np.ndarray:
    corners = [polygon[triangulate(polygon).ravel()] for polygon in polygons]
    triangles = [np.column_stack([xy, np.full(len(xy), FILL_Z_M)]) for xy in corners if len(xy)]
    return np.vstack(triangles) if triangles else np.zeros((0, 3))


def _lines(polylines) -> np.ndarray:
    pairs = [segments(simplify_polyline(p)) for p in polylines if len(p) >= 2]
    return np.vstack(pairs) if pairs else np.zeros((0, 3))


def _closed(polygon: np.ndarray) -> np.ndarray:
    return np.vstack([polygon, polygon[:1]])


def _building_edges(district: DistrictMap) -> np.ndarray:
    """Each building as a wireframe: its roof outline and its vertical corners."""
    edges = []
    for building in district.buildings:
        roof = segments(simplify_polyline(_closed(building.polygon)), building.height_m)
        corners = np.repeat(building.polygon, 2, axis=0)
        heights = np.tile([0.0, building.height_m], len(building.polygon))
        edges += [roof, np.column_stack([corners, heights])]
    return np.vstack(edges) if edges else np.zeros((0, 3))


def map_layers(district: DistrictMap) -> list[MapLayer]:
    """The layers a viewer draws the district with, in drawing order (fills under lines)."""
    lanes = list(district.lanes.values())
    kerbs = [segments(simplify_polyline(curb.outline()), curb.height_m) for curb in district.curbs]
    return [
        MapLayer(
            "crosswalks",
            TRIANGLE_LIST,
            _fill([c.polygon for c in district.crosswalks.values()]),
            (1.0, 1.0, 1.0, 0.35),
        ),
        MapLayer(
            "delivery_bays",
            TRIANGLE_LIST,
            _fill([b.polygon for b in district.bays.values()]),
            (0.2, 0.8, 0.3, 0.45),
        ),
        MapLayer(
            "lane_bounds",
            LINE_LIST,
            unique_segments(
                _lines([lane.left_bound for lane in lanes] + [lane.right_bound for lane in lanes])
            ),
            (0.85, 0.85, 0.85, 0.9),
            0.12,
        ),
        MapLayer(
            "centerlines",
            LINE_LIST,
            _lines([lane.centerline for lane in lanes]),
            (0.3, 0.6, 1.0, 0.6),
            0.05,
        ),
        MapLayer(
            "kerbs",
            LINE_LIST,
            np.vstack(kerbs) if kerbs else np.zeros((0, 3)),
            (0.95, 0.6, 0.2, 1.0),
            0.15,
        ),
        MapLayer(
            "stop_lines",
            LINE_LIST,
            _lines([s.points for s in district.stop_lines.values()]),
            (1.0, 0.25, 0.2, 0.9),
            MARKING_WIDTH_M["stop_line"],
        ),
        MapLayer("buildings", LINE_LIST, _building_edges(district), (0.6, 0.6, 0.7, 0.6), 0.1),
    ]
