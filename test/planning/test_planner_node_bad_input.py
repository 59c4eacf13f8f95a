"""The planner node keeps planning through bad input: each bad message counted on /diagnostics."""

import math

import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray
from nav_msgs.msg import Odometry
from sensor_msgs.msg import JointState, PointCloud2
from trajectory_msgs.msg import JointTrajectory

from robovan_autonomy import core_types as ct
from robovan_autonomy import interfaces as itf
from robovan_autonomy.planning.planner_node import PlannerNode


def odometry(t_s: float, **changes) -> Odometry:
    msg = itf.encode_odometry(ct.PoseEstimate(t_s, 10.0, -1.75, 0.0, 0.0, 0.0))
    for field, value in changes.items():
        setattr(msg.pose.pose.position, field, value)
    return msg


def objects(t_s: float, rows: int = 1, frame_id: str = ct.MAP_FRAME) -> PointCloud2:
    return itf.encode_objects(t_s, ct.empty_objects(rows), frame_id=frame_id)


def nan_status(t_s: float) -> JointState:
    msg = itf.encode_vehicle_status(ct.VehicleStatus(t_s, 0.0, 0.0, 0.0, 0.0))
    msg.position = [math.nan, 0.0]
    return msg


def wrong_frame_odometry(t_s: float) -> Odometry:
    msg = odometry(t_s)
    msg.header.frame_id = "odom"
    return msg


def traffic_lights(t_s: float, state: str = "red") -> DiagnosticArray:
    msg = itf.encode_traffic_lights(ct.TrafficLightStates(t_s, {1835: ct.TrafficLightState.RED}))
    msg.status[0].message = state
    return msg


# (message type, topic, messages made for time t, the diagnostics counter that rises)
BAD_INPUTS = {
    "nan": (Odometry, itf.ODOMETRY, lambda t: [odometry(t, x=math.nan)], "rejected_odometry"),
    "inf": (Odometry, itf.ODOMETRY, lambda t: [odometry(t, y=math.inf)], "rejected_odometry"),
    "nan_vehicle_status": (
        JointState,
        itf.VEHICLE_STATUS,
        lambda t: [nan_status(t)],
        "rejected_vehicle_status",
    ),
    "wrong_frame_id": (
        Odometry,
        itf.ODOMETRY,
        lambda t: [wrong_frame_odometry(t)],
        "rejected_odometry",
    ),
    "wrong_frame_objects": (
        PointCloud2,
        itf.OBJECTS,
        lambda t: [objects(t, frame_id="base_link")],
        "rejected_objects",
    ),
    "future_stamp": (Odometry, itf.ODOMETRY, lambda t: [odometry(t + 5.0)], "rejected_odometry"),
    "out_of_order_stamp": (
        PointCloud2,
        itf.OBJECTS,
        lambda t: [objects(t), objects(t - 0.5)],
        "rejected_objects",
    ),
    "unknown_signal_state": (
        DiagnosticArray,
        itf.TRAFFIC_LIGHTS,
        lambda t: [traffic_lights(t, state="flashing")],
        "rejected_traffic_lights",
    ),
    "oversized_objects": (
        PointCloud2,
        itf.OBJECTS,
        lambda t: [objects(t, rows=10_001)],
        "rejected_objects",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_a_diagnostic_and_the_planner_keeps_running(sim_graph, case):
    msg_type, topic, make, counter = BAD_INPUTS[case]
    sim_graph.add(PlannerNode)
    plans = sim_graph.collect(JointTrajectory, itf.PLANNING_COMMAND, itf.decode_control_command)
    diagnostics = sim_graph.collect(
        DiagnosticArray,
        itf.DIAGNOSTICS,
        lambda msg: [d for d in itf.decode_diagnostics(msg) if d.name.startswith("planner")],
    )
    publisher = sim_graph.publisher(msg_type, topic)
    sim_graph.run(0.3)
    for msg in make(sim_graph.t_s):
        publisher.publish(msg)
    bad_at = sim_graph.t_s
    sim_graph.run(0.5)
    assert int([d for batch in diagnostics for d in batch][-1].values[counter]) >= 1
    assert any(
        plan.start_s > bad_at + 0.3 and np.all(np.isfinite(plan.accel_mps2)) for plan in plans
    )


def planner_traffic_lights_notes(sim_graph):
    sim_graph.add(PlannerNode)
    return sim_graph.collect(
        DiagnosticArray,
        itf.DIAGNOSTICS,
        lambda msg: [
            d.values["traffic_lights"]
            for d in itf.decode_diagnostics(msg)
            if d.name.startswith("planner")
        ],
    )


def test_a_traffic_light_report_older_than_the_timeout_is_reported_stale(sim_graph):
    notes = planner_traffic_lights_notes(sim_graph)
    publisher = sim_graph.publisher(DiagnosticArray, itf.TRAFFIC_LIGHTS)
    sim_graph.run(0.3)
    publisher.publish(traffic_lights(sim_graph.t_s))
    sim_graph.run(0.2)
    assert [n for batch in notes for n in batch][-1] == "1 signals, 0.20 s old"
    sim_graph.run(0.5)
    assert [n for batch in notes for n in batch][-1].startswith("stale (0.70 s old)")


def test_without_a_traffic_light_report_the_planner_says_none_received(sim_graph):
    notes = planner_traffic_lights_notes(sim_graph)
    sim_graph.run(0.3)
    assert [n for batch in notes for n in batch][-1] == "none received"
