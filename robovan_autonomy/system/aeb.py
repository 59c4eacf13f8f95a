"""Independent automatic emergency braking: raw LiDAR returns in the swept path of the command.

Deliberately shares nothing with perception or planning: no clustering, tracking, classes or
map. It sweeps the van's inflated footprint along the path the current command steers (kinematic
bicycle on the plan's steering by arc length), finds the first LiDAR returns that footprint would
touch, estimates how fast that gap closes from consecutive scans (the van's own speed for
something that just appeared, which is the static-obstacle assumption; faster only once two scan
pairs in a row agree, since the swept path itself moves when the command's steering changes) and
asks for an emergency stop when braking at EMERGENCY_DECEL_MPS2 after the reaction time would
only just stop short.

The path ends where the command ends: a command that stops before an obstacle does not sweep it,
so the AEB never fights a planner that is already stopping. Past a command that is still moving
at its end, the path goes on (straight) for as far as the van would need to stop.
Pure: no rclpy.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from robovan_autonomy.system.mrm import EMERGENCY_DECEL_MPS2
from robovan_autonomy.vehicle_params import VehicleParams

# Returns lower than this above the road are the road, kerbs (0.15 m) and debris a van rolls
# over, m.
GROUND_CLEARANCE_M = 0.3
# Returns this far above the roof are branches, signs and bridges the van passes under, m.
HEADROOM_M = 0.3
# Free space kept beside the body, m: mirrors stand out ~0.2 m, plus path-following error.
LATERAL_MARGIN_M = 0.3
# Returns needed to believe an obstacle: single returns are rain, dust or sensor noise.
MIN_POINTS = 3
# Spacing of the swept footprint poses, m: a pedestrian is 0.6 m deep.
PATH_STEP_M = 0.25
# From a return to brake force, s: one 0.1 s LiDAR frame, the decision and the brake's 0.08 s
# dead time plus 0.25 s lag.
REACTION_TIME_S = 0.5
# How far short of the obstacle the emergency stop must end, m.
STOP_MARGIN_M = 1.0
# Slower than this the van is stopping anyway; nothing to brake for, m/s.
MIN_SPEED_MPS = 0.5
# Two scans further apart than this do not give a closing speed, s (three 10 Hz frames).
MAX_TRACK_GAP_S = 0.3
# Fastest an obstacle may approach along the path, m/s: an oncoming car in town. A gap that
# shrinks faster is a different obstacle, not the same one closing.
MAX_OBSTACLE_SPEED_MPS = 15.0
# Footprint poses tested per vectorised batch: bounds the temporaries to a few MB.
POSE_BATCH = 32


@dataclasses.dataclass(frozen=True)
class AebConfig:
    rear_m: float  # rear bumper behind base_link
    front_m: float  # front bumper ahead of base_link
    half_width_m: float
    height_m: float
    wheelbase_m: float
    lateral_margin_m: float = LATERAL_MARGIN_M
    decel_mps2: float = EMERGENCY_DECEL_MPS2
    reaction_time_s: float = REACTION_TIME_S
    stop_margin_m: float = STOP_MARGIN_M

    @classmethod
    def from_vehicle(cls, vehicle: VehicleParams, **overrides) -> AebConfig:
        return cls(
            rear_m=vehicle.rear_overhang_m,
            front_m=vehicle.wheelbase_m + vehicle.front_overhang_m,
            half_width_m=vehicle.width_m / 2.0,
            height_m=vehicle.height_m,
            wheelbase_m=vehicle.wheelbase_m,
            **overrides,
        )

    def braking_distance_m(self, closing_mps: float) -> float:
        """Gap to stop short of something closing at closing_mps, braking after the reaction."""
        v = max(closing_mps, 0.0)
        return self.stop_margin_m + v * self.reaction_time_s + v * v / (2.0 * self.decel_mps2)


@dataclasses.dataclass(frozen=True)
class AebResult:
    stamp_s: float
    distance_m: float  # travel until the footprint touches a return within the command's path
    closing_mps: float  # how fast that gap shrinks
    ttc_s: float  # distance / closing speed
    trigger: bool  # brake now
    free_distance_m: float  # travel until the first contact along the path swept to min_length_m


def obstacle_points(points_base: np.ndarray, config: AebConfig) -> np.ndarray:
    """(N, 2) x, y of the returns (base_link) that stand between the road and the roof headroom,
    outside the van's own body."""
    xyz = np.asarray(points_base, dtype=float).reshape(-1, 3)
    z = xyz[:, 2]
    keep = (z >= GROUND_CLEARANCE_M) & (z <= config.height_m + HEADROOM_M)
    xy = xyz[keep, :2]
    own_body = (
        (xy[:, 0] >= -config.rear_m)
        & (xy[:, 0] <= config.front_m)
        & (np.abs(xy[:, 1]) <= config.half_width_m)
    )
    return xy[~own_body]


