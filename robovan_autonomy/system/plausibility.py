"""Does a stream's content make sense? The lying-sensor half of stream health. Pure: no rclpy.

stream_monitor.py catches a source that goes silent, stutters or is stamped wrongly. Real sensors
fail by lying far more often: a frozen frame under a fresh stamp, an all-NaN or empty cloud, a
black camera, a receiver that claims a fix it does not have, a van that jumps 10 m in 10 ms. Each
check here takes one decoded message and says why it cannot be true ('' when it can). A check
keeps only what it needs of the previous message (its payload, the last value), so a message is
judged against its predecessor, not against a model of the world.

"Frozen" means bit-identical content under a new stamp. Sensors with noise (LiDAR range noise,
IMU noise) never repeat themselves, so their check holds at rest too. A camera over a static
scene, a GNSS receiver in static hold, the localization estimate and the planner's plan may
repeat while the van stands, so theirs hold only while the van is moving.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Protocol

import numpy as np

from robovan_autonomy.control_plan import ControlPlan
from robovan_autonomy.vehicle.command_authority import CommandAuthority
from robovan_autonomy.vehicle_params import VehicleParams

# Metres per degree of latitude (WGS-84 mean): enough to measure a jump between two fixes.
METRES_PER_DEGREE = 111_320.0
# Returns within this radius of the LiDAR and this far above or below the road at base_link count
# as ground: every beam below about -5° meets a flat road inside the radius.
GROUND_RADIUS_M = 30.0
GROUND_BAND_M = 0.5
# Pixels sampled for the camera's brightness statistics: every 8th row and column (8,000 of a
# 960x540 frame), enough for a mean and spread and cheap at 15 Hz.
CAMERA_SAMPLE_STRIDE = 8


@dataclasses.dataclass(frozen=True)
class PlausibilityLimits:
    """The thresholds (the supervisor declares each as a parameter with its range)."""

    lidar_min_finite_ratio: float = 0.2
    lidar_min_return_ratio: float = 0.25
    lidar_min_ground_returns: int = 500
    camera_min_mean_level: float = 10.0
    camera_max_mean_level: float = 245.0
    camera_min_std_level: float = 2.0
    imu_max_accel_mps2: float = 80.0
    imu_max_gyro_radps: float = 4.0
    gnss_max_jump_sigma: float = 5.0
    odometry_max_jump_m: float = 2.0
    status_max_speed_change_mps2: float = 12.0
    moving_speed_mps: float = 1.0


class Check(Protocol):
    def __call__(self, value, moving: bool) -> str: ...


class Repeats:
    """Whether each payload repeats the one before it, bit for bit (NaNs included). The last
    payload itself is kept and compared, not a hash of it: comparing memory is ten times cheaper
    than hashing it, and a camera frame comes 15 times a second. Payloads are decoded afresh from
    each message and nothing writes to them, so keeping them without a copy is safe."""

    def __init__(self):
        self._last: tuple[np.ndarray, ...] = ()

    def same(self, *arrays: np.ndarray) -> bool:
        current = tuple(np.ascontiguousarray(a).reshape(-1).view(np.uint8) for a in arrays)
        same = len(current) == len(self._last) and all(
            np.array_equal(a, b) for a, b in zip(current, self._last)
        )
        self._last = current
        return same


class LidarCheck:
    """Finite returns, returns against the scan pattern, ground in view, a frozen cloud."""

    def __init__(self, limits: PlausibilityLimits, vehicle: VehicleParams):
        lidar = vehicle.sensors["lidar_top"]
        self.limits = limits
        self.pattern = int(lidar["beams"]) * int(lidar["columns"])
        self.pose = vehicle.sensor_pose("lidar_top")
        self.repeats = Repeats()

    def __call__(self, points: np.ndarray, moving: bool) -> str:
        """points: (N, 4) x, y, z, intensity in the LiDAR frame, non-finite rows included."""
        lim, rows = self.limits, len(points)
        frozen = self.repeats.same(points)
        finite = points[np.isfinite(points[:, :3]).all(axis=1), :3]
        if rows and len(finite) < lim.lidar_min_finite_ratio * rows:
            return f"{rows - len(finite)} of {rows} returns non-finite"
        if len(finite) < lim.lidar_min_return_ratio * self.pattern:
            return (
                f"{len(finite)} returns, {len(finite) / self.pattern:.0%} of the "
                f"{self.pattern}-return scan pattern"
            )
        base = self.pose.to_base_link(finite)
        ground = np.count_nonzero(
            (np.abs(base[:, 2]) < GROUND_BAND_M)
            & (np.hypot(base[:, 0], base[:, 1]) < GROUND_RADIUS_M)
        )
        if ground < lim.lidar_min_ground_returns:
            return (
                f"{ground} ground returns within {GROUND_RADIUS_M:g} m "
                f"(< {lim.lidar_min_ground_returns}): the road below is not seen"
            )
        if frozen:
            return "frozen: the same points as the cloud before"
        return ""


class CameraCheck:
    """Frame size, a black, saturated or uniform frame, a frozen frame while moving."""

    def __init__(self, limits: PlausibilityLimits, vehicle: VehicleParams):
        camera = vehicle.sensors["camera_front"]
        self.limits = limits
        self.shape = (int(camera["height_px"]), int(camera["width_px"]))
        self.repeats = Repeats()

    def __call__(self, image: np.ndarray, moving: bool) -> str:
        lim = self.limits
        if image.shape[:2] != self.shape:
            return (
                f"frame {image.shape[1]}x{image.shape[0]}, expected {self.shape[1]}x{self.shape[0]}"
            )
        frozen = self.repeats.same(image)
        sample = image[::CAMERA_SAMPLE_STRIDE, ::CAMERA_SAMPLE_STRIDE]
        mean, spread = float(sample.mean()), float(sample.std())
        if mean < lim.camera_min_mean_level:
            return f"black frame (mean level {mean:.1f})"
        if mean > lim.camera_max_mean_level:
            return f"saturated frame (mean level {mean:.1f})"
        if spread < lim.camera_min_std_level:
            return f"uniform frame (level spread {spread:.2f})"
        if frozen and moving:
            return "frozen: the same frame as before while the van moves"
        return ""


class ImuCheck:
    """Rates and accelerations a van can have; a sensor that repeats itself (never, with noise)."""

    def __init__(self, limits: PlausibilityLimits):
        self.limits = limits
        self.repeats = Repeats()

    def __call__(self, sample, moving: bool) -> str:
        lim = self.limits
        frozen = self.repeats.same(sample.angular_velocity_radps, sample.linear_acceleration_mps2)
        accel = float(np.linalg.norm(sample.linear_acceleration_mps2))
        gyro = float(np.linalg.norm(sample.angular_velocity_radps))
        if accel > lim.imu_max_accel_mps2:
            return f"acceleration {accel:.1f} m/s² > {lim.imu_max_accel_mps2:g} m/s²"
        if gyro > lim.imu_max_gyro_radps:
            return f"angular rate {gyro:.2f} rad/s > {lim.imu_max_gyro_radps:g} rad/s"
        if frozen:
            return "frozen: the same sample as before"
        return ""


class GnssCheck:
    """A fix that moves further than the van can plus its own stated error, or stands still while
    the van moves. Fixes without a position (an outage) are honest and pass."""

    def __init__(self, limits: PlausibilityLimits, vehicle: VehicleParams):
        self.limits = limits
        self.max_speed_mps = vehicle.max_speed_hw_mps
        self.repeats = Repeats()
        self._last = None

    def __call__(self, fix, moving: bool) -> str:
        if not fix.has_fix:
            self._last = None
            return ""
        last, self._last = self._last, fix
        frozen = self.repeats.same(np.array([fix.latitude_deg, fix.longitude_deg]))
        if frozen and moving:
            return "frozen: the same position as before while the van moves"
        if last is None:
            return ""
        north = (fix.latitude_deg - last.latitude_deg) * METRES_PER_DEGREE
        east = (
            (fix.longitude_deg - last.longitude_deg)
            * METRES_PER_DEGREE
            * math.cos(math.radians(fix.latitude_deg))
        )
        jump = math.hypot(north, east)
        sigma = math.sqrt(
            _horizontal_variance(fix.position_covariance)
            + _horizontal_variance(last.position_covariance)
        )
        allowed = (
            self.max_speed_mps * max(fix.stamp_s - last.stamp_s, 0.0)
            + self.limits.gnss_max_jump_sigma * sigma
        )
        if jump > allowed:
            return (
                f"position jumped {jump:.1f} m (> {allowed:.1f} m: top speed and {sigma:.2f} m σ)"
            )
        return ""


class OdometryCheck:
    """The estimate jumping further than the van can move, or standing still while it moves."""

    def __init__(self, limits: PlausibilityLimits, vehicle: VehicleParams):
        self.limits = limits
        self.max_speed_mps = vehicle.max_speed_hw_mps
        self.repeats = Repeats()
        self._last = None

    def __call__(self, pose, moving: bool) -> str:
        last, self._last = self._last, pose
        frozen = self.repeats.same(np.array([pose.x_m, pose.y_m, pose.yaw_rad]))
        if frozen and moving:
            return "frozen: the same pose as before while the van moves"
        if last is None:
            return ""
        jump = math.hypot(pose.x_m - last.x_m, pose.y_m - last.y_m)
        allowed = (
            self.max_speed_mps * max(pose.stamp_s - last.stamp_s, 0.0)
            + self.limits.odometry_max_jump_m
        )
        if jump > allowed:
            return f"pose jumped {jump:.1f} m (> {allowed:.1f} m)"
        return ""


class VehicleStatusCheck:
    """Speeds and steering angles the van cannot have, and speed changes it cannot make. A frozen
    report is the CAN counter's to catch (the bridge drops repeated frames)."""

    def __init__(self, limits: PlausibilityLimits, vehicle: VehicleParams):
        self.limits = limits
        # Margins over the datasheet: the van reports what it does, and may overshoot a little.
        self.max_speed_mps = 1.5 * vehicle.max_speed_hw_mps
        self.max_steer_rad = 1.2 * vehicle.max_steer_rad
        self._last = None

    def __call__(self, status, moving: bool) -> str:
        last, self._last = self._last, status
        if abs(status.speed_mps) > self.max_speed_mps:
            return f"speed {status.speed_mps:.1f} m/s beyond the van's {self.max_speed_mps:.1f} m/s"
        if abs(status.steer_rad) > self.max_steer_rad:
            return (
                f"steering {status.steer_rad:.2f} rad beyond the van's {self.max_steer_rad:.2f} rad"
            )
        if last is None:
            return ""
        dt = max(status.stamp_s - last.stamp_s, 0.0)
        change = abs(status.speed_mps - last.speed_mps)
        # One report period's quantisation and noise on top of the largest deceleration.
        allowed = self.limits.status_max_speed_change_mps2 * dt + 0.2
        if change > allowed:
            return f"speed changed {change:.2f} m/s in {dt * 1e3:.0f} ms (> {allowed:.2f} m/s)"
        return ""


