"""The topic contract: names, QoS, and the one place ROS messages are encoded and decoded.

Nodes never touch message fields by hand; they convert through the functions here into the plain
dataclasses and numpy arrays of core_types.py, in SI units. Every decoder validates what it reads
and raises InterfaceError with the reason, so a node can report garbage on /diagnostics and carry
on.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Collection, Iterable

import numpy as np
from builtin_interfaces.msg import Duration, Time
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import (
    Point,
    PoseStamped,
    Quaternion,
    Transform,
    TransformStamped,
    Vector3,
)
from nav_msgs.msg import Odometry, Path
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import (
    CameraInfo,
    CompressedImage,
    Image,
    Imu,
    JointState,
    NavSatFix,
    NavSatStatus,
    PointCloud2,
    PointField,
)
from std_msgs.msg import ColorRGBA, Header
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint
from visualization_msgs.msg import Marker, MarkerArray

from robovan_autonomy.camera_model import CameraIntrinsics
from robovan_autonomy.control_plan import ControlPlan
from robovan_autonomy.core_types import (
    BASE_LINK_FRAME,
    CAMERA_FRAME,
    ERROR,
    GNSS_FRAME,
    IMU_FRAME,
    LIDAR_FRAME,
    LINE_LIST,
    MAP_FRAME,
    OBJECT_DTYPE,
    OK,
    POINT_DTYPE,
    SENSOR_FRAMES,
    STALE,
    TRIANGLE_LIST,
    WARN,
    Diagnostic,
    FrameTransform,
    GnssFix,
    ImuSample,
    MapLayer,
    PoseEstimate,
    SystemMode,
    TrafficLightState,
    TrafficLightStates,
    VehicleStatus,
    finite_points,
)
from robovan_autonomy.system.modes import OperatingMode

# ---------------------------------------------------------------------------------------------
# Topics and services (docs/ARCHITECTURE.md#topic-contract, checked against the nodes)
# ---------------------------------------------------------------------------------------------
CAMERA_IMAGE = "/sensing/camera/front/image_raw"
CAMERA_INFO = "/sensing/camera/front/camera_info"
CAMERA_COMPRESSED = "/sensing/camera/front/image_raw/compressed"  # image_transport naming
LIDAR_POINTS = "/sensing/lidar/top/points"
GNSS_FIX = "/sensing/gnss/fix"
IMU_DATA = "/sensing/imu/data"
VEHICLE_STATUS = "/vehicle/status"
VEHICLE_ENGAGE = "/vehicle/engage"
ODOMETRY = "/localization/odometry"
# Single-source estimates beside the fused one, for run reports only: nothing consumes them.
LOCALIZATION_DEBUG_GNSS_ONLY = "/localization/debug/gnss_only"
LOCALIZATION_DEBUG_ODOMETRY_ONLY = "/localization/debug/odometry_only"
OBJECTS = "/perception/objects"
OBJECT_MARKERS = "/perception/objects/markers"
MAP_MARKERS = "/map/markers"  # the map drawn for viewers, latched
TRAFFIC_LIGHTS = "/perception/traffic_lights"
TRAJECTORY = "/planning/trajectory"
PLANNING_COMMAND = "/planning/command"  # planner → command gate
CONTROL_COMMAND = "/control/command"  # command gate → CAN bridge
SYSTEM_MODE = "/system/mode"  # supervisor → command gate, CAN bridge
SYSTEM_CLEAR_MRM = "/system/clear_mrm"  # std_srvs/Trigger: a person clears a latched MRM
DIAGNOSTICS = "/diagnostics"
CLOCK = "/clock"
GROUND_TRUTH_ODOMETRY = "/sim/ground_truth/odometry"
GROUND_TRUTH_OBJECTS = "/sim/ground_truth/objects"
GROUND_TRUTH_TRAFFIC_LIGHTS = "/sim/ground_truth/traffic_lights"
# REP-105's tree, so a viewer places the clouds, images and objects: recorded into bags through
# rosbags' typestore, and published live only where tf2_msgs is importable (a ROS install; the
# rclpy wheels have none).
TF = "/tf"
TF_STATIC = "/tf_static"
TF_MSGTYPE = "tf2_msgs/msg/TFMessage"


STEERING_JOINT = "steering"
DRIVE_JOINT = "drive"

# Sensor streams tolerate loss and must never back up behind a slow reader: readers take them best
# effort, which matches any writer.
SENSOR_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=5,
    reliability=ReliabilityPolicy.BEST_EFFORT,
    durability=DurabilityPolicy.VOLATILE,
)
# What a sensor driver offers (REP-2003): reliable, so a reliable reader (a recorder) can have
# every message, while SENSOR_QOS readers still match and take what they keep up with.
SENSOR_DRIVER_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=5,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.VOLATILE,
)
# Commands and state: every message matters, but only the newest few.
RELIABLE_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=10,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.VOLATILE,
)
# Latched: a late subscriber still gets the last message (/tf_static as tf2's static broadcaster
# offers it, the map).
LATCHED_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=1,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.TRANSIENT_LOCAL,
)
CLOCK_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=1,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.VOLATILE,
)

MAX_POINTS = 2_000_000
MAX_IMAGE_BYTES = 4096 * 4096 * 3
MAX_PLAN_POINTS = 1000
MAX_DIAGNOSTIC_STATUSES = 1000  # far more than every node of the stack reports at once


class InterfaceError(ValueError):
    """A message that breaks the contract; the text says which field and why."""


# ---------------------------------------------------------------------------------------------
# Time
# ---------------------------------------------------------------------------------------------
def to_stamp(t_s: float) -> Time:
    nanoseconds = int(round(t_s * 1e9))
    return Time(sec=nanoseconds // 1_000_000_000, nanosec=nanoseconds % 1_000_000_000)


def from_stamp(stamp: Time) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


def to_duration(t_s: float) -> Duration:
    nanoseconds = int(round(t_s * 1e9))
    return Duration(sec=nanoseconds // 1_000_000_000, nanosec=nanoseconds % 1_000_000_000)


def from_duration(duration: Duration) -> float:
    return duration.sec + duration.nanosec * 1e-9


def header(t_s: float, frame_id: str) -> Header:
    return Header(stamp=to_stamp(t_s), frame_id=frame_id)


def encode_clock(t_s: float) -> Clock:
    return Clock(clock=to_stamp(t_s))


def _expect_frame(msg_header: Header, frame_ids: str | Collection[str], what: str) -> None:
    """frame_ids: the one frame id accepted, or several (a sensor frame and its aliases)."""
    accepted = (frame_ids,) if isinstance(frame_ids, str) else tuple(frame_ids)
    if msg_header.frame_id not in accepted:
        expected = f"'{accepted[0]}'" if len(accepted) == 1 else f"one of {list(accepted)}"
        raise InterfaceError(f"{what}: frame_id '{msg_header.frame_id}', expected {expected}")


def parse_frame_alias(entry: str) -> tuple[str, str]:
    """'OURS=THEIRS' → (OURS, THEIRS): a foreign driver's frame_id THEIRS is read as our sensor
    frame OURS. ValueError names the entry: only sensor frames take aliases, and none may be
    another of our frames (a camera frame_id must never pass for the LiDAR's)."""
    ours, sep, theirs = entry.partition("=")
    if not sep or not ours or not theirs:
        raise ValueError(f"'{entry}' is not OURS=THEIRS")
    if ours not in SENSOR_FRAMES:
        raise ValueError(f"'{entry}': '{ours}' is not one of our sensor frames {SENSOR_FRAMES}")
    if theirs in (*SENSOR_FRAMES, MAP_FRAME, BASE_LINK_FRAME):
        raise ValueError(f"'{entry}': '{theirs}' is one of our own frames")
    return ours, theirs


def sensor_frame_ids(aliases: Iterable[str] = ()) -> dict[str, tuple[str, ...]]:
    """The frame ids each sensor frame's decoders accept: ours, then the aliases given for it."""
    accepted = {frame: (frame,) for frame in SENSOR_FRAMES}
    for entry in aliases:
        ours, theirs = parse_frame_alias(entry)
        accepted[ours] += (theirs,)
    return accepted


def _finite(values, what: str) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(array)):
        raise InterfaceError(f"{what}: non-finite value")
    return array


