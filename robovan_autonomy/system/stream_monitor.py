"""Rate, age and validity of one input stream, judged in stamp order. Pure: no rclpy.

A message counts when it decodes, is not stamped in the future and is newer than the last one
counted. The stream is healthy while its newest counted stamp is recent (data age: catches a
silent source and a clock that jumped away from the data) and, once it has run for a whole
window, while enough messages arrived in the last window (rate: catches a source that stutters).
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
    the stack is only degraded (a warning)."""

    name: str
    min_rate_hz: float
    max_age_s: float
    critical: bool = True


@dataclasses.dataclass(frozen=True)
class StreamStatus:
    name: str
    ok: bool
    problem: str
    rate_hz: float
    age_s: float
    rejected: int


class StreamMonitor:
    def __init__(self, spec: StreamSpec):
        self.spec = spec
        self.last_stamp_s: float | None = None
        self.first_arrival_s: float | None = None
        self.rejected = 0
        self.last_rejection = ""
        self._arrivals: collections.deque[float] = collections.deque()

    def accept(self, stamp_s: float, now_s: float) -> str:
        """Count a decoded message stamped stamp_s arriving at now_s; '' when counted, else why not."""
        if not math.isfinite(stamp_s):
            return self.reject("non-finite stamp")
        if stamp_s > now_s + FUTURE_STAMP_TOLERANCE_S:
            return self.reject(f"stamped {stamp_s - now_s:.3f} s in the future")
        if self.last_stamp_s is not None and stamp_s <= self.last_stamp_s:
            return self.reject(f"stamp {stamp_s:.3f} s not after the last one {self.last_stamp_s:.3f} s")
        self.last_stamp_s = stamp_s
        if self.first_arrival_s is None:
            self.first_arrival_s = now_s
        self._arrivals.append(now_s)
        return ""

    def reject(self, reason: str) -> str:
        """Count a message that could not be used (also for decode errors)."""
        self.rejected += 1
        self.last_rejection = reason
        return reason

    def status(self, now_s: float) -> StreamStatus:
        spec = self.spec
        while self._arrivals and self._arrivals[0] < now_s - RATE_WINDOW_S:
            self._arrivals.popleft()
        rate = len(self._arrivals) / RATE_WINDOW_S
        if self.last_stamp_s is None:
            why = f"; last rejected: {self.last_rejection}" if self.last_rejection else ""
            return StreamStatus(spec.name, False, f"{spec.name}: nothing received{why}", 0.0, math.inf,
                                self.rejected)
        age = now_s - self.last_stamp_s
        problem = ""
        if age > spec.max_age_s:
            why = f" (last rejected: {self.last_rejection})" if self.last_rejection else ""
            problem = f"{spec.name}: data {age:.2f} s old > {spec.max_age_s:g} s{why}"
        elif now_s - self.first_arrival_s >= RATE_WINDOW_S and rate < spec.min_rate_hz:
            problem = f"{spec.name}: {rate:.1f} Hz < {spec.min_rate_hz:g} Hz"
        return StreamStatus(spec.name, not problem, problem, rate, age, self.rejected)
