"""Minimal-risk stops: how hard, how smooth, how far, and along which path."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robovan_autonomy.control_plan import ControlPlan
from robovan_autonomy.system import mrm
from robovan_autonomy.vehicle_params import STANDSTILL_HOLD_ACCEL_MPS2, load_vehicle_params

ACTUATOR = mrm.ActuatorModel.from_vehicle(load_vehicle_params())


def jerk(profile: mrm.StopProfile) -> np.ndarray:
    moving = profile.accel_cmd_mps2[:-1]  # the last sample is the hold at rest
    return np.diff(moving) / np.diff(profile.t_s[:-1])


def test_comfortable_stop_brakes_at_most_2_mps2_with_the_comfort_jerk():
    profile = mrm.plan_stop(0.0, 11.0, 0.0, mrm.COMFORTABLE, ACTUATOR)
    assert profile.accel_cmd_mps2[:-1].min() == pytest.approx(-2.0)
    assert np.all(np.abs(jerk(profile)) <= mrm.COMFORTABLE_JERK_MPS3 + 1e-9)


def test_emergency_stop_brakes_at_5_mps2_and_stops_much_shorter():
    comfortable = mrm.plan_stop(0.0, 11.0, 0.0, mrm.COMFORTABLE, ACTUATOR)
    emergency = mrm.plan_stop(0.0, 11.0, 0.0, mrm.EMERGENCY, ACTUATOR)
    assert emergency.accel_cmd_mps2.min() == pytest.approx(-5.0)
    assert emergency.stop_distance_m < 0.6 * comfortable.stop_distance_m


def test_stop_ends_at_rest_holding_the_brake():
    profile = mrm.plan_stop(3.0, 8.0, 0.5, mrm.COMFORTABLE, ACTUATOR)
    assert profile.speed_mps[-1] == pytest.approx(0.0, abs=0.05)
    assert profile.at(3.0 + profile.stop_time_s + 5.0) == (
        STANDSTILL_HOLD_ACCEL_MPS2,
        0.0,
        profile.stop_distance_m,
    )


def test_stop_never_eases_braking_already_harder_than_its_own():
    profile = mrm.plan_stop(0.0, 10.0, -3.5, mrm.COMFORTABLE, ACTUATOR)
    assert np.all(profile.accel_cmd_mps2[profile.speed_mps > 4.0] == -3.5)


def test_comfortable_stop_eases_off_the_brake_before_the_van_is_at_rest():
    profile = mrm.plan_stop(0.0, 8.0, 0.0, mrm.COMFORTABLE, ACTUATOR)
    assert profile.accel_cmd_mps2[-2] == pytest.approx(-mrm.FINAL_DECEL_MPS2, abs=0.06)


def test_emergency_stop_brakes_to_the_end():
    profile = mrm.plan_stop(0.0, 8.0, 0.0, mrm.EMERGENCY, ACTUATOR)
    assert profile.accel_cmd_mps2[-2] == pytest.approx(-mrm.EMERGENCY_DECEL_MPS2)


def test_stop_distance_includes_the_actuator_delay():
    v = 10.0
    ideal = v * v / (2.0 * mrm.COMFORTABLE_DECEL_MPS2)
    assert mrm.stop_distance_m(v, 0.0, mrm.COMFORTABLE, ACTUATOR) > ideal + v * ACTUATOR.dead_time_s


@settings(max_examples=40, deadline=None)
@given(st.floats(0.0, 13.0), st.floats(0.1, 3.0))
def test_stop_distance_grows_with_speed(speed, extra):
    assert (
        mrm.stop_distance_m(speed, 0.0, mrm.COMFORTABLE, ACTUATOR)
        <= mrm.stop_distance_m(speed + extra, 0.0, mrm.COMFORTABLE, ACTUATOR) + 1e-9
    )


def curving_plan(stamp_s: float) -> ControlPlan:
    t = np.arange(0.0, 4.01, 0.1)
    steer = np.where(t < 2.0, 0.0, 0.1)
    return ControlPlan(stamp_s, t, steer, np.zeros_like(t), np.full_like(t, 10.0), np.zeros_like(t))


def test_stop_steers_along_the_last_plan_by_arc_length():
    plan = curving_plan(0.0)  # straight for 20 m, then 0.1 rad
    path = mrm.StopPath.from_plan(plan, 0.5, fallback_steer_rad=0.3)  # 5 m along it already
    manoeuvre = mrm.Manoeuvre(mrm.plan_stop(0.5, 10.0, 0.0, mrm.COMFORTABLE, ACTUATOR), path)
    out = manoeuvre.plan(0.5, 0.45, max_steer_rate_radps=0.6)
    assert np.all(out.steer_rad[out.distance_m < 14.0] == pytest.approx(0.0))
    assert np.all(out.steer_rad[out.distance_m > 16.0] == pytest.approx(0.1))


def test_stop_without_a_plan_holds_the_wheel_where_it_is():
    path = mrm.StopPath.from_plan(None, 1.0, fallback_steer_rad=0.05)
    out = mrm.Manoeuvre(mrm.plan_stop(1.0, 5.0, 0.0, mrm.COMFORTABLE, ACTUATOR), path).plan(
        1.0, 1.0, 0.6
    )
    assert np.all(out.steer_rad == pytest.approx(0.05))


def test_stop_plan_starts_now_and_carries_the_given_stamp():
    manoeuvre = mrm.Manoeuvre(
        mrm.plan_stop(2.0, 5.0, 0.0, mrm.COMFORTABLE, ACTUATOR), mrm.StopPath.hold(0.0)
    )
    out = manoeuvre.plan(2.3, 2.25, 0.6)
    assert out.stamp_s == 2.25 and out.start_s == pytest.approx(2.3)
    assert out.end_s >= 2.0 + manoeuvre.profile.stop_time_s + mrm.HOLD_AFTER_STOP_S - 1e-9


def test_escalated_stop_continues_from_the_current_command_without_a_jump():
    comfortable = mrm.Manoeuvre(
        mrm.plan_stop(0.0, 11.0, 0.0, mrm.COMFORTABLE, ACTUATOR), mrm.StopPath.hold(0.0)
    )
    accel_then = comfortable.profile.at(0.4)[0]
    emergency = comfortable.escalated(0.4, 10.5, mrm.EMERGENCY, ACTUATOR)
    assert emergency.profile.accel_cmd_mps2[0] == pytest.approx(accel_then)
    assert emergency.profile.accel_cmd_mps2.min() == pytest.approx(-5.0)
    assert emergency.profile.speed_mps[0] == 10.5
