"""Planar extended Kalman filter for base_link in `map`, with time-ordered, delay-tolerant fusion.

State: x, y (m), yaw (rad), forward speed (m/s), gyro z bias (rad/s), accelerometer x bias (m/s²).
The IMU drives the prediction (gyro for yaw, accelerometer for speed, both bias-corrected, the
accelerometer's centripetal term at its lever arm removed); wheel speed, the steering angle's
kinematic yaw rate, GNSS antenna positions and LiDAR-to-map poses are measurements. The van's
rear axle does not slide sideways, so position follows the heading; small unmodelled side slip
enters as lateral process noise.

`LocalizationFilter` keeps every input of the last `horizon_s` with the state after it, so a
measurement that arrives late (but newer than the horizon) is fused at its own stamp: the filter
rewinds to the last state before that stamp and replays what came after. Every update is gated
on its Mahalanobis distance (NIS) so a GNSS jump or a wrong scan match cannot pull the estimate.

Pure numpy: no rclpy here.
"""

from __future__ import annotations

import bisect
import dataclasses
import enum
import math

import numpy as np

from robovan_autonomy.geometry import wrap_angle
from robovan_autonomy.vehicle_params import VehicleParams

X, Y, YAW, SPEED, GYRO_BIAS, ACCEL_BIAS = range(6)
STATE_SIZE = 6

# Slow sensor errors and model slack (per √s: random walks and white-noise densities).
GYRO_BIAS_WALK_RADPS_RTS = (
    1e-4  # 5× an automotive MEMS gyro's bias walk: also absorbs temperature drift
)
ACCEL_BIAS_WALK_MPS2_RTS = 1e-3  # likewise; also soaks up road grade leaking into the accelerometer
LATERAL_SLIP_MPS_RTS = 0.02  # side slip the kinematic model ignores (urban speeds, dry road)
NOISE_INFLATION = 2.0  # datasheet white noise × this: quantisation, vibration, timing
WHEEL_SPEED_SIGMA_MPS = 0.02  # wheel speed report: tyre radius and quantisation
WHEEL_SPEED_SIGMA_FRACTION = 0.005  # … plus 0.5 % of the speed (tyre wear, load)
STEER_YAW_RATE_SIGMA_RADPS = 0.01  # kinematic yaw rate from the steering angle: slip, play
STEER_YAW_RATE_SIGMA_FRACTION = 0.05  # … plus 5 % of the rate (understeer in turns)
FALLBACK_RATE_DENSITY = 0.05  # rad/s/√Hz: yaw rate from steering while the IMU is silent
FALLBACK_ACCEL_DENSITY = 1.0  # m/s²/√Hz: no accelerometer, speed changes go unseen
HISTORY_S = 1.0  # replay horizon: longer than any receiver or driver latency
STALE_INPUT_S = 0.1  # an IMU or wheel input older than this is not used to predict
INITIAL_GYRO_BIAS_SIGMA_RADPS = 0.005  # turn-on bias of automotive MEMS gyros, with margin
INITIAL_ACCEL_BIAS_SIGMA_MPS2 = 0.1  # turn-on bias plus a few degrees of unknown road grade
INITIAL_SPEED_SIGMA_MPS = 0.5  # a start is seeded with the wheel speed, possibly stale
MAX_PREDICT_STEP_S = 0.05  # a long gap is crossed in steps this long (linearisation)
MIN_VARIANCE = 1e-12  # keeps P positive definite through round-off

CHI2_2DOF_999 = 13.82  # 99.9 % gates: a correct measurement is rejected 1 in 1000
CHI2_3DOF_999 = 16.27


class Outcome(str, enum.Enum):
    ACCEPTED = "accepted"
    GATED = "gated"  # inconsistent with the estimate (NIS above the gate)
    TOO_OLD = "too_old"  # older than the replay horizon
    NOT_INITIALIZED = "not_initialized"


