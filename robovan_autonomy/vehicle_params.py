"""The van's datasheet as one typed object, read from config/vehicle.yaml.

Every module that needs a dimension, a limit or an extrinsic takes a VehicleParams rather than
re-typing a number, so the datasheet changes in exactly one file.
"""

from __future__ import annotations

import dataclasses
import math
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml

from robovan_autonomy.config_errors import ConfigError, config_path

# The van at rest, as the bridge, the planner, the minimal-risk stop and the supervisor all treat
# it. Below this speed it counts as stopped, m/s (the speed report resolves 0.001 m/s).
STANDSTILL_SPEED_MPS = 0.05
# Brake request that holds a stopped van, m/s²: enough for a loaded van on a 10 % grade.
STANDSTILL_HOLD_ACCEL_MPS2 = -1.0


@dataclasses.dataclass(frozen=True)
class SensorPose:
    """Extrinsic of a sensor frame relative to base_link (REP-103: x fwd, y left, z up)."""

    x_m: float
    y_m: float
    z_m: float
    roll_rad: float
    pitch_rad: float
    yaw_rad: float

    def rotation(self) -> np.ndarray:
        """Rotation matrix sensor → base_link (ZYX / yaw-pitch-roll convention)."""
        cr, sr = math.cos(self.roll_rad), math.sin(self.roll_rad)
        cp, sp = math.cos(self.pitch_rad), math.sin(self.pitch_rad)
        cy, sy = math.cos(self.yaw_rad), math.sin(self.yaw_rad)
        rz = np.array([[cy, -sy, 0.0], [sy, cy, 0.0], [0.0, 0.0, 1.0]])
        ry = np.array([[cp, 0.0, sp], [0.0, 1.0, 0.0], [-sp, 0.0, cp]])
        rx = np.array([[1.0, 0.0, 0.0], [0.0, cr, -sr], [0.0, sr, cr]])
        return rz @ ry @ rx

    def translation(self) -> np.ndarray:
        return np.array([self.x_m, self.y_m, self.z_m])

    def to_base_link(self, points_sensor: np.ndarray) -> np.ndarray:
        """Transform (N, 3) points from the sensor frame to base_link: the one extrinsics helper."""
        return points_sensor @ self.rotation().T + self.translation()

    def from_base_link(self, points_base: np.ndarray) -> np.ndarray:
        return (points_base - self.translation()) @ self.rotation()


@dataclasses.dataclass(frozen=True)
class VehicleParams:
    length_m: float
    width_m: float
    height_m: float
    wheelbase_m: float
    rear_overhang_m: float
    front_overhang_m: float
    track_width_m: float
    mass_empty_kg: float
    mass_loaded_kg: float
    max_speed_hw_mps: float
    max_speed_odd_mps: float
    max_steer_rad: float
    max_steer_rate_radps: float
    min_accel_mps2: float
    max_accel_mps2: float
    steer_tau_s: float
    steer_dead_time_s: float
    accel_tau_s: float
    accel_dead_time_s: float
    sensors: dict

    def sensor_pose(self, frame: str) -> SensorPose:
        return SensorPose(*self.sensors[frame]["pose"])

    def footprint(self) -> np.ndarray:
        """Body corners in base_link (rear-axle centre), counter-clockwise from rear right."""
        rear, front = -self.rear_overhang_m, self.wheelbase_m + self.front_overhang_m
        half = self.width_m / 2.0
        return np.array([[rear, -half], [front, -half], [front, half], [rear, half]])


DEFAULT_VEHICLE_FILE = config_path("vehicle.yaml")

_SECTIONS = {
    "geometry": (
        "length_m",
        "width_m",
        "height_m",
        "wheelbase_m",
        "rear_overhang_m",
        "front_overhang_m",
        "track_width_m",
    ),
    "mass": ("empty_kg", "loaded_kg"),
    "limits": (
        "max_speed_hw_mps",
        "max_speed_odd_mps",
        "max_steer_rad",
        "max_steer_rate_radps",
        "min_accel_mps2",
        "max_accel_mps2",
    ),
    "actuators": ("steer_tau_s", "steer_dead_time_s", "accel_tau_s", "accel_dead_time_s"),
}


@lru_cache(maxsize=8)
def load_vehicle_params(path: str | Path = DEFAULT_VEHICLE_FILE) -> VehicleParams:
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(path, "", f"cannot read vehicle parameters: {err}") from err
    if not isinstance(doc, dict):
        raise ConfigError(path, "", "expected a mapping at the top level")
    values = {}
    for section, keys in _SECTIONS.items():
        block = doc.get(section)
        if not isinstance(block, dict):
            raise ConfigError(path, section, "missing section")
        for key in keys:
            value = block.get(key)
            if (
                not isinstance(value, (int, float))
                or isinstance(value, bool)
                or not math.isfinite(value)
            ):
                raise ConfigError(
                    path, f"{section}.{key}", f"expected a finite number, got {value!r}"
                )
            name = f"mass_{key}" if section == "mass" else key
            values[name] = float(value)
    sensors = doc.get("sensors")
    if not isinstance(sensors, dict):
        raise ConfigError(path, "sensors", "missing section")
    for frame, block in sensors.items():
        pose = block.get("pose") if isinstance(block, dict) else None
        if not (isinstance(pose, list) and len(pose) == 6):
            raise ConfigError(path, f"sensors.{frame}.pose", "expected [x, y, z, roll, pitch, yaw]")
    return VehicleParams(sensors=sensors, **values)
