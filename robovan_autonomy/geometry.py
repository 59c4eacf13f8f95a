"""Plane geometry the subsystems share: angles, polylines, polygons and oriented boxes, vectorised
where whole runs or scans go through at once."""

from __future__ import annotations

import math

import numpy as np


def wrap_angle(angle_rad):
    """Into [-π, π), for floats and arrays alike; plain float arithmetic for scalars (the
    tracker's per-track hot path)."""
    if isinstance(angle_rad, (float, int)):
        return (angle_rad + math.pi) % (2.0 * math.pi) - math.pi
    return (np.asarray(angle_rad) + math.pi) % (2.0 * math.pi) - math.pi


def arc_length(points: np.ndarray) -> np.ndarray:
    """Cumulative length at each vertex of an (N, 2) polyline, starting at 0."""
    return np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])


def resample_polyline(points: np.ndarray, spacing_m: float) -> np.ndarray:
    """Points every spacing_m (at most) along a polyline, both ends kept."""
    s = arc_length(points)
    count = max(2, math.ceil(s[-1] / spacing_m) + 1)
    at = np.linspace(0.0, s[-1], count)
    return np.column_stack([np.interp(at, s, points[:, 0]), np.interp(at, s, points[:, 1])])


def project_on_polyline(
    points: np.ndarray, x_m: float, y_m: float
) -> tuple[float, float, float, float]:
    """Nearest point of a polyline to (x, y): arc length there, signed lateral offset (left +),
    distance and the polyline's heading there."""
    a, d = points[:-1], np.diff(points, axis=0)
    q = np.array([x_m, y_m])
    seg_len2 = np.maximum((d**2).sum(axis=1), 1e-12)
    t = np.clip(((q - a) * d).sum(axis=1) / seg_len2, 0.0, 1.0)
    foot = a + t[:, None] * d
    dist = np.linalg.norm(foot - q, axis=1)
    i = int(np.argmin(dist))
    s = float(arc_length(points)[i] + t[i] * math.sqrt(seg_len2[i]))
    cross = d[i, 0] * (q[1] - a[i, 1]) - d[i, 1] * (q[0] - a[i, 0])
    return s, math.copysign(float(dist[i]), cross), float(dist[i]), math.atan2(d[i, 1], d[i, 0])


def points_in_polygon(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Even-odd rule inside test of (N, 2) points against a polygon (open or closed ring)."""
    inside = np.zeros(len(points), dtype=bool)
    x, y = points[:, 0], points[:, 1]
    for (x0, y0), (x1, y1) in zip(polygon, np.roll(polygon, -1, axis=0)):
        if y0 == y1:
            continue
        crosses = (y0 > y) != (y1 > y)
        x_at = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
        inside ^= crosses & (x < x_at)
    return inside


def polygon_area(polygon: np.ndarray) -> float:
    """Signed shoelace area, positive counter-clockwise."""
    x, y = polygon[:, 0], polygon[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def box_corners(x, y, yaw, length, width) -> np.ndarray:
    """(N, 4, 2) corners of centred oriented boxes, counter-clockwise from rear right."""
    x, y, yaw, length, width = (
        np.atleast_1d(np.asarray(v, dtype=float)) for v in (x, y, yaw, length, width)
    )
    unit = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]])
    local = unit[None] * np.stack([length, width], axis=-1)[:, None, :]
    return transform_points(local, x, y, yaw)


def transform_points(local: np.ndarray, x, y, yaw) -> np.ndarray:
    """(N, K, 2) points given in N body frames → map frame; local is (K, 2) or (N, K, 2)."""
    c, s = np.cos(yaw), np.sin(yaw)
    local = np.broadcast_to(local, (len(np.atleast_1d(x)),) + np.shape(local)[-2:])
    mx = c[:, None] * local[..., 0] - s[:, None] * local[..., 1] + np.asarray(x)[:, None]
    my = s[:, None] * local[..., 0] + c[:, None] * local[..., 1] + np.asarray(y)[:, None]
    return np.stack([mx, my], axis=-1)


def polygons_overlap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Separating-axis test of convex polygons, pairwise: (N, K, 2) × (N, K, 2) → (N,) bool.
    Touching counts as overlapping."""

    def normals(poly):
        edge = np.roll(poly, -1, axis=1) - poly
        return np.stack([-edge[..., 1], edge[..., 0]], axis=-1)

    axes = np.concatenate([normals(a), normals(b)], axis=1)  # (N, 2K, 2)
    proj_a = np.einsum("nad,nkd->nak", axes, a)
    proj_b = np.einsum("nad,nkd->nak", axes, b)
    separated = (proj_a.max(-1) < proj_b.min(-1)) | (proj_b.max(-1) < proj_a.min(-1))
    return ~separated.any(axis=1)


def _cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]


