"""The plant against analytic solutions of the model it claims to be."""

import math

import numpy as np
import pytest
from scipy.optimize import brentq

from robovan_autonomy.sim.van_plant import VanPlant
from robovan_autonomy.vehicle.rvn_dbw import Gear
from robovan_autonomy.vehicle_params import load_vehicle_params

P = load_vehicle_params()
DT_S = 0.005


def run(plant, duration_s, steer_rad=None, accel_mps2=0.0):
    """Hold one command (steer None: keep the current angle) and sample the state every step."""
    states = [plant.state]
    for _ in range(round(duration_s / DT_S)):
        plant.command(plant.steer_rad if steer_rad is None else steer_rad, accel_mps2)
        plant.step(DT_S)
        states.append(plant.state)
    return states


@pytest.mark.parametrize("steer_rad", [0.2, -0.35])
def test_constant_steer_drives_a_circle_of_radius_wheelbase_over_tan_steer(steer_rad):
    plant = VanPlant(speed_mps=4.0, steer_rad=steer_rad, gear=Gear.DRIVE)
    radius_m = P.wheelbase_m / math.tan(abs(steer_rad))
    states = run(plant, 2 * math.pi * radius_m / 4.0, steer_rad=steer_rad)
    centre = np.array([0.0, math.copysign(radius_m, steer_rad)])
    distances = [np.hypot(s.x_m - centre[0], s.y_m - centre[1]) for s in states]
    assert distances == pytest.approx([radius_m] * len(states), rel=1e-4)
    assert abs(states[-1].yaw_rad) < 0.01  # one full turn brings the heading back


def test_yaw_rate_is_speed_times_tan_steer_over_wheelbase():
    plant = VanPlant(speed_mps=5.0, steer_rad=0.3, gear=Gear.DRIVE)
    run(plant, 0.5, steer_rad=0.3)
    assert plant.state.yaw_rate_radps == pytest.approx(5.0 * math.tan(0.3) / P.wheelbase_m)


def test_steer_step_follows_dead_time_then_first_order_lag():
    plant = VanPlant()
    states = run(plant, 1.0, steer_rad=0.05)
    for s in states:
        lagged_s = s.time_s - P.steer_dead_time_s
        expected = 0.0 if lagged_s <= 0 else 0.05 * (1 - math.exp(-lagged_s / P.steer_tau_s))
        assert s.steer_rad == pytest.approx(expected, abs=1e-9)


def test_accel_step_follows_dead_time_then_first_order_lag():
    plant = VanPlant(gear=Gear.DRIVE)
    states = run(plant, 1.5, accel_mps2=1.0)
    for s in states:
        lagged_s = s.time_s - P.accel_dead_time_s
        expected = 0.0 if lagged_s <= 0 else 1.0 - math.exp(-lagged_s / P.accel_tau_s)
        assert s.actuator_accel_mps2 == pytest.approx(expected, abs=1e-9)


def test_speed_integrates_the_lagged_acceleration():
    plant = VanPlant(gear=Gear.DRIVE)
    run(plant, 2.0, accel_mps2=1.0)
    lagged_s = 2.0 - P.accel_dead_time_s
    expected = lagged_s - P.accel_tau_s * (1 - math.exp(-lagged_s / P.accel_tau_s))
    assert plant.speed_mps == pytest.approx(expected, abs=1e-4)


def test_large_steer_step_is_rate_limited():
    states = run(VanPlant(), 1.5, steer_rad=0.5)
    rates = [s.steer_rate_radps for s in states]
    assert max(rates) == pytest.approx(P.max_steer_rate_radps)


def test_steer_setpoint_beyond_the_stop_is_held_at_the_stop():
    states = run(VanPlant(), 5.0, steer_rad=2.0)
    assert states[-1].steer_rad == pytest.approx(P.max_steer_rad)


def test_accel_setpoint_is_held_in_the_actuator_range():
    high = run(VanPlant(gear=Gear.DRIVE), 3.0, accel_mps2=50.0)[-1]
    low = run(VanPlant(speed_mps=13.0, gear=Gear.DRIVE), 3.0, accel_mps2=-50.0)[-1]
    assert high.actuator_accel_mps2 == pytest.approx(P.max_accel_mps2, abs=1e-3)
    assert low.actuator_accel_mps2 == pytest.approx(P.min_accel_mps2, abs=1e-3)