@dataclasses.dataclass(frozen=True)
class NoiseModel:
    gyro_noise_radps: float  # white noise per sample at imu_rate_hz (datasheet)
    accel_noise_mps2: float
    imu_rate_hz: float
    gyro_bias_walk_radps_rts: float = GYRO_BIAS_WALK_RADPS_RTS
    accel_bias_walk_mps2_rts: float = ACCEL_BIAS_WALK_MPS2_RTS
    lateral_slip_mps_rts: float = LATERAL_SLIP_MPS_RTS
    inflation: float = NOISE_INFLATION

    @property
    def gyro_density(self) -> float:
        """rad/s/√Hz: per-sample σ spread over the sample interval."""
        return self.inflation * self.gyro_noise_radps / math.sqrt(self.imu_rate_hz)

    @property
    def accel_density(self) -> float:
        return self.inflation * self.accel_noise_mps2 / math.sqrt(self.imu_rate_hz)


@dataclasses.dataclass(frozen=True)
class Geometry:
    """Lever arms in base_link (m) and the wheelbase, from the vehicle parameters."""

    imu_x_m: float
    gnss_xy_m: tuple[float, float]
    wheelbase_m: float


# --- inputs and measurements -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ImuInput:
    t_s: float
    gyro_z_radps: float
    accel_x_mps2: float


@dataclasses.dataclass(frozen=True)
class WheelInput:
    t_s: float
    speed_mps: float
    steer_rad: float


@dataclasses.dataclass(frozen=True)
class PositionFix:
    """GNSS antenna position in map with its covariance (m²)."""

    t_s: float
    xy_m: np.ndarray
    covariance: np.ndarray


@dataclasses.dataclass(frozen=True)
class PoseFix:
    """A base_link pose (x, y, yaw) in map, e.g. from LiDAR-to-map matching, with covariance."""

    t_s: float
    pose: np.ndarray
    covariance: np.ndarray


@dataclasses.dataclass(frozen=True)
class Estimate:
    t_s: float
    state: np.ndarray
    covariance: np.ndarray
    yaw_rate_radps: float

    @property
    def pose(self) -> np.ndarray:
        return self.state[:3]


# --- the filter's algebra ----------------------------------------------------------------------


