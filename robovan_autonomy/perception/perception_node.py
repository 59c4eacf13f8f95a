"""Perception node: camera and LiDAR in, tracked objects out (perception/fusion.py does the work).

Every sensor message is decoded through interfaces.py; garbage (an empty image, a wrong encoding,
a cloud with the wrong fields) is counted, reported on /diagnostics and skipped, and the node
goes on. Outputs carry the stamp of the sensor message they came from, so a lockstep simulation
gives the same tables in every run.
"""

from __future__ import annotations

from nav_msgs.msg import Odometry
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from visualization_msgs.msg import MarkerArray

from robovan_autonomy import core_types as ct
from robovan_autonomy import interfaces as itf
from robovan_autonomy.config_errors import config_path, share_dir
from robovan_autonomy.mapping.lanelet_map import load_map
from robovan_autonomy.node_utils import (
    FRAME_ALIASES,
    DiagnosticsPublisher,
    ParameterError,
    declare_parameters,
    sensor_frame_ids,
    spin_node,
)
from robovan_autonomy.parameters import Param
from robovan_autonomy.perception.detector import Detector, ModelError
from robovan_autonomy.perception.fusion import FusionConfig, FusionOutput, PerceptionPipeline
from robovan_autonomy.perception.lidar_objects import (
    DrivableArea,
    LidarObjectConfig,
    LidarObjectDetector,
    lane_heading_prior,
)
from robovan_autonomy.perception.tracker import Tracker, TrackerConfig
from robovan_autonomy.vehicle_params import load_vehicle_params

DEFAULT_MODEL = share_dir() / "models" / "robovan_det.onnx"
PROBLEM_MEMORY_S = 2.0  # a rejected input keeps the status at WARN this long (sensor time)

PARAMETERS = [
    Param(
        "model_path",
        str(DEFAULT_MODEL),
        "ONNX detector (YOLOv8/YOLO11 export layout, names + imgsz "
        "in its metadata or a sidecar .yaml)",
    ),
    Param(
        "execution_providers",
        ["CPUExecutionProvider"],
        "onnxruntime execution providers, in order of preference",
    ),
    Param("detector_threads", 1, "onnxruntime intra-op threads", min=1, max=16),
    Param("use_camera", True, "run the camera detector (off: classes from LiDAR box shapes only)"),
    Param(
        "detector_rate_hz",
        7.5,
        "most camera frames detected per second (frames in between are "
        "skipped): every other frame of the 15 Hz camera keeps the classes current at half the CPU",
        min=0.5,
        max=60.0,
    ),
    Param("score_threshold", 0.3, "detections scoring lower are dropped", min=0.01, max=0.99),
    Param(
        "nms_iou_threshold",
        0.5,
        "class-aware NMS: same-class boxes overlapping more are duplicates",
        min=0.1,
        max=0.95,
    ),
    Param(
        "map_file",
        str(config_path("maps", "delivery_district.osm")),
        "Lanelet2 map whose road surface "
        "bounds the LiDAR objects and whose lanes tell vehicles' headings (empty: neither)",
    ),
    Param(
        "drivable_margin_m",
        2.5,
        "returns up to this far outside the kerbs are kept (people on the sidewalk's edge)",
        min=0.0,
        max=10.0,
    ),
    Param(
        "lidar_max_range_m",
        80.0,
        "LiDAR objects are clustered up to this range",
        min=10.0,
        max=200.0,
    ),
    Param(
        "ground_clearance_m",
        0.3,
        "returns this high above the fitted ground plane are obstacles",
        min=0.05,
        max=1.0,
    ),
    Param(
        "outline_clearance_m",
        0.2,
        "returns from this high up to the ground clearance complete the outline "
        "of an object beside them (a car's rear face 32 m off) but never make or join objects",
        min=0.05,
        max=1.0,
    ),
    Param("cluster_cell_m", 0.3, "clustering grid cell", min=0.05, max=1.0),
    Param(
        "min_cluster_points",
        2,
        "smaller clusters are dropped (a pedestrian 40 m away leaves 2–4 returns)",
        min=1,
        max=100,
    ),
    Param("confirm_hits", 3, "LiDAR hits before a track is published", min=1, max=20),
    Param("coast_timeout_s", 0.8, "a track unseen this long is deleted", min=0.1, max=5.0),
    Param(
        "association_gate_m",
        2.0,
        "association gate beyond half a track's length",
        min=0.3,
        max=10.0,
    ),
    Param("accel_sigma_mps2", 2.0, "Kalman process noise (white acceleration)", min=0.1, max=20.0),
    Param(
        "max_wait_s",
        0.2,
        "a sensor message waits this long for odometry at its stamp",
        min=0.0,
        max=2.0,
    ),
    Param(
        "max_extrapolation_s", 0.1, "odometry is extrapolated this far at most", min=0.0, max=1.0
    ),
    Param("publish_markers", True, "publish /perception/objects/markers for viewers"),
    FRAME_ALIASES,
]