def yaw_to_quaternion(yaw_rad: float) -> Quaternion:
    return Quaternion(x=0.0, y=0.0, z=math.sin(yaw_rad / 2.0), w=math.cos(yaw_rad / 2.0))


def quaternion_to_yaw(q: Quaternion) -> float:
    return math.atan2(2.0 * (q.w * q.z + q.x * q.y), 1.0 - 2.0 * (q.y * q.y + q.z * q.z))


# ---------------------------------------------------------------------------------------------
# /planning/command and /control/command: trajectory_msgs/JointTrajectory (control_plan.py)
# ---------------------------------------------------------------------------------------------
# JointTrajectory has no field for a sequence number; the gate's travels as point 0's effort of
# the steering joint ([sequence, 0.0], exact as a float64 up to 2^53). Other points carry none.
MAX_SEQUENCE = 2**53


def encode_control_command(plan: ControlPlan) -> JointTrajectory:
    msg = JointTrajectory()
    msg.header = header(plan.stamp_s, BASE_LINK_FRAME)
    msg.joint_names = [STEERING_JOINT, DRIVE_JOINT]
    points = []
    for i in range(len(plan.time_from_start_s)):
        point = JointTrajectoryPoint()
        point.positions = [float(plan.steer_rad[i]), float(plan.distance_m[i])]
        point.velocities = [float(plan.steer_rate_radps[i]), float(plan.speed_mps[i])]
        point.accelerations = [0.0, float(plan.accel_mps2[i])]
        point.time_from_start = to_duration(float(plan.time_from_start_s[i]))
        if i == 0 and plan.sequence is not None:
            point.effort = [float(plan.sequence), 0.0]
        points.append(point)
    msg.points = points
    return msg


