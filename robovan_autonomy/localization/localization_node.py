"""The localization node: GNSS, IMU, wheel odometry and LiDAR-to-map matching fused in an EKF.

I/O only: every message goes through interfaces.py into localizer.Localizer (the pipeline) and
the estimate comes out on /localization/odometry at rate_hz, stamped with the time of the newest
measurement it includes. The IMU's stamps pace the output (the first sample of each period
publishes, so the estimate is as fresh as the IMU); when the IMU falls silent a timer on the node
clock publishes what the other inputs give. /diagnostics carries the mode (INITIALIZING,
TRACKING, DEGRADED, LOST), a confidence in [0, 1] with the speed it allows, and every rejected
input counted by reason. The GNSS-only and odometry-only estimates go out on
/localization/debug/* for run reports.
"""

from __future__ import annotations

import math
import time

import numpy as np
from nav_msgs.msg import Odometry
from rclpy.node import Node
from sensor_msgs.msg import Imu, JointState, NavSatFix, PointCloud2

from robovan_autonomy import core_types as ct
from robovan_autonomy import interfaces as itf
from robovan_autonomy.config_errors import config_path
from robovan_autonomy.localization.baselines import GnssOnly, WheelOdometry
from robovan_autonomy.localization.ekf import GYRO_BIAS, HISTORY_S, SPEED, YAW, X, Y, filter_for
from robovan_autonomy.localization.geodesy import FixProjector, FixRejected
from robovan_autonomy.localization.localizer import Localizer, LocalizerConfig, Mode
from robovan_autonomy.localization.scan_matcher import (
    MAP_SPACING_M,
    MatcherConfig,
    ScanMatcher,
    district_map_cloud,
)
from robovan_autonomy.mapping.lanelet_map import load_map
from robovan_autonomy.node_utils import (
    FRAME_ALIASES,
    DiagnosticsPublisher,
    TfBroadcaster,
    declare_parameters,
    now_s,
    sensor_frame_ids,
    spin_node,
)
from robovan_autonomy.parameters import Param
from robovan_autonomy.tf_tree import map_to_base_link, static_transforms
from robovan_autonomy.vehicle_params import load_vehicle_params

FULL_SPEED_CONFIDENCE = 0.8  # at or above: the van may drive at its ODD limit
STAMP_TOLERANCE_S = 1e-6  # IMU stamps a rate period apart count as due despite rounding
IMU_SILENT_PERIODS = 2.5  # no IMU-driven output for this many periods: the timer takes over
PLANAR_VARIANCE = 1e6  # z, roll and pitch are not estimated: "unknown" to any fuser
_LEVEL = {
    Mode.TRACKING: ct.OK,
    Mode.DEGRADED: ct.WARN,
    Mode.INITIALIZING: ct.WARN,
    Mode.LOST: ct.ERROR,
}

