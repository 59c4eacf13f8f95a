"""Faults the runner injects into the stack: the van's reports on their way to the bridge, a rogue
transmitter of command frames, a node's output through a relay."""

import itertools

import can
import numpy as np
import pytest
from rclpy.parameter import Parameter
from trajectory_msgs.msg import JointTrajectory

from robovan_autonomy import interfaces as itf
from robovan_autonomy.sim.scenario import Fault
from robovan_autonomy.sim.stack_faults import (
    FAULTED_PREFIX,
    FaultRelayNode,
    RogueCanTransmitter,
    VanReportBus,
)
from robovan_autonomy.sim.van_ecu import VanEcu
from robovan_autonomy.sim.van_ecu_bus import VanEcuBus
from robovan_autonomy.tools.simulation import SimOptions, Simulation
from robovan_autonomy.vehicle.rvn_dbw import (
    COMMAND_IDS,
    REPORT_IDS,
    E2EChecker,
    E2EVerdict,
    Frame,
    MsgId,
    decode,
)

_channels = itertools.count()


@pytest.fixture
def channel():
    return f"stack_faults_test_{next(_channels)}"


def run_van(channel, faults, until_s=1.0):
    """The van's reports from 0 to until_s through a VanReportBus, as (receive tick, frame)."""
    with (
        can.Bus(interface="virtual", channel=channel) as van_side,
        can.Bus(interface="virtual", channel=channel) as bridge_side,
    ):
        reports = VanReportBus(van_side, faults)
        van = VanEcuBus(reports, VanEcu())
        received = []
        for k in range(1, int(round(until_s / 0.01)) + 1):
            t = round(k * 0.01, 9)
            reports.advance(t)
            van.poll(t)
            while (message := bridge_side.recv(timeout=0.0)) is not None:
                received.append((t, Frame(message.arbitration_id, bytes(message.data))))
        return received, reports.sent


def test_reports_pass_unchanged_without_a_fault(channel):
    received, sent = run_van(channel, [])
    assert sent == len(received) > 0
    checker = E2EChecker(REPORT_IDS)
    assert all(checker.check(frame).ok for _, frame in received)


def test_dropped_reports_never_reach_the_bridge_in_the_window(channel):
    received, _ = run_van(channel, [Fault("can_reports", "drop", 0.3, 0.4, None)])
    times = [t for t, _ in received]
    assert not any(0.3 <= t < 0.7 for t in times) and max(times) > 0.9


def test_frozen_reports_repeat_their_last_frame_counter_and_all(channel):
    received, _ = run_van(channel, [Fault("can_reports", "freeze", 0.5, None, None)])
    motion = [frame for t, frame in received if t >= 0.5 and frame.can_id == MsgId.MOTION_REPORT]
    assert len(motion) >= 40 and len({frame.data for frame in motion}) == 1
    checker = E2EChecker(REPORT_IDS)
    verdicts = [checker.check(frame) for frame in motion]
    assert verdicts[0].ok and all(v is E2EVerdict.BAD_COUNTER for v in verdicts[1:])


def test_delayed_reports_arrive_late_in_their_order(channel):
    clean, _ = run_van(channel + "_clean", [])
    late, _ = run_van(channel, [Fault("can_reports", "delay", 0.0, None, 0.2)])
    clean_motion = [(t, f) for t, f in clean if f.can_id == MsgId.MOTION_REPORT]
    late_motion = [(t, f) for t, f in late if f.can_id == MsgId.MOTION_REPORT]
    assert [f for _, f in late_motion] == [f for _, f in clean_motion][: len(late_motion)]
    assert all(abs(tl - tc - 0.2) < 1e-6 for (tl, _), (tc, _) in zip(late_motion, clean_motion))


def test_a_rogue_transmitter_sends_valid_command_frames_every_20_ms(channel):
    with can.Bus(interface="virtual", channel=channel) as listener:
        rogue = RogueCanTransmitter(channel, 1.5)
        sent = sum(rogue.poll(round(k * 0.01, 9)) for k in range(1, 11))
        rogue.shutdown()
        frames = []
        while (message := listener.recv(timeout=0.0)) is not None:
            frames.append(Frame(message.arbitration_id, bytes(message.data)))
    assert sent == len(frames) == 10 and {f.can_id for f in frames} <= set(COMMAND_IDS)
    checker = E2EChecker(COMMAND_IDS)
    assert all(checker.check(f).ok for f in frames)
    accel = [decode(f) for f in frames if f.can_id == MsgId.ACCEL_CMD]
    assert all(a.enable and a.accel_mps2 == pytest.approx(1.5) for a in accel)


