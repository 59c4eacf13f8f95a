"""The topic contract: every message round-trips through interfaces.py, and garbage is refused."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sensor_msgs.msg import CompressedImage, Image

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


def xyzi_points(count: int = 6) -> np.ndarray:
    points = np.arange(count * 4, dtype=np.float32).reshape(count, 4)
    points[:, 3] = np.arange(count) * 40  # intensities an 8-bit driver can send
    return points


def test_an_autoware_cloud_decodes_to_the_same_points_as_ours(foreign_cloud):
    points = xyzi_points()
    np.testing.assert_array_equal(
        itf.decode_points(foreign_cloud(points)),
        itf.decode_points(itf.encode_points(0.0, points)),
    )


def test_a_cloud_with_float64_coordinates_decodes_to_float32(foreign_cloud):
    layout = np.dtype([("x", "<f8"), ("y", "<f8"), ("z", "<f8"), ("intensity", "<f4")])
    decoded = itf.decode_points(foreign_cloud(xyzi_points(), layout))
    assert decoded.dtype == np.float32
    np.testing.assert_array_equal(decoded, xyzi_points())


def test_a_big_endian_cloud_decodes_to_the_same_points(foreign_cloud):
    layout = np.dtype([("x", ">f4"), ("y", ">f4"), ("z", ">f4"), ("intensity", ">u2")])
    np.testing.assert_array_equal(
        itf.decode_points(foreign_cloud(xyzi_points(), layout)), xyzi_points()
    )


def test_an_organised_cloud_with_padded_rows_decodes_every_row(foreign_cloud):
    cloud = foreign_cloud(xyzi_points(6), height=2, row_step=3 * 24 + 8)
    np.testing.assert_array_equal(itf.decode_point_rows(cloud), xyzi_points(6))


def test_a_cloud_without_intensity_decodes_with_zero_intensity(foreign_cloud):
    layout = np.dtype([("x", "<f4"), ("y", "<f4"), ("z", "<f4")])
    decoded = itf.decode_points(foreign_cloud(xyzi_points(), layout))
    np.testing.assert_array_equal(decoded[:, :3], xyzi_points()[:, :3])
    assert not decoded[:, 3].any()


def test_a_cloud_without_z_is_refused_naming_the_fields_it_has(foreign_cloud):
    layout = np.dtype([("x", "<f4"), ("y", "<f4"), ("intensity", "<f4")])
    with pytest.raises(itf.InterfaceError) as err:
        itf.decode_points(foreign_cloud(xyzi_points(), layout))
    assert str(err.value) == "point cloud: no field ['z']; the cloud has ['x', 'y', 'intensity']"


def test_a_cloud_with_an_intensity_of_another_type_is_refused_naming_the_accepted_ones(
    foreign_cloud,
):
    layout = np.dtype([("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("intensity", "<f8")])
    with pytest.raises(itf.InterfaceError, match=r"'intensity' is 1 × float64, expected one of"):
        itf.decode_points(foreign_cloud(xyzi_points(), layout))


def test_a_cloud_whose_field_ends_beyond_point_step_is_refused():
    msg = itf.encode_points(0.5, np.zeros((10, 4), np.float32))
    msg.point_step, msg.row_step = 12, 120
    msg.data = bytes(msg.data)[:120]
    with pytest.raises(itf.InterfaceError, match="'intensity' at offset 12 ends beyond point_step"):
        itf.decode_points(msg)


def test_a_cloud_whose_row_step_is_shorter_than_its_points_is_refused():
    msg = itf.encode_points(0.5, np.zeros((10, 4), np.float32))
    msg.row_step = 100
    with pytest.raises(itf.InterfaceError, match="row_step 100 is shorter"):
        itf.decode_points(msg)


def test_a_sensor_message_in_an_accepted_foreign_frame_decodes():
    msg = itf.encode_points(0.5, xyzi_points(), frame_id="velodyne_top")
    accepted = itf.sensor_frame_ids(["lidar_top=velodyne_top"])[ct.LIDAR_FRAME]
    np.testing.assert_array_equal(itf.decode_points(msg, accepted), xyzi_points())


def test_a_sensor_message_in_a_frame_not_accepted_is_refused_naming_the_accepted_ones():
    msg = itf.encode_points(0.5, xyzi_points(), frame_id="velodyne_front")
    with pytest.raises(itf.InterfaceError) as err:
        itf.decode_points(msg, ("lidar_top", "velodyne_top"))
    assert str(err.value) == (
        "point cloud: frame_id 'velodyne_front', expected one of ['lidar_top', 'velodyne_top']"
    )


def test_without_aliases_each_sensor_frame_accepts_only_itself():
    assert itf.sensor_frame_ids() == {frame: (frame,) for frame in ct.SENSOR_FRAMES}


def test_aliases_add_foreign_frame_ids_to_our_sensor_frames():
    accepted = itf.sensor_frame_ids(
        ["lidar_top=velodyne_top", "lidar_top=hesai_top", "camera_front=ego_vehicle/rgb_front"]
    )
    assert accepted[ct.LIDAR_FRAME] == ("lidar_top", "velodyne_top", "hesai_top")
    assert accepted[ct.CAMERA_FRAME] == ("camera_front", "ego_vehicle/rgb_front")
    assert accepted[ct.IMU_FRAME] == ("imu",)


@pytest.mark.parametrize(
    "entry, reason",
    [
        ("velodyne_top", "'velodyne_top' is not OURS=THEIRS"),
        ("lidar_top=", "'lidar_top=' is not OURS=THEIRS"),
        ("lidar=velodyne_top", "'lidar' is not one of our sensor frames"),
        ("map=odom", "'map' is not one of our sensor frames"),
        ("lidar_top=camera_front", "'camera_front' is one of our own frames"),
    ],
)
def test_a_bad_frame_alias_is_refused_naming_the_entry(entry, reason):
    with pytest.raises(ValueError, match=reason):
        itf.parse_frame_alias(entry)


def test_image_round_trips():
    image = np.random.default_rng(0).integers(0, 255, (54, 96, 3), dtype=np.uint8)
    np.testing.assert_array_equal(itf.decode_image(itf.encode_image(1.0, image)), image)


def raw_image(pixels: np.ndarray, encoding: str, step: int | None = None) -> Image:
    """An Image as another driver sends it: `pixels` (H, W, channels) in `encoding`, each row
    padded to `step` bytes."""
    height, width = pixels.shape[:2]
    row = pixels.reshape(height, -1)
    step = step or row.shape[1]
    padded = np.zeros((height, step), np.uint8)
    padded[:, : row.shape[1]] = row
    return Image(
        header=itf.header(1.0, ct.CAMERA_FRAME),
        height=height,
        width=width,
        encoding=encoding,
        step=step,
        data=padded.tobytes(),
    )


BGR = np.random.default_rng(1).integers(0, 255, (6, 8, 3), dtype=np.uint8)
GREY = np.repeat(BGR[:, :, :1], 3, axis=2)
ALPHA = np.full((6, 8, 1), 128, np.uint8)
ENCODED = {
    "bgr8": (BGR, BGR),
    "rgb8": (BGR[:, :, ::-1], BGR),
    "bgra8": (np.concatenate([BGR, ALPHA], axis=2), BGR),
    "rgba8": (np.concatenate([BGR[:, :, ::-1], ALPHA], axis=2), BGR),
    "mono8": (BGR[:, :, :1], GREY),
}


@pytest.mark.parametrize("encoding", sorted(ENCODED))
def test_each_accepted_encoding_decodes_to_the_same_bgr_pixels(encoding):
    pixels, bgr = ENCODED[encoding]
    np.testing.assert_array_equal(itf.decode_image(raw_image(pixels, encoding)), bgr)


def test_an_image_with_padded_rows_decodes_to_its_pixels():
    pixels, bgr = ENCODED["bgra8"]
    np.testing.assert_array_equal(itf.decode_image(raw_image(pixels, "bgra8", step=40)), bgr)


def test_an_image_whose_step_is_shorter_than_its_pixels_is_refused():
    msg = raw_image(ENCODED["bgra8"][0], "bgra8")
    msg.step, msg.data = 24, bytes(msg.data)[: 24 * msg.height]
    with pytest.raises(itf.InterfaceError, match="step 24, at least 32 for bgra8"):
        itf.decode_image(msg)


def test_an_image_in_an_unknown_encoding_is_refused_naming_the_accepted_ones():
    msg = itf.encode_image(1.0, np.zeros((4, 4, 3), np.uint8))
    msg.encoding = "yuv422"
    with pytest.raises(itf.InterfaceError) as err:
        itf.decode_image(msg)
    assert str(err.value) == (
        "image: encoding 'yuv422', expected one of ['bgr8', 'rgb8', 'bgra8', 'rgba8', 'mono8']"
    )


@pytest.mark.parametrize("extension", [".jpg", ".png"])
def test_a_compressed_image_decodes_to_bgr_pixels(extension):
    import cv2

    image = np.zeros((16, 16, 3), np.uint8)
    image[:, :, 2] = 200  # red: a swapped channel order would show as blue
    msg = CompressedImage(
        header=itf.header(1.0, ct.CAMERA_FRAME),
        format=extension[1:],
        data=cv2.imencode(extension, image)[1].tobytes(),
    )
    np.testing.assert_allclose(itf.decode_compressed_image(msg), image, atol=2)


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


def traffic_lights_message():
    lights = ct.TrafficLightStates(
        3.25,
        {
            1835: ct.TrafficLightState.RED,
            1836: ct.TrafficLightState.GREEN,
            2148: ct.TrafficLightState.AMBER,
            2149: ct.TrafficLightState.UNKNOWN,
        },
    )
    return lights, itf.encode_traffic_lights(lights, {1835: "I3_west"})


def test_traffic_lights_round_trip_every_state_by_element_id():
    lights, msg = traffic_lights_message()
    assert itf.decode_traffic_lights(msg) == lights
    assert [s.hardware_id for s in msg.status][:2] == ["I3_west", ""]
    assert [s.level[0] for s in msg.status] == [ct.OK, ct.OK, ct.OK, ct.WARN]


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("name", "I3_west", "is not a regulatory element id"),
        ("name", "-5", "is not a regulatory element id"),
        ("message", "flashing", "not one of red, amber, green, unknown"),
    ],
)
def test_a_traffic_light_status_that_breaks_the_contract_is_refused(field, value, reason):
    _, msg = traffic_lights_message()
    setattr(msg.status[1], field, value)
    with pytest.raises(itf.InterfaceError, match=reason):
        itf.decode_traffic_lights(msg)


def test_a_traffic_light_reported_twice_in_one_message_is_refused():
    _, msg = traffic_lights_message()
    msg.status[1].name = msg.status[0].name
    with pytest.raises(itf.InterfaceError, match="reported twice"):
        itf.decode_traffic_lights(msg)


def test_traffic_lights_outside_the_map_frame_are_refused():
    _, msg = traffic_lights_message()
    msg.header.frame_id = "base_link"
    with pytest.raises(itf.InterfaceError, match="frame_id 'base_link'"):
        itf.decode_traffic_lights(msg)


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


def test_canonical_cdr_zeroes_the_alignment_padding_rclpy_leaves_uninitialised():
    from rclpy.serialization import serialize_message

    cloud = serialize_message(itf.encode_points(0.01, np.ones((3, 4), np.float32), "lidar_top"))
    dirty = bytearray(cloud)
    dirty[26:28] = b"\xab\xcd"  # after the 10-byte frame name, before the 4-byte height
    msgtype = "sensor_msgs/msg/PointCloud2"
    assert itf.canonical_cdr(bytes(dirty), msgtype) == itf.canonical_cdr(cloud, msgtype)
    assert itf.canonical_cdr(cloud, msgtype)[26:28] == b"\x00\x00"
