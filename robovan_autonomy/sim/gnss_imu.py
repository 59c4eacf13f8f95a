"""GNSS receiver and IMU models: true motion in, what the devices would report out.

GNSS: the antenna's map position plus white noise and a slowly wandering Gauss–Markov bias,
both sized from the datasheet's σ for the current fix mode (RTK, float, or none inside outage
windows and zones). The datasheet σ is the total per-axis error; BIAS_VARIANCE_FRACTION of its
variance is the slow part (multipath, atmosphere), the rest is sample-to-sample noise.

IMU: body rates and specific force in the `imu` frame, from base_link's motion with the lever arm
(tangential and centripetal terms) and gravity, plus white noise and random-walk biases.
Readings use the field names of interfaces.GnssFix / interfaces.ImuSample.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Callable, Sequence

import cv2
import numpy as np

from robovan_autonomy.vehicle_params import SensorPose, VehicleParams

GRAVITY_MPS2 = 9.80665
BIAS_VARIANCE_FRACTION = 0.5  # half the GNSS error variance changes slowly (multipath, ionosphere)
GNSS_BIAS_TAU_S = 30.0  # correlation time of those slow errors in a street canyon
VERTICAL_SIGMA_FACTOR = 2.0  # satellites are all above: vertical error ≈ 2 × horizontal

GYRO_BIAS_SIGMA_RADPS = 0.002  # turn-on bias of an automotive MEMS gyro (~0.1 °/s)
GYRO_BIAS_WALK_RADPS_RTS = 2e-5  # bias random walk, rad/s per √s (~1e-3 rad/s in an hour)
ACCEL_BIAS_SIGMA_MPS2 = 0.03  # turn-on accelerometer bias
ACCEL_BIAS_WALK_MPS2_RTS = 3e-4  # bias random walk, m/s² per √s (~0.02 m/s² in an hour)

Geodetic = Callable[[float, float, float], tuple[float, float, float]]


class FixMode(enum.IntEnum):
    """Values of sensor_msgs/NavSatStatus.status."""

    NO_FIX = -1
    FLOAT = 0  # STATUS_FIX
    RTK = 2  # STATUS_GBAS_FIX: ground-based augmentation, as RTK receivers report


@dataclasses.dataclass(frozen=True)
class GnssNoise:
    sigma_rtk_m: float
    sigma_float_m: float
    bias_variance_fraction: float = BIAS_VARIANCE_FRACTION
    bias_tau_s: float = GNSS_BIAS_TAU_S
    vertical_factor: float = VERTICAL_SIGMA_FACTOR

    @staticmethod
    def from_vehicle_params(params: VehicleParams, frame: str = "gnss") -> GnssNoise:
        spec = params.sensors[frame]
        return GnssNoise(float(spec["sigma_rtk_m"]), float(spec["sigma_float_m"]))

    def sigma_m(self, mode: FixMode) -> np.ndarray:
        """Total per-axis σ (east, north, up) in a fix mode."""
        horizontal = self.sigma_rtk_m if mode == FixMode.RTK else self.sigma_float_m
        return np.array([horizontal, horizontal, horizontal * self.vertical_factor])


@dataclasses.dataclass(frozen=True)
class GnssConditions:
    """Where and when the receiver loses RTK (float) or any fix (outage); windows are
    [t_start_s, t_end_s), zones are (N, 2) map polygons. Outage wins over float."""

    outage_windows: tuple[tuple[float, float], ...] = ()
    outage_zones: tuple[np.ndarray, ...] = ()
    float_windows: tuple[tuple[float, float], ...] = ()
    float_zones: tuple[np.ndarray, ...] = ()

    def mode(self, t_s: float, xy: Sequence[float]) -> FixMode:
        if _in_any(t_s, xy, self.outage_windows, self.outage_zones):
            return FixMode.NO_FIX
        if _in_any(t_s, xy, self.float_windows, self.float_zones):
            return FixMode.FLOAT
        return FixMode.RTK


def _in_any(t_s: float, xy: Sequence[float], windows, zones) -> bool:
    point = (float(xy[0]), float(xy[1]))
    return any(t0 <= t_s < t1 for t0, t1 in windows) or any(
        cv2.pointPolygonTest(np.asarray(z, np.float32).reshape(-1, 1, 2), point, False) >= 0
        for z in zones
    )


@dataclasses.dataclass(frozen=True)
class GnssReading:
    stamp_s: float
    latitude_deg: float
    longitude_deg: float
    altitude_m: float
    has_fix: bool
    position_covariance: np.ndarray  # (3, 3) east, north, up, m²
    status: FixMode
    position_map_m: np.ndarray  # (3,) the reported position in map (NaN without a fix)


class GnssModel:
    def __init__(
        self,
        noise: GnssNoise,
        to_geodetic: Geodetic,
        rng: np.random.Generator,
        conditions: GnssConditions = GnssConditions(),
    ):
        self.noise, self.to_geodetic, self.rng, self.conditions = (
            noise,
            to_geodetic,
            rng,
            conditions,
        )
        self._bias_unit = rng.standard_normal(3)  # stationary start: unit-variance per axis
        self._last_t_s: float | None = None

    def measure(self, t_s: float, antenna_map_m: Sequence[float]) -> GnssReading:
        """One fix for the antenna at antenna_map_m (true position in map) at time t_s."""
        if self._last_t_s is not None:
            phi = math.exp(-max(t_s - self._last_t_s, 0.0) / self.noise.bias_tau_s)
            self._bias_unit = phi * self._bias_unit + math.sqrt(
                1.0 - phi * phi
            ) * self.rng.standard_normal(3)
        self._last_t_s = t_s
        white = self.rng.standard_normal(3)
        mode = self.conditions.mode(t_s, antenna_map_m)
        if mode == FixMode.NO_FIX:
            return GnssReading(
                t_s,
                math.nan,
                math.nan,
                math.nan,
                False,
                np.zeros((3, 3)),
                mode,
                np.full(3, math.nan),
            )
        sigma = self.noise.sigma_m(mode)
        fraction = self.noise.bias_variance_fraction
        error = sigma * (math.sqrt(fraction) * self._bias_unit + math.sqrt(1.0 - fraction) * white)
        position = np.asarray(antenna_map_m, float) + error
        lat, lon, alt = self.to_geodetic(*position)
        return GnssReading(
            t_s, float(lat), float(lon), float(alt), True, np.diag(sigma**2), mode, position
        )


# ---------------------------------------------------------------------------------------------
# IMU
# ---------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class ImuNoise:
    gyro_noise_radps: float
    accel_noise_mps2: float
    gyro_bias_sigma_radps: float = GYRO_BIAS_SIGMA_RADPS
    gyro_bias_walk_radps_rts: float = GYRO_BIAS_WALK_RADPS_RTS
    accel_bias_sigma_mps2: float = ACCEL_BIAS_SIGMA_MPS2
    accel_bias_walk_mps2_rts: float = ACCEL_BIAS_WALK_MPS2_RTS

    @staticmethod
    def from_vehicle_params(params: VehicleParams, frame: str = "imu") -> ImuNoise:
        spec = params.sensors[frame]
        return ImuNoise(float(spec["gyro_noise_radps"]), float(spec["accel_noise_mps2"]))


@dataclasses.dataclass(frozen=True)
class MotionState:
    """True motion of base_link at one instant."""

    rotation: np.ndarray  # (3, 3) base_link → map
    angular_velocity_radps: np.ndarray  # (3,) in base_link
    linear_accel_mps2: np.ndarray  # (3,) of the base_link origin, in map
    angular_accel_radps2: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(3))

    @staticmethod
    def planar(
        yaw_rad: float,
        yaw_rate_radps: float,
        speed_mps: float,
        accel_mps2: float,
        yaw_accel_radps2: float = 0.0,
    ) -> MotionState:
        """A van on flat ground without side slip at the rear axle: centripetal accel v·ω."""
        c, s = math.cos(yaw_rad), math.sin(yaw_rad)
        rotation = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
        accel_body = np.array([accel_mps2, speed_mps * yaw_rate_radps, 0.0])
        return MotionState(
            rotation,
            np.array([0.0, 0.0, yaw_rate_radps]),
            rotation @ accel_body,
            np.array([0.0, 0.0, yaw_accel_radps2]),
        )


@dataclasses.dataclass(frozen=True)
class ImuReading:
    stamp_s: float
    angular_velocity_radps: np.ndarray  # (3,) in the imu frame
    linear_acceleration_mps2: np.ndarray  # (3,) specific force in the imu frame (+g up at rest)


class ImuModel:
    def __init__(self, noise: ImuNoise, extrinsic: SensorPose, rng: np.random.Generator):
        self.noise, self.extrinsic, self.rng = noise, extrinsic, rng
        self.gyro_bias_radps = noise.gyro_bias_sigma_radps * rng.standard_normal(3)
        self.accel_bias_mps2 = noise.accel_bias_sigma_mps2 * rng.standard_normal(3)
        self._last_t_s: float | None = None

    def true_reading(self, motion: MotionState) -> tuple[np.ndarray, np.ndarray]:
        """Noise-free (rate, specific force) in the imu frame."""
        omega, alpha = (
            np.asarray(motion.angular_velocity_radps),
            np.asarray(motion.angular_accel_radps2),
        )
        lever = self.extrinsic.translation()
        accel_base = (
            motion.rotation.T @ np.asarray(motion.linear_accel_mps2)
            + np.cross(alpha, lever)
            + np.cross(omega, np.cross(omega, lever))
        )
        specific_force = accel_base + motion.rotation.T @ np.array([0.0, 0.0, GRAVITY_MPS2])
        to_imu = self.extrinsic.rotation().T
        return to_imu @ omega, to_imu @ specific_force

    def measure(self, t_s: float, motion: MotionState) -> ImuReading:
        if self._last_t_s is not None:
            root_dt = math.sqrt(max(t_s - self._last_t_s, 0.0))
            self.gyro_bias_radps = self.gyro_bias_radps + (
                self.noise.gyro_bias_walk_radps_rts * root_dt * self.rng.standard_normal(3)
            )
            self.accel_bias_mps2 = self.accel_bias_mps2 + (
                self.noise.accel_bias_walk_mps2_rts * root_dt * self.rng.standard_normal(3)
            )
        self._last_t_s = t_s
        rate, force = self.true_reading(motion)
        rate = (
            rate + self.gyro_bias_radps + self.noise.gyro_noise_radps * self.rng.standard_normal(3)
        )
        force = (
            force + self.accel_bias_mps2 + self.noise.accel_noise_mps2 * self.rng.standard_normal(3)
        )
        return ImuReading(t_s, rate, force)
