"""Command gate node on a real rclpy graph, clocked in sim time by the test (conftest.sim_graph)."""

import math

import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray
from sensor_msgs.msg import JointState
from trajectory_msgs.msg import JointTrajectory

from robovan_autonomy import core_types as ct
from robovan_autonomy import interfaces as itf
from robovan_autonomy.system import mrm
from robovan_autonomy.system.command_gate import MODE_TIMEOUT_S
from robovan_autonomy.system.command_gate_node import CommandGateNode
from robovan_autonomy.system.modes import OperatingMode


def plan_msg(stamp_s: float, points: int = 41, steer: float = 0.0) -> JointTrajectory:
    t = 0.05 + 0.1 * np.arange(points)
    return itf.encode_control_command(
        itf.ControlPlan(
            stamp_s,
            t,
            np.full_like(t, steer),
            np.zeros_like(t),
            np.full_like(t, 5.0),
            np.zeros_like(t),
        )
    )


def mode_msg(t_s: float, mode: OperatingMode) -> DiagnosticArray:
    return itf.encode_system_mode(ct.SystemMode(t_s, mode))


class Rig:
    def __init__(self, graph):
        self.graph = graph
        graph.add(CommandGateNode)
        self.plans = graph.publisher(JointTrajectory, itf.PLANNING_COMMAND)
        self.modes = graph.publisher(DiagnosticArray, itf.SYSTEM_MODE)
        self.status = graph.publisher(JointState, itf.VEHICLE_STATUS)
        self.out = graph.collect(JointTrajectory, itf.CONTROL_COMMAND, itf.decode_control_command)
        self.diagnostics = graph.collect(
            DiagnosticArray,
            itf.DIAGNOSTICS,
            lambda msg: [
                d for d in itf.decode_diagnostics(msg) if d.name.startswith("command_gate")
            ],
        )
        self.mode = OperatingMode.AUTONOMOUS

    def feed(self, t_s: float) -> None:
        self.status.publish(itf.encode_vehicle_status(ct.VehicleStatus(t_s, 0.0, 0.0, 5.0, 0.0)))
        if self.mode is not None and round(t_s * 100) % 5 == 0:
            self.modes.publish(mode_msg(t_s, self.mode))

    def run(self, duration_s: float) -> None:
        self.graph.run(duration_s, self.feed)

    def latest_diagnostic(self) -> ct.Diagnostic:
        return [d for batch in self.diagnostics for d in batch][-1]


def test_autonomous_plans_go_out_with_their_stamp(sim_graph):
    rig = Rig(sim_graph)
    rig.mode = OperatingMode.READY  # the gate's own hold plans flow until the topic is matched
    rig.run(0.3)
    rig.mode = OperatingMode.AUTONOMOUS
    rig.run(0.1)
    stamp = sim_graph.t_s - 0.05
    rig.plans.publish(plan_msg(stamp, steer=0.01))
    sim_graph.step()  # taken in this tick (after the gate's timer ran), sent at the next
    sim_graph.step()
    sim_graph.wait_for(lambda: rig.out[-1].stamp_s == pytest.approx(stamp))
    np.testing.assert_allclose(rig.out[-1].steer_rad, 0.01)


def test_minimal_risk_mode_sends_the_stop_instead_of_the_plans(sim_graph):
    rig = Rig(sim_graph)
    rig.run(0.3)
    rig.plans.publish(plan_msg(sim_graph.t_s - 0.05))
    rig.mode = OperatingMode.MRM_COMFORTABLE_STOP
    rig.run(0.1)
    rig.plans.publish(plan_msg(sim_graph.t_s - 0.05))
    rig.run(0.1)
    assert all(
        plan.accel_mps2.min() == pytest.approx(-mrm.COMFORTABLE_DECEL_MPS2) for plan in rig.out[-3:]
    )


def test_silent_supervisor_makes_the_gate_stop_the_van(sim_graph):
    rig = Rig(sim_graph)
    rig.run(0.3)
    rig.mode = None
    rig.run(MODE_TIMEOUT_S + 0.1)
    assert rig.out[-1].accel_mps2.min() == pytest.approx(-mrm.COMFORTABLE_DECEL_MPS2)
    rig.run(0.2)
    assert rig.latest_diagnostic().level == ct.ERROR


def nan_plan(t_s):
    msg = plan_msg(t_s)
    msg.points[3].accelerations[1] = math.nan
    return msg


def inf_plan(t_s):
    msg = plan_msg(t_s)
    msg.points[0].positions[0] = math.inf
    return msg


def wrong_frame_plan(t_s):
    msg = plan_msg(t_s)
    msg.header.frame_id = "map"
    return msg


def unknown_mode(t_s):
    msg = mode_msg(t_s, OperatingMode.AUTONOMOUS)
    msg.status[0].message = "TURBO"
    return msg


def nan_status(t_s):
    msg = itf.encode_vehicle_status(ct.VehicleStatus(t_s, 0.0, 0.0, 0.0, 0.0))
    msg.velocity = [0.0, math.nan]
    return msg


# (topic, messages made for time t, the diagnostics counter that rises)
BAD_INPUTS = {
    "nan": (itf.PLANNING_COMMAND, lambda t: [nan_plan(t)], "rejected_planning_command"),
    "inf": (itf.PLANNING_COMMAND, lambda t: [inf_plan(t)], "rejected_planning_command"),
    "wrong_frame_id": (
        itf.PLANNING_COMMAND,
        lambda t: [wrong_frame_plan(t)],
        "rejected_planning_command",
    ),
    "future_stamp": (
        itf.PLANNING_COMMAND,
        lambda t: [plan_msg(t + 5.0)],
        "rejected_planning_command",
    ),
    "out_of_order_stamp": (
        itf.PLANNING_COMMAND,
        lambda t: [plan_msg(t), plan_msg(t - 0.1)],
        "rejected_planning_command",
    ),
    "oversized_plan": (
        itf.PLANNING_COMMAND,
        lambda t: [plan_msg(t, points=itf.MAX_PLAN_POINTS + 1)],
        "rejected_planning_command",
    ),
    "unknown_mode": (itf.SYSTEM_MODE, lambda t: [unknown_mode(t)], "rejected_system_mode"),
    "nan_vehicle_status": (
        itf.VEHICLE_STATUS,
        lambda t: [nan_status(t)],
        "rejected_vehicle_status",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_a_diagnostic_and_the_gate_keeps_running(sim_graph, case):
    topic, make, counter = BAD_INPUTS[case]
    rig = Rig(sim_graph)
    rig.mode = OperatingMode.READY  # the gate's own hold plans show it is alive
    publisher = {
        itf.PLANNING_COMMAND: rig.plans,
        itf.SYSTEM_MODE: rig.modes,
        itf.VEHICLE_STATUS: rig.status,
    }[topic]
    rig.run(0.3)
    for msg in make(sim_graph.t_s):
        publisher.publish(msg)
    bad_at = sim_graph.t_s
    rig.run(0.5)
    assert int(rig.latest_diagnostic().values[counter]) >= 1
    assert any(plan.start_s > bad_at + 0.3 for plan in rig.out)