def decode_control_command(msg: JointTrajectory) -> ControlPlan:
    if list(msg.joint_names) != [STEERING_JOINT, DRIVE_JOINT]:
        raise InterfaceError(
            f"control command: joint_names {list(msg.joint_names)}, "
            f"expected {[STEERING_JOINT, DRIVE_JOINT]}"
        )
    _expect_frame(msg.header, BASE_LINK_FRAME, "control command")
    count = len(msg.points)
    if count == 0:
        raise InterfaceError("control command: no points")
    if count > MAX_PLAN_POINTS:
        raise InterfaceError(f"control command: {count} points, at most {MAX_PLAN_POINTS}")
    table = np.empty((count, 6))
    for i, point in enumerate(msg.points):
        if len(point.positions) != 2 or len(point.velocities) != 2 or len(point.accelerations) != 2:
            raise InterfaceError(
                f"control command: point {i} needs 2 positions, velocities and accelerations"
            )
        table[i] = (
            from_duration(point.time_from_start),
            point.positions[0],
            point.positions[1],
            point.velocities[0],
            point.velocities[1],
            point.accelerations[1],
        )
    _finite(table, "control command")
    times = table[:, 0]
    if times[0] < 0.0 or np.any(np.diff(times) <= 0.0):
        raise InterfaceError("control command: time_from_start must start ≥ 0 and increase")
    return ControlPlan(
        stamp_s=from_stamp(msg.header.stamp),
        time_from_start_s=times,
        steer_rad=table[:, 1],
        distance_m=table[:, 2],
        steer_rate_radps=table[:, 3],
        speed_mps=table[:, 4],
        accel_mps2=table[:, 5],
        sequence=_decode_sequence(msg.points[0].effort),
    )


def _decode_sequence(effort) -> int | None:
    if len(effort) == 0:
        return None
    value = effort[0]
    if len(effort) != 2 or not (
        math.isfinite(value) and value == int(value) and 0 <= value < MAX_SEQUENCE
    ):
        raise InterfaceError(
            f"control command: point 0's effort {list(effort)} is not [sequence, 0]"
        )
    return int(value)


# ---------------------------------------------------------------------------------------------
# /vehicle/status: sensor_msgs/JointState
# ---------------------------------------------------------------------------------------------


def encode_vehicle_status(status: VehicleStatus) -> JointState:
    msg = JointState()
    msg.header = header(status.stamp_s, BASE_LINK_FRAME)
    msg.name = [STEERING_JOINT, DRIVE_JOINT]
    msg.position = [float(status.steer_rad), 0.0]
    msg.velocity = [float(status.steer_rate_radps), float(status.speed_mps)]
    msg.effort = [0.0, float(status.accel_mps2)]
    return msg


def decode_vehicle_status(msg: JointState) -> VehicleStatus:
    _expect_frame(msg.header, BASE_LINK_FRAME, "vehicle status")
    if list(msg.name) != [STEERING_JOINT, DRIVE_JOINT]:
        raise InterfaceError(f"vehicle status: names {list(msg.name)}")
    if len(msg.position) != 2 or len(msg.velocity) != 2 or len(msg.effort) != 2:
        raise InterfaceError("vehicle status: needs 2 positions, velocities and efforts")
    values = _finite(
        [msg.position[0], msg.velocity[0], msg.velocity[1], msg.effort[1]], "vehicle status"
    )
    return VehicleStatus(from_stamp(msg.header.stamp), *map(float, values))


# ---------------------------------------------------------------------------------------------
# /localization/odometry: nav_msgs/Odometry, map → base_link, planar
# ---------------------------------------------------------------------------------------------


def encode_odometry(estimate: PoseEstimate) -> Odometry:
    msg = Odometry()
    msg.header = header(estimate.stamp_s, MAP_FRAME)
    msg.child_frame_id = BASE_LINK_FRAME
    msg.pose.pose.position = Point(
        x=float(estimate.x_m), y=float(estimate.y_m), z=float(estimate.z_m)
    )
    msg.pose.pose.orientation = yaw_to_quaternion(float(estimate.yaw_rad))
    msg.pose.covariance = np.asarray(estimate.pose_covariance, dtype=float).ravel()
    msg.twist.twist.linear = Vector3(
        x=float(estimate.speed_mps), y=float(estimate.lateral_speed_mps), z=0.0
    )
    msg.twist.twist.angular = Vector3(x=0.0, y=0.0, z=float(estimate.yaw_rate_radps))
    msg.twist.covariance = np.asarray(estimate.twist_covariance, dtype=float).ravel()
    return msg


def decode_odometry(msg: Odometry) -> PoseEstimate:
    _expect_frame(msg.header, MAP_FRAME, "odometry")
    if msg.child_frame_id != BASE_LINK_FRAME:
        raise InterfaceError(
            f"odometry: child_frame_id '{msg.child_frame_id}', expected '{BASE_LINK_FRAME}'"
        )
    p, q = msg.pose.pose.position, msg.pose.pose.orientation
    t, w = msg.twist.twist.linear, msg.twist.twist.angular
    _finite([p.x, p.y, p.z, q.x, q.y, q.z, q.w, t.x, t.y, w.z], "odometry")
    if abs(q.x * q.x + q.y * q.y + q.z * q.z + q.w * q.w - 1.0) > 1e-3:
        raise InterfaceError("odometry: orientation is not a unit quaternion")
    return PoseEstimate(
        stamp_s=from_stamp(msg.header.stamp),
        x_m=p.x,
        y_m=p.y,
        z_m=p.z,
        yaw_rad=quaternion_to_yaw(q),
        speed_mps=t.x,
        lateral_speed_mps=t.y,
        yaw_rate_radps=w.z,
        pose_covariance=np.array(msg.pose.covariance, dtype=float).reshape(6, 6),
        twist_covariance=np.array(msg.twist.covariance, dtype=float).reshape(6, 6),
    )


# ---------------------------------------------------------------------------------------------
# PointCloud2: LiDAR points and the object table
# ---------------------------------------------------------------------------------------------
_NUMPY_TO_POINTFIELD = {
    np.dtype(np.float32): PointField.FLOAT32,
    np.dtype(np.uint8): PointField.UINT8,
    np.dtype(np.uint32): PointField.UINT32,
}


