"""Vectorised plane geometry of the report: oriented boxes, polygon overlap, segment crossing and
projection onto polylines, over whole runs at once.

Its own module because both the metrics (contacts, curb strikes, corridors) and the plot (the
map's parked cars) use it.
"""
from __future__ import annotations

import numpy as np


def box_corners(x, y, yaw, length, width) -> np.ndarray:
    """(N, 4, 2) corners of centred oriented boxes, counter-clockwise from rear right."""
    x, y, yaw, length, width = (np.atleast_1d(np.asarray(v, dtype=float))
                                for v in (x, y, yaw, length, width))
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
    boxes_meet = np.all((np.minimum(p1, p2) <= np.maximum(q1, q2)) &
                        (np.minimum(q1, q2) <= np.maximum(p1, p2)), axis=-1)
    return (d1 * d2 <= 0.0) & (d3 * d4 <= 0.0) & boxes_meet


def points_in_convex(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """(..., 2) points inside the counter-clockwise convex (K, 2) polygon (broadcast over ...)."""
    edge = np.roll(polygon, -1, axis=-2) - polygon
    rel = points[..., None, :] - polygon
    return np.all(_cross(edge, rel) >= 0.0, axis=-1)


def project_to_polyline(points: np.ndarray, polyline: np.ndarray, extend: bool = False
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
