"""The localization pipeline on the synthetic street (conftest.py): start-up, screening of bad
inputs, GNSS jumps, divergence and relocalization, and the confidence figure."""

import math

import numpy as np

from robovan_autonomy.localization.ekf import filter_for
from robovan_autonomy.localization.geodesy import MapFix
from robovan_autonomy.localization.localizer import Localizer, LocalizerConfig, Mode
from robovan_autonomy.vehicle_params import load_vehicle_params

VEHICLE = load_vehicle_params()
LEVER = (VEHICLE.sensor_pose("gnss").x_m, VEHICLE.sensor_pose("gnss").y_m)
RTK_COV = np.eye(2) * 0.03**2
START = np.array([3.0, -1.0, 0.3])


def make_localizer(matcher, **config):
    return Localizer(
        filter_for(VEHICLE, 1.0),
        matcher,
        LocalizerConfig(
            max_speed_mps=VEHICLE.max_speed_hw_mps, max_steer_rad=VEHICLE.max_steer_rad, **config
        ),
    )


def antenna(pose):
    return pose[:2] + LEVER[0] * np.array([math.cos(pose[2]), math.sin(pose[2])])


class Standstill:
    """A parked van's sensor streams: IMU 100 Hz, wheel 50 Hz, GNSS and scans 10 Hz."""

    def __init__(self, loc, street_map, scan_of, pose=START):
        self.loc, (self.points, _) = loc, street_map
        self.scan_of, self.pose, self.t = scan_of, np.array(pose, float), 0.0
        self.rng = np.random.default_rng(0)

    def run(self, seconds, gnss_offset=(0.0, 0.0), gnss=True, scans=True, scan_pose=None):
        for _ in range(int(round(seconds * 100))):
            self.t = round(self.t + 0.01, 9)
            k = int(round(self.t * 100))
            self.loc.on_imu(self.t, 0.0, 0.0)
            if k % 2 == 0:
                self.loc.on_wheel(self.t, 0.0, 0.0)
            if k % 10 == 0 and gnss:
                self.loc.on_fix(MapFix(self.t, antenna(self.pose) + gnss_offset, RTK_COV))
            if k % 10 == 0 and scans:
                where = self.pose if scan_pose is None else scan_pose
                self.loc.on_scan(self.t, self.scan_of(self.points, where, self.rng))


def position_error(loc, pose):
    return float(np.hypot(*(loc.estimate().state[:2] - pose[:2])))


def test_starts_from_a_fix_and_a_scan_with_a_heading_search(street_map, scan_of):
    loc = make_localizer(street_map[1])
    Standstill(loc, street_map, scan_of).run(0.5)
    assert loc.events["start_lidar_heading_search"] == 1
    assert position_error(loc, START) < 0.05
    assert abs(loc.estimate().state[2] - START[2]) < 0.01
    assert loc.health(0.5).mode is Mode.TRACKING


def test_without_lidar_starts_from_the_gnss_course_once_moving():
    loc = make_localizer(None)
    t = 0.0
    for k in range(1, 601):  # 6 s north-east at 5 m/s
        t = k * 0.01
        loc.on_imu(t, 0.0, 0.0)
        if k % 2 == 0:
            loc.on_wheel(t, 5.0, 0.0)
        if k % 10 == 0:
            base = np.array([5.0 * t * math.cos(0.7), 5.0 * t * math.sin(0.7), 0.7])
            loc.on_fix(MapFix(t, antenna(base), RTK_COV))
    assert loc.events["start_GNSS_course"] == 1
    assert abs(loc.estimate().state[2] - 0.7) < 0.05
    assert position_error(loc, np.array([5.0 * t * math.cos(0.7), 5.0 * t * math.sin(0.7)])) < 0.3


def test_out_of_order_and_repeated_stamps_are_refused_and_counted(street_map, scan_of):
    loc = make_localizer(street_map[1])
    van = Standstill(loc, street_map, scan_of)
    van.run(0.5)
    before = loc.estimate()
    loc.on_imu(van.t - 0.2, 3.0, 5.0)
    loc.on_imu(van.t, 3.0, 5.0)
    loc.on_fix(MapFix(van.t - 0.05, antenna(START) + [4.0, 0.0], RTK_COV))
    assert loc.rejected["imu_out_of_order"] == 2
    assert loc.rejected["gnss_out_of_order"] == 1
    np.testing.assert_array_equal(loc.estimate().state, before.state)


