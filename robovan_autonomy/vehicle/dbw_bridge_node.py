"""The drive-by-wire CAN bridge: /control/command in, RVN-DBW v1 frames out, van reports back.

Only I/O lives here. The bytes come from vehicle/rvn_dbw.py, what to send at each instant from
command_follower.py, and how far it may go from command_limits.py. The bridge's own timers send
DBW_STEER_CMD and DBW_ACCEL_CMD every 20 ms and DBW_BODY_CMD every 100 ms on the node clock
(sim time when use_sim_time is set), whatever arrives upstream, so the van never reaches its
100 ms command timeout while this process lives. Report frames are read by a python-can Notifier
thread, checked end to end (bad CRC or counter: dropped, counted, never used; E2E_FAULT_STREAK
failures of one identifier in a row, or a repeated counter within a period, are a fault) and
handed to the executor thread through one lock. Only the command gate may command the van
(command_authority.py): commands from another writer or out of the gate's sequence are refused,
and command frames on the bus that the bridge did not send are a second transmitter; each is a
fault on /diagnostics, which the supervisor turns into a minimal-risk stop.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import threading

import can
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_srvs.srv import SetBool
from trajectory_msgs.msg import JointTrajectory

from robovan_autonomy import interfaces
from robovan_autonomy.config_errors import StartupError
from robovan_autonomy.core_types import Diagnostic
from robovan_autonomy.interfaces import InterfaceError
from robovan_autonomy.node_utils import DiagnosticsPublisher, declare_parameters, now_s, spin_node
from robovan_autonomy.parameters import Param
from robovan_autonomy.vehicle import rvn_dbw
from robovan_autonomy.vehicle.command_authority import CommandAuthority, Writer
from robovan_autonomy.vehicle.command_follower import (
    MAX_GAP_S,
    STALE_AFTER_S,
    CommandFollower,
    FollowerConfig,
    FollowerState,
)
from robovan_autonomy.vehicle.command_limits import Command, CommandLimiter, CommandLimits
from robovan_autonomy.vehicle.rvn_dbw import DbwState, Gear, MsgId
from robovan_autonomy.vehicle_params import load_vehicle_params

NODE_NAME = "dbw_bridge"
CAN_INTERFACES = ("virtual", "udp_multicast", "socketcan", "pcan", "kvaser", "vector", "slcan")
# How long the Notifier thread blocks in recv, s: bounds how long shutdown waits for it.
NOTIFIER_POLL_S = 0.05
# The van's reports count as current for this long, s: five DBW_STATUS periods. Older, the van is
# treated as silent: no ENABLE bits go out to a van whose state is unknown.
REPORT_TIMEOUT_S = 0.1
# Longest interval the limiter credits between two command ticks, s (two periods): after a stall
# of the process the command resumes at the steering rate and jerk limits, not in one jump.
MAX_TICK_DT_S = 0.04
# A report E2E fault (a streak of failures, a duplicated counter) stays a fault this long, s.
E2E_FAULT_HOLD_S = 1.0
# Command frames the bridge sent lately, to tell its own echo (interfaces that loop frames back)
# from a second transmitter: a second of every command identifier.
SENT_FRAMES_KEPT = 128

# The supervisor's mode counts as current for this long when the engage service reports it, s.
MODE_VERDICT_MAX_AGE_S = 0.5

_VEHICLE = load_vehicle_params()

PARAMETERS = [
    Param(
        "can_interface", "virtual", "python-can interface of the DBW bus", choices=CAN_INTERFACES
    ),
    Param(
        "can_channel",
        "robovan_dbw",
        "python-can channel: 'can0' for socketcan, a multicast group such as '239.74.163.2' for "
        "udp_multicast, any name for virtual",
    ),
    Param(
        "can_bitrate",
        500_000,
        "bit/s for interfaces that set it themselves; 0 leaves it as "
        "configured (socketcan and the simulated buses ignore it)",
        min=0,
        max=1_000_000,
    ),
    Param("can_udp_port", 43113, "UDP port of the udp_multicast bus", min=1, max=65535),
    Param(
        "can_udp_hop_limit",
        0,
        "multicast TTL of the udp_multicast bus; 0 keeps simulated CAN frames on this host",
        min=0,
        max=255,
    ),
    Param(
        "stale_after_s",
        STALE_AFTER_S,
        "a /control/command older than this is stale; the bridge then "
        "bridges the gap with the plan's remainder",
        min=0.02,
        max=1.0,
    ),
    Param(
        "max_gap_s",
        MAX_GAP_S,
        "longest a stale plan is followed before a controlled stop",
        min=0.0,
        max=5.0,
    ),
    Param(
        "controlled_stop_decel_mps2",
        2.5,
        "braking of the controlled stop when commands go stale (positive number)",
        min=0.5,
        max=-_VEHICLE.min_accel_mps2,
    ),
    Param("diagnostics_period_s", 0.2, "period of the /diagnostics report", min=0.1, max=0.5),
    Param(
        "command_writer",
        "command_gate",
        "the one node allowed to publish /control/command; "
        "commands from any other writer are refused and reported",
    ),
]


def bus_kwargs(interface: str, channel: str, bitrate: int, udp_port: int, hop_limit: int) -> dict:
    """can.Bus arguments for one interface: each accepts only its own options."""
    kwargs = {
        "interface": interface,
        "channel": channel,
        "can_filters": [
            {"can_id": int(i), "can_mask": 0x7FF, "extended": False}
            for i in (*rvn_dbw.REPORT_IDS, *rvn_dbw.COMMAND_IDS)
        ],
    }
    if interface == "udp_multicast":
        kwargs.update(port=udp_port, hop_limit=hop_limit, fd=False)
    elif interface not in ("virtual", "socketcan") and bitrate > 0:
        kwargs["bitrate"] = bitrate
    return kwargs


@dataclasses.dataclass
class VanView:
    """The newest trusted reports and when they arrived (node clock, s)."""

    status: rvn_dbw.DbwStatus | None = None
    status_s: float = -math.inf
    motion: rvn_dbw.MotionReport | None = None
    motion_s: float = -math.inf
    steer: rvn_dbw.SteerReport | None = None
    steer_s: float = -math.inf

    def status_fresh(self, now: float) -> bool:
        return self.status is not None and now - self.status_s <= REPORT_TIMEOUT_S

    def speed_mps(self, now: float) -> float:
        fresh = self.motion is not None and now - self.motion_s <= REPORT_TIMEOUT_S
        return self.motion.speed_mps if fresh else math.nan

    def steer_rad(self) -> float:
        return self.steer.angle_rad if self.steer is not None else 0.0


def van_fault(status: rvn_dbw.DbwStatus) -> str | None:
    """Why this status must end an engagement request, or None."""
    if status.state is DbwState.FAULT_SAFE_STOP:
        return "van in FAULT_SAFE_STOP"
    if status.fault is not rvn_dbw.FaultCode.NONE:
        return f"van fault {status.fault.name}"
    for flag in ("steer_override", "brake_override", "throttle_override", "estop_pressed"):
        if getattr(status, flag):
            return f"driver {flag}"
    return None


class Engagement:
    """The autonomy side of engagement: a standing request that any override, fault or a van
    leaving ENGAGED cancels until a person asks again."""

    def __init__(self):
        self.requested = False
        self.drop_reason = ""
        self.drops = 0
        self._seen_engaged = False

    def request(self, status: rvn_dbw.DbwStatus | None) -> str | None:
        """Stand the request, or say why not."""
        if status is None:
            return "no DBW_STATUS from the van"
        reason = van_fault(status)
        if reason:
            return reason
        self.requested, self.drop_reason, self._seen_engaged = True, "", False
        return None

    def release(self, reason: str) -> None:
        if self.requested:
            self.drops += 1
            self.drop_reason = reason
        self.requested = False

    def on_status(self, status: rvn_dbw.DbwStatus) -> None:
        if not self.requested:
            return
        reason = van_fault(status)
        if reason is None and self._seen_engaged and status.state is not DbwState.ENGAGED:
            reason = f"van left ENGAGED for {status.state.name}"
        if reason:
            self.release(reason)
        self._seen_engaged = self._seen_engaged or status.state is DbwState.ENGAGED

    def enable(self, van: VanView, now: float) -> bool:
        """ENABLE bits go out only while requested and the van reports READY or ENGAGED.

        Through an outage of the van's reports, a van last heard ENGAGED stays enabled: clearing
        the bits would hand a moving van to nobody (MANUAL coasts), while the commands that keep
        going out stop it (the supervisor's minimal-risk stop, or the follower's controlled stop).
        A driver override still ends the engagement in the van itself.
        """
        if self.requested and not van.status_fresh(now):
            if van.status is None or van.status.state is not DbwState.ENGAGED:
                self.release("van reports stale")
            return self.requested
        return self.requested and van.status.state in (DbwState.READY, DbwState.ENGAGED)


class _ReportListener(can.Listener):
    """Hands every received frame to the bridge; keeps the Notifier thread alive on bus errors."""

    def __init__(self, bridge: DbwBridgeNode):
        self._bridge = bridge

    def on_message_received(self, msg: can.Message) -> None:
        self._bridge.on_can_message(msg)

    def on_error(self, exc: Exception) -> None:
        self._bridge.on_bus_error(exc)


class DbwBridgeNode(Node):
    def __init__(self, **node_kwargs):
        super().__init__(NODE_NAME, **node_kwargs)
        self.params = declare_parameters(self, PARAMETERS)
        p = self.params
        self._limits = CommandLimits.from_vehicle(_VEHICLE)
        self._limiter = CommandLimiter(self._limits)
        self._follower = CommandFollower(
            FollowerConfig(
                stale_after_s=p.stale_after_s,
                max_gap_s=p.max_gap_s,
                controlled_stop_decel_mps2=p.controlled_stop_decel_mps2,
            )
        )
        self._engagement = Engagement()
        self._counters = rvn_dbw.CounterGenerator()
        self._e2e = rvn_dbw.E2EChecker(rvn_dbw.REPORT_IDS)
        self._authority = CommandAuthority(p.command_writer)
        self._lock = (
            threading.Lock()
        )  # guards _van, _e2e, _engagement, _authority, _sent_frames, _e2e_fault
        self._sent_frames: collections.deque[tuple[int, bytes]] = collections.deque(
            maxlen=SENT_FRAMES_KEPT
        )
        self._e2e_fault = ""
        self._e2e_fault_s = -math.inf
        self._van = VanView()
        self._frames_received = 0
        self._undecodable_reports = 0
        self._bus_errors = 0
        self._send_errors = 0
        self._frames_sent = 0
        self._malformed_commands = 0
        self._reported_problems = (
            0,
            0,
            0,
        )  # (malformed commands, e2e drops, rejected plans) at the last report
        self._mode: interfaces.SystemMode | None = None  # the supervisor's, for the hazard lights
        self._malformed_modes = 0
        self._latency_plan_stamp_s: float | None = None
        self._latencies_ms: list[
            float
        ] = []  # sensor stamp → first CAN frame of each plan, since the last report
        self._last_command_problem = ""
        self._last_tick_s: float | None = None
        self._enabled_out = False
        self._hazard = False
        self._active_limits: frozenset[str] = frozenset()

        try:
            self._bus = can.Bus(
                **bus_kwargs(
                    p.can_interface,
                    p.can_channel,
                    p.can_bitrate,
                    p.can_udp_port,
                    p.can_udp_hop_limit,
                )
            )
        except (OSError, can.CanError) as err:
            raise StartupError(
                f"cannot open can_interface '{p.can_interface}', can_channel "
                f"'{p.can_channel}': {err}"
            ) from err
        self._notifier = can.Notifier(self._bus, [_ReportListener(self)], timeout=NOTIFIER_POLL_S)

        self._status_pub = self.create_publisher(
            JointState, interfaces.VEHICLE_STATUS, interfaces.RELIABLE_QOS
        )
        self._diagnostics = DiagnosticsPublisher(self)
        self.create_subscription(
            JointTrajectory, interfaces.CONTROL_COMMAND, self._on_command, interfaces.RELIABLE_QOS
        )
        self.create_subscription(
            DiagnosticArray, interfaces.SYSTEM_MODE, self._on_mode, interfaces.RELIABLE_QOS
        )
        self.create_service(SetBool, interfaces.VEHICLE_ENGAGE, self._on_engage)
        # Sim time paces the transmit timers when it is in use, so the van simulated in lockstep
        # sees a frame every 20 ms of its own time. Otherwise a steady clock does: a step of the
        # system clock (NTP) must neither stall the frames nor credit the limiter with a long
        # interval.
        self._tick_clock = (
            self.get_clock()
            if self.get_parameter("use_sim_time").value
            else Clock(clock_type=ClockType.STEADY_TIME)
        )
        self._command_timer = self.create_timer(
            rvn_dbw.period_s(MsgId.STEER_CMD), self._send_commands, clock=self._tick_clock
        )
        self._body_timer = self.create_timer(
            rvn_dbw.period_s(MsgId.BODY_CMD), self._send_body, clock=self._tick_clock
        )
        self._diagnostics_timer = self.create_timer(
            p.diagnostics_period_s, self._publish_diagnostics, clock=self._tick_clock
        )

    # -- CAN receive (Notifier thread) ---------------------------------------------------------
    def on_can_message(self, msg: can.Message) -> None:
        """Each trusted motion report goes out on /vehicle/status at once, with the latest
        steering report: as fresh as the van reports it, and (in lockstep) before the tick's
        timers run, as the simulator's sensors are."""
        try:
            if msg.is_extended_id or msg.is_remote_frame or msg.is_error_frame:
                return
            status = self._take_report(
                rvn_dbw.Frame(msg.arbitration_id, bytes(msg.data)), now_s(self)
            )
            if status is not None:
                self._status_pub.publish(interfaces.encode_vehicle_status(status))
        finally:
            with self._lock:
                self._frames_received += 1

    def _take_report(self, frame: rvn_dbw.Frame, now: float) -> interfaces.VehicleStatus | None:
        with self._lock:
            if frame.can_id in rvn_dbw.COMMAND_IDS:
                if (frame.can_id, frame.data) not in self._sent_frames:
                    self._authority.on_foreign_frame(rvn_dbw.MsgId(frame.can_id).name, now)
                return None
            verdict = self._e2e.check(frame, now)
            if not verdict.ok:
                self._on_e2e_failure(frame.can_id, verdict, now)
                return None
            try:
                report = rvn_dbw.decode(frame)
            except rvn_dbw.FrameError:
                self._undecodable_reports += 1
                return None
            if isinstance(report, rvn_dbw.DbwStatus):
                self._van.status, self._van.status_s = report, now
                self._engagement.on_status(report)
            elif isinstance(report, rvn_dbw.SteerReport):
                self._van.steer, self._van.steer_s = report, now
            elif isinstance(report, rvn_dbw.MotionReport):
                self._van.motion, self._van.motion_s = report, now
                steer = self._van.steer
                if steer is not None:
                    return interfaces.VehicleStatus(
                        now, steer.angle_rad, steer.rate_radps, report.speed_mps, report.accel_mps2
                    )
            return None

    def _on_e2e_failure(self, can_id: int, verdict: rvn_dbw.E2EVerdict, now: float) -> None:
        """Under the lock. One bad frame is a warning; a streak, or a second sender, a fault."""
        name = rvn_dbw.MsgId(can_id).name if can_id in rvn_dbw.REPORT_IDS else hex(can_id)
        if verdict is rvn_dbw.E2EVerdict.DUPLICATE_COUNTER:
            self._e2e_fault = f"two {name} frames with one counter within a period: a second sender"
        elif self._e2e.streak[can_id] >= rvn_dbw.E2E_FAULT_STREAK:
            self._e2e_fault = (
                f"{self._e2e.streak[can_id]} {name} frames in a row failed CRC/counter checks"
            )
        else:
            return
        self._e2e_fault_s = now

    @property
    def frames_received(self) -> int:
        """Report frames taken off the bus so far, trusted or not.

        Lockstep harnesses wait on it."""
        with self._lock:
            return self._frames_received

    def on_bus_error(self, exc: Exception) -> None:
        with self._lock:
            self._bus_errors += 1

    # -- ROS inputs ----------------------------------------------------------------------------
    def _on_command(self, msg: JointTrajectory, info: dict) -> None:
        try:
            plan = interfaces.decode_control_command(msg)
        except InterfaceError as err:
            self._malformed_commands += 1
            self._last_command_problem = str(err)
            return
        gid = info.get("publisher_gid")
        gid = bytes(gid["data"]) if gid else None
        unseen = gid is not None and gid not in self._authority.gate_gids
        writers = self._writers() if unseen else None  # a writer the bridge has not looked up yet
        with self._lock:
            if writers is not None:
                self._authority.on_graph(writers)
            refusal = self._authority.admit(plan.sequence, gid, now_s(self))
        if refusal:
            self._last_command_problem = refusal
            return
        if not self._follower.accept(plan, now_s(self)):
            self._last_command_problem = "plan older than the one held or stamped in the future"

    def _on_mode(self, msg: DiagnosticArray) -> None:
        """The supervisor's mode: the hazards go on during its minimal-risk stops."""
        try:
            mode = interfaces.decode_system_mode(msg)
        except InterfaceError as err:
            self._malformed_modes += 1
            self._last_command_problem = f"system mode: {err}"
            return
        if self._mode is None or mode.stamp_s >= self._mode.stamp_s:
            self._mode = mode

    def _on_engage(self, request: SetBool.Request, response: SetBool.Response) -> SetBool.Response:
        """success: the van-side request stands. The message also says whether the supervisor
        will let the van drive once engaged, and why not."""
        now = now_s(self)
        with self._lock:
            fresh = self._van.status_fresh(now)
            if not request.data:
                self._engagement.release("released through the engage service")
                response.success, response.message = True, "engagement released"
                return response
            refusal = self._engagement.request(self._van.status if fresh else None)
            state = self._van.status.state.name if fresh else "silent"
            if refusal is None:
                self._authority.resync()
        response.success = refusal is None
        response.message = (
            f"{refusal or f'engagement requested; van {state}'}; {self._supervisor_verdict(now)}"
        )
        return response

    def _supervisor_verdict(self, now: float) -> str:
        mode = self._mode
        if mode is None or now - mode.stamp_s > MODE_VERDICT_MAX_AGE_S:
            return "supervisor silent: the van will not drive"
        if mode.mode.is_mrm:
            return (
                f"the van will not drive: {mode.mode.value} latched ({mode.reason}); "
                f"a person clears it with {interfaces.SYSTEM_CLEAR_MRM} at rest"
            )
        if mode.level >= interfaces.ERROR:
            return f"the van will not drive: the supervisor holds it ({mode.reason})"
        return f"the supervisor lets the van drive ({mode.mode.value}: {mode.reason})"

    def _writers(self) -> list[Writer]:
        return [
            Writer(info.node_name, bytes(info.endpoint_gid))
            for info in self.get_publishers_info_by_topic(interfaces.CONTROL_COMMAND)
        ]

    # -- CAN transmit (own timers, node clock) --------------------------------------------------
    def _send_commands(self) -> None:
        now = now_s(self)
        tick_s = self._tick_clock.now().nanoseconds * 1e-9
        dt = (
            min(tick_s - self._last_tick_s, MAX_TICK_DT_S) if self._last_tick_s is not None else 0.0
        )
        self._last_tick_s = tick_s
        with self._lock:
            enable = self._engagement.enable(self._van, now)
            speed = self._van.speed_mps(now)
            measured_steer = self._van.steer_rad()
        wanted = self._follower.command_at(now, speed)
        if enable:
            limited = self._limiter.limit(Command(wanted.steer_rad, wanted.accel_mps2), dt, speed)
            command, self._active_limits = limited.command, limited.active
        else:
            self._follower.track_vehicle(measured_steer, 0.0)
            self._limiter.reset(Command(measured_steer, 0.0))
            command, self._active_limits = self._limiter.previous, frozenset()
        stopping = self._mode is not None and self._mode.mode.is_mrm
        self._enabled_out, self._hazard = enable, enable and (wanted.hazard or stopping)
        plan = self._follower.plan
        if (
            enable
            and plan is not None
            and wanted.state in (FollowerState.FOLLOWING, FollowerState.BRIDGING_GAP)
            and plan.stamp_s != self._latency_plan_stamp_s
        ):
            self._latency_plan_stamp_s = plan.stamp_s
            self._latencies_ms.append((now - plan.stamp_s) * 1e3)
        gear = Gear.DRIVE if enable else Gear.NONE
        self._send(
            rvn_dbw.SteerCommand(
                command.steer_rad,
                self._limits.max_steer_rate_radps,
                enable,
                self._counters.next(MsgId.STEER_CMD),
            )
        )
        self._send(
            rvn_dbw.AccelCommand(
                command.accel_mps2, gear, enable, self._counters.next(MsgId.ACCEL_CMD)
            )
        )

    def _send_body(self) -> None:
        self._send(
            rvn_dbw.BodyCommand(
                rvn_dbw.TurnSignal.OFF,
                self._hazard,
                False,
                False,
                self._counters.next(MsgId.BODY_CMD),
            )
        )

    def _send(self, message: rvn_dbw.Message) -> None:
        frame = rvn_dbw.encode(message)
        with self._lock:
            self._sent_frames.append((frame.can_id, frame.data))
        try:
            self._bus.send(
                can.Message(arbitration_id=frame.can_id, data=frame.data, is_extended_id=False)
            )
            self._frames_sent += 1
        except can.CanError:
            self._send_errors += 1

    # -- diagnostics -----------------------------------------------------------------------------
    def _publish_diagnostics(self) -> None:
        now = now_s(self)
        writers = self._writers()
        with self._lock:
            self._authority.on_graph(writers)
            authority = self._authority.problem(now)
            e2e_fault = self._e2e_fault if now - self._e2e_fault_s < E2E_FAULT_HOLD_S else ""
            status = self._van.status if self._van.status_fresh(now) else None
            drops = {
                f"drops_{rvn_dbw.MsgId(i).name}_{reason.value}": n
                for (i, reason), n in sorted(
                    self._e2e.drops.items(), key=lambda item: (item[0][0], item[0][1].value)
                )
            }
            values = {
                "engage_requested": self._engagement.requested,
                "engagement_drops": self._engagement.drops,
                "engagement_drop_reason": self._engagement.drop_reason,
                "e2e_drops": self._e2e.drop_count(),
                **drops,
                "frames_received": self._frames_received,
                "undecodable_reports": self._undecodable_reports,
                "bus_errors": self._bus_errors,
                "command_writers": ",".join(w.node_name for w in self._authority.writers),
                "refused_commands": self._authority.refused,
                "foreign_command_frames": self._authority.foreign_frames,
                "command_authority": authority or "ok",
                "e2e_fault": e2e_fault,
            }
        values.update(
            {
                "dbw_state": status.state.name if status else "UNKNOWN",
                "fault_code": status.fault.name if status else "UNKNOWN",
                "steer_override": status.steer_override if status else "UNKNOWN",
                "brake_override": status.brake_override if status else "UNKNOWN",
                "throttle_override": status.throttle_override if status else "UNKNOWN",
                "estop_pressed": status.estop_pressed if status else "UNKNOWN",
                "enable_out": self._enabled_out,
                "follower_state": self._follower.state.name,
                "plan_age_s": f"{self._follower.plan_age_s(now):.3f}",
                "active_limits": ",".join(sorted(self._active_limits)),
                "malformed_commands": self._malformed_commands,
                "last_command_problem": self._last_command_problem,
                "rejected_plans": self._follower.plans_rejected,
                "malformed_modes": self._malformed_modes,
                "e2e_latency_ms": ",".join(f"{ms:.1f}" for ms in self._latencies_ms),
                "frames_sent": self._frames_sent,
                "send_errors": self._send_errors,
            }
        )
        self._latencies_ms = []
        level, message = self._health(status, values)
        self._reported_problems = (
            self._malformed_commands + self._malformed_modes,
            values["e2e_drops"],
            self._follower.plans_rejected,
        )
        self._diagnostics.publish([Diagnostic("dbw", level, message, values)])

    def _health(self, status: rvn_dbw.DbwStatus | None, values: dict) -> tuple[int, str]:
        if values["command_authority"] != "ok":
            return interfaces.ERROR, f"command authority: {values['command_authority']}"
        if values["e2e_fault"]:
            return interfaces.ERROR, f"van reports: {values['e2e_fault']}"
        if status is None:
            return interfaces.ERROR, "no current DBW_STATUS from the van"
        if status.state is DbwState.FAULT_SAFE_STOP:
            return interfaces.ERROR, f"van FAULT_SAFE_STOP ({status.fault.name})"
        if self._send_errors:
            return interfaces.ERROR, f"{self._send_errors} frames failed to send"
        malformed, drops, rejected = self._reported_problems
        if self._malformed_commands + self._malformed_modes > malformed:
            return interfaces.WARN, f"malformed input: {self._last_command_problem}"
        if self._follower.plans_rejected > rejected:
            return interfaces.WARN, f"plan rejected: {self._last_command_problem}"
        if values["e2e_drops"] > drops:
            return interfaces.WARN, (
                f"{values['e2e_drops'] - drops} report frames dropped (CRC/counter)"
            )
        if self._enabled_out and self._follower.state is not FollowerState.FOLLOWING:
            return interfaces.WARN, f"commands stale: {self._follower.state.name}"
        return interfaces.OK, f"van {status.state.name}"

    def destroy_node(self):
        """Stop reading and writing the bus before the node goes: the van then times out."""
        for timer in (self._command_timer, self._body_timer, self._diagnostics_timer):
            timer.cancel()
        self._notifier.stop()
        self._bus.shutdown()
        return super().destroy_node()


def main(args=None):
    spin_node(DbwBridgeNode, args)
