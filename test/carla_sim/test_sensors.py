"""Sensor data is matched to its tick by frame number (carla_sim/sensors.py)."""

import threading
import types

from robovan_autonomy.carla_sim.sensors import FrameMatcher


def data(frame):
    return types.SimpleNamespace(frame=frame)


def test_the_data_of_the_ticks_frame_is_returned():
    matcher = FrameMatcher(["lidar"])
    matcher.callback("lidar")(data(7))
    assert matcher.collect(7, ["lidar"], timeout_s=0.0)["lidar"].frame == 7


def test_late_data_is_waited_for_within_the_timeout():
    matcher = FrameMatcher(["camera"])
    timer = threading.Timer(0.05, matcher.callback("camera"), [data(3)])
    timer.start()
    assert matcher.collect(3, ["camera"], timeout_s=5.0)["camera"].frame == 3
    assert matcher.missing["camera"] == 0


def test_data_that_never_comes_is_reported_missing_after_the_timeout():
    now = [0.0]

    def clock():
        now[0] += 0.5  # every look at the clock half a second later: the timeout runs out
        return now[0]

    matcher = FrameMatcher(["imu"], clock=clock)
    assert matcher.collect(4, ["imu"], timeout_s=1.0) == {"imu": None}
    assert matcher.missing["imu"] == 1


def test_data_from_an_earlier_frame_is_dropped_as_stale():
    matcher = FrameMatcher(["lidar"])
    deliver = matcher.callback("lidar")
    deliver(data(5))
    deliver(data(6))
    assert matcher.collect(6, ["lidar"], timeout_s=0.0)["lidar"].frame == 6
    assert matcher.stale["lidar"] == 1


def test_a_skipped_frame_is_missing_and_the_next_frames_data_is_kept_for_its_tick():
    matcher = FrameMatcher(["lidar"])
    matcher.callback("lidar")(data(9))
    assert matcher.collect(8, ["lidar"], timeout_s=5.0) == {"lidar": None}
    assert matcher.collect(9, ["lidar"], timeout_s=0.0)["lidar"].frame == 9


def test_data_discarded_at_the_end_of_a_tick_is_not_counted_stale():
    matcher = FrameMatcher(["camera"])
    matcher.callback("camera")(data(2))
    matcher.discard_through(2)
    matcher.callback("camera")(data(3))
    assert matcher.collect(3, ["camera"], timeout_s=0.0)["camera"].frame == 3
    assert matcher.stale["camera"] == 0
