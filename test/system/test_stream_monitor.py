"""Stream health: age, rate and stamp order of one input."""
import math

from robovan_autonomy.system.stream_monitor import RATE_WINDOW_S, StreamMonitor, StreamSpec

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


def test_data_stamped_far_behind_the_clock_is_lost():
    monitor = StreamMonitor(SPEC)
    for k in range(30):
        monitor.accept(k * 0.1, k * 0.1 + 2.0)  # a clock 2 s ahead of the sensor
    assert not monitor.status(4.9).ok


def test_rejected_messages_are_named_when_the_stream_is_lost():
    monitor = StreamMonitor(SPEC)
    monitor.reject("imu linear acceleration: non-finite value")
    assert "non-finite" in monitor.status(1.0).problem
