"""The verdict on a run: the driving score from route completion and infractions, and pass or
fail against the scenario's success criteria.

The driving score follows the CARLA leaderboard: 100 × route completion × the product of one
penalty factor per infraction (collisions by what was hit, red lights, stop lines, curb strikes,
missed delivery stops). Kept apart from the metrics so that the rules a run is held to can be
read, and applied to a finished report, on their own.
"""

from __future__ import annotations

import math

from robovan_autonomy.sim.scenario import Scenario

PENALTIES = {
    "collision_pedestrian": 0.5,
    "collision_vehicle": 0.6,
    "collision_static": 0.65,
    "red_light": 0.7,
    "stop_line": 0.8,
    "curb_strike": 0.65,
    "missed_stop": 0.8,
}


def driving_score(route_completion: float, infraction_counts: dict[str, int]) -> float:
    """CARLA leaderboard: 100 × route completion × Π penalty^count."""
    penalty = math.prod(PENALTIES[kind] ** count for kind, count in infraction_counts.items())
    return 100.0 * route_completion * penalty


def judge(report: dict, scenario: Scenario) -> dict:
    """expected_outcome, passed and the failed criteria, from the scenario's success section."""
    crit = scenario.success
    failed = []
    if report["outcome"] != crit.expected_outcome:
        failed.append(f"outcome {report['outcome']} != expected {crit.expected_outcome}")
    if len(report["collisions"]) > crit.max_collisions:
        failed.append(f"collisions {len(report['collisions'])} > {crit.max_collisions}")
    checks = (
        ("route_completion", report["route_completion"], crit.min_route_completion, 1),
        ("driving_score", report["driving_score"], crit.min_driving_score, 1),
        ("min_ttc_s", report["min_ttc_s"], crit.min_ttc_s, 1),
        ("lateral_error_m.max", report["lateral_error_m"]["max"], crit.max_lateral_error_m, -1),
        (
            "localization_error_m.max",
            report["localization_error_m"]["max"],
            crit.max_localization_error_m,
            -1,
        ),
    )
    for name, value, bound, sign in checks:
        if bound is None or value is None:
            continue
        if sign * (value - bound) < 0:
            failed.append(f"{name} {value:.3g} {'<' if sign > 0 else '>'} {bound:g}")
    emergencies = report["emergency_stops"]
    if len(emergencies) > crit.max_emergency_stops:
        failed.append(
            f"emergency stops {len(emergencies)} > {crit.max_emergency_stops}: "
            f"{emergencies[0]['reason']} at {emergencies[0]['t_s']:.1f} s"
        )
    if report["hard_brakes"]["phantom"] > crit.max_phantom_brakes:
        first = next(e for e in report["hard_brakes"]["events"] if e["justified_by"] is None)
        failed.append(
            f"phantom hard brakes {report['hard_brakes']['phantom']} > "
            f"{crit.max_phantom_brakes}: "
            f"nothing in the path at {first['t_start_s']:.1f} s"
        )
    if report["stalls"]["longest_s"] > crit.max_stall_s:
        failed.append(f"stall {report['stalls']['longest_s']:.1f} s > {crit.max_stall_s:g} s")
    if crit.max_fault_detection_s is not None:
        for fault in report["fault_response"]:
            what = f"{fault['target']} {fault['kind']} fault at {fault['start_s']:g} s"
            if fault["fault_to_detection_s"] is None:
                failed.append(f"{what}: no minimal-risk stop after it")
            elif fault["fault_to_detection_s"] > crit.max_fault_detection_s:
                failed.append(
                    f"{what}: detected after {fault['fault_to_detection_s']:.2f} s "
                    f"> {crit.max_fault_detection_s:g} s"
                )
    return {
        "expected_outcome": crit.expected_outcome,
        "passed": not failed,
        "failed_criteria": failed,
    }
