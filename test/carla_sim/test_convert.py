"""CARLA ↔ ROS conversions: golden cases, round trips, handedness, and libcarla's own transforms
(carla.Transform is a client-side type: no server is needed)."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from robovan_autonomy.camera_model import CameraIntrinsics
from robovan_autonomy.carla_sim import convert

FLIP = np.diag([1.0, -1.0, 1.0])
finite = st.floats(-1e3, 1e3, allow_nan=False)
angles_deg = st.floats(-179.0, 179.0, allow_nan=False)
vectors = arrays(np.float64, 3, elements=finite)


def rpy_matrix(roll: float, pitch: float, yaw: float) -> np.ndarray:
    """REP-103 fixed-axis roll, pitch, yaw: Rz(yaw) Ry(pitch) Rx(roll)."""
    cr, sr, cp, sp, cy, sy = (f(a) for a in (roll, pitch, yaw) for f in (math.cos, math.sin))
    rz = np.array([[cy, -sy, 0.0], [sy, cy, 0.0], [0.0, 0.0, 1.0]])
    ry = np.array([[cp, 0.0, sp], [0.0, 1.0, 0.0], [-sp, 0.0, cp]])
    rx = np.array([[1.0, 0.0, 0.0], [0.0, cr, -sr], [0.0, sr, cr]])
    return rz @ ry @ rx


def test_a_point_to_the_carla_right_is_negative_ros_y():
    assert convert.location_to_ros([1.0, 2.0, 3.0]).tolist() == [1.0, -2.0, 3.0]


def test_locations_convert_row_by_row_in_an_array():
    points = np.array([[1.0, 2.0, 3.0], [4.0, -5.0, 6.0]])
    assert convert.location_to_ros(points).tolist() == [[1.0, -2.0, 3.0], [4.0, 5.0, 6.0]]


def test_a_location_of_the_wrong_shape_is_refused_naming_the_shape():
    with pytest.raises(
        ValueError, match=r"location: expected shape \(3,\) or \(N, 3\), got \(2,\)"
    ):
        convert.location_to_ros([1.0, 2.0])


@given(vectors)
def test_locations_round_trip(xyz):
    assert np.array_equal(convert.location_from_ros(convert.location_to_ros(xyz)), xyz)


def test_a_carla_yaw_of_90_degrees_faces_ros_minus_y():
    # CARLA yaw is clockwise from above: 90° faces the CARLA right, which is ROS −y.
    assert convert.rotation_to_ros(0.0, 0.0, 90.0) == pytest.approx((0.0, 0.0, -math.pi / 2))


def test_a_nose_up_carla_pitch_is_a_negative_ros_pitch():
    assert convert.rotation_to_ros(0.0, 10.0, 0.0) == pytest.approx((0.0, -math.radians(10), 0.0))


@given(angles_deg, angles_deg, angles_deg)
def test_rotations_round_trip(roll, pitch, yaw):
    back = convert.rotation_from_ros(*convert.rotation_to_ros(roll, pitch, yaw))
    assert back == pytest.approx((roll, pitch, yaw), abs=1e-9)


@given(st.floats(-89.0, 89.0), angles_deg, angles_deg, vectors)
def test_rotation_and_location_agree_with_libcarla_transform_matrices(pitch, yaw, roll, xyz):
    carla = pytest.importorskip("carla")
    transform = carla.Transform(
        carla.Location(*(float(v) for v in xyz)), carla.Rotation(pitch=pitch, yaw=yaw, roll=roll)
    )
    matrix = np.array(transform.get_matrix())
    # Change of frame of a homogeneous transform: F·R·F and F·t.
    expected = rpy_matrix(*convert.rotation_to_ros(roll, pitch, yaw))
    assert np.allclose(FLIP @ matrix[:3, :3] @ FLIP, expected, atol=1e-5)
    assert np.allclose(matrix[:3, 3] * [1, -1, 1], convert.location_to_ros(xyz), atol=1e-3)


def test_a_carla_right_turn_is_a_negative_ros_yaw_rate():
    assert convert.angular_velocity_to_ros([0.0, 0.0, 0.5]).tolist() == [-0.0, 0.0, -0.5]


def test_a_left_turn_of_an_actor_in_degrees_is_a_positive_ros_yaw_rate_in_radians():
    # Turning left in CARLA makes its clockwise yaw shrink: ωz < 0 in deg/s.
    w = convert.actor_angular_velocity_to_ros([0.0, 0.0, -90.0])
    assert w == pytest.approx([0.0, 0.0, math.pi / 2])


@given(vectors, vectors)
def test_angular_velocity_converts_as_the_axial_vector_of_v_equals_w_cross_r(w, r):
    # What makes ω an angular velocity: the velocity of a point r is ω × r, in either frame.
    v_ros = convert.velocity_to_ros(np.cross(w, r))
    assert np.allclose(
        v_ros, np.cross(convert.angular_velocity_to_ros(w), convert.location_to_ros(r)), atol=1e-6
    )


@given(angles_deg, st.floats(-60.0, 60.0))
def test_the_ros_yaw_rate_is_the_rate_of_the_converted_yaw(yaw, rate_degps):
    dt = 1e-3
    yaw_ros = [convert.rotation_to_ros(0.0, 0.0, yaw + k * rate_degps * dt)[2] for k in (0, 1)]
    w = convert.actor_angular_velocity_to_ros([0.0, 0.0, rate_degps])
    assert (yaw_ros[1] - yaw_ros[0]) / dt == pytest.approx(w[2], abs=1e-9)


def test_the_imu_reading_of_a_van_accelerating_into_a_right_turn_in_ros():
    accel, gyro = convert.imu_to_ros([1.0, 2.0, 9.81], [0.01, 0.02, 0.3])
    # Centripetal acceleration to the right (CARLA +y) is ROS −y; turning right is ωz < 0.
    assert accel.tolist() == [1.0, -2.0, 9.81]
    assert gyro.tolist() == [-0.01, 0.02, -0.3]


def test_bgra_loses_its_alpha_and_keeps_rows_and_channel_order():
    raw = bytes([10, 20, 30, 255, 11, 21, 31, 255, 12, 22, 32, 255, 13, 23, 33, 255, 1, 2, 3, 0, 4])
    image = convert.bgra_to_bgr(raw[:20], 5, 1)
    assert image.shape == (1, 5, 3) and image.dtype == np.uint8
    assert image[0, 1].tolist() == [11, 21, 31] and image[0, 4].tolist() == [1, 2, 3]
    assert convert.bgra_to_bgr(raw[:16], 2, 2)[1, 0].tolist() == [12, 22, 32]


def test_a_camera_buffer_of_the_wrong_size_is_refused_naming_both_sizes():
    with pytest.raises(ValueError, match="15 bytes for 2x2 BGRA, expected 16"):
        convert.bgra_to_bgr(bytes(15), 2, 2)


def test_lidar_points_come_out_in_the_ros_sensor_frame_as_float32():
    raw = np.array([[1.0, 2.0, 3.0, 0.5], [4.0, -5.0, 6.0, 0.25]], np.float32).tobytes()
    points = convert.lidar_to_points(raw)
    assert points.dtype == np.float32
    assert points.tolist() == [[1.0, -2.0, 3.0, 0.5], [4.0, 5.0, 6.0, 0.25]]


def test_a_lidar_buffer_of_broken_points_is_refused():
    with pytest.raises(ValueError, match="7 float32 values is not a whole number"):
        convert.lidar_to_points(np.zeros(7, np.float32).tobytes())


def test_camera_intrinsics_of_a_90_degree_carla_camera():
    k = convert.camera_intrinsics(800, 600, 90.0)
    assert isinstance(k, CameraIntrinsics)
    assert (k.fx, k.fy, k.cx, k.cy) == pytest.approx((400.0, 400.0, 399.5, 299.5))


def sweep(frame: int) -> np.ndarray:
    return np.full((3, 4), frame, np.float32)


def test_ten_consecutive_partial_sweeps_make_one_scan_at_10_hz_and_a_10_ms_tick():
    sweeps = convert.PartialSweeps(rotation_frequency_hz=10.0, delta_s=0.01)
    for frame in range(100, 109):
        sweeps.add(frame, sweep(frame))
        assert sweeps.full() is None
    sweeps.add(109, sweep(109))
    scan = sweeps.full()
    assert scan.shape == (30, 4) and np.unique(scan[:, 0]).tolist() == list(range(100, 110))
    assert sweeps.full() is None


def test_a_missed_frame_drops_the_turn_in_progress():
    sweeps = convert.PartialSweeps()
    for frame in (1, 2, 3, *range(5, 15)):
        sweeps.add(frame, sweep(frame))
    scan = sweeps.full()
    assert np.unique(scan[:, 0]).tolist() == list(range(5, 15)) and len(scan) == 30


def test_a_rotation_that_is_no_whole_number_of_ticks_is_refused():
    with pytest.raises(ValueError, match="not a whole number of 0.01 s ticks"):
        convert.PartialSweeps(rotation_frequency_hz=15.0, delta_s=0.01)
