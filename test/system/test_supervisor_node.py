"""Supervisor node on a real rclpy graph, clocked in sim time by the test (conftest.sim_graph)."""

import math

import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray
from nav_msgs.msg import Odometry
from sensor_msgs.msg import Image, Imu, JointState, NavSatFix, PointCloud2
from std_srvs.srv import Trigger

from robovan_autonomy import core_types as ct
from robovan_autonomy import interfaces as itf
from robovan_autonomy.system.modes import OperatingMode
from robovan_autonomy.system.supervisor_node import SupervisorNode
from robovan_autonomy.vehicle_params import load_vehicle_params

VEHICLE = load_vehicle_params()
WAIT_STEPS = 500  # sim-time steps a service call may take: a hung graph, not a timing assertion


def diagnostics_of(graph, node_name: str) -> list:
    """The node's diagnostics, as (stamp, Diagnostic) batches (the test's own oversized ones
    skipped)."""

    def mine(msg):
        if len(msg.status) > itf.MAX_DIAGNOSTIC_STATUSES:
            return []
        return [
            (itf.from_stamp(msg.header.stamp), d)
            for d in itf.decode_diagnostics(msg)
            if d.name.startswith(node_name)
        ]

    return graph.collect(DiagnosticArray, itf.DIAGNOSTICS, mine)


def latest(diagnostics: list) -> ct.Diagnostic:
    return [d for batch in diagnostics for _, d in batch][-1]


def dbw_diagnostic(t_s: float, state: str) -> DiagnosticArray:
    return itf.encode_diagnostics(
        t_s, [ct.Diagnostic("dbw_bridge: dbw", ct.OK, f"van {state}", {"dbw_state": state})]
    )


def straight_plan(t_s: float, speed_mps: float) -> itf.ControlPlan:
    t = np.arange(0.0, 4.01, 0.1)
    return itf.ControlPlan(
        t_s, t, np.zeros_like(t), np.zeros_like(t), np.full_like(t, speed_mps), np.zeros_like(t)
    )


class EngagedVan:
    """Feeds the supervisor a healthy engaged van driving straight at `speed_mps` (watching only
    LiDAR, the van's status, the gate's commands and the bridge's diagnostics)."""

    PARAMS = {
        "watched_streams": ["lidar", "vehicle_status", "control_command"],
        "expected_nodes": ["dbw_bridge"],
    }

    def __init__(self, graph, road_scan):
        self.graph = graph
        self.road_scan = road_scan
        self.node = graph.add(SupervisorNode, **self.PARAMS)
        self.status_pub = graph.publisher(JointState, itf.VEHICLE_STATUS)
        self.gate = graph.command_gate()
        self.diag_pub = graph.publisher(DiagnosticArray, itf.DIAGNOSTICS)
        self.lidar_pub = graph.publisher(PointCloud2, itf.LIDAR_POINTS, itf.SENSOR_QOS)
        self.modes = graph.collect(DiagnosticArray, itf.SYSTEM_MODE, itf.decode_system_mode)
        self.clear_client = graph.probe.create_client(Trigger, itf.SYSTEM_CLEAR_MRM)
        self.speed_mps = 8.0
        self.obstacle_m: float | None = None

    def feed(self, t_s: float) -> None:
        self.status_pub.publish(
            itf.encode_vehicle_status(ct.VehicleStatus(t_s, 0.0, 0.0, self.speed_mps, 0.0))
        )
        if round(t_s * 100) % 10 == 0:
            self.gate.publish(straight_plan(t_s, self.speed_mps))
            self.diag_pub.publish(dbw_diagnostic(t_s, "ENGAGED"))
            self.lidar_pub.publish(self.scan(t_s))

    def scan(self, t_s: float) -> PointCloud2:
        """A street, plus a post obstacle_m past the front bumper when there is one."""
        post = None
        if self.obstacle_m is not None:
            x = VEHICLE.wheelbase_m + VEHICLE.front_overhang_m + self.obstacle_m
            post = np.column_stack([np.full(20, x), np.zeros(20), np.linspace(0.5, 1.5, 20)])
        return itf.encode_points(t_s, self.road_scan(t_s, post))

    def run(self, duration_s: float) -> None:
        self.graph.run(duration_s, lambda t: self.feed(t))

    @property
    def mode(self) -> OperatingMode:
        return self.modes[-1].mode

    def clear(self) -> Trigger.Response:
        future = self.clear_client.call_async(Trigger.Request())
        for _ in range(WAIT_STEPS):
            if future.done():
                return future.result()
            self.run(0.01)
        raise AssertionError("the clear service did not answer")


