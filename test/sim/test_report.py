"""Run report: collisions, infractions, driving score, stops, comfort and the PNG, on synthetic
logs."""

import json
import math
import struct

import numpy as np
import pytest

from robovan_autonomy.geometry import box_corners, polygons_overlap, project_to_polyline
from robovan_autonomy.perception.classes import ObjectClass
from robovan_autonomy.sim.actors import ActorState
from robovan_autonomy.sim.report.inputs import MapFeatures, VanTruth
from robovan_autonomy.sim.report.judge import PENALTIES, driving_score
from robovan_autonomy.sim.report.plot import write_report_png
from robovan_autonomy.sim.report.recorder import RunRecorder
from robovan_autonomy.sim.scenario import OUTCOMES, Scenario, StartPose, Stop, SuccessCriteria
from robovan_autonomy.vehicle_params import load_vehicle_params

DT_S = 0.05
VEHICLE = load_vehicle_params()
FRONT_M = VEHICLE.wheelbase_m + VEHICLE.front_overhang_m

CONTRACT_KEYS = {
    "scenario",
    "seed",
    "sim_time_s",
    "wall_time_s",
    "realtime_factor",
    "outcome",
    "route_completion",
    "collisions",
    "infractions",
    "driving_score",
    "stops",
    "lateral_error_m",
    "localization_error_m",
    "heading_error_rad",
    "comfort",
    "min_ttc_s",
    "mpc_solve_ms",
    "deadline_misses",
    "e2e_latency_ms",
    "perception",
    "mode",
    "distance_m",
}


def scenario(*stops, **success):
    return Scenario(
        name="synthetic",
        description="test",
        map="delivery_district.osm",
        seed=7,
        time_limit_s=100.0,
        arm_autonomy_at_s=0.0,
        start_pose=StartPose(x=0, y=0, yaw=0),
        mission=tuple(Stop(bay, dwell) for bay, dwell in (stops or (("end", 0.0),))),
        actors=(),
        faults=(),
        gnss_outages=(),
        success=SuccessCriteria(**success),
    )


def van(x, y=0.0, yaw=0.0, speed=0.0, accel=0.0, lat_accel=0.0):
    return VanTruth(x, y, yaw, speed, accel, 0.0, lat_accel)


def actor(x, y, kind="car", cls=ObjectClass.CAR, yaw=0.0, vx=0.0, length=4.5, width=1.8, track=1):
    return ActorState(
        id=f"{kind}{track}",
        track_id=track,
        type=kind,
        class_id=int(cls),
        x=x,
        y=y,
        yaw=yaw,
        speed=math.hypot(vx, 0.0),
        vx=vx,
        vy=0.0,
        length=length,
        width=width,
        height=1.5,
    )


def drive(profile, recorder=None, features=MapFeatures(), scn=None, **per_step):
    """Record a straight drive along +x; profile: list of (duration_s, speed_mps) legs at constant
    speed, joined by instant speed changes. per_step: callables t, x -> record_step kwargs."""
    rec = recorder or RunRecorder(scn or scenario(), features, VEHICLE)
    t, x = 0.0, 0.0
    for duration, speed in profile:
        for _ in range(round(duration / DT_S)):
            t += DT_S
            x += speed * DT_S
            extra = {k: f(t, x) for k, f in per_step.items()}
            rec.record_step(t, van(x, speed=speed), **extra)
    return rec


# --- collision geometry ---------------------------------------------------------------------


def test_overlapping_oriented_boxes_collide():
    a = box_corners(0.0, 0.0, 0.0, 4.0, 2.0)
    b = box_corners(2.5, 1.2, math.pi / 4, 2.0, 2.0)
    assert polygons_overlap(a, b).tolist() == [True]


def test_separated_boxes_do_not_collide_even_when_their_bounding_boxes_overlap():
    a = box_corners(0.0, 0.0, math.pi / 4, 4.0, 0.5)  # a thin diagonal bar...
    b = box_corners(1.3, -1.3, 0.0, 0.8, 0.8)  # ...and a box in the corner of its AABB
    assert polygons_overlap(a, b).tolist() == [False]


