"""The command plan that travels on /planning/command and /control/command, as plain numpy.

A pure module (no rclpy) so that algorithm cores (the command gate, minimal-risk manoeuvres, the
AEB, the bridge's follower) can build and read plans; interfaces.py encodes it as a
trajectory_msgs/JointTrajectory and re-exports it.

Time base: `stamp_s` is the stamp of the oldest sensor data the plan was computed from, so every
consumer can judge how old the plan's inputs are and the report can measure latency from sensor
to CAN frame. Point i applies at the absolute time stamp_s + time_from_start_s[i]; point 0 is
when the plan starts (time_from_start_s[0] ≥ 0, later than the stamp by the producer's latency).
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass
class ControlPlan:
    """A command plan: steering and longitudinal commands over time, from the stamp on.

    The drive joint's position carries the arc length travelled along the plan, so the
    bridge can follow the plan through short gaps and the AEB can sweep its path. `sequence`
    numbers the command gate's plans on /control/command (+1 each), so the bridge can tell the
    gate's commands from a second writer's; plans on /planning/command carry none.
    """

    stamp_s: float
    time_from_start_s: np.ndarray
    steer_rad: np.ndarray
    steer_rate_radps: np.ndarray
    speed_mps: np.ndarray
    accel_mps2: np.ndarray
    distance_m: np.ndarray | None = None
    sequence: int | None = None

    def __post_init__(self):
        if self.distance_m is None:
            dt = np.diff(self.time_from_start_s, prepend=self.time_from_start_s[:1])
            self.distance_m = np.cumsum(self.speed_mps * dt)

    @property
    def start_s(self) -> float:
        """Absolute time of point 0."""
        return self.stamp_s + float(self.time_from_start_s[0])

    @property
    def end_s(self) -> float:
        """Absolute time of the last point."""
        return self.stamp_s + float(self.time_from_start_s[-1])

    def at(self, t_s: float, values: np.ndarray) -> float:
        """One of the plan's per-point arrays, interpolated at absolute time t_s
        (held at the ends)."""
        return float(np.interp(t_s - self.stamp_s, self.time_from_start_s, values))

    def remaining_path(self, t_s: float) -> tuple[np.ndarray, np.ndarray]:
        """(arc length from where the van is at t_s, steering) of the plan's points after t_s,
        starting with the point at t_s itself: the geometry still ahead of the van."""
        s_now = self.at(t_s, self.distance_m)
        later = self.stamp_s + self.time_from_start_s > t_s
        s = np.concatenate(([0.0], self.distance_m[later] - s_now))
        steer = np.concatenate(([self.at(t_s, self.steer_rad)], self.steer_rad[later]))
        return np.maximum.accumulate(np.maximum(s, 0.0)), steer
