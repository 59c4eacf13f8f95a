"""The DBW bridge keeps sending frames through bad input: each bad message is counted on
/diagnostics."""

import math
import uuid

import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray

from robovan_autonomy import core_types as ct
from robovan_autonomy import interfaces as itf
from robovan_autonomy.system.modes import OperatingMode
from robovan_autonomy.vehicle.dbw_bridge_node import DbwBridgeNode


def plan(t_s: float, points: int = 11) -> itf.ControlPlan:
    t = 0.1 * np.arange(points)
    return itf.ControlPlan(
        t_s, t, np.zeros_like(t), np.zeros_like(t), np.ones_like(t), np.zeros_like(t)
    )


def tampered(t_s: float, change) -> tuple[itf.ControlPlan, object]:
    return plan(t_s), change


def unknown_mode(t_s: float) -> DiagnosticArray:
    msg = itf.encode_system_mode(ct.SystemMode(t_s, OperatingMode.AUTONOMOUS))
    msg.status[0].message = "TURBO"
    return msg


# (topic, messages made for time t: plans as (plan, tampering) from the gate, else messages, the
# diagnostics counter that rises)
BAD_INPUTS = {
    "nan": (
        itf.CONTROL_COMMAND,
        lambda t: [tampered(t, lambda m: m.points[2].accelerations.__setitem__(1, math.nan))],
        "malformed_commands",
    ),
    "inf": (
        itf.CONTROL_COMMAND,
        lambda t: [tampered(t, lambda m: m.points[0].positions.__setitem__(0, math.inf))],
        "malformed_commands",
    ),
    "wrong_frame_id": (
        itf.CONTROL_COMMAND,
        lambda t: [tampered(t, lambda m: setattr(m.header, "frame_id", "map"))],
        "malformed_commands",
    ),
    "future_stamp": (itf.CONTROL_COMMAND, lambda t: [(plan(t + 5.0), None)], "rejected_plans"),
    "out_of_order_stamp": (
        itf.CONTROL_COMMAND,
        lambda t: [(plan(t), None), (plan(t - 0.1), None)],
        "rejected_plans",
    ),
    "oversized_plan": (
        itf.CONTROL_COMMAND,
        lambda t: [(plan(t, points=itf.MAX_PLAN_POINTS + 1), None)],
        "malformed_commands",
    ),
    "no_sequence": (
        itf.CONTROL_COMMAND,
        lambda t: [(plan(t), lambda m: setattr(m.points[0], "effort", []))],
        "refused_commands",
    ),
    "fractional_sequence": (
        itf.CONTROL_COMMAND,
        lambda t: [(plan(t), lambda m: m.points[0].effort.__setitem__(0, 1.5))],
        "malformed_commands",
    ),
    "unknown_mode": (itf.SYSTEM_MODE, lambda t: [unknown_mode(t)], "malformed_modes"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_a_diagnostic_and_the_bridge_keeps_sending(sim_graph, case):
    topic, make, counter = BAD_INPUTS[case]
    bridge = sim_graph.add(DbwBridgeNode, can_channel=f"bad_input_{uuid.uuid4().hex}")
    gate, modes = sim_graph.command_gate(), sim_graph.publisher(DiagnosticArray, itf.SYSTEM_MODE)
    diagnostics = sim_graph.collect(
        DiagnosticArray,
        itf.DIAGNOSTICS,
        lambda msg: [d for d in itf.decode_diagnostics(msg) if d.name.startswith("dbw_bridge")],
    )
    sim_graph.run(0.3)
    for msg in make(sim_graph.t_s):
        if topic == itf.SYSTEM_MODE:
            modes.publish(msg)
        else:
            gate.publish(*msg)
    sent = bridge._frames_sent
    sim_graph.run(0.5)
    latest = [d for batch in diagnostics for d in batch][-1]
    assert int(latest.values[counter]) >= 1
    assert bridge._frames_sent > sent
