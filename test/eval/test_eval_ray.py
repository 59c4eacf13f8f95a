"""`robovan eval` on a local Ray instance: real Ray, real simulations, each in a worker process of
its own; a worker that dies or runs past its budget is an error row, never a hung eval."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from robovan_autonomy.cli import main
from robovan_autonomy.config_errors import config_path

GROUND_TRUTH = "localization,perception"
WAIT_WALL_S = 120.0  # guard against a hung eval, never a timing assertion


def probe(tmp_path, name, **changes):
    """corridor_cruise without its traffic, renamed: a short drive on the Harbour Road corridor."""
    doc = yaml.safe_load(config_path("scenarios", "corridor_cruise.yaml").read_text())
    doc.update(name=name, actors=[], **changes)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def summary(out):
    return json.loads((Path(out) / "summary.json").read_text())


@pytest.mark.slow
def test_two_workers_run_side_by_side_without_seeing_each_other(tmp_path):
    """The same scenario twice at once: with DDS cross-talk each run's bridge would see the other's
    command gate (a second writer: a minimal-risk stop) and their drives would differ."""
    out = tmp_path / "out"
    main(
        [
            "eval",
            "--workers",
            "2",
            "--out",
            str(out),
            "--time-limit",
            "6",
            "--ground-truth",
            GROUND_TRUTH,
            "--scenario",
            probe(tmp_path, "twin_a"),
            "--scenario",
            probe(tmp_path, "twin_b"),
        ]
    )
    runs = summary(out)["runs"]
    assert [(r["run"], r["error"], r["mrm_stops"]) for r in runs] == [
        ("twin_a", None, 0),
        ("twin_b", None, 0),
    ]
    a, b = (
        json.loads((out / name / "report.json").read_text())["series"]
        for name in ("twin_a", "twin_b")
    )
    assert max(a["speed_mps"]) > 1.0
    assert (a["x"], a["speed_mps"]) == (b["x"], b["speed_mps"])


@pytest.mark.slow
def test_a_run_past_its_wall_budget_is_killed_and_recorded_as_an_error(tmp_path):
    out = tmp_path / "out"
    main(
        [
            "eval",
            "--workers",
            "2",
            "--out",
            str(out),
            "--run-timeout",
            "3",
            "--ground-truth",
            GROUND_TRUTH,
            "--scenario",
            probe(tmp_path, "slow"),
        ]
    )
    [row] = summary(out)["runs"]
    assert row["error"] == "no result within 3 s of wall time: worker killed"
    assert not row["passed"] and row["rerun"].startswith("robovan sim --scenario ")


def _descendants(pid: int) -> set[int]:
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _simulating_worker(driver: subprocess.Popen) -> int | None:
    """A Ray worker of this eval (a descendant of its driver) that is running a simulation."""
    for pid in _descendants(driver.pid):
        try:
            if Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"ray::run_job"):
                return pid
        except OSError:
            continue
    return None


@pytest.mark.slow
def test_a_worker_that_dies_is_an_error_row_and_the_other_runs_finish(tmp_path):
    out = tmp_path / "out"
    driver = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "robovan_autonomy.cli",
            "eval",
            "--workers",
            "2",
            "--out",
            str(out),
            "--time-limit",
            "20",
            "--ground-truth",
            GROUND_TRUTH,
            "--scenario",
            probe(tmp_path, "first"),
            "--scenario",
            probe(tmp_path, "second"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + WAIT_WALL_S
        while (worker := _simulating_worker(driver)) is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert worker is not None, "no Ray worker started a simulation"
        time.sleep(3.0)  # let it get into the simulation
        os.kill(worker, signal.SIGKILL)
        assert driver.wait(timeout=WAIT_WALL_S) == 1
    finally:
        if driver.poll() is None:
            driver.terminate()  # Ray stops its processes on SIGTERM
            driver.wait()
    runs = summary(out)["runs"]
    errors = [r for r in runs if r["error"] is not None]
    assert len(runs) == 2 and len(errors) == 1, runs
    assert errors[0]["error"].startswith("WorkerCrashedError: "), errors[0]["error"]
    assert [r["outcome"] for r in runs if r["error"] is None] == ["timeout"]


def test_nothing_but_the_eval_runner_imports_ray():
    import ast

    package = Path(__file__).resolve().parents[2] / "robovan_autonomy"
    importers = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(name == "ray" or name.startswith("ray.") for name in names):
                importers.add(path.relative_to(package).as_posix())
    assert importers == {"tools/evaluation.py"}
