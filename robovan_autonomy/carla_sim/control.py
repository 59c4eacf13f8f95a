"""The van's actuator outputs as CARLA's pedals and wheel. Pure: no carla import.

CARLA takes throttle and brake in [0, 1] and a normalised steer in [-1, 1] that is positive to the
right (Unreal's y is right); the van's actuators give a longitudinal acceleration (m/s², > 0
propels in the gear's direction, < 0 brakes) and a road-wheel angle (rad, positive left, REP-103).
Longitudinal: a feed-forward map (what acceleration full throttle and full brake give, less
rolling resistance and drag) plus a PI on the measured acceleration's error, which takes up what
the map gets wrong (slope, load, the blueprint's engine curve). The constants are in
config/carla.yaml; docs/CARLA.md says how to calibrate them.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import yaml

from robovan_autonomy.config_errors import ConfigError, config_path

DEFAULT_CARLA_FILE = config_path("carla.yaml")


@dataclasses.dataclass(frozen=True)
class ControlMap:
    max_steer_angle_rad: float
    throttle_accel_mps2: float
    brake_decel_mps2: float
    rolling_mps2: float
    drag_per_speed2_per_m: float
    kp_per_mps2: float
    ki_per_mps: float
    integral_limit: float

    def resistance_mps2(self, speed_mps: float) -> float:
        """The deceleration the van has when coasting at speed_mps."""
        return self.rolling_mps2 + self.drag_per_speed2_per_m * speed_mps * speed_mps


@dataclasses.dataclass(frozen=True)
class CarlaConfig:
    delta_seconds: float
    max_substep_delta_time_s: float
    max_substeps: int
    sensor_timeout_s: float
    van_blueprint: str
    van_origin_ahead_m: float  # the van blueprint's actor origin ahead of base_link
    actor_blueprints: dict  # scenario actor type -> blueprint id
    control: ControlMap


def load_carla_config(path: str | Path = DEFAULT_CARLA_FILE) -> CarlaConfig:
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text())
        session = doc["session"]
        return CarlaConfig(
            float(session["delta_seconds"]),
            float(session["max_substep_delta_time_s"]),
            int(session["max_substeps"]),
            float(session["sensor_timeout_s"]),
            str(doc["van"]["blueprint"]),
            float(doc["van"]["origin_ahead_of_base_link_m"]),
            dict(doc["actors"]),
            ControlMap(**{k: float(v) for k, v in doc["control"].items()}),
        )
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as err:
        raise ConfigError(path, "", f"cannot read the CARLA configuration: {err}") from err


@dataclasses.dataclass(frozen=True)
class Pedals:
    throttle: float  # [0, 1]
    brake: float  # [0, 1]
    steer: float  # [-1, 1], positive right (CARLA's)


def carla_steer(steer_rad: float, control: ControlMap) -> float:
    """A road-wheel angle (positive left) as CARLA's normalised steer (positive right)."""
    return min(max(-steer_rad / control.max_steer_angle_rad, -1.0), 1.0)


class LongitudinalControl:
    """Acceleration → throttle/brake: feed-forward through the map, PI on the measured error."""

    def __init__(self, control: ControlMap):
        self.control = control
        self._integral = 0.0

    def reset(self) -> None:
        self._integral = 0.0

    def pedals(
        self, accel_mps2: float, speed_mps: float, measured_mps2: float, dt_s: float
    ) -> tuple[float, float]:
        """(throttle, brake) for a wanted acceleration along the gear's direction, at |speed|,
        with the acceleration measured over the last step."""
        c = self.control
        error = accel_mps2 - measured_mps2
        limit = c.integral_limit
        self._integral = min(max(self._integral + c.ki_per_mps * error * dt_s, -limit), limit)
        # The force the pedals must add: the wanted acceleration plus what resistance takes away.
        needed = accel_mps2 + c.resistance_mps2(abs(speed_mps))
        feedback = c.kp_per_mps2 * error + self._integral
        if needed >= 0.0:
            return min(max(needed / c.throttle_accel_mps2 + feedback, 0.0), 1.0), 0.0
        return 0.0, min(max(-needed / c.brake_decel_mps2 - feedback, 0.0), 1.0)
