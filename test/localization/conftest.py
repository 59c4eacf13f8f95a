"""A small synthetic street of building blocks as a point map, and a LiDAR stand-in that sees it
from a pose: shared by the scan matcher and localizer tests (fixtures, as test modules cannot
import each other)."""

import math
import types

import numpy as np
import pytest

from robovan_autonomy.localization.scan_matcher import MapCloud, ScanMatcher

SPACING_M = 0.5
WALL_HEIGHT_M = 8.0
RANGE_M = 40.0
GROUND_POINTS = 3000
RANGE_NOISE_M = 0.02


def _wall(a, b, height=WALL_HEIGHT_M):
    a, b = np.asarray(a, float), np.asarray(b, float)
    steps = max(2, int(np.hypot(*(b - a)) / SPACING_M) + 1)
    xy = a + np.linspace(0.0, 1.0, steps)[:, None] * (b - a)
    z = np.arange(0.0, height + 1e-9, SPACING_M)
    return np.column_stack([np.repeat(xy, len(z), axis=0), np.tile(z, len(xy))])


def _box(x0, y0, x1, y1, height=WALL_HEIGHT_M):
    corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
    return np.vstack([_wall(a, b, height) for a, b in zip(corners, corners[1:])])


def _scan_of(map_points, pose, rng, clutter=None):
    """What a LiDAR at base_link `pose` would return: map points within range, in base_link,
    with noise, plus the ground and any clutter."""
    x, y, yaw = pose
    ground = np.column_stack(
        [rng.uniform(-RANGE_M, RANGE_M, (GROUND_POINTS, 2)), np.zeros(GROUND_POINTS)]
    )
    points = map_points[np.hypot(map_points[:, 0] - x, map_points[:, 1] - y) < RANGE_M]
    if clutter is not None:
        points = np.vstack([points, clutter])
    c, s = math.cos(yaw), math.sin(yaw)
    local = (points[:, :2] - [x, y]) @ np.array([[c, -s], [s, c]])
    body = np.column_stack([local, points[:, 2]]) + rng.normal(0.0, RANGE_NOISE_M, (len(points), 3))
    return np.vstack([body, ground])


@pytest.fixture(scope="session")
def walls():
    return types.SimpleNamespace(wall=_wall, box=_box, spacing_m=SPACING_M)


@pytest.fixture(scope="session")
def scan_of():
    return _scan_of


@pytest.fixture(scope="session")
def street_map():
    """Blocks of different sizes either side of a road along x, with gaps between them."""
    blocks = [
        (-60, 8, -25, 30),
        (-20, 10, 5, 25),
        (12, 8, 40, 28),
        (45, 9, 70, 35),
        (-55, -30, -30, -9),
        (-24, -28, 0, -8),
        (8, -35, 20, -10),
        (28, -30, 66, -8),
    ]
    points = np.vstack([_box(*b) for b in blocks])
    return points, ScanMatcher(MapCloud.from_points(points, SPACING_M))
