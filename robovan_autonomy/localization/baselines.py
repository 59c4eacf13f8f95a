"""Two single-source estimates, kept beside the fused one so a run report can show what fusion
buys: wheel odometry alone (speed and steering through the kinematic bicycle, never corrected
after its start) and GNSS alone (each fix, moved from the antenna to base_link along the course
over ground). Neither feeds the filter.

No rclpy here.
"""

from __future__ import annotations

import math

import numpy as np

MIN_COURSE_DISTANCE_M = 1.0  # fixes closer than this give no usable course (RTK σ is cm, float σ m)
MAX_COURSE_GAP_S = 1.0  # a course across a longer gap (an outage) cuts corners: start afresh


class WheelOdometry:
    """Dead reckoning from /vehicle/status: base_link integrated at the status rate."""

    def __init__(self, wheelbase_m: float):
        self.wheelbase_m = wheelbase_m
        self.pose: np.ndarray | None = None
        self.t_s = -math.inf
        self._last: tuple[float, float] | None = None  # speed, steer held since t_s

    def start(self, t_s: float, pose: np.ndarray) -> None:
        self.pose, self.t_s = np.array(pose, dtype=float), t_s

    def update(self, t_s: float, speed_mps: float, steer_rad: float) -> np.ndarray | None:
        if self.pose is not None and self._last is not None and t_s > self.t_s:
            speed, steer = self._last
            dt = t_s - self.t_s
            rate = speed * math.tan(steer) / self.wheelbase_m
            heading = self.pose[2] + 0.5 * rate * dt
            self.pose = self.pose + np.array(
                [speed * math.cos(heading) * dt, speed * math.sin(heading) * dt, rate * dt]
            )
            self.pose[2] = math.remainder(self.pose[2], math.tau)
        if t_s >= self.t_s:
            self.t_s, self._last = t_s, (speed_mps, steer_rad)
        return self.pose


class GnssOnly:
    """base_link from the antenna fix alone, heading from the course between distinct fixes."""

    def __init__(self, antenna_xy_m: tuple[float, float]):
        self.antenna_xy_m = antenna_xy_m
        self.yaw_rad: float | None = None
        self._anchor: tuple[float, np.ndarray] | None = None  # (stamp, antenna position)
        self._last_s = -math.inf

    def update(
        self, t_s: float, antenna_xy: np.ndarray, reverse: bool = False
    ) -> np.ndarray | None:
        """The pose for a new fix, None until a course is known."""
        xy = np.asarray(antenna_xy, dtype=float)
        if self._anchor is None or t_s - self._last_s > MAX_COURSE_GAP_S:
            self._anchor = (t_s, xy)
        elif np.hypot(*(xy - self._anchor[1])) >= MIN_COURSE_DISTANCE_M:
            delta = xy - self._anchor[1]
            self.yaw_rad = math.remainder(
                math.atan2(delta[1], delta[0]) + (math.pi if reverse else 0.0), math.tau
            )
            self._anchor = (t_s, xy)
        self._last_s = t_s
        if self.yaw_rad is None:
            return None
        lx, ly = self.antenna_xy_m
        c, s = math.cos(self.yaw_rad), math.sin(self.yaw_rad)
        return np.array([xy[0] - (c * lx - s * ly), xy[1] - (s * lx + c * ly), self.yaw_rad])
