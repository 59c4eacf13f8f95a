"""Replay report figures from plain arrays."""

import numpy as np

from robovan_autonomy import core_types as ct
from robovan_autonomy.tools import replay_metrics as m


def _truth_line():
    """The van driving east at 10 m/s for 2 s, sampled at 50 Hz: rows t, x, y, yaw, speed."""
    t = np.arange(0.0, 2.0 + 1e-9, 0.02)
    return np.stack([t, 10.0 * t, np.zeros_like(t), np.zeros_like(t), np.full_like(t, 10.0)], -1)


def test_localization_error_is_measured_against_truth_at_the_estimate_stamp():
    truth = _truth_line()
    t = np.array([0.105, 0.5, 1.333])
    estimates = np.stack(
        [t, 10.0 * t + 0.3, np.full(3, 0.4), np.full(3, 0.01), np.full(3, 9.5)], -1
    )
    errors = m.localization_errors(estimates, truth)
    assert np.isclose(errors["position_error_m"]["max"], 0.5)
    assert np.isclose(errors["heading_error_rad"]["p50"], 0.01)
    assert np.isclose(errors["speed_error_mps"]["mean"], 0.5)


def test_estimates_outside_the_truth_span_are_not_judged():
    assert m.localization_errors(np.array([[5.0, 0, 0, 0, 0]]), _truth_line()) is None


def _table(rows):
    table = ct.empty_objects(len(rows))
    for k, (x, y, cls) in enumerate(rows):
        table[k]["x"], table[k]["y"], table[k]["class_id"] = x, y, cls
    return table


def test_perception_counts_matches_misses_and_false_alarms_within_range():
    truth = [
        (1.0, _table([(20.0, 0.0, 0), (30.0, 1.0, 2), (500.0, 0.0, 0)]))
    ]  # the last is out of range
    found = [(1.0, _table([(20.5, 0.0, 0), (30.0, -30.0, 0)]))]  # one hit, one false alarm
    scores = m.perception_scores(found, truth, _truth_line())
    assert scores["precision"] == 0.5 and scores["recall"] == 0.5
    assert np.isclose(scores["position_error_m"]["max"], 0.5) and scores["class_accuracy"] == 1.0


def test_object_tables_without_truth_near_their_stamp_are_not_judged():
    truth = [(1.0, _table([(20.0, 0.0, 0)]))]
    assert m.perception_scores([(1.5, _table([(20.0, 0.0, 0)]))], truth, _truth_line()) is None


def test_greedy_matching_pairs_closest_first_and_respects_the_gate():
    found = np.array([[0.0, 0.0], [1.0, 0.0]])
    truth = np.array([[0.9, 0.0], [10.0, 0.0]])
    assert m.match_objects(found, truth) == [(1, 0)]


def test_command_divergence_compares_commands_with_the_same_stamp():
    replayed = np.array([[0.1, 0.0, 1.0, 0.5], [0.2, 0.1, 2.0, 0.5], [0.3, 0.0, 3.0, 0.5]])
    recorded = np.array([[0.2, 0.0, 2.5, 0.5], [0.3, 0.0, 3.0, 0.5]])
    divergence = m.command_divergence(replayed, recorded)
    assert divergence["matched_commands"] == 2
    assert np.isclose(divergence["speed_diff_mps"]["max"], 0.5)
    assert np.isclose(divergence["steer_diff_rad"]["max"], 0.1)


def test_input_age_is_measured_from_the_newest_input_before_each_output():
    ages = m.input_age(np.array([0.0, 0.25, 0.5]), np.array([0.1, 0.2, 0.45]))
    assert ages["count"] == 2 and np.isclose(ages["max"], 0.05)


def test_diagnostics_timings_are_summarised_per_name():
    rows = [
        (
            0.1 * k,
            "planner",
            ct.OK if k else ct.WARN,
            "ok" if k else "waiting",
            {"cycle_ms": str(10.0 + k), "state": "cruise"},
        )
        for k in range(5)
    ]
    figures = m.diagnostics_figures(rows)["planner"]
    assert figures["reports"] == 5 and figures["not_ok"] == 1
    assert figures["timings_ms"]["cycle"]["max"] == 14.0
    assert figures["messages"] == {"ok": 4, "waiting": 1}


def test_statistics_of_nothing_are_none():
    assert m.stats([]) is None and m.command_figures(np.empty((0, 4))) is None
