"""The planner core: route → behaviour → MPC, and a controlled stop whenever it cannot plan."""

import dataclasses
import math

import numpy as np
import pytest

from robovan_autonomy.core_types import empty_objects
from robovan_autonomy.mapping.lanelet_map import load_map
from robovan_autonomy.perception.classes import ObjectClass
from robovan_autonomy.planning.planner import (
    CONTROLLED_STOP_DECEL_MPS2,
    CONTROLLED_STOP_JERK_MPS3,
    Planner,
    PlannerInput,
    controlled_stop_schedule,
)
from robovan_autonomy.planning.route import RouteError
from robovan_autonomy.vehicle_params import load_vehicle_params


@pytest.fixture(scope="module")
def district():
    return load_map()


@pytest.fixture(scope="module")
def vehicle():
    return load_vehicle_params()


def lane_start(district, vehicle):
    """On Harbour Road's eastbound lane, heading east towards bay_D."""
    return PlannerInput(0.0, 100.0, -1.75, 0.0, 0.0, 0.0, 0.0, empty_objects())


def test_controlled_stop_brakes_to_standstill_without_exceeding_decel_or_jerk():
    schedule = controlled_stop_schedule(8.0, 0.05, 0.0, 8.0, 0.05)
    assert schedule.accel_mps2.min() >= -CONTROLLED_STOP_DECEL_MPS2 - 1e-9
    assert np.max(np.abs(np.diff(schedule.accel_mps2))) <= CONTROLLED_STOP_JERK_MPS3 * 0.05 + 1e-9
    assert schedule.speed_mps[-1] == 0.0
    np.testing.assert_array_equal(schedule.steer_rad, 0.05)


def test_controlled_stop_at_standstill_holds_the_brake():
    schedule = controlled_stop_schedule(0.0, 0.0, 0.0, 2.0, 0.1)
    assert np.all(schedule.accel_mps2 <= 0.0)
    assert schedule.accel_mps2[-1] < 0.0


def test_unknown_mission_bay_is_refused_at_construction(district, vehicle):
    with pytest.raises(RouteError, match="bay_Z"):
        Planner(district, vehicle, [("bay_Z", 5.0)])


def test_mission_on_a_map_without_bays_stops_at_a_lane_position(junction_map, vehicle):
    planner = Planner(junction_map, vehicle, [("2201@30", 5.0)])
    x, y, yaw = junction_map.lanes[2111].pose_at(5.0)
    output = planner.step(PlannerInput(0.0, x, y, yaw, 0.0, 0.0, 0.0, empty_objects()))
    assert output.ok and output.schedule.speed_mps.max() > 0.5
    assert planner.route.stops[-1].name == "2201@30"
    stop_x, stop_y, _ = planner.progress.stops[0].stop_pose
    lane_x, lane_y, _ = junction_map.lanes[2201].pose_at(30.0)
    behind = vehicle.length_m / 2.0 - vehicle.rear_overhang_m  # base_link behind the centre
    assert (stop_x, stop_y) == pytest.approx((lane_x - behind, lane_y), abs=1e-6)


def test_non_finite_pose_yields_a_controlled_stop(district, vehicle):
    planner = Planner(district, vehicle, [("bay_D", 5.0)])
    inputs = PlannerInput(1.0, math.nan, -1.75, 0.0, 3.0, 0.0, 0.0, empty_objects())
    output = planner.step(inputs)
    assert not output.ok
    assert "non-finite" in output.state
    assert output.schedule.accel_mps2.max() <= 0.0


def test_a_van_at_rest_on_the_route_is_planned_to_pull_away(district, vehicle):
    planner = Planner(district, vehicle, [("bay_D", 5.0)])
    output = planner.step(lane_start(district, vehicle))
    assert output.ok and output.solver_ok
    assert output.schedule.speed_mps.max() > 0.5
    assert output.schedule.time_from_start_s[-1] >= 4.0


def test_plan_poses_start_near_the_van(district, vehicle):
    planner = Planner(district, vehicle, [("bay_D", 5.0)])
    output = planner.step(lane_start(district, vehicle))
    assert np.hypot(output.poses[0, 0] - 100.0, output.poses[0, 1] + 1.75) < 0.5


def blocked_lane():
    """A car standing in the lane 20 m past lane_start, and one beside it in the oncoming lane."""
    objects = empty_objects()
    rows = np.zeros(2, dtype=objects.dtype)
    for row, (track, x, y) in zip(rows, ((1, 125.0, -1.75), (2, 125.0, 1.75))):
        row["x"], row["y"], row["length"], row["width"], row["height"] = x, y, 4.5, 1.8, 1.5
        row["class_id"], row["track_id"], row["score"] = ObjectClass.CAR, track, 0.9
    return rows


def test_a_van_waiting_long_at_a_blockage_asks_for_a_reroute_and_keeps_planning(district, vehicle):
    planner = Planner(district, vehicle, [("bay_D", 5.0)])
    start = lane_start(district, vehicle)
    outputs = [
        planner.step(dataclasses.replace(start, stamp_s=float(t), objects=blocked_lane()))
        for t in range(30)
    ]
    asked = [
        k for k, out in enumerate(outputs) if any("REROUTE_REQUESTED" in e for e in out.events)
    ]
    assert asked
    assert all(out.ok and out.solver_ok for out in outputs[asked[0] :])
    assert planner.route is not None  # replanned after the request (straight on: no way round)
