"""The whole loop: simulator ⇄ CAN ⇄ bridge ⇄ planner, as `robovan sim` runs it."""

import json

import numpy as np
import pytest

from robovan_autonomy import interfaces as itf
from robovan_autonomy.tools.bag_reader import BagReader
from robovan_autonomy.tools.simulation import SimOptions, Simulation

pytestmark = pytest.mark.slow  # closed-loop runs of the whole stack

GROUND_TRUTH = ("localization", "perception")


def run(tmp_path, scenario, **options):
    simulation = Simulation(
        SimOptions(scenario, tmp_path, ground_truth=GROUND_TRUTH, progress=False, **options)
    )
    report = simulation.run()
    return simulation, report


@pytest.fixture(scope="module")
def corridor_run(tmp_path_factory):
    return run(tmp_path_factory.mktemp("corridor"), "corridor_cruise")


def test_corridor_cruise_is_completed_without_collision(corridor_run):
    _, report = corridor_run
    assert report["outcome"] == "completed"
    assert report["collisions"] == []
    assert report["route_completion"] == pytest.approx(1.0)


def test_corridor_cruise_reaches_the_speed_limit_and_stops(corridor_run):
    simulation, report = corridor_run
    assert max(report["series"]["speed_mps"]) > 10.5
    assert abs(simulation.world.van.speed_mps) < 0.05


def test_run_leaves_report_json_png_and_a_readable_mcap(corridor_run, tmp_path):
    simulation, _ = corridor_run
    out = simulation.options.out_dir
    assert json.loads((out / "report.json").read_text())["scenario"] == "corridor_cruise"
    assert (out / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from rosbags.rosbag2 import Reader

    with Reader(out / "run") as reader:
        topics = {c.topic for c in reader.connections}
    assert {"/clock", "/control/command", "/vehicle/status", "/sensing/lidar/top/points"} <= topics


def test_lockstep_runs_are_identical_for_the_same_seed(tmp_path):
    first, _ = run(tmp_path / "a", "corridor_cruise", time_limit_s=8.0, record=False)
    second, _ = run(tmp_path / "b", "corridor_cruise", time_limit_s=8.0, record=False)
    a, b = np.array(first.recorder._van), np.array(second.recorder._van)
    assert a.shape == b.shape and a.shape[0] > 700
    np.testing.assert_array_equal(a, b)
    assert first.world.van.speed_mps > 1.0


@pytest.fixture(scope="module")
def whole_stack_runs(tmp_path_factory):
    """crosswalk_pedestrian, the whole stack for 4 s: (not recorded, recorded)."""
    out = tmp_path_factory.mktemp("whole_stack")
    runs = [
        Simulation(
            SimOptions(
                "crosswalk_pedestrian",
                out / str(record),
                progress=False,
                record=record,
                time_limit_s=4.0,
            )
        )
        for record in (False, True)
    ]
    for simulation in runs:
        simulation.run()
    return runs


def test_recording_a_whole_stack_run_does_not_change_it(whole_stack_runs):
    """The recorder's callbacks must not reorder the stack's within a tick."""
    plain, recorded = (np.array(simulation.recorder._van) for simulation in whole_stack_runs)
    assert plain.shape == recorded.shape and whole_stack_runs[0].world.van.speed_mps > 0.5
    np.testing.assert_array_equal(plain, recorded)
    # Each plan's sensor-to-CAN latency: a plan that reached the bridge a tick later shows here.
    assert whole_stack_runs[0].recorder._latencies == whole_stack_runs[1].recorder._latencies


def test_a_whole_stack_bag_holds_what_a_viewer_draws(whole_stack_runs):
    with BagReader(whole_stack_runs[1].options.out_dir / "run") as reader:
        counts = {topic: info.message_count for topic, info in reader.topics.items()}
    assert counts[itf.MAP_MARKERS] == 1 and counts[itf.TF_STATIC] == 1
    assert min(counts[t] for t in (itf.OBJECT_MARKERS, itf.TRAJECTORY, itf.TF)) > 10