def _encode_table(stamp_s: float, frame_id: str, table: np.ndarray) -> PointCloud2:
    msg = PointCloud2()
    msg.header = header(stamp_s, frame_id)
    msg.height = 1
    msg.width = len(table)
    msg.fields = [
        PointField(
            name=name,
            offset=table.dtype.fields[name][1],
            datatype=_NUMPY_TO_POINTFIELD[table.dtype.fields[name][0]],
            count=1,
        )
        for name in table.dtype.names
    ]
    msg.is_bigendian = False
    msg.point_step = table.dtype.itemsize
    msg.row_step = msg.point_step * msg.width
    msg.is_dense = True
    msg.data = np.ascontiguousarray(table).tobytes()
    return msg


def _decode_table(msg: PointCloud2, dtype: np.dtype, what: str, max_rows: int) -> np.ndarray:
    expected = [
        (name, dtype.fields[name][1], _NUMPY_TO_POINTFIELD[dtype.fields[name][0]])
        for name in dtype.names
    ]
    got = [(f.name, f.offset, f.datatype) for f in msg.fields]
    if got != expected:
        raise InterfaceError(f"{what}: fields {got}, expected {expected}")
    if msg.is_bigendian:
        raise InterfaceError(f"{what}: big-endian data is not supported")
    if msg.point_step != dtype.itemsize:
        raise InterfaceError(f"{what}: point_step {msg.point_step}, expected {dtype.itemsize}")
    rows = msg.width * msg.height
    if rows > max_rows:
        raise InterfaceError(f"{what}: {rows} rows, at most {max_rows}")
    data = bytes(msg.data)
    if len(data) != rows * dtype.itemsize:
        raise InterfaceError(f"{what}: {len(data)} data bytes for {rows} rows of {dtype.itemsize}")
    return np.frombuffer(data, dtype=dtype)


def encode_points(
    stamp_s: float, points_xyzi: np.ndarray, frame_id: str = LIDAR_FRAME
) -> PointCloud2:
    """(N, 4) float32 x, y, z, intensity → PointCloud2."""
    table = np.ascontiguousarray(points_xyzi, dtype=np.float32).view(POINT_DTYPE).reshape(-1)
    return _encode_table(stamp_s, frame_id, table)


# What a sensor cloud's fields may be, by name: another driver's layout (Autoware's x, y, z
# float32, intensity uint8, return_type, channel and padding) reads as well as ours.
_POINT_FIELD_TYPES = {
    "x": (PointField.FLOAT32, PointField.FLOAT64),
    "y": (PointField.FLOAT32, PointField.FLOAT64),
    "z": (PointField.FLOAT32, PointField.FLOAT64),
    "intensity": (PointField.UINT8, PointField.UINT16, PointField.FLOAT32),
}
_POINTFIELD_CODES = {
    PointField.UINT8: "u1",
    PointField.UINT16: "u2",
    PointField.FLOAT32: "f4",
    PointField.FLOAT64: "f8",
}
_POINTFIELD_NAMES = {
    getattr(PointField, name): name.lower()
    for name in ("INT8", "UINT8", "INT16", "UINT16", "INT32", "UINT32", "FLOAT32", "FLOAT64")
}


def _point_layout(msg: PointCloud2, what: str) -> np.dtype:
    """The numpy layout of one point of a sensor cloud: the fields read, at their offsets, in the
    cloud's byte order, every other field and any padding skipped by point_step."""
    fields = {f.name: f for f in msg.fields}
    missing = [name for name in "xyz" if name not in fields]
    if missing:
        present = [f.name for f in msg.fields]
        raise InterfaceError(f"{what}: no field {missing}; the cloud has {present}")
    order = ">" if msg.is_bigendian else "<"
    names, formats, offsets = [], [], []
    for name, accepted in _POINT_FIELD_TYPES.items():
        field = fields.get(name)
        if field is None:
            continue
        if field.datatype not in accepted or field.count != 1:
            type_name = _POINTFIELD_NAMES.get(field.datatype, f"datatype {field.datatype}")
            raise InterfaceError(
                f"{what}: field '{name}' is {field.count} × {type_name}, expected one of "
                f"{[_POINTFIELD_NAMES[t] for t in accepted]}"
            )
        code = np.dtype(order + _POINTFIELD_CODES[field.datatype])
        if field.offset + code.itemsize > msg.point_step:
            raise InterfaceError(
                f"{what}: field '{name}' at offset {field.offset} ends beyond point_step "
                f"{msg.point_step}"
            )
        names.append(name)
        formats.append(code)
        offsets.append(field.offset)
    return np.dtype(
        {"names": names, "formats": formats, "offsets": offsets, "itemsize": msg.point_step}
    )


