"""Van dynamics for the embedded simulator: a kinematic bicycle about the rear axle (base_link)
driven through the datasheet's actuators (dead time, then a first-order lag, rate/range limits).

Kinematic is enough at urban speeds and lateral accelerations, and keeps the plant cheap enough
to step at 200 Hz for minutes of simulated time. The lags and dead times matter more than tyre
slip for the controller: they are what the MPC has to anticipate.
"""

from __future__ import annotations

import collections
import dataclasses
import math

from robovan_autonomy.vehicle.rvn_dbw import Gear
from robovan_autonomy.vehicle_params import VehicleParams, load_vehicle_params

_TIME_EPS_S = 1e-9  # float slack when a dead time lands exactly on a step boundary
GEAR_DIRECTION = {Gear.DRIVE: 1.0, Gear.REVERSE: -1.0, Gear.NEUTRAL: 0.0, Gear.PARK: 0.0}


@dataclasses.dataclass(frozen=True, slots=True)
class PlantState:
    time_s: float
    x_m: float
    y_m: float
    yaw_rad: float
    speed_mps: float  # signed along base_link x: negative in reverse
    accel_mps2: float  # the van's longitudinal acceleration (zero while held at standstill)
    actuator_accel_mps2: (
        float  # what drive/brake deliver: > 0 propels in the gear's direction, < 0 brakes
    )
    steer_rad: float
    steer_rate_radps: float
    yaw_rate_radps: float
    gear: Gear

    @classmethod
    def of(cls, plant) -> PlantState:
        """The state of any plant that has these fields as attributes (embedded or CARLA)."""
        return cls(*(getattr(plant, name) for name in _PLANT_STATE_FIELDS))


# Read on every tick, several times: the field list is looked up once.
_PLANT_STATE_FIELDS = tuple(field.name for field in dataclasses.fields(PlantState))


class _DeadTime:
    """Delay line: returns the value commanded `dead_time_s` ago, held between commands."""

    def __init__(self, dead_time_s: float, initial: float):
        self._dead_time_s = dead_time_s
        self._queue = collections.deque([(-math.inf, initial)])

    def push(self, t_s: float, value: float) -> None:
        self._queue.append((t_s, value))

    def value_at(self, t_s: float) -> float:
        queue, due_s = self._queue, t_s - self._dead_time_s + _TIME_EPS_S
        while len(queue) > 1 and queue[1][0] <= due_s:
            queue.popleft()
        return queue[0][1]


def rigid_wheel_speeds_mps(
    params: VehicleParams, speed_mps: float, yaw_rate_radps: float
) -> tuple[float, float, float, float]:
    """Wheel-centre speed magnitudes FL, FR, RL, RR of a rigid van moving at speed_mps (along
    base_link x, at the rear axle) and turning at yaw_rate_radps."""
    v, omega = speed_mps, yaw_rate_radps
    half_track = 0.5 * params.track_width_m
    front_lateral = omega * params.wheelbase_m
    return (
        math.hypot(v - omega * half_track, front_lateral),
        math.hypot(v + omega * half_track, front_lateral),
        abs(v - omega * half_track),
        abs(v + omega * half_track),
    )


class Actuators:
    """The van's steering and drive/brake actuators: dead time, then an exact first-order lag
    (and the steering's rate limit), from the datasheet. Shared by every plant that moves a van
    body (the embedded kinematic one, CARLA's vehicle), so all of them lag alike."""

    def __init__(self, params: VehicleParams, steer_rad: float = 0.0):
        self.params = params
        self.steer_rad, self.accel_mps2 = steer_rad, 0.0
        self._steer_in = _DeadTime(params.steer_dead_time_s, steer_rad)
        self._accel_in = _DeadTime(params.accel_dead_time_s, 0.0)

    def command(self, t_s: float, steer_rad: float, accel_mps2: float) -> None:
        """Setpoints from t_s on, clamped to the hardware ranges; they act after the dead times."""
        p = self.params
        self._steer_in.push(t_s, min(max(steer_rad, -p.max_steer_rad), p.max_steer_rad))
        self._accel_in.push(t_s, min(max(accel_mps2, p.min_accel_mps2), p.max_accel_mps2))

    def step(self, t_s: float, dt_s: float) -> None:
        """Advance from t_s by dt_s with the delayed setpoints held over the step."""
        p = self.params
        steer_in = self._steer_in.value_at(t_s)
        accel_in = self._accel_in.value_at(t_s)
        steer0 = self.steer_rad
        lagged = steer_in + (steer0 - steer_in) * math.exp(-dt_s / p.steer_tau_s)
        max_move = p.max_steer_rate_radps * dt_s
        self.steer_rad = steer0 + min(max(lagged - steer0, -max_move), max_move)
        self.accel_mps2 = accel_in + (self.accel_mps2 - accel_in) * math.exp(-dt_s / p.accel_tau_s)


