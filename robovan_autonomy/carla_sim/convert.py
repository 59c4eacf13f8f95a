"""CARLA's frames and buffers to the stack's (REP-103), and back. Pure numpy: no carla import.

CARLA (Unreal) is left-handed: x forward, y right, z up, angles in degrees with yaw clockwise
seen from above. ROS is right-handed: x forward, y left, z up, radians, yaw anticlockwise. So
every y and every rotation about z (and x) changes sign.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from robovan_autonomy.camera_model import CameraIntrinsics

LIDAR_POINT_FLOATS = 4  # x, y, z, intensity (float32) per point in CARLA's raw LiDAR buffer


def location_to_ros(xyz: Sequence[float]) -> np.ndarray:
    """A CARLA location (m) in the ROS frame: y negated."""
    x, y, z = xyz
    return np.array([x, -y, z], dtype=float)


def location_from_ros(xyz: Sequence[float]) -> np.ndarray:
    """A ROS position (m) as a CARLA location: y negated."""
    return location_to_ros(xyz)


def rotation_to_ros(roll_deg: float, pitch_deg: float, yaw_deg: float) -> tuple:
    """CARLA's rotation (degrees) as ROS roll, pitch, yaw (radians)."""
    return (math.radians(roll_deg), -math.radians(pitch_deg), -math.radians(yaw_deg))


def rotation_from_ros(roll_rad: float, pitch_rad: float, yaw_rad: float) -> tuple:
    """ROS roll, pitch, yaw (radians) as CARLA's rotation (degrees)."""
    return (math.degrees(roll_rad), -math.degrees(pitch_rad), -math.degrees(yaw_rad))


def velocity_to_ros(v: Sequence[float]) -> np.ndarray:
    """A CARLA velocity or acceleration vector (m/s, m/s²) in the ROS frame."""
    return location_to_ros(v)


def imu_to_ros(accel_xyz: Sequence[float], gyro_xyz: Sequence[float]) -> tuple:
    """CARLA's IMU (specific force m/s², angular velocity rad/s, left-handed) as the ROS IMU's:
    y of the force negated; the rates about x and z negated (the mirror flips handedness)."""
    ax, ay, az = accel_xyz
    gx, gy, gz = gyro_xyz
    return np.array([ax, -ay, az], dtype=float), np.array([-gx, gy, -gz], dtype=float)


def bgra_to_bgr(raw: bytes, width: int, height: int) -> np.ndarray:
    """CARLA's BGRA camera buffer as an (H, W, 3) uint8 BGR image (a copy)."""
    pixels = np.frombuffer(raw, dtype=np.uint8)
    if pixels.size != width * height * 4:
        raise ValueError(f"camera buffer of {pixels.size} bytes is not {width}x{height} BGRA")
    return pixels.reshape(height, width, 4)[:, :, :3].copy()


def lidar_to_points(raw: bytes) -> np.ndarray:
    """CARLA's LiDAR buffer as (N, 4) float32 x, y, z, intensity in the ROS sensor frame."""
    points = np.frombuffer(raw, dtype=np.float32)
    if points.size % LIDAR_POINT_FLOATS:
        raise ValueError(f"LiDAR buffer of {points.size} floats is not whole points")
    points = points.reshape(-1, LIDAR_POINT_FLOATS).copy()
    points[:, 1] *= -1.0
    return points


def camera_intrinsics(width_px: int, height_px: int, fov_deg: float) -> CameraIntrinsics:
    """A CARLA camera's pinhole (its `fov` attribute is horizontal, in degrees)."""
    return CameraIntrinsics.from_fov(width_px, height_px, math.radians(fov_deg))


class PartialSweeps:
    """A spinning LiDAR's partial sweeps (one per simulator tick) stitched into full scans.

    CARLA delivers what the sensor swept during one tick; `sweeps_per_scan` ticks make one
    revolution. `add` returns the stitched scan when the revolution completes, else None.
    """

    def __init__(self, sweeps_per_scan: int):
        if sweeps_per_scan < 1:
            raise ValueError("a scan needs at least one sweep")
        self.sweeps_per_scan = sweeps_per_scan
        self._parts: list[np.ndarray] = []
        self._first_frame: int | None = None

    def add(self, frame: int, points: np.ndarray) -> np.ndarray | None:
        if self._first_frame is None:
            self._first_frame = frame
        self._parts.append(points)
        if frame - self._first_frame + 1 < self.sweeps_per_scan:
            return None
        scan = np.concatenate(self._parts) if self._parts else np.zeros((0, 4), np.float32)
        self._parts, self._first_frame = [], None
        return scan
