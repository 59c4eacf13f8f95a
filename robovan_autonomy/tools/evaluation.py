"""`robovan eval`: run scenarios (and their variants) and collect one row per run.

Every run is planned and validated before any starts (a bad file stops the eval with its
ConfigError, nothing run). A run that raises is an error row, never the end of the eval; on Ray,
so is a run whose worker dies or that outlives its wall-clock budget.

Runs go one after the other in this process (`--workers 1`, for debugging) or on Ray: a local
instance this command starts and stops (`--workers N`), or a cluster (`--address`). On Ray each
simulation has a worker process of its own, used once (`max_calls=1`): no rclpy context, DDS
participant, CAN channel or heap setting outlives it, and each Simulation turns DDS discovery off
(ROS_AUTOMATIC_DISCOVERY_RANGE=OFF) so runs side by side on one host never see each other. Ray is
imported here only, and only when asked for.
"""

from __future__ import annotations

import dataclasses
import logging
import shlex
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from robovan_autonomy.config_errors import ConfigError, StartupError
from robovan_autonomy.sim.scenario import (
    SCENARIO_DIR,
    check_against_map,
    load_scenario,
    scenario_path,
    scenario_variants,
)

MRM_MODES = ("MRM_COMFORTABLE_STOP", "MRM_EMERGENCY_STOP")
# A run's wall-clock budget on Ray: lockstep runs at 0.6-0.7x real time alone on a development
# core; four times slower is a hang, not a busy machine. The margin covers the worker's start.
WALL_S_PER_SIM_S = 4.0
WALL_MARGIN_S = 120.0
RAY_POLL_S = 1.0  # how often the budgets are checked while no run finishes
RAY_OBJECT_STORE_BYTES = 128 << 20  # rows are a few kB; Ray's default takes 30 % of the RAM


@dataclasses.dataclass(frozen=True)
class EvalJob:
    """One simulation of the eval: a base scenario (variation None) or one of its variants."""

    scenario: str  # as given: a shipped name or a YAML path
    family: str  # the scenario's name: a base and its variants
    variation: str | None
    values: tuple[tuple[str, float | int], ...]
    out_dir: Path
    wall_budget_s: float  # on Ray: a run without a result by then is killed
    ground_truth: tuple[str, ...] = ()
    time_limit_s: float | None = None  # an override of the scenario's

    @property
    def run(self) -> str:
        return self.family if self.variation is None else f"{self.family}@{self.variation}"

    def rerun(self) -> str:
        """The command line that runs this simulation again on its own."""
        words = ["robovan", "sim", "--scenario", self.scenario]
        if self.variation is not None:
            words += ["--variation", self.variation]
        if self.ground_truth:
            words += ["--ground-truth", ",".join(self.ground_truth)]
        if self.time_limit_s is not None:
            words += ["--time-limit", f"{self.time_limit_s:g}"]
        return shlex.join(words)

    def row(self, **outcome) -> dict:
        return {
            "run": self.run,
            "scenario": self.family,
            "variation": self.variation,
            "values": dict(self.values),
            **outcome,
            "rerun": self.rerun(),
        }


def plan_jobs(
    scenarios: Iterable[str],
    out: Path,
    with_variations: bool,
    ground_truth: tuple[str, ...] = (),
    time_limit_s: float | None = None,
    wall_budget_s: float | None = None,
) -> list[EvalJob]:
    """Every run the eval will make, each scenario and variant validated against its map. Paths
    are made absolute: a Ray worker need not share this process's working directory. Without
    `wall_budget_s` a run's budget is WALL_S_PER_SIM_S per simulated second plus WALL_MARGIN_S."""
    from robovan_autonomy.mapping.lanelet_map import load_map

    maps: dict[Path, object] = {}
    jobs: dict[str, EvalJob] = {}
    out = out.resolve()
    for scenario in scenarios:
        path = scenario_path(scenario)
        scenario = scenario if path.parent == SCENARIO_DIR else str(path.resolve())
        base = load_scenario(scenario)
        if base.name in {job.family for job in jobs.values()}:
            raise ConfigError(
                path,
                "name",
                f"{base.name!r} is in this eval twice; its runs would share their folders",
            )
        for scn in [base] + (scenario_variants(scenario) if with_variations else []):
            if scn.map_path not in maps:
                maps[scn.map_path] = load_map(scn.map_path)
            check_against_map(scn, maps[scn.map_path])
            variant = scn.variation
            budget = wall_budget_s or (
                WALL_S_PER_SIM_S * (time_limit_s or scn.time_limit_s) + WALL_MARGIN_S
            )
            job = EvalJob(
                scenario,
                base.name,
                None if variant is None else variant.id,
                () if variant is None else variant.values,
                out,
                budget,
                ground_truth,
                time_limit_s,
            )
            jobs[job.run] = dataclasses.replace(job, out_dir=out / job.run)
    return list(jobs.values())


