"""The DBW bridge node on a real rclpy graph, a real python-can bus and the real simulated van ECU.

Most tests run in lockstep on sim time: the test publishes /clock in 10 ms steps, waits until the
bridge has seen each step and run its due timers, then polls the van ECU (VanEcuBus) at the same
time and waits until the bridge has read the van's reports. Every frame on the bus is recorded by
a sniffer with the sim time it appeared at, so periods and reaction times are exact sim-time
facts, not wall-clock timings. One test runs the van as a separate realtime process over
udp_multicast, as the simulator and a bench van do.
"""

import os
import random
import subprocess
import sys
import time
import uuid

import can
import numpy as np
import pytest
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.parameter import Parameter
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import JointState
from std_srvs.srv import SetBool
from trajectory_msgs.msg import JointTrajectory

from robovan_autonomy import interfaces
from robovan_autonomy.interfaces import ControlPlan
from robovan_autonomy.sim.van_ecu_bus import VanEcuBus
from robovan_autonomy.system.modes import OperatingMode
from robovan_autonomy.tools.lockstep import LockstepGraph
from robovan_autonomy.vehicle import command_follower, command_limits, rvn_dbw
from robovan_autonomy.vehicle.dbw_bridge_node import DbwBridgeNode
from robovan_autonomy.vehicle.rvn_dbw import DbwState, FaultCode, Frame, Gear, MsgId
from robovan_autonomy.vehicle_params import STANDSTILL_HOLD_ACCEL_MPS2, load_vehicle_params

VEHICLE = load_vehicle_params()
STEP_S = 0.01
WAIT_WALL_S = 5.0  # guard against a hung graph, never a timing assertion
# One LSB of the coarsest signal: what a physical value may move by in encode/decode.
STEER_LSB_RAD = 1e-4
ACCEL_LSB_MPS2 = 1e-3


def decode_all(frames, can_id):
    return [(t, rvn_dbw.decode(f)) for t, f in frames if f.can_id == can_id]


def assert_frames_within_vehicle_limits(frames, check_rates: bool = True):
    """Every command frame the bridge put on the bus, decoded, against the vehicle README (and,
    with sim-time stamps, the steering rate and jerk between consecutive engaged frames)."""
    previous = {}
    for t, frame in frames:
        if frame.can_id not in rvn_dbw.COMMAND_IDS:
            continue
        assert rvn_dbw.checksum(frame.can_id, frame.data) == frame.data[-1]
        msg = rvn_dbw.decode(frame)
        if isinstance(msg, rvn_dbw.SteerCommand):
            assert abs(msg.angle_rad) <= VEHICLE.max_steer_rad + 1e-9
            assert 0.0 <= msg.rate_limit_radps <= VEHICLE.max_steer_rate_radps + 1e-9
        elif isinstance(msg, rvn_dbw.AccelCommand):
            assert VEHICLE.min_accel_mps2 <= msg.accel_mps2 <= VEHICLE.max_accel_mps2
            assert msg.gear in (Gear.NONE, Gear.DRIVE)
        before = previous.get(frame.can_id)
        if (
            check_rates
            and not isinstance(msg, rvn_dbw.BodyCommand)
            and before is not None
            and before[1].enable
            and msg.enable
        ):
            dt = t - before[0]
            if isinstance(msg, rvn_dbw.SteerCommand):
                step = abs(msg.angle_rad - before[1].angle_rad)
                assert step <= VEHICLE.max_steer_rate_radps * dt + 2 * STEER_LSB_RAD
            else:
                step = msg.accel_mps2 - before[1].accel_mps2
                assert -command_limits.MAX_JERK_FALL_MPS3 * dt - 2 * ACCEL_LSB_MPS2 <= step
                assert step <= command_limits.MAX_JERK_RISE_MPS3 * dt + 2 * ACCEL_LSB_MPS2
        previous[frame.can_id] = (t, msg)


