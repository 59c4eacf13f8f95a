"""Routing through delivery bays on the district map."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robovan_autonomy.geometry import wrap_angle
from robovan_autonomy.mapping.lanelet_map import load_map
from robovan_autonomy.planning.route import (
    COMFORT_DECEL_MPS2,
    MAX_LATERAL_ACCEL_MPS2,
    AdjacentKind,
    RouteError,
    plan_route,
    reroute,
)
from robovan_autonomy.vehicle_params import load_vehicle_params

HARBOUR_ROAD_EASTBOUND = (30.0, -1.75, 0.0)
MAX_SAMPLE_GAP_M = 0.6
MAX_HEADING_STEP_RAD = 0.1  # 0.5 m at the tightest 8 m turn is 0.06 rad
TOUR = ["bay_A", "bay_C", "bay_E", "bay_F", "bay_G"]


@pytest.fixture(scope="module")
def dmap():
    return load_map()


@pytest.fixture(scope="module")
def tour(dmap):
    return plan_route(dmap, HARBOUR_ROAD_EASTBOUND, TOUR)


def _assert_drivable(path):
    gaps = np.hypot(np.diff(path.x_m), np.diff(path.y_m))
    assert gaps.max() <= MAX_SAMPLE_GAP_M
    assert np.abs(wrap_angle(np.diff(path.yaw_rad))).max() <= MAX_HEADING_STEP_RAD
    van = load_vehicle_params()
    assert np.abs(path.curvature_1pm).max() <= math.tan(van.max_steer_rad) / van.wheelbase_m


def test_route_through_bays_is_continuous_without_heading_jumps(tour):
    _assert_drivable(tour)
    assert np.allclose(np.diff(tour.s_m), np.hypot(np.diff(tour.x_m), np.diff(tour.y_m)))


def test_curvature_is_continuous_across_lanelet_joints(tour):
    # A raw straight-to-arc joint jumps by 1/8.25 m; smoothing spreads it over metres.
    assert np.abs(np.diff(tour.curvature_1pm)).max() < 0.02


def test_path_stays_near_the_lane_centre(tour):
    assert tour.max_smoothing_offset_m < 0.3
    lane_width = tour.left_width_m + tour.right_width_m
    assert np.allclose(lane_width, 3.5, atol=0.05)


def test_speed_limit_keeps_lateral_accel_within_comfort(tour):
    lateral = tour.speed_limit_mps**2 * np.abs(tour.curvature_1pm)
    assert lateral.max() <= MAX_LATERAL_ACCEL_MPS2 + 1e-9
    assert tour.speed_limit_mps.max() <= 40.0 / 3.6 + 1e-9


def test_speed_limit_drops_are_reachable_at_comfortable_decel(tour):
    v2 = tour.speed_limit_mps**2
    decel = -np.diff(v2) / (2.0 * np.diff(tour.s_m))
    assert decel.max() <= COMFORT_DECEL_MPS2 + 1e-6


def test_bays_are_stops_in_the_requested_order_beside_the_bay(dmap, tour):
    bay_stops = [s for s in tour.stops if s.kind == "delivery_bay"]
    assert [s.name for s in bay_stops] == TOUR
    for stop in bay_stops:
        i = tour.index_at(stop.s_m)
        lane_x, lane_y, _ = dmap.bays[stop.name].lane_pose
        assert math.hypot(tour.x_m[i] - lane_x, tour.y_m[i] - lane_y) < MAX_SAMPLE_GAP_M
        assert tour.right_adjacent_kind[i] == AdjacentKind.DELIVERY_BAY
    assert tour.s_m[-1] == pytest.approx(bay_stops[-1].s_m)


def test_corridor_widens_into_the_bay_over_its_approach(dmap):
    path = plan_route(dmap, HARBOUR_ROAD_EASTBOUND, ["bay_D"])
    bay = dmap.bays["bay_D"]
    (stop,) = [s for s in path.stops if s.kind == "delivery_bay"]
    approach_start = stop.s_m - bay.length_m / 2.0 - bay.approach_m
    beside = path.right_adjacent_kind == AdjacentKind.DELIVERY_BAY
    assert np.all(beside[path.s_m >= approach_start + MAX_SAMPLE_GAP_M])
    assert not np.any(beside[path.s_m < approach_start - MAX_SAMPLE_GAP_M])
    assert np.allclose(path.right_adjacent_width_m[beside], bay.width_m)


def test_stop_lines_come_just_before_their_crosswalk(tour):
    stop_lines = [s for s in tour.stops if s.kind == "stop_line"]
    assert stop_lines
    crosswalk_starts = [s.s_m for s in tour.stops if s.kind == "crosswalk"]
    for line in stop_lines:
        assert line.name.startswith("I")
        assert min(c - line.s_m for c in crosswalk_starts if c > line.s_m) == pytest.approx(
            1.0, abs=0.05
        )


def test_each_signal_on_the_route_is_a_stop_at_its_line_naming_the_signal(dmap, tour):
    signals = [s for s in tour.stops if s.kind == "traffic_light"]
    assert signals
    for stop in signals:
        light = dmap.traffic_lights[stop.signal_id]
        assert stop.name == light.name and stop.lanelet_id == light.lanelet_id
        at = np.array(
            [np.interp(stop.s_m, tour.s_m, tour.x_m), np.interp(stop.s_m, tour.s_m, tour.y_m)]
        )
        assert np.linalg.norm(at - light.stop_line.mean(axis=0)) < 0.35  # smoothing


def test_oncoming_lane_is_flagged_beside_street_lanes(tour):
    oncoming = tour.left_adjacent_kind == AdjacentKind.ONCOMING
    assert oncoming.mean() > 0.5
    assert np.allclose(tour.left_adjacent_width_m[oncoming], 3.5, atol=0.05)


def test_unknown_bay_raises_route_error_naming_it(dmap):
    with pytest.raises(RouteError, match="bay_Z"):
        plan_route(dmap, HARBOUR_ROAD_EASTBOUND, ["bay_A", "bay_Z"])


def test_start_off_the_map_raises_route_error(dmap):
    with pytest.raises(RouteError, match="off the map"):
        plan_route(dmap, (100.0, 80.0, 0.0), ["bay_A"])


def test_goal_pose_off_the_map_raises_route_error(dmap):
    with pytest.raises(RouteError, match="goal_1"):
        plan_route(dmap, HARBOUR_ROAD_EASTBOUND, ["bay_A", (1000.0, 1000.0, 0.0)])


def test_goal_pose_on_a_lane_ends_the_route_there(dmap):
    path = plan_route(dmap, HARBOUR_ROAD_EASTBOUND, [(300.0, 1.75, math.pi)])
    assert math.hypot(path.x_m[-1] - 300.0, path.y_m[-1] - 1.75) < 0.05
    assert path.stops[-1].kind == "goal"


def test_goal_behind_the_start_on_its_lanelet_goes_round_the_block(dmap):
    path = plan_route(dmap, (40.0, -1.75, 0.0), [(20.0, -1.75, 0.0)])
    assert path.length_m > 300.0
    _assert_drivable(path)


def test_reroute_avoids_a_blocked_lanelet(dmap):
    first = plan_route(dmap, HARBOUR_ROAD_EASTBOUND, ["bay_B"])
    blocked = first.lanelet_ids[len(first.lanelet_ids) // 2]
    second = reroute(dmap, HARBOUR_ROAD_EASTBOUND, ["bay_B"], [blocked])
    assert blocked not in second.lanelet_ids and blocked not in set(second.lanelet_id.tolist())
    assert second.stops[-1].name == "bay_B"
    _assert_drivable(second)


def test_blocking_the_bays_lanelet_raises_route_error(dmap):
    with pytest.raises(RouteError, match="blocked"):
        reroute(dmap, HARBOUR_ROAD_EASTBOUND, ["bay_A"], [dmap.bays["bay_A"].lanelet_id])


def test_no_route_raises_route_error(dmap):
    # Both lanes out of the start's street piece leave no way forward.
    start = dmap.nearest_lane(*HARBOUR_ROAD_EASTBOUND)
    successor = dmap.lanes[start.lanelet_id].successor_ids
    with pytest.raises(RouteError, match="no route"):
        reroute(dmap, HARBOUR_ROAD_EASTBOUND, ["bay_A"], successor)


@settings(max_examples=8, deadline=None)
@given(
    order=st.permutations(["bay_A", "bay_B", "bay_C", "bay_D", "bay_E", "bay_F", "bay_G", "bay_H"])
)
def test_any_bay_order_gives_a_drivable_path(dmap, order):
    path = plan_route(dmap, HARBOUR_ROAD_EASTBOUND, order[:4])
    _assert_drivable(path)
    assert [s.name for s in path.stops if s.kind == "delivery_bay"] == list(order[:4])
