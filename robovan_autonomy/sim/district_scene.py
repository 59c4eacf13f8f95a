"""The adapter from a Lanelet2 district map to the sensor models' Scene.

Parked cars are the scene's static boxes rather than prisms: they are objects the van must
perceive, so they carry an object id for the LiDAR's per-point ground truth and the camera's 2D
boxes, yet they never move, so the scene builds their geometry once instead of every frame.
"""

from __future__ import annotations

import numpy as np

from robovan_autonomy.mapping.lanelet_map import DistrictMap
from robovan_autonomy.perception.classes import ObjectClass
from robovan_autonomy.sim.scene import Box, GroundPolygon, LaneMarking, Prism, Scene, Wall

PARKED_CAR_ID_BASE = 10_000  # object ids of parked cars; scenario actors count from 1
MARKING_WIDTH_M = {"solid": 0.12, "dashed": 0.12, "stop_line": 0.40, "crosswalk_stripe": 0.50}
ROAD_COLOUR_BGR = (78, 76, 74)
ROAD_REFLECTIVITY = 0.10


def build_scene(district: DistrictMap, palette_seed: int = 0) -> Scene:
    prisms = [Prism(b.polygon, 0.0, b.height_m) for b in district.buildings]
    walls = [
        Wall(np.vstack([c.points, c.points[:1]]) if c.closed else c.points, 0.0, c.height_m)
        for c in district.curbs
    ]
    roads = [
        GroundPolygon(surface.outer, ROAD_COLOUR_BGR, ROAD_REFLECTIVITY)
        for surface in district.road_surface
    ]
    crosswalk_stripes = [m for m in district.markings if m.kind == "crosswalk_stripe"]
    markings = [
        LaneMarking(m.points, m.width_m or MARKING_WIDTH_M.get(m.kind, 0.12))
        for m in district.markings
        if m.kind != "crosswalk_stripe"
    ]
    markings += [
        LaneMarking(m.points, m.width_m or MARKING_WIDTH_M["crosswalk_stripe"])
        for m in crosswalk_stripes
    ]
    return Scene(
        prisms=prisms,
        walls=walls,
        roads=roads,
        markings=markings,
        palette_seed=palette_seed,
        static_boxes=parked_car_boxes(district),
    )


def parked_car_boxes(district: DistrictMap) -> list[Box]:
    return [
        Box(
            x,
            y,
            0.0,
            yaw,
            length,
            width,
            height,
            None,
            int(ObjectClass.CAR),
            PARKED_CAR_ID_BASE + i,
        )
        for i, (x, y, yaw, length, width, height) in enumerate(district.parked_cars)
    ]
