"""Pinhole camera intrinsics: one ROS-free definition shared by the topic contract
(interfaces.encode_camera_info / decode_camera_info) and the simulator's renderer."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from robovan_autonomy.vehicle_params import VehicleParams


@dataclasses.dataclass(frozen=True)
class CameraIntrinsics:
    """Pixel centres on integer coordinates (OpenCV, ROS CameraInfo)."""

    width_px: int
    height_px: int
    fx: float
    fy: float
    cx: float
    cy: float

    @staticmethod
    def from_fov(width_px: int, height_px: int, hfov_rad: float) -> CameraIntrinsics:
        """Square pixels, principal point at the image centre ((W − 1)/2, (H − 1)/2)."""
        f = width_px / (2.0 * math.tan(hfov_rad / 2.0))
        return CameraIntrinsics(
            width_px, height_px, f, f, (width_px - 1) / 2.0, (height_px - 1) / 2.0
        )

    @staticmethod
    def from_vehicle_params(params: VehicleParams, frame: str = "camera_front") -> CameraIntrinsics:
        spec = params.sensors[frame]
        return CameraIntrinsics.from_fov(
            int(spec["width_px"]), int(spec["height_px"]), float(spec["hfov_rad"])
        )

    def matrix(self) -> np.ndarray:
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])
