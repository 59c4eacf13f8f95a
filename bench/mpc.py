"""MPC core solve time: the planner's warm-started Gauss-Newton SQP / HPIPM against a naive
Opti + IPOPT formulation of the same problem (bench/mpc_baseline.py), on the same instances.

Instances come from two sources. Recorded: bench/data/mpc/<scenario>.npz hold runs of
consecutive problems the planner solved in each shipped scenario, closed loop in the simulator
with ground-truth localization and perception (recorded by bench/_record_mpc_problems.py through
the planner node's record_mpc_problems parameter). Synthetic: short closed-loop runs on synthetic
paths (straight with an offset, a 90° turn at 9 m radius, an S-curve, a stop approach with the
hold after it, a static obstacle passed inside the corridor, a start from standstill), the van
moving along the planner's own prediction between cycles. Either way each MpcProblem is solved by
the planner (warm-started from the previous cycle, as live) and then by the baseline (cold).
Times are wall clock around the Python call, overhead included;
every instance counts, the cold first solve of each run too. A baseline solve that fails
(IPOPT out of iterations, which happens while the van waits stopped at a line) counts with the
time it took, and in baseline_failures.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np

from robovan_autonomy.planning.mpc import (
    MpcConfig,
    MpcPlanner,
    ObstacleSet,
    TrackingPath,
    VanState,
    load_problems,
)
from robovan_autonomy.vehicle_params import load_vehicle_params

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mpc_baseline import IpoptBaseline  # noqa: E402

CYCLE_S = 0.1  # planner period of the synthetic runs
RECORDED_DIR = Path(__file__).resolve().parent / "data" / "mpc"
LANE_HALF_WIDTH_M = 2.0  # free width each side of the synthetic paths
POINT_SPACING_M = 0.25  # density of the synthetic polylines
QUICK_RECORDED_PER_FILE = 10  # a smoke run replays the first run of each recorded scenario


def _polyline(
    pieces, speed_mps, left_m=LANE_HALF_WIDTH_M, right_m=LANE_HALF_WIDTH_M
) -> TrackingPath:
    """A path from straight and arc pieces: ("line", length) or ("arc", radius, signed angle)."""
    x, y, yaw = [0.0], [0.0], 0.0
    for piece in pieces:
        if piece[0] == "line":
            steps = max(1, int(piece[1] / POINT_SPACING_M))
            for _ in range(steps):
                x.append(x[-1] + piece[1] / steps * math.cos(yaw))
                y.append(y[-1] + piece[1] / steps * math.sin(yaw))
        else:
            radius, angle = piece[1], piece[2]
            steps = max(1, int(abs(angle) * radius / POINT_SPACING_M))
            for _ in range(steps):
                yaw_next = yaw + angle / steps
                chord = 2.0 * radius * math.sin(abs(angle) / steps / 2.0)
                x.append(x[-1] + chord * math.cos((yaw + yaw_next) / 2.0))
                y.append(y[-1] + chord * math.sin((yaw + yaw_next) / 2.0))
                yaw = yaw_next
    return TrackingPath.from_points(x, y, speed_mps, left_m, right_m)


def scenarios(quick: bool):
    """(name, path, start state, seconds, obstacle maker or None, s_stop or None). Path speeds
    keep the lateral accel of the curves under the comfort limit (v²/R ≤ 1.5 m/s²)."""
    scale = 0.3 if quick else 1.0

    def parked_car(times):
        return ObstacleSet.constant_velocity(times, 30.0, 0.0, 0.0, 0.0, 0.0, 2.3, 0.9)

    def rest(speed_mps, y_m=0.0):
        return VanState(0.0, 0.0, y_m, 0.0, speed_mps)

    turn = [("line", 15.0), ("arc", 9.0, math.pi / 2), ("line", 40.0)]
    s_curve = [
        ("line", 10.0),
        ("arc", 10.0, math.pi / 3),
        ("arc", 10.0, -math.pi / 3),
        ("line", 40.0),
    ]
    return [
        (
            "straight",
            _polyline([("line", 200.0)], 8.0),
            rest(8.0, y_m=0.5),
            6.0 * scale,
            None,
            None,
        ),
        ("turn_90", _polyline(turn, 3.5), rest(3.5), 12.0 * scale, None, None),
        ("s_curve", _polyline(s_curve, 3.8), rest(3.8), 10.0 * scale, None, None),
        (
            "stop",
            _polyline([("line", 100.0)], 8.0),
            rest(8.0),
            10.0 * scale,
            None,
            35.0 if quick else 45.0,
        ),
        (
            "obstacle",
            _polyline([("line", 100.0)], 5.0, left_m=5.0),
            rest(5.0),
            10.0 * scale,
            parked_car,
            None,
        ),
        ("standstill_start", _polyline([("line", 100.0)], 5.0), rest(0.0), 6.0 * scale, None, None),
    ]


def _advance(state: VanState, plan) -> VanState:
    """The van where the plan says it is one cycle on (the plan starts after the dead time)."""
    t = np.concatenate([[0.0], plan.t_s])
    now = [state.x_m, state.y_m, state.yaw_rad, state.speed_mps, state.steer_rad, state.accel_mps2]
    later = [plan.x_m, plan.y_m, plan.yaw_rad, plan.speed_mps, plan.steer_rad, plan.accel_mps2]
    values = [float(np.interp(CYCLE_S, t, np.concatenate([[a], b]))) for a, b in zip(now, later)]
    return VanState(state.stamp_s + CYCLE_S, *values)


def _synthetic_runs(config: MpcConfig, quick: bool):
    """Yield (scenario, problem, solve ms, plan ok) cycle by cycle."""
    for name, path, state, seconds, obstacles, s_stop in scenarios(quick):
        planner = MpcPlanner(config)
        for _ in range(int(round(seconds / CYCLE_S))):
            reference = planner.sample_reference(path, state)
            obs = None if obstacles is None else obstacles(config.stage_times_s() + state.stamp_s)
            problem = planner.make_problem(state, reference, obs, s_stop)
            started = time.perf_counter()
            plan = planner.solve_problem(problem)
            yield name, problem, (time.perf_counter() - started) * 1e3, plan.ok
            state = _advance(state, plan)


def _recorded_runs(config: MpcConfig, quick: bool):
    for path in sorted(RECORDED_DIR.glob("*.npz")):
        planner = MpcPlanner(config)
        problems = load_problems(path)
        for problem in problems[:QUICK_RECORDED_PER_FILE] if quick else problems:
            started = time.perf_counter()
            plan = planner.solve_problem(problem)
            yield path.stem, problem, (time.perf_counter() - started) * 1e3, plan.ok


def run(quick: bool = False) -> dict:
    config = MpcConfig.from_vehicle(load_vehicle_params())
    baseline = IpoptBaseline(config)
    MpcPlanner(config)  # build (and cache) the solver outside the timed region
    recorded = {path.stem for path in RECORDED_DIR.glob("*.npz")}
    instances = [*_synthetic_runs(config, quick), *_recorded_runs(config, quick)]
    baseline.solve(instances[0][1])  # the same for the baseline: its first solve expands the NLP
    ours, theirs, failures, baseline_failures, per_scenario = [], [], 0, 0, {}
    for name, problem, ms, ok in instances:
        ours.append(ms)
        failures += not ok
        base_ok, base_ms, _ = baseline.solve(problem)
        theirs.append(base_ms)
        baseline_failures += not base_ok
        per_scenario.setdefault(name, []).append(ms)
    ours, theirs = np.array(ours), np.array(theirs)
    p50, base_p50 = float(np.percentile(ours, 50)), float(np.percentile(theirs, 50))
    p99, base_p99 = float(np.percentile(ours, 99)), float(np.percentile(theirs, 99))
    return {
        "p50_ms": p50,
        "p99_ms": p99,
        "max_ms": float(ours.max()),
        "baseline_p50_ms": base_p50,
        "baseline_p99_ms": base_p99,
        "speedup_p50": base_p50 / p50,
        "speedup_p99": base_p99 / p99,
        "horizon_steps": config.horizon_steps,
        "instances": int(ours.size),
        "failures": failures,
        "baseline_failures": baseline_failures,
        "recorded_instances": sum(len(v) for k, v in per_scenario.items() if k in recorded),
        "p99_ms_by_scenario": {k: float(np.percentile(v, 99)) for k, v in per_scenario.items()},
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
