"""The localization node on a real rclpy graph in lockstep on sim time, fed by the simulator's
own node (IMU, GNSS, LiDAR of the district) and a probe publishing /vehicle/status: it starts,
publishes odometry at 50 Hz near the truth, and counts every kind of garbage on /diagnostics
without letting it touch the estimate or stopping."""

import math

import numpy as np
import pytest
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from nav_msgs.msg import Odometry
from rclpy.parameter import Parameter
from sensor_msgs.msg import Imu, JointState, NavSatFix, NavSatStatus, PointCloud2

from robovan_autonomy import core_types as ct
from robovan_autonomy import interfaces as itf
from robovan_autonomy.localization.localization_node import LocalizationNode
from robovan_autonomy.mapping.lanelet_map import load_map
from robovan_autonomy.sim.scenario import load_scenario
from robovan_autonomy.sim.simulator_node import SimulatorNode
from robovan_autonomy.sim.world import STEP_S, SimWorld
from robovan_autonomy.tools.lockstep import LockstepGraph
from robovan_autonomy.vehicle_params import load_vehicle_params

SCENARIO = "corridor_cruise"
QUIET_S = 0.25  # only the clock runs at first: nothing to localize from yet
GARBAGE_AT_S = 1.5
RUN_S = 2.5


class Graph:
    """Simulator node, localization node and a probe on one executor, stepped tick by tick."""

    def __init__(self):
        scenario = load_scenario(SCENARIO)
        self.world = SimWorld(scenario, load_map(scenario.map_path), load_vehicle_params())
        self.graph = LockstepGraph()
        self.context = self.graph.context
        sim_time = [Parameter("use_sim_time", value=True)]
        self.sim = SimulatorNode(
            self.world, record_camera_jpeg=False, context=self.context, parameter_overrides=sim_time
        )
        self.node = LocalizationNode(context=self.context, parameter_overrides=sim_time)
        self.probe = rclpy.create_node("probe", context=self.context, parameter_overrides=sim_time)
        self.status = self.probe.create_publisher(JointState, itf.VEHICLE_STATUS, itf.RELIABLE_QOS)
        self.garbage = {
            topic: self.probe.create_publisher(kind, topic, itf.SENSOR_QOS)
            for topic, kind in (
                (itf.GNSS_FIX, NavSatFix),
                (itf.IMU_DATA, Imu),
                (itf.LIDAR_POINTS, PointCloud2),
            )
        }
        self.odometry, self.diagnostics, self.debug = [], [], {}
        self.probe.create_subscription(
            Odometry,
            itf.ODOMETRY,
            lambda m: self.odometry.append((self.t, itf.decode_odometry(m))),
            itf.RELIABLE_QOS,
        )
        self.probe.create_subscription(
            DiagnosticArray,
            itf.DIAGNOSTICS,
            lambda m: self.diagnostics.extend(
                d for d in itf.decode_diagnostics(m) if d.name == "localization"
            ),
            itf.RELIABLE_QOS,
        )
        for topic in (itf.LOCALIZATION_DEBUG_GNSS_ONLY, itf.LOCALIZATION_DEBUG_ODOMETRY_ONLY):
            self.probe.create_subscription(
                Odometry,
                topic,
                lambda m, topic=topic: self.debug.setdefault(topic, []).append(
                    itf.decode_odometry(m)
                ),
                itf.RELIABLE_QOS,
            )
        for node in (self.sim, self.node, self.probe):
            self.graph.add(node)
        self.t = 0.0

    def drain(self):
        self.graph.drain()

    def tick(self, extra=None):
        self.t = round(self.t + STEP_S, 9)
        self.world.advance_actors(self.t)
        sensing = self.t > QUIET_S
        for name, reading in (
            self.world.sensor_outputs(self.t, {"imu", "gnss", "lidar"}) if sensing else ()
        ):
            self.sim.publish_output(name, reading)
        if sensing and round(self.t / STEP_S) % 2 == 0:
            self.status.publish(
                itf.encode_vehicle_status(ct.VehicleStatus(self.t, 0.0, 0.0, 0.0, 0.0))
            )
        if extra is not None:
            extra(self)
        self.sim.publish_clock(self.t)
        self.drain()

    def close(self):
        self.graph.close()