# -- a node's output through a relay (real rclpy graph on sim time) -----------------------------
def plan(stamp_s, speed_mps):
    t = np.arange(0.0, 1.01, 0.1)
    return itf.ControlPlan(
        stamp_s, t, np.zeros_like(t), np.zeros_like(t), np.full_like(t, speed_mps), np.zeros_like(t)
    )


def add_relay(sim_graph, fault: Fault) -> None:
    sim_graph.add_node(
        FaultRelayNode(
            "planner",
            [fault],
            context=sim_graph.context,
            parameter_overrides=[Parameter("use_sim_time", value=True)],
        )
    )


def relayed_plans(sim_graph, fault: Fault, until_s: float = 2.0):
    """A planner publishing a plan (speed = its stamp) every 100 ms through a relay with `fault`."""
    add_relay(sim_graph, fault)
    source = sim_graph.publisher(JointTrajectory, FAULTED_PREFIX + itf.PLANNING_COMMAND)
    out = sim_graph.collect(
        JointTrajectory,
        itf.PLANNING_COMMAND,
        lambda msg: (sim_graph.t_s, itf.decode_control_command(msg)),
    )

    def publish(t_s):
        if round(t_s * 100) % 10 == 0:
            source.publish(itf.encode_control_command(plan(t_s, t_s)))

    sim_graph.run(until_s, publish)
    return out


def test_a_frozen_planner_repeats_its_last_plan_under_fresh_stamps(sim_graph):
    out = relayed_plans(sim_graph, Fault("planner", "freeze", 1.0, None, None))
    late = [p for _, p in out if p.stamp_s >= 1.0]
    assert len(late) >= 9 and all(p.speed_mps[0] == pytest.approx(0.9) for p in late)
    assert sorted({p.stamp_s for p in late}) == [p.stamp_s for p in late]


def test_a_dropped_planner_output_stops_in_the_window(sim_graph):
    out = relayed_plans(sim_graph, Fault("planner", "drop", 1.0, 0.5, None))
    stamps = [p.stamp_s for _, p in out]
    assert not any(1.0 <= s < 1.5 for s in stamps) and max(stamps) > 1.8


def test_a_delayed_planner_output_arrives_late_with_its_stamp(sim_graph):
    out = relayed_plans(sim_graph, Fault("planner", "delay", 1.0, None, 0.3))
    late = [(arrived, p.stamp_s) for arrived, p in out if p.stamp_s >= 1.0]
    assert late and all(arrived - stamp == pytest.approx(0.3, abs=0.011) for arrived, stamp in late)


def test_nan_planner_output_cannot_be_decoded(sim_graph):
    add_relay(sim_graph, Fault("planner", "nan", 0.0, None, None))
    source = sim_graph.publisher(JointTrajectory, FAULTED_PREFIX + itf.PLANNING_COMMAND)
    out = sim_graph.collect(JointTrajectory, itf.PLANNING_COMMAND)
    source.publish(itf.encode_control_command(plan(0.01, 5.0)))
    sim_graph.run(0.05)
    assert len(out) == 1
    with pytest.raises(itf.InterfaceError, match="non-finite"):
        itf.decode_control_command(out[0])


# -- the runner starts and ends them ---------------------------------------------------------------
@pytest.fixture
def graph_of(tmp_path):
    """A simulation's graph, built but not run, with extra stack faults."""
    built = []

    def build(*faults):
        simulation = Simulation(
            SimOptions(
                "corridor_cruise",
                tmp_path,
                ground_truth=("localization", "perception"),
                record=False,
                progress=False,
            )
        )
        simulation.stack_faults.extend(faults)
        simulation._build_graph(None)
        built.append(simulation)
        return simulation

    yield build
    for simulation in built:
        simulation._teardown()


def node_names(simulation) -> set[str]:
    return {node.get_name() for node in simulation.graph.nodes}


def test_a_node_killed_for_a_while_is_restarted_after_it(graph_of):
    simulation = graph_of(Fault("planner", "kill", 1.0, 0.5, None))
    old = next(n for n in simulation.stack_nodes if n.get_name() == "planner")
    simulation._inject_stack_faults(1.0)
    assert "planner" not in node_names(simulation)
    simulation._inject_stack_faults(1.5)
    assert "planner" in node_names(simulation)
    assert next(n for n in simulation.stack_nodes if n.get_name() == "planner") is not old


def test_a_rogue_commander_writes_only_in_its_window(graph_of):
    simulation = graph_of(Fault("control_command", "rogue", 1.0, 0.5, 1.5))
    simulation._inject_stack_faults(1.0)
    assert "rogue_commander" in node_names(simulation)
    simulation._inject_stack_faults(1.5)
    assert "rogue_commander" not in node_names(simulation)
