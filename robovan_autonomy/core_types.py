"""The stack's plain data: frame names, the sensor, pose, status and diagnostic records, and the
point and object table layouts, in SI units. No ROS here: the algorithm cores import this, and
interfaces.py converts between these and ROS messages.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping

import numpy as np

from robovan_autonomy.system.modes import OperatingMode

# Frames (REP-103/105): `map` is the Lanelet2 map's local metric frame, `base_link` the rear axle.
MAP_FRAME = "map"
BASE_LINK_FRAME = "base_link"
CAMERA_FRAME = "camera_front"
# The camera's optical frame (REP-103 suffix _optical): z forward, x right, y down, as pixels are.
CAMERA_OPTICAL_FRAME = "camera_front_optical"
LIDAR_FRAME = "lidar_top"
GNSS_FRAME = "gnss"
IMU_FRAME = "imu"
# The frames sensor messages arrive in: the only ones a foreign driver's frame_id may stand for
# (interfaces.parse_frame_alias); the stack's own frames (map, base_link) are never aliased.
SENSOR_FRAMES = (CAMERA_FRAME, LIDAR_FRAME, GNSS_FRAME, IMU_FRAME)


@dataclasses.dataclass(frozen=True)
class FrameTransform:
    """Where `child` is in `parent`: a translation and a unit quaternion (x, y, z, w)."""

    parent: str
    child: str
    translation_m: tuple[float, float, float]
    rotation_xyzw: tuple[float, float, float, float]


@dataclasses.dataclass(frozen=True)
class VehicleStatus:
    stamp_s: float
    steer_rad: float
    steer_rate_radps: float
    speed_mps: float
    accel_mps2: float


@dataclasses.dataclass
class PoseEstimate:
    stamp_s: float
    x_m: float
    y_m: float
    yaw_rad: float
    speed_mps: float
    yaw_rate_radps: float
    pose_covariance: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((6, 6)))
    twist_covariance: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((6, 6)))
    lateral_speed_mps: float = 0.0
    z_m: float = 0.0


POINT_DTYPE = np.dtype(
    [("x", np.float32), ("y", np.float32), ("z", np.float32), ("intensity", np.float32)]
)

OBJECT_DTYPE = np.dtype(
    [
        ("x", np.float32),
        ("y", np.float32),
        ("z", np.float32),
        ("yaw", np.float32),
        ("length", np.float32),
        ("width", np.float32),
        ("height", np.float32),
        ("vx", np.float32),
        ("vy", np.float32),
        ("score", np.float32),
        ("class_id", np.uint8),
        ("track_id", np.uint32),
    ]
)


def finite_points(rows: np.ndarray) -> np.ndarray:
    return rows[np.all(np.isfinite(rows), axis=1)]


def empty_objects(count: int = 0) -> np.ndarray:
    return np.zeros(count, dtype=OBJECT_DTYPE)


@dataclasses.dataclass(frozen=True)
class GnssFix:
    stamp_s: float
    latitude_deg: float
    longitude_deg: float
    altitude_m: float
    has_fix: bool
    position_covariance: np.ndarray


@dataclasses.dataclass(frozen=True)
class ImuSample:
    stamp_s: float
    angular_velocity_radps: np.ndarray
    linear_acceleration_mps2: np.ndarray


class TrafficLightState(str, enum.Enum):
    """What a signal shows to its approach. UNKNOWN: seen but not readable (dark, occluded);
    a signal not reported at all is unknown too."""

    RED = "red"
    AMBER = "amber"
    GREEN = "green"
    UNKNOWN = "unknown"


@dataclasses.dataclass(frozen=True)
class TrafficLightStates:
    """The signals seen at stamp_s, by the id of their Lanelet2 traffic_light element."""

    stamp_s: float
    states: Mapping[int, TrafficLightState]


OK, WARN, ERROR, STALE = 0, 1, 2, 3  # DiagnosticStatus levels as ints (rclpy stores bytes)


@dataclasses.dataclass
class Diagnostic:
    name: str
    level: int
    message: str
    values: dict = dataclasses.field(default_factory=dict)
    hardware_id: str = "robovan"


@dataclasses.dataclass(frozen=True)
class SystemMode:
    """The supervisor's operating mode at stamp_s, why it is in it and the system's health level."""

    stamp_s: float
    mode: OperatingMode
    reason: str = ""
    level: int = OK


# A drawing for viewers (RViz, Foxglove): points in `map`, read as segments or triangles.
LINE_LIST = "line_list"  # points in pairs, one segment each
TRIANGLE_LIST = "triangle_list"  # points in threes, one filled triangle each


@dataclasses.dataclass(frozen=True, eq=False)
class MapLayer:
    """One kind of map feature drawn as one marker (mapping/map_markers.py)."""

    name: str  # the marker namespace a viewer lists
    kind: str  # LINE_LIST or TRIANGLE_LIST
    points: np.ndarray  # (N, 3) in `map`: pairs for LINE_LIST, threes for TRIANGLE_LIST
    rgba: tuple[float, float, float, float]
    line_width_m: float = 0.0  # LINE_LIST only
