"""Eval throughput: the same whole-stack runs (no ground truth), first one after the other in this
process (`robovan eval --workers 1`), then on a local Ray instance with two workers
(`--workers 2`), as `robovan eval` runs them.

Reported per way of running: scenarios per hour and simulated km per CPU-hour (CPU-hours being
wall hours times the cores the runs were given: 1 and 2), and `speedup_2_workers`, the ratio of
the two throughputs (target ≥ 1.8 on this 2-core machine). The runs are the first seconds of
delivery_loop under four seeds: streets, parked cars, a turn, the whole node set.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from robovan_autonomy.tools.evaluation import plan_jobs, run_in_process, run_on_ray

SCENARIO = "delivery_loop"
SEEDS = 4  # variants of the seed grid: an even share for two workers
QUICK_SEEDS = 2
SIM_S = 40.0  # past the first turn, at speed on Harbour Road
QUICK_SIM_S = 10.0


def _throughput(rows: list[dict], wall_s: float, cores: int) -> dict:
    km = sum(row["distance_m"] or 0.0 for row in rows) / 1e3
    return {
        "wall_s": wall_s,
        "scenarios_per_hour": len(rows) * 3600.0 / wall_s,
        "sim_km_per_cpu_hour": km * 3600.0 / (wall_s * cores),
        "errors": sum(row["error"] is not None for row in rows),
    }


def run(quick: bool = False) -> dict:
    seeds, sim_s = (QUICK_SEEDS, QUICK_SIM_S) if quick else (SEEDS, SIM_S)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, 2):
            jobs = plan_jobs(
                [SCENARIO], Path(tmp) / str(workers), with_variations=True, time_limit_s=sim_s
            )
            jobs = [job for job in jobs if job.variation is not None][:seeds]
            rows: list[dict] = []
            started = time.perf_counter()
            if workers == 1:
                run_in_process(jobs, rows.append)
            else:
                run_on_ray(jobs, workers, None, rows.append)
            for key, value in _throughput(rows, time.perf_counter() - started, workers).items():
                results[f"workers_{workers}_{key}"] = value
    results["speedup_2_workers"] = (
        results["workers_2_scenarios_per_hour"] / results["workers_1_scenarios_per_hour"]
    )
    results["runs"] = seeds
    results["sim_s_per_run"] = sim_s
    return results


if __name__ == "__main__":
    print(run())
