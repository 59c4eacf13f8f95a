"""Run report: how the van drives, beyond collisions: hard brakes with and without a reason,
emergency stops, and standing still with nothing to wait for."""

import math

import numpy as np

from robovan_autonomy.perception.classes import ObjectClass
from robovan_autonomy.sim.actors import ActorState
from robovan_autonomy.sim.report.inputs import MapFeatures, VanTruth
from robovan_autonomy.sim.report.recorder import RunRecorder
from robovan_autonomy.sim.scenario import Fault, Scenario, StartPose, Stop, SuccessCriteria
from robovan_autonomy.vehicle_params import load_vehicle_params

DT_S = 0.05
VEHICLE = load_vehicle_params()
FRONT_M = VEHICLE.wheelbase_m + VEHICLE.front_overhang_m


def scenario(*faults, **success) -> Scenario:
    return Scenario(
        name="synthetic",
        description="test",
        map="delivery_district.osm",
        seed=7,
        time_limit_s=100.0,
        arm_autonomy_at_s=0.0,
        start_pose=StartPose(x=0, y=0, yaw=0),
        mission=(Stop("end", 0.0),),
        actors=(),
        faults=tuple(faults),
        gnss_outages=(),
        success=SuccessCriteria(expected_outcome="stopped", **success),
    )


def walker(x, y, vy=0.0) -> ActorState:
    return ActorState(
        id="walker",
        track_id=1,
        type="pedestrian",
        class_id=int(ObjectClass.PEDESTRIAN),
        x=x,
        y=y,
        yaw=math.pi / 2,
        speed=abs(vy),
        vx=0.0,
        vy=vy,
        length=0.6,
        width=0.6,
        height=1.75,
    )


def braking_run(
    actor_at=None, scn=None, features=MapFeatures(), mode="AUTONOMOUS", plan_m=None
) -> dict:
    """10 m/s along +x, a 5 m/s² brake from 3 s to rest, then standing; actor_at(t) -> actors;
    plan_m: the planned path reaches this far ahead of base_link (None: no plan recorded)."""
    rec = RunRecorder(scn or scenario(), features, VEHICLE)
    x, speed = 0.0, 10.0
    for k in range(1, int(8.0 / DT_S) + 1):
        t = k * DT_S
        accel = -5.0 if t >= 3.0 and speed > 0.0 else 0.0
        speed = max(0.0, speed + accel * DT_S)
        x += speed * DT_S
        plan = (
            None
            if plan_m is None
            else np.column_stack([np.linspace(x, x + plan_m, 5), np.zeros(5)])
        )
        rec.record_step(
            t,
            VanTruth(x, 0.0, 0.0, speed, accel, 0.0, 0.0),
            actors=actor_at(t) if actor_at else (),
            mode=mode,
            supervisor_mode=(mode, "all healthy"),
            planned_path=plan,
        )
    return rec.finalize(1.0)


def test_a_hard_brake_for_someone_in_the_path_is_justified():
    report = braking_run(lambda t: [walker(30.0 + FRONT_M, 0.0)])
    assert report["hard_brakes"]["events"][0]["justified_by"] == "walker"
    assert report["hard_brakes"]["phantom"] == 0


def test_a_hard_brake_for_someone_beyond_where_the_braking_plan_ends_is_justified():
    report = braking_run(lambda t: [walker(42.0 + FRONT_M, 0.0)], plan_m=2.0)  # at rest at 40 m
    assert report["hard_brakes"]["events"][0]["justified_by"] == "walker"


def test_a_hard_brake_for_someone_stepping_into_the_path_is_justified():
    report = braking_run(lambda t: [walker(25.0 + FRONT_M, -3.5, vy=1.5)])
    assert report["hard_brakes"]["events"][0]["justified_by"] == "walker"


def test_a_hard_brake_with_nothing_in_the_path_is_a_phantom_and_fails():
    report = braking_run(lambda t: [walker(30.0 + FRONT_M, -6.0)])  # standing on the pavement
    assert report["hard_brakes"]["phantom"] == 1 and not report["passed"]
    assert any("phantom hard brakes 1 > 0" in f for f in report["failed_criteria"])


def test_a_scenario_may_declare_a_hard_brake_it_expects():
    assert braking_run(scn=scenario(max_phantom_brakes=1, max_stall_s=100.0))["passed"]


def test_a_hard_brake_after_an_injected_fault_is_the_faults():
    report = braking_run(scn=scenario(Fault("lidar", "nan", 2.5, None, None)))
    assert report["hard_brakes"]["events"][0]["justified_by"] == "fault"


def emergency_run(declared: int) -> dict:
    rec = RunRecorder(scenario(max_emergency_stops=declared), MapFeatures(), VEHICLE)
    for k, mode, why in (
        (1, "AUTONOMOUS", "all healthy"),
        (2, "MRM_EMERGENCY_STOP", "AEB: obstacle 3.1 m"),
    ):
        rec.record_step(
            k * DT_S,
            VanTruth(k * 0.5, 0.0, 0.0, 10.0, 0.0, 0.0, 0.0),
            mode=mode,
            supervisor_mode=(mode, why),
        )
    return rec.finalize(1.0)


def test_an_aeb_stop_is_counted_and_fails_unless_the_scenario_expects_one():
    report = emergency_run(declared=0)
    assert report["emergency_stops"] == [
        {"t_s": 2 * DT_S, "reason": "AEB: obstacle 3.1 m", "aeb": True}
    ]
    assert any(f.startswith("emergency stops 1 > 0") for f in report["failed_criteria"])
    assert not any(
        f.startswith("emergency stops") for f in emergency_run(declared=1)["failed_criteria"]
    )


def test_standing_still_with_nothing_to_wait_for_is_a_stall():
    report = braking_run()
    stalls = report["stalls"]
    assert stalls["longest_s"] > 2.5 and stalls["windows"][0][0] > 4.9  # at rest from 5 s


def test_a_stall_over_twenty_seconds_fails():
    report = braking_run(scn=scenario(max_phantom_brakes=1, max_stall_s=2.0))
    assert any(f.startswith("stall") for f in report["failed_criteria"])


def test_standing_at_a_bay_is_no_stall():
    rest_x = 10.0**2 / (2 * 5.0) + 30.0
    features = MapFeatures(bays={"end": (rest_x, 0.0, 0.0)})
    assert braking_run(features=features)["stalls"]["longest_s"] == 0.0


def test_standing_in_a_minimal_risk_stop_is_no_stall():
    assert braking_run(mode="MRM_COMFORTABLE_STOP")["stalls"]["longest_s"] == 0.0
