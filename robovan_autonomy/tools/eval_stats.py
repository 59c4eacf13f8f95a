"""Statistics over an eval's runs, per scenario family (a base scenario and its variants).

Pure: rows in, dicts out (scipy, no ROS). A row is one run of `robovan eval` (summary.json
`runs`); rows of older summaries, which lack some fields, count where they have them. A run that
gave no report (`error` set) counts as a run that did not pass, and is left out of every rate
that needs a report.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable

from scipy import stats

CONFIDENCE = 0.95
ALPHA = 1.0 - CONFIDENCE  # a change is called significant below this p-value
WORST_LISTED = 3
EVENTS = ("collisions", "mrm_stops", "aeb_activations")
OVERALL = "(all)"


def clopper_pearson(
    successes: int, trials: int, confidence: float = CONFIDENCE
) -> tuple[float, float]:
    """The exact binomial interval: it keeps its coverage for few runs and rates near 0 or 1,
    where the normal approximation claims certainty it does not have."""
    if trials == 0:
        return 0.0, 1.0
    tail = (1.0 - confidence) / 2.0
    low = 0.0 if successes == 0 else stats.beta.ppf(tail, successes, trials - successes + 1)
    high = (
        1.0
        if successes == trials
        else stats.beta.ppf(1.0 - tail, successes + 1, trials - successes)
    )
    return float(low), float(high)


def _known(rows: Iterable[dict], key: str) -> list[dict]:
    return [row for row in rows if row.get("error") is None and row.get(key) is not None]


def event_rates(rows: list[dict], key: str) -> dict:
    """How often `key` happened: in all, per 100 runs and per 1000 km driven."""
    counted = _known(rows, key)
    count = sum(row[key] for row in counted)
    driven = _known(counted, "distance_m")
    km = sum(row["distance_m"] for row in driven) / 1000.0
    return {
        "count": count,
        "per_100_runs": 100.0 * count / len(counted) if counted else None,
        "per_1000_km": 1000.0 * sum(row[key] for row in driven) / km if km > 0 else None,
    }


def _badness(row: dict) -> tuple:
    """Sorts the worst run first: an error, then a failure, then the lowest score."""
    score = row.get("driving_score")
    return (
        row.get("error") is None,
        bool(row["passed"]),
        score if score is not None else -1.0,
        -(row.get("collisions") or 0),
    )


def family_stats(rows: list[dict]) -> dict:
    passed = sum(bool(row["passed"]) for row in rows)
    low, high = clopper_pearson(passed, len(rows))
    scores = [row["driving_score"] for row in _known(rows, "driving_score")]
    driven = _known(rows, "distance_m")
    return {
        "runs": len(rows),
        "errors": sum(row.get("error") is not None for row in rows),
        "passed": passed,
        "pass_rate": passed / len(rows) if rows else None,
        "pass_rate_ci95": [low, high],
        "distance_km": sum(row["distance_m"] for row in driven) / 1000.0 if driven else None,
        **{key: event_rates(rows, key) for key in EVENTS},
        "driving_score": {
            "min": min(scores),
            "median": statistics.median(scores),
            "max": max(scores),
        }
        if scores
        else None,
        "worst": [
            {
                key: row.get(key)
                for key in (
                    "run",
                    "variation",
                    "values",
                    "passed",
                    "outcome",
                    "error",
                    "driving_score",
                    "failed_criteria",
                    "rerun",
                )
            }
            for row in sorted(rows, key=_badness)[:WORST_LISTED]
        ],
    }


def families(rows: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for row in rows:
        grouped.setdefault(row["scenario"], []).append(row)
    return grouped


def summarize(rows: list[dict]) -> dict:
    """Per family and over every run."""
    return {
        "families": {name: family_stats(group) for name, group in families(rows).items()},
        "overall": family_stats(rows),
    }


# ----------------------------------------------------------------------------------------------
# Comparing two evals.


def _direction(old: float, new: float, higher_is_better: bool) -> str:
    if new == old:
        return "same"
    return "better" if (new > old) == higher_is_better else "worse"


def _change(
    family: str, metric: str, old, new, higher_is_better: bool, p_value: float, test: str
) -> dict:
    return {
        "family": family,
        "metric": metric,
        "old": old,
        "new": new,
        "direction": _direction(old, new, higher_is_better),
        "p_value": p_value,
        "test": test,
        "significant": p_value < ALPHA,
    }


def compare_family(family: str, old: list[dict], new: list[dict]) -> list[dict]:
    """Pass rate (Fisher's exact test on passed/not passed), each event per run (the exact
    conditional binomial test of two Poisson rates, runs as exposure) and the driving score
    (Mann-Whitney U), each two-sided."""
    old_pass, new_pass = sum(r["passed"] for r in old), sum(r["passed"] for r in new)
    fisher = stats.fisher_exact(
        [[new_pass, len(new) - new_pass], [old_pass, len(old) - old_pass]]
    ).pvalue
    changes = [
        _change(
            family,
            "pass_rate",
            old_pass / len(old),
            new_pass / len(new),
            True,
            float(fisher),
            "Fisher exact",
        )
    ]
    for key in EVENTS:
        old_rows, new_rows = _known(old, key), _known(new, key)
        if not old_rows or not new_rows:
            continue
        old_count = sum(r[key] for r in old_rows)
        new_count = sum(r[key] for r in new_rows)
        total = old_count + new_count
        share = len(new_rows) / (len(new_rows) + len(old_rows))
        p_value = stats.binomtest(new_count, total, share).pvalue if total else 1.0
        changes.append(
            _change(
                family,
                f"{key}_per_run",
                old_count / len(old_rows),
                new_count / len(new_rows),
                False,
                float(p_value),
                "conditional binomial",
            )
        )
    old_scores = [r["driving_score"] for r in _known(old, "driving_score")]
    new_scores = [r["driving_score"] for r in _known(new, "driving_score")]
    if old_scores and new_scores:
        tied = len(set(old_scores + new_scores)) == 1
        p_value = 1.0 if tied else float(stats.mannwhitneyu(new_scores, old_scores).pvalue)
        changes.append(
            _change(
                family,
                "median_driving_score",
                statistics.median(old_scores),
                statistics.median(new_scores),
                True,
                p_value,
                "Mann-Whitney U",
            )
        )
    return changes


def compare(old_rows: list[dict], new_rows: list[dict]) -> dict:
    """Every family in both evals compared, plus all runs together; families in one only."""
    old, new = families(old_rows), families(new_rows)
    changes = [
        change
        for name in sorted(old.keys() & new.keys())
        for change in compare_family(name, old[name], new[name])
    ]
    if old_rows and new_rows:
        changes += compare_family(OVERALL, old_rows, new_rows)
    return {
        "changes": changes,
        "only_old": sorted(old.keys() - new.keys()),
        "only_new": sorted(new.keys() - old.keys()),
    }


def comparison_lines(result: dict) -> list[str]:
    """What got better and worse, significant first; unchanged metrics are not listed."""
    moved = [c for c in result["changes"] if c["direction"] != "same"]
    moved.sort(
        key=lambda c: (
            not c["significant"],
            c["direction"] != "worse",
            c["family"] == OVERALL,
            c["family"],
        )
    )
    lines = []
    for c in moved:
        verdict = "significant" if c["significant"] else "not significant"
        lines.append(
            f"{c['direction']:<6} {c['family']:<40} {c['metric']:<26} "
            f"{_number(c['old'])} -> {_number(c['new'])}  (p = {c['p_value']:.3g}, "
            f"{c['test']}, {verdict})"
        )
    same = len({c["family"] for c in result["changes"]} - {c["family"] for c in moved})
    lines.append(
        f"{len(moved)} metric(s) changed, {sum(c['significant'] for c in moved)} "
        f"significantly (p < {ALPHA:g}, not corrected for the number of tests); "
        f"{same} famil{'y' if same == 1 else 'ies'} unchanged"
    )
    lines += [f"only in the old eval: {name}" for name in result["only_old"]]
    lines += [f"only in the new eval: {name}" for name in result["only_new"]]
    return lines


def _number(value: float) -> str:
    return f"{value:.3g}"
