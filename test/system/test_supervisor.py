"""The supervisor's state machine: engagement, latched minimal-risk stops, escalation, clear."""

import math

from robovan_autonomy.system.modes import OperatingMode as M
from robovan_autonomy.system.supervisor import ERROR, WARN, Finding, StopCheck, Supervisor

FAULT = [Finding("planning_command", ERROR, "planning_command: data 0.50 s old > 0.35 s")]
HEALTHY: list = []


def autonomous() -> Supervisor:
    supervisor = Supervisor()
    supervisor.step(0.0, "ENGAGED", HEALTHY)
    assert supervisor.mode is M.AUTONOMOUS
    return supervisor


def test_van_not_armed_is_manual():
    assert Supervisor().step(0.0, "MANUAL", HEALTHY) is M.MANUAL


def test_armed_van_is_ready():
    assert Supervisor().step(0.0, "READY", HEALTHY) is M.READY


def test_engaged_van_with_a_healthy_stack_is_autonomous():
    autonomous()


def test_engaged_van_with_a_fault_is_held_ready_not_latched():
    supervisor = Supervisor()
    assert supervisor.step(0.0, "ENGAGED", FAULT) is M.READY
    assert supervisor.latch is None
    assert supervisor.step(0.1, "ENGAGED", HEALTHY) is M.AUTONOMOUS


def test_warnings_do_not_stop_the_van():
    supervisor = autonomous()
    assert supervisor.step(0.1, "ENGAGED", [Finding("gnss", WARN, "gnss lost")]) is M.AUTONOMOUS


def test_fault_while_autonomous_latches_a_comfortable_stop():
    supervisor = autonomous()
    assert supervisor.step(1.0, "ENGAGED", FAULT) is M.MRM_COMFORTABLE_STOP
    assert "planning_command" in supervisor.reason and supervisor.latch.since_s == 1.0


def test_stop_stays_latched_when_the_fault_goes_away():
    supervisor = autonomous()
    supervisor.step(1.0, "ENGAGED", FAULT)
    assert supervisor.step(2.0, "ENGAGED", HEALTHY) is M.MRM_COMFORTABLE_STOP


def test_stop_stays_latched_when_the_van_reports_are_lost():
    supervisor = autonomous()
    supervisor.step(1.0, "ENGAGED", FAULT)
    assert supervisor.step(2.0, "UNKNOWN", FAULT) is M.MRM_COMFORTABLE_STOP


def test_comfortable_stop_that_cannot_stop_in_time_becomes_an_emergency_stop():
    supervisor = autonomous()
    supervisor.step(1.0, "ENGAGED", FAULT)
    tight = StopCheck(comfortable_stop_m=30.0, free_distance_m=25.0)
    assert supervisor.step(1.05, "ENGAGED", FAULT, tight) is M.MRM_EMERGENCY_STOP
    assert "cannot stop in time" in supervisor.reason


def test_comfortable_stop_with_room_stays_comfortable():
    supervisor = autonomous()
    supervisor.step(1.0, "ENGAGED", FAULT)
    assert supervisor.step(1.05, "ENGAGED", FAULT, StopCheck(30.0, 40.0)) is M.MRM_COMFORTABLE_STOP


def test_aeb_latches_an_emergency_stop_while_engaged():
    supervisor = autonomous()
    assert supervisor.emergency(1.0, "AEB: obstacle 5 m ahead")
    assert supervisor.mode is M.MRM_EMERGENCY_STOP
    assert supervisor.step(1.05, "ENGAGED", HEALTHY) is M.MRM_EMERGENCY_STOP


def test_aeb_does_nothing_while_a_person_drives():
    supervisor = Supervisor()
    supervisor.step(0.0, "MANUAL", HEALTHY)
    assert not supervisor.emergency(1.0, "AEB") and supervisor.latch is None


def test_driver_taking_over_is_manual_but_the_stop_stays_latched():
    supervisor = autonomous()
    supervisor.step(1.0, "ENGAGED", FAULT)
    assert supervisor.step(2.0, "MANUAL", HEALTHY) is M.MANUAL
    assert supervisor.step(3.0, "ENGAGED", HEALTHY) is M.MRM_COMFORTABLE_STOP


def test_clear_is_refused_while_the_van_moves():
    supervisor = autonomous()
    supervisor.step(1.0, "ENGAGED", FAULT)
    ok, why = supervisor.clear(2.0, HEALTHY)
    assert not ok and "not at rest" in why


def test_clear_is_refused_with_an_unknown_speed():
    supervisor = autonomous()
    supervisor.step(1.0, "ENGAGED", FAULT)
    assert not supervisor.clear(math.nan, HEALTHY)[0]


def test_clear_is_refused_while_a_fault_remains():
    supervisor = autonomous()
    supervisor.step(1.0, "ENGAGED", FAULT)
    ok, why = supervisor.clear(0.0, FAULT)
    assert not ok and "faults still present" in why


def test_clear_at_rest_without_faults_returns_to_autonomy():
    supervisor = autonomous()
    supervisor.step(1.0, "ENGAGED", FAULT)
    assert supervisor.clear(0.0, HEALTHY)[0]
    assert supervisor.step(5.0, "ENGAGED", HEALTHY) is M.AUTONOMOUS


def test_clear_without_a_latched_stop_is_refused():
    assert not Supervisor().clear(0.0, HEALTHY)[0]
