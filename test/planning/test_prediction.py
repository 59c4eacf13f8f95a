"""Object prediction over the horizon (CV / CTRV), disc covers, and the path-frame projection."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robovan_autonomy.core_types import OBJECT_DTYPE
from robovan_autonomy.perception.classes import ObjectClass
from robovan_autonomy.planning.prediction import (
    MAX_PREDICTED_TURN_RAD,
    PATH_END_EXTENSION_M,
    Horizon,
    TurnRateEstimator,
    disc_cover,
    predict_objects,
    project_to_path,
)

HORIZON = Horizon(n_stages=40, dt_s=0.1)


def objects(*rows) -> np.ndarray:
    """OBJECT_DTYPE table from dicts of the fields that matter; the rest default to a car."""
    table = np.zeros(len(rows), dtype=OBJECT_DTYPE)
    for i, row in enumerate(rows):
        table[i]["length"], table[i]["width"], table[i]["height"] = 4.5, 1.8, 1.5
        table[i]["class_id"], table[i]["track_id"], table[i]["score"] = ObjectClass.CAR, i + 1, 0.9
        for key, value in row.items():
            table[i][key] = value
    return table


def test_constant_velocity_object_moves_on_a_straight_line():
    prediction = predict_objects(objects(dict(x=1.0, y=2.0, vx=3.0, vy=-4.0, yaw=-0.927)), HORIZON)
    t = HORIZON.t_s
    np.testing.assert_allclose(prediction.x_m[0], 1.0 + 3.0 * t, atol=1e-5)
    np.testing.assert_allclose(prediction.y_m[0], 2.0 - 4.0 * t, atol=1e-5)
    np.testing.assert_allclose(prediction.yaw_rad[0], -0.927, atol=1e-6)


def test_constant_turn_rate_object_follows_a_circle():
    speed, omega = 5.0, 0.25  # radius 20 m; 4 s turns 1 rad, below the quarter-circle cap
    prediction = predict_objects(
        objects(dict(x=0.0, y=-20.0, vx=speed, vy=0.0)), HORIZON, turn_rate_radps=np.array([omega])
    )
    angle = omega * HORIZON.t_s - math.pi / 2  # centred on the origin, counter-clockwise
    np.testing.assert_allclose(prediction.x_m[0], 20.0 * np.cos(angle), atol=1e-4)
    np.testing.assert_allclose(prediction.y_m[0], 20.0 * np.sin(angle), atol=1e-4)
    np.testing.assert_allclose(prediction.yaw_rad[0], omega * HORIZON.t_s, atol=1e-6)


def test_predicted_turn_ends_after_a_quarter_circle_and_goes_straight():
    speed, omega = 5.0, 1.0  # the quarter circle ends at t = π/2 s
    prediction = predict_objects(
        objects(dict(x=0.0, y=-5.0, vx=speed)), HORIZON, turn_rate_radps=np.array([omega])
    )
    end = HORIZON.t_s[-1]
    assert prediction.yaw_rad[0, -1] == pytest.approx(MAX_PREDICTED_TURN_RAD)
    # Quarter circle of radius 5 about the origin ends at (5, 0), then straight north.
    assert prediction.x_m[0, -1] == pytest.approx(5.0, abs=1e-4)
    assert prediction.y_m[0, -1] == pytest.approx(speed * (end - math.pi / 2), abs=1e-4)


def test_stationary_object_stays_put():
    prediction = predict_objects(objects(dict(x=7.0, y=-3.0, yaw=0.4)), HORIZON)
    assert np.all(prediction.x_m == pytest.approx(7.0)) and np.all(
        prediction.y_m == pytest.approx(-3.0)
    )
    assert prediction.speed_mps[0] == 0.0


def test_car_is_covered_by_three_discs_and_a_pedestrian_by_one():
    owner, offset, radius = disc_cover(np.array([4.5, 0.6]), np.array([1.8, 0.6]))
    assert list(owner) == [0, 0, 0, 1]
    np.testing.assert_allclose(offset[:3], [-1.5, 0.0, 1.5])
    assert radius[0] == pytest.approx(math.hypot(0.75, 0.9))
    assert radius[3] == pytest.approx(math.hypot(0.3, 0.3))


@settings(max_examples=60, deadline=None)
@given(
    length=st.floats(0.2, 20.0),
    width=st.floats(0.2, 5.0),
    u=st.floats(-0.5, 0.5),
    v=st.floats(-0.5, 0.5),
)
def test_discs_cover_every_point_of_the_box(length, width, u, v):
    _, offset, radius = disc_cover(np.array([length]), np.array([width]))
    px, py = u * length, v * width
    assert np.min(np.hypot(px - offset, py) - radius) <= 1e-9


def test_discs_move_and_turn_with_their_object():
    prediction = predict_objects(
        objects(dict(x=0.0, y=0.0, vx=0.0, vy=2.0, yaw=math.pi / 2)), HORIZON
    )
    front = np.argmax(prediction.disc_y_m[:, 0])
    np.testing.assert_allclose(prediction.disc_x_m[:, -1], 0.0, atol=1e-5)
    assert prediction.disc_y_m[front, -1] == pytest.approx(1.5 + 2.0 * HORIZON.t_s[-1], abs=1e-4)


def test_subset_keeps_the_discs_of_the_chosen_objects():
    prediction = predict_objects(
        objects(dict(x=0.0), dict(x=10.0, length=0.6, width=0.6), dict(x=20.0)), HORIZON
    )
    chosen = prediction.subset(np.array([2, 1]))
    assert list(chosen.track_id) == [3, 2]
    assert list(chosen.disc_object) == [0, 0, 0, 1]
    assert chosen.disc_x_m[3, 0] == pytest.approx(10.0)


def test_turn_rate_is_estimated_from_the_course_change_between_tables():
    estimator = TurnRateEstimator()
    speed, omega, dt = 6.0, 0.3, 0.1
    rate = 0.0
    for k in range(30):
        course = omega * k * dt
        table = objects(dict(vx=speed * math.cos(course), vy=speed * math.sin(course)))
        rate = estimator.update(k * dt, table)[0]
    assert rate == pytest.approx(omega, rel=1e-3)


def test_a_course_that_has_just_appeared_gets_no_turn_rate():
    estimator = TurnRateEstimator()
    rates = []
    for k, course in enumerate(
        (0.4, 0.3, 0.15, 0.0, -0.1)
    ):  # a velocity settling as it is believed
        rates.append(
            estimator.update(
                0.1 * k, objects(dict(vx=2.8 * math.cos(course), vy=2.8 * math.sin(course)))
            )[0]
        )
    assert rates == [0.0] * 5


def test_an_oncoming_car_whose_course_wobbles_within_tracking_noise_is_predicted_straight():
    """10.5 m/s with ±0.15 m/s of tracked velocity across it: its course wobbles by 0.03 rad/s,
    which, taken for a turn, would bend it a metre into the next lane within 2 s."""
    estimator = TurnRateEstimator()
    rates = []
    for k in range(40):
        vy = 0.15 * math.sin(2.0 * math.pi * k * 0.1 / 3.0)
        rates.append(estimator.update(0.1 * k, objects(dict(vx=-10.5, vy=vy)))[0])
    assert rates == [0.0] * 40


def test_slow_objects_get_no_turn_rate():
    estimator = TurnRateEstimator()
    for k, course in enumerate((0.0, 1.0, 2.0)):  # a jittering course at walking-stick speed
        rate = estimator.update(
            0.1 * k, objects(dict(vx=0.3 * math.cos(course), vy=0.3 * math.sin(course)))
        )[0]
    assert rate == 0.0


# --- path frame --------------------------------------------------------------------------------


def straight_path(length_m: float = 100.0, spacing_m: float = 0.5):
    s = np.arange(0.0, length_m + 1e-9, spacing_m)
    return s, np.zeros_like(s), s  # along +x: x = s, y = 0


def circle_path(radius_m: float = 30.0, spacing_m: float = 0.5):
    s = np.arange(0.0, math.pi * radius_m + 1e-9, spacing_m)
    angle = s / radius_m - math.pi / 2  # counter-clockwise from (0, -R), heading +x at s = 0
    return radius_m * np.cos(angle), radius_m * np.sin(angle), s


def test_points_beside_a_straight_path_project_to_their_x_and_signed_y():
    x, y, s = straight_path()
    result = project_to_path(x, y, s, np.array([10.2, 55.0, 70.0]), np.array([1.5, -2.0, 0.0]))
    np.testing.assert_allclose(result.s_m, [10.2, 55.0, 70.0])
    np.testing.assert_allclose(result.d_m, [1.5, -2.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(result.heading_rad, 0.0)


def test_points_near_a_curved_path_get_arc_length_and_offset_toward_the_centre():
    radius = 30.0
    x, y, s = circle_path(radius)
    angle = np.array([0.3, 1.1, 2.0])
    r = np.array([27.0, 31.0, 30.0])  # 3 m inside (left of a left turn), 1 m outside, on it
    result = project_to_path(
        x, y, s, r * np.cos(angle - math.pi / 2), r * np.sin(angle - math.pi / 2)
    )
    # Chords of 0.5 m stand in for the arc: off-path points land up to ~3 cm off along it.
    np.testing.assert_allclose(result.s_m, radius * angle, atol=0.05)
    np.testing.assert_allclose(result.d_m, [3.0, -1.0, 0.0], atol=0.01)
    np.testing.assert_allclose(result.heading_rad, angle, atol=0.01)


def test_projection_keeps_the_shape_of_the_query():
    x, y, s = straight_path()
    qx, qy = np.full((4, 7), 12.0), np.linspace(-3.0, 3.0, 7)[None, :].repeat(4, axis=0)
    result = project_to_path(x, y, s, qx, qy)
    assert result.s_m.shape == (4, 7) and result.d_m.shape == (4, 7)
    np.testing.assert_allclose(result.d_m, qy, atol=1e-12)


def test_points_just_past_the_ends_of_the_path_extrapolate_along_the_end_segments():
    x, y, s = straight_path(50.0)
    result = project_to_path(x, y, s, np.array([-5.0, 58.0, 80.0]), np.array([1.0, -1.0, 0.0]))
    np.testing.assert_allclose(result.s_m, [-5.0, 58.0, 50.0 + PATH_END_EXTENSION_M])
    np.testing.assert_allclose(result.d_m[:2], [1.0, -1.0])
    assert abs(result.d_m[2]) == pytest.approx(
        80.0 - 50.0 - PATH_END_EXTENSION_M
    )  # far beyond: clamped


def test_window_picks_the_visit_of_a_route_that_passes_the_same_place_twice():
    # Out along y = 0 to x = 50, a 2 m-wide hairpin, back along y = 2.
    out = np.column_stack([np.arange(0.0, 50.5, 0.5), np.zeros(101)])
    back = np.column_stack([np.arange(50.0, -0.5, -0.5), np.full(101, 2.0)])
    xy = np.vstack([out, back])
    s = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(xy, axis=0).T))])
    point = (np.array([20.0]), np.array([1.2]))  # nearer the return leg
    assert project_to_path(xy[:, 0], xy[:, 1], s, *point).s_m[0] == pytest.approx(s[-1] - 20.0)
    windowed = project_to_path(xy[:, 0], xy[:, 1], s, *point, s_min_m=0.0, s_max_m=45.0)
    assert windowed.s_m[0] == pytest.approx(20.0)
    assert windowed.d_m[0] == pytest.approx(1.2)


def exhaustive_projection(x, y, s, qx, qy):
    """The definition, point by point: every segment, clamped at its ends, the two end segments
    of the path extended by PATH_END_EXTENSION_M."""
    best = []
    ax, ay, ex, ey = x[:-1], y[:-1], np.diff(x), np.diff(y)
    length = np.hypot(ex, ey)
    lo, hi = np.zeros_like(length), np.ones_like(length)
    lo[0], hi[-1] = -PATH_END_EXTENSION_M / length[0], 1.0 + PATH_END_EXTENSION_M / length[-1]
    for px, py in zip(qx, qy):
        t = np.clip(((px - ax) * ex + (py - ay) * ey) / length**2, lo, hi)
        dist = np.hypot(ax + t * ex - px, ay + t * ey - py)
        i = int(np.argmin(dist))
        best.append((s[i] + t[i] * length[i], dist[i]))
    return np.array(best)


@settings(max_examples=25, deadline=None)
@given(bends=st.lists(st.floats(-0.08, 0.08), min_size=4, max_size=4), seed=st.integers(0, 2**16))
def test_projection_finds_the_same_nearest_point_as_an_exhaustive_search(bends, seed):
    # A smooth random route (curvature piecewise constant over 50 m pieces, radius ≥ 12.5 m)
    # sampled every 0.5 m, and points up to 15 m off it.
    s = np.arange(0.0, 200.0, 0.5)
    yaw = np.cumsum(np.repeat(bends, len(s) // 4 + 1)[: len(s)] * 0.5)
    x, y = np.cumsum(0.5 * np.cos(yaw)), np.cumsum(0.5 * np.sin(yaw))
    s = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(x), np.diff(y)))])
    rng = np.random.default_rng(seed)
    at = rng.integers(0, len(s), 60)
    off = rng.uniform(-15.0, 15.0, 60)
    qx, qy = x[at] - np.sin(yaw[at]) * off, y[at] + np.cos(yaw[at]) * off
    result = project_to_path(x, y, s, qx, qy)
    expected = exhaustive_projection(x, y, s, qx, qy)
    np.testing.assert_allclose(np.abs(result.d_m), expected[:, 1], atol=1e-6)
    unique = np.abs(result.d_m) > 0.5  # off the path, where the nearest point is one point
    np.testing.assert_allclose(result.s_m[unique], expected[unique, 0], atol=1e-6)