class Lockstep:
    """Bridge + simulated van + sniffer on one virtual bus, clocked together by the test."""

    def __init__(self, **overrides):
        self.graph = LockstepGraph()
        self.context, self.executor = self.graph.context, self.graph.executor
        self.channel = f"dbw_{uuid.uuid4().hex}"
        params = [
            Parameter("use_sim_time", value=True),
            Parameter("can_channel", value=self.channel),
        ]
        params += [Parameter(name, value=value) for name, value in overrides.items()]
        self.bridge = self.graph.add(
            DbwBridgeNode(context=self.context, parameter_overrides=params)
        )
        self.probe = self.graph.add(rclpy.create_node("dbw_probe", context=self.context))
        self.clock_pub = self.probe.create_publisher(Clock, interfaces.CLOCK, interfaces.CLOCK_QOS)
        # Commands come from a node named as the command gate, numbered as the gate numbers them.
        self.gate = self.graph.add(rclpy.create_node("command_gate", context=self.context))
        self.command_pub = self.gate.create_publisher(
            JointTrajectory, interfaces.CONTROL_COMMAND, interfaces.RELIABLE_QOS
        )
        self.sequence = 0
        self.engage_client = self.probe.create_client(SetBool, interfaces.VEHICLE_ENGAGE)
        self.statuses: list[interfaces.VehicleStatus] = []
        self.diagnostics: list[tuple[float, interfaces.Diagnostic]] = []
        self.probe.create_subscription(
            JointState, interfaces.VEHICLE_STATUS, self._on_status, interfaces.RELIABLE_QOS
        )
        self.probe.create_subscription(
            DiagnosticArray, interfaces.DIAGNOSTICS, self._on_diagnostics, interfaces.RELIABLE_QOS
        )
        self.van_bus = can.Bus(interface="virtual", channel=self.channel)
        self.sniffer = can.Bus(interface="virtual", channel=self.channel)
        self.injector = can.Bus(interface="virtual", channel=self.channel)
        self.van = VanEcuBus(self.van_bus)
        self.t_s = 0.0
        self.frames: list[tuple[float, Frame]] = []
        self.bridge_alive = True

    def _on_status(self, msg):
        self.statuses.append(interfaces.decode_vehicle_status(msg))

    def _on_diagnostics(self, msg):
        stamp_s = interfaces.from_stamp(msg.header.stamp)
        self.diagnostics.extend(
            (stamp_s, d) for d in interfaces.decode_diagnostics(msg) if "dbw" in d.name
        )

    def kill_bridge(self):
        self.graph.remove(self.bridge)
        self.bridge_alive = False

    def close(self):
        self.graph.close()
        for bus in (self.van_bus, self.sniffer, self.injector):
            bus.shutdown()

    def _spin_until(self, condition, resend=None):
        """Spin until condition(); `resend` repeats a publication the graph may not have matched yet
        (a volatile sample sent before discovery completes is lost)."""
        deadline = time.monotonic() + WAIT_WALL_S
        next_resend = time.monotonic() + 0.02
        while not condition():
            self.executor.spin_once(timeout_sec=0.005)
            if resend is not None and time.monotonic() > next_resend:
                resend()
                next_resend = time.monotonic() + 0.02
            assert time.monotonic() < deadline, "the graph stopped answering"

    def _sniff(self):
        while (message := self.sniffer.recv(timeout=0.0)) is not None:
            self.frames.append((self.t_s, Frame(message.arbitration_id, bytes(message.data))))

    def step(self, extra_frames_delivered: int = 0):
        self.t_s = round(self.t_s + STEP_S, 9)
        target_ns = int(round(self.t_s * 1e9))
        received = self.bridge.frames_received if self.bridge_alive else 0
        if self.bridge_alive:

            def publish_clock():
                self.clock_pub.publish(interfaces.encode_clock(self.t_s))

            publish_clock()
            self._spin_until(
                lambda: self.bridge.get_clock().now().nanoseconds >= target_ns, resend=publish_clock
            )
        for _ in range(6):  # the due timers and any waiting messages, one callback per spin
            self.executor.spin_once(timeout_sec=0.0)
        sent = len(self.van.poll(self.t_s))
        if self.bridge_alive:
            self._spin_until(
                lambda: self.bridge.frames_received >= received + sent + extra_frames_delivered
            )
        self._sniff()

    def inject_now(self, message: can.Message):
        """Put a frame on the bus and wait until the bridge took it, before time moves on."""
        received = self.bridge.frames_received
        self.injector.send(message)
        self._spin_until(lambda: self.bridge.frames_received > received)

    def run(
        self,
        duration_s: float,
        plan_steer: float | None = None,
        plan_accel: float | None = None,
        horizon_s: float = 1.0,
    ):
        for _ in range(int(round(duration_s / STEP_S))):
            if plan_steer is not None:
                self.publish_plan(plan_steer, plan_accel, horizon_s)
            self.step()

    def publish_plan(self, steer_rad: float, accel_mps2: float, horizon_s: float = 1.0):
        t = np.arange(0.0, horizon_s + 1e-9, 0.1)
        self.sequence += 1
        plan = ControlPlan(
            stamp_s=self.t_s,
            time_from_start_s=t,
            steer_rad=np.full_like(t, steer_rad),
            steer_rate_radps=np.zeros_like(t),
            speed_mps=np.full_like(t, 1.0),
            accel_mps2=np.full_like(t, accel_mps2),
            sequence=self.sequence,
        )
        self.command_pub.publish(interfaces.encode_control_command(plan))

    def engage(self, data: bool = True) -> SetBool.Response:
        self._spin_until(self.engage_client.service_is_ready)
        future = self.engage_client.call_async(SetBool.Request(data=data))
        deadline = time.monotonic() + WAIT_WALL_S
        while not future.done():
            self.step()
            assert time.monotonic() < deadline, "engage service did not answer"
        return future.result()

    def arm_and_engage(self):
        self.run(0.1)
        assert self.van.arm()
        self.run(0.1)
        assert self.engage().success
        deadline = time.monotonic() + WAIT_WALL_S
        while self.van.ecu.state is not DbwState.ENGAGED:
            self.publish_plan(0.0, 0.0)
            self.step()
            assert time.monotonic() < deadline, f"van stuck in {self.van.ecu.state.name}"

    def frames_since(self, t_s: float, can_id: int):
        return [(t, m) for t, m in decode_all(self.frames, can_id) if t > t_s]

    def next_diagnostic(self) -> interfaces.Diagnostic:
        """The first dbw diagnostic stamped after now: it has seen everything done so far."""
        after_s = self.t_s
        deadline = time.monotonic() + WAIT_WALL_S
        while not self.diagnostics or self.diagnostics[-1][0] <= after_s:
            self.step()
            assert time.monotonic() < deadline, "no /diagnostics"
        return next(d for stamp, d in self.diagnostics if stamp > after_s)


