"""Between camera pixels and the van's 3D frame: CameraInfo intrinsics, the camera extrinsic and
the ground plane.

A detection's box bottom edge is where the object stands, so the ray through its bottom centre
meets the ground at the object's near side. That gives a 3D position with no depth sensor, good to
a few per cent of range as long as the ground is flat and the box's bottom is seen. The other way
round, 3D boxes of tracks project to 2D boxes that detections are matched against.

Frames: base_link is REP-103 (x forward, y left, z up, on the ground); the camera body frame
`camera_front` is REP-103 too, rotated and placed by its extrinsic; pixels come from the optical
frame (x right, y down, z forward), as in sensor_msgs/CameraInfo.
"""

from __future__ import annotations

import numpy as np

from robovan_autonomy.camera_model import CameraIntrinsics
from robovan_autonomy.vehicle_params import SensorPose

# Rows: the optical axes in the camera body frame (x right = −y_body, y down = −z_body, z = x_body).
OPTICAL_FROM_BODY = np.array([[0.0, -1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]])
MIN_DEPTH_M = 0.1  # points closer to the image plane than this do not project
MAX_GROUND_RANGE_M = 150.0  # rays meeting the ground farther out are at the horizon: no position


class CameraProjection:
    def __init__(self, intrinsics: CameraIntrinsics, extrinsic: SensorPose):
        self.intrinsics = intrinsics
        self.k = intrinsics.matrix()
        self.k_inv = np.linalg.inv(self.k)
        # optical = (p_base − t) @ base_to_optical
        self.base_to_optical = extrinsic.rotation() @ OPTICAL_FROM_BODY.T
        self.origin_base = extrinsic.translation()

    def project(self, points_base: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, 3) base_link points → (N, 2) pixels and (N,) depth along the optical axis; pixels
        are NaN for points not in front of the camera."""
        optical = (
            np.asarray(points_base, float).reshape(-1, 3) - self.origin_base
        ) @ self.base_to_optical
        depth = optical[:, 2]
        in_front = depth >= MIN_DEPTH_M
        safe = np.where(in_front, depth, 1.0)
        pixels = (optical[:, :2] / safe[:, None]) * (self.k[0, 0], self.k[1, 1]) + (
            self.k[0, 2],
            self.k[1, 2],
        )
        pixels[~in_front] = np.nan
        return pixels, depth

    def rays(self, pixels: np.ndarray) -> np.ndarray:
        """(N, 2) pixels → (N, 3) unit ray directions in base_link (from origin_base)."""
        pixels = np.asarray(pixels, float).reshape(-1, 2)
        optical = np.column_stack([pixels, np.ones(len(pixels))]) @ self.k_inv.T
        directions = optical @ self.base_to_optical.T
        return directions / np.linalg.norm(directions, axis=1, keepdims=True)

    def ground_points(self, pixels: np.ndarray, ground_z_m: float = 0.0) -> np.ndarray:
        """(N, 2) pixels → (N, 3) base_link points where their rays meet the plane z = ground_z_m;
        NaN rows for rays at or above the horizon or meeting it beyond MAX_GROUND_RANGE_M."""
        directions = self.rays(pixels)
        down = directions[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (ground_z_m - self.origin_base[2]) / down
        points = self.origin_base + t[:, None] * directions
        bad = ~(down < 0.0) | (np.hypot(points[:, 0], points[:, 1]) > MAX_GROUND_RANGE_M)
        points[bad] = np.nan
        return points

    def box_ground_points(
        self, boxes_xyxy: np.ndarray, pixel_sigma: float = 1.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Detection boxes → (N, 3) base_link ground points under their bottom centre and (N,)
        1σ range uncertainty from a bottom edge off by pixel_sigma (grows with range squared)."""
        boxes = np.asarray(boxes_xyxy, float).reshape(-1, 4)
        bottom = np.column_stack([(boxes[:, 0] + boxes[:, 2]) / 2.0, boxes[:, 3]])
        near = self.ground_points(bottom)
        far = self.ground_points(bottom - (0.0, pixel_sigma))
        sigma = np.linalg.norm(far[:, :2] - near[:, :2], axis=1)
        return near, np.where(np.isfinite(sigma), sigma, np.inf)

    def project_boxes(self, corners_base: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(M, K, 3) corners of M solids → (M, 4) xyxy image boxes clipped to the image, and (M,)
        whether each box is usable (every corner in front of the camera, some part in the image)."""
        corners = np.asarray(corners_base, float)
        m = len(corners)
        if m == 0:
            return np.zeros((0, 4)), np.zeros(0, bool)
        pixels, _ = self.project(corners.reshape(-1, 3))
        pixels = pixels.reshape(m, -1, 2)
        in_front = np.all(np.isfinite(pixels[..., 0]), axis=1)
        safe = np.where(np.isfinite(pixels), pixels, 0.0)
        boxes = np.concatenate([safe.min(axis=1), safe.max(axis=1)], axis=1)
        w, h = self.intrinsics.width_px, self.intrinsics.height_px
        boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], -0.5, w - 0.5)
        boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], -0.5, h - 0.5)
        visible = in_front & (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        return boxes, visible


def box_corners(x_m, y_m, z_m, yaw_rad, length_m, width_m, height_m) -> np.ndarray:
    """(N, 8, 3) corners of upright boxes standing on z_m (bottom four, then the top four)."""
    args = np.broadcast_arrays(
        *(
            np.atleast_1d(np.asarray(v, float))
            for v in (x_m, y_m, z_m, yaw_rad, length_m, width_m, height_m)
        )
    )
    x, y, z, yaw, length, width, height = args
    unit = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]])
    local = unit[None] * np.stack([length, width], axis=-1)[:, None, :]
    c, s = np.cos(yaw)[:, None], np.sin(yaw)[:, None]
    gx = x[:, None] + c * local[..., 0] - s * local[..., 1]
    gy = y[:, None] + s * local[..., 0] + c * local[..., 1]
    bottom = np.stack([gx, gy, np.repeat(z[:, None], 4, 1)], axis=-1)
    top = bottom + np.stack(
        [np.zeros_like(gx), np.zeros_like(gx), np.repeat(height[:, None], 4, 1)], axis=-1
    )
    return np.concatenate([bottom, top], axis=1)