def segments_intersect(p1, p2, q1, q2) -> np.ndarray:
    """Whether segments p1-p2 and q1-q2 share a point; arrays (..., 2) broadcast together."""
    p1, p2, q1, q2 = (np.asarray(v, dtype=float) for v in (p1, p2, q1, q2))
    d1, d2 = _cross(q2 - q1, p1 - q1), _cross(q2 - q1, p2 - q1)
    d3, d4 = _cross(p2 - p1, q1 - p1), _cross(p2 - p1, q2 - p1)
    boxes_meet = np.all(
        (np.minimum(p1, p2) <= np.maximum(q1, q2)) & (np.minimum(q1, q2) <= np.maximum(p1, p2)),
        axis=-1,
    )
    return (d1 * d2 <= 0.0) & (d3 * d4 <= 0.0) & boxes_meet


def points_in_convex(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """(..., 2) points inside the counter-clockwise convex (K, 2) polygon (broadcast over ...)."""
    edge = np.roll(polygon, -1, axis=-2) - polygon
    rel = points[..., None, :] - polygon
    return np.all(_cross(edge, rel) >= 0.0, axis=-1)


def project_to_polyline(
    points: np.ndarray, polyline: np.ndarray, extend: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For (N, 2) points: (distance, arc length of the foot, unit tangent there) on (M, 2) polyline.

    extend: the end segments continue as straight lines, so a point beside the line but before
    its start (a van just behind its plan, which begins after the actuator dead time) measures
    its lateral offset rather than its distance to the first vertex.
    """
    a, b = polyline[:-1], polyline[1:]
    seg = b - a
    seg_len = np.maximum(np.hypot(seg[:, 0], seg[:, 1]), 1e-12)
    rel = points[:, None, :] - a[None]
    low, high = np.zeros(len(seg)), np.ones(len(seg))
    if extend:
        low[0], high[-1] = -np.inf, np.inf
    frac = np.clip(np.einsum("nmd,md->nm", rel, seg) / seg_len**2, low, high)
    foot = a[None] + frac[..., None] * seg[None]
    dist = np.hypot(*(points[:, None, :] - foot).transpose(2, 0, 1))
    best = np.argmin(dist, axis=1)
    rows = np.arange(len(points))
    s_at = np.concatenate(([0.0], np.cumsum(seg_len)))
    arc = s_at[best] + frac[rows, best] * seg_len[best]
    tangent = seg[best] / seg_len[best, None]
    return dist[rows, best], arc, tangent


def distance_to_polygon(x: np.ndarray, y: np.ndarray, polygon: np.ndarray):
    """Distance of points to a polygon (0 inside) and the unit direction to its nearest point."""
    p = np.column_stack([x, y])
    a, e = polygon, np.roll(polygon, -1, axis=0) - polygon
    rel = p[:, None, :] - a[None]
    t = np.clip((rel * e).sum(axis=2) / np.maximum((e * e).sum(axis=1), 1e-12), 0.0, 1.0)
    to_edge = a[None] + t[..., None] * e[None] - p[:, None, :]
    dist = np.linalg.norm(to_edge, axis=2)
    best = np.argmin(dist, axis=1)
    rows = np.arange(len(p))
    distance = dist[rows, best]
    direction = to_edge[rows, best] / np.maximum(distance, 1e-9)[:, None]
    inside = points_in_polygon(p, polygon)
    return np.where(inside, 0.0, distance), direction
