"""Sensor data that a healthy sensor could send, for tests that feed the supervisor by hand
(the fixture `plausible`, as test modules cannot import each other).

The supervisor judges content, not only rate and age: a test's LiDAR must see the road around the
van and carry range noise, a camera frame must show something, an IMU must be noisy.
"""

import types

import numpy as np
import pytest

from robovan_autonomy.vehicle_params import load_vehicle_params

VEHICLE = load_vehicle_params()
LIDAR = VEHICLE.sensor_pose("lidar_top")
_LIDAR_SPEC = VEHICLE.sensors["lidar_top"]
# Buildings on either side of the street, m from the LiDAR; straight ahead and behind the street
# runs on past the LiDAR's range, so beams above the horizon there return nothing.
SIDE_WALL_M = 25.0
RANGE_NOISE_M = 0.02


def _rng(t_s: float) -> np.random.Generator:
    return np.random.default_rng(int(round(t_s * 1000)))


def road_scan(t_s: float, obstacle_base: np.ndarray | None = None) -> np.ndarray:
    """(N, 4) x, y, z, intensity in the LiDAR frame: a full sweep of a flat street with range
    noise, plus obstacle_base points (base_link) when given."""
    elevation = np.linspace(
        _LIDAR_SPEC["min_elevation_rad"],
        _LIDAR_SPEC["max_elevation_rad"],
        int(_LIDAR_SPEC["beams"]),
    )[:, None]
    azimuth = np.linspace(-np.pi, np.pi, int(_LIDAR_SPEC["columns"]), endpoint=False)[None, :]
    elevation, azimuth = np.broadcast_arrays(elevation, azimuth)
    with np.errstate(divide="ignore"):
        ground_m = np.where(elevation < 0.0, LIDAR.z_m / np.sin(-elevation), np.inf)
        wall_m = np.where(
            np.abs(np.sin(azimuth)) > 0.5,
            SIDE_WALL_M / np.abs(np.sin(azimuth)) / np.cos(elevation),
            np.inf,
        )
    r = np.minimum(ground_m, wall_m)
    hit = r <= _LIDAR_SPEC["max_range_m"]
    r = r[hit] + _rng(t_s).normal(0.0, RANGE_NOISE_M, np.count_nonzero(hit))
    el, az = elevation[hit], azimuth[hit]
    xyz = np.column_stack(
        [r * np.cos(el) * np.cos(az), r * np.cos(el) * np.sin(az), r * np.sin(el)]
    )
    if obstacle_base is not None:
        xyz = np.vstack([xyz, LIDAR.from_base_link(obstacle_base)])
    return np.column_stack([xyz, np.zeros(len(xyz))]).astype(np.float32)


def camera_frame(t_s: float) -> np.ndarray:
    """A 960x540 bgr8 frame: sky above, road below, with sensor noise."""
    camera = VEHICLE.sensors["camera_front"]
    height, width = int(camera["height_px"]), int(camera["width_px"])
    rows = np.linspace(200.0, 60.0, height)[:, None, None]
    image = np.broadcast_to(rows, (height, width, 3)) + _rng(t_s).normal(
        0.0, 2.0, (height, width, 3)
    )
    return np.clip(image, 0, 255).astype(np.uint8)


def imu_sample(t_s: float) -> tuple[np.ndarray, np.ndarray]:
    """(angular velocity, linear acceleration) of a van standing on level ground, with noise."""
    noise = _rng(t_s).normal(0.0, 0.01, 6)
    return noise[:3], np.array([0.0, 0.0, 9.81]) + noise[3:]


@pytest.fixture
def plausible():
    return types.SimpleNamespace(
        road_scan=road_scan, camera_frame=camera_frame, imu_sample=imu_sample
    )