def decode_point_rows(
    msg: PointCloud2, frame_ids: str | Collection[str] = LIDAR_FRAME
) -> np.ndarray:
    """PointCloud2 → (N, 4) float32 x, y, z, intensity, every row as sent (non-finite ones too,
    whatever is_dense claims: the supervisor judges how many a healthy LiDAR sends).

    Fields are found by name: x, y, z float32 or float64; intensity uint8, uint16 or float32,
    kept as its value (our LiDAR's 0–255 scale is an 8-bit driver's; nothing in the stack reads
    intensity, so no driver's scale is converted), 0 when the cloud has none. Other fields and
    padding are skipped; height × width rows, row_step apart, in either byte order.
    """
    what = "point cloud"
    _expect_frame(msg.header, frame_ids, what)
    layout = _point_layout(msg, what)
    rows = msg.width * msg.height
    if rows > MAX_POINTS:
        raise InterfaceError(f"{what}: {rows} rows, at most {MAX_POINTS}")
    if msg.row_step < msg.width * msg.point_step:
        raise InterfaceError(
            f"{what}: row_step {msg.row_step} is shorter than width {msg.width} × point_step "
            f"{msg.point_step}"
        )
    data = bytes(msg.data)
    if len(data) != msg.row_step * msg.height:
        raise InterfaceError(
            f"{what}: {len(data)} data bytes for {msg.height} rows of row_step {msg.row_step}"
        )
    points = np.zeros((rows, 4), dtype=np.float32)
    if rows == 0:
        return points
    table = np.ndarray(
        (msg.height, msg.width), layout, data, strides=(msg.row_step, msg.point_step)
    )
    for column, name in enumerate(layout.names):
        points[:, column] = table[name].ravel()
    return points


def decode_points(msg: PointCloud2, frame_ids: str | Collection[str] = LIDAR_FRAME) -> np.ndarray:
    """PointCloud2 → (N, 4) float32; rows with non-finite coordinates are dropped."""
    return finite_points(decode_point_rows(msg, frame_ids))


def encode_objects(stamp_s: float, objects: np.ndarray, frame_id: str = MAP_FRAME) -> PointCloud2:
    return _encode_table(stamp_s, frame_id, np.asarray(objects, dtype=OBJECT_DTYPE))


def decode_objects(msg: PointCloud2, frame_id: str = MAP_FRAME) -> np.ndarray:
    _expect_frame(msg.header, frame_id, "object table")
    table = _decode_table(msg, OBJECT_DTYPE, "object table", 10_000)
    floats = (
        np.stack([table[name] for name in OBJECT_DTYPE.names[:10]], axis=1) if len(table) else None
    )
    if floats is not None and not np.all(np.isfinite(floats)):
        raise InterfaceError("object table: non-finite value")
    return table.copy()


def encode_object_markers(
    stamp_s: float, objects: np.ndarray, frame_id: str = MAP_FRAME
) -> MarkerArray:
    """Boxes for RViz / Foxglove; nothing in the stack reads these."""
    markers = [Marker(header=header(stamp_s, frame_id), ns="objects", action=Marker.DELETEALL)]
    for row in objects:
        marker = Marker(
            header=header(stamp_s, frame_id),
            ns="objects",
            id=int(row["track_id"]),
            type=Marker.CUBE,
            action=Marker.ADD,
        )
        marker.pose.position = Point(
            x=float(row["x"]), y=float(row["y"]), z=float(row["z"] + row["height"] / 2.0)
        )
        marker.pose.orientation = yaw_to_quaternion(float(row["yaw"]))
        marker.scale = Vector3(
            x=max(float(row["length"]), 0.01),
            y=max(float(row["width"]), 0.01),
            z=max(float(row["height"]), 0.01),
        )
        marker.color = ColorRGBA(r=1.0, g=0.5, b=0.0, a=0.6)
        marker.lifetime = to_duration(0.5)
        markers.append(marker)
    return MarkerArray(markers=markers)


_MARKER_TYPES = {LINE_LIST: Marker.LINE_LIST, TRIANGLE_LIST: Marker.TRIANGLE_LIST}


def encode_map_markers(
    stamp_s: float, layers: list[MapLayer], frame_id: str = MAP_FRAME
) -> MarkerArray:
    """The map for RViz / Foxglove, one marker per layer (its name the namespace), kept until
    replaced; nothing in the stack reads it."""
    markers = []
    for layer in layers:
        marker = Marker(
            header=header(stamp_s, frame_id),
            ns=layer.name,
            id=0,
            type=_MARKER_TYPES[layer.kind],
            action=Marker.ADD,
        )
        marker.pose.orientation.w = 1.0
        # A line list's scale.x is its width; a triangle list's scale scales its points.
        width = layer.line_width_m if layer.kind == LINE_LIST else 1.0
        marker.scale = Vector3(x=width, y=1.0, z=1.0)
        marker.color = ColorRGBA(r=layer.rgba[0], g=layer.rgba[1], b=layer.rgba[2], a=layer.rgba[3])
        marker.points = [Point(x=x, y=y, z=z) for x, y, z in layer.points.tolist()]
        markers.append(marker)
    return MarkerArray(markers=markers)


# ---------------------------------------------------------------------------------------------
# Camera
# ---------------------------------------------------------------------------------------------
def encode_image(stamp_s: float, image_bgr: np.ndarray, frame_id: str = CAMERA_FRAME) -> Image:
    if image_bgr.ndim != 3 or image_bgr.shape[2] != 3 or image_bgr.dtype != np.uint8:
        raise InterfaceError("image: expected an (H, W, 3) uint8 BGR array")
    msg = Image()
    msg.header = header(stamp_s, frame_id)
    msg.height, msg.width = int(image_bgr.shape[0]), int(image_bgr.shape[1])
    msg.encoding = "bgr8"
    msg.is_bigendian = 0
    msg.step = msg.width * 3
    msg.data = np.ascontiguousarray(image_bgr).tobytes()
    return msg


# Raw encodings read: channels per pixel and where blue, green and red are among them.
_IMAGE_ENCODINGS = {
    "bgr8": (3, [0, 1, 2]),
    "rgb8": (3, [2, 1, 0]),
    "bgra8": (4, [0, 1, 2]),
    "rgba8": (4, [2, 1, 0]),
    "mono8": (1, [0, 0, 0]),
}


