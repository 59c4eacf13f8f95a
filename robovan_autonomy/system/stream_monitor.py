"""Rate, age and validity of one input stream, judged in stamp order. Pure: no rclpy.

A message counts when it decodes, makes sense (plausibility.py), is not stamped in the future
and is newer than the last one counted. The stream is healthy while its newest counted stamp is
recent (data age: catches a silent source and a clock that jumped away from the data), not ahead
of the clock (a clock that stepped back), once it has run for a whole window while enough
messages arrived in the last window (rate: catches a source that stutters), and while it is not
lying: content that fails to decode or to make sense, message after message for bad_data_max_s,
is a failed sensor whatever its rate, and a fault even for a stream whose silence only degrades.
"""

from __future__ import annotations

import collections
import dataclasses
import math

# Window over which the rate is counted, s: ten LiDAR frames, a hundred IMU samples.
RATE_WINDOW_S = 1.0
# A stamp further ahead of the receiver's clock than this is a clock fault, s: hosts synchronised
# by PTP or NTP agree to milliseconds.
FUTURE_STAMP_TOLERANCE_S = 0.05


@dataclasses.dataclass(frozen=True)
class StreamSpec:
    """What a healthy stream looks like. `critical`: losing it needs a minimal-risk stop; otherwise
    the stack is only degraded (a warning). `refined`: its source may send a message again for the
    stamp it last sent, with more in it (an object table for a scan, then again once the camera
    frame of the same instant has named its objects); that one is taken, not counted again."""

    name: str
    min_rate_hz: float
    max_age_s: float
    critical: bool = True
    bad_data_max_s: float = 0.25
    refined: bool = False


@dataclasses.dataclass(frozen=True)
class StreamStatus:
    name: str
    ok: bool
    problem: str
    rate_hz: float
    age_s: float
    rejected: int
    lying: bool = (
        False  # bad content for bad_data_max_s: a fault whether or not the stream is critical
    )


class StreamMonitor:
    def __init__(self, spec: StreamSpec):
        self.spec = spec
        self.last_stamp_s: float | None = None
        self.first_arrival_s: float | None = None
        self.rejected = 0
        self.last_rejection = ""
        self.bad_since_s: float | None = None  # arrival of the first of the bad messages in a row
        self.bad_in_a_row = 0
        self._arrivals: collections.deque[float] = collections.deque()

    def accept(self, stamp_s: float, now_s: float, implausible: str = "") -> str:
        """Count a decoded message stamped stamp_s arriving at now_s; '' when counted, else why not.
        implausible: why its content cannot be true ('' when it can)."""
        if implausible:
            return self.reject_content(implausible, now_s)
        if not math.isfinite(stamp_s):
            return self.reject("non-finite stamp")
        if stamp_s > now_s + FUTURE_STAMP_TOLERANCE_S:
            return self.reject(f"stamped {stamp_s - now_s:.3f} s in the future")
        if self.spec.refined and stamp_s == self.last_stamp_s:
            return ""
        if self.last_stamp_s is not None and stamp_s <= self.last_stamp_s:
            return self.reject(
                f"stamp {stamp_s:.3f} s not after the last one {self.last_stamp_s:.3f} s"
            )
        self.last_stamp_s = stamp_s
        self.bad_since_s, self.bad_in_a_row = None, 0
        if self.first_arrival_s is None:
            self.first_arrival_s = now_s
        self._arrivals.append(now_s)
        return ""

    def reject(self, reason: str) -> str:
        """Count a message that could not be used for its stamp."""
        self.rejected += 1
        self.last_rejection = reason
        return reason

    def reject_content(self, reason: str, now_s: float) -> str:
        """Count a message whose content is garbage: it does not decode, or it cannot be true."""
        if self.bad_since_s is None:
            self.bad_since_s = now_s
        self.bad_in_a_row += 1
        return self.reject(reason)

    def status(self, now_s: float) -> StreamStatus:
        spec = self.spec
        while self._arrivals and self._arrivals[0] < now_s - RATE_WINDOW_S:
            self._arrivals.popleft()
        while self._arrivals and self._arrivals[-1] > now_s:  # the clock stepped back past them
            self._arrivals.pop()
        rate = len(self._arrivals) / RATE_WINDOW_S
        if (
            self.bad_since_s is not None
            and self.bad_in_a_row >= 2
            and now_s - self.bad_since_s >= spec.bad_data_max_s
        ):
            return StreamStatus(
                spec.name,
                False,
                f"{spec.name}: {self.bad_in_a_row} bad messages in "
                f"{now_s - self.bad_since_s:.2f} s, last: {self.last_rejection}",
                rate,
                math.inf if self.last_stamp_s is None else now_s - self.last_stamp_s,
                self.rejected,
                lying=True,
            )
        if self.last_stamp_s is None:
            why = f"; last rejected: {self.last_rejection}" if self.last_rejection else ""
            return StreamStatus(
                spec.name,
                False,
                f"{spec.name}: nothing received{why}",
                0.0,
                math.inf,
                self.rejected,
            )
        age = now_s - self.last_stamp_s
        problem = ""
        if age < -FUTURE_STAMP_TOLERANCE_S:
            problem = f"{spec.name}: newest data stamped {-age:.2f} s ahead of the clock"
        elif age > spec.max_age_s:
            why = f" (last rejected: {self.last_rejection})" if self.last_rejection else ""
            problem = f"{spec.name}: data {age:.2f} s old > {spec.max_age_s:g} s{why}"
        elif now_s - self.first_arrival_s >= RATE_WINDOW_S and rate < spec.min_rate_hz:
            problem = f"{spec.name}: {rate:.1f} Hz < {spec.min_rate_hz:g} Hz"
        return StreamStatus(spec.name, not problem, problem, rate, age, self.rejected)


# How long a step back of the clock stays a finding after it happened, s (on the stepped clock):
# long enough for the supervisor to latch a stop; the inputs then read as stamped in the future.
CLOCK_STEP_REPORT_S = 1.0


class ClockMonitor:
    """The receiver's own clock. Stepping back makes every input look stamped in the future while
    rate and age still read healthy; the step itself is a finding."""

    def __init__(self):
        self._last_s: float | None = None
        self.step_back_s = 0.0
        self._step_at_s = -math.inf

    def observe(self, now_s: float) -> None:
        if self._last_s is not None and now_s < self._last_s - FUTURE_STAMP_TOLERANCE_S:
            self.step_back_s, self._step_at_s = self._last_s - now_s, now_s
        self._last_s = now_s

    def problem(self, now_s: float) -> str:
        if self._step_at_s <= now_s < self._step_at_s + CLOCK_STEP_REPORT_S:
            return f"clock stepped back {self.step_back_s:.2f} s"
        return ""
