"""The command gate node: /planning/command and /system/mode in, /control/command out.

The one writer of /control/command (decisions in command_gate.py and mrm.py; I/O only here).
Planner plans go out at the next tick after they arrive while the supervisor says AUTONOMOUS,
keeping their stamp (the oldest sensor data behind them); in every other mode the gate's own stop
goes out every stop_period_s, and at the next tick when the mode changes. Everything leaves from
the tick timer: in lockstep a message published from a timer reaches the bridge in the same tick,
one published from a subscription callback may not. Bad messages (non-finite, wrong frame, out of
order, from the future, oversized) are counted and reported, never used. Every command it sends
carries the next number of its sequence: the bridge follows only the gate's numbered commands.
"""

from __future__ import annotations

import dataclasses
import math

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node
from sensor_msgs.msg import JointState
from trajectory_msgs.msg import JointTrajectory

from robovan_autonomy import core_types as ct
from robovan_autonomy import interfaces as itf
from robovan_autonomy.node_utils import DiagnosticsPublisher, declare_parameters, now_s, spin_node
from robovan_autonomy.parameters import Param
from robovan_autonomy.system import command_gate, mrm
from robovan_autonomy.system.command_gate import CommandGate, GateConfig, VanStatus
from robovan_autonomy.system.modes import OperatingMode
from robovan_autonomy.vehicle.command_limits import CommandLimits
from robovan_autonomy.vehicle_params import load_vehicle_params

NODE_NAME = "command_gate"
_VEHICLE = load_vehicle_params()

PARAMETERS = [
    Param(
        "latency_budget_s",
        command_gate.LATENCY_BUDGET_S,
        "a planner plan whose inputs are older than this is rejected (sensor stamp to now)",
        min=0.02,
        max=1.0,
    ),
    Param(
        "mode_timeout_s",
        command_gate.MODE_TIMEOUT_S,
        "the supervisor silent this long while "
        "autonomy has the van: the gate stops the van on its own",
        min=0.05,
        max=2.0,
    ),
    Param(
        "tick_hz",
        100.0,
        "how often the gate sends what is due (a plan waits at most one tick)",
        min=20.0,
        max=1000.0,
    ),
    Param("stop_period_s", 0.05, "how often the gate's own stop plans go out", min=0.01, max=0.5),
    Param("diagnostics_period_s", 0.2, "period of the /diagnostics report", min=0.05, max=2.0),
]