class PlanCheck:
    """The planner repeating one plan under fresh stamps while the van moves: a solver that
    replans from a moving van's state never returns the same floats twice."""

    def __init__(self):
        self.repeats = Repeats()

    def __call__(self, plan: ControlPlan, moving: bool) -> str:
        frozen = self.repeats.same(
            plan.time_from_start_s,
            plan.steer_rad,
            plan.speed_mps,
            plan.accel_mps2,
            plan.distance_m,
        )
        if frozen and moving:
            return "frozen: the same plan as before while the van moves"
        return ""


class GateCommandCheck:
    """A command on /control/command that is not the gate's (no sequence number, or one not after
    the last): the supervisor sweeps its AEB along the gate's commands only, never a rogue's."""

    def __init__(self):
        self.authority = CommandAuthority("command_gate")

    def __call__(self, plan: ControlPlan, moving: bool) -> str:
        return self.authority.admit(plan.sequence, None, 0.0)

    def resync(self) -> None:
        """A person clears a stop: the gate may have restarted its numbering."""
        self.authority.resync()


def make_checks(limits: PlausibilityLimits, vehicle: VehicleParams) -> dict[str, Check]:
    """One check per stream name of the supervisor's watch list (streams without one: none)."""
    return {
        "lidar": LidarCheck(limits, vehicle),
        "camera": CameraCheck(limits, vehicle),
        "imu": ImuCheck(limits),
        "gnss": GnssCheck(limits, vehicle),
        "odometry": OdometryCheck(limits, vehicle),
        "vehicle_status": VehicleStatusCheck(limits, vehicle),
        "planning_command": PlanCheck(),
        "control_command": GateCommandCheck(),
    }


def _horizontal_variance(covariance: np.ndarray) -> float:
    return float(max(covariance[0, 0], covariance[1, 1], 0.0))