class ActuatedBody:
    """What every van body the ECU drives shares, embedded or CARLA's: setpoints through its
    `Actuators` (dead times, lags), a gear, wheel speeds from its motion, a state snapshot."""

    actuators: Actuators
    params: VehicleParams
    time_s: float
    speed_mps: float

    def command(self, steer_rad: float, accel_mps2: float) -> None:
        """Actuator setpoints from now on; they act after the dead times."""
        self.actuators.command(self.time_s, steer_rad, accel_mps2)

    def set_gear(self, gear: Gear) -> None:
        if gear not in GEAR_DIRECTION:
            raise ValueError(f"{gear!r} is not a gear the van can be in")
        self.gear = Gear(gear)

    def wheel_speeds_mps(self) -> tuple[float, float, float, float]:
        """Wheel-centre speed magnitudes FL, FR, RL, RR from the rigid-body motion."""
        return rigid_wheel_speeds_mps(self.params, self.speed_mps, self.yaw_rate_radps)

    @property
    def state(self) -> PlantState:
        return PlantState.of(self)


class VanPlant(ActuatedBody):
    """The van's body and actuators; the ECU calls `command`/`set_gear`, the simulator `step`."""

    def __init__(
        self,
        params: VehicleParams | None = None,
        *,
        x_m: float = 0.0,
        y_m: float = 0.0,
        yaw_rad: float = 0.0,
        speed_mps: float = 0.0,
        steer_rad: float = 0.0,
        gear: Gear = Gear.PARK,
        time_s: float = 0.0,
    ):
        self.params = params or load_vehicle_params()
        self.set_gear(gear)
        self.time_s = time_s
        self.x_m, self.y_m, self.yaw_rad, self.speed_mps = x_m, y_m, yaw_rad, speed_mps
        self.steer_rad, self.steer_rate_radps = steer_rad, 0.0
        self.accel_mps2 = self.actuator_accel_mps2 = 0.0
        self.actuators = Actuators(self.params, steer_rad)

    def step(self, dt_s: float) -> None:
        """Advance dt_s with the delayed setpoints held over the step."""
        p = self.params
        steer0, accel0 = self.steer_rad, self.actuator_accel_mps2
        self.actuators.step(self.time_s, dt_s)
        steer1, accel1 = self.actuators.steer_rad, self.actuators.accel_mps2

        speed0 = self.speed_mps
        speed1 = self._next_speed(speed0, 0.5 * (accel0 + accel1), dt_s)

        speed_mid, steer_mid = 0.5 * (speed0 + speed1), 0.5 * (steer0 + steer1)
        yaw_rate_mid = speed_mid * math.tan(steer_mid) / p.wheelbase_m
        heading_mid = self.yaw_rad + 0.5 * yaw_rate_mid * dt_s
        self.x_m += speed_mid * math.cos(heading_mid) * dt_s
        self.y_m += speed_mid * math.sin(heading_mid) * dt_s
        self.yaw_rad = math.remainder(self.yaw_rad + yaw_rate_mid * dt_s, math.tau)

        self.steer_rad, self.steer_rate_radps = steer1, (steer1 - steer0) / dt_s
        self.actuator_accel_mps2 = accel1
        self.speed_mps, self.accel_mps2 = speed1, (speed1 - speed0) / dt_s
        self.time_s += dt_s

    def _next_speed(self, speed_mps: float, actuator_mps2: float, dt_s: float) -> float:
        """Drive pushes along the gear; brakes pull speed towards zero and hold it there,
        never through it (a braking van does not start reversing)."""
        if actuator_mps2 >= 0.0:
            top = self.params.max_speed_hw_mps
            speed = speed_mps + GEAR_DIRECTION[self.gear] * actuator_mps2 * dt_s
            return min(max(speed, -top), top)
        braking = -actuator_mps2 * dt_s
        if speed_mps > 0.0:
            return max(speed_mps - braking, 0.0)
        return min(speed_mps + braking, 0.0)

    @property
    def yaw_rate_radps(self) -> float:
        return self.speed_mps * math.tan(self.steer_rad) / self.params.wheelbase_m