def decode_image(msg: Image, frame_ids: str | Collection[str] = CAMERA_FRAME) -> np.ndarray:
    """Image → (H, W, 3) uint8 BGR, the stack's one image layout, from any encoding of
    _IMAGE_ENCODINGS (a driver's rgb8, CARLA's bgra8, a mono camera); rows may be padded
    (step longer than the pixels)."""
    _expect_frame(msg.header, frame_ids, "image")
    if msg.encoding not in _IMAGE_ENCODINGS:
        raise InterfaceError(
            f"image: encoding '{msg.encoding}', expected one of {list(_IMAGE_ENCODINGS)}"
        )
    channels, bgr = _IMAGE_ENCODINGS[msg.encoding]
    if msg.width == 0 or msg.height == 0:
        raise InterfaceError("image: empty")
    if msg.step < msg.width * channels:
        raise InterfaceError(
            f"image: step {msg.step}, at least {msg.width * channels} for {msg.encoding}"
        )
    expected = msg.step * msg.height
    if expected > MAX_IMAGE_BYTES:
        raise InterfaceError(f"image: {expected} bytes, at most {MAX_IMAGE_BYTES}")
    data = bytes(msg.data)
    if len(data) != expected:
        raise InterfaceError(f"image: {len(data)} data bytes, expected {expected}")
    pixels = np.ndarray(
        (msg.height, msg.width, channels), np.uint8, data, strides=(msg.step, channels, 1)
    )
    return pixels[:, :, bgr]


