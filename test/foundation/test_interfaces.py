"""The topic contract: every message round-trips through interfaces.py, and garbage is refused."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robovan_autonomy import core_types as ct
from robovan_autonomy import interfaces as itf
from robovan_autonomy.camera_model import CameraIntrinsics
from robovan_autonomy.vehicle_params import load_vehicle_params


def make_plan(count=5, stamp_s=12.5):
    t = np.arange(count) * 0.1
    return itf.ControlPlan(
        stamp_s=stamp_s,
        time_from_start_s=t,
        steer_rad=0.1 * np.sin(t),
        steer_rate_radps=0.1 * np.cos(t),
        speed_mps=3.0 + t,
        accel_mps2=np.ones(count),
    )


def test_control_command_round_trips():
    plan = make_plan()
    decoded = itf.decode_control_command(itf.encode_control_command(plan))
    assert decoded.stamp_s == pytest.approx(plan.stamp_s)
    for field in (
        "time_from_start_s",
        "steer_rad",
        "steer_rate_radps",
        "speed_mps",
        "accel_mps2",
        "distance_m",
    ):
        np.testing.assert_allclose(getattr(decoded, field), getattr(plan, field), atol=1e-9)


def test_control_command_distance_integrates_speed():
    plan = make_plan(count=3)
    np.testing.assert_allclose(plan.distance_m, [0.0, 0.31, 0.63])


def test_control_command_with_wrong_joint_names_is_refused():
    msg = itf.encode_control_command(make_plan())
    msg.joint_names = ["drive", "steering"]
    with pytest.raises(itf.InterfaceError, match="joint_names"):
        itf.decode_control_command(msg)


def test_control_command_with_nan_is_refused():
    msg = itf.encode_control_command(make_plan())
    msg.points[2].velocities = [0.0, math.nan]
    with pytest.raises(itf.InterfaceError, match="non-finite"):
        itf.decode_control_command(msg)


def test_control_command_with_decreasing_time_is_refused():
    msg = itf.encode_control_command(make_plan())
    msg.points[3].time_from_start = itf.to_duration(0.05)
    with pytest.raises(itf.InterfaceError, match="increase"):
        itf.decode_control_command(msg)


def test_empty_control_command_is_refused():
    msg = itf.encode_control_command(make_plan())
    msg.points = []
    with pytest.raises(itf.InterfaceError, match="no points"):
        itf.decode_control_command(msg)


def test_vehicle_status_round_trips():
    status = ct.VehicleStatus(3.25, -0.2, 0.05, 7.5, -1.25)
    assert itf.decode_vehicle_status(itf.encode_vehicle_status(status)) == status


def test_odometry_round_trips_pose_twist_and_covariance():
    cov = np.diag([0.01, 0.02, 0.0, 0.0, 0.0, 0.003])
    estimate = ct.PoseEstimate(4.0, 10.0, -5.0, 2.5, 6.0, 0.1, pose_covariance=cov)
    decoded = itf.decode_odometry(itf.encode_odometry(estimate))
    assert (decoded.x_m, decoded.y_m, decoded.speed_mps) == (10.0, -5.0, 6.0)
    assert decoded.yaw_rad == pytest.approx(2.5)
    np.testing.assert_allclose(decoded.pose_covariance, cov)


def test_odometry_in_the_wrong_frame_is_refused():
    msg = itf.encode_odometry(ct.PoseEstimate(0.0, 0.0, 0.0, 0.0, 0.0, 0.0))
    msg.header.frame_id = "odom"
    with pytest.raises(itf.InterfaceError, match="frame_id"):
        itf.decode_odometry(msg)


def test_object_table_round_trips_every_field():
    table = ct.empty_objects(3)
    for i, name in enumerate(ct.OBJECT_DTYPE.names):
        table[name] = np.arange(3) + i
    decoded = itf.decode_objects(itf.encode_objects(1.0, table))
    assert decoded.dtype == ct.OBJECT_DTYPE
    np.testing.assert_array_equal(decoded, table)


def test_empty_object_table_round_trips():
    assert len(itf.decode_objects(itf.encode_objects(1.0, ct.empty_objects()))) == 0


def test_object_table_with_missing_field_is_refused():
    msg = itf.encode_objects(1.0, ct.empty_objects(2))
    msg.fields = msg.fields[:-1]
    with pytest.raises(itf.InterfaceError, match="fields"):
        itf.decode_objects(msg)


def test_points_round_trip_and_drop_non_finite_rows():
    points = np.arange(12, dtype=np.float32).reshape(3, 4)
    points[1, 0] = np.nan
    decoded = itf.decode_points(itf.encode_points(0.5, points))
    np.testing.assert_array_equal(decoded, points[[0, 2]])


def test_points_with_truncated_data_are_refused():
    msg = itf.encode_points(0.5, np.zeros((10, 4), np.float32))
    msg.data = bytes(msg.data)[:-4]
    with pytest.raises(itf.InterfaceError, match="data bytes"):
        itf.decode_points(msg)


def test_image_round_trips():
    image = np.random.default_rng(0).integers(0, 255, (54, 96, 3), dtype=np.uint8)
    np.testing.assert_array_equal(itf.decode_image(itf.encode_image(1.0, image)), image)


def test_image_with_wrong_encoding_is_refused():
    msg = itf.encode_image(1.0, np.zeros((4, 4, 3), np.uint8))
    msg.encoding = "rgb8"
    with pytest.raises(itf.InterfaceError, match="encoding"):
        itf.decode_image(msg)


def test_camera_info_round_trips():
    intrinsics = itf.CameraIntrinsics(960, 540, 480.0, 480.0, 480.0, 270.0)
    assert itf.decode_camera_info(itf.encode_camera_info(1.0, intrinsics)) == intrinsics


def test_camera_info_of_the_datasheet_camera_decodes_to_the_simulators_intrinsics():
    intrinsics = CameraIntrinsics.from_vehicle_params(load_vehicle_params())
    assert itf.decode_camera_info(itf.encode_camera_info(1.0, intrinsics)) == intrinsics


def test_gnss_fix_round_trips():
    fix = ct.GnssFix(2.0, 48.1, 11.5, 520.0, True, np.diag([1e-3, 1e-3, 4e-3]))
    decoded = itf.decode_gnss_fix(itf.encode_gnss_fix(fix))
    assert (decoded.latitude_deg, decoded.longitude_deg, decoded.has_fix) == (48.1, 11.5, True)


def test_gnss_without_a_fix_may_carry_a_nan_position():
    fix = ct.GnssFix(2.0, math.nan, math.nan, math.nan, False, np.eye(3))
    assert not itf.decode_gnss_fix(itf.encode_gnss_fix(fix)).has_fix


def test_gnss_claiming_a_fix_with_a_nan_position_is_refused():
    fix = ct.GnssFix(2.0, math.nan, 11.5, 520.0, True, np.eye(3))
    with pytest.raises(itf.InterfaceError, match="status says fix"):
        itf.decode_gnss_fix(itf.encode_gnss_fix(fix))


def test_imu_round_trips():
    sample = ct.ImuSample(1.0, np.array([0.0, 0.0, 0.1]), np.array([0.5, 0.0, 9.81]))
    decoded = itf.decode_imu(itf.encode_imu(sample))
    np.testing.assert_allclose(decoded.angular_velocity_radps, sample.angular_velocity_radps)
    np.testing.assert_allclose(decoded.linear_acceleration_mps2, sample.linear_acceleration_mps2)


def test_imu_with_nan_is_refused():
    msg = itf.encode_imu(ct.ImuSample(1.0, np.zeros(3), np.zeros(3)))
    msg.angular_velocity.z = math.inf
    with pytest.raises(itf.InterfaceError, match="non-finite"):
        itf.decode_imu(msg)


def test_path_round_trips():
    poses = np.array([[0.0, 0.0, 0.0], [1.0, 0.5, 0.3], [2.0, 1.5, 1.0]])
    np.testing.assert_allclose(itf.decode_path(itf.encode_path(1.0, poses)), poses, atol=1e-12)


def test_diagnostics_round_trip_level_and_values():
    diagnostics = [ct.Diagnostic("bridge", ct.WARN, "stale command", {"age_s": 0.2})]
    decoded = itf.decode_diagnostics(itf.encode_diagnostics(1.0, diagnostics))
    assert (decoded[0].level, decoded[0].message, decoded[0].values) == (
        ct.WARN,
        "stale command",
        {"age_s": "0.2"},
    )


def test_stamps_round_trip_to_the_nanosecond():
    assert itf.from_stamp(itf.to_stamp(1234.567891234)) == pytest.approx(1234.567891234, abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=512), st.integers(0, 64))
def test_decoding_random_point_cloud_bytes_raises_only_interface_error(data, width):
    msg = itf.encode_points(0.0, np.zeros((0, 4), np.float32))
    msg.data = data
    msg.width = width
    try:
        itf.decode_points(msg)
    except itf.InterfaceError:
        pass
