"""Plausibility checks: what each stream's content may not be, whatever its rate and stamps."""

import dataclasses

import numpy as np
import pytest

from robovan_autonomy import core_types as ct
from robovan_autonomy import interfaces as itf
from robovan_autonomy.system import plausibility
from robovan_autonomy.system.plausibility import PlausibilityLimits
from robovan_autonomy.vehicle_params import load_vehicle_params

VEHICLE = load_vehicle_params()
LIMITS = PlausibilityLimits()
MOVING, AT_REST = True, False


def checks():
    return plausibility.make_checks(LIMITS, VEHICLE)


# -- LiDAR ------------------------------------------------------------------------------------
def test_a_full_noisy_scan_of_a_street_is_plausible(plausible):
    lidar = checks()["lidar"]
    assert lidar(plausible.road_scan(0.0), MOVING) == ""
    assert lidar(plausible.road_scan(0.1), MOVING) == ""


def test_a_cloud_of_nan_returns_is_implausible(plausible):
    scan = plausible.road_scan(0.0)
    scan[:, :3] = np.nan
    assert "non-finite" in checks()["lidar"](scan, MOVING)


def test_a_cloud_with_few_finite_returns_is_implausible(plausible):
    scan = plausible.road_scan(0.0)
    scan[: int(0.9 * len(scan)), 0] = np.nan
    assert "non-finite" in checks()["lidar"](scan, MOVING)


def test_an_empty_cloud_is_implausible():
    assert "0 returns" in checks()["lidar"](np.zeros((0, 4), np.float32), AT_REST)


def test_a_sparse_cloud_is_implausible_against_the_scan_pattern(plausible):
    scan = plausible.road_scan(0.0)[::10]
    assert "of the 32768-return scan pattern" in checks()["lidar"](scan, MOVING)


def test_a_cloud_that_does_not_see_the_road_below_is_implausible(plausible):
    scan = plausible.road_scan(0.0)
    lidar_pose = VEHICLE.sensor_pose("lidar_top")
    base = lidar_pose.to_base_link(scan[:, :3].astype(float))
    above = scan[base[:, 2] > 1.0]
    assert len(above) > 0.25 * 32768, "the test needs a cloud that passes the return count"
    assert "ground returns" in checks()["lidar"](above, MOVING)


def test_a_cloud_repeated_under_a_new_stamp_is_frozen_even_at_rest(plausible):
    lidar = checks()["lidar"]
    scan = plausible.road_scan(0.0)
    assert lidar(scan, AT_REST) == ""
    assert "frozen" in lidar(scan.copy(), AT_REST)


# -- camera -----------------------------------------------------------------------------------
def test_a_camera_frame_with_something_in_it_is_plausible(plausible):
    assert checks()["camera"](plausible.camera_frame(0.0), MOVING) == ""


@pytest.mark.parametrize("level, finding", [(0, "black"), (255, "saturated"), (128, "uniform")])
def test_black_saturated_and_uniform_frames_are_implausible(plausible, level, finding):
    frame = np.full_like(plausible.camera_frame(0.0), level)
    assert finding in checks()["camera"](frame, MOVING)


def test_a_frame_of_the_wrong_size_is_implausible(plausible):
    assert "expected 960x540" in checks()["camera"](plausible.camera_frame(0.0)[:480, :640], MOVING)


def test_a_repeated_frame_is_frozen_only_while_the_van_moves(plausible):
    camera = checks()["camera"]
    frame = plausible.camera_frame(0.0)
    camera(frame, AT_REST)
    assert camera(frame.copy(), AT_REST) == ""
    assert "frozen" in camera(frame.copy(), MOVING)


# -- IMU --------------------------------------------------------------------------------------
def imu(t_s, plausible, gyro=None, accel=None):
    w, a = plausible.imu_sample(t_s)
    return ct.ImuSample(
        t_s,
        w if gyro is None else np.asarray(gyro, float),
        a if accel is None else np.asarray(accel, float),
    )


def test_noisy_imu_samples_are_plausible(plausible):
    check = checks()["imu"]
    assert [check(imu(t, plausible), MOVING) for t in (0.0, 0.01, 0.02)] == ["", "", ""]


def test_an_imu_repeating_its_sample_is_frozen(plausible):
    check = checks()["imu"]
    sample = imu(0.0, plausible)
    check(sample, AT_REST)
    assert "frozen" in check(dataclasses.replace(sample, stamp_s=0.01), AT_REST)


@pytest.mark.parametrize(
    "gyro, accel, finding",
    [((0.0, 0.0, 9.0), None, "angular rate"), (None, (0.0, 0.0, 120.0), "acceleration")],
)
def test_imu_rates_a_van_cannot_have_are_implausible(plausible, gyro, accel, finding):
    assert finding in checks()["imu"](imu(0.0, plausible, gyro, accel), MOVING)