@pytest.fixture
def engaged_van(sim_graph, plausible):
    return EngagedVan(sim_graph, plausible.road_scan)


def test_engaged_van_with_a_healthy_stack_is_autonomous(engaged_van):
    van = engaged_van
    van.run(1.5)
    assert van.mode is OperatingMode.AUTONOMOUS


def test_engaged_van_with_lost_streams_is_held_ready_naming_them(sim_graph):
    sim_graph.add(SupervisorNode)
    diagnostics = diagnostics_of(sim_graph, "supervisor")
    diag_pub = sim_graph.publisher(DiagnosticArray, itf.DIAGNOSTICS)
    sim_graph.run(
        1.0,
        lambda t: (
            diag_pub.publish(dbw_diagnostic(t, "ENGAGED")) if round(t * 100) % 10 == 0 else None
        ),
    )
    status = latest(diagnostics)
    assert status.values["mode"] == "READY" and status.level == ct.ERROR
    assert "camera: nothing received" in status.values["findings"]


def test_lost_stream_while_autonomous_latches_a_comfortable_stop(sim_graph, engaged_van):
    van = engaged_van
    van.run(1.5)
    van.lidar_pub, silent = (
        sim_graph.publisher(PointCloud2, "/unused", itf.SENSOR_QOS),
        van.lidar_pub,
    )
    van.run(0.5)
    assert van.mode is OperatingMode.MRM_COMFORTABLE_STOP and "lidar" in van.modes[-1].reason
    van.lidar_pub = silent
    van.run(0.5)
    assert van.mode is OperatingMode.MRM_COMFORTABLE_STOP  # latched


def test_aeb_latches_an_emergency_stop_that_a_person_clears_at_rest(engaged_van):
    van = engaged_van
    van.run(1.5)
    van.obstacle_m = 3.0
    van.run(0.2)
    assert van.mode is OperatingMode.MRM_EMERGENCY_STOP and van.modes[-1].reason.startswith("AEB")
    refused = van.clear()
    assert not refused.success and "not at rest" in refused.message
    van.speed_mps, van.obstacle_m = 0.0, None
    van.run(0.2)
    assert van.clear().success
    van.run(0.1)
    assert van.mode is OperatingMode.AUTONOMOUS


def nan_imu(t_s: float):
    msg = itf.encode_imu(ct.ImuSample(t_s, np.zeros(3), np.array([0.0, 0.0, 9.81])))
    msg.linear_acceleration.x = math.nan
    return msg


def inf_odometry(t_s: float):
    msg = itf.encode_odometry(ct.PoseEstimate(t_s, 1.0, 2.0, 0.0, 1.0, 0.0))
    msg.pose.pose.position.x = math.inf
    return msg


def wrong_frame_scan(t_s: float):
    return itf.encode_points(t_s, np.zeros((10, 4), np.float32), frame_id="map")


def future_odometry(t_s: float):
    return itf.encode_odometry(ct.PoseEstimate(t_s + 5.0, 1.0, 2.0, 0.0, 1.0, 0.0))


def oversized_scan(t_s: float):
    msg = itf.encode_points(t_s, np.zeros((1, 4), np.float32))
    msg.width = itf.MAX_POINTS + 1
    return msg


def status_at(t_s: float):
    return itf.encode_vehicle_status(ct.VehicleStatus(t_s, 0.0, 0.0, 1.0, 0.0))


