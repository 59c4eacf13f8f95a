"""CARLA ↔ ROS conversions: frames, units and sensor buffers. Pure numpy; nothing here imports
carla, so the adapters' arithmetic is tested where the client wheel is absent.

Frames. CARLA (Unreal Engine) is left-handed: x forward, y right, z up, lengths in metres,
angles in degrees, yaw clockwise seen from above, pitch nose up, roll right side down. ROS
(REP-103) is right-handed: x forward, y left, z up, radians, yaw counter-clockwise. The change of
frame is the reflection F = diag(1, -1, 1) applied to coordinates: a location or velocity
(a polar vector) maps to F·v, a rotation matrix to F·R·F, and an angular velocity (an axial
vector, defined through v = ω × r) to det(F)·F·ω = (−ωx, ωy, −ωz). In angles that is
roll_ros = roll, pitch_ros = −pitch, yaw_ros = −yaw (checked against libcarla's own
Transform.get_matrix() in test/carla_sim/test_convert.py).

Fixed tick. CARLA runs in synchronous mode with `fixed_delta_seconds = CARLA_DELTA_S` = 0.01 s,
the stack's own lockstep tick (sim/world.py STEP_S): one CARLA tick is one stack tick, so the
CAN periods, the IMU (100 Hz) and GNSS divide it as they do in the embedded simulator, and
CARLA's vehicle physics substeps stay under its 0.01 s limit without substepping settings.
The LiDAR (rotation_frequency 10 Hz, sensor_tick 0 = every tick) then delivers a partial sweep
of a tenth of a turn per tick; PartialSweeps stitches ten consecutive ones into the stack's
10 Hz scan. The camera gets sensor_tick = 1/15 s: CARLA fires it on the first tick at or after
each period, so frames arrive every 6 or 7 ticks (about 6.67 on average), as the embedded
simulator's camera does.
"""

from __future__ import annotations

import math

import numpy as np

from robovan_autonomy.camera_model import CameraIntrinsics

CARLA_DELTA_S = 0.01  # synchronous-mode fixed_delta_seconds: the stack's lockstep tick
LIDAR_POINT_FIELDS = 4  # CARLA's raw LiDAR point: float32 x, y, z, intensity
_FLIP_Y = np.array([1.0, -1.0, 1.0])  # the reflection between the two frames, for polar vectors
_FLIP_AXIAL = np.array([-1.0, 1.0, -1.0])  # det(F)·F, for axial vectors (angular velocities)


def _vectors(xyz, what: str) -> np.ndarray:
    array = np.asarray(xyz, dtype=float)
    if array.shape[-1:] != (3,) or array.ndim > 2:
        raise ValueError(f"{what}: expected shape (3,) or (N, 3), got {array.shape}")
    return array


def location_to_ros(xyz) -> np.ndarray:
    """CARLA location (m, left-handed) → ROS (m, right-handed): y negated. (3,) or (N, 3)."""
    return _vectors(xyz, "location") * _FLIP_Y


def location_from_ros(xyz) -> np.ndarray:
    """ROS location → CARLA: the reflection is its own inverse."""
    return _vectors(xyz, "location") * _FLIP_Y


def velocity_to_ros(v_xyz_mps) -> np.ndarray:
    """CARLA linear velocity or acceleration (m/s, m/s², left-handed) → ROS: y negated."""
    return _vectors(v_xyz_mps, "velocity") * _FLIP_Y


def angular_velocity_to_ros(w_xyz_radps) -> np.ndarray:
    """CARLA angular velocity in rad/s, left-handed (the IMU's gyroscope) → ROS rad/s:
    (−ωx, ωy, −ωz). A right turn in CARLA (yaw growing, ωz > 0) is a negative ROS yaw rate."""
    return _vectors(w_xyz_radps, "angular velocity") * _FLIP_AXIAL


def actor_angular_velocity_to_ros(w_xyz_degps) -> np.ndarray:
    """CARLA Actor.get_angular_velocity() (deg/s, left-handed) → ROS rad/s."""
    return angular_velocity_to_ros(np.radians(_vectors(w_xyz_degps, "angular velocity")))


def rotation_to_ros(
    roll_deg: float, pitch_deg: float, yaw_deg: float
) -> tuple[float, float, float]:
    """CARLA Rotation (degrees) → ROS roll, pitch, yaw (rad, fixed-axis XYZ = intrinsic ZYX)."""
    return math.radians(roll_deg), -math.radians(pitch_deg), -math.radians(yaw_deg)


