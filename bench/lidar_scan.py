"""LiDAR model: one full 32 × 1024 sweep in a district of 100 buildings, ~500 curb segments and
30 moving actors (target ≤ 40 ms on one core). Also times a tilted sensor (per-beam path) and
the per-frame actor update shared with the camera."""

from __future__ import annotations

import numpy as np
from _sensor_scene import drive, summary, timed

from robovan_autonomy.sim.lidar import LidarConfig, LidarModel
from robovan_autonomy.sim.scene import Pose3
from robovan_autonomy.vehicle_params import load_vehicle_params

ACTORS = 30
TILT_PITCH_RAD = 0.03  # a braking van's nose dip
TILT_ROLL_RAD = 0.02


def run(quick: bool = False) -> dict:
    params = load_vehicle_params()
    spec = params.sensors["lidar_top"]
    model = LidarModel(LidarConfig.from_vehicle_params(params))
    extrinsic = params.sensor_pose("lidar_top")
    district, frames = drive(1.0 / spec["rate_hz"], ACTORS, quick)
    scene, rng = district.scene, np.random.default_rng(0)
    model.scan(scene, frames[0][0].compose(extrinsic), rng)  # warm-up
    level, tilted, updates, points = [], [], [], []
    for base, boxes in frames:
        updates.append(timed(lambda: scene.set_boxes(boxes))[0])
        elapsed, scan = timed(lambda: model.scan(scene, base.compose(extrinsic), rng))
        level.append(elapsed)
        points.append(len(scan.points))
        pitched = Pose3.from_xyz_ypr(*base.position, base.yaw_rad, TILT_PITCH_RAD, TILT_ROLL_RAD)
        tilted.append(timed(lambda: model.scan(scene, pitched.compose(extrinsic), rng))[0])
    return {
        **summary(level),
        **summary(tilted, "tilted_"),
        **summary(updates, "set_boxes_"),
        "frames": len(frames),
        "mean_points": float(np.mean(points)),
        "actors": ACTORS,
        "buildings": len(scene.prisms),
        "static_segments": len(scene.static_segments),
    }


if __name__ == "__main__":
    print(run())
