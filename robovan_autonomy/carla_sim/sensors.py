"""Sensor data matched to the simulator tick that produced it, by frame number. Pure: no carla.

In synchronous mode CARLA renders every sensor for a tick, then delivers each sensor's data on
its own client thread, possibly after `world.tick()` has returned (late), possibly not at all
(missing), and a late delivery can still arrive during a later tick (stale). The lockstep runner
must publish, at tick t, exactly the data of the frame of tick t: `FrameMatcher.collect` waits for
each wanted stream's data of that frame up to a timeout, reports it missing after that, and drops
(and counts) anything from an earlier frame.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Iterable


class FrameMatcher:
    """Per-stream queues fed by sensor callbacks (any thread), read by one ticking client."""

    def __init__(self, names: Iterable[str], clock: Callable[[], float] = time.monotonic):
        self._queues = {name: collections.deque() for name in names}
        self._ready = threading.Condition()
        self._clock = clock
        self.missing = dict.fromkeys(self._queues, 0)  # wanted, not there within the timeout
        self.stale = dict.fromkeys(self._queues, 0)  # arrived after its tick was collected

    def callback(self, name: str) -> Callable[[object], None]:
        """The `listen` callback of stream `name`: queues data carrying a `.frame`."""
        queue = self._queues[name]

        def deliver(data) -> None:
            with self._ready:
                queue.append(data)
                self._ready.notify_all()

        return deliver

    def collect(self, frame: int, wanted: Iterable[str], timeout_s: float) -> dict[str, object]:
        """The data of `frame` for each wanted stream, or None where none came within timeout_s
        (counted missing). Data of earlier frames is dropped (counted stale)."""
        deadline = self._clock() + timeout_s
        with self._ready:
            return {name: self._take(name, frame, deadline) for name in wanted}

    def discard_through(self, frame: int) -> None:
        """Drop every stream's data up to `frame`, uncounted: the tick is over and nobody wanted
        it (a camera that renders every tick, published at its own rate)."""
        with self._ready:
            for queue in self._queues.values():
                while queue and queue[0].frame <= frame:
                    queue.popleft()

    def _take(self, name: str, frame: int, deadline: float):
        queue = self._queues[name]
        while True:
            while queue and queue[0].frame < frame:
                queue.popleft()
                self.stale[name] += 1
            if queue:
                if queue[0].frame == frame:
                    return queue.popleft()
                break  # the sensor moved on past this frame: it skipped it
            remaining = deadline - self._clock()
            if remaining <= 0.0:
                break
            self._ready.wait(remaining)
        self.missing[name] += 1
        return None
