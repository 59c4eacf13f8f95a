"""The single-source estimates kept for run reports: wheel odometry dead reckoning and GNSS with
its course over ground."""

import math

import numpy as np
import pytest

from robovan_autonomy.localization.baselines import MAX_COURSE_GAP_S, GnssOnly, WheelOdometry

WHEELBASE_M = 3.0
LEVER = (1.5, 0.0)


def test_wheel_odometry_closes_a_circle_driven_at_constant_steering():
    odometry = WheelOdometry(WHEELBASE_M)
    odometry.start(0.0, np.array([0.0, 0.0, 0.0]))
    speed, steer = 5.0, 0.2
    radius = WHEELBASE_M / math.tan(steer)
    lap_s = 2.0 * math.pi * radius / speed
    steps = 2000
    for k in range(steps + 1):
        pose = odometry.update(k * lap_s / steps, speed, steer)
    assert np.hypot(*pose[:2]) < 0.01
    assert abs(math.remainder(pose[2], math.tau)) < 1e-6


def test_wheel_odometry_waits_for_a_start_pose():
    odometry = WheelOdometry(WHEELBASE_M)
    assert odometry.update(0.0, 5.0, 0.0) is None


def test_gnss_only_takes_the_heading_from_the_course_and_undoes_the_lever_arm():
    gnss = GnssOnly(LEVER)
    assert gnss.update(0.0, np.array([1.5, 0.0])) is None
    pose = gnss.update(0.1, np.array([1.5, 2.0]))
    assert pose[2] == pytest.approx(math.pi / 2)
    np.testing.assert_allclose(pose[:2], [1.5, 0.5])


def test_gnss_only_does_not_take_a_course_across_an_outage():
    gnss = GnssOnly(LEVER)
    gnss.update(0.0, np.array([0.0, 0.0]))
    gnss.update(0.1, np.array([2.0, 0.0]))
    pose = gnss.update(0.1 + 2.0 * MAX_COURSE_GAP_S, np.array([2.0, 30.0]))
    assert pose[2] == pytest.approx(0.0)