@pytest.fixture
def rig():
    harness = Lockstep()
    yield harness
    try:
        assert_frames_within_vehicle_limits(harness.frames)
    finally:
        harness.close()


def test_command_frames_keep_coming_at_50_hz_in_sim_time_without_upstream(rig):
    rig.run(1.0)
    steer = decode_all(rig.frames, MsgId.STEER_CMD)
    accel = decode_all(rig.frames, MsgId.ACCEL_CMD)
    body = decode_all(rig.frames, MsgId.BODY_CMD)
    assert len(steer) >= 40 and len(accel) >= 40 and len(body) >= 8
    gaps = np.diff([t for t, _ in steer])
    assert gaps.max() <= rvn_dbw.COMMAND_TIMEOUT_S / 2


def test_counters_increment_mod_16_and_checksums_are_valid(rig):
    rig.run(1.0)
    checker = rvn_dbw.E2EChecker(rvn_dbw.COMMAND_IDS)
    for _, frame in rig.frames:
        if frame.can_id in rvn_dbw.COMMAND_IDS:
            assert checker.check(frame).ok
    counters = [m.counter for _, m in decode_all(rig.frames, MsgId.STEER_CMD)]
    assert counters[:18] == [i % 16 for i in range(18)]


def test_not_engaged_frames_carry_no_enable_and_no_gear(rig):
    rig.run(0.5)
    _, steer = decode_all(rig.frames, MsgId.STEER_CMD)[-1]
    _, accel = decode_all(rig.frames, MsgId.ACCEL_CMD)[-1]
    assert not steer.enable and not accel.enable
    assert accel.gear is Gear.NONE and accel.accel_mps2 == 0.0


def test_engage_service_flow_manual_ready_engaged(rig):
    rig.run(0.2)
    response = rig.engage()
    assert response.success
    rig.run(0.3)
    assert rig.van.ecu.state is DbwState.MANUAL
    assert not any(m.enable for _, m in decode_all(rig.frames, MsgId.STEER_CMD))
    armed_at = rig.t_s
    assert rig.van.arm()
    rig.run(0.2, plan_steer=0.0, plan_accel=0.0)
    assert rig.van.ecu.state is DbwState.ENGAGED
    assert all(m.enable for _, m in rig.frames_since(armed_at + 0.1, MsgId.STEER_CMD))


