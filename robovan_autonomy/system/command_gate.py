"""The command gate: the one writer of /control/command, between the planner and the CAN bridge.

- AUTONOMOUS: the planner's plans go through as they arrive, clamped to speed-dependent limits,
  unless their inputs are older than the latency budget, stamped in the future or out of order.
- READY / MANUAL: a stop (at rest: the brake hold), so an armed van never drives off on its own.
- MRM_*: the supervisor's minimal-risk manoeuvre, steered along the last good plan's path. A
  comfortable stop that the supervisor escalates becomes an emergency stop from where it is;
  a stop never eases.
- The supervisor silent (no mode for mode_timeout_s) while autonomy had the van: the gate stops
  the van comfortably on its own and keeps stopping until the supervisor reports a mode other
  than AUTONOMOUS (MANUAL, READY or a stop: it has taken over again).
Pure: no rclpy.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from robovan_autonomy.control_plan import ControlPlan
from robovan_autonomy.system import mrm
from robovan_autonomy.system.modes import OperatingMode
from robovan_autonomy.system.stream_monitor import FUTURE_STAMP_TOLERANCE_S
from robovan_autonomy.vehicle import command_limits
from robovan_autonomy.vehicle.command_limits import (
    CommandLimits,
    max_accel_for_speed,
    max_steer_for_speed,
)

# Oldest inputs a plan may act on, s (the end-to-end budget, sensor stamp to CAN frame).
LATENCY_BUDGET_S = 0.2
# The supervisor publishes at 20 Hz: this many seconds of silence is six lost messages.
MODE_TIMEOUT_S = 0.3
# The van's reports count as current for this long, s (the bridge's own report timeout).
STATUS_TIMEOUT_S = 0.1

SPEED_LIMIT = "speed"  # names of the plan limits, beside those of command_limits


@dataclasses.dataclass(frozen=True)
class GateConfig:
    latency_budget_s: float = LATENCY_BUDGET_S
    mode_timeout_s: float = MODE_TIMEOUT_S


@dataclasses.dataclass(frozen=True)
class VanStatus:
    stamp_s: float
    speed_mps: float
    accel_mps2: float
    steer_rad: float


def limit_plan(plan: ControlPlan, limits: CommandLimits) -> tuple[ControlPlan, frozenset[str]]:
    """The plan clamped point by point to the limits at that point's planned speed: the ODD speed
    cap, the lateral-acceleration bound on steering, steering range and rate, and the accel range
    with the speed cap's fade-out (command_limits: the bridge holds the van to the same numbers)."""
    active = set()
    speed = np.minimum(plan.speed_mps, limits.max_speed_mps)
    if np.any(speed < plan.speed_mps):
        active.add(SPEED_LIMIT)
    steer_bound = np.array([max_steer_for_speed(v, limits) for v in speed])
    steer = np.clip(plan.steer_rad, -steer_bound, steer_bound)
    if np.any(steer != plan.steer_rad):
        active.add(
            command_limits.LATERAL_ACCEL
            if np.any(steer_bound < limits.max_steer_rad)
            else command_limits.STEER_ANGLE
        )
    rate = np.clip(plan.steer_rate_radps, -limits.max_steer_rate_radps, limits.max_steer_rate_radps)
    if np.any(rate != plan.steer_rate_radps):
        active.add(command_limits.STEER_RATE)
    accel_high = np.array([max_accel_for_speed(v, limits) for v in speed])
    accel = np.clip(plan.accel_mps2, limits.min_accel_mps2, accel_high)
    if np.any(accel < plan.accel_mps2):
        active.add(command_limits.SPEED_CAP)
    if np.any(accel > plan.accel_mps2):
        active.add(command_limits.ACCEL_MIN)
    limited = dataclasses.replace(
        plan, steer_rad=steer, steer_rate_radps=rate, speed_mps=speed, accel_mps2=accel
    )
    return limited, frozenset(active)