def swept_poses(
    path_s_m: np.ndarray, path_steer_rad: np.ndarray, length_m: float, wheelbase_m: float
) -> np.ndarray:
    """(K, 4) x, y, yaw, s of base_link every PATH_STEP_M along the path, from the van (0, 0, 0)
    to length_m. Past the end of a plan the path goes straight on: a planner's last steering is
    what costs it least at the end of its horizon, not an intention, and held over the metres of a
    braking distance it curled the sweep into the cars parked beside the lane. A one-point path
    (the van's own steering, no plan) is held: that is what the wheels do."""
    s = np.arange(0.0, max(length_m, 0.0) + PATH_STEP_M, PATH_STEP_M)
    past_end = 0.0 if len(path_s_m) > 1 else float(path_steer_rad[-1])
    steer = np.interp(s[:-1] + PATH_STEP_M / 2.0, path_s_m, path_steer_rad, right=past_end)
    curvature = np.tan(steer) / wheelbase_m
    yaw = np.concatenate(([0.0], np.cumsum(curvature * PATH_STEP_M)))
    mid_yaw = np.concatenate(([0.0], yaw[:-1] + 0.5 * np.diff(yaw)))
    x = np.concatenate(([0.0], np.cumsum(np.cos(mid_yaw[1:]) * PATH_STEP_M)))
    y = np.concatenate(([0.0], np.cumsum(np.sin(mid_yaw[1:]) * PATH_STEP_M)))
    return np.column_stack([x, y, yaw, s])


def contact_distances(obstacles_xy: np.ndarray, poses: np.ndarray, config: AebConfig) -> np.ndarray:
    """For each return, the path distance s at which the inflated footprint first covers it
    (inf where it never does)."""
    out = np.full(len(obstacles_xy), np.inf)
    if not len(obstacles_xy) or not len(poses):
        return out
    reach = config.front_m + config.lateral_margin_m + config.half_width_m
    lo, hi = poses[:, :2].min(axis=0) - reach, poses[:, :2].max(axis=0) + reach
    near = np.flatnonzero(np.all((obstacles_xy >= lo) & (obstacles_xy <= hi), axis=1))
    if not len(near):
        return out
    px, py = obstacles_xy[near, 0], obstacles_xy[near, 1]
    half = config.half_width_m + config.lateral_margin_m
    found = np.full(len(near), np.inf)
    for start in range(0, len(poses), POSE_BATCH):
        batch = poses[start : start + POSE_BATCH]
        c, s = np.cos(batch[:, 2])[:, None], np.sin(batch[:, 2])[:, None]
        dx, dy = px[None] - batch[:, 0:1], py[None] - batch[:, 1:2]
        along, across = c * dx + s * dy, -s * dx + c * dy
        inside = (
            (along >= -config.rear_m)
            & (along <= config.front_m + config.lateral_margin_m)
            & (np.abs(across) <= half)
        )
        hit = inside.any(axis=0) & ~np.isfinite(found)
        found[hit] = batch[np.argmax(inside[:, hit], axis=0), 3]
        if np.all(np.isfinite(found)):
            break
    out[near] = found
    return out


