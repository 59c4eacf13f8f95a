"""Random street scenes around the van in the delivery district, rendered by the simulator's camera.

Shared by the dataset generator and the held-out evaluation: a frame is the van on a random lane
with road users placed where they belong (vehicles on lanes and heading along them, cyclists at
the right edge of a lane, pedestrians on sidewalks and the road, obstacles on the road), plus the
map's parked cars. The renderer returns the image and occlusion-aware 2D ground truth.
"""

from __future__ import annotations

import dataclasses
import math

import cv2
import numpy as np

from robovan_autonomy.camera_model import CameraIntrinsics
from robovan_autonomy.geometry import project_on_polyline
from robovan_autonomy.mapping.lanelet_map import DistrictMap, load_map
from robovan_autonomy.perception.classes import ObjectClass
from robovan_autonomy.sim.camera import CameraFrame, CameraRenderer
from robovan_autonomy.sim.district_scene import build_scene
from robovan_autonomy.sim.scene import Box, Pose3
from robovan_autonomy.vehicle_params import load_vehicle_params

# (class, weight, (length, width, height) low, high) of the road users placed; sizes around the
# scenario actor types' defaults (sim/scenario.py), trucks from 7 m (drawn as cab + cargo box).
ACTOR_KINDS = (
    (ObjectClass.CAR, 0.27, (3.8, 1.65, 1.35), (5.0, 1.95, 1.75)),
    (ObjectClass.VAN_TRUCK, 0.12, (4.8, 1.85, 2.0), (6.2, 2.1, 2.8)),
    (ObjectClass.VAN_TRUCK, 0.06, (7.0, 2.3, 2.9), (10.0, 2.55, 3.8)),
    (ObjectClass.PEDESTRIAN, 0.30, (0.45, 0.5, 1.45), (0.7, 0.7, 1.95)),
    (ObjectClass.CYCLIST, 0.17, (1.6, 0.5, 1.6), (1.95, 0.7, 1.9)),
    (ObjectClass.STATIC, 0.08, (0.5, 0.5, 0.6), (2.0, 1.5, 1.5)),
)
ACTORS_PER_FRAME = (3, 16)  # uniform count of placed road users
AHEAD_M = (2.0, 70.0)  # placement window in the van's frame: ahead of the camera
LATERAL_M = 14.0  # … and this far either side
LANE_SNAP_M = 4.0  # vehicles farther than this from every lane are placed elsewhere
LANE_JITTER_M = 0.35  # lateral scatter of vehicles about the lane centre
CYCLIST_RIGHT_OFFSET_M = 1.1  # cyclists ride this far right of the lane centre
HEADING_JITTER_RAD = 0.08
VAN_LATERAL_JITTER_M = 0.4
VAN_HEADING_JITTER_RAD = 0.05
PLACEMENT_TRIES = 40
BUILDING_MASK_RES_M = 0.5
CLEARANCE_M = 0.3  # between the footprint discs of two placed objects
FIRST_ACTOR_ID = 100_000  # above the parked cars' ids (sim/district_scene.py)


@dataclasses.dataclass(frozen=True)
class RenderedFrame:
    image: np.ndarray  # (H, W, 3) bgr8, the camera's full resolution
    frame: CameraFrame


