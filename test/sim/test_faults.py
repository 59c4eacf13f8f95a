"""Sensor fault injection: each kind in its window, and nothing outside it."""

import math

import numpy as np
import pytest

from robovan_autonomy.core_types import PoseEstimate
from robovan_autonomy.sim.faults import FaultInjector, FaultKind, SensorFault, nan_like
from robovan_autonomy.sim.gnss_imu import ImuReading
from robovan_autonomy.sim.world import LidarReading


def reading(t_s, value=1.0):
    return ImuReading(t_s, np.array([0.0, 0.0, value]), np.array([0.0, 0.0, 9.8]))


def test_no_faults_delivers_every_message_on_time_unchanged():
    payload = reading(3.0)
    delivery = FaultInjector().apply(3.0, payload)
    assert (delivery.deliver_at_s, delivery.stamp_s) == (3.0, 3.0)
    assert delivery.payload.angular_velocity_radps is payload.angular_velocity_radps


def test_drop_delivers_nothing_inside_its_window_only():
    injector = FaultInjector([SensorFault(FaultKind.DROP, 1.0, 2.0)])
    delivered = [injector.apply(t, reading(t)) is not None for t in (0.5, 1.0, 1.5, 2.0)]
    assert delivered == [True, False, False, True]


def test_freeze_repeats_the_last_good_payload_with_advancing_stamps():
    injector = FaultInjector([SensorFault(FaultKind.FREEZE, 1.0, 2.0)])
    injector.apply(0.9, reading(0.9, value=7.0))
    frozen = injector.apply(1.3, reading(1.3, value=8.0))
    assert frozen.stamp_s == 1.3 and frozen.payload.stamp_s == 1.3
    assert frozen.payload.angular_velocity_radps[2] == 7.0
    assert injector.apply(2.1, reading(2.1, value=9.0)).payload.angular_velocity_radps[2] == 9.0


def test_freeze_before_any_message_delivers_nothing():
    injector = FaultInjector([SensorFault(FaultKind.FREEZE, 0.0)])
    assert injector.apply(0.5, reading(0.5)) is None


def test_nan_makes_floats_nan_but_keeps_stamps_and_integer_data():
    injector = FaultInjector([SensorFault(FaultKind.NAN, 0.0, 1.0)])
    payload = injector.apply(0.5, reading(0.5)).payload
    assert payload.stamp_s == 0.5
    assert np.all(np.isnan(payload.angular_velocity_radps)) and np.all(
        np.isnan(payload.linear_acceleration_mps2)
    )
    image = np.full((2, 2, 3), 9, np.uint8)
    assert np.array_equal(nan_like((image, 1.5))[0], image) and math.isnan(
        nan_like((image, 1.5))[1]
    )


def test_delay_delivers_late_with_the_true_stamp():
    injector = FaultInjector([SensorFault(FaultKind.DELAY, 0.0, 5.0, value=0.3)])
    delivery = injector.apply(1.0, reading(1.0))
    assert (delivery.deliver_at_s, delivery.stamp_s) == (1.3, 1.0)


def test_stamp_lag_delivers_on_time_stamped_in_the_past():
    injector = FaultInjector([SensorFault(FaultKind.STAMP_LAG, 0.0, 5.0, value=0.2)])
    delivery = injector.apply(1.0, reading(1.0))
    assert delivery.deliver_at_s == 1.0
    assert math.isclose(delivery.stamp_s, 0.8) and math.isclose(delivery.payload.stamp_s, 0.8)


def test_fault_without_end_lasts_for_ever():
    injector = FaultInjector([SensorFault(FaultKind.DROP, 10.0)])
    assert injector.apply(1e6, reading(1e6)) is None


def test_empty_leaves_no_rows_but_keeps_the_stamp():
    injector = FaultInjector([SensorFault(FaultKind.EMPTY, 0.0)])
    cloud = LidarReading(0.5, np.ones((100, 4), np.float32))
    payload = injector.apply(0.5, cloud).payload
    assert payload.points.shape == (0, 4) and payload.stamp_s == 0.5


def test_black_zeroes_pixels_and_leaves_floats():
    payload = FaultInjector([SensorFault(FaultKind.BLACK, 0.0)]).apply(
        0.5, (np.full((4, 4, 3), 90, np.uint8), 2.5)
    )
    assert not payload.payload[0].any() and payload.payload[1] == 2.5


def test_jump_moves_a_pose_east_by_its_value():
    pose = PoseEstimate(1.0, 10.0, 20.0, 0.0, 5.0, 0.0)
    moved = FaultInjector([SensorFault(FaultKind.JUMP, 0.0, value=5.0)]).apply(1.0, pose).payload
    assert (moved.x_m, moved.y_m, moved.stamp_s) == (15.0, 20.0, 1.0)


def test_a_jump_of_a_payload_without_a_position_is_refused():
    with pytest.raises(TypeError, match="x_m"):
        FaultInjector([SensorFault(FaultKind.JUMP, 0.0, value=5.0)]).apply(1.0, reading(1.0))
