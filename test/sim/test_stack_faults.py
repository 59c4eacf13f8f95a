"""Faults the runner injects into the stack: the van's reports on their way to the bridge, a rogue
transmitter of command frames."""
import itertools

import can
import pytest

from robovan_autonomy.sim.scenario import Fault
from robovan_autonomy.sim.stack_faults import RogueCanTransmitter, VanReportBus
from robovan_autonomy.sim.van_ecu import VanEcu
from robovan_autonomy.sim.van_ecu_bus import VanEcuBus
from robovan_autonomy.vehicle.rvn_dbw import (COMMAND_IDS, REPORT_IDS, E2EChecker, E2EVerdict, Frame, MsgId,
                                              decode)

_channels = itertools.count()


@pytest.fixture
def channel():
    return f"stack_faults_test_{next(_channels)}"


def run_van(channel, faults, until_s=1.0):
    """The van's reports from 0 to until_s through a VanReportBus, as (receive tick, frame)."""
    with can.Bus(interface="virtual", channel=channel) as van_side, \
            can.Bus(interface="virtual", channel=channel) as bridge_side:
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
    assert [f for _, f in late_motion] == [f for _, f in clean_motion][:len(late_motion)]
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
