"""The van on a real python-can virtual bus, lockstep and realtime, and as a standalone process."""

import io
import itertools
import re
import subprocess
import sys
import time
from pathlib import Path

import can
import pytest

from robovan_autonomy.cli import build_parser
from robovan_autonomy.sim.van_ecu import VanEcu
from robovan_autonomy.sim.van_ecu_bus import VanEcuBus, main
from robovan_autonomy.vehicle.rvn_dbw import (
    REPORT_IDS,
    AccelCommand,
    CounterGenerator,
    DbwState,
    E2EChecker,
    Frame,
    Gear,
    MsgId,
    SteerCommand,
    decode,
    encode,
)

_channels = itertools.count()


@pytest.fixture
def buses():
    channel = f"van_ecu_bus_test_{next(_channels)}"
    with (
        can.Bus(interface="virtual", channel=channel) as van_side,
        can.Bus(interface="virtual", channel=channel) as autonomy_side,
    ):
        yield van_side, autonomy_side


def send_commands(bus, counters, enable=True, accel_mps2=1.0):
    for msg in (
        SteerCommand(0.05, 0.0, enable, counters.next(MsgId.STEER_CMD)),
        AccelCommand(accel_mps2, Gear.DRIVE, enable, counters.next(MsgId.ACCEL_CMD)),
    ):
        frame = encode(msg)
        bus.send(can.Message(arbitration_id=frame.can_id, data=frame.data, is_extended_id=False))


def drain(bus):
    frames = []
    while (message := bus.recv(timeout=0.0)) is not None:
        frames.append(Frame(message.arbitration_id, bytes(message.data)))
    return frames


def test_lockstep_poll_engages_and_reports_over_the_bus(buses):
    van_side, autonomy_side = buses
    van = VanEcuBus(van_side)
    van.arm()
    counters, received = CounterGenerator(), []
    for tick in range(1, 201):
        if tick % 4 == 0:
            send_commands(autonomy_side, counters)
        van.poll(tick * 0.005)
        received += drain(autonomy_side)
    checker = E2EChecker(REPORT_IDS)
    assert all(checker.check(f).ok for f in received)
    status = [decode(f) for f in received if f.can_id == MsgId.DBW_STATUS]
    motion = [decode(f) for f in received if f.can_id == MsgId.MOTION_REPORT]
    assert status[-1].state is DbwState.ENGAGED
    assert motion[-1].speed_mps > 0.0 and len(motion) == 101


def test_frames_that_are_not_rvn_dbw_are_ignored(buses):
    van_side, autonomy_side = buses
    van = VanEcuBus(van_side)
    van.arm()
    autonomy_side.send(
        can.Message(arbitration_id=MsgId.STEER_CMD, data=bytes(8), is_extended_id=True)
    )
    autonomy_side.send(can.Message(arbitration_id=0x7DF, data=bytes(3), is_extended_id=False))
    van.poll(0.01)
    assert van.ecu.e2e.drop_count() == 0 and van.ecu.state is DbwState.READY


def test_realtime_thread_reports_until_stopped(buses):
    van_side, autonomy_side = buses
    with VanEcuBus(van_side, VanEcu()) as van:
        van.start()
        deadline = time.monotonic() + 10.0
        received = []
        while len(received) < 20 and time.monotonic() < deadline:
            message = autonomy_side.recv(timeout=0.5)
            if message is not None:
                received.append(message.arbitration_id)
    assert len(received) >= 20 and set(received) <= set(REPORT_IDS)
    assert van.ecu.time_s > 0.0


def test_main_plays_the_van_and_prints_transitions(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("estop on\nstatus\nquit\n"))
    assert (
        main(
            [
                "--interface",
                "virtual",
                "--channel",
                "van_ecu_main_test",
                "--arm",
                "--duration-s",
                "10",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "MANUAL -> READY" in out
    assert "estop on" in out and "READY fault=NONE" in out


def readme_van_ecu_command() -> list[str]:
    """`robovan van-ecu ...` exactly as README.md writes it."""
    readme = Path(__file__).resolve().parents[2] / "README.md"
    command = re.search(r"`(robovan van-ecu [^`]*)`", readme.read_text())
    return command.group(1).split()


def test_the_readme_van_ecu_command_line_parses():
    argv = readme_van_ecu_command()
    assert "--interface" in argv and "--arm" in argv
    assert build_parser().parse_args(argv[1:]).rest == argv[2:]


def test_the_readme_van_ecu_command_plays_the_van_until_quit():
    robovan = Path(sys.executable).parent / "robovan"
    process = subprocess.Popen(
        [str(robovan), *readme_van_ecu_command()[1:]],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = process.communicate("quit\n", timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "van ECU on udp_multicast:239.74.163.2" in out and "MANUAL -> READY" in out
