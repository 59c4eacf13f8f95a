"""The perception node on a real rclpy graph: tracks from LiDAR scans stamped with their scan's
stamp, garbage input reported on /diagnostics and skipped, and the node goes on."""

import time

import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray
from nav_msgs.msg import Odometry
from sensor_msgs.msg import Image, PointCloud2, PointField

from robovan_autonomy import core_types as ct
from robovan_autonomy import interfaces as itf
from robovan_autonomy.node_utils import ParameterError
from robovan_autonomy.perception.classes import ObjectClass
from robovan_autonomy.perception.perception_node import PerceptionNode
from robovan_autonomy.sim.lidar import LidarConfig, LidarModel
from robovan_autonomy.sim.scene import Box, Pose3, Scene
from robovan_autonomy.vehicle_params import load_vehicle_params

PARAMS = load_vehicle_params()
WAIT_WALL_S = 5.0  # guard against a hung graph, never a timing assertion


def walker_scan(seed: int) -> np.ndarray:
    scene = Scene()
    scene.set_boxes(
        [Box(12.0, 1.0, 0.0, 0.0, 0.6, 0.6, 1.75, None, int(ObjectClass.PEDESTRIAN), 1)]
    )
    lidar = LidarModel(LidarConfig.from_vehicle_params(PARAMS))
    pose = Pose3.from_xyz_ypr(0.0, 0.0, 0.0, 0.0).compose(PARAMS.sensor_pose("lidar_top"))
    return lidar.scan(scene, pose, np.random.default_rng(seed)).points


def perception_graph(sim_graph, **parameters):
    sim_graph.node = sim_graph.add(PerceptionNode, map_file="", **parameters)
    sim_graph.odometry = sim_graph.publisher(Odometry, itf.ODOMETRY)
    sim_graph.points = sim_graph.publisher(PointCloud2, itf.LIDAR_POINTS, itf.SENSOR_QOS)
    sim_graph.image = sim_graph.publisher(Image, itf.CAMERA_IMAGE, itf.SENSOR_QOS)
    sim_graph.objects = sim_graph.collect(
        PointCloud2, itf.OBJECTS, lambda m: (itf.from_stamp(m.header.stamp), itf.decode_objects(m))
    )
    sim_graph.diagnostics = sim_graph.collect(
        DiagnosticArray, itf.DIAGNOSTICS, itf.decode_diagnostics
    )
    return sim_graph


@pytest.fixture
def graph(sim_graph):
    return perception_graph(sim_graph)


def rejected(graph, kind: str) -> int:
    """The node's count of rejected inputs of one kind, as /diagnostics last said it."""
    reports = [d for batch in graph.diagnostics for d in batch]
    return max([int(d.values[f"rejected_{kind}"]) for d in reports], default=0)


def step_until(graph, condition) -> None:
    """Step sim time until condition holds: large messages reach a reader on a DDS thread, so
    they may land a few steps after they were sent (bounded in wall time, never asserted on)."""
    deadline = time.monotonic() + WAIT_WALL_S
    while not condition() and time.monotonic() < deadline:
        graph.step()


def feed_scans(graph, count: int, first: int = 0, frame_id: str = ct.LIDAR_FRAME) -> None:
    for k in range(first, first + count):
        graph.step(0.1)
        t = graph.t_s
        graph.odometry.publish(itf.encode_odometry(ct.PoseEstimate(t, 0.0, 0.0, 0.0, 0.0, 0.0)))
        graph.points.publish(itf.encode_points(t, walker_scan(k), frame_id))
        graph.drain()
    last = graph.t_s
    step_until(graph, lambda: bool(graph.objects) and graph.objects[-1][0] == pytest.approx(last))


def test_scans_become_a_tracked_pedestrian_stamped_with_the_scan(graph):
    feed_scans(graph, 4)
    stamp, table = graph.objects[-1]
    assert stamp == pytest.approx(0.4)
    assert len(table) == 1 and table["class_id"][0] == ObjectClass.PEDESTRIAN
    assert abs(table["x"][0] - 12.0) < 0.3 and abs(table["y"][0] - 1.0) < 0.3


def test_garbage_images_and_clouds_are_reported_and_the_node_keeps_tracking(graph):
    graph.step()
    wrong_encoding = itf.encode_image(graph.t_s, np.zeros((540, 960, 3), np.uint8))
    wrong_encoding.encoding = "yuv422"
    empty = Image(header=itf.header(graph.t_s, ct.CAMERA_FRAME), encoding="bgr8")
    bad_fields = itf.encode_points(graph.t_s, np.zeros((10, 4), np.float32))
    bad_fields.fields = [PointField(name="x", offset=0, datatype=PointField.FLOAT32, count=1)]
    truncated = itf.encode_points(graph.t_s, np.zeros((10, 4), np.float32))
    truncated.data = bytes(truncated.data)[:-7]
    for msg in (wrong_encoding, empty):
        graph.image.publish(msg)
    for msg in (bad_fields, truncated):
        graph.points.publish(msg)

    step_until(graph, lambda: rejected(graph, "image") == 2 and rejected(graph, "points") == 2)
    warnings = [d for batch in graph.diagnostics for d in batch if d.level == ct.WARN]
    assert warnings and all("rejected input" in d.message for d in warnings)
    assert rejected(graph, "image") == 2 and rejected(graph, "points") == 2
    feed_scans(graph, 4)
    assert len(graph.objects[-1][1]) == 1


def test_scans_in_a_foreign_frame_given_as_an_alias_are_tracked_and_none_rejected(sim_graph):
    graph = perception_graph(sim_graph, frame_aliases=["lidar_top=velodyne_top"])
    feed_scans(graph, 4, frame_id="velodyne_top")
    assert len(graph.objects[-1][1]) == 1
    assert graph.diagnostics and rejected(graph, "points") == 0


def test_scans_in_a_foreign_frame_without_an_alias_are_counted_as_rejected(graph):
    for _ in range(4):
        graph.step(0.1)
        graph.points.publish(itf.encode_points(graph.t_s, walker_scan(0), "velodyne_top"))
    step_until(graph, lambda: rejected(graph, "points") == 4)
    assert rejected(graph, "points") == 4
    assert "frame_id 'velodyne_top'" in graph.diagnostics[-1][0].values["last_problem"]


def test_a_bad_frame_alias_stops_the_node_at_start_up(sim_graph):
    with pytest.raises(
        ParameterError,
        match=r"perception.ros__parameters.frame_aliases: 'lidar=velodyne_top': 'lidar' is not "
        "one of our sensor frames",
    ):
        sim_graph.add(PerceptionNode, map_file="", frame_aliases=["lidar=velodyne_top"])


def test_a_missing_model_stops_the_node_at_start_up(sim_graph, tmp_path):
    with pytest.raises(ParameterError, match="model_path.*no such model file"):
        sim_graph.add(PerceptionNode, map_file="", model_path=str(tmp_path / "absent.onnx"))