def stopping_distance_with_lag_m(speed_mps, decel_mps2):
    """Dead time at full speed, then the first-order brake build-up, to standstill."""
    dead_s, tau_s = P.accel_dead_time_s, P.accel_tau_s

    def speed(t_s):
        return speed_mps - decel_mps2 * (t_s - tau_s * (1 - math.exp(-t_s / tau_s)))

    stop_s = brentq(speed, 0.0, 100.0)
    braking_m = speed_mps * stop_s - decel_mps2 * (
        stop_s**2 / 2 - tau_s * stop_s + tau_s**2 * (1 - math.exp(-stop_s / tau_s))
    )
    return speed_mps * dead_s + braking_m


@pytest.mark.parametrize(("speed_mps", "decel_mps2"), [(10.0, 3.0), (13.9, 6.0), (3.0, 1.0)])
def test_stopping_distance_is_v_squared_over_2a_plus_the_lag(speed_mps, decel_mps2):
    plant = VanPlant(speed_mps=speed_mps, gear=Gear.DRIVE)
    run(plant, 2 * speed_mps / decel_mps2 + 1.0, accel_mps2=-decel_mps2)
    ideal_m = speed_mps**2 / (2 * decel_mps2)
    assert plant.x_m == pytest.approx(stopping_distance_with_lag_m(speed_mps, decel_mps2), rel=2e-3)
    assert ideal_m < plant.x_m < ideal_m + speed_mps * (P.accel_dead_time_s + P.accel_tau_s)


@pytest.mark.parametrize(("speed_mps", "gear"), [(5.0, Gear.DRIVE), (-3.0, Gear.REVERSE)])
def test_braking_stops_at_zero_and_holds_without_reversing(speed_mps, gear):
    states = run(VanPlant(speed_mps=speed_mps, gear=gear), 6.0, accel_mps2=-3.0)
    speeds = [s.speed_mps for s in states]
    assert all(v * speed_mps >= 0.0 for v in speeds)
    assert speeds[-400:] == [0.0] * 400
    assert states[-1].accel_mps2 == 0.0


@pytest.mark.parametrize("gear", [Gear.PARK, Gear.NEUTRAL])
def test_park_and_neutral_do_not_drive(gear):
    plant = VanPlant(gear=gear)
    run(plant, 2.0, accel_mps2=1.0)
    assert plant.speed_mps == 0.0


def test_drive_moves_the_van_forwards():
    plant = VanPlant(gear=Gear.DRIVE)
    run(plant, 2.0, accel_mps2=1.0)
    assert plant.x_m > 0.5 and plant.speed_mps > 0.0


def test_reverse_moves_the_van_backwards():
    plant = VanPlant(gear=Gear.REVERSE)
    run(plant, 2.0, accel_mps2=1.0)
    assert plant.x_m < -0.5 and plant.speed_mps < 0.0


def test_speed_never_exceeds_the_hardware_top_speed():
    plant = VanPlant(speed_mps=13.0, gear=Gear.DRIVE)
    run(plant, 5.0, accel_mps2=2.5)
    assert plant.speed_mps == pytest.approx(P.max_speed_hw_mps)


def test_none_is_not_a_gear_the_van_can_be_in():
    with pytest.raises(ValueError):
        VanPlant().set_gear(Gear.NONE)


def test_wheel_speeds_are_equal_when_driving_straight():
    plant = VanPlant(speed_mps=-4.0, gear=Gear.REVERSE)
    assert plant.wheel_speeds_mps() == pytest.approx((4.0,) * 4)


def test_wheel_speeds_follow_rigid_body_motion_in_a_left_turn():
    plant = VanPlant(speed_mps=5.0, steer_rad=0.3, gear=Gear.DRIVE)
    omega = 5.0 * math.tan(0.3) / P.wheelbase_m
    half = P.track_width_m / 2
    fl, fr, rl, rr = plant.wheel_speeds_mps()
    assert (rl, rr) == pytest.approx((5.0 - omega * half, 5.0 + omega * half))
    assert fl == pytest.approx(math.hypot(5.0 - omega * half, omega * P.wheelbase_m))
    assert fr > fl > rl