def test_overlap_test_is_vectorised_over_pairs():
    a = box_corners([0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [4.0] * 3, [2.0] * 3)
    b = box_corners([3.0, 10.0, 0.0], [0.0, 0.0, 1.9], [0.0, 0.0, 0.0], [4.0] * 3, [2.0] * 3)
    assert polygons_overlap(a, b).tolist() == [True, False, True]


def test_actor_inside_the_van_footprint_is_a_collision_of_its_kind():
    rec = RunRecorder(scenario(), vehicle=VEHICLE)
    rec.record_step(
        0.0,
        van(0.0),
        actors=[
            actor(FRONT_M + 0.2, 0.0, "pedestrian", ObjectClass.PEDESTRIAN, length=0.6, width=0.6)
        ],
    )
    report = rec.finalize(wall_time_s=1.0)
    assert [(c["actor_id"], c["kind"]) for c in report["collisions"]] == [
        ("pedestrian1", "collision_pedestrian")
    ]
    assert report["outcome"] == "collision"


def test_actor_beside_the_van_is_not_a_collision():
    rec = RunRecorder(scenario(), vehicle=VEHICLE)
    rec.record_step(0.0, van(0.0), actors=[actor(1.0, VEHICLE.width_m / 2 + 0.9 + 0.05)])
    assert rec.finalize(wall_time_s=1.0)["collisions"] == []


def test_a_contact_lasting_many_steps_counts_as_one_collision():
    rec = drive([(2.0, 0.0)], actors=lambda t, x: [actor(x + 2.0, 0.0)])
    assert len(rec.finalize(wall_time_s=1.0)["collisions"]) == 1


# --- driving score --------------------------------------------------------------------------


def test_driving_score_is_completion_times_the_product_of_penalties():
    counts = {"collision_pedestrian": 1, "stop_line": 2, "curb_strike": 0}
    assert driving_score(0.8, counts) == pytest.approx(100 * 0.8 * 0.5 * 0.8 * 0.8)


def test_penalty_table_follows_the_carla_leaderboard():
    assert PENALTIES == {
        "collision_pedestrian": 0.5,
        "collision_vehicle": 0.6,
        "collision_static": 0.65,
        "red_light": 0.7,
        "stop_line": 0.8,
        "curb_strike": 0.65,
        "missed_stop": 0.8,
    }


def test_report_score_combines_route_completion_and_recorded_infractions():
    features = MapFeatures(
        route_xy=np.array([[0.0, 0.0], [100.0, 0.0]]), bays={"end": (100.0, 0.0, 0.0)}
    )
    rec = drive([(5.0, 10.0)], features=features)  # 50 m of the 100 m route
    rec.record_infraction(5.0, "red_light", light="J3")
    report = rec.finalize(wall_time_s=1.0)
    assert report["route_completion"] == pytest.approx(0.5, abs=0.01)
    assert report["driving_score"] == pytest.approx(100 * report["route_completion"] * 0.7)
    assert report["infractions"]["red_light"] == [{"t_s": 5.0, "light": "J3"}]


# --- stops ----------------------------------------------------------------------------------


def test_stop_reports_position_error_and_dwell():
    features = MapFeatures(bays={"bay_a": (50.4, 0.0, 0.0)})
    rec = drive([(5.0, 10.0), (8.0, 0.0)], features=features, scn=scenario(("bay_a", 6.0)))
    report = rec.finalize(wall_time_s=1.0)
    (stop,) = report["stops"]
    assert stop["name"] == "bay_a" and stop["served"]
    assert stop["position_error_m"] == pytest.approx(0.4, abs=1e-6)
    assert stop["dwell_s"] == pytest.approx(8.0 - DT_S, abs=1e-6)
    assert report["outcome"] == "completed" and report["route_completion"] == 1.0


def test_driving_past_a_bay_is_a_missed_stop():
    features = MapFeatures(bays={"bay_a": (50.0, 0.0, 0.0)})
    report = drive([(10.0, 10.0)], features=features, scn=scenario(("bay_a", 5.0))).finalize(
        wall_time_s=1.0
    )
    assert [m["bay"] for m in report["infractions"]["missed_stop"]] == ["bay_a"]
    assert not report["stops"][0]["served"]


def test_stops_after_a_missed_one_are_still_judged():
    features = MapFeatures(bays={"bay_a": (30.0, 0.0, 0.0), "bay_b": (80.4, 0.0, 0.0)})
    rec = drive(
        [(8.0, 10.0), (3.0, 0.0)], features=features, scn=scenario(("bay_a", 5.0), ("bay_b", 0.0))
    )
    report = rec.finalize(wall_time_s=1.0)
    assert [s["served"] for s in report["stops"]] == [False, True]
    assert [m["bay"] for m in report["infractions"]["missed_stop"]] == ["bay_a"]
    assert report["outcome"] != "completed"


def test_a_dwell_much_shorter_than_asked_fails_the_stop():
    features = MapFeatures(bays={"bay_a": (50.0, 0.0, 0.0)})
    rec = drive(
        [(5.0, 10.0), (2.0, 0.0), (3.0, 10.0)], features=features, scn=scenario(("bay_a", 10.0))
    )
    report = rec.finalize(wall_time_s=1.0)
    assert report["infractions"]["missed_stop"][0]["reason"].startswith("dwelt")


# --- curbs, stop lines ------------------------------------------------------------------------


def test_footprint_crossing_a_curb_is_a_curb_strike():
    curb = np.array([[20.0, 0.5], [40.0, 0.5]])  # runs right under the van's left half
    report = drive([(6.0, 10.0)], features=MapFeatures(curbs=(curb,))).finalize(wall_time_s=1.0)
    assert len(report["infractions"]["curb_strike"]) == 1


def test_curb_beside_the_van_is_not_struck():
    curb = np.array([[0.0, 1.5], [100.0, 1.5]])
    report = drive([(6.0, 10.0)], features=MapFeatures(curbs=(curb,))).finalize(wall_time_s=1.0)
    assert report["infractions"]["curb_strike"] == []


def test_passing_a_stop_line_without_stopping_is_an_infraction():
    line = np.array([[40.0, -2.0], [40.0, 2.0]])
    report = drive([(6.0, 10.0)], features=MapFeatures(stop_lines=(line,))).finalize(
        wall_time_s=1.0
    )
    assert len(report["infractions"]["stop_line"]) == 1


def test_stopping_just_before_a_stop_line_then_passing_is_fine():
    line = np.array([[40.0, -2.0], [40.0, 2.0]])  # the front bumper stops 2 m before it
    rec = drive(
        [(round((40.0 - 2.0 - FRONT_M) / 10.0, 2), 10.0), (2.0, 0.0), (2.0, 5.0)],
        features=MapFeatures(stop_lines=(line,)),
    )
    assert rec.finalize(wall_time_s=1.0)["infractions"]["stop_line"] == []


# --- traffic lights -------------------------------------------------------------------------
SIGNAL_LINE = np.array([[40.0, -2.0], [40.0, 2.0]])
SIGNAL_FEATURES = MapFeatures(traffic_lights={7: ("I3_west", SIGNAL_LINE)})
UP_TO_LINE_S = 3.4  # at 10 m/s: the front bumper stops about 2 m before the line


def signal(*changes):
    """traffic_lights(t, x) for signal 7 showing each state from its time on: (t, state), ..."""
    return lambda t, x: {7: next(state for t0, state in reversed(changes) if t >= t0)}


def test_crossing_a_signals_line_on_red_is_a_red_light_infraction():
    rec = drive([(6.0, 10.0)], features=SIGNAL_FEATURES, traffic_lights=signal((0.0, "red")))
    (infraction,) = rec.finalize(wall_time_s=1.0)["infractions"]["red_light"]
    assert infraction["light"] == "I3_west"
    assert infraction["t_s"] == pytest.approx((40.0 - FRONT_M) / 10.0, abs=DT_S)


def test_entering_on_amber_is_no_red_light_infraction_even_when_red_follows():
    changes = ((0.0, "green"), (2.0, "amber"), (4.0, "red"))  # the front crosses at 3.6 s
    rec = drive([(6.0, 10.0)], features=SIGNAL_FEATURES, traffic_lights=signal(*changes))
    assert rec.finalize(wall_time_s=1.0)["infractions"]["red_light"] == []


def waiting_at_red(green_at_s, moves_at_s):
    return drive(
        [(UP_TO_LINE_S, 10.0), (moves_at_s - UP_TO_LINE_S, 0.0), (2.0, 5.0)],
        features=SIGNAL_FEATURES,
        traffic_lights=signal((0.0, "red"), (green_at_s, "green")),
        mode=lambda t, x: "AUTONOMOUS",
    ).finalize(wall_time_s=1.0)


def test_a_passage_reports_the_stop_short_of_the_line_the_wait_and_the_start_after_green():
    (passage,) = waiting_at_red(green_at_s=7.0, moves_at_s=7.5)["traffic_lights"]
    assert passage["light"] == "I3_west" and passage["state_at_crossing"] == "green"
    assert passage["states_on_approach"] == ["red", "green"]
    assert passage["stop_gap_m"] == pytest.approx(40.0 - 10.0 * UP_TO_LINE_S - FRONT_M)
    assert passage["wait_s"] == pytest.approx(7.5 - UP_TO_LINE_S, abs=2 * DT_S)
    assert passage["green_to_move_s"] == pytest.approx(0.5, abs=2 * DT_S)
    assert passage["min_speed_mps"] == 0.0


def test_waiting_at_a_red_light_is_no_stall_but_standing_on_at_green_is():
    assert waiting_at_red(green_at_s=30.0, moves_at_s=30.0)["stalls"]["longest_s"] == 0.0
    stalled = waiting_at_red(green_at_s=7.0, moves_at_s=12.0)["stalls"]
    assert stalled["longest_s"] == pytest.approx(5.0, abs=2 * DT_S)


# --- comfort --------------------------------------------------------------------------------


def synthetic_comfort_run(accel_of_t, lat_of_t=lambda t: 0.0, duration_s=10.0):
    rec = RunRecorder(scenario(), vehicle=VEHICLE)
    for k in range(round(duration_s / DT_S) + 1):
        t = k * DT_S
        rec.record_step(t, van(10.0 * t, speed=10.0, accel=accel_of_t(t), lat_accel=lat_of_t(t)))
    return rec.finalize(wall_time_s=1.0)["comfort"]


def test_comfort_reports_peak_accel_jerk_and_lateral_accel():
    comfort = synthetic_comfort_run(
        lambda t: 1.5 * math.sin(0.5 * t), lambda t: 2.0 * math.sin(0.3 * t)
    )
    assert comfort["max_abs_accel_mps2"] == pytest.approx(1.5, abs=1e-3)
    assert comfort["max_abs_jerk_mps3"] == pytest.approx(0.75, abs=0.01)
    assert comfort["max_lateral_accel_mps2"] == pytest.approx(2.0, abs=1e-3)
    assert comfort["emergency_braking_windows"] == []


def test_emergency_braking_is_flagged_and_left_out_of_comfort():
    comfort = synthetic_comfort_run(lambda t: -5.0 if 4.0 <= t < 5.0 else 1.0)
    assert comfort["emergency_braking_windows"] == [[pytest.approx(3.5), pytest.approx(5.45)]]
    assert comfort["max_abs_accel_mps2"] == pytest.approx(1.0)
    assert comfort["max_abs_jerk_mps3"] == pytest.approx(0.0)
    assert comfort["max_decel_mps2"] == pytest.approx(5.0)


# --- other metrics --------------------------------------------------------------------------


def test_localization_error_compares_the_estimate_with_truth_at_its_stamp():
    rec = drive(
        [(4.0, 10.0)],
        estimated_pose=lambda t, x: (x - 1.0 + 0.3, 0.4, 0.02),
        estimate_stamp_s=lambda t, x: t - 0.1,
    )
    report = rec.finalize(wall_time_s=1.0)
    assert report["localization_error_m"]["max"] == pytest.approx(0.5)
    assert report["localization_error_m"]["rms"] == pytest.approx(0.5)
    assert report["heading_error_rad"]["max"] == pytest.approx(0.02)


def test_min_ttc_is_gap_over_closing_speed_along_the_path():
    rec = RunRecorder(scenario(), vehicle=VEHICLE)
    gap_m = 30.0
    obstacle = actor(
        FRONT_M + gap_m + 0.5, 0.0, "static_obstacle", ObjectClass.STATIC, length=1.0, width=1.0
    )
    rec.record_step(0.0, van(0.0, speed=10.0), actors=[obstacle])
    assert rec.finalize(wall_time_s=1.0)["min_ttc_s"] == pytest.approx(3.0)


def test_actor_pulling_away_ahead_has_no_ttc():
    rec = RunRecorder(scenario(), vehicle=VEHICLE)
    rec.record_step(0.0, van(0.0, speed=10.0), actors=[actor(30.0, 0.0, vx=12.0)])
    assert rec.finalize(wall_time_s=1.0)["min_ttc_s"] is None


def perceived_object(x, y, vx=0.0, cls=ObjectClass.CAR):
    return {"x": x, "y": y, "vx": vx, "vy": 0.0, "class_id": int(cls)}


def parked_car(x, y):
    """A row of MapFeatures.parked_cars: x, y, yaw, length, width, height."""
    return [x, y, 0.0, 4.5, 1.8, 1.5]


def perception_of(features=MapFeatures(), actors=(), perceived=()):
    """The perception figures of one perceived list, the van at the origin facing +x."""
    rec = RunRecorder(scenario(), features, VEHICLE)
    rec.record_step(0.0, van(0.0), actors=list(actors), perceived=list(perceived))
    return rec.finalize(wall_time_s=1.0)["perception"]


ROUTE_ALONG_X = np.array([[-100.0, 0.0], [100.0, 0.0]])


def test_perception_precision_recall_and_velocity_error():
    truth = [
        actor(20.0, 0.0, vx=5.0, track=1),
        actor(30.0, 5.0, track=2),
        actor(35.0, -5.0, track=3),
    ]
    perceived = [
        perceived_object(20.5, 0.0, vx=4.0),
        perceived_object(30.0, 5.5, cls=ObjectClass.VAN_TRUCK),
        perceived_object(35.0, 10.0),
    ]
    perception = perception_of(actors=truth, perceived=perceived)
    assert perception["precision"] == pytest.approx(2 / 3)
    assert perception["recall"] == pytest.approx(2 / 3)
    assert perception["velocity_rmse_mps"] == pytest.approx(math.sqrt(0.5))
    assert perception["class_accuracy"] == pytest.approx(0.5)


def test_perceived_objects_are_judged_against_the_truth_at_their_stamp():
    """A table stamped at a scan 0.2 s before it arrived describes a braking car as it was then."""
    rec = RunRecorder(scenario(), vehicle=VEHICLE)
    for k, (x, vx) in enumerate([(20.0, 9.0), (20.9, 8.3), (21.7, 7.6)]):
        rec.record_step(
            0.1 * k,
            van(0.0),
            actors=[actor(x, 0.0, vx=vx)],
            perceived=[perceived_object(20.0, 0.0, vx=9.0)] if k == 2 else None,
            perceived_stamp_s=0.0 if k == 2 else None,
        )
    perception = rec.finalize(wall_time_s=1.0)["perception"]
    assert perception["recall"] == 1.0 and perception["velocity_rmse_mps"] == 0.0


def test_a_perceived_parked_car_is_a_true_positive_not_a_false_positive():
    features = MapFeatures(route_xy=ROUTE_ALONG_X, parked_cars=np.array([parked_car(20.0, -3.0)]))
    perception = perception_of(features, perceived=[perceived_object(20.3, -3.0)])
    assert perception["precision"] == 1.0 and perception["recall"] == 1.0
    assert perception["velocity_rmse_mps"] == 0.0 and perception["class_accuracy"] == 1.0


def test_a_missed_parked_car_lowers_recall():
    features = MapFeatures(
        route_xy=ROUTE_ALONG_X,
        parked_cars=np.array([parked_car(20.0, -3.0), parked_car(30.0, 6.5)]),
    )
    perception = perception_of(features, perceived=[perceived_object(20.3, -3.0)])
    assert perception["precision"] == 1.0 and perception["recall"] == pytest.approx(0.5)


def test_objects_beyond_40_m_of_the_van_are_not_counted():
    features = MapFeatures(
        route_xy=ROUTE_ALONG_X,
        parked_cars=np.array([parked_car(20.0, -3.0), parked_car(42.0, -3.0)]),
    )
    perception = perception_of(
        features,
        actors=[actor(-41.0, 0.0)],
        perceived=[perceived_object(20.3, -3.0), perceived_object(45.0, 3.0)],
    )
    assert perception["precision"] == 1.0 and perception["recall"] == 1.0


def test_objects_in_range_but_far_beside_the_route_are_not_counted():
    features = MapFeatures(
        route_xy=ROUTE_ALONG_X,
        parked_cars=np.array([parked_car(20.0, -3.0), parked_car(10.0, 30.0)]),
    )
    perception = perception_of(
        features,
        actors=[actor(0.0, -25.0, "pedestrian", ObjectClass.PEDESTRIAN)],
        perceived=[perceived_object(20.3, -3.0), perceived_object(20.0, 20.0)],
    )
    assert perception["precision"] == 1.0 and perception["recall"] == 1.0


def test_solver_latency_and_mode_history_are_summarised():
    modes = iter(["READY"] * 10 + ["ENGAGED"] * 30 + ["MINIMAL_RISK"] * 10)
    rec = drive(
        [(2.5, 5.0)],
        mpc_solve_ms=lambda t, x: 10.0 if round(t / DT_S) % 10 else 40.0,
        deadline_miss=lambda t, x: round(t / DT_S) % 10 == 0,
        mode=lambda t, x: next(modes),
        e2e_latency_ms=lambda t, x: [80.0],
    )
    report = rec.finalize(wall_time_s=1.0)
    assert report["mpc_solve_ms"]["p50"] == 10.0 and report["mpc_solve_ms"]["max"] == 40.0
    assert report["deadline_misses"] == 5
    assert report["e2e_latency_ms"] == {"p50": 80.0, "p99": 80.0}
    assert report["mode"]["final"] == "MINIMAL_RISK"
    assert [m for _, m in report["mode"]["history"]] == ["READY", "ENGAGED", "MINIMAL_RISK"]


def test_van_at_rest_behind_an_obstacle_ends_as_stop_before_obstacle():
    rec = drive(
        [(3.0, 10.0), (1.0, 0.0)],
        actors=lambda t, x: [actor(42.0, 0.0)],
        scn=scenario(expected_outcome="stop_before_obstacle"),
    )
    report = rec.finalize(wall_time_s=1.0)
    assert report["outcome"] == "stop_before_obstacle" and report["passed"]


def test_failed_criteria_name_what_failed():
    features = MapFeatures(bays={"end": (30.0, 0.0, 0.0)})
    rec = drive(
        [(3.0, 10.0), (1.0, 0.0)],
        features=features,
        scn=scenario(min_driving_score=99.0),
        estimated_pose=lambda t, x: (x + 2.0, 0.0, 0.0),
    )
    rec.record_infraction(1.0, "stop_line")
    report = rec.finalize(wall_time_s=1.0)
    assert report["outcome"] == "completed" and not report["passed"]
    assert report["failed_criteria"] == ["driving_score 80 < 99"]


def test_report_has_the_contract_keys_and_is_json():
    report = drive([(2.0, 5.0)]).finalize(wall_time_s=0.5)
    assert CONTRACT_KEYS <= set(report)
    assert report["outcome"] in OUTCOMES
    assert report["realtime_factor"] == pytest.approx(report["sim_time_s"] / 0.5)
    json.dumps(report, allow_nan=False)


def test_distance_driven_is_the_length_of_the_vans_track():
    report = drive([(2.0, 5.0), (1.0, 0.0), (1.0, 8.0)]).finalize(wall_time_s=0.5)
    assert report["distance_m"] == pytest.approx(18.0 - 5.0 * DT_S)  # from the first step on


def test_report_png_is_written_and_is_a_valid_png(tmp_path):
    features = MapFeatures(
        route_xy=np.array([[0.0, 0.0], [60.0, 0.0]]),
        bays={"end": (60.0, 0.0, 0.0)},
        curbs=(np.array([[0.0, -5.0], [60.0, -5.0]]),),
        stop_lines=(np.array([[30.0, -2.0], [30.0, 2.0]]),),
        buildings=(np.array([[0.0, 8.0], [20.0, 8.0], [20.0, 20.0], [0.0, 20.0]]),),
    )
    rec = drive(
        [(5.0, 10.0), (1.0, 0.0)],
        features=features,
        planned_path=lambda t, x: np.array([[x, 0.0], [x + 20.0, 0.0]]),
        mpc_solve_ms=lambda t, x: 12.0,
        mode=lambda t, x: "ENGAGED",
        estimated_pose=lambda t, x: (x, 0.1, 0.0),
        actors=lambda t, x: [actor(100.0, 3.0)],
    )
    path = write_report_png(
        json.loads(json.dumps(rec.finalize(wall_time_s=1.0))), tmp_path / "report.png", features
    )
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert width > 800 and height > 500
    assert data[-8:-4] == b"IEND"


def test_lateral_error_of_a_point_behind_the_plan_start_is_its_side_offset():
    plan = np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0]])
    distance, _, _ = project_to_polyline(np.array([[0.4, 0.1]]), plan, extend=True)
    assert distance[0] == pytest.approx(0.1)


def test_distance_to_a_polyline_without_extension_is_to_its_end_vertex():
    plan = np.array([[1.0, 0.0], [2.0, 0.0]])
    distance, _, _ = project_to_polyline(np.array([[0.0, 0.0]]), plan)
    assert distance[0] == pytest.approx(1.0)