def nth_smallest(values: np.ndarray, n: int) -> float:
    """The n-th smallest value (1-based), inf when there are fewer: MIN_POINTS returns make
    an obstacle."""
    finite = values[np.isfinite(values)]
    return float(np.partition(finite, n - 1)[n - 1]) if len(finite) >= n else math.inf


class Aeb:
    """Remembers the last scan's gap so the next one gives a closing speed."""

    def __init__(self, config: AebConfig):
        self.config = config
        self._previous: tuple[float, float] | None = None  # (stamp, distance)
        self._previous_rate_mps: float | None = None  # the last scan pair's shrink rate

    def check(
        self,
        stamp_s: float,
        points_base: np.ndarray,
        path_s_m: np.ndarray,
        path_steer_rad: np.ndarray,
        command_length_m: float,
        speed_mps: float,
        min_length_m: float = 0.0,
    ) -> AebResult:
        """One scan (N, 3 in base_link) against the command's path: (s, steer) by arc length,
        command_length_m of it commanded (longer when the command ends moving). min_length_m:
        how far to look for free_distance_m (e.g. a comfortable stop's distance)."""
        cfg = self.config
        speed = abs(speed_mps) if math.isfinite(speed_mps) else 0.0
        length = max(command_length_m, min_length_m)
        poses = swept_poses(path_s_m, path_steer_rad, length, cfg.wheelbase_m)
        contacts = contact_distances(obstacle_points(points_base, cfg), poses, cfg)
        free = nth_smallest(contacts, MIN_POINTS)
        distance = nth_smallest(contacts[contacts <= command_length_m + PATH_STEP_M], MIN_POINTS)
        closing = self._closing_speed(stamp_s, distance, speed)
        self._previous = (stamp_s, distance) if math.isfinite(distance) else None
        ttc = distance / closing if closing > 0.0 and math.isfinite(distance) else math.inf
        trigger = (
            speed >= MIN_SPEED_MPS
            and math.isfinite(distance)
            and distance <= cfg.braking_distance_m(closing)
        )
        return AebResult(stamp_s, distance, closing, ttc, trigger, free)

    def _closing_speed(self, stamp_s: float, distance_m: float, speed_mps: float) -> float:
        """A gap shrinking no faster than the van drives is believed at once (a lead vehicle);
        faster, only when the scan pair before shrank as fast too: a single jump is the swept
        path swinging onto a nearer return when the steering changes, not an oncoming object."""
        previous, previous_rate = self._previous, self._previous_rate_mps
        self._previous_rate_mps = None
        if (
            not math.isfinite(distance_m)
            or previous is None
            or not 0.0 < stamp_s - previous[0] <= MAX_TRACK_GAP_S
        ):
            return speed_mps if math.isfinite(distance_m) else 0.0
        shrink = (previous[1] - distance_m) / (stamp_s - previous[0])
        if shrink > speed_mps + MAX_OBSTACLE_SPEED_MPS:
            return speed_mps
        self._previous_rate_mps = shrink
        if shrink <= speed_mps:
            return max(shrink, 0.0)
        if previous_rate is not None and previous_rate > speed_mps:
            return min(shrink, previous_rate)
        return speed_mps

    def command_length_m(self, plan_remaining_m: float, plan_end_speed_mps: float) -> float:
        """How far the command sweeps: its own path, plus what stopping from its end speed needs."""
        end_speed = plan_end_speed_mps if math.isfinite(plan_end_speed_mps) else 0.0
        extra = self.config.braking_distance_m(end_speed) if end_speed > MIN_SPEED_MPS else 0.0
        return max(plan_remaining_m, 0.0) + extra
