"""What a run report is built from, besides the scenario: the van's true state at each step and
the map's features, as plain records in the map frame.

The recorder stores them, the metrics measure the run against them and the plot draws them; they
live apart from all three so that a caller building them (the simulation runner, a benchmark)
needs none of those.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from robovan_autonomy.sim.scenario import Scenario, parked_pose, start_pose_in_map
from robovan_autonomy.vehicle_params import VehicleParams


@dataclasses.dataclass(frozen=True)
class VanTruth:
    """The van's true state at one step (from the plant), map frame."""

    x_m: float
    y_m: float
    yaw_rad: float
    speed_mps: float
    accel_mps2: float
    steer_rad: float
    lat_accel_mps2: float

    @classmethod
    def from_plant(cls, state: Any) -> VanTruth:
        """From a sim.van_plant.PlantState; lateral acceleration = speed × yaw rate."""
        return cls(
            state.x_m,
            state.y_m,
            state.yaw_rad,
            state.speed_mps,
            state.accel_mps2,
            state.steer_rad,
            state.speed_mps * state.yaw_rate_radps,
        )


@dataclasses.dataclass(frozen=True)
class MapFeatures:
    """What the report needs from the map, as plain arrays in the map frame."""

    route_xy: np.ndarray | None = None  # (N, 2) lane centreline from the start through every stop
    bays: dict = dataclasses.field(default_factory=dict)
    # name → (x, y, yaw) of base_link when parked
    curbs: tuple = ()  # (K, 2) polylines the van's footprint must not cross
    stop_lines: tuple = ()  # (K, 2) polylines where the van must come to a stop before crossing
    # signal id → (name, (K, 2) stop line): where the van must not cross while its signal is red
    traffic_lights: dict = dataclasses.field(default_factory=dict)
    parked_cars: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 6)))
    # (N, 6) x, y, yaw, length, width, height of parked vehicles that are part of the map
    lanes: tuple = ()  # (K, 2) centrelines, drawn only
    buildings: tuple = ()  # (K, 2) polygons, drawn only

    @classmethod
    def from_map(cls, district_map: Any, scenario: Scenario, vehicle: VehicleParams) -> MapFeatures:
        """From a mapping.lanelet_map.DistrictMap: the route is the shortest lane path from the
        start pose through every mission stop, ending where base_link parks in the last bay."""
        return cls(
            route_xy=route_polyline(district_map, scenario, vehicle),
            bays={
                name: parked_pose(bay.bay_pose, vehicle) for name, bay in district_map.bays.items()
            },
            curbs=tuple(c.points for c in district_map.curbs),
            stop_lines=tuple(sl.points for sl in district_map.stop_lines.values()),
            traffic_lights={
                i: (tl.name, tl.stop_line) for i, tl in district_map.traffic_lights.items()
            },
            parked_cars=np.asarray(district_map.parked_cars, dtype=float).reshape(-1, 6),
            lanes=tuple(lane.centerline for lane in district_map.lanes.values()),
            buildings=tuple(b.polygon for b in district_map.buildings),
        )


def route_polyline(district_map: Any, scenario: Scenario, vehicle: VehicleParams) -> np.ndarray:
    """(N, 2) centreline route: start pose → each mission bay in order (where base_link parks)."""
    x, y, yaw = start_pose_in_map(scenario, district_map, vehicle)
    match = district_map.nearest_lane(x, y, yaw)
    if match is None:
        raise ValueError(f"scenario {scenario.name}: the start pose is on no lane")
    centre_ahead_m = vehicle.length_m / 2.0 - vehicle.rear_overhang_m
    targets = [(match.lanelet_id, match.s_m)]
    for stop in scenario.mission:
        bay = district_map.bays[stop.bay]
        targets.append((bay.lanelet_id, max(bay.lane_s_m - centre_ahead_m, 0.0)))
    legs = [_route_leg(district_map, a, b) for a, b in zip(targets, targets[1:])]
    return np.vstack([legs[0]] + [leg[1:] for leg in legs[1:]]) if legs else np.zeros((0, 2))


def _route_leg(district_map: Any, start: tuple[int, float], goal: tuple[int, float]) -> np.ndarray:
    (lane_a, s_a), (lane_b, s_b) = start, goal
    lanes, layer = district_map.lanes, district_map.lanelet_map.laneletLayer
    if lane_a == lane_b and s_b >= s_a:
        ids = [lane_a]
    else:  # a goal behind the start on the same lanelet needs a way round the block
        firsts = lanes[lane_a].successor_ids if lane_a == lane_b else (lane_a,)
        paths = [district_map.routing_graph.shortestPath(layer[f], layer[lane_b]) for f in firsts]
        options = [([lane_a] if lane_a == lane_b else []) + [ll.id for ll in p] for p in paths if p]
        if not options:
            raise ValueError(f"no route from lanelet {lane_a} to lanelet {lane_b}")
        ids = min(options, key=lambda o: sum(lanes[i].length_m for i in o))
    points = np.vstack([lanes[ids[0]].centerline] + [lanes[i].centerline[1:] for i in ids[1:]])
    s = np.concatenate(([0.0], np.cumsum(np.hypot(*np.diff(points, axis=0).T))))
    s_end = s[-1] - (lanes[ids[-1]].length_m - s_b)
    inner = (s > s_a) & (s < s_end)
    ends = [np.interp(v, s, points[:, k]) for v in (s_a, s_end) for k in (0, 1)]
    return np.vstack([ends[:2], points[inner], ends[2:]])
