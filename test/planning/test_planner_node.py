"""The planner node on a real rclpy graph: plans from odometry, stops on garbage, keeps running."""

import time

import pytest
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from nav_msgs.msg import Odometry
from rclpy.parameter import Parameter
from sensor_msgs.msg import PointCloud2
from trajectory_msgs.msg import JointTrajectory

from robovan_autonomy import core_types as ct
from robovan_autonomy import interfaces as itf
from robovan_autonomy.node_utils import ParameterError
from robovan_autonomy.planning.planner_node import PlannerNode
from robovan_autonomy.tools.lockstep import LockstepGraph


class Graph:
    def __init__(self, **overrides):
        self.graph = LockstepGraph()
        self.context, self.executor = self.graph.context, self.graph.executor
        params = [
            Parameter("mission_bays", value=["bay_D"]),
            Parameter("mission_dwell_s", value=[3.0]),
        ]
        params += [Parameter(k, value=v) for k, v in overrides.items()]
        self.planner = self.graph.add(PlannerNode(context=self.context, parameter_overrides=params))
        self.probe = self.graph.add(rclpy.create_node("probe", context=self.context))
        self.odometry = self.probe.create_publisher(Odometry, itf.ODOMETRY, itf.RELIABLE_QOS)
        self.objects = self.probe.create_publisher(PointCloud2, itf.OBJECTS, itf.RELIABLE_QOS)
        self.plans, self.diagnostics = [], []
        self.probe.create_subscription(
            JointTrajectory,
            itf.PLANNING_COMMAND,
            lambda m: self.plans.append(itf.decode_control_command(m)),
            itf.RELIABLE_QOS,
        )
        self.probe.create_subscription(
            DiagnosticArray,
            itf.DIAGNOSTICS,
            lambda m: self.diagnostics.extend(itf.decode_diagnostics(m)),
            itf.RELIABLE_QOS,
        )

    def now(self):
        return self.probe.get_clock().now().nanoseconds * 1e-9

    def feed(self, odometry_msg=None):
        now = self.now()
        msg = odometry_msg or itf.encode_odometry(ct.PoseEstimate(now, 100.0, -1.75, 0.0, 0.0, 0.0))
        msg.header.stamp = itf.to_stamp(now)
        self.odometry.publish(msg)
        self.objects.publish(itf.encode_objects(now, ct.empty_objects()))

    def spin_until(self, condition, timeout_s=10.0, feed=None):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not condition():
            if feed:
                feed()
            self.executor.spin_once(timeout_sec=0.02)
        return condition()

    def close(self):
        self.graph.close()


@pytest.fixture
def graph():
    g = Graph()
    yield g
    g.close()


def test_without_odometry_it_publishes_a_braking_plan_and_warns(graph):
    assert graph.spin_until(lambda: len(graph.plans) >= 2 and graph.diagnostics)
    assert graph.plans[-1].accel_mps2.max() <= 0.0
    assert any(d.level == ct.WARN and "odometry" in d.message for d in graph.diagnostics)


def test_with_odometry_and_objects_it_plans_to_drive(graph):
    assert graph.spin_until(
        lambda: any(p.speed_mps.max() > 0.5 for p in graph.plans), feed=graph.feed
    )


def test_odometry_in_a_wrong_frame_is_counted_and_the_node_keeps_planning(graph):
    def feed_garbage():
        msg = itf.encode_odometry(ct.PoseEstimate(graph.now(), 100.0, -1.75, 0.0, 0.0, 0.0))
        msg.header.frame_id = "odom"
        graph.feed(msg)

    assert graph.spin_until(
        lambda: any(d.values.get("rejected_odometry", "0") != "0" for d in graph.diagnostics),
        feed=feed_garbage,
    )
    count = len(graph.plans)
    assert graph.spin_until(lambda: len(graph.plans) > count + 2, feed=feed_garbage)
    assert graph.plans[-1].accel_mps2.max() <= 0.0


def test_a_second_object_table_for_the_same_scan_replaces_the_first(graph):
    """Perception publishes a scan's table, then again once the camera frame of that instant has
    named its objects: the second is the better one, not a stale repeat."""
    stamp = graph.now()
    named = ct.empty_objects(1)
    named["class_id"], named["track_id"], named["length"], named["width"] = 1, 7, 0.5, 0.5
    graph.objects.publish(itf.encode_objects(stamp, ct.empty_objects()))
    graph.objects.publish(itf.encode_objects(stamp, named))
    assert graph.spin_until(
        lambda: graph.planner.objects is not None and len(graph.planner.objects[1]) == 1
    )
    assert graph.planner.rejected["objects"] == 0


def test_mismatched_mission_lengths_stop_the_node_at_start_up():
    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        with pytest.raises(ParameterError, match="mission_dwell_s"):
            PlannerNode(
                context=context,
                parameter_overrides=[
                    Parameter("mission_bays", value=["bay_D"]),
                    Parameter("mission_dwell_s", value=[1.0, 2.0]),
                ],
            )
    finally:
        rclpy.try_shutdown(context=context)