def test_engage_is_refused_while_the_driver_overrides(rig):
    rig.van.set_driver(brake_pedal=True)
    rig.run(0.2)
    response = rig.engage()
    assert not response.success
    assert "brake_override" in response.message


def test_release_through_the_service_hands_the_van_back(rig):
    rig.arm_and_engage()
    assert rig.engage(False).success
    rig.run(0.1)
    assert rig.van.ecu.state is DbwState.MANUAL


def test_frames_carry_the_commanded_values_exactly(rig):
    rig.arm_and_engage()
    rig.run(1.0, plan_steer=0.05, plan_accel=0.3)
    steer_frame = [f for _, f in rig.frames if f.can_id == MsgId.STEER_CMD][-1]
    accel_frame = [f for _, f in rig.frames if f.can_id == MsgId.ACCEL_CMD][-1]
    assert steer_frame == rvn_dbw.encode(
        rvn_dbw.SteerCommand(
            0.05, VEHICLE.max_steer_rate_radps, True, rvn_dbw.frame_counter(steer_frame.data)
        )
    )
    assert accel_frame == rvn_dbw.encode(
        rvn_dbw.AccelCommand(0.3, Gear.DRIVE, True, rvn_dbw.frame_counter(accel_frame.data))
    )


def test_steering_request_beyond_the_van_is_rate_and_angle_limited(rig):
    rig.arm_and_engage()
    start = rig.t_s
    rig.run(1.5, plan_steer=3.0, plan_accel=9.0)
    steer = [m.angle_rad for _, m in rig.frames_since(start, MsgId.STEER_CMD)]
    accel = [m.accel_mps2 for _, m in rig.frames_since(start, MsgId.ACCEL_CMD)]
    assert max(steer) == pytest.approx(VEHICLE.max_steer_rad, abs=STEER_LSB_RAD)
    assert steer[0] <= VEHICLE.max_steer_rate_radps * 0.02 + STEER_LSB_RAD
    assert max(accel) <= VEHICLE.max_accel_mps2
    assert_frames_within_vehicle_limits(rig.frames)


def test_silence_upstream_ramps_to_the_controlled_stop_with_hazards(rig):
    rig.arm_and_engage()
    rig.run(2.0, plan_steer=0.02, plan_accel=1.0, horizon_s=0.3)
    silent_from = rig.t_s
    rig.run(2.0)
    accel = [m.accel_mps2 for _, m in rig.frames_since(silent_from, MsgId.ACCEL_CMD)]
    ramp_step = command_follower.CONTROLLED_STOP_JERK_MPS3 * 0.02
    assert np.diff(accel).min() >= -ramp_step - ACCEL_LSB_MPS2
    assert min(accel) == pytest.approx(
        -command_follower.CONTROLLED_STOP_DECEL_MPS2, abs=ACCEL_LSB_MPS2
    )
    assert decode_all(rig.frames, MsgId.BODY_CMD)[-1][1].hazard
    assert all(m.enable for _, m in rig.frames_since(silent_from, MsgId.STEER_CMD))


def test_controlled_stop_ends_in_a_standstill_hold_in_drive(rig):
    rig.arm_and_engage()
    rig.run(1.0, plan_steer=0.0, plan_accel=1.0, horizon_s=0.3)
    rig.run(3.0)
    _, accel = decode_all(rig.frames, MsgId.ACCEL_CMD)[-1]
    assert rig.van.ecu.plant.speed_mps == pytest.approx(0.0, abs=0.05)
    assert accel.accel_mps2 == pytest.approx(STANDSTILL_HOLD_ACCEL_MPS2)
    assert accel.gear is Gear.DRIVE and accel.enable
    assert rig.next_diagnostic().values["follower_state"] == "STANDSTILL_HOLD"


def test_driver_override_clears_enable_bits_within_100_ms(rig):
    rig.arm_and_engage()
    rig.run(0.3, plan_steer=0.0, plan_accel=0.2)
    override_at = rig.t_s
    rig.van.set_driver(brake_pedal=True)
    rig.run(0.2, plan_steer=0.0, plan_accel=0.2)
    first_clear = next(t for t, m in rig.frames_since(override_at, MsgId.STEER_CMD) if not m.enable)
    assert first_clear - override_at <= 0.1
    assert not any(m.enable for _, m in rig.frames_since(first_clear, MsgId.ACCEL_CMD))


