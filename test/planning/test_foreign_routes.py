"""Routing on Lanelet2 maps from elsewhere (test/data/maps): every route Lanelet2's own routing
finds, lane changes, two-way lanelets, coarse bends, and stops given as lane positions."""

import math

import lanelet2
import numpy as np
import pytest
from lanelet2.core import AttributeMap, Lanelet, LaneletMap, LineString3d, Point3d, getId
from lanelet2.projection import LocalCartesianProjector

from robovan_autonomy.mapping.lanelet_map import GeodeticOrigin, load_map
from robovan_autonomy.planning.route import RouteError, plan_route, reroute, stop_pose
from robovan_autonomy.vehicle_params import load_vehicle_params

OLD_SMOOTHING_LIMIT_M = 0.3  # what the router allowed before it judged by the lane's width
MAX_HEADING_STEP_RAD = 0.1


def _end(dmap, lane_id):
    return f"{lane_id}@{dmap.lanes[lane_id].length_m}"


def _routes(dmap):
    """(pairs Lanelet2 routes, pairs we route, our refusals by pair) over all ordered lane pairs,
    each route from the start of one lane to the end of the other."""
    theirs, ours, refused = set(), set(), {}
    for a in dmap.lanes:
        for b in dmap.lanes:
            if a == b:
                continue
            if dmap.routing_graph.shortestPath(dmap.lanelet(a), dmap.lanelet(b), 0, True):
                theirs.add((a, b))
            try:
                plan_route(dmap, f"{a}@0", [_end(dmap, b)])
                ours.add((a, b))
            except RouteError as err:
                refused[(a, b)] = str(err)
    return theirs, ours, refused


def _assert_drivable(path):
    van = load_vehicle_params()
    assert np.abs(path.curvature_1pm).max() <= math.tan(van.max_steer_rad) / van.wheelbase_m
    assert np.abs(np.diff(path.yaw_rad)).max() <= MAX_HEADING_STEP_RAD


@pytest.mark.parametrize("which", ["junction_map", "ring_map"])
def test_router_plans_exactly_the_routes_lanelet2_routing_plans(which, request):
    dmap = request.getfixturevalue(which)
    theirs, ours, refused = _routes(dmap)
    assert len(theirs) >= 90
    assert {pair: refused[pair] for pair in theirs - ours} == {}
    assert ours == theirs


def test_lane_change_blends_into_the_neighbour_lane(junction_map):
    path = plan_route(junction_map, "2102@0", [_end(junction_map, 2301)])
    assert path.lanelet_ids == (2102, 2101, 2111, 2411, 2301)
    changing = np.isin(path.lanelet_id, (2101, 2102))
    y = path.y_m[changing]
    assert y[0] == pytest.approx(-5.25, abs=0.05) and y[-1] == pytest.approx(-1.75, abs=0.05)
    assert np.all(np.diff(y) >= -1e-9)  # one smooth move across, no jump
    _assert_drivable(path)


def test_no_lane_change_over_a_solid_line(junction_map):
    with pytest.raises(RouteError, match="no route"):
        plan_route(junction_map, "2112@0", [_end(junction_map, 2301)])


def test_two_way_lanelet_is_routed_in_either_direction(junction_map):
    inbound = plan_route(junction_map, "-2302@0", [_end(junction_map, 2212)])
    assert inbound.lanelet_ids[:3] == (-2302, -2301, 2413)
    outbound = plan_route(junction_map, "2111@0", [_end(junction_map, 2302)])
    assert outbound.lanelet_ids[-2:] == (2301, 2302)


def test_blocking_one_direction_of_a_two_way_lanelet_closes_it(junction_map):
    with pytest.raises(RouteError, match="no route"):
        reroute(junction_map, "-2302@0", [_end(junction_map, 2212)], [2301])


def test_coarse_bends_are_smoothed_within_the_lane(ring_map):
    # Once round the ring: four bends drawn as three vertices each (45° kinks).
    lane = ring_map.nearest_lane(20.0, 1.75, 0.0).lanelet_id
    path = plan_route(ring_map, f"{lane}@10", [f"{lane}@5"])
    assert path.length_m > 300.0
    assert path.max_smoothing_offset_m > OLD_SMOOTHING_LIMIT_M
    half_van = load_vehicle_params().width_m / 2.0
    assert min(path.left_width_m.min(), path.right_width_m.min()) >= half_van
    _assert_drivable(path)


def _kinked_lane(d_m: float) -> list[tuple[float, float]]:
    """30 m east, then 30 m north-east, shifted d_m to the left (mitred at the kink)."""
    c = s = math.sqrt(0.5)
    return [
        (0.0, d_m),
        (30.0 - d_m * math.tan(math.pi / 8), d_m),
        (30.0 + 30.0 * c - d_m * s, 30.0 * s + d_m * c),
    ]


def test_smoothing_that_would_take_the_van_out_of_its_lane_is_refused(tmp_path):
    # 2 m wide: 0.1 m to spare each side of the van, where smoothing the kink moves 0.4 m.
    def line(points):
        return LineString3d(getId(), [Point3d(getId(), x, y, 0.0) for x, y in points])

    lmap = LaneletMap()
    road = AttributeMap({"subtype": "road"})
    lmap.add(Lanelet(getId(), line(_kinked_lane(1.0)), line(_kinked_lane(-1.0)), road))
    osm = tmp_path / "narrow.osm"
    lanelet2.io.write(str(osm), lmap, LocalCartesianProjector(lanelet2.io.Origin(49.0, 8.4, 0.0)))
    narrow = load_map(osm, GeodeticOrigin(49.0, 8.4, 0.0))
    (lane_id,) = narrow.lanes
    with pytest.raises(RouteError, match="leave its lane"):
        plan_route(narrow, f"{lane_id}@0", [_end(narrow, lane_id)])


def test_stop_at_a_lane_position_ends_the_route_there(junction_map):
    path = plan_route(junction_map, "2111@5", ["2201@30"])
    (goal,) = [s for s in path.stops if s.kind == "goal"]
    assert goal.name == "2201@30" and goal.lanelet_id == 2201
    x, y, _ = stop_pose(junction_map, "2201@30")
    assert math.hypot(path.x_m[-1] - x, path.y_m[-1] - y) < 0.05
    assert goal.s_m == pytest.approx(path.length_m)


@pytest.mark.parametrize(
    "stop, why",
    [
        ("2201@99", "48.00 m long"),
        ("2501@3", "no lanelet 2501 a vehicle may drive"),
        ("2201@x", "LANELET_ID@S_M"),
        ("bay_A", "no bays"),
    ],
)
def test_bad_stop_raises_route_error_saying_why(junction_map, stop, why):
    with pytest.raises(RouteError, match=why):
        plan_route(junction_map, "2111@5", [stop])
