"""What to send the van at any instant, given the latest control plan and how old it is.

The planner publishes a short plan (point 0 is "now" at its stamp); the bridge sends a command
every 20 ms whatever arrives. This module decides, at each send time, between:

- FOLLOWING: the newest plan is fresh (stamped within stale_after_s); send it interpolated at now.
- BRIDGING_GAP: the plan went stale but still covers now, and the gap is short (≤ max_gap_s);
  keep following its remainder, as the planner meant the van to.
- CONTROLLED_STOP: nothing usable covers now; keep the steering where it last was, ramp the accel
  down (jerk-limited) to the controlled-stop decel, hazards on.
- STANDSTILL_HOLD: stopped in a controlled stop; hold the brake, hazards on, gear stays D.

A fresh plan returns to FOLLOWING from any state: staleness is the planner's fault to recover
from, engagement policy belongs to the supervisor. Pure Python: no rclpy, no python-can.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from typing import TYPE_CHECKING

import numpy as np

from robovan_autonomy.vehicle_params import STANDSTILL_HOLD_ACCEL_MPS2, STANDSTILL_SPEED_MPS

if TYPE_CHECKING:
    from robovan_autonomy.interfaces import ControlPlan

# A plan older than this is stale, s. Plans are stamped with the sensor data they were planned
# from: at the planner's 10 Hz they arrive 0.10-0.14 s old and are 0.24 s old when the next one
# replaces them, so one plan missed makes a plan stale. (The van's own 100 ms timeout is on CAN
# frames, which the bridge's timers send whatever the plan's age.)
STALE_AFTER_S = 0.3
# Longest a stale plan is followed open-loop, s: long enough to ride out a planner hiccup or a
# dropped DDS sample, short enough that the van never drives far on a world model nobody updates.
MAX_GAP_S = 1.0
# Braking of the controlled stop, m/s² (positive number): firm but not alarming for road users
# behind, below the van ECU's own −3.0 m/s² safe stop.
CONTROLLED_STOP_DECEL_MPS2 = 2.5
# How fast the controlled stop ramps the brake in, m/s³: ISO 22179's comfort jerk, so a stale
# planner never startles the traffic behind.
CONTROLLED_STOP_JERK_MPS3 = 2.5
# Rolling this fast in standstill hold means the hold failed (slope, glitch): stop again, m/s.
STANDSTILL_EXIT_SPEED_MPS = 0.5
# A plan stamped this far in the future is a clock fault, not a plan, s.
MAX_FUTURE_STAMP_S = 0.15


class FollowerState(enum.Enum):
    FOLLOWING = "FOLLOWING"
    BRIDGING_GAP = "BRIDGING_GAP"
    CONTROLLED_STOP = "CONTROLLED_STOP"
    STANDSTILL_HOLD = "STANDSTILL_HOLD"


@dataclasses.dataclass(frozen=True)
class FollowerConfig:
    stale_after_s: float = STALE_AFTER_S
    max_gap_s: float = MAX_GAP_S
    controlled_stop_decel_mps2: float = CONTROLLED_STOP_DECEL_MPS2
    controlled_stop_jerk_mps3: float = CONTROLLED_STOP_JERK_MPS3
    standstill_speed_mps: float = STANDSTILL_SPEED_MPS
    standstill_hold_accel_mps2: float = STANDSTILL_HOLD_ACCEL_MPS2


@dataclasses.dataclass(frozen=True)
class FollowerCommand:
    """The unlimited request for this instant; the CommandLimiter clamps it before it is sent."""

    steer_rad: float
    accel_mps2: float
    hazard: bool
    state: FollowerState


class CommandFollower:
    """Holds the newest plan and turns it into a command at any time `now`."""

    def __init__(self, config: FollowerConfig = FollowerConfig()):
        self.config = config
        self._plan: ControlPlan | None = None
        self._state = FollowerState.CONTROLLED_STOP
        self._last = FollowerCommand(0.0, 0.0, True, self._state)
        self._stop_started_s: float | None = None
        self._stop_from_accel_mps2 = 0.0
        self.plans_rejected = 0

    @property
    def state(self) -> FollowerState:
        return self._state

    @property
    def plan(self) -> ControlPlan | None:
        return self._plan

    def accept(self, plan: ControlPlan, now_s: float) -> bool:
        """Keep `plan` if it is newer than the one held and not stamped in the future."""
        if plan.stamp_s > now_s + MAX_FUTURE_STAMP_S or (
            self._plan is not None and plan.stamp_s < self._plan.stamp_s
        ):
            self.plans_rejected += 1
            return False
        self._plan = plan
        return True

    def track_vehicle(self, steer_rad: float, accel_mps2: float) -> None:
        """While autonomy is not in control, "the last value" a stop holds is what the van does."""
        self._last = dataclasses.replace(self._last, steer_rad=steer_rad, accel_mps2=accel_mps2)
        self._stop_started_s = None

    def plan_age_s(self, now_s: float) -> float:
        return math.inf if self._plan is None else now_s - self._plan.stamp_s

    def _plan_covers(self, now_s: float) -> bool:
        plan = self._plan
        return plan is not None and (
            plan.stamp_s + plan.time_from_start_s[0] - MAX_FUTURE_STAMP_S
            <= now_s
            <= plan.stamp_s + plan.time_from_start_s[-1]
        )

    def _next_state(self, now_s: float, speed_mps: float) -> FollowerState:
        age = self.plan_age_s(now_s)
        if self._plan_covers(now_s) and age <= self.config.stale_after_s:
            return FollowerState.FOLLOWING
        if (
            self._plan_covers(now_s)
            and age <= self.config.max_gap_s
            and self._state in (FollowerState.FOLLOWING, FollowerState.BRIDGING_GAP)
        ):
            return FollowerState.BRIDGING_GAP
        stopped = math.isfinite(speed_mps) and abs(speed_mps) < self.config.standstill_speed_mps
        if self._state is FollowerState.STANDSTILL_HOLD:
            rolling = not math.isfinite(speed_mps) or abs(speed_mps) > STANDSTILL_EXIT_SPEED_MPS
            return FollowerState.CONTROLLED_STOP if rolling else FollowerState.STANDSTILL_HOLD
        return FollowerState.STANDSTILL_HOLD if stopped else FollowerState.CONTROLLED_STOP

    def command_at(self, now_s: float, speed_mps: float) -> FollowerCommand:
        """The command for `now_s`, given the measured speed (NaN when unknown: assume moving)."""
        state = self._next_state(now_s, speed_mps)
        if state is FollowerState.CONTROLLED_STOP and (
            self._state is not FollowerState.CONTROLLED_STOP or self._stop_started_s is None
        ):
            self._stop_started_s = now_s
            self._stop_from_accel_mps2 = self._last.accel_mps2
        self._state = state
        if state in (FollowerState.FOLLOWING, FollowerState.BRIDGING_GAP):
            plan = self._plan
            t = now_s - plan.stamp_s
            command = FollowerCommand(
                float(np.interp(t, plan.time_from_start_s, plan.steer_rad)),
                float(np.interp(t, plan.time_from_start_s, plan.accel_mps2)),
                False,
                state,
            )
        elif state is FollowerState.CONTROLLED_STOP:
            command = FollowerCommand(self._last.steer_rad, self._stop_accel(now_s), True, state)
        else:
            command = FollowerCommand(
                self._last.steer_rad, self.config.standstill_hold_accel_mps2, True, state
            )
        self._last = command
        return command

    def _stop_accel(self, now_s: float) -> float:
        """Jerk-limited ramp to −decel; never brakes less than the plan did when it ended."""
        target = -self.config.controlled_stop_decel_mps2
        start = self._stop_from_accel_mps2
        if start <= target:
            return start
        elapsed = max(now_s - self._stop_started_s, 0.0)
        return max(target, start - self.config.controlled_stop_jerk_mps3 * elapsed)
