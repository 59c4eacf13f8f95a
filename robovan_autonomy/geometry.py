"""Plane geometry the subsystems share: angles, polylines, polygons."""
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


def project_on_polyline(points: np.ndarray, x_m: float, y_m: float) -> tuple[float, float, float, float]:
    """Nearest point of a polyline to (x, y): arc length there, signed lateral offset (left +),
    distance and the polyline's heading there."""
    a, d = points[:-1], np.diff(points, axis=0)
    q = np.array([x_m, y_m])
    seg_len2 = np.maximum((d ** 2).sum(axis=1), 1e-12)
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
