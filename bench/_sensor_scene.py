"""Shared by the sensor-model benchmarks: a synthetic district driven through, and timing stats."""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from robovan_autonomy.perception.classes import ObjectClass
from robovan_autonomy.sim.camera import CameraIntrinsics, CameraRenderer
from robovan_autonomy.sim.scene import Pose3, synthetic_district
from robovan_autonomy.vehicle_params import load_vehicle_params

FRAMES = 200
QUICK_FRAMES = 15
# Actors move along their heading between frames, at typical urban speeds per class (m/s).
ACTOR_SPEED_MPS = {ObjectClass.PEDESTRIAN: 1.4, ObjectClass.CYCLIST: 5.0}
VEHICLE_SPEED_MPS = 8.0


def drive(frame_period_s: float, n_boxes: int, quick: bool):
    """The district, then per frame (base_link pose in map, the actors at that time)."""
    district = synthetic_district(seed=0, n_boxes=n_boxes)
    count = QUICK_FRAMES if quick else FRAMES
    path = district.ego_path[np.linspace(0, len(district.ego_path) - 1, count).astype(int)]
    frames = []
    for k, (x, y, yaw) in enumerate(path):
        t = k * frame_period_s
        boxes = []
        for box in district.boxes:
            step = ACTOR_SPEED_MPS.get(box.class_id, VEHICLE_SPEED_MPS) * t
            boxes.append(
                dataclasses.replace(
                    box,
                    x_m=box.x_m + step * math.cos(box.yaw_rad),
                    y_m=box.y_m + step * math.sin(box.yaw_rad),
                )
            )
        frames.append((Pose3.from_xyz_ypr(x, y, 0.0, yaw), boxes))
    return district, frames


def front_camera_drive(n_boxes: int, quick: bool):
    """The front camera's renderer and extrinsic, and the district driven at its frame rate."""
    params = load_vehicle_params()
    renderer = CameraRenderer(CameraIntrinsics.from_vehicle_params(params))
    district, frames = drive(1.0 / params.sensors["camera_front"]["rate_hz"], n_boxes, quick)
    return renderer, params.sensor_pose("camera_front"), district, frames


def timed(call) -> tuple[float, object]:
    start = time.perf_counter()
    result = call()
    return (time.perf_counter() - start) * 1e3, result


def summary(samples_ms: list[float], prefix: str = "") -> dict:
    samples = np.asarray(samples_ms)
    return {
        f"{prefix}p50_ms": float(np.percentile(samples, 50)),
        f"{prefix}p99_ms": float(np.percentile(samples, 99)),
        f"{prefix}max_ms": float(samples.max()),
    }