def test_override_drops_the_request_until_asked_again(rig):
    rig.arm_and_engage()
    rig.van.set_driver(steering_torque_nm=5.0)
    rig.run(0.2, plan_steer=0.0, plan_accel=0.0)
    rig.van.set_driver(steering_torque_nm=0.0)
    assert rig.van.arm()
    rearmed_at = rig.t_s
    rig.run(0.3, plan_steer=0.0, plan_accel=0.0)
    assert not any(m.enable for _, m in rig.frames_since(rearmed_at, MsgId.STEER_CMD))
    assert rig.van.ecu.state is DbwState.READY
    assert rig.engage().success
    rig.run(0.2, plan_steer=0.0, plan_accel=0.0)
    assert rig.van.ecu.state is DbwState.ENGAGED


def test_override_before_engagement_drops_the_pending_request(rig):
    rig.run(0.2)
    assert rig.engage().success
    rig.van.set_driver(brake_pedal=True)
    rig.run(0.1)
    rig.van.set_driver(brake_pedal=False)
    assert rig.van.arm()
    rig.run(0.3, plan_steer=0.0, plan_accel=0.0)
    assert rig.van.ecu.state is DbwState.READY
    assert rig.next_diagnostic().values["engagement_drop_reason"] == "driver brake_override"


def corrupt_motion_report(speed_mps: float, counter: int, bad_checksum: bool) -> can.Message:
    frame = rvn_dbw.encode(rvn_dbw.MotionReport(speed_mps, 0.0, 0.0, counter))
    data = frame.data[:-1] + bytes([frame.data[-1] ^ 0x5A]) if bad_checksum else frame.data
    return can.Message(arbitration_id=frame.can_id, data=data, is_extended_id=False)


def test_corrupt_report_frames_are_dropped_counted_and_never_published(rig):
    bogus_speed_mps = 9.876
    rig.run(0.2)
    for i in range(5):
        rig.injector.send(corrupt_motion_report(bogus_speed_mps, i, bad_checksum=True))
        rig.step(extra_frames_delivered=1)
    rig.run(0.3)
    diagnostic = rig.next_diagnostic()
    assert int(diagnostic.values["drops_MOTION_REPORT_bad_checksum"]) == 5
    assert rig.statuses
    assert all(abs(s.speed_mps - bogus_speed_mps) > 1.0 for s in rig.statuses)


def test_report_with_a_skipped_counter_is_dropped_and_never_published(rig):
    bogus_speed_mps = 9.876
    rig.run(0.2)
    last = decode_all(rig.frames, MsgId.MOTION_REPORT)[-1][1].counter
    injected_at = rig.t_s
    rig.injector.send(corrupt_motion_report(bogus_speed_mps, (last + 7) % 16, bad_checksum=False))
    rig.step(extra_frames_delivered=1)
    rig.run(0.3)
    assert int(rig.next_diagnostic().values["drops_MOTION_REPORT_bad_counter"]) >= 1
    published = [s for s in rig.statuses if s.stamp_s >= injected_at]
    assert len(published) >= 10 and all(abs(s.speed_mps - bogus_speed_mps) > 1.0 for s in published)


def test_corrupt_reports_raise_a_diagnostic_warning(rig):
    rig.run(0.3)
    rig.injector.send(corrupt_motion_report(1.0, 0, bad_checksum=True))
    rig.step(extra_frames_delivered=1)
    assert rig.next_diagnostic().level == interfaces.WARN


def test_vehicle_status_is_published_from_the_reports(rig):
    rig.arm_and_engage()
    rig.run(1.0, plan_steer=0.05, plan_accel=0.5)
    rig.run(0.1, plan_steer=0.05, plan_accel=0.5)
    status = rig.statuses[-1]
    assert status.speed_mps == pytest.approx(rig.van.ecu.plant.speed_mps, abs=0.05)
    assert status.steer_rad == pytest.approx(rig.van.ecu.plant.steer_rad, abs=0.01)


