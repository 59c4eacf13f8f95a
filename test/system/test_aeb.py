"""The independent AEB: raw LiDAR returns in the swept path of the command, TTC, trigger."""

import math
import subprocess
import sys

import numpy as np

from robovan_autonomy.system.aeb import (
    MIN_POINTS,
    Aeb,
    AebConfig,
    contact_distances,
    obstacle_points,
    swept_poses,
)
from robovan_autonomy.vehicle_params import load_vehicle_params

VEHICLE = load_vehicle_params()
CONFIG = AebConfig.from_vehicle(VEHICLE)
FRONT_M = CONFIG.front_m
STRAIGHT = (np.array([0.0]), np.array([0.0]))


def post(x_m: float, y_m: float = 0.0, count: int = 20) -> np.ndarray:
    """A pole-like obstacle: returns stacked from 0.5 m to 1.5 m above the road (base_link)."""
    z = np.linspace(0.5, 1.5, count)
    return np.column_stack([np.full(count, x_m), np.full(count, y_m), z])


def check(points, speed=10.0, length=60.0, path=STRAIGHT, aeb=None, stamp=0.0, min_length=0.0):
    aeb = aeb or Aeb(CONFIG)
    return aeb.check(stamp, points, path[0], path[1], length, speed, min_length)


def test_obstacle_inside_the_braking_distance_triggers():
    gap = 0.5 * CONFIG.braking_distance_m(10.0)
    result = check(post(FRONT_M + gap))
    assert result.trigger
    assert math.isclose(result.distance_m, gap, abs_tol=0.3)
    assert math.isclose(result.ttc_s, result.distance_m / 10.0)


def test_obstacle_beyond_the_braking_distance_does_not_trigger():
    result = check(post(FRONT_M + CONFIG.braking_distance_m(10.0) + 3.0))
    assert not result.trigger and math.isfinite(result.distance_m)


def test_obstacle_beside_the_path_is_not_in_it():
    clear = CONFIG.half_width_m + CONFIG.lateral_margin_m + 0.2
    assert not math.isfinite(check(post(FRONT_M + 5.0, y_m=clear)).distance_m)


def test_obstacle_beyond_a_command_that_stops_short_is_not_swept():
    result = check(post(FRONT_M + 8.0), speed=3.0, length=5.0)
    assert not result.trigger and not math.isfinite(result.distance_m)


def test_road_and_overhead_returns_are_not_obstacles():
    road = np.column_stack([np.linspace(5, 20, 50), np.zeros(50), np.full(50, 0.05)])
    sign = np.column_stack(
        [np.linspace(5, 20, 50), np.zeros(50), np.full(50, VEHICLE.height_m + 1.0)]
    )
    assert len(obstacle_points(np.vstack([road, sign]), CONFIG)) == 0


def test_fewer_returns_than_an_obstacle_needs_are_noise():
    assert not check(post(FRONT_M + 2.0, count=MIN_POINTS - 1)).trigger


def test_curved_path_sweeps_what_the_turn_reaches():
    steer = 0.3
    radius = VEHICLE.wheelbase_m / math.tan(steer)
    heading = math.pi / 4.0  # 45° into the left turn
    x, y = radius * math.sin(heading), radius * (1.0 - math.cos(heading))
    ahead = np.array([x + 2.0 * math.cos(heading), y + 2.0 * math.sin(heading)])
    turning = check(post(*ahead), speed=5.0, length=30.0, path=(np.array([0.0]), np.array([steer])))
    straight = check(post(*ahead), speed=5.0, length=30.0)
    assert math.isfinite(turning.distance_m) and not math.isfinite(straight.distance_m)


def test_vehicle_ahead_at_a_constant_gap_does_not_trigger():
    aeb = Aeb(CONFIG)
    gap = CONFIG.braking_distance_m(10.0) - 2.0  # inside the static braking distance
    check(post(FRONT_M + gap), aeb=aeb, stamp=0.0)
    result = check(post(FRONT_M + gap), aeb=aeb, stamp=0.1)
    assert result.closing_mps < 0.5 and not result.trigger


def test_an_oncoming_obstacles_closing_speed_comes_from_two_scan_pairs_that_agree():
    aeb = Aeb(CONFIG)
    check(post(FRONT_M + 30.0), aeb=aeb, stamp=0.0, speed=5.0)
    check(post(FRONT_M + 29.0), aeb=aeb, stamp=0.1, speed=5.0)
    result = check(post(FRONT_M + 28.0), aeb=aeb, stamp=0.2, speed=5.0)
    assert math.isclose(result.closing_mps, 10.0, abs_tol=0.5)


def test_one_jump_of_the_gap_is_judged_at_the_van_speed():
    """The swept path swinging onto a nearer return when the steering changes."""
    aeb = Aeb(CONFIG)
    check(post(FRONT_M + 12.7), aeb=aeb, stamp=0.0, speed=1.0)
    result = check(post(FRONT_M + 11.5), aeb=aeb, stamp=0.1, speed=1.0)
    assert result.closing_mps == 1.0 and not result.trigger


def test_a_new_nearer_obstacle_is_judged_at_the_van_speed_not_as_a_jump():
    aeb = Aeb(CONFIG)
    check(post(FRONT_M + 40.0), aeb=aeb, stamp=0.0, speed=8.0)
    result = check(post(FRONT_M + 12.0), aeb=aeb, stamp=0.1, speed=8.0)
    assert result.closing_mps == 8.0


def test_a_stopped_van_never_triggers():
    assert not check(post(FRONT_M + 0.5), speed=0.0).trigger


def test_free_distance_looks_past_the_command_as_far_as_asked():
    result = check(post(FRONT_M + 12.0), speed=3.0, length=5.0, min_length=30.0)
    assert not math.isfinite(result.distance_m)
    assert math.isclose(result.free_distance_m, 12.0, abs_tol=0.3)


def test_contact_distance_is_where_the_front_bumper_reaches_the_return():
    poses = swept_poses(*STRAIGHT, 20.0, VEHICLE.wheelbase_m)
    distances = contact_distances(np.array([[FRONT_M + 7.0, 0.0]]), poses, CONFIG)
    assert math.isclose(distances[0], 7.0 - CONFIG.lateral_margin_m, abs_tol=0.26)


def test_aeb_shares_no_code_with_perception_or_planning():
    code = (
        "import sys, robovan_autonomy.system.aeb; "
        "print(sorted(m for m in sys.modules if m.startswith(('robovan_autonomy.perception', "
        "'robovan_autonomy.planning', 'rclpy'))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "[]"


def test_past_the_end_of_a_plan_the_sweep_goes_straight_on():
    """A plan's last steering is no intention: held over a braking distance it curls the sweep."""
    plan = (np.array([0.0, 2.0]), np.array([0.0, -0.18]))
    poses = swept_poses(*plan, 12.0, VEHICLE.wheelbase_m)
    beyond = poses[poses[:, 3] > 2.5]
    assert np.allclose(np.diff(beyond[:, 2]), 0.0)


def test_without_a_plan_the_sweep_holds_the_vans_own_steering():
    poses = swept_poses(np.array([0.0]), np.array([0.1]), 10.0, VEHICLE.wheelbase_m)
    assert poses[-1, 2] > 0.2
