"""The transform tree REP-105 asks of a mobile robot, from what the stack knows: map → base_link
from the localization estimate, base_link → each sensor from the datasheet's extrinsics, and the
camera's optical frame, so a viewer (Foxglove, RViz) places point clouds, images and objects."""

from __future__ import annotations

import math

from robovan_autonomy.core_types import (
    BASE_LINK_FRAME,
    CAMERA_FRAME,
    CAMERA_OPTICAL_FRAME,
    MAP_FRAME,
    FrameTransform,
    PoseEstimate,
)
from robovan_autonomy.vehicle_params import VehicleParams

# camera_front → camera_front_optical: roll −π/2 then yaw −π/2 (x right, y down, z forward).
OPTICAL_ROTATION_XYZW = (-0.5, 0.5, -0.5, 0.5)


def quaternion_from_rpy(roll_rad: float, pitch_rad: float, yaw_rad: float) -> tuple:
    """(x, y, z, w) of the ZYX (yaw, then pitch, then roll) rotation the datasheet's poses use."""
    cr, sr = math.cos(roll_rad / 2.0), math.sin(roll_rad / 2.0)
    cp, sp = math.cos(pitch_rad / 2.0), math.sin(pitch_rad / 2.0)
    cy, sy = math.cos(yaw_rad / 2.0), math.sin(yaw_rad / 2.0)
    return (
        sr * cp * cy - cr * sp * sy,
        cr * sp * cy + sr * cp * sy,
        cr * cp * sy - sr * sp * cy,
        cr * cp * cy + sr * sp * sy,
    )


def static_transforms(vehicle: VehicleParams) -> list[FrameTransform]:
    """base_link → every sensor of the datasheet, and the camera's optical frame."""
    transforms = []
    for frame in vehicle.sensors:
        pose = vehicle.sensor_pose(frame)
        transforms.append(
            FrameTransform(
                BASE_LINK_FRAME,
                frame,
                (pose.x_m, pose.y_m, pose.z_m),
                quaternion_from_rpy(pose.roll_rad, pose.pitch_rad, pose.yaw_rad),
            )
        )
    transforms.append(
        FrameTransform(CAMERA_FRAME, CAMERA_OPTICAL_FRAME, (0.0, 0.0, 0.0), OPTICAL_ROTATION_XYZW)
    )
    return transforms


def map_to_base_link(estimate: PoseEstimate) -> FrameTransform:
    """The van's pose in the map as the transform map → base_link (planar: yaw only)."""
    return FrameTransform(
        MAP_FRAME,
        BASE_LINK_FRAME,
        (estimate.x_m, estimate.y_m, estimate.z_m),
        quaternion_from_rpy(0.0, 0.0, estimate.yaw_rad),
    )