def test_malformed_command_is_counted_warned_and_ignored(rig):
    rig.run(0.3)
    bad = JointTrajectory()
    bad.joint_names = ["wheel", "drive"]
    rig.command_pub.publish(bad)
    rig.run(0.05)
    diagnostic = rig.next_diagnostic()
    assert diagnostic.values["malformed_commands"] == "1"
    assert diagnostic.level == interfaces.WARN
    assert "joint_names" in diagnostic.values["last_command_problem"]


def test_diagnostics_report_state_fault_overrides_and_follower(rig):
    rig.arm_and_engage()
    rig.run(0.3, plan_steer=0.0, plan_accel=0.0)
    values = rig.next_diagnostic().values
    assert values["dbw_state"] == "ENGAGED" and values["fault_code"] == "NONE"
    assert values["steer_override"] == "False" and values["follower_state"] == "FOLLOWING"
    assert values["enable_out"] == "True"


def test_van_reaches_fault_safe_stop_when_the_bridge_dies(rig):
    rig.arm_and_engage()
    rig.run(0.3, plan_steer=0.0, plan_accel=0.5)
    rig.kill_bridge()
    rig.run(0.2)
    assert rig.van.ecu.state is DbwState.FAULT_SAFE_STOP
    assert rig.van.ecu.fault is FaultCode.COMMAND_TIMEOUT


def test_van_fault_drops_the_engagement_request(rig):
    rig.arm_and_engage()
    rig.van.ecu.inject_actuator_fault()
    rig.run(0.2, plan_steer=0.0, plan_accel=0.0)
    values = rig.next_diagnostic().values
    assert values["engage_requested"] == "False"
    assert values["dbw_state"] == "FAULT_SAFE_STOP"
    assert not decode_all(rig.frames, MsgId.STEER_CMD)[-1][1].enable