class CommandGateNode(Node):
    def __init__(self, **node_kwargs):
        super().__init__(NODE_NAME, **node_kwargs)
        self.params = p = declare_parameters(self, PARAMETERS)
        self.gate = CommandGate(
            CommandLimits.from_vehicle(_VEHICLE),
            mrm.ActuatorModel.from_vehicle(_VEHICLE),
            GateConfig(p.latency_budget_s, p.mode_timeout_s),
        )
        self.rejected = {"planning_command": 0, "system_mode": 0, "vehicle_status": 0}
        self.last_problem = ""
        self.internal_errors = 0
        self.forwarded = 0
        self._reported = (0, 0)  # (rejections, internal errors) at the last report
        self._mode = None  # the effective mode at the last stop plan
        self._pending = None  # a planner plan to forward at the next tick
        self._last_stop_s = -math.inf
        self._sequence = 0
        self.command_pub = self.create_publisher(
            JointTrajectory, itf.CONTROL_COMMAND, itf.RELIABLE_QOS
        )
        self.diagnostics = DiagnosticsPublisher(self)
        self.create_subscription(
            JointTrajectory,
            itf.PLANNING_COMMAND,
            self._guarded(self._on_plan, "on_plan"),
            itf.RELIABLE_QOS,
        )
        self.create_subscription(
            DiagnosticArray,
            itf.SYSTEM_MODE,
            self._guarded(self._on_mode, "on_mode"),
            itf.RELIABLE_QOS,
        )
        self.create_subscription(
            JointState,
            itf.VEHICLE_STATUS,
            self._guarded(self._on_status, "on_status"),
            itf.RELIABLE_QOS,
        )
        self.create_timer(1.0 / p.tick_hz, self._guarded(self._tick, "tick"))
        self.create_timer(p.diagnostics_period_s, self._guarded(self._report, "report"))

    def _guarded(self, callback, name: str):
        """A bug in a callback is a diagnostic; the gate keeps stopping the van on its timer."""

        def run(*args):
            try:
                callback(*args)
            except Exception as err:  # noqa: BLE001 - the gate must outlive its own bugs
                self.internal_errors += 1
                self.last_problem = f"internal error in {name}: {err!r}"
                self.get_logger().error(self.last_problem)

        return run

    def _problem(self, kind: str, problem: str) -> None:
        if problem:
            self.rejected[kind] += 1
            self.last_problem = f"{kind}: {problem}"

    def _on_plan(self, msg: JointTrajectory) -> None:
        try:
            plan = itf.decode_control_command(msg)
        except itf.InterfaceError as err:
            self._problem("planning_command", str(err))
            return
        out, problem = self.gate.on_plan(plan, now_s(self))
        self._problem("planning_command", problem)
        if out is not None:
            self._pending = out

    def _on_mode(self, msg: DiagnosticArray) -> None:
        try:
            mode = itf.decode_system_mode(msg)
        except itf.InterfaceError as err:
            self._problem("system_mode", str(err))
            return
        self._problem("system_mode", self.gate.on_mode(mode.mode, mode.stamp_s, now_s(self)))

    def _on_status(self, msg: JointState) -> None:
        try:
            status = itf.decode_vehicle_status(msg)
        except itf.InterfaceError as err:
            self._problem("vehicle_status", str(err))
            return
        self._problem(
            "vehicle_status",
            self.gate.on_status(
                VanStatus(status.stamp_s, status.speed_mps, status.accel_mps2, status.steer_rad),
                now_s(self),
            ),
        )

    def _tick(self) -> None:
        now = now_s(self)
        mode = self.gate.effective_mode(now)
        if mode is OperatingMode.AUTONOMOUS:
            self.gate.tick(now)  # nothing of its own to send: ends any stop
            plan, self._pending = self._pending, None
            self.forwarded += plan is not None
        else:
            self._pending = None
            due = (
                mode is not self._mode
                or now - self._last_stop_s >= self.params.stop_period_s - 1e-9
            )
            plan = self.gate.tick(now) if due else None
            self._last_stop_s = now if due else self._last_stop_s
        self._mode = mode
        if plan is not None:
            self._sequence += 1
            self.command_pub.publish(
                itf.encode_control_command(dataclasses.replace(plan, sequence=self._sequence))
            )

    def _report(self) -> None:
        gate, now = self.gate, now_s(self)
        rejections = sum(self.rejected.values())
        mode = gate.effective_mode(now)
        if self.internal_errors > self._reported[1]:
            level, message = ct.ERROR, self.last_problem
        elif gate.fallback:
            level, message = ct.ERROR, "supervisor silent: stopping the van on the gate's own"
        elif rejections > self._reported[0]:
            level, message = ct.WARN, f"rejected input: {self.last_problem}"
        else:
            level, message = ct.OK, mode.value
        self._reported = (rejections, self.internal_errors)
        values = {
            "effective_mode": mode.value,
            "fallback_stop": gate.fallback,
            "forwarded_plans": self.forwarded,
            "active_limits": ",".join(sorted(gate.active_limits)),
            "last_problem": self.last_problem,
            "internal_errors": self.internal_errors,
            **{f"rejected_{k}": v for k, v in self.rejected.items()},
        }
        self.diagnostics.publish([ct.Diagnostic("", level, message, values)])


def main(args=None):
    spin_node(CommandGateNode, args)