def row_from_report(job: EvalJob, report: dict) -> dict:
    """What the summary needs of a run's report.json."""
    judgement = report["judgement"]
    modes = [mode for _, mode, _ in report["supervisor"]["modes"]]
    mrm_stops = sum(
        mode in MRM_MODES and (i == 0 or modes[i - 1] not in MRM_MODES)
        for i, mode in enumerate(modes)
    )
    return job.row(
        passed=judgement["passed"],
        error=None,
        outcome=report["outcome"],
        driving_score=report["driving_score"],
        route_completion=report["route_completion"],
        collisions=len(report["collisions"]),
        mrm_stops=mrm_stops,
        aeb_activations=sum(stop["aeb"] for stop in report["emergency_stops"]),
        phantom_brakes=report["hard_brakes"]["phantom"],
        distance_m=report["distance_m"],
        sim_time_s=report["sim_time_s"],
        wall_time_s=report["wall_time_s"],
        failed_criteria=judgement["failed_criteria"],
    )


def error_row(job: EvalJob, why: str) -> dict:
    """A run that gave no report: it crashed, raised or ran out of time."""
    return job.row(
        passed=False,
        error=why,
        outcome=None,
        driving_score=None,
        route_completion=None,
        collisions=None,
        mrm_stops=None,
        aeb_activations=None,
        phantom_brakes=None,
        distance_m=None,
        sim_time_s=None,
        wall_time_s=None,
        failed_criteria=[f"error: {why}"],
    )


def run_job(job: EvalJob) -> dict:
    """One simulation in this process; whatever it raises becomes an error row."""
    from robovan_autonomy.tools.simulation import SimOptions, run_simulation

    options = SimOptions(
        scenario=job.scenario,
        out_dir=job.out_dir,
        seed=None,
        ground_truth=job.ground_truth,
        record=False,
        progress=False,
        time_limit_s=job.time_limit_s,
        variation=job.variation,
    )
    try:
        return row_from_report(job, run_simulation(options))
    except Exception as err:  # noqa: BLE001 - a broken run is a result of the eval, not its end
        return error_row(job, f"{type(err).__name__}: {err}")


class Progress:
    """One line per finished run, then where the eval stands: done, failed, elapsed, ETA."""

    def __init__(self, total: int):
        self.total = total
        self.done = self.failed = 0
        self.start = time.monotonic()

    def __call__(self, row: dict) -> None:
        self.done += 1
        self.failed += not row["passed"]
        print(run_line(row), flush=True)
        elapsed = time.monotonic() - self.start
        eta = elapsed / self.done * (self.total - self.done)
        print(
            f"  [{self.done}/{self.total}] {self.failed} not passed, elapsed "
            f"{_duration(elapsed)}, ETA {_duration(eta)}",
            file=sys.stderr,
            flush=True,
        )


def run_line(row: dict) -> str:
    if row["error"] is not None:
        return f"{row['run']:<44} ERROR {row['error']}"
    return (
        f"{row['run']:<44} {'pass' if row['passed'] else 'FAIL'}  {row['outcome']:<22} "
        f"score {row['driving_score']:6.1f}  collisions {row['collisions']}  "
        f"{'; '.join(row['failed_criteria'])}"
    )


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def run_in_process(jobs: list[EvalJob], on_row: Callable[[dict], None]) -> bool:
    """Run the jobs one after the other here (for debugging); True when Ctrl-C stopped them."""
    try:
        for job in jobs:
            on_row(run_job(job))
    except KeyboardInterrupt:
        return True
    return False


def run_on_ray(
    jobs: list[EvalJob], workers: int | None, address: str | None, on_row: Callable[[dict], None]
) -> bool:
    """Run the jobs on Ray, at most `workers` at a time (default with an address: the cluster's
    CPUs), each row handed to on_row as it finishes; True when Ctrl-C stopped them."""
    try:
        import ray
    except ImportError:
        raise StartupError(
            "--workers above 1 and --address need Ray (pip install -r requirements.txt)"
        ) from None
    quiet = {"log_to_driver": False, "logging_level": logging.WARNING}
    if address is None:  # "local": a new instance, even where `ray start` left one running
        ray.init(
            address="local",
            num_cpus=workers,
            include_dashboard=False,
            object_store_memory=RAY_OBJECT_STORE_BYTES,
            **quiet,
        )
    else:
        try:
            ray.init(address=address, **quiet)
        except ConnectionError as err:
            raise StartupError(f"no Ray cluster at {address}: {err}") from None
        workers = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
    simulate = ray.remote(num_cpus=1, max_calls=1, max_retries=0)(run_job)
    pending, running = list(jobs), {}
    try:
        while pending or running:
            while pending and len(running) < workers:
                job = pending.pop(0)
                running[simulate.remote(job)] = (job, time.monotonic())
            done, _ = ray.wait(list(running), num_returns=1, timeout=RAY_POLL_S)
            for ref in done:
                job, _ = running.pop(ref)
                try:
                    row = ray.get(ref)
                except ray.exceptions.RayError as err:
                    row = error_row(job, f"{type(err).__name__}: {str(err).splitlines()[0]}")
                on_row(row)
            for ref, (job, started) in list(running.items()):
                if time.monotonic() - started > job.wall_budget_s:
                    ray.cancel(ref, force=True)
                    del running[ref]
                    on_row(
                        error_row(
                            job,
                            f"no result within {job.wall_budget_s:.0f} s of wall "
                            "time: worker killed",
                        )
                    )
        return False
    except KeyboardInterrupt:
        for ref in running:
            ray.cancel(ref, force=True)
        return True
    finally:
        ray.shutdown()
