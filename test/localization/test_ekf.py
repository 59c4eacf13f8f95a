"""The planar EKF and its time ordering: bias estimation, gating, lever arms, replay of late
measurements, and covariance health under arbitrary input sequences."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robovan_autonomy.localization.ekf import (
    GYRO_BIAS,
    SPEED,
    YAW,
    ImuInput,
    Outcome,
    PoseFix,
    PositionFix,
    WheelInput,
    X,
    Y,
    filter_for,
)
from robovan_autonomy.vehicle_params import load_vehicle_params

VEHICLE = load_vehicle_params()
IMU_SPEC = VEHICLE.sensors["imu"]
IMU_DT_S = 1.0 / IMU_SPEC["rate_hz"]
GNSS_XY_M = (VEHICLE.sensor_pose("gnss").x_m, VEHICLE.sensor_pose("gnss").y_m)


def started(pose=(0.0, 0.0, 0.0), sigma=(0.1, 0.1, 0.01), speed_mps=0.0, t_s=0.0, horizon_s=1.0):
    filt = filter_for(VEHICLE, horizon_s)
    filt.initialize(t_s, np.array(pose, float), np.diag(np.square(sigma)), speed_mps=speed_mps)
    return filt


def antenna(pose):
    x, y, yaw = pose
    return np.array(
        [
            x + math.cos(yaw) * GNSS_XY_M[0] - math.sin(yaw) * GNSS_XY_M[1],
            y + math.sin(yaw) * GNSS_XY_M[0] + math.cos(yaw) * GNSS_XY_M[1],
        ]
    )


def drive(
    filt,
    seconds,
    speed_mps=0.0,
    yaw_rate_radps=0.0,
    gyro_bias=0.0,
    start_s=0.0,
    rng=None,
    gnss_every=0,
    truth_start=(0.0, 0.0, 0.0),
):
    """Feed IMU at 100 Hz and wheel speed at 50 Hz for a constant-speed, constant-rate drive
    (exact readings unless rng gives noise); optional GNSS fixes of the true antenna."""
    x, y, yaw = truth_start
    steer = math.atan(yaw_rate_radps * VEHICLE.wheelbase_m / speed_mps) if speed_mps else 0.0
    steps = int(round(seconds / IMU_DT_S))
    if start_s == 0.0:  # the sample at the start instant, which a running stream would have had
        filt.add(ImuInput(0.0, yaw_rate_radps + gyro_bias, 0.0))
    for k in range(1, steps + 1):
        t = start_s + k * IMU_DT_S
        heading = yaw + 0.5 * yaw_rate_radps * IMU_DT_S
        x, y = (
            x + speed_mps * math.cos(heading) * IMU_DT_S,
            y + speed_mps * math.sin(heading) * IMU_DT_S,
        )
        yaw += yaw_rate_radps * IMU_DT_S
        noise = rng.normal(0.0, IMU_SPEC["gyro_noise_radps"]) if rng is not None else 0.0
        centripetal = -(yaw_rate_radps**2) * VEHICLE.sensor_pose("imu").x_m
        filt.add(ImuInput(t, yaw_rate_radps + gyro_bias + noise, centripetal))
        if k % 2 == 0:
            filt.add(WheelInput(t, speed_mps, steer))
        if gnss_every and k % gnss_every == 0:
            filt.add(PositionFix(t, antenna((x, y, yaw)), np.eye(2) * 0.03**2))
    return np.array([x, y, math.remainder(yaw, math.tau)])


def test_gyro_bias_is_learnt_at_standstill_from_the_zero_rate_of_a_stopped_van():
    filt = started()
    drive(filt, 5.0, gyro_bias=0.003, rng=np.random.default_rng(0))
    estimate = filt.estimate()
    assert estimate.state[GYRO_BIAS] == pytest.approx(0.003, abs=3e-4)
    assert abs(estimate.state[YAW]) < 0.005  # drifts only until the bias is learnt


def test_gyro_bias_is_learnt_while_driving_a_curve_from_the_steering_yaw_rate():
    filt = started(speed_mps=8.0)
    drive(
        filt,
        20.0,
        speed_mps=8.0,
        yaw_rate_radps=0.1,
        gyro_bias=-0.002,
        rng=np.random.default_rng(1),
    )
    assert filt.estimate().state[GYRO_BIAS] == pytest.approx(-0.002, abs=5e-4)


def test_imu_and_wheel_speed_dead_reckon_a_circle():
    filt = started(speed_mps=5.0)
    truth = drive(filt, 10.0, speed_mps=5.0, yaw_rate_radps=0.2)
    estimate = filt.estimate()
    assert np.hypot(*(estimate.state[:2] - truth[:2])) < 0.05
    assert math.remainder(estimate.state[YAW] - truth[2], math.tau) == pytest.approx(0.0, abs=1e-3)


def test_without_imu_the_filter_predicts_from_wheel_speed_and_steering():
    filt = started(speed_mps=5.0)
    steer = math.atan(0.2 * VEHICLE.wheelbase_m / 5.0)
    for k in range(1, 501):
        filt.add(WheelInput(k * 0.02, 5.0, steer))
    estimate = filt.estimate()
    assert estimate.state[YAW] == pytest.approx(math.remainder(0.2 * 10.0, math.tau), abs=0.02)
    assert estimate.covariance[YAW, YAW] > started().estimate().covariance[YAW, YAW]


def test_gnss_fix_corrects_position_through_the_antenna_lever_arm():
    pose = (10.0, 20.0, math.pi / 2)
    filt = started(pose=(10.5, 19.6, math.pi / 2), sigma=(1.0, 1.0, 0.001))
    for k in range(1, 11):
        filt.add(PositionFix(0.1 * k, antenna(pose), np.eye(2) * 0.03**2))
    assert np.hypot(*(filt.estimate().state[:2] - pose[:2])) < 0.02


def test_gnss_jump_is_gated_and_leaves_the_estimate_unchanged():
    filt = started(sigma=(0.05, 0.05, 0.005))
    before = filt.estimate()
    result = filt.add(PositionFix(0.0, antenna((5.0, 0.0, 0.0)), np.eye(2) * 0.03**2))
    assert result.outcome is Outcome.GATED and result.nis > 100.0
    after = filt.estimate()
    np.testing.assert_array_equal(after.state, before.state)
    np.testing.assert_array_equal(after.covariance, before.covariance)


def test_pose_fix_corrects_heading_across_the_pi_wrap():
    filt = started(pose=(0.0, 0.0, math.pi - 0.01), sigma=(0.1, 0.1, 0.05))
    filt.add(PoseFix(0.0, np.array([0.0, 0.0, -math.pi + 0.01]), np.diag([0.01, 0.01, 1e-6])))
    assert abs(math.remainder(filt.estimate().state[YAW] - (-math.pi + 0.01), math.tau)) < 1e-3


def test_late_fix_is_fused_at_its_stamp_exactly_as_if_it_had_come_in_order():
    fix = PositionFix(0.505, antenna((4.04, 0.0, 0.0)) + [0.05, -0.04], np.eye(2) * 0.03**2)
    in_order, late = (
        started(speed_mps=8.0, sigma=(0.3, 0.3, 0.01)),
        started(speed_mps=8.0, sigma=(0.3, 0.3, 0.01)),
    )
    for filt, delay_steps in ((in_order, 0), (late, 30)):
        held = None
        for k in range(1, 101):
            t = k * IMU_DT_S
            filt.add(ImuInput(t, 0.0, 0.0))
            if k % 2 == 0:
                filt.add(WheelInput(t, 8.0, 0.0))
            if k == 50:
                held = fix
            if held is not None and k == 50 + delay_steps:
                assert filt.add(held).outcome is Outcome.ACCEPTED
                held = None
    np.testing.assert_allclose(late.estimate().state, in_order.estimate().state, atol=1e-9)
    np.testing.assert_allclose(
        late.estimate().covariance, in_order.estimate().covariance, atol=1e-12
    )


def test_measurement_older_than_the_horizon_is_refused_as_too_old():
    filt = started(horizon_s=0.5)
    drive(filt, 2.0)
    assert (
        filt.add(PositionFix(1.0, antenna((0.0, 0.0, 0.0)), np.eye(2))).outcome is Outcome.TOO_OLD
    )


def test_inputs_before_initialisation_are_not_fused():
    filt = filter_for(VEHICLE, 1.0)
    assert filt.add(ImuInput(0.0, 0.0, 0.0)).outcome is Outcome.NOT_INITIALIZED
    assert not filt.initialized


def test_estimate_ahead_is_predicted_without_changing_the_filter():
    filt = started(speed_mps=10.0)
    drive(filt, 0.1, speed_mps=10.0)
    now = filt.estimate()
    ahead = filt.estimate(now.t_s + 0.05)
    assert ahead.state[X] == pytest.approx(now.state[X] + 0.5, abs=1e-6)
    np.testing.assert_array_equal(filt.estimate().state, now.state)


measurement = st.one_of(
    st.tuples(st.just("imu"), st.floats(-1.0, 1.0), st.floats(-6.0, 3.0)),
    st.tuples(st.just("wheel"), st.floats(-3.0, 14.0), st.floats(-0.6, 0.6)),
    st.tuples(st.just("gnss"), st.floats(-50.0, 50.0), st.floats(-50.0, 50.0)),
    st.tuples(st.just("pose"), st.floats(-50.0, 50.0), st.floats(-math.pi, math.pi)),
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0.0, 0.05), st.floats(0.0, 0.3), measurement), min_size=1, max_size=80
    )
)
def test_covariance_stays_symmetric_positive_definite_and_state_finite(sequence):
    """Any mix of inputs, in stamp order or up to 0.3 s late, keeps the filter healthy."""
    filt = started(sigma=(1.0, 1.0, 0.1))
    t = 0.0
    for step, lateness, (kind, a, b) in sequence:
        t += step
        stamp = max(t - lateness, 0.0)
        item = {
            "imu": lambda: ImuInput(stamp, a, b),
            "wheel": lambda: WheelInput(stamp, a, b),
            "gnss": lambda: PositionFix(stamp, np.array([a, b]), np.eye(2) * 0.5),
            "pose": lambda: PoseFix(stamp, np.array([a, a, b]), np.diag([0.1, 0.1, 0.01])),
        }[kind]()
        filt.add(item)
        estimate = filt.estimate()
        cov = estimate.covariance
        assert np.all(np.isfinite(estimate.state)) and np.all(np.isfinite(cov))
        np.testing.assert_allclose(cov, cov.T, atol=1e-9)
        assert np.linalg.eigvalsh(cov).min() > 0.0
        assert -math.pi <= estimate.state[YAW] < math.pi


def test_speed_follows_the_wheel_speed():
    filt = started()
    drive(filt, 2.0, speed_mps=6.0)
    assert filt.estimate().state[SPEED] == pytest.approx(6.0, abs=0.05)


def test_position_moves_along_the_heading():
    filt = started(pose=(0.0, 0.0, math.pi / 2), speed_mps=4.0)
    drive(filt, 1.0, speed_mps=4.0, truth_start=(0.0, 0.0, math.pi / 2))
    estimate = filt.estimate()
    assert estimate.state[Y] == pytest.approx(4.0, abs=0.05)
    assert estimate.state[X] == pytest.approx(0.0, abs=0.01)
