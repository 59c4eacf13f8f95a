"""CARLA's frames and buffers in the stack's conventions (carla_sim/convert.py)."""

import math

import numpy as np
import pytest

from robovan_autonomy.carla_sim import convert


def test_a_location_left_of_the_van_in_carla_is_right_negative_y_in_ros():
    np.testing.assert_allclose(convert.location_to_ros((1.0, 2.0, 3.0)), [1.0, -2.0, 3.0])
    np.testing.assert_allclose(
        convert.location_from_ros(convert.location_to_ros((1, 2, 3))), [1, 2, 3]
    )


def test_a_clockwise_carla_yaw_is_a_negative_ros_yaw_and_round_trips():
    roll, pitch, yaw = convert.rotation_to_ros(10.0, 20.0, 90.0)
    assert yaw == pytest.approx(-math.pi / 2)
    assert convert.rotation_from_ros(roll, pitch, yaw) == pytest.approx((10.0, 20.0, 90.0))


def test_an_imu_turning_left_reads_a_positive_ros_yaw_rate():
    # Turning left in CARLA is yaw decreasing: a negative rate about CARLA's z.
    accel, gyro = convert.imu_to_ros((0.5, 1.0, 9.81), (0.0, 0.0, -0.2))
    np.testing.assert_allclose(accel, [0.5, -1.0, 9.81])
    assert gyro[2] == pytest.approx(0.2)


def test_bgra_drops_alpha_and_keeps_rows():
    raw = np.arange(2 * 3 * 4, dtype=np.uint8).tobytes()
    image = convert.bgra_to_bgr(raw, width=3, height=2)
    assert image.shape == (2, 3, 3)
    assert image[1, 2].tolist() == [20, 21, 22]


def test_lidar_points_are_mirrored_into_the_ros_sensor_frame():
    raw = np.array([[1.0, 2.0, 3.0, 0.5]], dtype=np.float32).tobytes()
    assert convert.lidar_to_points(raw).tolist() == [[1.0, -2.0, 3.0, 0.5]]


def test_a_90_degree_camera_has_its_focal_length_at_half_the_width():
    intrinsics = convert.camera_intrinsics(960, 540, 90.0)
    assert intrinsics.fx == pytest.approx(480.0)


def test_partial_sweeps_make_one_scan_per_revolution_even_with_a_sweep_missing():
    sweeps = convert.PartialSweeps(sweeps_per_scan=3)
    part = np.ones((2, 4), np.float32)
    assert sweeps.add(10, part) is None
    assert sweeps.add(12, part).shape == (4, 4)  # frame 11 never came
    assert sweeps.add(13, part) is None
