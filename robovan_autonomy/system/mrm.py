"""Minimal-risk manoeuvres: stop the van in its lane, comfortably or as an emergency.

A stop is a jerk-limited ramp of the commanded acceleration to −decel, held until the van is at
rest, then the standstill brake hold. Its speed and distance are integrated through the van's
longitudinal actuator (dead time, then a first-order lag), so the distance a stop needs is what
the van would really travel. The command gate turns a StopProfile into /control/command plans;
the supervisor asks how far a comfortable stop goes to decide whether it is enough.

Steering during a stop follows the last good plan's steering by arc length (the lane the van was
following), then holds the last angle: no localization is needed to stay in lane for a stop.
Pure: no rclpy.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from robovan_autonomy.control_plan import ControlPlan
from robovan_autonomy.vehicle.command_limits import MAX_JERK_FALL_MPS3
from robovan_autonomy.vehicle_params import (
    STANDSTILL_HOLD_ACCEL_MPS2,
    STANDSTILL_SPEED_MPS,
    VehicleParams,
)

# The comfortable stop's braking, m/s²: the bound, gentle enough for loose parcels and
# for the traffic behind, and reachable on any road surface.
COMFORTABLE_DECEL_MPS2 = 2.0
# How fast the comfortable stop ramps the brake in, m/s³: ISO 22179's comfort jerk, as the
# bridge's own controlled stop.
COMFORTABLE_JERK_MPS3 = 2.5
# The emergency stop's braking, m/s²: the bound; 1 m/s² inside the ECU's −6 m/s² hardware
# limit so the brake never sits on its clamp (wet asphalt, a loaded van).
EMERGENCY_DECEL_MPS2 = 5.0
# How fast the emergency stop ramps the brake in, m/s³: as fast as the bridge lets any command
# brake harder, so the ramp never waits on the limiter.
EMERGENCY_JERK_MPS3 = MAX_JERK_FALL_MPS3
# The braking a comfortable stop keeps until the van is at rest, m/s²: eased off to this, the stop
# itself is no jolt (the van's accel drops to 0 as its wheels stop), yet the van still comes to
# rest.
FINAL_DECEL_MPS2 = 0.3
# Integration step of a stop profile, s: a fifth of the 0.1 s plan step, fine against the
# actuator's 0.25 s lag.
PROFILE_STEP_S = 0.02
# Point spacing of the plans sent during a stop, s: the planner's step, so the bridge
# interpolates both alike.
PLAN_STEP_S = 0.1
# A stop plan goes on this long past the standstill, s: the bridge keeps holding the brake from
# the plan even if a few plans are lost.
HOLD_AFTER_STOP_S = 1.0
# Longest stop profile, s: a comfortable stop from the 13.9 m/s hardware top speed takes ~8 s.
MAX_PROFILE_S = 15.0


@dataclasses.dataclass(frozen=True)
class StopSpec:
    """How hard a stop brakes, how fast it gets there, and whether it eases the brake off before
    the van is at rest (comfort) or brakes to the end (emergency: every metre counts)."""

    decel_mps2: float
    jerk_mps3: float
    ease_off: bool


COMFORTABLE = StopSpec(COMFORTABLE_DECEL_MPS2, COMFORTABLE_JERK_MPS3, ease_off=True)
EMERGENCY = StopSpec(EMERGENCY_DECEL_MPS2, EMERGENCY_JERK_MPS3, ease_off=False)


@dataclasses.dataclass(frozen=True)
class ActuatorModel:
    """The longitudinal actuator: the commanded accel arrives after dead_time_s, lagged by tau_s."""

    dead_time_s: float
    tau_s: float

    @classmethod
    def from_vehicle(cls, vehicle: VehicleParams) -> ActuatorModel:
        return cls(vehicle.accel_dead_time_s, vehicle.accel_tau_s)


@dataclasses.dataclass(frozen=True)
class StopProfile:
    """Commanded accel, predicted speed and distance from start_s on (times relative to it)."""

    start_s: float
    t_s: np.ndarray
    accel_cmd_mps2: np.ndarray
    speed_mps: np.ndarray
    distance_m: np.ndarray
    spec: StopSpec

    @property
    def stop_time_s(self) -> float:
        """Relative time at which the van is predicted at rest (the profile ends there)."""
        return float(self.t_s[-1])

    @property
    def stop_distance_m(self) -> float:
        return float(self.distance_m[-1])

    def at(self, t_s: float) -> tuple[float, float, float]:
        """(commanded accel, speed, distance) at absolute time t_s; the hold after the end."""
        rel = t_s - self.start_s
        if rel >= self.t_s[-1]:
            return STANDSTILL_HOLD_ACCEL_MPS2, 0.0, self.stop_distance_m
        return (
            float(np.interp(rel, self.t_s, self.accel_cmd_mps2)),
            float(np.interp(rel, self.t_s, self.speed_mps)),
            float(np.interp(rel, self.t_s, self.distance_m)),
        )


def plan_stop(
    start_s: float, speed_mps: float, accel_cmd_mps2: float, spec: StopSpec, actuator: ActuatorModel
) -> StopProfile:
    """The stop from speed_mps with accel_cmd_mps2 commanded until now (and settled).

    Braking already harder than the spec is kept, never released: a stop must not lengthen the
    one the planner had begun. A comfortable stop eases off towards FINAL_DECEL_MPS2 as the speed
    the van will have once the actuator catches up runs out, at the same jerk limit. Unknown
    (non-finite) values count as the worst case: top speed is the caller's to supply, accel as zero.
    """
    a_cmd = accel_cmd_mps2 if math.isfinite(accel_cmd_mps2) else 0.0
    target = min(-spec.decel_mps2, a_cmd)
    v = max(speed_mps, 0.0) if math.isfinite(speed_mps) else 0.0
    a_act, s, dt = a_cmd, 0.0, PROFILE_STEP_S
    history = [a_cmd] * max(
        1, int(round(actuator.dead_time_s / dt))
    )  # commands still in the dead time
    lead_s = actuator.dead_time_s + actuator.tau_s  # how far ahead a command takes effect
    t_out, a_out, v_out, s_out = [], [], [], []
    t = 0.0
    while True:
        stopped = v <= STANDSTILL_SPEED_MPS
        t_out.append(t), a_out.append(STANDSTILL_HOLD_ACCEL_MPS2 if stopped else a_cmd)
        v_out.append(v), s_out.append(s)
        if stopped or t >= MAX_PROFILE_S:
            break
        wanted = target
        if spec.ease_off:
            speed_then = max(v + a_act * lead_s, 0.0)
            wanted = max(
                target, -max(math.sqrt(2.0 * spec.jerk_mps3 * speed_then), FINAL_DECEL_MPS2)
            )
        step = spec.jerk_mps3 * dt
        a_cmd = min(max(wanted, a_cmd - step), a_cmd + step)
        history.append(a_cmd)
        arriving = history.pop(0)
        a_act += (arriving - a_act) * dt / max(actuator.tau_s, dt)
        v_next = max(v + a_act * dt, 0.0)
        s += 0.5 * (v + v_next) * dt
        v, t = v_next, t + dt
    return StopProfile(
        start_s, np.array(t_out), np.array(a_out), np.array(v_out), np.array(s_out), spec
    )


def stop_distance_m(
    speed_mps: float, accel_cmd_mps2: float, spec: StopSpec, actuator: ActuatorModel
) -> float:
    """How far the van travels in a stop to the spec begun now."""
    return plan_stop(0.0, speed_mps, accel_cmd_mps2, spec, actuator).stop_distance_m


@dataclasses.dataclass(frozen=True)
class StopPath:
    """The steering of a stop by arc length from where the stop began: the lane the van followed."""

    s_m: np.ndarray
    steer_rad: np.ndarray

    @classmethod
    def hold(cls, steer_rad: float) -> StopPath:
        steer = steer_rad if math.isfinite(steer_rad) else 0.0
        return cls(np.array([0.0]), np.array([steer]))

    @classmethod
    def from_plan(cls, plan: ControlPlan | None, t_s: float, fallback_steer_rad: float) -> StopPath:
        """The plan's geometry still ahead at t_s, or the wheel held where it is without one."""
        if plan is None or plan.end_s < t_s:
            return cls.hold(fallback_steer_rad)
        s, steer = plan.remaining_path(t_s)
        return cls(s, steer)

    def steer_at(self, s_m: np.ndarray) -> np.ndarray:
        return np.interp(s_m, self.s_m, self.steer_rad)

    def shifted(self, ds_m: float) -> StopPath:
        """The same path seen from ds_m further along it."""
        keep = self.s_m > ds_m
        s = np.concatenate(([0.0], self.s_m[keep] - ds_m))
        steer = np.concatenate((self.steer_at(np.array([ds_m])), self.steer_rad[keep]))
        return StopPath(s, steer)


