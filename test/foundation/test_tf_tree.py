"""The transform tree: the datasheet's extrinsics as base_link → sensor transforms, the camera's
optical frame, and the van's pose as map → base_link, through the recorded TFMessage."""

import math

import numpy as np
import pytest

from robovan_autonomy import interfaces as itf
from robovan_autonomy.core_types import CAMERA_OPTICAL_FRAME, FrameTransform, PoseEstimate
from robovan_autonomy.tf_tree import map_to_base_link, quaternion_from_rpy, static_transforms
from robovan_autonomy.vehicle_params import load_vehicle_params


def rotation_of(q) -> np.ndarray:
    x, y, z, w = q
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def test_every_sensor_of_the_datasheet_hangs_off_base_link_where_the_datasheet_puts_it():
    vehicle = load_vehicle_params()
    transforms = {t.child: t for t in static_transforms(vehicle)}
    for frame in vehicle.sensors:
        pose = vehicle.sensor_pose(frame)
        assert transforms[frame].parent == "base_link"
        assert transforms[frame].translation_m == (pose.x_m, pose.y_m, pose.z_m)
        np.testing.assert_allclose(
            rotation_of(transforms[frame].rotation_xyzw), pose.rotation(), atol=1e-12
        )


def test_the_optical_frame_looks_along_the_camera_with_x_right_and_y_down():
    optical = next(
        t for t in static_transforms(load_vehicle_params()) if t.child == CAMERA_OPTICAL_FRAME
    )
    rotation = rotation_of(optical.rotation_xyzw)
    np.testing.assert_allclose(rotation @ [0, 0, 1], [1, 0, 0], atol=1e-12)  # z: forward
    np.testing.assert_allclose(rotation @ [1, 0, 0], [0, -1, 0], atol=1e-12)  # x: right
    np.testing.assert_allclose(rotation @ [0, 1, 0], [0, 0, -1], atol=1e-12)  # y: down


@pytest.mark.parametrize("yaw", [0.0, 0.7, -2.5, math.pi])
def test_the_van_pose_is_map_to_base_link_turned_by_its_yaw(yaw):
    transform = map_to_base_link(PoseEstimate(1.0, 12.0, -3.0, yaw, 5.0, 0.0))
    assert (transform.parent, transform.child) == ("map", "base_link")
    assert transform.translation_m == (12.0, -3.0, 0.0)
    np.testing.assert_allclose(
        rotation_of(transform.rotation_xyzw)[:2, 0], [math.cos(yaw), math.sin(yaw)], atol=1e-12
    )


def test_a_quaternion_is_a_unit_one():
    assert np.linalg.norm(quaternion_from_rpy(0.3, -0.2, 2.0)) == pytest.approx(1.0)


def test_transforms_survive_the_recorded_message_and_keep_their_stamp():
    transforms = static_transforms(load_vehicle_params())
    data = itf.encode_tf_cdr(12.345, transforms)
    assert itf.decode_tf_cdr(data) == transforms


def test_live_transforms_carry_each_frame_pair_stamp_and_pose():
    transform = FrameTransform("map", "base_link", (1.0, -2.0, 0.0), (0.0, 0.0, 0.6, 0.8))
    (message,) = itf.encode_transforms(12.5, [transform])
    assert (message.header.frame_id, message.child_frame_id) == ("map", "base_link")
    assert itf.from_stamp(message.header.stamp) == 12.5
    assert (message.transform.translation.x, message.transform.translation.y) == (1.0, -2.0)
    assert (message.transform.rotation.z, message.transform.rotation.w) == (0.6, 0.8)


def test_live_tf_is_off_where_tf2_msgs_is_not_importable():
    import importlib.util

    available = importlib.util.find_spec("tf2_msgs") is not None
    assert (itf.live_tf_message_class() is not None) == available