class SeparateProcessVan:
    """The van as its own realtime process on udp_multicast, the bridge here, and a sniffer."""

    def __init__(self):
        rng = random.Random(uuid.uuid4().int)
        group = f"239.255.{rng.randint(1, 254)}.{rng.randint(1, 254)}"
        # Above the ports DDS takes for the test domains (7400 + 250 per domain id, ids ≤ 100): a
        # multicast socket receives every datagram sent to its port, whatever the group.
        port = rng.randint(40000, 60000)
        env = dict(
            os.environ,
            PYTHONPATH=os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH")])),
        )
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "robovan_autonomy.sim.van_ecu_bus",
                "--channel",
                group,
                "--port",
                str(port),
                "--hop-limit",
                "0",
                "--arm",
                "--duration-s",
                "60",
            ],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.graph = LockstepGraph()
        self.context, self.executor = self.graph.context, self.graph.executor
        self.sniffer = can.Bus(
            interface="udp_multicast", channel=group, fd=False, port=port, hop_limit=0
        )
        self.bridge = self.graph.add(
            DbwBridgeNode(
                context=self.context,
                parameter_overrides=[
                    Parameter("can_interface", value="udp_multicast"),
                    Parameter("can_channel", value=group),
                    Parameter("can_udp_port", value=port),
                    Parameter("can_udp_hop_limit", value=0),
                ],
            )
        )
        self.probe = self.graph.add(rclpy.create_node("dbw_probe", context=self.context))
        self.client = self.probe.create_client(SetBool, interfaces.VEHICLE_ENGAGE)
        self.frames, self.states = [], []
        self.foreign_datagrams = 0

    def spin_until(self, condition, timeout_s=20.0):
        deadline = time.monotonic() + timeout_s
        future = None
        while not condition():
            assert time.monotonic() < deadline, f"van states seen: {set(self.states)}"
            self.executor.spin_once(timeout_sec=0.002)
            while (message := self._sniff()) is not None:
                frame = Frame(message.arbitration_id, bytes(message.data))
                self.frames.append((message.timestamp, frame))
                if frame.can_id == MsgId.DBW_STATUS:
                    self.states.append(rvn_dbw.decode(frame).state)
            if (
                future is None
                and DbwState.READY in self.states[-1:]
                and self.client.service_is_ready()
            ):
                future = self.client.call_async(SetBool.Request(data=True))
            if future is not None and future.done() and not future.result().success:
                future = None

    def _sniff(self):
        """The next frame on the bus; a datagram that is no CAN frame (another program on the
        port) is skipped, as the bridge's reader skips it."""
        while True:
            try:
                return self.sniffer.recv(timeout=0.0)
            except can.CanOperationError:
                self.foreign_datagrams += 1

    def engage(self):
        self.spin_until(lambda: DbwState.ENGAGED in self.states[-5:] and len(self.frames) >= 200)

    def close(self):
        self.graph.close()
        self.sniffer.shutdown()
        try:
            self.process.communicate("quit\n", timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()


@pytest.fixture
def separate_van():
    van = SeparateProcessVan()
    yield van
    van.close()


def test_van_over_udp_multicast_in_a_separate_process_is_engaged_with_valid_frames(separate_van):
    """The van as its own realtime process: the bridge engages it and every frame is valid."""
    separate_van.engage()
    frames = separate_van.frames
    commands = [(t, f) for t, f in frames if f.can_id in rvn_dbw.COMMAND_IDS]
    checker = rvn_dbw.E2EChecker(rvn_dbw.COMMAND_IDS)
    assert commands and all(checker.check(f).ok for _, f in commands)
    assert any(rvn_dbw.decode(f).enable for _, f in commands if f.can_id == MsgId.STEER_CMD)
    assert_frames_within_vehicle_limits(commands, check_rates=False)
    assert (
        separate_van.bridge._authority.foreign_frames == 0
    )  # its own frames looped back are its own


def test_van_in_a_separate_process_sees_enables_cleared_within_100_ms_of_a_driver_override(
    separate_van,
):
    separate_van.engage()
    separate_van.process.stdin.write("torque 5\n")
    separate_van.process.stdin.flush()
    separate_van.spin_until(lambda: DbwState.MANUAL in separate_van.states[-3:])
    manual_at = _first_manual_time(separate_van)
    separate_van.spin_until(lambda: separate_van.frames[-1][0] > manual_at + 0.5)
    late = [
        f
        for t, f in separate_van.frames
        if t > manual_at + 0.1 and f.can_id in (MsgId.STEER_CMD, MsgId.ACCEL_CMD)
    ]
    assert late and not any(rvn_dbw.decode(f).enable for f in late)


def test_van_in_a_separate_process_is_held_braked_while_commands_are_silent(separate_van):
    separate_van.engage()
    engaged_at = separate_van.frames[-1][0]
    separate_van.spin_until(lambda: separate_van.frames[-1][0] > engaged_at + 0.5)
    accel = [
        rvn_dbw.decode(f)
        for t, f in separate_van.frames
        if t > engaged_at and f.can_id == MsgId.ACCEL_CMD
    ]
    assert len(accel) >= 20
    assert all(a.enable and a.accel_mps2 < 0.0 for a in accel)


def _first_manual_time(van):
    engaged = False
    for t, frame in van.frames:
        if frame.can_id == MsgId.DBW_STATUS:
            state = rvn_dbw.decode(frame).state
            engaged = engaged or state is DbwState.ENGAGED
            if engaged and state is DbwState.MANUAL:
                return t
    raise AssertionError("the van never went from ENGAGED to MANUAL")


# -- command authority and report integrity ----------------------------------------------------
def accel_frames_since(rig, t_s):
    return [m.accel_mps2 for _, m in rig.frames_since(t_s, MsgId.ACCEL_CMD) if m.enable]


def test_commands_from_a_second_writer_are_refused_and_reported_as_an_error(rig):
    rig.arm_and_engage()
    rogue = rclpy.create_node("rogue_commander", context=rig.context)
    rogue_pub = rogue.create_publisher(
        JointTrajectory, interfaces.CONTROL_COMMAND, interfaces.RELIABLE_QOS
    )
    try:
        since = rig.t_s
        for k in range(50):
            t = np.arange(0.0, 1.01, 0.1)
            rogue_pub.publish(
                interfaces.encode_control_command(
                    ControlPlan(
                        rig.t_s,
                        t,
                        np.zeros_like(t),
                        np.zeros_like(t),
                        np.ones_like(t),
                        np.full_like(t, 2.0),
                        sequence=10_000 + k,
                    )
                )
            )
            rig.run(0.01, plan_steer=0.0, plan_accel=0.0)
        diagnostic = rig.next_diagnostic()
    finally:
        rogue.destroy_node()
    accel = accel_frames_since(rig, since)
    assert len(accel) >= 20 and max(accel) <= 0.0 + ACCEL_LSB_MPS2
    assert diagnostic.level == interfaces.ERROR and "command authority" in diagnostic.message
    assert int(diagnostic.values["refused_commands"]) >= 40


def test_a_command_repeating_the_gates_sequence_is_refused(rig):
    rig.run(0.1, plan_steer=0.0, plan_accel=0.0)
    rig.sequence -= (
        1  # the next plan repeats the last number, as a replayed or second writer's would
    )
    rig.publish_plan(0.0, 0.0)
    rig.step()
    diagnostic = rig.next_diagnostic()
    assert (
        diagnostic.level == interfaces.ERROR
        and "not after" in diagnostic.values["command_authority"]
    )


def test_command_frames_the_bridge_did_not_send_are_a_second_transmitter(rig):
    rig.run(0.2)
    frame = rvn_dbw.encode(rvn_dbw.AccelCommand(1.5, Gear.DRIVE, True, 0))
    rig.injector.send(
        can.Message(arbitration_id=frame.can_id, data=frame.data, is_extended_id=False)
    )
    rig.step(extra_frames_delivered=1)
    diagnostic = rig.next_diagnostic()
    assert diagnostic.level == interfaces.ERROR and "second transmitter" in diagnostic.message
    assert diagnostic.values["foreign_command_frames"] == "1"


def test_the_bridges_own_command_frames_are_not_a_second_transmitter(rig):
    rig.arm_and_engage()
    rig.run(0.5, plan_steer=0.0, plan_accel=0.0)
    assert rig.next_diagnostic().values["foreign_command_frames"] == "0"


def test_a_streak_of_bad_report_frames_escalates_from_warning_to_error(rig):
    rig.run(0.3)
    rig.injector.send(corrupt_motion_report(1.0, 0, bad_checksum=True))
    rig.step(extra_frames_delivered=1)
    assert rig.next_diagnostic().level == interfaces.WARN
    for i in range(rvn_dbw.E2E_FAULT_STREAK):  # between two of the van's good frames
        rig.injector.send(corrupt_motion_report(1.0, i, bad_checksum=True))
    rig.step(extra_frames_delivered=rvn_dbw.E2E_FAULT_STREAK)
    diagnostic = rig.next_diagnostic()
    assert diagnostic.level == interfaces.ERROR and "in a row failed" in diagnostic.message


def test_a_forged_report_repeating_the_last_counter_is_a_second_sender(rig):
    rig.run(0.3)
    last = decode_all(rig.frames, MsgId.MOTION_REPORT)[-1][1].counter
    rig.inject_now(corrupt_motion_report(3.0, last, bad_checksum=False))
    diagnostic = rig.next_diagnostic()
    assert diagnostic.level == interfaces.ERROR and "second sender" in diagnostic.message
    assert int(diagnostic.values["drops_MOTION_REPORT_duplicate_counter"]) == 1


def publish_mode(rig, mode: interfaces.SystemMode):
    publisher = rig.probe.create_publisher(
        DiagnosticArray, interfaces.SYSTEM_MODE, interfaces.RELIABLE_QOS
    )
    publisher.publish(interfaces.encode_system_mode(mode))
    rig.step()


def test_engage_answers_that_the_supervisor_holds_the_van_and_why(rig):
    rig.run(0.1)
    assert rig.van.arm()
    rig.run(0.1)
    publish_mode(
        rig,
        interfaces.SystemMode(
            rig.t_s, OperatingMode.READY, "van armed; holding: lidar: 0 returns", interfaces.ERROR
        ),
    )
    response = rig.engage()
    assert response.success
    assert "will not drive" in response.message and "lidar: 0 returns" in response.message


def test_engage_answers_that_a_latched_stop_needs_a_person_to_clear_it(rig):
    rig.run(0.1)
    assert rig.van.arm()
    publish_mode(
        rig,
        interfaces.SystemMode(rig.t_s, OperatingMode.MRM_EMERGENCY_STOP, "AEB", interfaces.ERROR),
    )
    assert interfaces.SYSTEM_CLEAR_MRM in rig.engage().message


def test_engage_answers_that_a_healthy_supervisor_lets_the_van_drive(rig):
    rig.run(0.1)
    assert rig.van.arm()
    publish_mode(
        rig, interfaces.SystemMode(rig.t_s, OperatingMode.READY, "van armed", interfaces.OK)
    )
    assert "lets the van drive" in rig.engage().message
