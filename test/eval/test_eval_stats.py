"""Eval statistics: pass rates with exact intervals, event rates per run and per distance,
and comparisons between two evals that say whether a change is more than chance."""

import pytest

from robovan_autonomy.tools.eval_stats import (
    clopper_pearson,
    compare,
    comparison_lines,
    family_stats,
    summarize,
)

# --- Clopper-Pearson ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "successes, trials, low, high",
    [
        (0, 10, 0.0, 0.3085),  # 1 - 0.025 ** (1 / 10)
        (10, 10, 0.6915, 1.0),
        (5, 10, 0.1871, 0.8129),
        (95, 100, 0.8872, 0.9836),
    ],
)
def test_the_interval_is_the_exact_clopper_pearson_one(successes, trials, low, high):
    assert clopper_pearson(successes, trials) == pytest.approx((low, high), abs=1e-4)


def test_the_interval_narrows_with_more_runs_at_the_same_rate():
    few, many = clopper_pearson(9, 10), clopper_pearson(900, 1000)
    assert few[0] < many[0] < 0.9 < many[1] < few[1]


def test_no_runs_say_nothing_about_the_rate():
    assert clopper_pearson(0, 0) == (0.0, 1.0)


# --- one family --------------------------------------------------------------------------------


def test_a_family_counts_its_runs_passes_and_the_interval(run):
    stats = family_stats([run(), run(passed=False), run(), run()])
    assert (stats["runs"], stats["passed"], stats["pass_rate"]) == (4, 3, 0.75)
    assert stats["pass_rate_ci95"] == pytest.approx(clopper_pearson(3, 4))


def test_an_error_is_a_run_that_did_not_pass_and_has_no_rates(run):
    stats = family_stats([run(collisions=1), run(error="WorkerCrashedError"), run()])
    assert (stats["runs"], stats["errors"], stats["passed"]) == (3, 1, 2)
    assert stats["collisions"]["per_100_runs"] == pytest.approx(50.0)


def test_events_are_counted_per_100_runs_and_per_1000_km(run):
    stats = family_stats(
        [run(collisions=1, mrm=2, aeb=1, km=0.5), run(mrm=1, km=1.5), run(km=2.0), run(km=1.0)]
    )
    assert stats["distance_km"] == pytest.approx(5.0)
    assert stats["collisions"] == {"count": 1, "per_100_runs": 25.0, "per_1000_km": 200.0}
    assert stats["mrm_stops"]["per_100_runs"] == pytest.approx(75.0)
    assert stats["aeb_activations"]["per_1000_km"] == pytest.approx(200.0)


def test_runs_of_an_older_summary_without_a_field_leave_its_rate_unknown():
    old = {"scenario": "crosswalk", "passed": True, "driving_score": 100.0, "collisions": 0}
    stats = family_stats([old, old])
    assert stats["mrm_stops"] == {"count": 0, "per_100_runs": None, "per_1000_km": None}
    assert stats["collisions"]["per_100_runs"] == 0.0 and stats["distance_km"] is None


def test_the_driving_score_distribution_is_min_median_max(run):
    stats = family_stats([run(score=s) for s in (40.0, 100.0, 80.0, 90.0)])
    assert stats["driving_score"] == {"min": 40.0, "median": 85.0, "max": 100.0}


def test_the_worst_runs_come_errors_first_then_failures_then_low_scores_with_a_rerun(run):
    rows = [
        run(variation="a", score=70.0),
        run(variation="b", passed=False, score=90.0),
        run(variation="c", error="timeout"),
        run(variation="d", score=60.0),
    ]
    worst = family_stats(rows)["worst"]
    assert [w["run"] for w in worst] == ["crosswalk@c", "crosswalk@b", "crosswalk@d"]
    assert worst[0]["rerun"] == "robovan sim --scenario crosswalk"


def test_a_summary_has_each_family_and_all_runs_together(run):
    summary = summarize([run("a"), run("a", "x", passed=False), run("b")])
    assert {name: s["runs"] for name, s in summary["families"].items()} == {"a": 2, "b": 1}
    assert (summary["overall"]["runs"], summary["overall"]["passed"]) == (3, 2)


# --- comparing two evals ------------------------------------------------------------------------


def change(result, family, metric):
    return next(c for c in result["changes"] if (c["family"], c["metric"]) == (family, metric))


def test_a_pass_rate_that_fell_far_is_a_significant_change_for_the_worse(run):
    old = [run() for _ in range(20)]
    new = [run(passed=i < 5) for i in range(20)]
    c = change(compare(old, new), "crosswalk", "pass_rate")
    assert (c["old"], c["new"], c["direction"], c["test"]) == (1.0, 0.25, "worse", "Fisher exact")
    assert c["significant"] and c["p_value"] < 1e-4


def test_one_more_failure_in_ten_is_not_significant(run):
    old = [run(passed=i < 9) for i in range(10)]
    new = [run(passed=i < 8) for i in range(10)]
    c = change(compare(old, new), "crosswalk", "pass_rate")
    assert c["direction"] == "worse" and not c["significant"]


def test_collisions_that_stopped_are_a_significant_change_for_the_better(run):
    old = [run(collisions=int(i < 10)) for i in range(50)]
    new = [run() for _ in range(50)]
    c = change(compare(old, new), "crosswalk", "collisions_per_run")
    assert (c["old"], c["new"], c["direction"]) == (0.2, 0.0, "better") and c["significant"]


def test_driving_scores_are_compared_by_their_distributions(run):
    old = [run(score=100.0) for _ in range(12)]
    new = [run(score=70.0 + i) for i in range(12)]
    c = change(compare(old, new), "crosswalk", "median_driving_score")
    assert (c["direction"], c["test"], c["significant"]) == ("worse", "Mann-Whitney U", True)


def test_all_runs_are_compared_too_and_families_in_one_eval_only_are_named(run):
    result = compare([run("a"), run("gone")], [run("a"), run("new")])
    assert (result["only_old"], result["only_new"]) == (["gone"], ["new"])
    assert change(result, "(all)", "pass_rate")["direction"] == "same"


def test_the_comparison_lists_what_moved_significant_first_and_says_how_it_was_judged(run):
    old = [run("a") for _ in range(20)] + [run("b", passed=i < 9) for i in range(10)]
    new = [run("a", passed=i < 5) for i in range(20)] + [run("b") for _ in range(10)]
    lines = comparison_lines(compare(old, new))
    assert lines[0].startswith("worse  a ") and "significant" in lines[0]
    assert "Fisher exact" in lines[0] and "not significant" not in lines[0]
    assert any(line.startswith("better b ") and "not significant" in line for line in lines)
    assert "not corrected for the number of tests" in lines[-1]