def test_implausible_imu_and_wheel_readings_are_refused(street_map, scan_of):
    loc = make_localizer(street_map[1])
    van = Standstill(loc, street_map, scan_of)
    van.run(0.5)
    before = loc.estimate()
    loc.on_imu(van.t + 0.001, 50.0, 0.0)
    loc.on_wheel(van.t + 0.001, 400.0, 0.0)
    assert loc.rejected["imu_implausible"] == 1 and loc.rejected["vehicle_status_implausible"] == 1
    np.testing.assert_array_equal(loc.estimate().state, before.state)


def test_scan_with_nothing_but_ground_is_refused_as_empty(street_map, scan_of):
    loc = make_localizer(street_map[1])
    van = Standstill(loc, street_map, scan_of)
    van.run(0.5)
    loc.on_scan(van.t + 0.05, np.zeros((0, 3)))
    loc.on_scan(van.t + 0.06, np.column_stack([np.ones((50, 2)), np.zeros(50)]))
    assert loc.rejected["lidar_empty"] == 2


def test_gnss_jump_is_refused_while_scans_vouch_for_the_estimate(street_map, scan_of):
    loc = make_localizer(street_map[1])
    van = Standstill(loc, street_map, scan_of)
    van.run(0.5)
    van.run(5.0, gnss_offset=(5.0, 0.0))
    assert loc.rejected["gnss_gated"] >= 45
    assert loc.events["divergences"] == 0
    assert position_error(loc, START) < 0.05


def test_scans_consistently_disagreeing_with_the_estimate_trigger_relocalization(
    street_map, scan_of
):
    loc = make_localizer(street_map[1])
    van = Standstill(loc, street_map, scan_of)
    van.run(0.5)
    moved = START + [0.8, 0.0, 0.0]  # the van was pushed: every sensor now sees it elsewhere
    van.pose = moved
    van.run(3.0)
    assert loc.events["divergences"] >= 1
    assert loc.events["initialisations"] >= 2
    assert position_error(loc, moved) < 0.05


def test_without_gnss_a_divergence_restarts_at_the_last_scan_match(street_map, scan_of):
    loc = make_localizer(street_map[1])
    van = Standstill(loc, street_map, scan_of)
    van.run(0.5)
    moved = START + [0.0, 0.7, 0.02]
    van.pose = moved
    van.run(2.0, gnss=False)
    assert loc.events["divergences"] == 1 and loc.events["start_last_scan_match"] == 1
    assert position_error(loc, moved) < 0.05


def test_confidence_is_full_when_tracking_and_falls_with_uncertainty(street_map, scan_of):
    loc = make_localizer(street_map[1])
    assert loc.health(0.0).mode is Mode.INITIALIZING and loc.health(0.0).confidence == 0.0
    van = Standstill(loc, street_map, scan_of)
    van.run(0.5)
    tracking = loc.health(van.t)
    assert tracking.confidence == 1.0

    def restarted(sigma_m):
        loc.filter.initialize(van.t, START, np.diag([sigma_m**2, sigma_m**2, 1e-6]))
        return loc.health(van.t)

    degraded = restarted(0.7)
    assert 0.0 < degraded.confidence < tracking.confidence and degraded.mode is Mode.DEGRADED
    lost = restarted(2.0)
    assert lost.mode is Mode.LOST and lost.confidence == 0.0


def test_silent_imu_and_wheel_speed_mean_lost(street_map, scan_of):
    loc = make_localizer(street_map[1])
    van = Standstill(loc, street_map, scan_of)
    van.run(0.5)
    assert loc.health(van.t + 2.0).mode is Mode.LOST


def test_gnss_outage_is_bridged_by_scan_matching_while_driving(street_map, scan_of):
    start = np.array([-40.0, -1.0, 0.0])
    loc = make_localizer(street_map[1])
    van = Standstill(loc, street_map, scan_of, pose=start)
    van.run(0.5)
    rng, x, speed = np.random.default_rng(1), start[0], 0.0
    for k in range(1, 1001):  # 10 s without GNSS: 3 s at 2 m/s² to 6 m/s, then cruise
        t = van.t + k * 0.01
        accel = 2.0 if speed < 6.0 - 1e-9 else 0.0
        x, speed = x + (speed + 0.5 * accel * 0.01) * 0.01, speed + accel * 0.01
        loc.on_imu(t, 0.002, accel)  # with a gyro bias not yet learnt
        if k % 2 == 0:
            loc.on_wheel(t, speed, 0.0)
        if k % 10 == 0:
            loc.on_scan(t, scan_of(street_map[0], np.array([x, start[1], 0.0]), rng))
    assert position_error(loc, np.array([x, start[1]])) < 0.05
    assert loc.rejected["lidar_gated"] == 0 and loc.events["divergences"] == 0