class PlanarEkf:
    """Predict and update steps on (state, covariance, held inputs); no time bookkeeping."""

    def __init__(self, noise: NoiseModel, geometry: Geometry):
        self.noise, self.geometry = noise, geometry

    def predict(
        self,
        state: np.ndarray,
        cov: np.ndarray,
        dt_s: float,
        imu: ImuInput | None,
        wheel: WheelInput | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Advance by dt_s holding the given inputs (None: that input is stale)."""
        n, g = self.noise, self.geometry
        x, y, yaw, speed, gyro_bias, accel_bias = state
        if imu is not None:
            rate = imu.gyro_z_radps - gyro_bias
            accel = imu.accel_x_mps2 - accel_bias + rate * rate * g.imu_x_m
            rate_var, accel_var = n.gyro_density**2, n.accel_density**2
        else:
            rate = (
                wheel.speed_mps * math.tan(wheel.steer_rad) / g.wheelbase_m
                if wheel is not None
                else 0.0
            )
            accel = 0.0
            rate_var, accel_var = FALLBACK_RATE_DENSITY**2, FALLBACK_ACCEL_DENSITY**2
        heading = yaw + 0.5 * rate * dt_s
        mid_speed = speed + 0.5 * accel * dt_s
        c, s = math.cos(heading), math.sin(heading)
        new = state.copy()
        new[X] = x + mid_speed * c * dt_s
        new[Y] = y + mid_speed * s * dt_s
        new[YAW] = wrap_angle(yaw + rate * dt_s)
        new[SPEED] = speed + accel * dt_s

        f = np.eye(STATE_SIZE)
        f[X, YAW], f[Y, YAW] = -mid_speed * s * dt_s, mid_speed * c * dt_s
        f[X, SPEED], f[Y, SPEED] = c * dt_s, s * dt_s
        if imu is not None:
            f[YAW, GYRO_BIAS] = -dt_s
            f[SPEED, ACCEL_BIAS] = -dt_s
            f[X, GYRO_BIAS], f[Y, GYRO_BIAS] = (
                0.5 * mid_speed * s * dt_s**2,
                -0.5 * mid_speed * c * dt_s**2,
            )
            f[X, ACCEL_BIAS], f[Y, ACCEL_BIAS] = -0.5 * c * dt_s**2, -0.5 * s * dt_s**2
        q = np.zeros((STATE_SIZE, STATE_SIZE))
        slip_var = n.lateral_slip_mps_rts**2 * dt_s
        q[X, X], q[Y, Y], q[X, Y] = slip_var * s * s, slip_var * c * c, -slip_var * s * c
        q[Y, X] = q[X, Y]
        q[YAW, YAW] = rate_var * dt_s
        q[SPEED, SPEED] = accel_var * dt_s
        q[GYRO_BIAS, GYRO_BIAS] = n.gyro_bias_walk_radps_rts**2 * dt_s
        q[ACCEL_BIAS, ACCEL_BIAS] = n.accel_bias_walk_mps2_rts**2 * dt_s
        return new, f @ cov @ f.T + q

    @staticmethod
    def update(
        state: np.ndarray,
        cov: np.ndarray,
        residual: np.ndarray,
        h: np.ndarray,
        r: np.ndarray,
        gate: float | None,
    ) -> tuple[np.ndarray, np.ndarray, float, bool]:
        """Linear(ised) update with residual z − h(x); Joseph form. Returns the new state and
        covariance, the NIS, and whether it passed the gate (when it did not, nothing changes)."""
        s = h @ cov @ h.T + r
        s_inv = np.linalg.inv(s)
        nis = float(residual @ s_inv @ residual)
        if gate is not None and not nis <= gate:
            return state, cov, nis, False
        k = cov @ h.T @ s_inv
        new = state + k @ residual
        new[YAW] = wrap_angle(new[YAW])
        i_kh = np.eye(STATE_SIZE) - k @ h
        new_cov = i_kh @ cov @ i_kh.T + k @ r @ k.T
        new_cov = 0.5 * (new_cov + new_cov.T)
        np.fill_diagonal(new_cov, np.maximum(np.diag(new_cov), MIN_VARIANCE))
        return new, new_cov, nis, True

    def gnss_model(self, state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Predicted antenna position and its Jacobian."""
        lx, ly = self.geometry.gnss_xy_m
        c, s = math.cos(state[YAW]), math.sin(state[YAW])
        predicted = np.array([state[X] + c * lx - s * ly, state[Y] + s * lx + c * ly])
        h = np.zeros((2, STATE_SIZE))
        h[0, X] = h[1, Y] = 1.0
        h[0, YAW], h[1, YAW] = -s * lx - c * ly, c * lx - s * ly
        return predicted, h

    def antenna_to_base(self, antenna_xy: np.ndarray, yaw_rad: float) -> np.ndarray:
        lx, ly = self.geometry.gnss_xy_m
        c, s = math.cos(yaw_rad), math.sin(yaw_rad)
        return np.asarray(antenna_xy, float) - np.array([c * lx - s * ly, s * lx + c * ly])


_H_SPEED = np.eye(STATE_SIZE)[[SPEED]]
_H_GYRO_BIAS = np.eye(STATE_SIZE)[[GYRO_BIAS]]
_H_POSE = np.eye(STATE_SIZE)[[X, Y, YAW]]


# --- time ordering, replay -----------------------------------------------------------------------


@dataclasses.dataclass
class _Snapshot:
    t_s: float
    state: np.ndarray
    cov: np.ndarray
    imu: ImuInput | None
    wheel: WheelInput | None


@dataclasses.dataclass
class _Event:
    t_s: float
    item: object  # None: the (re)initialisation every replay can start from
    after: _Snapshot | None = None


@dataclasses.dataclass(frozen=True)
class Result:
    outcome: Outcome
    nis: float = math.nan


class LocalizationFilter:
    """The EKF in stamp order, with replay of the last horizon_s for late measurements."""

    def __init__(
        self,
        ekf: PlanarEkf,
        horizon_s: float,
        gnss_gate: float = CHI2_2DOF_999,
        pose_gate: float = CHI2_3DOF_999,
    ):
        self.ekf, self.horizon_s = ekf, horizon_s
        self.gnss_gate, self.pose_gate = gnss_gate, pose_gate
        self._now: _Snapshot | None = None
        self._events: list[_Event] = []
        self._latest_imu: ImuInput | None = None  # held across (re)initialisation
        self._latest_wheel: WheelInput | None = None

    @property
    def initialized(self) -> bool:
        return self._now is not None

    @property
    def time_s(self) -> float:
        return self._now.t_s if self._now is not None else -math.inf

    def initialize(
        self, t_s: float, pose: np.ndarray, pose_cov: np.ndarray, speed_mps: float = 0.0
    ) -> None:
        """Start (or restart) at a pose; history before it is dropped, biases are learnt anew."""
        state = np.array([pose[0], pose[1], wrap_angle(pose[2]), speed_mps, 0.0, 0.0])
        cov = np.zeros((STATE_SIZE, STATE_SIZE))
        cov[:3, :3] = pose_cov
        cov[SPEED, SPEED] = INITIAL_SPEED_SIGMA_MPS**2
        cov[GYRO_BIAS, GYRO_BIAS] = INITIAL_GYRO_BIAS_SIGMA_RADPS**2
        cov[ACCEL_BIAS, ACCEL_BIAS] = INITIAL_ACCEL_BIAS_SIGMA_MPS2**2
        self._now = _Snapshot(t_s, state, cov, self._latest_imu, self._latest_wheel)
        self._events = [_Event(t_s, None, self._now)]

    def reset(self) -> None:
        self._now, self._events = None, []

    # -- adding inputs and measurements --------------------------------------------------------
    def add(self, item) -> Result:
        """Fuse one ImuInput, WheelInput, PositionFix or PoseFix at its stamp."""
        if isinstance(item, ImuInput) and (
            self._latest_imu is None or item.t_s >= self._latest_imu.t_s
        ):
            self._latest_imu = item
        if isinstance(item, WheelInput) and (
            self._latest_wheel is None or item.t_s >= self._latest_wheel.t_s
        ):
            self._latest_wheel = item
        if self._now is None:
            return Result(Outcome.NOT_INITIALIZED)
        event = _Event(item.t_s, item)
        if item.t_s >= self._now.t_s:
            result = self._apply(event, self._now)
            self._events.append(event)
            self._prune()
            return result
        if item.t_s < self._now.t_s - self.horizon_s or item.t_s < self._events[0].t_s:
            return Result(Outcome.TOO_OLD)
        index = bisect.bisect_right([e.t_s for e in self._events], item.t_s)  # after equal stamps
        self._events.insert(index, event)
        result = self._apply(event, self._events[index - 1].after)
        for i in range(index + 1, len(self._events)):
            self._apply(self._events[i], self._events[i - 1].after)
        return result

    def _apply(self, event: _Event, start: _Snapshot) -> Result:
        """Apply one event on top of the snapshot before it; it becomes the newest state."""
        snap = self._predict(start, event.t_s)
        item, ekf = event.item, self.ekf
        result = Result(Outcome.ACCEPTED)
        if isinstance(item, ImuInput):
            snap.imu = item
        elif isinstance(item, WheelInput):
            snap.wheel = item
            result = self._update_wheel(snap, item)
        elif isinstance(item, PositionFix):
            predicted, h = ekf.gnss_model(snap.state)
            snap.state, snap.cov, nis, ok = ekf.update(
                snap.state, snap.cov, item.xy_m - predicted, h, item.covariance, self.gnss_gate
            )
            result = Result(Outcome.ACCEPTED if ok else Outcome.GATED, nis)
        elif isinstance(item, PoseFix):
            residual = item.pose - snap.state[:3]
            residual[2] = wrap_angle(residual[2])
            snap.state, snap.cov, nis, ok = ekf.update(
                snap.state, snap.cov, residual, _H_POSE, item.covariance, self.pose_gate
            )
            result = Result(Outcome.ACCEPTED if ok else Outcome.GATED, nis)
        else:
            raise TypeError(f"cannot fuse {type(item).__name__}")
        event.after = snap
        self._now = snap
        return result

    def _update_wheel(self, snap: _Snapshot, wheel: WheelInput) -> Result:
        """Wheel speed, and the steering's kinematic yaw rate as a gyro-bias observation (at
        standstill it is the zero-rate update)."""
        ekf = self.ekf
        speed_sigma = WHEEL_SPEED_SIGMA_MPS + WHEEL_SPEED_SIGMA_FRACTION * abs(wheel.speed_mps)
        snap.state, snap.cov, nis, _ = ekf.update(
            snap.state,
            snap.cov,
            np.array([wheel.speed_mps - snap.state[SPEED]]),
            _H_SPEED,
            np.array([[speed_sigma**2]]),
            None,
        )
        imu = snap.imu
        if imu is not None and wheel.t_s - imu.t_s <= STALE_INPUT_S:
            kinematic = wheel.speed_mps * math.tan(wheel.steer_rad) / ekf.geometry.wheelbase_m
            sigma = (
                (
                    ekf.noise.inflation * ekf.noise.gyro_noise_radps
                    + STEER_YAW_RATE_SIGMA_RADPS
                    + STEER_YAW_RATE_SIGMA_FRACTION * abs(kinematic)
                )
                if wheel.speed_mps != 0.0
                else ekf.noise.inflation * ekf.noise.gyro_noise_radps
            )
            bias_seen = imu.gyro_z_radps - kinematic
            snap.state, snap.cov, _, _ = ekf.update(
                snap.state,
                snap.cov,
                np.array([bias_seen - snap.state[GYRO_BIAS]]),
                _H_GYRO_BIAS,
                np.array([[sigma**2]]),
                None,
            )
        return Result(Outcome.ACCEPTED, nis)

    def _predict(self, start: _Snapshot, t_s: float) -> _Snapshot:
        state, cov, remaining = start.state, start.cov, t_s - start.t_s
        now = start.t_s
        while remaining > 1e-12:
            step = min(remaining, MAX_PREDICT_STEP_S)
            imu = (
                start.imu
                if start.imu is not None and now - start.imu.t_s <= STALE_INPUT_S
                else None
            )
            wheel = (
                start.wheel
                if start.wheel is not None and now - start.wheel.t_s <= STALE_INPUT_S
                else None
            )
            state, cov = self.ekf.predict(state, cov, step, imu, wheel)
            remaining -= step
            now += step
        return _Snapshot(t_s, state.copy(), cov.copy(), start.imu, start.wheel)

    def _prune(self) -> None:
        cutoff = self._now.t_s - self.horizon_s
        drop = 0
        while drop < len(self._events) - 1 and self._events[drop + 1].t_s < cutoff:
            drop += 1
        if drop:
            del self._events[:drop]

    # -- reading the estimate -------------------------------------------------------------------
    def estimate(self, t_s: float | None = None) -> Estimate | None:
        """The estimate at t_s (default: the latest stamp fused) without changing the filter:
        predicted forward when t_s lies ahead, predicted from the last state before it when it
        lies within the horizon behind; None when it lies further back."""
        if self._now is None:
            raise RuntimeError("the filter is not initialised")
        if t_s is None or t_s == self._now.t_s:
            snap = self._now
        elif t_s > self._now.t_s:
            snap = self._predict(self._now, t_s)
        else:
            index = bisect.bisect_right([e.t_s for e in self._events], t_s)
            if index == 0:
                return None
            snap = self._predict(self._events[index - 1].after, t_s)
        rate = 0.0
        if snap.imu is not None:
            rate = snap.imu.gyro_z_radps - snap.state[GYRO_BIAS]
        elif snap.wheel is not None:
            rate = (
                snap.wheel.speed_mps
                * math.tan(snap.wheel.steer_rad)
                / self.ekf.geometry.wheelbase_m
            )
        return Estimate(snap.t_s, snap.state.copy(), snap.cov.copy(), float(rate))


def filter_for(vehicle: VehicleParams, horizon_s: float) -> LocalizationFilter:
    """The filter for a van: IMU noise, lever arms and wheelbase from its datasheet."""
    imu, gnss = vehicle.sensors["imu"], vehicle.sensor_pose("gnss")
    noise = NoiseModel(
        float(imu["gyro_noise_radps"]), float(imu["accel_noise_mps2"]), float(imu["rate_hz"])
    )
    geometry = Geometry(vehicle.sensor_pose("imu").x_m, (gnss.x_m, gnss.y_m), vehicle.wheelbase_m)
    return LocalizationFilter(PlanarEkf(noise, geometry), horizon_s)
