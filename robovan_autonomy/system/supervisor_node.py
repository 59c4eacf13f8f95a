"""The supervisor node: watches the whole stack, decides the operating mode, runs the AEB.

Inputs: every sensor stream (the camera's images themselves), every node output, /vehicle/status,
/diagnostics (the planner's health, the bridge's DBW state). Outputs: /system/mode at rate_hz and at
once on a change (the command gate executes it; the bridge turns the hazards on in a stop), an
aggregated status on /diagnostics whose values carry the mode, and the service /system/clear_mrm
through which a person ends a latched minimal-risk stop. The decisions are in supervisor.py,
stream_monitor.py, aeb.py, mrm.py and plausibility.py; this file does I/O only. Every input is
judged in stamp order (out-of-order and future stamps are rejected and counted), its content for
plausibility (a frozen, NaN, empty, black or impossible message is rejected), and a bad message is a
diagnostic, never a crash. A stream that sends only bad content for bad_data_max_s is lying: a
fault.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from nav_msgs.msg import Odometry
from rclpy.node import Node
from sensor_msgs.msg import Image, Imu, JointState, NavSatFix, PointCloud2
from std_srvs.srv import Trigger
from trajectory_msgs.msg import JointTrajectory

from robovan_autonomy import core_types as ct
from robovan_autonomy import interfaces as itf
from robovan_autonomy.node_utils import (
    FRAME_ALIASES,
    DiagnosticsPublisher,
    ParameterError,
    declare_parameters,
    now_s,
    sensor_frame_ids,
    spin_node,
)
from robovan_autonomy.parameters import Param
from robovan_autonomy.system import mrm, plausibility
from robovan_autonomy.system.aeb import Aeb, AebConfig, AebResult
from robovan_autonomy.system.modes import OperatingMode
from robovan_autonomy.system.plausibility import PlausibilityLimits
from robovan_autonomy.system.stream_monitor import ClockMonitor, StreamMonitor, StreamSpec
from robovan_autonomy.system.supervisor import (
    ERROR,
    ESCALATION_MARGIN_M,
    OK,
    WARN,
    Finding,
    StopCheck,
    Supervisor,
    summary,
)
from robovan_autonomy.vehicle_params import load_vehicle_params

NODE_NAME = "supervisor"
_VEHICLE = load_vehicle_params()
_LIMITS = PlausibilityLimits()
# An AEB result older than this says nothing about the road now, s (three LiDAR frames).
AEB_RESULT_TIMEOUT_S = 0.3
# The van's speed report counts as current for this long, s (the bridge's report timeout).
STATUS_TIMEOUT_S = 0.1
# Diagnostics key whose value is the van's DBW state (the bridge's report).
DBW_STATE_KEY = "dbw_state"
# A mode change between decisions (the AEB, a person clearing a stop) goes out within this, s.
# Outputs leave from timers only: in lockstep, a message published from a timer reaches its readers
# in the same tick, one published from a subscription callback may not.
URGENT_PERIOD_S = 0.01


@dataclasses.dataclass(frozen=True)
class Watched:
    """A stream the supervisor watches: topic, message type, decoder and what healthy means."""

    spec: StreamSpec
    topic: str
    msg_type: type
    decode: object
    # A sensor stream's frame: sensor-data QoS (best effort) as the sensors publish, and its
    # frame aliases accepted. None: one of the stack's own streams, strict.
    frame: str | None = None


# Rates are each source's nominal rate with room for jitter; ages a few periods, and for the
# stack's own outputs the latency budget plus one period.
WATCHED = (
    Watched(
        StreamSpec("camera", 10.0, 0.3), itf.CAMERA_IMAGE, Image, itf.decode_image, ct.CAMERA_FRAME
    ),
    Watched(
        StreamSpec("lidar", 7.0, 0.3),
        itf.LIDAR_POINTS,
        PointCloud2,
        itf.decode_point_rows,
        ct.LIDAR_FRAME,
    ),
    Watched(
        StreamSpec("gnss", 5.0, 0.5, critical=False),
        itf.GNSS_FIX,
        NavSatFix,
        itf.decode_gnss_fix,
        ct.GNSS_FRAME,
    ),
    Watched(StreamSpec("imu", 50.0, 0.1), itf.IMU_DATA, Imu, itf.decode_imu, ct.IMU_FRAME),
    Watched(StreamSpec("odometry", 10.0, 0.3), itf.ODOMETRY, Odometry, itf.decode_odometry),
    Watched(
        StreamSpec("objects", 5.0, 0.5, refined=True), itf.OBJECTS, PointCloud2, itf.decode_objects
    ),
    Watched(
        StreamSpec("planning_command", 5.0, 0.35),
        itf.PLANNING_COMMAND,
        JointTrajectory,
        itf.decode_control_command,
    ),
    Watched(
        StreamSpec("control_command", 5.0, 0.35),
        itf.CONTROL_COMMAND,
        JointTrajectory,
        itf.decode_control_command,
    ),
    Watched(
        StreamSpec("vehicle_status", 25.0, 0.15),
        itf.VEHICLE_STATUS,
        JointState,
        itf.decode_vehicle_status,
    ),
)

PARAMETERS = [
    Param("rate_hz", 20.0, "how often the mode is decided and published", min=5.0, max=100.0),
    Param(
        "diagnostics_period_s",
        0.2,
        "period of the aggregated /diagnostics status",
        min=0.05,
        max=2.0,
    ),
    Param(
        "watched_streams",
        [w.spec.name for w in WATCHED],
        f"streams that must be healthy (of {', '.join(w.spec.name for w in WATCHED)})",
    ),
    Param(
        "expected_nodes",
        ["planner", "dbw_bridge", "command_gate"],
        "nodes whose /diagnostics must keep coming",
    ),
    Param(
        "node_diagnostics_max_age_s",
        1.0,
        "an expected node silent on /diagnostics this long is lost",
        min=0.2,
        max=10.0,
    ),
    Param(
        "max_position_sigma_m",
        0.5,
        "localization confidence: a larger position standard deviation "
        "needs a minimal-risk stop (half of it warns)",
        min=0.05,
        max=10.0,
    ),
    Param("aeb_enabled", True, "run the independent LiDAR AEB"),
    *[
        Param(
            f"{w.spec.name}_max_age_s",
            w.spec.max_age_s,
            f"{w.spec.name}: newest data older than this is lost",
            min=0.01,
            max=10.0,
        )
        for w in WATCHED
    ],
    *[
        Param(
            f"{w.spec.name}_min_rate_hz",
            w.spec.min_rate_hz,
            f"{w.spec.name}: fewer messages a second is lost",
            min=0.0,
            max=1000.0,
        )
        for w in WATCHED
    ],
    Param(
        "bad_data_max_s",
        StreamSpec.bad_data_max_s,
        "a stream whose every message for this long "
        "failed to decode or was implausible is lying: a fault, even for a non-critical stream",
        min=0.05,
        max=2.0,
    ),
    Param(
        "lidar_min_finite_ratio",
        _LIMITS.lidar_min_finite_ratio,
        "lidar: a cloud with a smaller share of finite returns is implausible",
        min=0.0,
        max=1.0,
    ),
    Param(
        "lidar_min_return_ratio",
        _LIMITS.lidar_min_return_ratio,
        "lidar: a cloud with fewer finite "
        "returns than this share of the scan pattern (beams x columns) is implausible",
        min=0.0,
        max=1.0,
    ),
    Param(
        "lidar_min_ground_returns",
        _LIMITS.lidar_min_ground_returns,
        "lidar: a cloud with fewer "
        f"returns from the road within {plausibility.GROUND_RADIUS_M:g} m is implausible "
        "(the road is always below the van)",
        min=0,
        max=100_000,
    ),
    Param(
        "camera_min_mean_level",
        _LIMITS.camera_min_mean_level,
        "camera: a darker frame (mean 8-bit level) is black",
        min=0.0,
        max=255.0,
    ),
    Param(
        "camera_max_mean_level",
        _LIMITS.camera_max_mean_level,
        "camera: a brighter frame is saturated",
        min=0.0,
        max=255.0,
    ),
    Param(
        "camera_min_std_level",
        _LIMITS.camera_min_std_level,
        "camera: a frame whose levels spread "
        "less (standard deviation) is uniform: a covered or dead sensor",
        min=0.0,
        max=128.0,
    ),
    Param(
        "imu_max_accel_mps2",
        _LIMITS.imu_max_accel_mps2,
        "imu: a larger acceleration is implausible",
        min=10.0,
        max=500.0,
    ),
    Param(
        "imu_max_gyro_radps",
        _LIMITS.imu_max_gyro_radps,
        "imu: a larger angular rate is implausible",
        min=0.5,
        max=50.0,
    ),
    Param(
        "gnss_max_jump_sigma",
        _LIMITS.gnss_max_jump_sigma,
        "gnss: a fix further from the last one "
        "than the van's top speed allows plus this many of their stated σ is implausible",
        min=1.0,
        max=100.0,
    ),
    Param(
        "odometry_max_jump_m",
        _LIMITS.odometry_max_jump_m,
        "odometry: a pose further from the last "
        "one than the van's top speed allows plus this is implausible",
        min=0.1,
        max=100.0,
    ),
    Param(
        "status_max_speed_change_mps2",
        _LIMITS.status_max_speed_change_mps2,
        "vehicle_status: a faster change of the reported speed is implausible",
        min=1.0,
        max=100.0,
    ),
    Param(
        "moving_speed_mps",
        _LIMITS.moving_speed_mps,
        "above this speed a repeated camera frame, "
        "GNSS fix, pose or plan is frozen (at rest they may repeat)",
        min=0.1,
        max=5.0,
    ),
    FRAME_ALIASES,
]


class SupervisorNode(Node):
    def __init__(self, **node_kwargs):
        super().__init__(NODE_NAME, **node_kwargs)
        self.params = p = declare_parameters(self, PARAMETERS)
        known = {w.spec.name for w in WATCHED}
        unknown = sorted(set(p.watched_streams) - known)
        if unknown:
            raise ParameterError(
                f"{NODE_NAME}.ros__parameters.watched_streams: unknown {unknown}; "
                f"known: {sorted(known)}"
            )
        self.frame_ids = sensor_frame_ids(self, p.frame_aliases)
        self.supervisor = Supervisor()
        self.actuator = mrm.ActuatorModel.from_vehicle(_VEHICLE)
        self.aeb = Aeb(AebConfig.from_vehicle(_VEHICLE))
        self.lidar_pose = _VEHICLE.sensor_pose("lidar_top")
        limits = PlausibilityLimits(
            **{f.name: getattr(p, f.name) for f in dataclasses.fields(PlausibilityLimits)}
        )
        self.checks = plausibility.make_checks(limits, _VEHICLE)
        self.clock = ClockMonitor()
        self.monitors: dict[str, StreamMonitor] = {}
        for watched in WATCHED:
            if watched.spec.name in p.watched_streams:
                spec = dataclasses.replace(
                    watched.spec,
                    max_age_s=getattr(p, f"{watched.spec.name}_max_age_s"),
                    min_rate_hz=getattr(p, f"{watched.spec.name}_min_rate_hz"),
                    bad_data_max_s=p.bad_data_max_s,
                )
                self.monitors[spec.name] = StreamMonitor(spec)
                self.create_subscription(
                    watched.msg_type,
                    watched.topic,
                    self._on_stream(watched),
                    itf.RELIABLE_QOS if watched.frame is None else itf.SENSOR_QOS,
                )
        self.node_monitors = {
            name: StreamMonitor(StreamSpec(f"node {name}", 0.0, p.node_diagnostics_max_age_s))
            for name in p.expected_nodes
            if name
        }
        self.node_levels: dict[
            str, tuple[float, int, str, dict]
        ] = {}  # node → (stamp, level, message, values)
        self.odometry: ct.PoseEstimate | None = None
        self.status: ct.VehicleStatus | None = None
        self.command: itf.ControlPlan | None = None
        self.aeb_result: AebResult | None = None
        self.internal_errors = 0
        self.last_internal_error = ""
        self.rejected_diagnostics = 0
        self.last_diagnostics_problem = ""
        self._published_mode: OperatingMode | None = None
        self._urgent = False  # a mode change waiting for the urgent timer
        self._last_diagnostics_s = -math.inf
        self.mode_pub = self.create_publisher(DiagnosticArray, itf.SYSTEM_MODE, itf.RELIABLE_QOS)
        self.diagnostics = DiagnosticsPublisher(self)
        self.create_subscription(
            DiagnosticArray,
            itf.DIAGNOSTICS,
            self._guarded(self._on_diagnostics, "on_diagnostics"),
            itf.RELIABLE_QOS,
        )
        self.create_service(Trigger, itf.SYSTEM_CLEAR_MRM, self._on_clear)
        self.create_timer(1.0 / p.rate_hz, self._guarded(self._decide_now, "cycle"))
        self.create_timer(URGENT_PERIOD_S, self._guarded(self._decide_if_urgent, "urgent"))

    # -- inputs ------------------------------------------------------------------------------
    def _guarded(self, callback, name: str):
        """A bug in one callback is a diagnostic and a stop, never a dead supervisor."""

        def run(*args):
            try:
                callback(*args)
            except Exception as err:  # noqa: BLE001 - the supervisor must outlive its own bugs
                self.internal_errors += 1
                self.last_internal_error = f"{name}: {err!r}"
                self.get_logger().error(f"internal error in {name}: {err!r}")

        return run

    def _on_stream(self, watched: Watched):
        monitor_name = watched.spec.name

        check = self.checks.get(monitor_name)
        frame_ids = () if watched.frame is None else (self.frame_ids[watched.frame],)

        def callback(msg) -> None:
            monitor, now = self.monitors[monitor_name], now_s(self)
            self.clock.observe(now)
            try:
                value = watched.decode(msg, *frame_ids)
            except itf.InterfaceError as err:
                monitor.reject_content(str(err), now)
                return
            implausible = check(value, self._moving(now)) if check is not None else ""
            if monitor.accept(itf.from_stamp(msg.header.stamp), now, implausible):
                return
            self._use(monitor_name, value, now)

        return self._guarded(callback, f"on_{monitor_name}")

    def _use(self, stream: str, value, now: float) -> None:
        if stream == "odometry":
            self.odometry = value
        elif stream == "vehicle_status":
            self.status = value
        elif stream == "control_command":
            self.command = value
        elif stream == "lidar" and self.params.aeb_enabled:
            self._run_aeb(ct.finite_points(value), now)

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        try:
            statuses = itf.decode_diagnostics(msg)
        except itf.InterfaceError as err:
            self.rejected_diagnostics += 1
            self.last_diagnostics_problem = str(err)
            return
        stamp, now = itf.from_stamp(msg.header.stamp), now_s(self)
        by_node: dict[str, list[ct.Diagnostic]] = {}
        for status in statuses:
            by_node.setdefault(status.name.split(":")[0].strip(), []).append(status)
        for node, node_statuses in by_node.items():
            if node == NODE_NAME:
                continue
            monitor = self.node_monitors.get(node)
            if monitor is not None and monitor.accept(stamp, now):
                continue
            previous = self.node_levels.get(node)
            if previous is not None and stamp < previous[0]:
                continue
            worst = max(node_statuses, key=lambda d: d.level)
            values = {k: v for d in node_statuses for k, v in d.values.items()}
            self.node_levels[node] = (stamp, min(worst.level, ERROR), worst.message, values)

    def _on_clear(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        now = now_s(self)
        self.checks["control_command"].resync()
        speed = self._speed(now)
        response.success, response.message = self.supervisor.clear(speed, self._findings(now))
        self.get_logger().info(f"clear minimal-risk stop: {response.message}")
        self._urgent = self._urgent or response.success
        return response

    # -- AEB -----------------------------------------------------------------------------------
    def _run_aeb(self, points: np.ndarray, now: float) -> None:
        command, speed = self.command, self._speed(now)
        if command is None or command.end_s < now:
            path_s, path_steer, length = np.array([0.0]), np.array([self._steer()]), 0.0
        else:
            path_s, path_steer = command.remaining_path(now)
            length = self.aeb.command_length_m(float(path_s[-1]), float(command.speed_mps[-1]))
        min_length = 0.0
        latch = self.supervisor.latch
        if latch is not None and latch.mode is OperatingMode.MRM_COMFORTABLE_STOP:
            min_length = self._comfortable_stop_m(now, speed) + ESCALATION_MARGIN_M
        self.aeb_result = self.aeb.check(
            now,
            self.lidar_pose.to_base_link(points[:, :3]),
            path_s,
            path_steer,
            length,
            speed if math.isfinite(speed) else 0.0,
            min_length,
        )
        result = self.aeb_result
        if result.trigger and self.supervisor.emergency(
            now,
            f"AEB: obstacle {result.distance_m:.1f} m ahead on the path, TTC {result.ttc_s:.2f} s",
        ):
            self._urgent = True

    def _speed(self, now: float) -> float:
        status = self.status
        return (
            status.speed_mps
            if status is not None and now - status.stamp_s <= STATUS_TIMEOUT_S
            else math.nan
        )

    def _moving(self, now: float) -> bool:
        return abs(self._speed(now)) >= self.params.moving_speed_mps  # NaN (no status): not moving

    def _steer(self) -> float:
        return self.status.steer_rad if self.status is not None else 0.0

    def _comfortable_stop_m(self, now: float, speed: float) -> float:
        command = self.command
        accel = command.at(now, command.accel_mps2) if command is not None else 0.0
        return mrm.stop_distance_m(
            speed if math.isfinite(speed) else _VEHICLE.max_speed_hw_mps,
            accel,
            mrm.COMFORTABLE,
            self.actuator,
        )

    # -- health --------------------------------------------------------------------------------
    def _findings(self, now: float) -> list[Finding]:
        findings = []
        clock = self.clock.problem(now)
        if clock:
            findings.append(Finding("clock", ERROR, clock))
        for name, monitor in self.monitors.items():
            status = monitor.status(now)
            if not status.ok:
                level = ERROR if monitor.spec.critical or status.lying else WARN
                findings.append(Finding(name, level, status.problem))
        for name, monitor in self.node_monitors.items():
            status = monitor.status(now)
            if not status.ok:
                findings.append(
                    Finding(name, ERROR, f"node {name} silent on /diagnostics ({status.problem})")
                )
        for node, (stamp, level, message, _) in self.node_levels.items():
            fresh = now - stamp <= self.params.node_diagnostics_max_age_s
            if fresh and level >= WARN:
                findings.append(Finding(node, level, f"{node}: {message}"))
        findings.extend(self._localization_findings())
        if self.internal_errors:
            findings.append(
                Finding(NODE_NAME, ERROR, f"supervisor internal error: {self.last_internal_error}")
            )
        return findings

    def _localization_findings(self) -> list[Finding]:
        odometry = self.odometry
        if odometry is None:
            return []
        cov = odometry.pose_covariance
        if not np.all(np.isfinite(cov[:2, :2])):
            return [Finding("localization", ERROR, "localization: position covariance not finite")]
        sigma = math.sqrt(max(cov[0, 0], cov[1, 1], 0.0))
        limit = self.params.max_position_sigma_m
        if sigma > limit:
            return [
                Finding(
                    "localization", ERROR, f"localization: position σ {sigma:.2f} m > {limit:g} m"
                )
            ]
        if sigma > limit / 2.0:
            return [Finding("localization", WARN, f"localization: position σ {sigma:.2f} m")]
        return []

    def _dbw_state(self, now: float) -> str:
        bridge = self.node_levels.get("dbw_bridge")
        if bridge is None or now - bridge[0] > self.params.node_diagnostics_max_age_s:
            return "UNKNOWN"
        return bridge[3].get(DBW_STATE_KEY, "UNKNOWN")

    def _stop_check(self, now: float) -> StopCheck:
        latch = self.supervisor.latch
        if latch is None or latch.mode is not OperatingMode.MRM_COMFORTABLE_STOP:
            return StopCheck()
        result = self.aeb_result
        free = (
            result.free_distance_m
            if result is not None and now - result.stamp_s <= AEB_RESULT_TIMEOUT_S
            else math.inf
        )
        return StopCheck(self._comfortable_stop_m(now, self._speed(now)), free)

    # -- outputs ---------------------------------------------------------------------------------
    def _decide_now(self) -> None:
        self._decide(now_s(self))

    def _decide_if_urgent(self) -> None:
        if self._urgent:
            self._urgent = False
            self._decide(now_s(self))

    def _decide(self, now: float) -> None:
        self.clock.observe(now)
        findings = self._findings(now)
        self.supervisor.step(now, self._dbw_state(now), findings, self._stop_check(now))
        self._publish(now, findings)

    def _publish(self, now: float, findings: list[Finding]) -> None:
        supervisor = self.supervisor
        level = max([f.level for f in findings] + [ERROR if supervisor.mode.is_mrm else OK])
        self.mode_pub.publish(
            itf.encode_system_mode(ct.SystemMode(now, supervisor.mode, supervisor.reason, level))
        )
        changed = supervisor.mode is not self._published_mode
        if changed:
            self.get_logger().info(f"mode {supervisor.mode.value}: {supervisor.reason}")
        if changed or now - self._last_diagnostics_s >= self.params.diagnostics_period_s - 1e-9:
            self._publish_diagnostics(now, level, findings)
        self._published_mode = supervisor.mode

    def _publish_diagnostics(self, now: float, level: int, findings: list[Finding]) -> None:
        self._last_diagnostics_s = now
        supervisor, aeb = self.supervisor, self.aeb_result
        values = {
            "mode": supervisor.mode.value,
            "reason": supervisor.reason,
            "mrm_latched": supervisor.latch is not None,
            "latched_since_s": f"{supervisor.latch.since_s:.3f}" if supervisor.latch else "",
            "dbw_state": self._dbw_state(now),
            "findings": summary(findings),
            "aeb_distance_m": f"{aeb.distance_m:.2f}" if aeb else "",
            "aeb_ttc_s": f"{aeb.ttc_s:.2f}" if aeb else "",
            "internal_errors": self.internal_errors,
            "rejected_diagnostics": self.rejected_diagnostics,
            "last_diagnostics_problem": self.last_diagnostics_problem,
        }
        for name, monitor in self.monitors.items():
            status = monitor.status(now)
            values[f"{name}_rate_hz"] = f"{status.rate_hz:.1f}"
            values[f"{name}_age_s"] = f"{status.age_s:.3f}"
            values[f"{name}_rejected"] = status.rejected
            values[f"{name}_last_rejected"] = monitor.last_rejection
        message = f"{supervisor.mode.value}: {supervisor.reason}"
        self.diagnostics.publish([ct.Diagnostic("system", level, message, values)])


def main(args=None):
    spin_node(SupervisorNode, args)
