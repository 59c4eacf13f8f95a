"""LiDAR perception per scan: ground removal, drivable-area filter, clustering and box fitting
(`p50_ms` …, target ≤ 20 ms), and the tracker's update with those boxes (`tracker_p50_ms` …), on
full 32 × 1024 scans driving down Market Street past its parked cars with moving actors about."""

from __future__ import annotations

import numpy as np
from _sensor_scene import summary, timed

from robovan_autonomy.core_types import PoseEstimate
from robovan_autonomy.mapping.lanelet_map import load_map
from robovan_autonomy.perception.classes import ObjectClass
from robovan_autonomy.perception.lidar_objects import DrivableArea, LidarObjectDetector
from robovan_autonomy.perception.tracker import Tracker
from robovan_autonomy.sim.district_scene import build_scene
from robovan_autonomy.sim.lidar import LidarConfig, LidarModel
from robovan_autonomy.sim.scene import Box, Pose3
from robovan_autonomy.vehicle_params import load_vehicle_params

SCANS, QUICK_SCANS = 100, 15
SCAN_PERIOD_S = 0.1
VAN_SPEED_MPS = 8.0
LANE_Y_M = 168.25  # Market Street, eastbound lane centre (config/maps/README.md)
START_X_M = 40.0
# (class, size, x, y, vx, vy): traffic and people around the van's path.
ACTORS = (
    (ObjectClass.CAR, (4.5, 1.8, 1.5), 70.0, 171.75, -8.0, 0.0),
    (ObjectClass.CAR, (4.5, 1.8, 1.5), 60.0, 168.25, 8.0, 0.0),
    (ObjectClass.VAN_TRUCK, (5.4, 2.0, 2.3), 120.0, 171.75, -6.0, 0.0),
    (ObjectClass.PEDESTRIAN, (0.6, 0.6, 1.75), 90.0, 162.5, 0.0, 1.4),
    (ObjectClass.PEDESTRIAN, (0.6, 0.6, 1.75), 110.0, 177.0, 1.2, 0.0),
    (ObjectClass.CYCLIST, (1.8, 0.6, 1.75), 50.0, 167.0, 5.0, 0.0),
)


def run(quick: bool = False) -> dict:
    params = load_vehicle_params()
    district = load_map()
    scene = build_scene(district)
    lidar = LidarModel(LidarConfig.from_vehicle_params(params))
    extrinsic = params.sensor_pose("lidar_top")
    rng = np.random.default_rng(0)
    scans = []
    for k in range(QUICK_SCANS if quick else SCANS):
        t = k * SCAN_PERIOD_S
        scene.set_boxes(
            [
                Box(
                    x + vx * t,
                    y + vy * t,
                    0.0,
                    float(np.arctan2(vy, vx)),
                    *size,
                    None,
                    int(c),
                    i + 1,
                )
                for i, (c, size, x, y, vx, vy) in enumerate(ACTORS)
            ]
        )
        x = START_X_M + VAN_SPEED_MPS * t
        base = Pose3.from_xyz_ypr(x, LANE_Y_M, 0.0, 0.0)
        scans.append(
            (
                PoseEstimate(t, x, LANE_Y_M, 0.0, VAN_SPEED_MPS, 0.0),
                lidar.scan(scene, base.compose(extrinsic), rng).points,
            )
        )
    detector = LidarObjectDetector(params, extrinsic, drivable=DrivableArea(district, 2.5))
    tracker = Tracker()
    detector.detect(scans[0][1], scans[0][0])  # warm-up
    lidar_ms, tracker_ms, clusters, tracks = [], [], [], []
    for pose, points in scans:
        elapsed, boxes = timed(lambda: detector.detect(points, pose))
        lidar_ms.append(elapsed)
        clusters.append(len(boxes))
        elapsed, _ = timed(lambda: tracker.update_lidar(pose.stamp_s, boxes))
        tracker_ms.append(elapsed)
        tracks.append(len(tracker.tracks))
    return {
        **summary(lidar_ms),
        **summary(tracker_ms, "tracker_"),
        "scans": len(scans),
        "mean_points": float(np.mean([len(p) for _, p in scans])),
        "mean_clusters": float(np.mean(clusters)),
        "mean_tracks": float(np.mean(tracks)),
    }


if __name__ == "__main__":
    print(run())
