"""The van's plant in a CARLA run: the van's own actuators, CARLA's vehicle as the body.

The van ECU (sim/van_ecu.py) drives this exactly as it drives the embedded `VanPlant`: `command`,
`set_gear`, `step` every 5 ms, and it reads the state back for its CAN reports. The actuators
(dead times, lags, the steering's rate limit) are VanPlant's own `Actuators`; what they deliver
becomes CARLA's pedals and wheel (`control.py`) once per tick, and the body's motion is what
CARLA measured after the tick (`observe`). Pure: the world (carla_sim/world.py) applies the
command to the CARLA vehicle.
"""

from __future__ import annotations

import dataclasses
import math

from robovan_autonomy.carla_sim.control import ControlMap, LongitudinalControl, carla_steer
from robovan_autonomy.sim.van_plant import GEAR_DIRECTION, ActuatedBody, Actuators
from robovan_autonomy.vehicle.rvn_dbw import Gear
from robovan_autonomy.vehicle_params import VehicleParams


@dataclasses.dataclass(frozen=True)
class VehicleCommand:
    """One tick's input to the CARLA vehicle (carla.VehicleControl's fields)."""

    throttle: float
    brake: float
    steer: float
    reverse: bool
    hand_brake: bool


class CarlaPlant(ActuatedBody):
    def __init__(
        self,
        params: VehicleParams,
        control: ControlMap,
        *,
        x_m: float = 0.0,
        y_m: float = 0.0,
        yaw_rad: float = 0.0,
        gear: Gear = Gear.PARK,
        time_s: float = 0.0,
    ):
        self.params, self.control_map = params, control
        self.actuators = Actuators(params)
        self.longitudinal = LongitudinalControl(control)
        self.set_gear(gear)
        self.time_s = time_s
        self.x_m, self.y_m, self.yaw_rad = x_m, y_m, yaw_rad
        self.speed_mps = self.accel_mps2 = self.yaw_rate_radps = 0.0
        self.steer_rate_radps = 0.0
        self._observed_at_s = time_s

    # -- what the ECU drives ------------------------------------------------------------------
    def step(self, dt_s: float) -> None:
        steer0 = self.actuators.steer_rad
        self.actuators.step(self.time_s, dt_s)
        self.steer_rate_radps = (self.actuators.steer_rad - steer0) / dt_s
        self.time_s += dt_s

    @property
    def steer_rad(self) -> float:
        return self.actuators.steer_rad

    @property
    def actuator_accel_mps2(self) -> float:
        return self.actuators.accel_mps2

    # -- what the world does around each CARLA tick --------------------------------------------
    def vehicle_command(self, dt_s: float) -> VehicleCommand:
        """The pedals and wheel to hold over the next tick of dt_s."""
        steer = carla_steer(self.actuators.steer_rad, self.control_map)
        if self.gear is Gear.PARK:
            return VehicleCommand(0.0, 1.0, steer, reverse=False, hand_brake=True)
        direction = GEAR_DIRECTION[self.gear]
        wanted = self.actuators.accel_mps2
        if direction == 0.0:  # neutral: the brakes still work, the drive does not
            wanted = min(wanted, 0.0)
        throttle, brake = self.longitudinal.pedals(
            wanted, self.speed_mps, self.accel_mps2 * (direction or 1.0), dt_s
        )
        return VehicleCommand(throttle, brake, steer, self.gear is Gear.REVERSE, hand_brake=False)

    def observe(
        self,
        t_s: float,
        x_m: float,
        y_m: float,
        yaw_rad: float,
        speed_mps: float,
        yaw_rate_radps: float,
    ) -> None:
        """The body's motion as CARLA measured it at t_s (map frame, base_link, speed signed
        along x); the acceleration is the speed's change since the last observation."""
        dt_s = t_s - self._observed_at_s
        if dt_s > 0.0:
            self.accel_mps2 = (speed_mps - self.speed_mps) / dt_s
        self.x_m, self.y_m, self.yaw_rad = x_m, y_m, math.remainder(yaw_rad, math.tau)
        self.speed_mps, self.yaw_rate_radps = speed_mps, yaw_rate_radps
        self._observed_at_s = t_s