_M, _L = MatcherConfig, LocalizerConfig  # the pure modules hold the defaults
PARAMETERS = [
    Param(
        "map_file",
        str(config_path("maps", "delivery_district.osm")),
        "Lanelet2 map (OSM with a .yaml sidecar): geodetic origin and the point map for matching",
    ),
    Param("rate_hz", 50.0, "odometry output rate", min=10.0, max=200.0),
    Param(
        "diagnostics_rate_hz",
        10.0,
        "rate of the /diagnostics report (confidence)",
        min=1.0,
        max=50.0,
    ),
    Param(
        "history_s",
        HISTORY_S,
        "late measurements up to this old are fused at their own stamp",
        min=0.1,
        max=5.0,
    ),
    Param("lidar_enabled", True, "LiDAR-to-map matching (off: GNSS, IMU and wheel odometry only)"),
    Param(
        "map_point_spacing_m",
        MAP_SPACING_M,
        "point map density along and up each kerb and facade",
        min=0.1,
        max=3.0,
    ),
    Param(
        "map_max_height_m",
        _M.max_point_height_m,
        "point map (and scan) height limit",
        min=2.0,
        max=200.0,
    ),
    Param("scan_voxel_m", _M.voxel_m, "scan downsampling before matching", min=0.2, max=3.0),
    Param(
        "scan_min_height_m",
        _M.min_point_height_m,
        "scan returns lower than this (base_link) are ground",
        min=0.0,
        max=2.0,
    ),
    Param(
        "scan_correspondence_m",
        _M.correspondence_m,
        "farther scan-to-map pairs are outliers",
        min=0.2,
        max=5.0,
    ),
    Param(
        "scan_max_iterations", _M.max_iterations, "registration iterations per scan", min=1, max=50
    ),
    Param(
        "scan_min_inlier_fraction",
        _L.min_inlier_fraction,
        "scans with fewer map-explained points are not used",
        min=0.0,
        max=1.0,
    ),
    Param(
        "scan_covariance_scale",
        _M.covariance_scale,
        "scan match Hessian covariance × this (correlated points)",
        min=1.0,
        max=1e6,
    ),
    Param(
        "heading_candidates",
        _M.heading_candidates,
        "headings tried by the initial search",
        min=4,
        max=360,
    ),
    Param(
        "gnss_covariance_scale",
        _L.gnss_covariance_scale,
        "receiver covariance × this (its errors are slow, not white)",
        min=1.0,
        max=100.0,
    ),
    Param(
        "gnss_off_map_margin_m",
        1000.0,
        "fixes farther outside the map than this are receiver faults",
        min=10.0,
        max=100000.0,
    ),
    Param(
        "good_position_sigma_m",
        _L.good_position_sigma_m,
        "position σ at or under which confidence is full",
        min=0.01,
        max=5.0,
    ),
    Param(
        "lost_position_sigma_m",
        _L.lost_position_sigma_m,
        "position σ at or over which localization is lost",
        min=0.05,
        max=50.0,
    ),
    Param(
        "good_yaw_sigma_rad",
        _L.good_yaw_sigma_rad,
        "heading σ at or under which confidence is full",
        min=0.001,
        max=1.0,
    ),
    Param(
        "lost_yaw_sigma_rad",
        _L.lost_yaw_sigma_rad,
        "heading σ at or over which localization is lost",
        min=0.002,
        max=3.0,
    ),
    Param("publish_debug", True, "GNSS-only and odometry-only estimates on /localization/debug/*"),
    FRAME_ALIASES,
]