def encode_compressed_image(
    stamp_s: float, image_bgr: np.ndarray, frame_id: str = CAMERA_FRAME, jpeg_quality: int = 85
) -> CompressedImage:
    """JPEG for recording: a raw 960×540 stream is 23 MB/s, too much to keep every run."""
    import cv2

    ok, encoded = cv2.imencode(".jpg", image_bgr, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
    if not ok:
        raise InterfaceError("image: JPEG encoding failed")
    return CompressedImage(header=header(stamp_s, frame_id), format="jpeg", data=encoded.tobytes())


def decode_compressed_image(
    msg: CompressedImage, frame_ids: str | Collection[str] = CAMERA_FRAME
) -> np.ndarray:
    """JPEG or PNG (image_transport's 'compressed', any source encoding) → (H, W, 3) uint8 BGR."""
    import cv2

    _expect_frame(msg.header, frame_ids, "compressed image")
    image = cv2.imdecode(np.frombuffer(bytes(msg.data), np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise InterfaceError(f"compressed image: cannot decode format '{msg.format}'")
    return image


def encode_camera_info(
    stamp_s: float, intrinsics: CameraIntrinsics, frame_id: str = CAMERA_FRAME
) -> CameraInfo:
    msg = CameraInfo()
    msg.header = header(stamp_s, frame_id)
    msg.width, msg.height = intrinsics.width_px, intrinsics.height_px
    msg.distortion_model = "plumb_bob"
    msg.d = [0.0] * 5
    k = intrinsics.matrix()
    msg.k = k.ravel().tolist()
    msg.r = np.eye(3).ravel().tolist()
    msg.p = np.hstack([k, np.zeros((3, 1))]).ravel().tolist()
    return msg


def decode_camera_info(
    msg: CameraInfo, frame_ids: str | Collection[str] = CAMERA_FRAME
) -> CameraIntrinsics:
    _expect_frame(msg.header, frame_ids, "camera info")
    k = _finite(msg.k, "camera info")
    if msg.width == 0 or msg.height == 0 or k[0] <= 0.0 or k[4] <= 0.0:
        raise InterfaceError("camera info: empty image size or non-positive focal length")
    return CameraIntrinsics(
        msg.width, msg.height, float(k[0]), float(k[4]), float(k[2]), float(k[5])
    )


# ---------------------------------------------------------------------------------------------
# GNSS and IMU
# ---------------------------------------------------------------------------------------------


def encode_gnss_fix(fix: GnssFix, frame_id: str = GNSS_FRAME) -> NavSatFix:
    msg = NavSatFix()
    msg.header = header(fix.stamp_s, frame_id)
    msg.status = NavSatStatus(
        status=NavSatStatus.STATUS_GBAS_FIX if fix.has_fix else NavSatStatus.STATUS_NO_FIX,
        service=NavSatStatus.SERVICE_GPS,
    )
    msg.latitude, msg.longitude, msg.altitude = (
        float(fix.latitude_deg),
        float(fix.longitude_deg),
        float(fix.altitude_m),
    )
    msg.position_covariance = np.asarray(fix.position_covariance, dtype=float).ravel()
    msg.position_covariance_type = NavSatFix.COVARIANCE_TYPE_DIAGONAL_KNOWN
    return msg


def decode_gnss_fix(msg: NavSatFix, frame_ids: str | Collection[str] = GNSS_FRAME) -> GnssFix:
    """NO_FIX is a valid message meaning "no position" (has_fix False, the position may be NaN);
    a status claiming a fix with a NaN position is a receiver that lies."""
    _expect_frame(msg.header, frame_ids, "gnss fix")
    values = np.array([msg.latitude, msg.longitude, msg.altitude], dtype=float)
    has_fix = msg.status.status >= NavSatStatus.STATUS_FIX
    if has_fix and not np.all(np.isfinite(values)):
        raise InterfaceError("gnss fix: status says fix, position is non-finite")
    if has_fix and (abs(values[0]) > 90.0 or abs(values[1]) > 180.0):
        raise InterfaceError(
            f"gnss fix: latitude/longitude out of range ({values[0]}, {values[1]})"
        )
    covariance = np.array(msg.position_covariance, dtype=float).reshape(3, 3)
    if has_fix and not np.all(np.isfinite(covariance)):
        raise InterfaceError("gnss fix: non-finite covariance")
    return GnssFix(
        from_stamp(msg.header.stamp),
        float(values[0]),
        float(values[1]),
        float(values[2]),
        has_fix,
        covariance,
    )


def encode_imu(sample: ImuSample, frame_id: str = IMU_FRAME) -> Imu:
    msg = Imu()
    msg.header = header(sample.stamp_s, frame_id)
    msg.orientation_covariance[0] = -1.0  # no orientation estimate from this IMU
    w, a = sample.angular_velocity_radps, sample.linear_acceleration_mps2
    msg.angular_velocity = Vector3(x=float(w[0]), y=float(w[1]), z=float(w[2]))
    msg.linear_acceleration = Vector3(x=float(a[0]), y=float(a[1]), z=float(a[2]))
    return msg


def decode_imu(msg: Imu, frame_ids: str | Collection[str] = IMU_FRAME) -> ImuSample:
    _expect_frame(msg.header, frame_ids, "imu")
    w, a = msg.angular_velocity, msg.linear_acceleration
    gyro = _finite([w.x, w.y, w.z], "imu angular velocity")
    accel = _finite([a.x, a.y, a.z], "imu linear acceleration")
    return ImuSample(from_stamp(msg.header.stamp), gyro, accel)


# ---------------------------------------------------------------------------------------------
# /planning/trajectory: nav_msgs/Path
# ---------------------------------------------------------------------------------------------
def encode_path(stamp_s: float, xy_yaw: np.ndarray, frame_id: str = MAP_FRAME) -> Path:
    msg = Path()
    msg.header = header(stamp_s, frame_id)
    poses = []
    for x, y, yaw in np.asarray(xy_yaw, dtype=float):
        pose = PoseStamped(header=msg.header)
        pose.pose.position = Point(x=float(x), y=float(y), z=0.0)
        pose.pose.orientation = yaw_to_quaternion(float(yaw))
        poses.append(pose)
    msg.poses = poses
    return msg


def decode_path(msg: Path, frame_id: str = MAP_FRAME) -> np.ndarray:
    _expect_frame(msg.header, frame_id, "path")
    rows = [
        (p.pose.position.x, p.pose.position.y, quaternion_to_yaw(p.pose.orientation))
        for p in msg.poses
    ]
    return _finite(np.array(rows, dtype=float).reshape(-1, 3), "path")


# ---------------------------------------------------------------------------------------------
# /diagnostics
# ---------------------------------------------------------------------------------------------


def encode_diagnostics(stamp_s: float, diagnostics: list[Diagnostic]) -> DiagnosticArray:
    msg = DiagnosticArray()
    msg.header = header(stamp_s, "")
    msg.status = [
        DiagnosticStatus(
            level=bytes([d.level]),
            name=d.name,
            message=d.message,
            hardware_id=d.hardware_id,
            values=[KeyValue(key=str(k), value=str(v)) for k, v in d.values.items()],
        )
        for d in diagnostics
    ]
    return msg


def decode_diagnostics(msg: DiagnosticArray) -> list[Diagnostic]:
    if len(msg.status) > MAX_DIAGNOSTIC_STATUSES:
        raise InterfaceError(
            f"diagnostics: {len(msg.status)} statuses, at most {MAX_DIAGNOSTIC_STATUSES}"
        )
    out = []
    for status in msg.status:
        level = (
            status.level[0] if isinstance(status.level, (bytes, bytearray)) else int(status.level)
        )
        out.append(
            Diagnostic(
                status.name,
                level,
                status.message,
                {kv.key: kv.value for kv in status.values},
                status.hardware_id,
            )
        )
    return out


# ---------------------------------------------------------------------------------------------
# /system/mode: diagnostic_msgs/DiagnosticArray with one status named "system_mode"
# ---------------------------------------------------------------------------------------------
SYSTEM_MODE_STATUS = "system_mode"


def encode_system_mode(mode: SystemMode) -> DiagnosticArray:
    msg = DiagnosticArray()
    msg.header = header(mode.stamp_s, "")
    msg.status = [
        DiagnosticStatus(
            level=bytes([mode.level]),
            name=SYSTEM_MODE_STATUS,
            message=mode.mode.value,
            hardware_id="robovan",
            values=[KeyValue(key="reason", value=mode.reason)],
        )
    ]
    return msg


def decode_system_mode(msg: DiagnosticArray) -> SystemMode:
    if len(msg.status) != 1 or msg.status[0].name != SYSTEM_MODE_STATUS:
        raise InterfaceError(f"system mode: expected one status named '{SYSTEM_MODE_STATUS}'")
    status = msg.status[0]
    try:
        mode = OperatingMode(status.message)
    except ValueError:
        raise InterfaceError(f"system mode: unknown mode '{status.message}'") from None
    level = status.level[0] if isinstance(status.level, (bytes, bytearray)) else int(status.level)
    if level not in (OK, WARN, ERROR, STALE):
        raise InterfaceError(f"system mode: level {level}")
    reason = next((kv.value for kv in status.values if kv.key == "reason"), "")
    return SystemMode(from_stamp(msg.header.stamp), mode, reason, level)


# ---------------------------------------------------------------------------------------------
# /perception/traffic_lights: diagnostic_msgs/DiagnosticArray in frame `map`, one status per
# signal: name = the id of its Lanelet2 traffic_light element, message = red | amber | green |
# unknown, hardware_id = its name in the map (for people), level OK (WARN when unknown).
# ---------------------------------------------------------------------------------------------


def encode_traffic_lights(
    lights: TrafficLightStates, names: dict[int, str] | None = None
) -> DiagnosticArray:
    msg = DiagnosticArray()
    msg.header = header(lights.stamp_s, MAP_FRAME)
    msg.status = [
        DiagnosticStatus(
            level=bytes([WARN if state is TrafficLightState.UNKNOWN else OK]),
            name=str(element_id),
            message=state.value,
            hardware_id=(names or {}).get(element_id, ""),
        )
        for element_id, state in sorted(lights.states.items())
    ]
    return msg


def decode_traffic_lights(msg: DiagnosticArray) -> TrafficLightStates:
    _expect_frame(msg.header, MAP_FRAME, "traffic lights")
    if len(msg.status) > MAX_DIAGNOSTIC_STATUSES:
        raise InterfaceError(
            f"traffic lights: {len(msg.status)} signals, at most {MAX_DIAGNOSTIC_STATUSES}"
        )
    states: dict[int, TrafficLightState] = {}
    for status in msg.status:
        if not status.name.isascii() or not status.name.isdigit():
            raise InterfaceError(
                f"traffic lights: signal '{status.name}' is not a regulatory element id"
            )
        element_id = int(status.name)
        if element_id in states:
            raise InterfaceError(f"traffic lights: signal {element_id} reported twice")
        try:
            states[element_id] = TrafficLightState(status.message)
        except ValueError:
            known = ", ".join(s.value for s in TrafficLightState)
            raise InterfaceError(
                f"traffic lights: signal {element_id} shows '{status.message}', not one of {known}"
            ) from None
    return TrafficLightStates(from_stamp(msg.header.stamp), states)


def encode_tf_cdr(stamp_s: float, transforms: list[FrameTransform]) -> bytes:
    """A tf2_msgs/TFMessage of `transforms`, all stamped stamp_s, as CDR bytes for a bag."""
    typestore = _bag_typestore()
    tf = typestore.types
    stamp = tf["builtin_interfaces/msg/Time"](*divmod(round(stamp_s * 1e9), 1_000_000_000))
    message = tf[TF_MSGTYPE](
        transforms=[
            tf["geometry_msgs/msg/TransformStamped"](
                header=tf["std_msgs/msg/Header"](stamp=stamp, frame_id=t.parent),
                child_frame_id=t.child,
                transform=tf["geometry_msgs/msg/Transform"](
                    translation=tf["geometry_msgs/msg/Vector3"](*map(float, t.translation_m)),
                    rotation=tf["geometry_msgs/msg/Quaternion"](*map(float, t.rotation_xyzw)),
                ),
            )
            for t in transforms
        ]
    )
    return bytes(typestore.serialize_cdr(message, TF_MSGTYPE))


def live_tf_message_class():
    """tf2_msgs' TFMessage where a ROS install provides it; None under the rclpy wheels."""
    try:
        from tf2_msgs.msg import TFMessage
    except ImportError:
        return None
    return TFMessage


def encode_transforms(stamp_s: float, transforms: list[FrameTransform]) -> list[TransformStamped]:
    """The transforms, all stamped stamp_s, as the entries of a live TFMessage."""
    return [
        TransformStamped(
            header=header(stamp_s, t.parent),
            child_frame_id=t.child,
            transform=Transform(
                translation=Vector3(
                    x=float(t.translation_m[0]),
                    y=float(t.translation_m[1]),
                    z=float(t.translation_m[2]),
                ),
                rotation=Quaternion(
                    x=float(t.rotation_xyzw[0]),
                    y=float(t.rotation_xyzw[1]),
                    z=float(t.rotation_xyzw[2]),
                    w=float(t.rotation_xyzw[3]),
                ),
            ),
        )
        for t in transforms
    ]


def decode_tf_cdr(data: bytes) -> list[FrameTransform]:
    """The transforms of a recorded tf2_msgs/TFMessage."""
    message = _bag_typestore().deserialize_cdr(data, TF_MSGTYPE)
    return [
        FrameTransform(
            t.header.frame_id,
            t.child_frame_id,
            (t.transform.translation.x, t.transform.translation.y, t.transform.translation.z),
            (
                t.transform.rotation.x,
                t.transform.rotation.y,
                t.transform.rotation.z,
                t.transform.rotation.w,
            ),
        )
        for t in message.transforms
    ]


@functools.lru_cache(maxsize=1)
def canonical_cdr(data: bytes, msgtype: str) -> bytes:
    """The CDR bytes of a message serialised by rclpy, with its alignment padding zeroed. rclpy's
    serialize_message leaves the padding as it found the buffer, so the same message serialises
    to different bytes from run to run, and two recordings of one run would differ."""
    typestore = _bag_typestore()
    return bytes(typestore.serialize_cdr(typestore.deserialize_cdr(data, msgtype), msgtype))


@functools.cache
def _bag_typestore():
    from rosbags.typesys import Stores, get_typestore

    return get_typestore(Stores.ROS2_KILTED)
