"""What the bridge may ask of the van: hardware limits plus comfort and safety limits.

Opendbc style: every limit is a named constant with its unit and its reason, the clamp is a pure
function of (request, last sent command, dt, speed), and it reports which limits were active so
diagnostics can say why the van did not do what the planner asked. The hardware limits come from
VehicleParams (config/vehicle.yaml) and nowhere else.

Priority when limits conflict: the hardware angle and accel ranges always hold; the steering
rate and jerk limits always hold relative to the last sent command (the actuator could not follow
a jump anyway, and the ECU would cut it); the lateral-acceleration and speed-cap bounds are
targets the command moves towards as fast as rate and jerk allow.
"""

from __future__ import annotations

import dataclasses
import math

from robovan_autonomy.vehicle_params import VehicleParams

# Lateral acceleration the van may be steered into, m/s². ISO 11270 caps lane-keeping systems at
# 3 m/s²; above ~0.3 g parcels shift in the cargo bay and a loaded 2.2 m tall van loses roll margin.
MAX_LATERAL_ACCEL_MPS2 = 3.0
# How fast the accel request may rise (throttle on, brake release), m/s³. Comfort for a standing
# courier and loose cargo; nothing safety-critical needs to speed up faster than this.
MAX_JERK_RISE_MPS3 = 5.0
# How fast the accel request may fall (braking harder), m/s³. Twice the rise: an emergency stop
# from cruise reaches the −6 m/s² hardware limit within ~0.85 s, inside the brake's own lag.
MAX_JERK_FALL_MPS3 = 10.0
# Time constant that turns speed above the cap into a braking request, s: at 1 m/s over the cap
# the van brakes at 1 m/s², and positive accel fades out as the cap approaches.
SPEED_CAP_TIME_CONSTANT_S = 1.0
# Strongest braking the speed cap alone may ask for, m/s²: a gentle correction, never a surprise
# stop on a downhill; the planner owns real braking.
SPEED_CAP_MAX_DECEL_MPS2 = 1.5
# Accel requested in place of a non-finite one, m/s²: the same gentle controlled-stop braking the
# bridge uses when commands go stale (jerk limits still apply on the way there).
NON_FINITE_ACCEL_FALLBACK_MPS2 = -2.5

# Names of the limits, as reported in LimitedCommand.active and on /diagnostics.
STEER_ANGLE = "steer_angle"
STEER_RATE = "steer_rate"
LATERAL_ACCEL = "lateral_accel"
ACCEL_MIN = "accel_min"
ACCEL_MAX = "accel_max"
JERK = "jerk"
SPEED_CAP = "speed_cap"
NON_FINITE = "non_finite_input"


@dataclasses.dataclass(frozen=True)
class CommandLimits:
    """The clamp's numbers; build it with from_vehicle() so hardware limits stay in one file."""

    max_steer_rad: float
    max_steer_rate_radps: float
    min_accel_mps2: float
    max_accel_mps2: float
    wheelbase_m: float
    max_speed_mps: float
    top_speed_mps: float
    max_lateral_accel_mps2: float = MAX_LATERAL_ACCEL_MPS2
    max_jerk_rise_mps3: float = MAX_JERK_RISE_MPS3
    max_jerk_fall_mps3: float = MAX_JERK_FALL_MPS3

    @classmethod
    def from_vehicle(cls, vehicle: VehicleParams) -> CommandLimits:
        """Hardware limits from the datasheet; the speed cap is the operational design domain's."""
        return cls(
            max_steer_rad=vehicle.max_steer_rad,
            max_steer_rate_radps=vehicle.max_steer_rate_radps,
            min_accel_mps2=vehicle.min_accel_mps2,
            max_accel_mps2=vehicle.max_accel_mps2,
            wheelbase_m=vehicle.wheelbase_m,
            max_speed_mps=vehicle.max_speed_odd_mps,
            top_speed_mps=vehicle.max_speed_hw_mps,
        )


@dataclasses.dataclass(frozen=True)
class Command:
    steer_rad: float
    accel_mps2: float


@dataclasses.dataclass(frozen=True)
class LimitedCommand:
    command: Command
    active: frozenset[str]


