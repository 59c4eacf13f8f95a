"""Scripted actors: path following, triggers and hard braking, on exact kinematics."""

import math

import pytest

from robovan_autonomy.perception.classes import ObjectClass
from robovan_autonomy.sim.actors import ScriptedActors
from robovan_autonomy.sim.scenario import parse_actor

DT_S = 0.01
FAR_AWAY = (1e4, 1e4, 0.0)


def run(actor_docs, until_s, van_pose=FAR_AWAY, dt_s=DT_S):
    """States after stepping to until_s, and the whole history {t rounded to the step: states}."""
    actors = ScriptedActors([parse_actor(doc) for doc in actor_docs])
    history = {}
    for k in range(1, round(until_s / dt_s) + 1):
        t_s = k * dt_s
        pose = van_pose(t_s) if callable(van_pose) else van_pose
        history[at(t_s)] = actors.update(t_s, pose, dt_s)
    return history[at(until_s)], history


def at(t_s):
    """The history key of the step nearest t_s."""
    return round(round(t_s / DT_S) * DT_S, 6)


ACCEL_MPS2 = 10.0
PULL_AWAY_LAG_M = 2.0**2 / (
    2 * ACCEL_MPS2
)  # how far behind "at speed from t0" a walker pulling away is


def walker(**extra):
    doc = {
        "id": "p",
        "type": "pedestrian",
        "speed_mps": 2.0,
        "accel_mps2": ACCEL_MPS2,
        "path": [{"x": 0, "y": 0}, {"x": 20, "y": 0}, {"x": 20, "y": 20}],
    }
    doc.update(extra)
    return doc


def test_actor_pulls_away_then_moves_along_its_path_at_its_speed():
    (state,), _ = run([walker()], 5.0)
    assert state.x == pytest.approx(10.0 - PULL_AWAY_LAG_M, abs=1e-6)
    assert state.y == pytest.approx(0.0)
    assert state.speed == pytest.approx(2.0)


def test_actor_turns_at_a_waypoint_and_faces_along_the_next_segment():
    (state,), _ = run([walker()], 12.0)
    assert (state.x, state.y) == (
        pytest.approx(20.0),
        pytest.approx(4.0 - PULL_AWAY_LAG_M, abs=1e-6),
    )
    assert state.yaw == pytest.approx(math.pi / 2)
    assert (state.vx, state.vy) == (pytest.approx(0.0, abs=1e-9), pytest.approx(2.0))


def test_waypoint_speed_overrides_the_actor_speed_on_its_segment():
    doc = walker(path=[{"x": 0, "y": 0, "speed_mps": 1.0}, {"x": 10, "y": 0}, {"x": 40, "y": 0}])
    (slow,), history = run([doc], 16.0)
    slow = history[5.0][0]
    assert slow.speed == pytest.approx(1.0)
    assert history[15.0][0].speed == pytest.approx(2.0)


def test_actor_waits_on_a_waypoint_with_wait_s_then_goes_on():
    doc = walker(path=[{"x": 0, "y": 0}, {"x": 10, "y": 0, "wait_s": 3.0}, {"x": 10, "y": 10}])
    _, history = run([doc], 12.0)
    for t_s in (6.0, 7.0, 8.0):
        state = history[t_s][0]
        assert (state.x, state.y, state.speed) == (pytest.approx(10.0), pytest.approx(0.0), 0.0)
    assert history[12.0][0].y > 0.5


def test_actor_comes_to_rest_exactly_on_the_last_waypoint():
    (state,), _ = run([walker()], 40.0)
    assert (state.x, state.y, state.speed) == (pytest.approx(20.0), pytest.approx(20.0), 0.0)


def test_slowing_for_a_stop_respects_the_actor_accel_limit():
    doc = {
        "id": "c",
        "type": "car",
        "speed_mps": 10.0,
        "accel_mps2": 2.0,
        "path": [{"x": 0, "y": 0}, {"x": 100, "y": 0}],
    }
    _, history = run([doc], 20.0)
    speeds = [history[t][0].speed for t in sorted(history)]
    assert max(a - b for a, b in zip(speeds, speeds[1:])) <= 2.0 * DT_S + 1e-9
    assert history[20.0][0].x == pytest.approx(100.0)


def test_looping_actor_comes_back_to_its_first_waypoint_and_goes_round_again():
    doc = walker(loop=True, path=[{"x": 0, "y": 0}, {"x": 10, "y": 0}, {"x": 10, "y": 10}])
    lap_s = (10 + 10 + math.hypot(10, 10)) / 2.0 + PULL_AWAY_LAG_M / 2.0
    _, history = run([doc], 2 * lap_s + 2.0)
    after_lap = history[at(lap_s)][0]
    assert math.hypot(after_lap.x, after_lap.y) < 2.0 * DT_S + 1e-6
    assert history[at(lap_s + 1.0)][0].x == pytest.approx(2.0, abs=2.0 * DT_S)


