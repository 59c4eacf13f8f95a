"""Stream health: age, rate and stamp order of one input."""

import math

import pytest

from robovan_autonomy.system.stream_monitor import (
    CLOCK_STEP_REPORT_S,
    RATE_WINDOW_S,
    ClockMonitor,
    StreamMonitor,
    StreamSpec,
)

SPEC = StreamSpec("lidar", min_rate_hz=7.0, max_age_s=0.3)


def fed(rate_hz: float, until_s: float, monitor: StreamMonitor | None = None) -> StreamMonitor:
    monitor = monitor or StreamMonitor(SPEC)
    for k in range(1, int(round(until_s * rate_hz)) + 1):
        t = k / rate_hz
        assert monitor.accept(t, t) == ""
    return monitor


def test_stream_at_its_rate_is_healthy():
    status = fed(10.0, 2.0).status(2.0)
    assert status.ok and math.isclose(status.rate_hz, 10.0, abs_tol=1.0)


def test_stream_never_received_is_lost():
    status = StreamMonitor(SPEC).status(5.0)
    assert not status.ok and "nothing received" in status.problem


def test_silent_stream_is_lost_once_its_data_is_too_old():
    monitor = fed(10.0, 2.0)
    assert monitor.status(2.25).ok
    assert not monitor.status(2.35).ok


def test_stream_below_its_rate_is_lost_after_a_whole_window():
    monitor = fed(5.0, 0.6)
    assert monitor.status(0.6).ok  # not yet a whole window
    status = fed(5.0, 0.6 + RATE_WINDOW_S, monitor=StreamMonitor(SPEC)).status(0.6 + RATE_WINDOW_S)
    assert not status.ok and "Hz" in status.problem


def test_future_stamp_is_rejected_and_counted():
    monitor = fed(10.0, 1.0)
    assert "future" in monitor.accept(3.0, 1.05)
    assert monitor.status(1.05).rejected == 1 and monitor.last_stamp_s == 1.0


def test_out_of_order_stamp_is_rejected_and_counted():
    monitor = fed(10.0, 1.0)
    assert "not after" in monitor.accept(0.5, 1.05)
    assert monitor.rejected == 1


def test_a_second_message_for_the_last_stamp_is_rejected_on_a_plain_stream():
    monitor = fed(10.0, 1.0)
    assert "not after" in monitor.accept(1.0, 1.02)


def test_a_refined_stream_takes_a_second_message_for_the_last_stamp_without_counting_it():
    monitor = fed(10.0, 1.0, StreamMonitor(StreamSpec("objects", 5.0, 0.5, refined=True)))
    arrivals = monitor.status(1.0).rate_hz
    assert monitor.accept(1.0, 1.02) == ""
    assert monitor.rejected == 0 and monitor.status(1.02).rate_hz == arrivals


def test_data_stamped_far_behind_the_clock_is_lost():
    monitor = StreamMonitor(SPEC)
    for k in range(30):
        monitor.accept(k * 0.1, k * 0.1 + 2.0)  # a clock 2 s ahead of the sensor
    assert not monitor.status(4.9).ok


def test_rejected_messages_are_named_when_the_stream_is_lost():
    monitor = StreamMonitor(SPEC)
    monitor.reject("imu linear acceleration: non-finite value")
    assert "non-finite" in monitor.status(1.0).problem


def fed_garbage(
    monitor: StreamMonitor, from_s: float, until_s: float, rate_hz: float = 10.0
) -> None:
    for k in range(int(round((until_s - from_s) * rate_hz)) + 1):
        t = from_s + k / rate_hz
        assert monitor.accept(t, t, implausible="all returns non-finite") != ""


def test_implausible_content_is_rejected_and_counted():
    monitor = fed(10.0, 1.0)
    assert monitor.accept(1.1, 1.1, implausible="frozen") == "frozen"
    assert monitor.rejected == 1 and monitor.last_stamp_s == 1.0


def test_a_stream_sending_only_garbage_for_bad_data_max_s_is_lying():
    monitor = fed(10.0, 1.0)
    fed_garbage(monitor, 1.1, 1.1 + SPEC.bad_data_max_s)
    status = monitor.status(1.1 + SPEC.bad_data_max_s)
    assert not status.ok and status.lying and "non-finite" in status.problem


def test_one_bad_message_between_good_ones_is_not_lying():
    monitor = fed(10.0, 1.0)
    monitor.accept(1.1, 1.1, implausible="frozen")
    for t in (1.2, 1.3, 1.4):
        monitor.accept(t, t)
    assert monitor.status(1.4).ok


def test_a_stream_of_messages_that_fail_to_decode_is_lying():
    monitor = fed(10.0, 1.0)
    for t in (1.1, 1.2, 1.3, 1.4):
        monitor.reject_content("point cloud: fields [], expected [...]", t)
    assert monitor.status(1.4).lying


def test_data_stamped_ahead_of_the_clock_is_lost():
    """After the receiver's clock steps back, the newest data is in its future."""
    monitor = fed(10.0, 3.0)
    status = monitor.status(1.0)
    assert not status.ok and "ahead of the clock" in status.problem


def test_arrivals_after_a_clock_step_back_do_not_count_toward_the_rate():
    monitor = fed(10.0, 3.0)
    assert monitor.status(1.0).rate_hz == pytest.approx(10.0)  # not the 30 received up to 3.0 s


def test_a_clock_step_back_is_a_finding_for_a_while():
    clock = ClockMonitor()
    for t in (10.0, 10.01, 10.02):
        clock.observe(t)
    assert clock.problem(10.02) == ""
    clock.observe(8.02)
    assert "stepped back 2.00 s" in clock.problem(8.02)
    assert clock.problem(8.02 + CLOCK_STEP_REPORT_S) == ""


def test_clock_jitter_within_the_stamp_tolerance_is_no_step():
    clock = ClockMonitor()
    clock.observe(10.0)
    clock.observe(9.99)
    assert clock.problem(9.99) == ""
