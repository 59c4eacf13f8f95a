"""Traffic lights: the van stops at the signal's stop line on red, and on amber when it can still
stop comfortably; a signal it cannot read (dark, unknown, or no recent report) is an all-way stop.

The rules a professional driver follows:
- Green: go (everything else, the people and traffic in the way, is the other rule sets').
- Amber: stop if a comfortable stop ends before the line; otherwise go on through, since amber is
  timed for whoever can no longer stop.
- Red: stop, braking as hard as it takes; only a van that could not stop before the line even
  then goes on (stopping in the box is worse).
- Not seen: stop, then go once the intersection is clear, as at an all-way stop (a dark signal).

Once the van has passed the point where it can stop for a line, it commits to it: a signal that
changes then, or drops out of sight, does not make it brake in the box. Once it has begun to stop
for a line, it keeps stopping until the signal shows green. Standing still ends a commitment.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from robovan_autonomy.core_types import TrafficLightState
from robovan_autonomy.planning import mpc
from robovan_autonomy.planning.behaviour.common import Body, Limit, PathObjects
from robovan_autonomy.planning.behaviour.decision import BehaviourEvent, State
from robovan_autonomy.planning.behaviour.stop_lines import STOP_LINE_SETBACK_M, StopLines
from robovan_autonomy.planning.route import ReferencePath
from robovan_autonomy.vehicle.command_limits import MAX_JERK_FALL_MPS3

# From a decision to the brakes acting, s: the plan reaches the van within a planning cycle
# (0.1 s), then the drive's dead time and lag (0.08 s + 0.25 s).
REACTION_S = 0.4
# A comfortable stop: the MPC's comfort deceleration, reached at its comfort jerk.
COMFORT_DECEL_MPS2 = -mpc.COMFORT_MIN_ACCEL_MPS2
COMFORT_JERK_MPS3 = mpc.COMFORT_JERK_MPS3


def stop_distance_m(speed_mps: float, decel_mps2: float, jerk_mps3: float) -> float:
    """How far the van travels to a standstill: REACTION_S at speed, then braking that ramps up
    at jerk_mps3 to decel_mps2 and holds it."""
    v = max(speed_mps, 0.0)
    ramp_s = decel_mps2 / jerk_mps3
    lost_in_ramp = 0.5 * jerk_mps3 * ramp_s**2
    if v <= lost_in_ramp:  # at rest before the ramp is done
        t = math.sqrt(2.0 * v / jerk_mps3)
        braking = v * t - jerk_mps3 * t**3 / 6.0
    else:
        braking = (
            v * ramp_s - jerk_mps3 * ramp_s**3 / 6.0 + (v - lost_in_ramp) ** 2 / (2.0 * decel_mps2)
        )
    return v * REACTION_S + braking


class TrafficLights:
    """Owns the line the van has committed to, the line it is stopping at, and (through its own
    StopLines) the full stop and clear-intersection check at a signal it cannot read."""

    def __init__(self, body: Body, hard_decel_mps2: float):
        self.body = body
        self.hard_decel_mps2 = hard_decel_mps2
        self._dark = StopLines(body)
        self._committed_s: float | None = None
        self._stopping_s: float | None = None

    def forget_path(self) -> None:
        self._committed_s = self._stopping_s = None
        self._dark.forget_path()

    def limits(
        self,
        t_s: float,
        path: ReferencePath,
        s_front: float,
        speed_mps: float,
        standing: bool,
        signals: Mapping[int, TrafficLightState],
        objs: PathObjects,
        events: list[BehaviourEvent],
    ) -> list[Limit]:
        """The stop the next signal on the route asks for, if any (signals: what each shows, by
        id; a signal missing is not seen)."""
        line = next((r for r in path.stops if r.kind == "traffic_light" and r.s_m >= s_front), None)
        at = None if line is None else line.s_m
        self._committed_s = self._committed_s if self._committed_s == at and not standing else None
        self._stopping_s = self._stopping_s if self._stopping_s == at else None
        state = None if line is None else signals.get(line.signal_id, TrafficLightState.UNKNOWN)
        go = line is None or state is TrafficLightState.GREEN or self._committed_s is not None
        if not go and self._stopping_s is None:
            hard = state is TrafficLightState.RED
            if not self._can_stop(line.s_m, s_front, speed_mps, standing, hard):
                self._committed_s, go = line.s_m, True
        self._stopping_s = None if go else line.s_m
        dark = state is TrafficLightState.UNKNOWN and not go
        reason = "" if line is None else f"signal {line.name} not seen: stop, then go when clear"
        limits = self._dark.stop_then_go(
            t_s, path, line if dark else None, s_front, standing, objs, events, reason
        )
        if go or dark:
            return limits
        return [
            Limit(
                ("traffic_light", line.s_m),
                State.APPROACH_STOP,
                f"{state.value} light {line.name}",
                line.s_m - STOP_LINE_SETBACK_M,
            )
        ]

    def _can_stop(
        self, line_s: float, s_front: float, speed_mps: float, standing: bool, hard: bool = False
    ) -> bool:
        """Whether the van can stop before the line: comfortably, or at all (hard)."""
        if standing:
            return True
        decel, jerk = (
            (self.hard_decel_mps2, MAX_JERK_FALL_MPS3)
            if hard
            else (COMFORT_DECEL_MPS2, COMFORT_JERK_MPS3)
        )
        return line_s - STOP_LINE_SETBACK_M - s_front >= stop_distance_m(speed_mps, decel, jerk)
