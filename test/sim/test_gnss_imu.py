"""GNSS and IMU models: noise statistics with fixed seeds, fix modes, outages, motion terms."""

import dataclasses
import math

import numpy as np
import pytest

from robovan_autonomy.sim.gnss_imu import (
    GRAVITY_MPS2,
    FixMode,
    GnssConditions,
    GnssModel,
    GnssNoise,
    ImuModel,
    ImuNoise,
    MotionState,
)
from robovan_autonomy.vehicle_params import load_vehicle_params

PARAMS = load_vehicle_params()
GNSS_PERIOD_S = 1.0 / PARAMS.sensors["gnss"]["rate_hz"]
IMU_PERIOD_S = 1.0 / PARAMS.sensors["imu"]["rate_hz"]
ANTENNA = np.array([100.0, -20.0, 2.3])


def flat_geodetic(x, y, z):
    """A toy map → (lat, lon, alt): 1e-5 degrees per metre, enough to see values pass through."""
    return 48.0 + y * 1e-5, 11.0 + x * 1e-5, 500.0 + z


def gnss(seed=0, conditions=GnssConditions(), **noise_changes):
    noise = dataclasses.replace(GnssNoise.from_vehicle_params(PARAMS), **noise_changes)
    return GnssModel(noise, flat_geodetic, np.random.default_rng(seed), conditions)


def errors(model, count, start_s=0.0):
    readings = [model.measure(start_s + i * GNSS_PERIOD_S, ANTENNA) for i in range(count)]
    return np.array([r.position_map_m - ANTENNA for r in readings]), readings


def test_rtk_white_noise_std_is_within_ten_percent_of_sigma():
    error, _ = errors(gnss(seed=1, bias_variance_fraction=0.0), 5000)
    sigma = PARAMS.sensors["gnss"]["sigma_rtk_m"]
    np.testing.assert_allclose(error[:, :2].std(axis=0), sigma, rtol=0.1)
    assert error[:, 2].std() == pytest.approx(sigma * 2.0, rel=0.1)


def test_total_error_with_slow_bias_has_the_datasheet_sigma_over_a_long_drive():
    error, _ = errors(gnss(seed=2, bias_tau_s=2.0), 20000)
    np.testing.assert_allclose(
        error[:, :2].std(axis=0), PARAMS.sensors["gnss"]["sigma_rtk_m"], rtol=0.1
    )


def test_bias_makes_consecutive_errors_correlated():
    error, _ = errors(gnss(seed=3), 20000)
    x = error[:, 0] - error[:, 0].mean()
    lag_one = float(np.dot(x[1:], x[:-1]) / np.dot(x, x))
    noise = GnssNoise.from_vehicle_params(PARAMS)
    expected = noise.bias_variance_fraction * math.exp(-GNSS_PERIOD_S / noise.bias_tau_s)
    assert lag_one == pytest.approx(expected, abs=0.1)


def test_float_zone_uses_float_sigma_and_reports_it():
    zone = np.array([[0.0, -50.0], [200.0, -50.0], [200.0, 50.0], [0.0, 50.0]])
    model = gnss(seed=4, conditions=GnssConditions(float_zones=(zone,)), bias_variance_fraction=0.0)
    error, readings = errors(model, 3000)
    sigma = PARAMS.sensors["gnss"]["sigma_float_m"]
    assert {r.status for r in readings} == {FixMode.FLOAT}
    np.testing.assert_allclose(error[:, :2].std(axis=0), sigma, rtol=0.1)
    np.testing.assert_allclose(np.diag(readings[0].position_covariance)[:2], sigma**2)


def test_outage_window_gives_no_fix_only_inside_the_window():
    model = gnss(conditions=GnssConditions(outage_windows=((1.0, 2.0),)))
    readings = [model.measure(t, ANTENNA) for t in (0.9, 1.0, 1.5, 1.99, 2.0)]
    assert [r.has_fix for r in readings] == [True, False, False, False, True]
    assert readings[1].status == FixMode.NO_FIX
    assert math.isnan(readings[1].latitude_deg) and np.all(np.isnan(readings[1].position_map_m))


def test_outage_zone_gives_no_fix_inside_the_polygon():
    tunnel = np.array([[90.0, -30.0], [110.0, -30.0], [110.0, -10.0], [90.0, -10.0]])
    model = gnss(conditions=GnssConditions(outage_zones=(tunnel,)))
    assert not model.measure(0.0, ANTENNA).has_fix
    assert model.measure(0.1, ANTENNA + (50.0, 0.0, 0.0)).has_fix


def test_fix_passes_through_the_geodetic_conversion():
    reading = gnss().measure(0.0, ANTENNA)
    lat, lon, alt = flat_geodetic(*reading.position_map_m)
    assert (reading.latitude_deg, reading.longitude_deg, reading.altitude_m) == (lat, lon, alt)
    assert reading.status == FixMode.RTK


def imu(seed=0, **noise_changes):
    noise = dataclasses.replace(ImuNoise.from_vehicle_params(PARAMS), **noise_changes)
    return ImuModel(noise, PARAMS.sensor_pose("imu"), np.random.default_rng(seed))


def test_imu_at_rest_reads_gravity_up_and_zero_rate_within_noise():
    model = imu(seed=5)
    rest = MotionState.planar(yaw_rad=0.7, yaw_rate_radps=0.0, speed_mps=0.0, accel_mps2=0.0)
    samples = [model.measure(i * IMU_PERIOD_S, rest) for i in range(2000)]
    rate = np.array([s.angular_velocity_radps for s in samples])
    force = np.array([s.linear_acceleration_mps2 for s in samples])
    noise = model.noise
    np.testing.assert_allclose(rate.mean(axis=0), 0.0, atol=4 * noise.gyro_bias_sigma_radps)
    np.testing.assert_allclose(
        force.mean(axis=0), [0.0, 0.0, GRAVITY_MPS2], atol=4 * noise.accel_bias_sigma_mps2
    )
    np.testing.assert_allclose(rate.std(axis=0), noise.gyro_noise_radps, rtol=0.1)
    np.testing.assert_allclose(force.std(axis=0), noise.accel_noise_mps2, rtol=0.1)


def test_imu_in_a_steady_turn_reads_yaw_rate_and_lever_arm_centripetal_accel():
    speed, yaw_rate = 8.0, 0.25
    turn = MotionState.planar(
        yaw_rad=-1.2, yaw_rate_radps=yaw_rate, speed_mps=speed, accel_mps2=0.5
    )
    rate, force = imu().true_reading(turn)
    lever_x = PARAMS.sensor_pose("imu").x_m
    np.testing.assert_allclose(rate, [0.0, 0.0, yaw_rate], atol=1e-12)
    np.testing.assert_allclose(
        force, [0.5 - yaw_rate**2 * lever_x, speed * yaw_rate, GRAVITY_MPS2], atol=1e-12
    )


def test_imu_biases_wander_but_the_same_seed_repeats():
    still = MotionState.planar(0.0, 0.0, 0.0, 0.0)
    first, again = imu(seed=6), imu(seed=6)
    a = [first.measure(i * 1.0, still).angular_velocity_radps for i in range(100)]
    b = [again.measure(i * 1.0, still).angular_velocity_radps for i in range(100)]
    np.testing.assert_array_equal(a, b)
    start_bias = imu(seed=6).gyro_bias_radps
    assert np.any(first.gyro_bias_radps != start_bias)
