"""Run report: single-source localization estimates (GNSS only, odometry only) judged beside the
stack's own on the same log, and drawn in report.png."""

import json
import math

import pytest

from robovan_autonomy.sim.report.inputs import VanTruth
from robovan_autonomy.sim.report.plot import write_report_png
from robovan_autonomy.sim.report.recorder import RunRecorder
from robovan_autonomy.sim.scenario import Scenario, StartPose, Stop, SuccessCriteria
from robovan_autonomy.vehicle_params import load_vehicle_params

DT_S = 0.05
SPEED_MPS = 10.0


def recorded_drive(seconds=4.0, with_baselines=True, gnss_until_s=math.inf):
    """A straight drive along +x; the stack's estimate is 0.1 m off, GNSS-only 0.5 m, and
    odometry-only drifts 5 % of the distance."""
    scenario = Scenario(
        name="synthetic",
        description="test",
        map="delivery_district.osm",
        seed=1,
        time_limit_s=100.0,
        arm_autonomy_at_s=0.0,
        start_pose=StartPose(x=0, y=0, yaw=0),
        mission=(Stop("end", 0.0),),
        actors=(),
        faults=(),
        gnss_outages=(),
        success=SuccessCriteria(),
    )
    rec = RunRecorder(scenario, vehicle=load_vehicle_params())
    for k in range(1, round(seconds / DT_S) + 1):
        t, x = k * DT_S, SPEED_MPS * k * DT_S
        baselines = {"odometry_only": (t, 1.05 * x, 0.0, 0.01)}
        if t <= gnss_until_s:
            baselines["gnss_only"] = (t, x, 0.5, 0.0)
        rec.record_step(
            t,
            VanTruth(x, 0.0, 0.0, SPEED_MPS, 0.0, 0.0, 0.0),
            estimated_pose=(x, 0.1, 0.0),
            estimate_stamp_s=t,
            baseline_poses=baselines if with_baselines else None,
        )
    return rec


def test_each_baseline_gets_the_same_error_statistics_as_the_stack_estimate():
    report = recorded_drive().finalize(wall_time_s=1.0)
    baselines = report["localization_baselines"]
    assert report["localization_error_m"]["rms"] == pytest.approx(0.1)
    assert baselines["gnss_only"]["localization_error_m"]["max"] == pytest.approx(0.5)
    assert baselines["odometry_only"]["localization_error_m"]["max"] == pytest.approx(0.05 * 40.0)
    assert baselines["odometry_only"]["heading_error_rad"]["rms"] == pytest.approx(0.01)


def test_run_without_baselines_reports_none():
    report = recorded_drive(with_baselines=False).finalize(wall_time_s=1.0)
    assert report["localization_baselines"] == {} and report["series"]["baselines"] == {}


def test_baseline_errors_are_in_the_series_and_drawn(tmp_path):
    report = json.loads(json.dumps(recorded_drive().finalize(wall_time_s=1.0)))
    series = report["series"]["baselines"]
    assert set(series) == {"gnss_only", "odometry_only"}
    assert len(series["gnss_only"]["error_m"]) == len(report["series"]["t_s"])
    assert write_report_png(report, tmp_path / "report.png").stat().st_size > 0


def test_a_baseline_that_stops_reporting_leaves_a_gap_in_its_plot():
    series = recorded_drive(seconds=6.0, gnss_until_s=2.0).finalize(wall_time_s=1.0)["series"]
    t, errors = series["t_s"], series["baselines"]["gnss_only"]["error_m"]
    assert all(e is not None for ti, e in zip(t, errors) if ti <= 2.0)
    assert all(e is None for ti, e in zip(t, errors) if ti > 3.0 + 1e-9)