def rotation_from_ros(
    roll_rad: float, pitch_rad: float, yaw_rad: float
) -> tuple[float, float, float]:
    """ROS roll, pitch, yaw (rad) → CARLA roll, pitch, yaw (degrees)."""
    return math.degrees(roll_rad), -math.degrees(pitch_rad), -math.degrees(yaw_rad)


def imu_to_ros(accel_xyz_mps2, gyro_xyz_radps) -> tuple[np.ndarray, np.ndarray]:
    """CARLA IMUMeasurement (accelerometer m/s², gyroscope rad/s, both in the sensor's
    left-handed frame) → ROS sensor frame (linear acceleration, angular velocity)."""
    return velocity_to_ros(accel_xyz_mps2), angular_velocity_to_ros(gyro_xyz_radps)


def bgra_to_bgr(raw: bytes | memoryview | np.ndarray, width: int, height: int) -> np.ndarray:
    """CARLA Image.raw_data (BGRA, 8 bit, row-major) → (H, W, 3) uint8 BGR, a copy (the raw buffer
    belongs to CARLA and is reused)."""
    buffer = raw if isinstance(raw, np.ndarray) else np.frombuffer(raw, dtype=np.uint8)
    expected = width * height * 4
    if buffer.size != expected:
        raise ValueError(
            f"camera image: {buffer.size} bytes for {width}x{height} BGRA, expected {expected}"
        )
    return np.ascontiguousarray(
        np.asarray(buffer, dtype=np.uint8).reshape(height, width, 4)[..., :3]
    )


def lidar_to_points(raw: bytes | memoryview | np.ndarray) -> np.ndarray:
    """CARLA LidarMeasurement.raw_data (float32 x, y, z, intensity per point, left-handed sensor
    frame) → (N, 4) float32 x, y, z, intensity in the ROS sensor frame (y negated)."""
    values = raw if isinstance(raw, np.ndarray) else np.frombuffer(raw, dtype=np.float32)
    values = np.asarray(values, dtype=np.float32).reshape(-1)
    if values.size % LIDAR_POINT_FIELDS:
        raise ValueError(
            f"LiDAR buffer: {values.size} float32 values is not a whole number of "
            f"{LIDAR_POINT_FIELDS}-field points"
        )
    points = values.reshape(-1, LIDAR_POINT_FIELDS).copy()
    points[:, 1] *= -1.0
    return points


def camera_intrinsics(width_px: int, height_px: int, fov_deg: float) -> CameraIntrinsics:
    """A CARLA RGB camera's pinhole model: square pixels, fx = fy = W / (2 tan(fov / 2)), the
    principal point at the image centre. Unreal's frustum is symmetric about the centre of the
    pixel grid, so in the stack's integer-pixel-centre convention that centre is ((W − 1)/2,
    (H − 1)/2); CARLA's examples write W/2, half a pixel off."""
    return CameraIntrinsics.from_fov(width_px, height_px, math.radians(fov_deg))


class PartialSweeps:
    """Stitches CARLA's partial LiDAR sweeps into full turns. With the sensor ticking every
    simulation step, each tick's measurement covers rotation_frequency · delta of a turn, so
    `ticks_per_scan` = 1 / (rotation_frequency · delta) consecutive frames make one scan (10 at
    10 Hz and CARLA_DELTA_S). A missed frame leaves a wedge out of the turn in progress: that turn
    is dropped and a new one starts at the frame that came."""

    def __init__(self, rotation_frequency_hz: float = 10.0, delta_s: float = CARLA_DELTA_S):
        ticks = 1.0 / (rotation_frequency_hz * delta_s)
        if not ticks >= 1.0 or abs(ticks - round(ticks)) > 1e-6:
            raise ValueError(
                f"a LiDAR turn of 1/{rotation_frequency_hz} s is not a whole number of "
                f"{delta_s} s ticks"
            )
        self.ticks_per_scan = round(ticks)
        self._parts: list[np.ndarray] = []
        self._last_frame: int | None = None
        self._scan: np.ndarray | None = None

    def add(self, frame: int, points: np.ndarray) -> None:
        """One tick's partial sweep, (N, 4), of simulation frame `frame`."""
        if self._last_frame is not None and frame != self._last_frame + 1:
            self._parts = []
        self._last_frame = frame
        self._parts.append(points)
        if len(self._parts) == self.ticks_per_scan:
            self._scan = np.concatenate(self._parts)
            self._parts = []

    def full(self) -> np.ndarray | None:
        """The scan the last ten frames completed, once; None until a turn is complete."""
        scan, self._scan = self._scan, None
        return scan