def _clip(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def _known_speed(speed_mps: float, limits: CommandLimits) -> float:
    """|speed|, or the hardware top speed when unknown: the most conservative assumption."""
    return abs(speed_mps) if math.isfinite(speed_mps) else limits.top_speed_mps


def max_steer_for_speed(speed_mps: float, limits: CommandLimits) -> float:
    """Largest |road-wheel angle| keeping |v²·tan(δ)/L| ≤ the lateral-accel limit, capped by
    hardware."""
    speed = _known_speed(speed_mps, limits)
    return min(
        limits.max_steer_rad,
        math.atan2(limits.max_lateral_accel_mps2 * limits.wheelbase_m, speed * speed),
    )


def max_accel_for_speed(speed_mps: float, limits: CommandLimits) -> float:
    """Upper accel bound from the speed cap: fades to 0 at the cap, gentle braking above it."""
    speed = _known_speed(speed_mps, limits)
    return _clip(
        (limits.max_speed_mps - speed) / SPEED_CAP_TIME_CONSTANT_S,
        -SPEED_CAP_MAX_DECEL_MPS2,
        limits.max_accel_mps2,
    )


def limit_command(
    requested: Command, previous: Command, dt_s: float, speed_mps: float, limits: CommandLimits
) -> LimitedCommand:
    """Clamp `requested` to every limit, relative to `previous` (the last command sent) after dt_s.

    `previous` must itself be a limited command. A non-finite request keeps the steering where it
    was and brakes gently; a non-finite or negative dt allows no change at all.
    """
    active = set()
    dt = dt_s if math.isfinite(dt_s) and dt_s > 0.0 else 0.0

    steer = requested.steer_rad
    if not math.isfinite(steer):
        active.add(NON_FINITE)
        steer = previous.steer_rad
    if abs(steer) > limits.max_steer_rad:
        active.add(STEER_ANGLE)
    lateral_bound = max_steer_for_speed(speed_mps, limits)
    if abs(steer) > lateral_bound and lateral_bound < limits.max_steer_rad:
        active.add(LATERAL_ACCEL)
    steer = _clip(steer, -lateral_bound, lateral_bound)
    max_step = limits.max_steer_rate_radps * dt
    if abs(steer - previous.steer_rad) > max_step:
        active.add(STEER_RATE)
        steer = _clip(steer, previous.steer_rad - max_step, previous.steer_rad + max_step)
    steer = _clip(steer, -limits.max_steer_rad, limits.max_steer_rad)

    accel = requested.accel_mps2
    if not math.isfinite(accel):
        active.add(NON_FINITE)
        accel = NON_FINITE_ACCEL_FALLBACK_MPS2
    if accel < limits.min_accel_mps2:
        active.add(ACCEL_MIN)
        accel = limits.min_accel_mps2
    if accel > limits.max_accel_mps2:
        active.add(ACCEL_MAX)
        accel = limits.max_accel_mps2
    speed_bound = max_accel_for_speed(speed_mps, limits)
    if accel > speed_bound:
        active.add(SPEED_CAP)
        accel = speed_bound
    low = previous.accel_mps2 - limits.max_jerk_fall_mps3 * dt
    high = previous.accel_mps2 + limits.max_jerk_rise_mps3 * dt
    if not low <= accel <= high:
        active.add(JERK)
        accel = _clip(accel, low, high)
    accel = _clip(accel, limits.min_accel_mps2, limits.max_accel_mps2)
    return LimitedCommand(Command(steer, accel), frozenset(active))


class CommandLimiter:
    """Remembers the last command sent, so each new request is clamped relative to it."""

    def __init__(self, limits: CommandLimits, initial: Command = Command(0.0, 0.0)):
        self.limits = limits
        self.reset(initial)

    @property
    def previous(self) -> Command:
        return self._previous

    def reset(self, command: Command) -> None:
        """Start from `command` (e.g. the measured steering when not engaged), itself clamped to
        the hardware ranges so the rate and jerk limits start from a reachable value."""
        steer = command.steer_rad if math.isfinite(command.steer_rad) else 0.0
        accel = command.accel_mps2 if math.isfinite(command.accel_mps2) else 0.0
        self._previous = Command(
            _clip(steer, -self.limits.max_steer_rad, self.limits.max_steer_rad),
            _clip(accel, self.limits.min_accel_mps2, self.limits.max_accel_mps2),
        )

    def limit(self, requested: Command, dt_s: float, speed_mps: float) -> LimitedCommand:
        result = limit_command(requested, self._previous, dt_s, speed_mps, self.limits)
        self._previous = result.command
        return result