def publish_garbage(graph):
    """One of each kind of bad input, all at once."""
    t = graph.t
    gnss = graph.garbage[itf.GNSS_FIX]
    for status, dt in (
        (NavSatStatus.STATUS_GBAS_FIX, -0.002),
        (NavSatStatus.STATUS_NO_FIX, -0.001),
    ):
        gnss.publish(
            NavSatFix(
                header=itf.header(t + dt, ct.GNSS_FRAME),
                latitude=math.nan,
                longitude=math.nan,
                altitude=math.nan,
                status=NavSatStatus(status=status),
            )
        )
    lat, lon, alt = graph.world.district.to_geodetic(20.0, -1.75)
    gnss.publish(
        NavSatFix(
            header=itf.header(t + 0.001, ct.GNSS_FRAME),
            latitude=lat,
            longitude=lon,
            altitude=alt,
            status=NavSatStatus(status=NavSatStatus.STATUS_NO_FIX),
        )
    )
    far = graph.world.district.to_geodetic(20.0 + 4000.0, -1.75)
    gnss.publish(itf.encode_gnss_fix(ct.GnssFix(t + 0.002, *far, True, np.eye(3) * 1e-3)))
    graph.garbage[itf.IMU_DATA].publish(
        itf.encode_imu(ct.ImuSample(t - 0.5, np.zeros(3), np.zeros(3)))
    )
    wrong_frame = itf.encode_imu(ct.ImuSample(t + 0.003, np.zeros(3), np.zeros(3)))
    wrong_frame.header.frame_id = "base_link"
    graph.garbage[itf.IMU_DATA].publish(wrong_frame)
    graph.garbage[itf.LIDAR_POINTS].publish(
        itf.encode_points(t + 0.004, np.zeros((0, 4), np.float32))
    )
    broken = itf.encode_points(t + 0.005, np.ones((10, 4), np.float32))
    broken.point_step = 12
    graph.garbage[itf.LIDAR_POINTS].publish(broken)
    bad_status = itf.encode_vehicle_status(ct.VehicleStatus(t, 0.0, 0.0, 0.0, 0.0))
    bad_status.name = ["wheel", "drive"]
    graph.status.publish(bad_status)


@pytest.fixture(scope="module")
def run():
    graph = Graph()
    try:
        while graph.t < RUN_S - 1e-9:
            at_garbage = abs(graph.t + STEP_S - GARBAGE_AT_S) < 1e-9
            graph.tick(publish_garbage if at_garbage else None)
        yield graph
    finally:
        graph.close()


def truth(graph):
    van = graph.world.van
    return np.array([van.x_m, van.y_m, van.yaw_rad])


def test_node_starts_and_publishes_odometry_at_50_hz_near_the_truth(run):
    stamps = np.array([est.stamp_s for _, est in run.odometry])
    assert len(stamps) >= 0.9 * 50 * (RUN_S - QUIET_S)
    np.testing.assert_allclose(np.diff(stamps), 0.02, atol=1e-6)
    for _, est in run.odometry:
        assert math.hypot(est.x_m - truth(run)[0], est.y_m - truth(run)[1]) < 0.1
        assert abs(math.remainder(est.yaw_rad - truth(run)[2], math.tau)) < 0.01


def test_odometry_is_stamped_with_the_measurements_it_includes_never_ahead(run):
    """On the IMU's grid, never after the tick the probe got it in, at most one output period
    (and the tick the delivery to the probe may take) behind it."""
    assert all(est.stamp_s <= received + 1e-9 for received, est in run.odometry)
    assert all(received - est.stamp_s <= 0.02 + STEP_S + 1e-9 for received, est in run.odometry)
    imu_period_s = 1.0 / load_vehicle_params().sensors["imu"]["rate_hz"]
    assert all(
        abs(est.stamp_s / imu_period_s - round(est.stamp_s / imu_period_s)) < 1e-6
        for _, est in run.odometry
    )


def test_odometry_carries_a_positive_pose_covariance(run):
    cov = run.odometry[-1][1].pose_covariance
    planar = cov[np.ix_([0, 1, 5], [0, 1, 5])]
    assert np.linalg.eigvalsh(planar).min() > 0.0
    assert math.sqrt(cov[0, 0]) < 0.1


def test_every_kind_of_garbage_is_counted_on_diagnostics(run):
    values = run.diagnostics[-1].values
    for counter in (
        "rejected_gnss_invalid",
        "rejected_gnss_nan",
        "rejected_gnss_no_fix",
        "rejected_gnss_off_map",
        "rejected_imu_out_of_order",
        "rejected_imu_invalid",
        "rejected_lidar_empty",
        "rejected_lidar_invalid",
        "rejected_vehicle_status_invalid",
    ):
        assert int(values.get(counter, 0)) >= 1, counter


def test_garbage_leaves_the_estimate_on_the_truth_and_the_node_running(run):
    after = [est for received, est in run.odometry if received > GARBAGE_AT_S]
    assert len(after) >= 0.9 * 50 * (RUN_S - GARBAGE_AT_S)
    assert max(math.hypot(est.x_m - truth(run)[0], est.y_m - truth(run)[1]) for est in after) < 0.1


def test_diagnostics_report_tracking_with_full_confidence(run):
    last = run.diagnostics[-1]
    assert last.level == ct.OK
    assert last.values["state"] == "TRACKING"
    assert float(last.values["confidence"]) == 1.0
    assert float(last.values["speed_cap_mps"]) == pytest.approx(
        load_vehicle_params().max_speed_odd_mps
    )


def test_diagnostics_say_initialising_before_the_first_estimate(run):
    first = run.diagnostics[0]
    assert first.values["state"] == "INITIALIZING" and first.level == ct.WARN


def test_odometry_only_estimate_is_published_for_reports(run):
    odometry_only = run.debug[itf.LOCALIZATION_DEBUG_ODOMETRY_ONLY]
    assert len(odometry_only) >= 40
    assert (
        math.hypot(odometry_only[-1].x_m - truth(run)[0], odometry_only[-1].y_m - truth(run)[1])
        < 0.1
    )
