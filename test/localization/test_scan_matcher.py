"""LiDAR-to-map matching on small synthetic streets (conftest.py): pose recovery, heading search,
outliers, degenerate geometry and unusable scans."""

import math

import numpy as np
import pytest

from robovan_autonomy.localization.scan_matcher import MapCloud, ScanError, ScanMatcher


def test_match_recovers_the_pose_from_a_guess_half_a_metre_and_two_degrees_off(street_map, scan_of):
    points, matcher = street_map
    truth = np.array([3.0, -1.0, 0.3])
    scan = matcher.crop(scan_of(points, truth, np.random.default_rng(0)))
    result = matcher.match(scan, truth + [0.4, -0.3, math.radians(2.0)])
    assert np.hypot(*(result.pose[:2] - truth[:2])) < 0.03
    assert abs(result.pose[2] - truth[2]) < 0.002
    assert result.good() and result.inlier_fraction > 0.9


def test_points_of_objects_missing_from_the_map_do_not_pull_the_match(street_map, scan_of, walls):
    points, matcher = street_map
    truth = np.array([-10.0, 1.0, 0.0])
    parked = walls.box(-14.0, 3.0, -9.5, 4.8, height=1.6)
    scan = matcher.crop(scan_of(points, truth, np.random.default_rng(1), clutter=parked))
    result = matcher.match(scan, truth + [0.1, 0.1, 0.01])
    assert np.hypot(*(result.pose[:2] - truth[:2])) < 0.03
    assert result.inlier_fraction < 1.0


def test_heading_search_finds_the_pose_from_an_antenna_fix_alone(street_map, scan_of):
    points, matcher = street_map
    truth = np.array([20.0, 1.5, 2.0])
    lever = (1.5, 0.0)
    antenna = truth[:2] + lever[0] * np.array([math.cos(truth[2]), math.sin(truth[2])])
    scan = matcher.crop(scan_of(points, truth, np.random.default_rng(2)))
    result = matcher.heading_search(scan, antenna + [0.03, -0.02], lever)
    assert np.hypot(*(result.pose[:2] - truth[:2])) < 0.05
    assert abs(math.remainder(result.pose[2] - truth[2], math.tau)) < 0.005


def test_straight_canyon_leaves_the_along_street_direction_uncertain(scan_of, walls):
    points = np.vstack(
        [walls.wall((-200.0, 6.0), (200.0, 6.0)), walls.wall((-200.0, -6.0), (200.0, -6.0))]
    )
    matcher = ScanMatcher(MapCloud.from_points(points, walls.spacing_m))
    truth = np.array([0.0, 0.0, 0.0])
    result = matcher.match(matcher.crop(scan_of(points, truth, np.random.default_rng(3))), truth)
    assert result.covariance[0, 0] > 25.0 * result.covariance[1, 1]
    assert abs(result.pose[1]) < 0.03


def test_scan_with_nothing_above_the_ground_is_refused(street_map):
    _, matcher = street_map
    ground_only = np.column_stack(
        [np.random.default_rng(4).uniform(-20, 20, (500, 2)), np.zeros(500)]
    )
    with pytest.raises(ScanError):
        matcher.crop(ground_only)
    with pytest.raises(ScanError):
        matcher.crop(np.zeros((0, 3)))


def test_covariance_is_symmetric_positive_definite_in_map_axes(street_map, scan_of):
    points, matcher = street_map
    truth = np.array([-30.0, 0.0, 1.0])
    result = matcher.match(matcher.crop(scan_of(points, truth, np.random.default_rng(5))), truth)
    np.testing.assert_allclose(result.covariance, result.covariance.T)
    assert np.linalg.eigvalsh(result.covariance).min() > 0.0


def test_matching_is_repeatable_bit_for_bit_for_lockstep_runs(street_map, scan_of):
    points, matcher = street_map
    truth = np.array([10.0, 0.5, -0.2])
    scan = matcher.crop(scan_of(points, truth, np.random.default_rng(6)))
    first, second = (matcher.match(scan, truth + [0.2, 0.1, 0.01]) for _ in range(2))
    np.testing.assert_array_equal(first.pose, second.pose)
    np.testing.assert_array_equal(first.covariance, second.covariance)