# -- GNSS -------------------------------------------------------------------------------------
def fix(t_s, east_m=0.0, sigma_m=1.5, has_fix=True):
    lat, lon = (
        52.5125,
        13.4205 + east_m / (plausibility.METRES_PER_DEGREE * np.cos(np.radians(52.5125))),
    )
    return ct.GnssFix(t_s, lat, lon, 38.0, has_fix, np.diag([sigma_m**2, sigma_m**2, 4.0]))


def test_gnss_fixes_the_van_could_drive_between_are_plausible():
    check = checks()["gnss"]
    assert check(fix(0.0), MOVING) == "" and check(fix(0.1, east_m=1.2), MOVING) == ""


def test_a_gnss_jump_beyond_top_speed_and_the_stated_error_is_implausible():
    check = checks()["gnss"]
    check(fix(0.0, sigma_m=0.03), MOVING)
    assert "jumped" in check(fix(0.1, east_m=12.0, sigma_m=0.03), MOVING)


def test_a_gnss_jump_within_a_float_fixs_stated_error_is_plausible():
    check = checks()["gnss"]
    check(fix(0.0, sigma_m=1.5), MOVING)
    assert check(fix(0.1, east_m=8.0, sigma_m=1.5), MOVING) == ""


def test_a_gnss_position_standing_still_is_frozen_only_while_the_van_moves():
    check = checks()["gnss"]
    check(fix(0.0), AT_REST)
    assert check(fix(0.1), AT_REST) == ""
    assert "frozen" in check(fix(0.2), MOVING)


def test_gnss_without_a_fix_is_an_honest_outage():
    check = checks()["gnss"]
    no_fix = dataclasses.replace(fix(0.0, has_fix=False), latitude_deg=np.nan, longitude_deg=np.nan)
    assert (
        check(no_fix, MOVING) == ""
        and check(dataclasses.replace(no_fix, stamp_s=0.1), MOVING) == ""
    )


# -- odometry, vehicle status, plans ----------------------------------------------------------
def pose(t_s, x_m):
    return ct.PoseEstimate(t_s, x_m, 0.0, 0.0, 10.0, 0.0)


def test_a_pose_jump_beyond_what_the_van_can_drive_is_implausible():
    check = checks()["odometry"]
    check(pose(0.0, 0.0), MOVING)
    assert check(pose(0.02, 0.2), MOVING) == ""
    assert "jumped" in check(pose(0.04, 10.2), MOVING)


def test_a_pose_standing_still_is_frozen_only_while_the_van_moves():
    check = checks()["odometry"]
    check(pose(0.0, 5.0), AT_REST)
    assert check(pose(0.02, 5.0), AT_REST) == ""
    assert "frozen" in check(pose(0.04, 5.0), MOVING)


def status(t_s, speed_mps, steer_rad=0.0):
    return ct.VehicleStatus(t_s, steer_rad, 0.0, speed_mps, 0.0)


def test_a_speed_change_no_brake_can_make_is_implausible():
    check = checks()["vehicle_status"]
    check(status(0.0, 10.0), MOVING)
    assert check(status(0.01, 9.95), MOVING) == ""
    assert "speed changed" in check(status(0.02, 5.0), MOVING)


@pytest.mark.parametrize("speed, steer, finding", [(25.0, 0.0, "speed"), (5.0, 0.9, "steering")])
def test_speeds_and_angles_beyond_the_van_are_implausible(speed, steer, finding):
    assert finding in checks()["vehicle_status"](status(0.0, speed, steer), MOVING)


def plan(stamp_s, speed_mps=10.0, sequence=None):
    t = np.arange(0.0, 2.01, 0.1)
    return itf.ControlPlan(
        stamp_s,
        t,
        np.zeros_like(t),
        np.zeros_like(t),
        np.full_like(t, speed_mps),
        np.zeros_like(t),
        sequence=sequence,
    )


def test_a_plan_repeated_under_fresh_stamps_is_frozen_only_while_the_van_moves():
    check = checks()["planning_command"]
    check(plan(0.0), AT_REST)
    assert check(plan(0.1), AT_REST) == ""
    assert "frozen" in check(plan(0.2), MOVING)
    assert check(plan(0.3, speed_mps=9.9), MOVING) == ""


def test_a_command_without_the_gates_increasing_sequence_is_not_the_gates():
    check = checks()["control_command"]
    assert check(plan(0.0, sequence=1), MOVING) == ""
    assert "without the gate's sequence" in check(plan(0.01), MOVING)
    assert "not after" in check(plan(0.02, sequence=1), MOVING)
    assert check(plan(0.03, sequence=2), MOVING) == ""
