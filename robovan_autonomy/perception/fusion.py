"""The perception pipeline: camera and LiDAR in, one object table out, in stamp order.

Sensor messages wait in a queue until the van's pose at their stamp is known (odometry at or
after it), then run in stamp order whatever order they arrived in: a LiDAR scan updates the
tracks' geometry, a camera frame is detected and its detections vote for the classes of the
tracks whose projected boxes they overlap. Each processed message yields the object table at its
own stamp. A message whose pose never comes is processed on an extrapolated pose once it is
max_wait_s behind the newest input, or dropped when that pose would be a guess.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
import time

import numpy as np
from scipy.optimize import linear_sum_assignment

from robovan_autonomy.camera_model import CameraIntrinsics
from robovan_autonomy.core_types import PoseEstimate
from robovan_autonomy.perception.camera_projection import CameraProjection, box_corners
from robovan_autonomy.perception.classes import ObjectClass
from robovan_autonomy.perception.detector import Detections, Detector, box_iou
from robovan_autonomy.perception.lidar_objects import LidarObjectDetector, pose_matrix
from robovan_autonomy.perception.tracker import Tracker
from robovan_autonomy.vehicle_params import SensorPose

ODOMETRY_HISTORY = 200  # poses kept (4 s of 50 Hz odometry): covers any queued message
MAX_QUEUE = 20  # sensor messages waiting for a pose; older ones are dropped first
STAMP_EPS_S = 1e-6
PERIOD_SLACK = 0.9  # a frame this share of the detector period after the last one is due
CENTRE_INSIDE_SCORE = 0.35  # match score of a track whose projected centre lies in a detection box
# Unmatched detections of these classes are placed in 3D from the LiDAR returns inside their box:
# people beside a parked car share its cluster, yet the camera sees them apart.
PLACED_CLASSES = (int(ObjectClass.PEDESTRIAN), int(ObjectClass.CYCLIST))
PLACED_SIGMA_M = 0.3  # position noise of a placed detection (median of a few returns)
PLACED_BOX_SHRINK = 0.2  # share of the box width left out on each side (background returns)
PLACED_RANGE_TOLERANCE = 0.35  # returns must agree with the box bottom's ground range this well


@dataclasses.dataclass(frozen=True)
class FusionConfig:
    camera_iou_gate: float = 0.3  # a detection votes for a track whose box it overlaps this much
    camera_range_tolerance: float = 0.3  # … and whose range its ground point agrees with (fraction)
    camera_range_floor_m: float = 2.0  # … within at least this
    detector_period_s: float = 0.0  # run the detector at most this often (0: every frame)
    max_wait_s: float = 0.2  # a message waits this long for its pose at most
    max_extrapolation_s: float = 0.1  # a pose is extrapolated this far at most


@dataclasses.dataclass(frozen=True)
class FusionOutput:
    stamp_s: float
    source: str  # "lidar" or "camera"
    objects: np.ndarray  # OBJECT_DTYPE rows in map
    stats: dict


class OdometryBuffer:
    """Recent poses; the pose at any stamp between them, or shortly after the newest."""

    def __init__(self):
        self.poses: list[PoseEstimate] = []

    def add(self, pose: PoseEstimate) -> None:
        if self.poses and pose.stamp_s <= self.poses[-1].stamp_s:
            if pose.stamp_s == self.poses[-1].stamp_s:
                self.poses[-1] = pose
            return
        self.poses.append(pose)
        del self.poses[:-ODOMETRY_HISTORY]

    @property
    def newest_s(self) -> float:
        return self.poses[-1].stamp_s if self.poses else -math.inf

    def at(self, t_s: float, max_extrapolation_s: float) -> PoseEstimate | None:
        if not self.poses or t_s < self.poses[0].stamp_s - STAMP_EPS_S:
            return None
        stamps = [p.stamp_s for p in self.poses]
        i = bisect.bisect_left(stamps, t_s - STAMP_EPS_S)
        if i < len(stamps) and abs(stamps[i] - t_s) <= STAMP_EPS_S:
            return self.poses[i]
        if i == len(stamps):
            last = self.poses[-1]
            dt = t_s - last.stamp_s
            if dt > max_extrapolation_s:
                return None
            yaw = last.yaw_rad + last.yaw_rate_radps * dt
            mid = last.yaw_rad + last.yaw_rate_radps * dt / 2.0
            return dataclasses.replace(
                last,
                stamp_s=t_s,
                yaw_rad=yaw,
                x_m=last.x_m + last.speed_mps * math.cos(mid) * dt,
                y_m=last.y_m + last.speed_mps * math.sin(mid) * dt,
            )
        a, b = self.poses[i - 1], self.poses[i]
        f = (t_s - a.stamp_s) / (b.stamp_s - a.stamp_s)
        dyaw = math.remainder(b.yaw_rad - a.yaw_rad, math.tau)
        return dataclasses.replace(
            a,
            stamp_s=t_s,
            x_m=a.x_m + f * (b.x_m - a.x_m),
            y_m=a.y_m + f * (b.y_m - a.y_m),
            z_m=a.z_m + f * (b.z_m - a.z_m),
            yaw_rad=a.yaw_rad + f * dyaw,
            speed_mps=a.speed_mps + f * (b.speed_mps - a.speed_mps),
        )


@dataclasses.dataclass(order=True)
class _Pending:
    stamp_s: float
    order: int
    kind: str = dataclasses.field(compare=False)
    payload: tuple = dataclasses.field(compare=False)


class PerceptionPipeline:
    def __init__(
        self,
        lidar: LidarObjectDetector,
        tracker: Tracker,
        camera_extrinsic: SensorPose,
        detector: Detector | None = None,
        config: FusionConfig = FusionConfig(),
    ):
        self.lidar, self.tracker, self.detector, self.config = lidar, tracker, detector, config
        self.camera_extrinsic = camera_extrinsic
        self.odometry = OdometryBuffer()
        self._queue: list[_Pending] = []
        self._order = 0
        self._processed_s = -math.inf
        self._last_detection_s = -math.inf
        self._projection: CameraProjection | None = None
        self.problems: list[str] = []  # drained by the caller, one line per dropped input

    # -- inputs ---------------------------------------------------------------------------------
    def add_odometry(self, pose: PoseEstimate) -> None:
        self.odometry.add(pose)

    def add_lidar(self, stamp_s: float, points: np.ndarray) -> None:
        self._enqueue(stamp_s, "lidar", (points,))

    def add_camera(
        self, stamp_s: float, image_bgr: np.ndarray, intrinsics: CameraIntrinsics
    ) -> None:
        self._enqueue(stamp_s, "camera", (image_bgr, intrinsics))

    def _enqueue(self, stamp_s: float, kind: str, payload: tuple) -> None:
        if stamp_s <= self._processed_s:
            self.problems.append(
                f"{kind} at {stamp_s:.3f} s arrived after {self._processed_s:.3f} s was "
                "processed: dropped"
            )
            return
        self._order += 1
        bisect.insort(self._queue, _Pending(stamp_s, self._order, kind, payload))
        while len(self._queue) > MAX_QUEUE:
            dropped = self._queue.pop(0)
            self.problems.append(f"{dropped.kind} at {dropped.stamp_s:.3f} s: queue full, dropped")

    # -- processing -----------------------------------------------------------------------------
    def process(self) -> list[FusionOutput]:
        """Every queued message whose pose is known (or given up on), in stamp order."""
        outputs = []
        newest = max([self.odometry.newest_s] + [p.stamp_s for p in self._queue])
        while self._queue:
            head = self._queue[0]
            if (
                self.odometry.newest_s < head.stamp_s - STAMP_EPS_S
                and newest - head.stamp_s < self.config.max_wait_s
            ):
                break
            self._queue.pop(0)
            pose = self.odometry.at(head.stamp_s, self.config.max_extrapolation_s)
            if pose is None:
                self.problems.append(
                    f"{head.kind} at {head.stamp_s:.3f} s: no pose at that time, dropped"
                )
                continue
            self._processed_s = head.stamp_s
            output = self._lidar(head, pose) if head.kind == "lidar" else self._camera(head, pose)
            if output is not None:
                outputs.append(output)
        return outputs

    def _lidar(self, item: _Pending, pose: PoseEstimate) -> FusionOutput:
        started = time.perf_counter()
        boxes = self.lidar.detect(item.payload[0], pose)
        lidar_ms = (time.perf_counter() - started) * 1e3
        self.tracker.update_lidar(item.stamp_s, boxes)
        tracker_ms = (time.perf_counter() - started) * 1e3 - lidar_ms
        objects = self.tracker.objects()
        return FusionOutput(
            item.stamp_s,
            "lidar",
            objects,
            {
                "lidar_ms": lidar_ms,
                "tracker_ms": tracker_ms,
                "clusters": len(boxes),
                "objects": len(objects),
            },
        )

    def _camera(self, item: _Pending, pose: PoseEstimate) -> FusionOutput | None:
        # Frames come on the simulator's 10 ms ticks, a few ms either side of the ideal period.
        if (
            self.detector is None
            or item.stamp_s - self._last_detection_s < PERIOD_SLACK * self.config.detector_period_s
        ):
            return None
        image, intrinsics = item.payload
        if self._projection is None or self._projection.intrinsics != intrinsics:
            self._projection = CameraProjection(intrinsics, self.camera_extrinsic)
        self._last_detection_s = item.stamp_s
        started = time.perf_counter()
        detections = self.detector.detect(image)
        detector_ms = (time.perf_counter() - started) * 1e3
        self.tracker.predict(item.stamp_s)
        matches = match_detections(self.tracker, pose, self._projection, detections, self.config)
        for track, d in matches:
            self.tracker.vote(track, int(detections.class_id[d]), float(detections.scores[d]))
        matched = {d for _, d in matches}
        placed = 0
        for d in range(len(detections)):
            if d in matched or int(detections.class_id[d]) not in PLACED_CLASSES:
                continue
            xy = place_detection(
                detections.boxes_xyxy[d], self.lidar.last_points, pose, self._projection
            )
            if xy is not None:
                self.tracker.update_point(
                    item.stamp_s,
                    xy,
                    PLACED_SIGMA_M,
                    int(detections.class_id[d]),
                    float(detections.scores[d]),
                )
                placed += 1
        objects = self.tracker.objects()
        return FusionOutput(
            item.stamp_s,
            "camera",
            objects,
            {
                "detector_ms": detector_ms,
                "detections": len(detections),
                "matched_detections": len(matches),
                "placed_detections": placed,
                "objects": len(objects),
            },
        )


def match_detections(
    tracker: Tracker,
    pose: PoseEstimate,
    projection: CameraProjection,
    detections: Detections,
    config: FusionConfig,
) -> list[tuple]:
    """(track, detection index) pairs: Hungarian on 2D IoU between detections and the tracks'
    boxes projected into the image, gated by IoU and by the range that the detection's ground
    point gives (a detection of the car in front must not vote for the van hidden behind it)."""
    tracks = tracker.tracks
    if not tracks or not len(detections):
        return []
    sizes = np.array([tracker.box_size(t) for t in tracks])
    states = np.array([[t.x[0], t.x[1], t.z_m, t.yaw_rad] for t in tracks])
    corners_map = box_corners(
        states[:, 0],
        states[:, 1],
        states[:, 2],
        states[:, 3],
        sizes[:, 0],
        sizes[:, 1],
        sizes[:, 2],
    )
    rotation, translation = pose_matrix(pose)
    corners_base = (corners_map - translation) @ rotation
    boxes, visible = projection.project_boxes(corners_base)
    index = np.nonzero(visible)[0]
    if not len(index):
        return []
    iou = box_iou(boxes[index], detections.boxes_xyxy)
    # A track seen as a few far returns projects to a sliver: it matches a detection whose box
    # holds its projected centre (scored as a modest overlap, so real overlaps win).
    centre_px = (boxes[index, :2] + boxes[index, 2:]) / 2.0
    d = detections.boxes_xyxy
    sliver = box_area(boxes[index])[:, None] <= box_area(d)[None, :]
    inside = (
        (centre_px[:, None, 0] >= d[None, :, 0])
        & (centre_px[:, None, 0] <= d[None, :, 2])
        & (centre_px[:, None, 1] >= d[None, :, 1])
        & (centre_px[:, None, 1] <= d[None, :, 3])
        & sliver
    )
    # Only where the classes agree (or the track's shape tells none): a person in the gap between
    # two parked cars projects inside the cars' boxes, and their votes turned the person into a car.
    current = np.array([tracks[i].class_id for i in index])
    inside &= (current[:, None] == int(ObjectClass.UNKNOWN)) | (
        current[:, None] == detections.class_id[None, :]
    )
    iou = np.maximum(iou, np.where(inside, CENTRE_INSIDE_SCORE, 0.0))
    centres_base = (np.column_stack([states[index, :2], states[index, 2]]) - translation) @ rotation
    track_range = np.hypot(
        centres_base[:, 0] - projection.origin_base[0],
        centres_base[:, 1] - projection.origin_base[1],
    )
    ground, _ = projection.box_ground_points(detections.boxes_xyxy)
    det_range = np.hypot(
        ground[:, 0] - projection.origin_base[0], ground[:, 1] - projection.origin_base[1]
    )
    tolerance = np.maximum(config.camera_range_floor_m, config.camera_range_tolerance * track_range)
    # The ground point is the object's near side; the track range is to its centre.
    near_side = track_range[:, None] - 0.5 * sizes[index, :1]
    consistent = ~np.isfinite(det_range)[None, :] | (
        np.abs(det_range[None, :] - near_side) <= tolerance[:, None]
    )
    cost = np.where((iou >= config.camera_iou_gate) & consistent, 1.0 - iou, 1e6)
    rows, cols = linear_sum_assignment(cost)
    return [(tracks[index[r]], int(c)) for r, c in zip(rows, cols) if cost[r, c] < 1e6]


def box_area(boxes_xyxy: np.ndarray) -> np.ndarray:
    return np.prod(np.clip(boxes_xyxy[:, 2:] - boxes_xyxy[:, :2], 0.0, None), axis=1)


def place_detection(
    box_xyxy: np.ndarray, points_map: np.ndarray, pose: PoseEstimate, projection: CameraProjection
) -> np.ndarray | None:
    """Map x, y of a detection: the median of the obstacle returns that project into the middle
    of its box at about the range its bottom edge gives; None without such returns."""
    if len(points_map) == 0:
        return None
    rotation, translation = pose_matrix(pose)
    base = (points_map[:, :3] - translation) @ rotation
    pixels, _ = projection.project(base)
    x1, y1, x2, y2 = box_xyxy
    margin = PLACED_BOX_SHRINK * (x2 - x1)
    inside = (
        (pixels[:, 0] >= x1 + margin)
        & (pixels[:, 0] <= x2 - margin)
        & (pixels[:, 1] >= y1)
        & (pixels[:, 1] <= y2)
    )
    if not inside.any():
        return None
    ground, _ = projection.box_ground_points(np.asarray(box_xyxy)[None])
    origin = projection.origin_base[:2]
    distance = np.hypot(*(base[inside, :2] - origin).T)
    expected = float(np.hypot(*(ground[0, :2] - origin)))
    if np.isfinite(expected):
        agree = np.abs(distance - expected) <= PLACED_RANGE_TOLERANCE * expected
        if not agree.any():
            return None
        chosen = points_map[inside][agree]
    else:
        chosen = points_map[inside]
    return np.median(chosen[:, :2], axis=0)
