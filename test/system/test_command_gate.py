"""The command gate: what reaches /control/command in each mode, and which planner plans do not."""

import numpy as np
import pytest

from robovan_autonomy.control_plan import ControlPlan
from robovan_autonomy.system import mrm
from robovan_autonomy.system.command_gate import (
    LATENCY_BUDGET_S,
    MODE_TIMEOUT_S,
    CommandGate,
    VanStatus,
    limit_plan,
)
from robovan_autonomy.system.modes import OperatingMode as M
from robovan_autonomy.vehicle import command_limits
from robovan_autonomy.vehicle.command_limits import CommandLimits, max_steer_for_speed
from robovan_autonomy.vehicle_params import load_vehicle_params

VEHICLE = load_vehicle_params()
LIMITS = CommandLimits.from_vehicle(VEHICLE)
ACTUATOR = mrm.ActuatorModel.from_vehicle(VEHICLE)


def plan(stamp_s: float, speed=8.0, steer=0.0, accel=0.0, offset_s=0.05) -> ControlPlan:
    t = offset_s + np.arange(0.0, 4.01, 0.1)
    return ControlPlan(
        stamp_s,
        t,
        np.full_like(t, steer),
        np.zeros_like(t),
        np.full_like(t, speed),
        np.full_like(t, accel),
    )


def gate_in(mode: M, now_s: float = 10.0, speed: float = 8.0) -> CommandGate:
    gate = CommandGate(LIMITS, ACTUATOR)
    assert gate.on_mode(mode, now_s, now_s) == ""
    assert gate.on_status(VanStatus(now_s, speed, 0.0, 0.0), now_s) == ""
    return gate


def test_autonomous_forwards_a_fresh_plan_with_its_sensor_stamp():
    gate = gate_in(M.AUTONOMOUS)
    out, problem = gate.on_plan(plan(9.95), 10.0)
    assert problem == "" and out.stamp_s == 9.95
    np.testing.assert_allclose(out.accel_mps2, 0.0)


def test_plan_with_inputs_older_than_the_budget_is_rejected():
    gate = gate_in(M.AUTONOMOUS)
    out, problem = gate.on_plan(plan(10.0 - LATENCY_BUDGET_S - 0.01), 10.0)
    assert out is None and "budget" in problem


def test_plan_stamped_in_the_future_is_rejected():
    out, problem = gate_in(M.AUTONOMOUS).on_plan(plan(11.0), 10.0)
    assert out is None and "future" in problem


def test_plan_older_than_the_last_one_taken_is_rejected():
    gate = gate_in(M.AUTONOMOUS)
    gate.on_plan(plan(9.95), 10.0)
    out, problem = gate.on_plan(plan(9.9), 10.0)
    assert out is None and "out of order" in problem


def test_plan_that_ended_before_now_is_rejected():
    short = ControlPlan(
        9.9, np.array([0.0, 0.05]), np.zeros(2), np.zeros(2), np.ones(2), np.zeros(2)
    )
    assert "ends before now" in gate_in(M.AUTONOMOUS).on_plan(short, 10.0)[1]


def test_steering_is_limited_by_the_lateral_acceleration_at_the_planned_speed():
    limited, active = limit_plan(plan(0.0, speed=11.0, steer=0.3), LIMITS)
    assert np.all(np.abs(limited.steer_rad) <= max_steer_for_speed(11.0, LIMITS) + 1e-12)
    assert command_limits.LATERAL_ACCEL in active
    slow, _ = limit_plan(plan(0.0, speed=2.0, steer=0.3), LIMITS)
    np.testing.assert_allclose(slow.steer_rad, 0.3)


def test_planned_speed_and_accel_are_capped_at_the_speed_limit():
    limited, active = limit_plan(plan(0.0, speed=14.0, accel=1.0), LIMITS)
    assert limited.speed_mps.max() == LIMITS.max_speed_mps and np.all(limited.accel_mps2 <= 0.0)
    assert {"speed", command_limits.SPEED_CAP} <= active