class CommandGate:
    def __init__(
        self, limits: CommandLimits, actuator: mrm.ActuatorModel, config: GateConfig = GateConfig()
    ):
        self.limits, self.actuator, self.config = limits, actuator, config
        self.mode: OperatingMode | None = None  # the supervisor's, as last received
        self.mode_stamp_s = -math.inf
        self.fallback = False  # stopping on its own: the supervisor went silent
        self.status: VanStatus | None = None
        self.last_plan: ControlPlan | None = None  # the newest planner plan accepted
        self.last_output: ControlPlan | None = None  # the newest plan sent to the bridge
        self.manoeuvre: mrm.Manoeuvre | None = None
        self.active_limits: frozenset[str] = frozenset()

    # -- inputs -----------------------------------------------------------------------------
    def on_mode(self, mode: OperatingMode, stamp_s: float, now_s: float) -> str:
        """A /system/mode message; '' when taken, else why not."""
        problem = self._stamp_problem(stamp_s, self.mode_stamp_s, now_s)
        if problem:
            return problem
        self.mode, self.mode_stamp_s = mode, stamp_s
        if mode is not OperatingMode.AUTONOMOUS:
            self.fallback = False
        return ""

    def on_status(self, status: VanStatus, now_s: float) -> str:
        previous = self.status.stamp_s if self.status else -math.inf
        problem = self._stamp_problem(status.stamp_s, previous, now_s)
        if not problem and not all(
            map(math.isfinite, (status.speed_mps, status.accel_mps2, status.steer_rad))
        ):
            problem = "non-finite vehicle status"
        if not problem:
            self.status = status
        return problem

    def on_plan(self, plan: ControlPlan, now_s: float) -> tuple[ControlPlan | None, str]:
        """A planner plan: (the plan to send now or None, '' or why it was rejected)."""
        previous = self.last_plan.stamp_s if self.last_plan else -math.inf
        problem = self._stamp_problem(plan.stamp_s, previous, now_s)
        age = now_s - plan.stamp_s
        if not problem and age > self.config.latency_budget_s:
            problem = (
                f"inputs {age * 1e3:.0f} ms old, budget {self.config.latency_budget_s * 1e3:.0f} ms"
            )
        if not problem and plan.end_s < now_s:
            problem = "plan ends before now"
        if problem:
            return None, problem
        limited, self.active_limits = limit_plan(plan, self.limits)
        self.last_plan = limited
        if self.effective_mode(now_s) is not OperatingMode.AUTONOMOUS:
            return None, ""
        return self._sent(limited), ""

    # -- outputs ----------------------------------------------------------------------------
    def effective_mode(self, now_s: float) -> OperatingMode:
        """The supervisor's mode while it speaks; the gate's own stop once it fell silent."""
        fresh = self.mode is not None and now_s - self.mode_stamp_s <= self.config.mode_timeout_s
        if fresh and not self.fallback:
            return self.mode
        if self.mode is OperatingMode.MRM_EMERGENCY_STOP:
            return self.mode
        if self.fallback or self.mode in (
            OperatingMode.AUTONOMOUS,
            OperatingMode.MRM_COMFORTABLE_STOP,
        ):
            self.fallback = True
            return OperatingMode.MRM_COMFORTABLE_STOP
        return OperatingMode.READY

    def tick(self, now_s: float) -> ControlPlan | None:
        """What the gate sends now on its own: a stop in every mode but AUTONOMOUS (whose plans go
        out as they arrive), or None."""
        mode = self.effective_mode(now_s)
        if mode is OperatingMode.AUTONOMOUS:
            self.manoeuvre = None
            return None
        spec = mrm.EMERGENCY if mode is OperatingMode.MRM_EMERGENCY_STOP else mrm.COMFORTABLE
        if not mode.is_mrm:
            self.manoeuvre = None  # READY / MANUAL: a fresh stop from the van's state each time
        if self.manoeuvre is None:
            self.manoeuvre = self._begin(now_s, spec)
        elif self.manoeuvre.profile.spec.decel_mps2 < spec.decel_mps2:
            self.manoeuvre = self.manoeuvre.escalated(
                now_s, self._speed(now_s), spec, self.actuator
            )
        return self._sent(
            self.manoeuvre.plan(now_s, self._stamp(now_s), self.limits.max_steer_rate_radps)
        )

    def _begin(self, now_s: float, spec: mrm.StopSpec) -> mrm.Manoeuvre:
        steer = self.status.steer_rad if self.status else 0.0
        commanded = self.last_output
        accel = (
            commanded.at(now_s, commanded.accel_mps2)
            if commanded is not None
            and commanded.start_s - FUTURE_STAMP_TOLERANCE_S <= now_s <= commanded.end_s
            else (self.status.accel_mps2 if self.status else 0.0)
        )
        profile = mrm.plan_stop(now_s, self._speed(now_s), accel, spec, self.actuator)
        return mrm.Manoeuvre(profile, mrm.StopPath.from_plan(self.last_plan, now_s, steer))

    def _speed(self, now_s: float) -> float:
        """The van's speed; without current reports the last known (or the planned), never less."""
        if self.status is not None and now_s - self.status.stamp_s <= STATUS_TIMEOUT_S:
            return self.status.speed_mps
        known = [abs(self.status.speed_mps)] if self.status else []
        if self.last_output is not None:
            known.append(abs(self.last_output.at(now_s, self.last_output.speed_mps)))
        return max(known, default=self.limits.top_speed_mps)

    def _stamp(self, now_s: float) -> float:
        """A stop plan carries the stamp of the newest input it was made from (mode or report)."""
        stamps = [
            s
            for s in (self.mode_stamp_s, self.status.stamp_s if self.status else -math.inf)
            if math.isfinite(s) and s <= now_s
        ]
        return max(stamps, default=now_s)

    def _sent(self, plan: ControlPlan) -> ControlPlan:
        self.last_output = plan
        return plan

    @staticmethod
    def _stamp_problem(stamp_s: float, previous_s: float, now_s: float) -> str:
        if not math.isfinite(stamp_s):
            return "non-finite stamp"
        if stamp_s > now_s + FUTURE_STAMP_TOLERANCE_S:
            return f"stamped {stamp_s - now_s:.3f} s in the future"
        if stamp_s < previous_s:
            return f"out of order: stamp {stamp_s:.3f} s before {previous_s:.3f} s"
        return ""
