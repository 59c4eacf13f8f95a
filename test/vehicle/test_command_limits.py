"""Every clamp of the command limiter, and the property that nothing it returns breaks a limit."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robovan_autonomy.vehicle import command_limits as cl
from robovan_autonomy.vehicle.command_limits import (
    Command,
    CommandLimiter,
    CommandLimits,
    limit_command,
)
from robovan_autonomy.vehicle_params import load_vehicle_params

VEHICLE = load_vehicle_params()
LIMITS = CommandLimits.from_vehicle(VEHICLE)
DT_S = 0.02
STILL = Command(0.0, 0.0)


def test_limits_come_from_the_vehicle_params():
    assert (LIMITS.max_steer_rad, LIMITS.max_steer_rate_radps) == (
        VEHICLE.max_steer_rad,
        VEHICLE.max_steer_rate_radps,
    )
    assert (LIMITS.min_accel_mps2, LIMITS.max_accel_mps2) == (
        VEHICLE.min_accel_mps2,
        VEHICLE.max_accel_mps2,
    )
    assert LIMITS.max_speed_mps == VEHICLE.max_speed_odd_mps


def test_steer_angle_is_clamped_to_the_hardware_range():
    previous = Command(VEHICLE.max_steer_rad, 0.0)
    result = limit_command(Command(2.0, 0.0), previous, DT_S, 0.0, LIMITS)
    assert result.command.steer_rad == VEHICLE.max_steer_rad
    assert cl.STEER_ANGLE in result.active


def test_negative_steer_angle_is_clamped_to_the_hardware_range():
    previous = Command(-VEHICLE.max_steer_rad, 0.0)
    result = limit_command(Command(-2.0, 0.0), previous, DT_S, 0.0, LIMITS)
    assert result.command.steer_rad == -VEHICLE.max_steer_rad


def test_steer_rate_is_limited_relative_to_the_last_sent_command():
    result = limit_command(Command(0.3, 0.0), STILL, DT_S, 0.0, LIMITS)
    assert result.command.steer_rad == pytest.approx(VEHICLE.max_steer_rate_radps * DT_S)
    assert result.active == {cl.STEER_RATE}


def test_small_steer_step_passes_unchanged():
    result = limit_command(Command(0.005, 0.0), STILL, DT_S, 0.0, LIMITS)
    assert result.command == Command(0.005, 0.0)
    assert result.active == frozenset()


def test_accel_is_clamped_to_the_hardware_maximum():
    previous = Command(0.0, VEHICLE.max_accel_mps2)
    result = limit_command(Command(0.0, 9.0), previous, DT_S, 0.0, LIMITS)
    assert result.command.accel_mps2 == VEHICLE.max_accel_mps2
    assert cl.ACCEL_MAX in result.active


def test_accel_is_clamped_to_the_hardware_minimum():
    previous = Command(0.0, VEHICLE.min_accel_mps2)
    result = limit_command(Command(0.0, -20.0), previous, DT_S, 0.0, LIMITS)
    assert result.command.accel_mps2 == VEHICLE.min_accel_mps2
    assert cl.ACCEL_MIN in result.active


def test_rising_accel_is_jerk_limited():
    result = limit_command(Command(0.0, 2.0), STILL, DT_S, 0.0, LIMITS)
    assert result.command.accel_mps2 == pytest.approx(cl.MAX_JERK_RISE_MPS3 * DT_S)
    assert result.active == {cl.JERK}


def test_braking_harder_is_jerk_limited_at_the_faster_fall_rate():
    result = limit_command(Command(0.0, -5.0), STILL, DT_S, 0.0, LIMITS)
    assert result.command.accel_mps2 == pytest.approx(-cl.MAX_JERK_FALL_MPS3 * DT_S)
    assert result.active == {cl.JERK}


def test_steer_is_bounded_by_lateral_acceleration_at_speed():
    speed_mps = 10.0
    bound = cl.max_steer_for_speed(speed_mps, LIMITS)
    previous = Command(bound, 0.0)
    result = limit_command(Command(0.5, 0.0), previous, DT_S, speed_mps, LIMITS)
    assert result.command.steer_rad == pytest.approx(bound)
    assert speed_mps**2 * math.tan(bound) / VEHICLE.wheelbase_m == pytest.approx(
        cl.MAX_LATERAL_ACCEL_MPS2
    )
    assert cl.LATERAL_ACCEL in result.active


def test_lateral_bound_allows_full_lock_at_walking_speed():
    assert cl.max_steer_for_speed(1.0, LIMITS) == VEHICLE.max_steer_rad


def test_lateral_bound_shrinks_with_speed():
    assert cl.max_steer_for_speed(12.0, LIMITS) < cl.max_steer_for_speed(6.0, LIMITS)


def test_unknown_speed_is_treated_as_the_hardware_top_speed():
    assert cl.max_steer_for_speed(math.nan, LIMITS) == cl.max_steer_for_speed(
        VEHICLE.max_speed_hw_mps, LIMITS
    )
    assert cl.max_accel_for_speed(math.nan, LIMITS) < 0.0


def test_positive_accel_is_refused_at_the_speed_cap():
    result = limit_command(Command(0.0, 1.0), STILL, DT_S, VEHICLE.max_speed_odd_mps, LIMITS)
    assert result.command.accel_mps2 == 0.0
    assert cl.SPEED_CAP in result.active


def test_above_the_speed_cap_the_van_brakes_gently():
    previous = Command(0.0, -cl.SPEED_CAP_MAX_DECEL_MPS2)
    result = limit_command(
        Command(0.0, 1.0), previous, DT_S, VEHICLE.max_speed_odd_mps + 5.0, LIMITS
    )
    assert result.command.accel_mps2 == -cl.SPEED_CAP_MAX_DECEL_MPS2


def test_nan_steer_keeps_the_last_sent_angle():
    previous = Command(0.2, 0.0)
    result = limit_command(Command(math.nan, 0.0), previous, DT_S, 0.0, LIMITS)
    assert result.command.steer_rad == 0.2
    assert cl.NON_FINITE in result.active


def test_nan_accel_brakes_towards_the_fallback_decel():
    previous = Command(0.0, cl.NON_FINITE_ACCEL_FALLBACK_MPS2)
    result = limit_command(Command(0.0, math.nan), previous, DT_S, 5.0, LIMITS)
    assert result.command.accel_mps2 == cl.NON_FINITE_ACCEL_FALLBACK_MPS2
    assert cl.NON_FINITE in result.active


def test_non_finite_dt_allows_no_change():
    previous = Command(0.1, 0.5)
    result = limit_command(Command(-0.3, -3.0), previous, math.nan, 0.0, LIMITS)
    assert result.command == previous


def test_limiter_remembers_the_last_sent_command():
    limiter = CommandLimiter(LIMITS)
    for _ in range(10):
        limiter.limit(Command(0.5, 0.0), DT_S, 0.0)
    assert limiter.previous.steer_rad == pytest.approx(10 * VEHICLE.max_steer_rate_radps * DT_S)


def test_limiter_reset_clamps_to_the_hardware_range():
    limiter = CommandLimiter(LIMITS)
    limiter.reset(Command(3.0, math.nan))
    assert limiter.previous == Command(VEHICLE.max_steer_rad, 0.0)


any_float = st.floats(allow_nan=True, allow_infinity=True)
finite_steer = st.floats(-VEHICLE.max_steer_rad, VEHICLE.max_steer_rad)
finite_accel = st.floats(VEHICLE.min_accel_mps2, VEHICLE.max_accel_mps2)


@settings(max_examples=400, deadline=None)
@given(
    steer=any_float,
    accel=any_float,
    prev_steer=finite_steer,
    prev_accel=finite_accel,
    dt_s=st.floats(0.0, 1.0),
    speed_mps=any_float,
)
def test_output_always_respects_hardware_rate_and_jerk_limits(
    steer, accel, prev_steer, prev_accel, dt_s, speed_mps
):
    previous = Command(prev_steer, prev_accel)
    out = limit_command(Command(steer, accel), previous, dt_s, speed_mps, LIMITS).command
    assert math.isfinite(out.steer_rad) and math.isfinite(out.accel_mps2)
    assert abs(out.steer_rad) <= VEHICLE.max_steer_rad
    assert VEHICLE.min_accel_mps2 <= out.accel_mps2 <= VEHICLE.max_accel_mps2
    assert abs(out.steer_rad - prev_steer) <= VEHICLE.max_steer_rate_radps * dt_s + 1e-12
    assert prev_accel - cl.MAX_JERK_FALL_MPS3 * dt_s - 1e-12 <= out.accel_mps2
    assert out.accel_mps2 <= prev_accel + cl.MAX_JERK_RISE_MPS3 * dt_s + 1e-12


@settings(max_examples=200, deadline=None)
@given(steer=any_float, speed_mps=st.floats(0.0, 40.0))
def test_output_from_a_lawful_start_keeps_lateral_accel_within_the_limit(steer, speed_mps):
    previous = Command(0.0, 0.0)
    out = limit_command(Command(steer, 0.0), previous, 1.0, speed_mps, LIMITS).command
    lateral = speed_mps**2 * math.tan(abs(out.steer_rad)) / VEHICLE.wheelbase_m
    assert lateral <= cl.MAX_LATERAL_ACCEL_MPS2 + 1e-9


@settings(max_examples=200, deadline=None)
@given(accel=any_float, speed_mps=st.floats(VEHICLE.max_speed_odd_mps, 100.0))
def test_output_never_accelerates_at_or_above_the_speed_cap(accel, speed_mps):
    out = limit_command(Command(0.0, accel), STILL, 1.0, speed_mps, LIMITS).command
    assert out.accel_mps2 <= 0.0