@pytest.mark.parametrize("mode", [M.READY, M.MANUAL])
def test_not_autonomous_holds_the_van_and_forwards_nothing(mode):
    gate = gate_in(mode, speed=0.0)
    assert gate.on_plan(plan(9.95), 10.0) == (None, "")
    out = gate.tick(10.0)
    np.testing.assert_allclose(out.speed_mps, 0.0)
    assert np.all(out.accel_mps2 < 0.0)


def test_autonomous_sends_nothing_of_its_own():
    assert gate_in(M.AUTONOMOUS).tick(10.0) is None


def test_comfortable_stop_brakes_gently_along_the_last_plan():
    gate = gate_in(M.AUTONOMOUS)
    gate.on_plan(plan(9.95, steer=0.02), 10.0)
    gate.on_mode(M.MRM_COMFORTABLE_STOP, 10.05, 10.05)
    out = gate.tick(10.05)
    assert out.accel_mps2.min() == pytest.approx(-mrm.COMFORTABLE_DECEL_MPS2)
    np.testing.assert_allclose(out.steer_rad, 0.02)
    assert out.speed_mps[-1] == 0.0 and out.start_s == pytest.approx(10.05)


def test_emergency_stop_continues_the_comfortable_one_and_never_eases():
    gate = gate_in(M.MRM_COMFORTABLE_STOP)
    first = gate.tick(10.0)
    gate.on_mode(M.MRM_EMERGENCY_STOP, 10.5, 10.5)
    hard = gate.tick(10.5)
    assert hard.accel_mps2[0] == pytest.approx(first.at(10.5, first.accel_mps2), abs=1e-6)
    assert hard.accel_mps2.min() == pytest.approx(-mrm.EMERGENCY_DECEL_MPS2)
    gate.on_mode(M.MRM_COMFORTABLE_STOP, 10.6, 10.6)
    assert gate.tick(10.6).accel_mps2.min() == pytest.approx(-mrm.EMERGENCY_DECEL_MPS2)


def test_stop_plans_carry_the_newest_input_stamp():
    gate = gate_in(M.MRM_COMFORTABLE_STOP, now_s=10.0)
    gate.on_status(VanStatus(10.02, 8.0, 0.0, 0.0), 10.02)
    assert gate.tick(10.03).stamp_s == 10.02


def test_silent_supervisor_while_autonomous_makes_the_gate_stop_on_its_own():
    gate = gate_in(M.AUTONOMOUS)
    later = 10.0 + MODE_TIMEOUT_S + 0.01
    out = gate.tick(later)
    assert gate.fallback and out.accel_mps2.min() == pytest.approx(-mrm.COMFORTABLE_DECEL_MPS2)
    assert gate.on_plan(plan(later - 0.05), later) == (None, "")


def test_gate_stop_stays_until_the_supervisor_reports_something_other_than_autonomous():
    gate = gate_in(M.AUTONOMOUS)
    gate.tick(10.5)
    gate.on_mode(M.AUTONOMOUS, 10.6, 10.6)
    assert gate.effective_mode(10.6) is M.MRM_COMFORTABLE_STOP
    gate.on_mode(M.MRM_COMFORTABLE_STOP, 10.7, 10.7)
    assert not gate.fallback and gate.effective_mode(10.7) is M.MRM_COMFORTABLE_STOP


def test_silent_supervisor_while_manual_just_holds():
    assert gate_in(M.MANUAL).effective_mode(11.0) is M.READY


def test_stop_without_current_reports_starts_from_the_last_known_speed():
    gate = gate_in(M.MRM_COMFORTABLE_STOP, speed=9.0)
    out = gate.tick(10.5)  # the report is 0.5 s old
    assert out.speed_mps[0] == pytest.approx(9.0, abs=0.05)


def test_future_and_out_of_order_modes_are_rejected():
    gate = gate_in(M.AUTONOMOUS)
    assert "future" in gate.on_mode(M.MANUAL, 20.0, 10.0)
    assert "out of order" in gate.on_mode(M.MANUAL, 9.0, 10.0)
    assert gate.mode is M.AUTONOMOUS


def test_non_finite_vehicle_status_is_rejected():
    gate = gate_in(M.AUTONOMOUS)
    assert "non-finite" in gate.on_status(VanStatus(10.01, float("nan"), 0.0, 0.0), 10.01)