def test_time_trigger_keeps_the_actor_on_its_first_waypoint_until_then():
    _, history = run([walker(start={"time_s": 3.0})], 4.0)
    assert history[3.0][0].x == 0.0 and history[3.0][0].speed == 0.0
    assert history[3.01][0].speed == pytest.approx(ACCEL_MPS2 * DT_S)
    assert history[4.0][0].x == pytest.approx(2.0 - PULL_AWAY_LAG_M)


def test_wait_on_the_first_waypoint_delays_the_start():
    doc = walker(path=[{"x": 0, "y": 0, "wait_s": 2.0}, {"x": 20, "y": 0}], start={"time_s": 1.0})
    _, history = run([doc], 4.0)
    assert history[3.0][0].x == 0.0
    assert history[4.0][0].x == pytest.approx(2.0 - PULL_AWAY_LAG_M)


def test_distance_trigger_fires_only_once_the_van_comes_within_range_of_the_actor():
    def van(t_s):  # drives up the x axis towards the walker at (0, 0) from 50 m away
        return (-50.0 + 10.0 * t_s, 0.0, 0.0)

    _, history = run([walker(start={"van_within_m": 20.0})], 5.0, van_pose=van)
    assert history[2.99][0].x == 0.0
    assert history[5.0][0].x > 0.0


def test_distance_trigger_can_measure_from_a_point():
    trigger = {"van_within_m": 5.0, "point": {"x": 100.0, "y": 0.0}}
    (untriggered,), _ = run([walker(start=trigger)], 2.0, van_pose=(0.0, 0.0, 0.0))
    (triggered,), _ = run([walker(start=trigger)], 2.0, van_pose=(97.0, 0.0, 0.0))
    assert untriggered.x == 0.0
    assert triggered.x == pytest.approx(2.0 * 2.0 - PULL_AWAY_LAG_M)


def test_hard_brake_stops_at_the_given_deceleration_and_holds():
    doc = {
        "id": "lead",
        "type": "car",
        "speed_mps": 10.0,
        "accel_mps2": 5.0,
        "path": [{"x": 0, "y": 0}, {"x": 500, "y": 0}],
        "brake": {"time_s": 4.0, "decel_mps2": 8.0, "hold_s": 3.0},
    }
    _, history = run([doc], 10.0)
    assert (history[4.0][0].x, history[4.0][0].speed) == (pytest.approx(30.0), pytest.approx(10.0))
    assert history[4.5][0].speed == pytest.approx(10.0 - 8.0 * 0.5)
    stopped = history[5.5][0]
    assert stopped.speed == 0.0
    assert stopped.x == pytest.approx(30.0 + 10.0**2 / (2 * 8.0))
    assert history[8.0][0].x == stopped.x
    assert history[10.0][0].speed > 0.0


def test_brake_without_hold_stays_stopped_for_good():
    doc = {
        "id": "lead",
        "type": "car",
        "speed_mps": 10.0,
        "path": [{"x": 0, "y": 0}, {"x": 500, "y": 0}],
        "brake": {"van_within_m": 15.0, "decel_mps2": 6.0},
    }
    (state,), history = run([doc], 30.0, van_pose=lambda t: (10.0 * t - 12.0, 0.0, 0.0))
    assert state.speed == 0.0
    assert state.x == pytest.approx(history[10.0][0].x)


def test_static_obstacle_stays_put_with_its_size_class_and_heading():
    doc = {
        "id": "pallet",
        "type": "static_obstacle",
        "path": [{"x": 5, "y": -2}],
        "yaw": 0.3,
        "size": {"length_m": 1.2},
    }
    (state,), _ = run([doc], 1.0, van_pose=(5.0, -2.0, 0.0))
    assert (state.x, state.y, state.yaw, state.speed) == (5.0, -2.0, 0.3, 0.0)
    assert (state.length, state.width) == (1.2, 1.0)
    assert state.class_id == ObjectClass.STATIC


def test_each_actor_type_reports_its_shared_class_id():
    types = {
        "pedestrian": ObjectClass.PEDESTRIAN,
        "cyclist": ObjectClass.CYCLIST,
        "car": ObjectClass.CAR,
        "van": ObjectClass.VAN_TRUCK,
    }
    docs = [
        {"id": name, "type": name, "path": [{"x": 0, "y": 3 * i}]} for i, name in enumerate(types)
    ]
    states, _ = run(docs, DT_S)
    assert [s.class_id for s in states] == [int(c) for c in types.values()]
    assert [s.track_id for s in states] == [1, 2, 3, 4]


def test_two_runs_of_the_same_script_are_identical():
    docs = [
        walker(start={"van_within_m": 30.0}),
        {
            "id": "lead",
            "type": "car",
            "speed_mps": 8.0,
            "path": [{"x": 0, "y": 5}, {"x": 300, "y": 5}],
            "brake": {"time_s": 4.0, "decel_mps2": 6.0, "hold_s": 1.0},
        },
    ]

    def van(t_s):
        return (-40.0 + 7.0 * t_s, 1.0, 0.0)

    assert run(docs, 15.0, van)[1] == run(docs, 15.0, van)[1]