@dataclasses.dataclass(frozen=True)
class Manoeuvre:
    """A stop under way: its profile and the path it steers along."""

    profile: StopProfile
    path: StopPath

    def plan(self, now_s: float, stamp_s: float, max_steer_rate_radps: float) -> ControlPlan:
        """The /control/command plan from now_s to past standstill, stamped stamp_s (≤ now_s)."""
        end_s = max(self.profile.start_s + self.profile.t_s[-1], now_s) + HOLD_AFTER_STOP_S
        times = now_s + PLAN_STEP_S * np.arange(math.ceil((end_s - now_s) / PLAN_STEP_S - 1e-9) + 1)
        rows = np.array([self.profile.at(t) for t in times])
        distance = rows[:, 2] - rows[0, 2]
        steer = self.path.steer_at(rows[:, 2])
        rate = np.clip(
            np.gradient(steer, times) if len(times) > 1 else np.zeros(1),
            -max_steer_rate_radps,
            max_steer_rate_radps,
        )
        return ControlPlan(
            stamp_s=stamp_s,
            time_from_start_s=times - stamp_s,
            steer_rad=steer,
            steer_rate_radps=rate,
            speed_mps=rows[:, 1],
            accel_mps2=rows[:, 0],
            distance_m=distance,
        )

    def escalated(
        self, now_s: float, speed_mps: float, spec: StopSpec, actuator: ActuatorModel
    ) -> Manoeuvre:
        """A harder stop from now on, continuing from this one's command and along its path."""
        accel, predicted_speed, travelled = self.profile.at(now_s)
        speed = speed_mps if math.isfinite(speed_mps) else predicted_speed
        return Manoeuvre(
            plan_stop(now_s, speed, accel, spec, actuator), self.path.shifted(travelled)
        )