class LocalizationNode(Node):
    def __init__(self, **node_kwargs):
        super().__init__("localization", **node_kwargs)
        self.params = p = declare_parameters(self, PARAMETERS)
        self.frame_ids = sensor_frame_ids(self, p.frame_aliases)
        vehicle = load_vehicle_params()
        district = load_map(p.map_file)
        gnss_pose = vehicle.sensor_pose("gnss")
        self._imu_rotation = vehicle.sensor_pose("imu").rotation()
        self._lidar_pose = vehicle.sensor_pose("lidar_top")
        matcher = None
        if p.lidar_enabled:
            matcher = ScanMatcher(
                district_map_cloud(district, p.map_point_spacing_m, p.map_max_height_m),
                MatcherConfig(
                    voxel_m=p.scan_voxel_m,
                    correspondence_m=p.scan_correspondence_m,
                    max_iterations=p.scan_max_iterations,
                    min_point_height_m=p.scan_min_height_m,
                    max_point_height_m=p.map_max_height_m,
                    covariance_scale=p.scan_covariance_scale,
                    heading_candidates=p.heading_candidates,
                ),
            )
        self.localizer = Localizer(
            filter_for(vehicle, p.history_s),
            matcher,
            LocalizerConfig(
                good_position_sigma_m=p.good_position_sigma_m,
                lost_position_sigma_m=p.lost_position_sigma_m,
                good_yaw_sigma_rad=p.good_yaw_sigma_rad,
                lost_yaw_sigma_rad=p.lost_yaw_sigma_rad,
                gnss_covariance_scale=p.gnss_covariance_scale,
                max_speed_mps=vehicle.max_speed_hw_mps,
                max_steer_rad=vehicle.max_steer_rad,
                min_inlier_fraction=p.scan_min_inlier_fraction,
            ),
        )
        self.projector = FixProjector(
            district, p.gnss_off_map_margin_m, float(vehicle.sensors["gnss"]["sigma_float_m"])
        )
        self.max_speed_mps = vehicle.max_speed_odd_mps
        self.odometry_only = WheelOdometry(vehicle.wheelbase_m)
        self.gnss_only = GnssOnly((gnss_pose.x_m, gnss_pose.y_m))
        self._published_s = -math.inf
        self._match_ms: list[float] = []
        self._match_ms_max = 0.0

        self.odometry_pub = self.create_publisher(Odometry, itf.ODOMETRY, itf.RELIABLE_QOS)
        self.gnss_only_pub = self.create_publisher(
            Odometry, itf.LOCALIZATION_DEBUG_GNSS_ONLY, itf.RELIABLE_QOS
        )
        self.odometry_only_pub = self.create_publisher(
            Odometry, itf.LOCALIZATION_DEBUG_ODOMETRY_ONLY, itf.RELIABLE_QOS
        )
        self.diagnostics = DiagnosticsPublisher(self)
        self.tf = TfBroadcaster(self, static_transforms(vehicle))
        self.create_subscription(Imu, itf.IMU_DATA, self._on_imu, itf.SENSOR_QOS)
        self.create_subscription(NavSatFix, itf.GNSS_FIX, self._on_fix, itf.SENSOR_QOS)
        self.create_subscription(PointCloud2, itf.LIDAR_POINTS, self._on_points, itf.SENSOR_QOS)
        self.create_subscription(JointState, itf.VEHICLE_STATUS, self._on_status, itf.RELIABLE_QOS)
        self.create_timer(1.0 / p.rate_hz, self._publish_without_imu)
        self.create_timer(1.0 / p.diagnostics_rate_hz, self._report)

    # -- inputs -----------------------------------------------------------------------------------
    def _decode(self, kind: str, decode, msg, *frame_ids):
        try:
            return decode(msg, *frame_ids)
        except itf.InterfaceError as err:
            self.localizer.reject(f"{kind}_invalid", str(err))
            return None

    def _on_imu(self, msg: Imu) -> None:
        sample = self._decode("imu", itf.decode_imu, msg, self.frame_ids[ct.IMU_FRAME])
        if sample is not None:
            gyro = self._imu_rotation @ sample.angular_velocity_radps
            accel = self._imu_rotation @ sample.linear_acceleration_mps2
            self.localizer.on_imu(sample.stamp_s, float(gyro[2]), float(accel[0]))
            if sample.stamp_s >= self._published_s + 1.0 / self.params.rate_hz - STAMP_TOLERANCE_S:
                self._publish()

    def _on_status(self, msg: JointState) -> None:
        status = self._decode("vehicle_status", itf.decode_vehicle_status, msg)
        if status is None:
            return
        self.localizer.on_wheel(status.stamp_s, status.speed_mps, status.steer_rad)
        self._odometry_baseline(status)

    def _on_fix(self, msg: NavSatFix) -> None:
        fix = self._decode("gnss", itf.decode_gnss_fix, msg, self.frame_ids[ct.GNSS_FRAME])
        if fix is None:
            return
        try:
            map_fix = self.projector.to_map(fix)
        except FixRejected as err:
            self.localizer.reject(err.reason, str(err))
            return
        self.localizer.on_fix(map_fix)
        estimate = self.localizer.estimate()
        pose = self.gnss_only.update(
            map_fix.t_s, map_fix.xy_m, reverse=estimate is not None and estimate.state[SPEED] < 0.0
        )
        if pose is not None and self.params.publish_debug:
            self.gnss_only_pub.publish(
                itf.encode_odometry(ct.PoseEstimate(map_fix.t_s, *pose, 0.0, 0.0))
            )

    def _on_points(self, msg: PointCloud2) -> None:
        points = self._decode("lidar", itf.decode_points, msg, self.frame_ids[ct.LIDAR_FRAME])
        if points is None or self.localizer.matcher is None:
            return
        started = time.perf_counter()
        try:
            self.localizer.on_scan(
                itf.from_stamp(msg.header.stamp),
                self._lidar_pose.to_base_link(points[:, :3].astype(np.float64)),
            )
        except Exception as err:  # a matching bug must cost one scan, never the estimate
            self.localizer.reject("lidar_internal_error", repr(err))
            self.get_logger().error(f"scan matching failed: {err!r}")
        elapsed_ms = (time.perf_counter() - started) * 1e3
        self._match_ms.append(elapsed_ms)
        self._match_ms_max = max(self._match_ms_max, elapsed_ms)

    def _odometry_baseline(self, status: ct.VehicleStatus) -> None:
        """Dead reckoning from where the filter first started, never corrected after."""
        started = self.localizer.initialized_at
        if started is None:
            return
        if self.odometry_only.pose is None:
            self.odometry_only.start(*started)
        pose = self.odometry_only.update(status.stamp_s, status.speed_mps, status.steer_rad)
        if pose is not None and self.params.publish_debug and status.stamp_s >= started[0]:
            self.odometry_only_pub.publish(
                itf.encode_odometry(ct.PoseEstimate(status.stamp_s, *pose, status.speed_mps, 0.0))
            )

    # -- outputs ----------------------------------------------------------------------------------
    def _publish_without_imu(self) -> None:
        """The node-clock fallback: odometry from the other inputs while the IMU is silent."""
        if now_s(self) - self._published_s > IMU_SILENT_PERIODS / self.params.rate_hz:
            self._publish()

    def _publish(self) -> None:
        """The estimate at the newest measurement it includes, stamped with that time."""
        estimate = self.localizer.estimate()
        if estimate is None or estimate.t_s <= self._published_s:
            return
        self._published_s = estimate.t_s
        cov = estimate.covariance
        pose_cov = np.diag([0.0, 0.0, PLANAR_VARIANCE, PLANAR_VARIANCE, PLANAR_VARIANCE, 0.0])
        index = [0, 1, 5]
        pose_cov[np.ix_(index, index)] = cov[np.ix_([X, Y, YAW], [X, Y, YAW])]
        twist_cov = np.diag(
            [
                cov[SPEED, SPEED],
                PLANAR_VARIANCE,
                PLANAR_VARIANCE,
                PLANAR_VARIANCE,
                PLANAR_VARIANCE,
                cov[GYRO_BIAS, GYRO_BIAS],
            ]
        )
        x, y, yaw = estimate.pose
        pose = ct.PoseEstimate(
            stamp_s=estimate.t_s,
            x_m=float(x),
            y_m=float(y),
            yaw_rad=float(yaw),
            speed_mps=float(estimate.state[SPEED]),
            yaw_rate_radps=estimate.yaw_rate_radps,
            pose_covariance=pose_cov,
            twist_covariance=twist_cov,
        )
        self.odometry_pub.publish(itf.encode_odometry(pose))
        self.tf.send(estimate.t_s, [map_to_base_link(pose)])

    def _report(self) -> None:
        loc = self.localizer
        health = loc.health(now_s(self))
        cap = self.max_speed_mps * min(1.0, health.confidence / FULL_SPEED_CONFIDENCE)
        estimate = loc.estimate()
        match = loc.last_match
        recent = self._match_ms
        values = {
            "state": health.mode.value,
            "confidence": f"{health.confidence:.3f}",
            "speed_cap_mps": f"{cap:.2f}",
            "position_sigma_m": f"{health.position_sigma_m:.3f}",
            "yaw_sigma_rad": f"{health.yaw_sigma_rad:.4f}",
            "gyro_bias_radps": f"{estimate.state[GYRO_BIAS]:.5f}" if estimate is not None else "",
            "match_inlier_fraction": f"{match.inlier_fraction:.3f}" if match is not None else "",
            "match_ms_p50": f"{np.percentile(recent, 50):.2f}" if recent else "",
            "match_ms_max": f"{self._match_ms_max:.2f}",
            "last_problem": loc.last_problem,
            "tf_live": "yes" if self.tf.live else "no (no tf2_msgs: TF is in bags only)",
            **{f"nis_{k}": f"{v:.2f}" for k, v in sorted(loc.nis.items())},
            **{f"accepted_{k}": v for k, v in sorted(loc.accepted.items())},
            **{f"rejected_{k}": v for k, v in sorted(loc.rejected.items())},
            **{k: v for k, v in sorted(loc.events.items())},
        }
        self._match_ms = []
        self.diagnostics.publish([ct.Diagnostic("", _LEVEL[health.mode], health.message, values)])


def main(args=None):
    spin_node(LocalizationNode, args)
