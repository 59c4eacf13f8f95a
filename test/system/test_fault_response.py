"""The run report's fault_response: from each injected fault to the van at rest for good."""

import dataclasses

from robovan_autonomy.sim.report.inputs import VanTruth
from robovan_autonomy.sim.report.judge import judge
from robovan_autonomy.sim.report.recorder import RunRecorder
from robovan_autonomy.sim.scenario import Fault, Scenario, StartPose, Stop, SuccessCriteria
from robovan_autonomy.vehicle_params import load_vehicle_params

DT_S = 0.01


def scenario(*faults, success=SuccessCriteria()) -> Scenario:
    return Scenario(
        name="synthetic",
        description="test",
        map="delivery_district.osm",
        seed=1,
        time_limit_s=60.0,
        arm_autonomy_at_s=0.0,
        start_pose=StartPose(x=0, y=0, yaw=0),
        mission=(Stop("end", 0.0),),
        actors=(),
        faults=tuple(faults),
        gnss_outages=(),
        success=success,
    )


def report(speed_at, modes, *faults) -> dict:
    """speed_at(t) for 10 s; modes: (from_t, mode) in time order, as the van and the supervisor
    report them (the supervisor says why: 'because <mode>')."""
    recorder = RunRecorder(scenario(*faults), vehicle=load_vehicle_params())
    x = 0.0
    for k in range(1, 1001):
        t = k * DT_S
        x += speed_at(t) * DT_S
        mode = next(m for start, m in reversed(modes) if t >= start)
        recorder.record_step(
            t,
            VanTruth(x, 0.0, 0.0, speed_at(t), 0.0, 0.0, 0.0),
            mode=mode,
            supervisor_mode=(mode, f"because {mode}"),
        )
    return recorder.finalize(1.0)


def braking_from(t0_s: float, speed_mps: float = 8.0, decel_mps2: float = 2.0):
    return lambda t: speed_mps if t < t0_s else max(0.0, speed_mps - decel_mps2 * (t - t0_s))


def test_time_from_fault_to_standstill_and_the_mode_then_are_reported():
    fault = Fault("planner", "kill", 3.0, None, None)
    response = report(
        braking_from(3.3), [(0.0, "AUTONOMOUS"), (3.3, "MRM_COMFORTABLE_STOP")], fault
    )["fault_response"]
    assert response[0]["target"] == "planner" and response[0]["kind"] == "kill"
    assert abs(response[0]["fault_to_standstill_s"] - 4.3) < 0.05
    assert response[0]["mode_at_standstill"] == "MRM_COMFORTABLE_STOP"


def test_a_van_still_moving_at_the_end_has_no_standstill():
    response = report(
        lambda t: 5.0, [(0.0, "AUTONOMOUS")], Fault("camera", "drop", 2.0, None, None)
    )["fault_response"]
    assert response[0]["standstill_t_s"] is None and response[0]["fault_to_standstill_s"] is None


def test_a_stop_that_drives_on_again_is_not_the_standstill():
    def stop_and_go(t):
        return 0.0 if 2.0 <= t < 3.0 or t >= 8.0 else 5.0

    response = report(stop_and_go, [(0.0, "AUTONOMOUS")], Fault("imu", "nan", 1.0, None, None))[
        "fault_response"
    ]
    assert abs(response[0]["standstill_t_s"] - 8.0) < 0.02


def test_a_run_without_faults_reports_none():
    assert report(lambda t: 0.0, [(0.0, "MANUAL")])["fault_response"] == []


def test_time_from_fault_to_detection_and_the_reason_are_reported():
    fault = Fault("lidar", "nan", 3.0, None, None)
    response = report(
        braking_from(3.3), [(0.0, "AUTONOMOUS"), (3.25, "MRM_COMFORTABLE_STOP")], fault
    )
    first = response["fault_response"][0]
    assert abs(first["fault_to_detection_s"] - 0.25) < 0.011
    assert first["detection_reason"] == "because MRM_COMFORTABLE_STOP"


def test_a_fault_the_supervisor_never_stopped_for_has_no_detection():
    response = report(
        lambda t: 5.0, [(0.0, "AUTONOMOUS")], Fault("camera", "black", 2.0, None, None)
    )
    assert response["fault_response"][0]["detected_t_s"] is None


def judged(detect_at_s: float | None, bound_s: float = 0.5) -> dict:
    fault = Fault("lidar", "freeze", 3.0, None, None)
    modes = [(0.0, "AUTONOMOUS")] + ([(detect_at_s, "MRM_COMFORTABLE_STOP")] if detect_at_s else [])
    run = report(braking_from(3.5), modes, fault)
    success = SuccessCriteria(expected_outcome=run["outcome"], max_fault_detection_s=bound_s)
    return judge(run, dataclasses.replace(scenario(fault), success=success))


def test_a_fault_detected_in_time_passes_the_detection_criterion():
    assert judged(3.4)["passed"]


def test_a_fault_detected_late_fails_the_detection_criterion():
    verdict = judged(3.7)
    assert (
        not verdict["passed"] and "detected after 0.70 s > 0.5 s" in verdict["failed_criteria"][0]
    )


def test_a_fault_never_detected_fails_the_detection_criterion():
    verdict = judged(None)
    assert not verdict["passed"] and "no minimal-risk stop" in verdict["failed_criteria"][0]


def test_the_supervisors_findings_are_reported_when_they_change():
    recorder = RunRecorder(scenario(), vehicle=load_vehicle_params())
    truth = VanTruth(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    for t, findings in (
        (0.01, ""),
        (0.02, "gnss: 0.0 Hz < 5 Hz"),
        (0.03, "gnss: 0.0 Hz < 5 Hz"),
        (0.04, ""),
    ):
        recorder.record_step(
            t, truth, supervisor_mode=("READY", "van armed"), supervisor_findings=findings
        )
    assert recorder.finalize(1.0)["supervisor"]["findings"] == [
        [0.02, "gnss: 0.0 Hz < 5 Hz"],
        [0.04, ""],
    ]
