"""A bag another tool recorded from other drivers plays into the stack: its topics renamed with
--remap, its sensor frames read as ours with --frame-alias, Autoware's cloud layout and CARLA's
bgra8 images decoded as they come. The bag is a shipped regression input rewritten by rosbags,
two seconds, with the perception and localization nodes running on it."""

import contextlib
import io
import json

import numpy as np
import pytest
from rclpy.serialization import deserialize_message, serialize_message
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, Imu, PointCloud2
from std_msgs.msg import Header

from robovan_autonomy import cli
from robovan_autonomy import interfaces as itf
from robovan_autonomy.tools import regression

CASE = "lead_car_hard_brake"
LIDAR_TOPIC, LIDAR_FRAME = "/sensing/lidar/top/pointcloud_raw_ex", "velodyne_top"  # Autoware
CAMERA_TOPIC, CAMERA_FRAME = "/carla/ego_vehicle/rgb_front/image", "ego_vehicle/rgb_front"
CAMERA_INFO_TOPIC = "/carla/ego_vehicle/rgb_front/camera_info"
IMU_TOPIC, IMU_FRAME = "/sensing/imu/tamagawa/imu_raw", "tamagawa/imu_link"


def reframed(msg_class, frame_id):
    def change(data: bytes) -> bytes:
        msg = deserialize_message(data, msg_class)
        msg.header.frame_id = frame_id
        return serialize_message(msg)

    return change


def autoware_cloud(foreign_cloud):
    def change(data: bytes) -> bytes:
        msg = deserialize_message(data, PointCloud2)
        points = itf.decode_point_rows(msg)
        points[:, 3] = np.nan_to_num(points[:, 3]).clip(0, 255)  # uint8 intensity
        cloud = foreign_cloud(points)
        cloud.header = Header(stamp=msg.header.stamp, frame_id=LIDAR_FRAME)
        return serialize_message(cloud)

    return change


def carla_image(data: bytes) -> bytes:
    msg = deserialize_message(data, CompressedImage)
    bgr = itf.decode_compressed_image(msg)
    height, width = bgr.shape[:2]
    bgra = np.concatenate([bgr, np.full((height, width, 1), 255, np.uint8)], axis=2)
    return serialize_message(
        Image(
            header=Header(stamp=msg.header.stamp, frame_id=CAMERA_FRAME),
            height=height,
            width=width,
            encoding="bgra8",
            step=width * 4,
            data=bgra.tobytes(),
        )
    )


@pytest.fixture(scope="module")
def foreign_bag(tmp_path_factory, rewrite, foreign_cloud):
    return rewrite(
        regression.load_cases()[CASE].input_bag,
        tmp_path_factory.mktemp("foreign") / "bag",
        storage="mcap",
        keep={
            itf.CLOCK,
            itf.LIDAR_POINTS,
            itf.CAMERA_COMPRESSED,
            itf.CAMERA_INFO,
            itf.IMU_DATA,
            itf.GNSS_FIX,
            itf.VEHICLE_STATUS,
        },
        rename={
            itf.LIDAR_POINTS: LIDAR_TOPIC,
            itf.CAMERA_COMPRESSED: CAMERA_TOPIC,
            itf.CAMERA_INFO: CAMERA_INFO_TOPIC,
            itf.IMU_DATA: IMU_TOPIC,
        },
        convert={
            itf.LIDAR_POINTS: ("sensor_msgs/msg/PointCloud2", autoware_cloud(foreign_cloud)),
            itf.CAMERA_COMPRESSED: ("sensor_msgs/msg/Image", carla_image),
            itf.CAMERA_INFO: ("sensor_msgs/msg/CameraInfo", reframed(CameraInfo, CAMERA_FRAME)),
            itf.IMU_DATA: ("sensor_msgs/msg/Imu", reframed(Imu, IMU_FRAME)),
        },
    )


@pytest.fixture(scope="module")
def replayed(foreign_bag, tmp_path_factory):
    """(exit status, output folder, report, printout) of `robovan replay` on the foreign bag."""
    out = tmp_path_factory.mktemp("replay")
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        status = cli.main(
            [
                "replay",
                str(foreign_bag),
                "--out",
                str(out),
                "--deterministic",
                "--scenario",
                CASE,
                "--remap",
                f"{LIDAR_TOPIC}:={itf.LIDAR_POINTS}",
                "--remap",
                f"{CAMERA_TOPIC}:={itf.CAMERA_IMAGE}",
                "--remap",
                f"{CAMERA_INFO_TOPIC}:={itf.CAMERA_INFO}",
                "--remap",
                f"{IMU_TOPIC}:={itf.IMU_DATA}",
                "--frame-alias",
                f"lidar_top={LIDAR_FRAME}",
                "--frame-alias",
                f"camera_front={CAMERA_FRAME}",
                "--frame-alias",
                f"imu={IMU_FRAME}",
            ]
        )
    return status, out, json.loads((out / "report.json").read_text()), stdout.getvalue()


def test_a_foreign_bag_plays_every_input_under_the_names_given_by_remap(replayed):
    status, _, report, _ = replayed
    assert status == 0 and report["complete"]
    assert set(report["inputs"]) == {
        itf.LIDAR_POINTS,
        itf.CAMERA_IMAGE,
        itf.CAMERA_INFO,
        itf.IMU_DATA,
        itf.GNSS_FIX,
        itf.VEHICLE_STATUS,
    }
    assert all(feed["played"] > 0 for feed in report["inputs"].values())


def test_its_aliased_frames_autoware_clouds_and_bgra8_images_are_decoded_none_rejected(replayed):
    _, _, report, _ = replayed
    perception = report["diagnostics"]["perception"]["last"]
    localization = report["diagnostics"]["localization"]["last"]
    for kind in ("points", "image", "camera_info"):
        assert perception[f"rejected_{kind}"] == "0", kind
    assert not [key for key in localization if key.endswith("_invalid")]


def test_it_replays_to_the_outputs_of_the_bag_it_was_rewritten_from(replayed, tmp_path):
    _, out, report, _ = replayed
    assert report["outputs"][itf.OBJECTS] > 0 and report["outputs"][itf.ODOMETRY] > 0
    source = regression.load_cases()[CASE].input_bag
    assert cli.main(["replay", str(source), "--out", str(tmp_path), "--deterministic"]) == 0
    assert regression.compare_outputs(out / "run", tmp_path / "run") == []


def test_the_printout_names_the_bag_topics_it_did_not_play(replayed):
    _, _, _, printout = replayed
    assert "bag topics not played" in printout and printout.rstrip().endswith(": /clock")


def test_a_frame_alias_for_a_frame_that_is_not_ours_is_refused_naming_it(capsys):
    with pytest.raises(SystemExit) as exit_status:
        cli.main(["replay", "bag", "--frame-alias", "lidar=velodyne_top"])
    assert exit_status.value.code == 2
    assert "'lidar' is not one of our sensor frames" in capsys.readouterr().err