# (message type, topic, sensor QoS, messages made for time t, the diagnostics counter that rises)
BAD_INPUTS = {
    "nan": (Imu, itf.IMU_DATA, True, lambda t: [nan_imu(t)], "imu_rejected"),
    "inf": (Odometry, itf.ODOMETRY, False, lambda t: [inf_odometry(t)], "odometry_rejected"),
    "wrong_frame_id": (
        PointCloud2,
        itf.LIDAR_POINTS,
        True,
        lambda t: [wrong_frame_scan(t)],
        "lidar_rejected",
    ),
    "future_stamp": (
        Odometry,
        itf.ODOMETRY,
        False,
        lambda t: [future_odometry(t)],
        "odometry_rejected",
    ),
    "out_of_order_stamp": (
        JointState,
        itf.VEHICLE_STATUS,
        False,
        lambda t: [status_at(t), status_at(t - 0.5)],
        "vehicle_status_rejected",
    ),
    "oversized_point_cloud": (
        PointCloud2,
        itf.LIDAR_POINTS,
        True,
        lambda t: [oversized_scan(t)],
        "lidar_rejected",
    ),
    "oversized_diagnostics": (
        DiagnosticArray,
        itf.DIAGNOSTICS,
        False,
        lambda t: [
            itf.encode_diagnostics(
                t,
                [
                    ct.Diagnostic(f"planner: {i}", ct.OK, "")
                    for i in range(itf.MAX_DIAGNOSTIC_STATUSES + 1)
                ],
            )
        ],
        "rejected_diagnostics",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_a_diagnostic_and_the_supervisor_keeps_running(sim_graph, case):
    msg_type, topic, sensor, make, counter = BAD_INPUTS[case]
    sim_graph.add(SupervisorNode)
    diagnostics = diagnostics_of(sim_graph, "supervisor")
    modes = sim_graph.collect(DiagnosticArray, itf.SYSTEM_MODE, itf.decode_system_mode)
    publisher = sim_graph.publisher(msg_type, topic, itf.SENSOR_QOS if sensor else None)
    sim_graph.run(0.3)
    for msg in make(sim_graph.t_s):
        publisher.publish(msg)
    bad_at = sim_graph.t_s
    sim_graph.run(0.5)
    assert int(latest(diagnostics).values[counter]) >= 1
    assert any(m.stamp_s > bad_at + 0.3 for m in modes)


# -- lying streams -----------------------------------------------------------------------------
def test_a_lidar_sending_nan_clouds_on_time_starts_a_stop_within_half_a_second(engaged_van):
    van = engaged_van
    van.run(1.5)
    healthy_scan, fault_at = van.road_scan, van.graph.t_s
    van.road_scan = lambda t, post: np.full_like(healthy_scan(t, post), np.nan)
    van.run(0.5)
    stop = next(m for m in van.modes if m.mode.is_mrm)
    assert stop.stamp_s - fault_at <= 0.5 and "non-finite" in stop.reason


def test_a_frozen_lidar_starts_a_stop_naming_it(engaged_van):
    van = engaged_van
    van.run(1.5)
    frozen = van.road_scan(van.graph.t_s, None)
    van.road_scan = lambda t, post: frozen
    van.run(0.5)
    assert van.mode is OperatingMode.MRM_COMFORTABLE_STOP and "frozen" in van.modes[-1].reason


def test_a_gnss_receiver_that_lies_is_a_fault_though_its_silence_only_warns(sim_graph):
    sim_graph.add(SupervisorNode, watched_streams=["gnss"], expected_nodes=[""])
    diagnostics = diagnostics_of(sim_graph, "supervisor")
    fixes = sim_graph.publisher(NavSatFix, itf.GNSS_FIX, itf.SENSOR_QOS)

    def feed(t_s, latitude=52.5):
        if round(t_s * 100) % 10 == 0:
            lat = latitude + 1e-6 * t_s  # a van moving north
            fixes.publish(itf.encode_gnss_fix(ct.GnssFix(t_s, lat, 13.4, 38.0, True, np.eye(3))))

    sim_graph.run(1.0, feed)
    assert latest(diagnostics).level == ct.OK
    sim_graph.run(1.0, lambda t: feed(t, latitude=math.nan))
    status = latest(diagnostics)
    assert status.level == ct.ERROR and "status says fix" in status.values["findings"]


def test_the_camera_images_themselves_are_watched(sim_graph, plausible):
    sim_graph.add(SupervisorNode, watched_streams=["camera"], expected_nodes=[""])
    diagnostics = diagnostics_of(sim_graph, "supervisor")
    images = sim_graph.publisher(Image, itf.CAMERA_IMAGE, itf.SENSOR_QOS)
    black = np.zeros_like(plausible.camera_frame(0.0))

    def feed(t_s, frame=None):
        if round(t_s * 100) % 6 == 0:
            images.publish(
                itf.encode_image(t_s, plausible.camera_frame(t_s) if frame is None else frame)
            )

    sim_graph.run(1.0, feed)
    assert latest(diagnostics).level == ct.OK
    sim_graph.run(0.5, lambda t: feed(t, black))
    status = latest(diagnostics)
    assert status.level == ct.ERROR and "black frame" in status.values["findings"]


def test_a_clock_stepping_back_is_a_finding_not_every_input_in_the_future(engaged_van):
    van = engaged_van
    van.run(3.0)
    graph = van.graph
    graph.t_s -= 2.0  # /clock steps back; the van's streams keep their (now future) stamps
    feed_ahead = van.feed
    van.feed = lambda t: feed_ahead(t + 2.0)
    van.run(0.2)
    assert (
        van.mode is OperatingMode.MRM_COMFORTABLE_STOP
        and "clock stepped back" in van.modes[-1].reason
    )