class SceneSampler:
    def __init__(self, seed: int, district: DistrictMap | None = None):
        self.rng = np.random.default_rng(seed)
        self.district = district or load_map()
        self.vehicle = load_vehicle_params()
        self.scene = build_scene(self.district, palette_seed=seed)
        self.renderer = CameraRenderer(CameraIntrinsics.from_vehicle_params(self.vehicle))
        self.extrinsic = self.vehicle.sensor_pose("camera_front")
        self.lanes = list(self.district.lanes.values())
        lengths = np.array([lane.length_m for lane in self.lanes])
        self.lane_weights = lengths / lengths.sum()
        self._build_building_mask()
        self._next_id = FIRST_ACTOR_ID

    def _build_building_mask(self) -> None:
        polygons = [b.polygon for b in self.district.buildings]
        points = np.concatenate(polygons)
        self.mask_origin = points.min(axis=0) - 5.0
        size = np.ceil((points.max(axis=0) + 5.0 - self.mask_origin) / BUILDING_MASK_RES_M).astype(
            int
        )
        self.building_mask = np.zeros((size[1], size[0]), np.uint8)
        cv2.fillPoly(
            self.building_mask,
            [
                np.round((p - self.mask_origin) / BUILDING_MASK_RES_M).astype(np.int32)
                for p in polygons
            ],
            1,
        )

    def _in_building(self, x: float, y: float) -> bool:
        col, row = np.round((np.array([x, y]) - self.mask_origin) / BUILDING_MASK_RES_M).astype(int)
        h, w = self.building_mask.shape
        return not (0 <= row < h and 0 <= col < w) or bool(self.building_mask[row, col])

    def van_pose(self) -> Pose3:
        rng = self.rng
        lane = self.lanes[rng.choice(len(self.lanes), p=self.lane_weights)]
        s = rng.uniform(0.0, lane.length_m)
        x = np.interp(s, lane.s_m, lane.centerline[:, 0])
        y = np.interp(s, lane.s_m, lane.centerline[:, 1])
        _, _, _, heading = project_on_polyline(lane.centerline, x, y)
        lateral = rng.normal(0.0, VAN_LATERAL_JITTER_M)
        x, y = x - math.sin(heading) * lateral, y + math.cos(heading) * lateral
        return Pose3.from_xyz_ypr(x, y, 0.0, heading + rng.normal(0.0, VAN_HEADING_JITTER_RAD))

    def _place(self, kind: int, size: np.ndarray, van: Pose3) -> tuple[float, float, float] | None:
        """(x, y, yaw) in map for one road user of class `kind`, or None."""
        rng = self.rng
        ahead = AHEAD_M[0] + (AHEAD_M[1] - AHEAD_M[0]) * rng.random() ** 1.3  # more near than far
        local = np.array([ahead + self.extrinsic.x_m, rng.uniform(-LATERAL_M, LATERAL_M), 0.0])
        x, y = van.to_map(local[None])[0, :2]
        if kind in (ObjectClass.PEDESTRIAN, ObjectClass.STATIC):
            match = self.district.nearest_lane(x, y)
            if kind == ObjectClass.STATIC and (match is None or match.distance_m > LANE_SNAP_M):
                return None
            return None if self._in_building(x, y) else (x, y, rng.uniform(-math.pi, math.pi))
        match = self.district.nearest_lane(x, y)
        if match is None or match.distance_m > LANE_SNAP_M:
            return None
        lane = self.district.lanes[match.lanelet_id]
        s = match.s_m
        cx = np.interp(s, lane.s_m, lane.centerline[:, 0])
        cy = np.interp(s, lane.s_m, lane.centerline[:, 1])
        _, _, _, heading = project_on_polyline(lane.centerline, cx, cy)
        offset = rng.normal(0.0, LANE_JITTER_M)
        if kind == ObjectClass.CYCLIST:
            offset -= CYCLIST_RIGHT_OFFSET_M
        yaw = heading + rng.normal(0.0, HEADING_JITTER_RAD)
        if rng.random() < 0.05:  # a vehicle turning across or reversing: any heading happens
            yaw = rng.uniform(-math.pi, math.pi)
        return cx - math.sin(heading) * offset, cy + math.cos(heading) * offset, yaw

    def actors(self, van: Pose3) -> list[Box]:
        rng = self.rng
        weights = np.array([k[1] for k in ACTOR_KINDS])
        discs = [
            (
                van.position[0] + math.cos(van.yaw_rad) * 1.5,
                van.position[1] + math.sin(van.yaw_rad) * 1.5,
                3.0,
            )
        ]
        near = self.scene.static_boxes
        discs += [
            (b.x_m, b.y_m, 0.5 * math.hypot(b.length_m, b.width_m))
            for b in near
            if abs(b.x_m - van.position[0]) < 100 and abs(b.y_m - van.position[1]) < 100
        ]
        boxes = []
        for _ in range(rng.integers(ACTORS_PER_FRAME[0], ACTORS_PER_FRAME[1] + 1)):
            kind, _, low, high = ACTOR_KINDS[
                rng.choice(len(ACTOR_KINDS), p=weights / weights.sum())
            ]
            size = rng.uniform(low, high)
            if kind != ObjectClass.STATIC:
                size[:2] = np.sort(size[:2])[::-1]  # length along the heading
            radius = 0.5 * math.hypot(size[0], size[1])
            for _ in range(PLACEMENT_TRIES):
                pose = self._place(kind, size, van)
                if pose is None:
                    continue
                if all(
                    math.hypot(pose[0] - x, pose[1] - y) > radius + r + CLEARANCE_M
                    for x, y, r in discs
                ):
                    discs.append((pose[0], pose[1], radius))
                    boxes.append(
                        Box(
                            pose[0],
                            pose[1],
                            0.0,
                            pose[2],
                            *map(float, size),
                            None,
                            int(kind),
                            self._next_id,
                        )
                    )
                    self._next_id += 1
                    break
        return boxes

    def frame(self) -> RenderedFrame:
        van = self.van_pose()
        self.scene.set_boxes(self.actors(van))
        frame = self.renderer.render(self.scene, van.compose(self.extrinsic))
        return RenderedFrame(frame.image, frame)
