"""The follower's staleness logic: follow, bridge a gap, stop under control, hold at standstill."""

import math

import numpy as np
import pytest

from robovan_autonomy.interfaces import ControlPlan
from robovan_autonomy.vehicle import command_follower as cf
from robovan_autonomy.vehicle.command_follower import CommandFollower, FollowerConfig, FollowerState

MOVING_MPS = 5.0


def ramp_plan(
    stamp_s: float,
    horizon_s: float = 2.0,
    steer0: float = 0.0,
    accel0: float = 0.0,
    steer_slope: float = 0.1,
    accel_slope: float = 0.5,
) -> ControlPlan:
    """A plan whose steer and accel rise linearly, so interpolation is easy to check."""
    t = np.linspace(0.0, horizon_s, int(round(horizon_s / 0.1)) + 1)
    return ControlPlan(
        stamp_s=stamp_s,
        time_from_start_s=t,
        steer_rad=steer0 + steer_slope * t,
        steer_rate_radps=np.full_like(t, steer_slope),
        speed_mps=np.full_like(t, MOVING_MPS),
        accel_mps2=accel0 + accel_slope * t,
    )


def test_without_a_plan_the_follower_stops_under_control():
    follower = CommandFollower()
    command = follower.command_at(10.0, MOVING_MPS)
    assert command.state is FollowerState.CONTROLLED_STOP
    assert command.hazard


def test_fresh_plan_is_followed_interpolated_at_now():
    follower = CommandFollower()
    follower.accept(ramp_plan(10.0), 10.0)
    command = follower.command_at(10.05, MOVING_MPS)
    assert command.state is FollowerState.FOLLOWING
    assert command.steer_rad == pytest.approx(0.1 * 0.05)
    assert command.accel_mps2 == pytest.approx(0.5 * 0.05)
    assert not command.hazard


def test_stale_plan_is_bridged_with_its_remainder():
    follower = CommandFollower()
    follower.accept(ramp_plan(10.0), 10.0)
    follower.command_at(10.1, MOVING_MPS)
    command = follower.command_at(10.5, MOVING_MPS)
    assert command.state is FollowerState.BRIDGING_GAP
    assert command.steer_rad == pytest.approx(0.05)
    assert command.accel_mps2 == pytest.approx(0.25)


def test_fresh_plan_ends_the_gap():
    follower = CommandFollower()
    follower.accept(ramp_plan(10.0), 10.0)
    follower.command_at(10.1, MOVING_MPS)
    follower.command_at(10.5, MOVING_MPS)
    follower.accept(ramp_plan(10.55, steer0=-0.1), 10.55)
    command = follower.command_at(10.55, MOVING_MPS)
    assert command.state is FollowerState.FOLLOWING
    assert command.steer_rad == pytest.approx(-0.1)


def test_gap_longer_than_max_gap_starts_a_controlled_stop():
    follower = CommandFollower(FollowerConfig(max_gap_s=0.5))
    follower.accept(ramp_plan(10.0, horizon_s=3.0), 10.0)
    follower.command_at(10.1, MOVING_MPS)
    follower.command_at(10.4, MOVING_MPS)
    assert follower.command_at(10.6, MOVING_MPS).state is FollowerState.CONTROLLED_STOP


def test_end_of_plan_starts_a_controlled_stop_keeping_the_plans_last_steer():
    follower = CommandFollower(FollowerConfig(max_gap_s=5.0))
    plan = ramp_plan(10.0, horizon_s=1.0)
    follower.accept(plan, 10.0)
    for now in np.arange(10.0, 11.0, 0.02):
        follower.command_at(float(now), MOVING_MPS)
    follower.command_at(11.0, MOVING_MPS)
    command = follower.command_at(11.02, MOVING_MPS)
    assert command.state is FollowerState.CONTROLLED_STOP
    assert command.steer_rad == pytest.approx(plan.steer_rad[-1])
    assert command.hazard


def test_controlled_stop_ramps_the_brake_in_at_the_stop_jerk():
    config = FollowerConfig()
    follower = CommandFollower(config)
    follower.accept(ramp_plan(10.0, horizon_s=0.2, accel_slope=0.0, accel0=0.5), 10.0)
    follower.command_at(10.0, MOVING_MPS)
    first = follower.command_at(10.3, MOVING_MPS)
    later = follower.command_at(10.5, MOVING_MPS)
    assert first.accel_mps2 == pytest.approx(0.5)
    assert later.accel_mps2 == pytest.approx(0.5 - config.controlled_stop_jerk_mps3 * 0.2)


def test_controlled_stop_settles_at_the_controlled_stop_decel():
    config = FollowerConfig()
    follower = CommandFollower(config)
    follower.command_at(10.0, MOVING_MPS)
    command = follower.command_at(20.0, MOVING_MPS)
    assert command.accel_mps2 == -config.controlled_stop_decel_mps2


def test_controlled_stop_never_softens_harder_braking():
    follower = CommandFollower()
    follower.accept(ramp_plan(10.0, horizon_s=0.2, accel_slope=0.0, accel0=-4.0), 10.0)
    follower.command_at(10.0, MOVING_MPS)
    assert follower.command_at(11.0, MOVING_MPS).accel_mps2 == -4.0


def test_stopped_van_in_a_controlled_stop_holds_the_brake():
    follower = CommandFollower()
    follower.command_at(10.0, MOVING_MPS)
    command = follower.command_at(12.0, 0.0)
    assert command.state is FollowerState.STANDSTILL_HOLD
    assert command.accel_mps2 == cf.STANDSTILL_HOLD_ACCEL_MPS2
    assert command.hazard


def test_standstill_hold_resumes_braking_when_the_van_rolls():
    follower = CommandFollower()
    follower.command_at(10.0, 0.0)
    assert follower.command_at(10.5, 1.0).state is FollowerState.CONTROLLED_STOP


def test_standstill_hold_keeps_the_last_steer():
    follower = CommandFollower()
    follower.track_vehicle(0.3, 0.0)
    assert follower.command_at(10.0, 0.0).steer_rad == 0.3


def test_unknown_speed_is_treated_as_moving():
    follower = CommandFollower()
    assert follower.command_at(10.0, math.nan).state is FollowerState.CONTROLLED_STOP


def test_fresh_plan_resumes_following_from_standstill_hold():
    follower = CommandFollower()
    follower.command_at(10.0, 0.0)
    follower.accept(ramp_plan(11.0), 11.0)
    assert follower.command_at(11.0, 0.0).state is FollowerState.FOLLOWING


def test_stale_plan_does_not_restart_a_controlled_stop():
    follower = CommandFollower()
    follower.command_at(10.0, MOVING_MPS)
    follower.accept(ramp_plan(10.0 - cf.STALE_AFTER_S - 0.05), 10.0)
    assert follower.command_at(10.02, MOVING_MPS).state is FollowerState.CONTROLLED_STOP


def test_older_plan_is_rejected():
    follower = CommandFollower()
    follower.accept(ramp_plan(10.0), 10.0)
    assert not follower.accept(ramp_plan(9.9), 10.0)
    assert follower.plan.stamp_s == 10.0
    assert follower.plans_rejected == 1


def test_plan_from_the_future_is_rejected():
    follower = CommandFollower()
    assert not follower.accept(ramp_plan(20.0), 10.0)
    assert follower.plan is None
