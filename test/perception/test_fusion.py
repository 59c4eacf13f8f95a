"""The pipeline: poses at sensor stamps, stamp order whatever the arrival order, waiting for and
giving up on odometry, and camera detections classifying LiDAR tracks (real model, rendered
frame)."""

import math

import numpy as np
import pytest

from robovan_autonomy.camera_model import CameraIntrinsics
from robovan_autonomy.core_types import PoseEstimate
from robovan_autonomy.perception.classes import ObjectClass
from robovan_autonomy.perception.detector import Detector
from robovan_autonomy.perception.fusion import FusionConfig, OdometryBuffer, PerceptionPipeline
from robovan_autonomy.perception.lidar_objects import LidarObjectDetector
from robovan_autonomy.perception.perception_node import DEFAULT_MODEL
from robovan_autonomy.perception.tracker import Tracker, shape_class
from robovan_autonomy.sim.camera import CameraRenderer
from robovan_autonomy.sim.lidar import LidarConfig, LidarModel
from robovan_autonomy.sim.scene import Box, Pose3, Scene
from robovan_autonomy.vehicle_params import load_vehicle_params

PARAMS = load_vehicle_params()
INTRINSICS = CameraIntrinsics.from_vehicle_params(PARAMS)


def pose(t, x=0.0, speed=0.0):
    return PoseEstimate(t, x, 0.0, 0.0, speed, 0.0)


def pipeline(detector=None, **config):
    lidar = LidarObjectDetector(PARAMS, PARAMS.sensor_pose("lidar_top"))
    return PerceptionPipeline(
        lidar, Tracker(), PARAMS.sensor_pose("camera_front"), detector, FusionConfig(**config)
    )


def test_odometry_is_interpolated_between_samples_and_extrapolated_briefly():
    buffer = OdometryBuffer()
    buffer.add(pose(1.0, x=10.0, speed=10.0))
    buffer.add(pose(1.1, x=11.0, speed=10.0))
    assert math.isclose(buffer.at(1.05, 0.1).x_m, 10.5)
    assert math.isclose(buffer.at(1.15, 0.1).x_m, 11.5)
    assert buffer.at(1.5, 0.1) is None and buffer.at(0.5, 0.1) is None


def test_messages_wait_for_their_pose_and_run_in_stamp_order():
    p = pipeline()
    empty = np.zeros((0, 4), np.float32)
    p.add_odometry(pose(0.0))
    p.add_lidar(0.2, empty)
    p.add_lidar(0.1, empty)
    assert p.process() == []  # no pose at their stamps yet
    p.add_odometry(pose(0.25))
    assert [o.stamp_s for o in p.process()] == [0.1, 0.2]
    assert not p.problems


def test_a_message_whose_pose_never_comes_is_dropped_and_reported():
    p = pipeline(max_wait_s=0.2)
    empty = np.zeros((0, 4), np.float32)
    p.add_odometry(pose(0.0))
    p.add_lidar(0.5, empty)
    p.add_lidar(0.8, empty)
    assert p.process() == []
    assert any("no pose" in text for text in p.problems)


def test_a_late_message_is_dropped_not_processed_out_of_order():
    p = pipeline()
    empty = np.zeros((0, 4), np.float32)
    p.add_odometry(pose(0.0))
    p.add_odometry(pose(0.3))
    p.add_lidar(0.2, empty)
    assert [o.stamp_s for o in p.process()] == [0.2]
    p.add_lidar(0.1, empty)
    assert any("after" in text for text in p.problems)


@pytest.fixture(scope="module")
def detector():
    return Detector(DEFAULT_MODEL)


def test_a_lidar_track_seen_by_the_camera_takes_the_cameras_class(detector):
    """A low van (1.9 m) has a car's size to the LiDAR; the camera tells it is a van."""
    lidar_model = LidarModel(LidarConfig.from_vehicle_params(PARAMS))
    renderer = CameraRenderer(INTRINSICS)
    scene = Scene()
    rider = Box(16.0, -3.5, 0.0, 0.0, 5.4, 2.0, 1.9, None, int(ObjectClass.VAN_TRUCK), 7)
    p = pipeline(detector)
    base = Pose3.from_xyz_ypr(0.0, 0.0, 0.0, 0.0)
    for k in range(12):
        t = round(k / 15.0, 6)
        moved = Box(
            rider.x_m + 4.0 * t,
            *(
                getattr(rider, f)
                for f in (
                    "y_m",
                    "z_base_m",
                    "yaw_rad",
                    "length_m",
                    "width_m",
                    "height_m",
                    "colour_bgr",
                    "class_id",
                    "object_id",
                )
            ),
        )
        scene.set_boxes([moved])
        p.add_odometry(pose(t))
        if k % 3 != 2:
            scan = lidar_model.scan(
                scene, base.compose(PARAMS.sensor_pose("lidar_top")), np.random.default_rng(k)
            )
            p.add_lidar(t, scan.points)
        frame = renderer.render(scene, base.compose(PARAMS.sensor_pose("camera_front")))
        p.add_camera(t, frame.image, INTRINSICS)
        outputs = p.process()
    objects = outputs[-1].objects
    assert len(objects) == 1
    assert p.tracker.tracks[0].class_id != shape_class(*p.tracker.tracks[0].size_m)
    assert objects["class_id"][0] == ObjectClass.VAN_TRUCK
    assert abs(objects["x"][0] - (16.0 + 4.0 * 11 / 15.0)) < 1.0


def test_a_person_takes_no_vote_from_a_car_box_it_only_lies_inside():
    """A walker in the gap between two parked cars projects inside the cars' image boxes."""
    from robovan_autonomy.perception.camera_projection import CameraProjection, box_corners
    from robovan_autonomy.perception.detector import Detections
    from robovan_autonomy.perception.fusion import match_detections
    from robovan_autonomy.perception.lidar_objects import LidarBoxes

    tracker = Tracker()
    for k in range(3):
        tracker.update_lidar(
            k * 0.1,
            LidarBoxes(
                np.array([15.0]),
                np.array([-3.0]),
                np.zeros(1),
                np.zeros(1),
                np.array([0.5]),
                np.array([0.5]),
                np.array([1.75]),
                np.array([40]),
                np.zeros(1),
                np.zeros(2),
            ),
        )
    (walker,) = tracker.tracks
    projection = CameraProjection(INTRINSICS, PARAMS.sensor_pose("camera_front"))
    size = tracker.box_size(walker)
    corners = box_corners(*(np.array([v]) for v in (15.0, -3.0, 0.0, 0.0, *size)))
    ((x0, y0, x1, y1),) = projection.project_boxes(corners)[0]
    half = 2.0 * (x1 - x0)  # a car-wide box around the walker, standing where the walker stands
    car = Detections(
        np.array([[x0 - half, y0 - 0.3 * (y1 - y0), x1 + half, y1]]),
        np.array([0.9]),
        np.array([int(ObjectClass.CAR)]),
    )
    assert walker.class_id == ObjectClass.PEDESTRIAN  # by its shape; no camera vote yet
    assert match_detections(tracker, pose(0.2), projection, car, FusionConfig()) == []
    walker.size_m[:] = 2.0  # a shape that tells no class: the car box may claim it
    assert len(match_detections(tracker, pose(0.2), projection, car, FusionConfig())) == 1