class PerceptionNode(Node):
    def __init__(self, **node_kwargs):
        super().__init__("perception", **node_kwargs)
        self.params = p = declare_parameters(self, PARAMETERS)
        self.frame_ids = sensor_frame_ids(self, p.frame_aliases)
        vehicle = load_vehicle_params()
        detector = None
        if p.use_camera:
            try:
                detector = Detector(
                    p.model_path,
                    p.execution_providers,
                    p.score_threshold,
                    p.nms_iou_threshold,
                    p.detector_threads,
                )
            except ModelError as err:
                raise ParameterError(f"perception.ros__parameters.model_path: {err}") from err
        district = load_map(p.map_file) if p.map_file else None
        drivable = DrivableArea(district, p.drivable_margin_m) if district else None
        lidar = LidarObjectDetector(
            vehicle,
            vehicle.sensor_pose(ct.LIDAR_FRAME),
            LidarObjectConfig(
                p.lidar_max_range_m,
                p.ground_clearance_m,
                p.cluster_cell_m,
                p.min_cluster_points,
                outline_clearance_m=p.outline_clearance_m,
            ),
            drivable,
        )
        tracker = Tracker(
            TrackerConfig(
                confirm_hits=p.confirm_hits,
                coast_timeout_s=p.coast_timeout_s,
                gate_m=p.association_gate_m,
                accel_sigma_mps2=p.accel_sigma_mps2,
            ),
            lane_heading_prior(district) if district else None,
        )
        self.pipeline = PerceptionPipeline(
            lidar,
            tracker,
            vehicle.sensor_pose(ct.CAMERA_FRAME),
            detector,
            FusionConfig(
                detector_period_s=1.0 / p.detector_rate_hz,
                max_wait_s=p.max_wait_s,
                max_extrapolation_s=p.max_extrapolation_s,
            ),
        )
        self.intrinsics: itf.CameraIntrinsics | None = None
        self.rejected = {"image": 0, "camera_info": 0, "points": 0, "odometry": 0, "dropped": 0}
        self.last_problem, self.last_problem_s = "", -1e9
        self.stats: dict = {}
        self.objects_pub = self.create_publisher(PointCloud2, itf.OBJECTS, itf.RELIABLE_QOS)
        self.markers_pub = self.create_publisher(MarkerArray, itf.OBJECT_MARKERS, itf.RELIABLE_QOS)
        self.diagnostics = DiagnosticsPublisher(self)
        self.create_subscription(Odometry, itf.ODOMETRY, self._on_odometry, itf.RELIABLE_QOS)
        self.create_subscription(PointCloud2, itf.LIDAR_POINTS, self._on_points, itf.SENSOR_QOS)
        if detector is not None:
            self.create_subscription(
                CameraInfo, itf.CAMERA_INFO, self._on_camera_info, itf.SENSOR_QOS
            )
            self.create_subscription(Image, itf.CAMERA_IMAGE, self._on_image, itf.SENSOR_QOS)

    # -- inputs ---------------------------------------------------------------------------------
    def _decode(self, kind: str, decode, msg, *frame_ids):
        try:
            return decode(msg, *frame_ids)
        except itf.InterfaceError as err:
            self._problem(kind, str(err), itf.from_stamp(msg.header.stamp))
            return None

    def _problem(self, kind: str, text: str, stamp_s: float) -> None:
        self.rejected[kind] += 1
        self.last_problem, self.last_problem_s = text, stamp_s
        self._report(stamp_s)

    def _on_odometry(self, msg: Odometry) -> None:
        pose = self._decode("odometry", itf.decode_odometry, msg)
        if pose is not None:
            self.pipeline.add_odometry(pose)
            self._run()

    def _on_points(self, msg: PointCloud2) -> None:
        points = self._decode("points", itf.decode_points, msg, self.frame_ids[ct.LIDAR_FRAME])
        if points is not None:
            self.pipeline.add_lidar(itf.from_stamp(msg.header.stamp), points)
            self._run()

    def _on_camera_info(self, msg: CameraInfo) -> None:
        self.intrinsics = (
            self._decode(
                "camera_info", itf.decode_camera_info, msg, self.frame_ids[ct.CAMERA_FRAME]
            )
            or self.intrinsics
        )

    def _on_image(self, msg: Image) -> None:
        image = self._decode("image", itf.decode_image, msg, self.frame_ids[ct.CAMERA_FRAME])
        if image is None:
            return
        stamp = itf.from_stamp(msg.header.stamp)
        if self.intrinsics is None:
            self._problem("image", "image: no camera_info received yet", stamp)
            return
        if image.shape[:2] != (self.intrinsics.height_px, self.intrinsics.width_px):
            self._problem(
                "image",
                f"image: {image.shape[1]}×{image.shape[0]} does not match camera_info "
                f"{self.intrinsics.width_px}×{self.intrinsics.height_px}",
                stamp,
            )
            return
        self.pipeline.add_camera(stamp, image, self.intrinsics)
        self._run()

    # -- outputs --------------------------------------------------------------------------------
    def _run(self) -> None:
        outputs = self.pipeline.process()
        for text in self.pipeline.problems:
            self.rejected["dropped"] += 1
            self.last_problem = text
        self.pipeline.problems.clear()
        for output in outputs:
            self._publish(output)

    def _publish(self, output: FusionOutput) -> None:
        self.objects_pub.publish(itf.encode_objects(output.stamp_s, output.objects))
        if self.params.publish_markers:
            self.markers_pub.publish(itf.encode_object_markers(output.stamp_s, output.objects))
        self.stats.update(output.stats)
        if output.source == "lidar":
            self._report(output.stamp_s)

    def _report(self, stamp_s: float) -> None:
        recent = 0.0 <= stamp_s - self.last_problem_s <= PROBLEM_MEMORY_S
        level, message = (
            (ct.WARN, f"rejected input: {self.last_problem}") if recent else (ct.OK, "tracking")
        )
        values = {
            **{k: (f"{v:.3f}" if isinstance(v, float) else v) for k, v in self.stats.items()},
            "last_problem": self.last_problem,
            **{f"rejected_{k}": v for k, v in self.rejected.items()},
        }
        self.diagnostics.publish([ct.Diagnostic("", level, message, values)])


def main(args=None):
    spin_node(PerceptionNode, args)
