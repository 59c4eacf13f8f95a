"""What one behaviour step says, and how the MPC takes it: the states and events, the lateral
offset profile d(s), the decision, and the hand-over (reference path, obstacles, limits).
Shared by every rule set; depends on none of them."""

from __future__ import annotations

import dataclasses
import enum
import math

import numpy as np

from robovan_autonomy.planning import mpc
from robovan_autonomy.planning.behaviour.mission import MissionProgress
from robovan_autonomy.planning.prediction import Prediction
from robovan_autonomy.planning.route import AdjacentKind, ReferencePath
from robovan_autonomy.planning.speed_limits import SpeedLimit, SpeedProfile
from robovan_autonomy.vehicle.command_limits import MAX_JERK_FALL_MPS3

# What beyond the own lane's left bound a pass may use (a bay on the left is not a lane).
PASSABLE_ADJACENT_KINDS = (AdjacentKind.ONCOMING, AdjacentKind.SAME_DIRECTION)


class State(str, enum.Enum):
    CRUISE = "CRUISE"
    FOLLOW = "FOLLOW"
    APPROACH_STOP = "APPROACH_STOP"
    DWELL_AT_BAY = "DWELL_AT_BAY"
    STOP_LINE_WAIT = "STOP_LINE_WAIT"
    TRAFFIC_LIGHT_WAIT = "TRAFFIC_LIGHT_WAIT"
    YIELD_CROSSWALK = "YIELD_CROSSWALK"
    STOP_FOR_OBSTACLE = "STOP_FOR_OBSTACLE"
    PASS_OBSTACLE = "PASS_OBSTACLE"
    MISSION_COMPLETE = "MISSION_COMPLETE"


class EventKind(str, enum.Enum):
    ARRIVED = "ARRIVED"  # name, position_error_m, within_tolerance
    DWELL_FINISHED = "DWELL_FINISHED"  # name
    MISSION_COMPLETE = "MISSION_COMPLETE"
    STOP_LINE_CLEARED = "STOP_LINE_CLEARED"  # name (the intersection)
    REROUTE_REQUESTED = "REROUTE_REQUESTED"  # lanelet_id blocked, x_m / y_m of the blockage


@dataclasses.dataclass(frozen=True)
class BehaviourEvent:
    kind: EventKind
    t_s: float
    name: str = ""
    position_error_m: float = math.nan
    within_tolerance: bool = False
    lanelet_id: int = -1
    x_m: float = math.nan
    y_m: float = math.nan


# --- the lateral offset profile d(s) -------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class OffsetPlateau:
    """0 before s0; a half-cosine up to d_m at s1; d_m until s2; a half-cosine back to 0 at s3.
    s0 = s1 = -inf means "d_m from the start" (a ramp back after a stop), s2 = s3 = +inf "d_m on".

    use_adjacent: over [s0, s3] the corridor on the side of d_m includes what lies beyond the own
    lane there: a same-direction or oncoming lane on the left, a delivery bay on the right.
    """

    s0_m: float
    s1_m: float
    s2_m: float
    s3_m: float
    d_m: float
    use_adjacent: bool

    def limit(self, speed_mps: float, reason: str) -> SpeedLimit:
        """Drive the whole plateau, ramps included, at speed_mps at most."""
        return SpeedLimit(self.s0_m, self.s3_m, speed_mps, reason)

    def at(self, s_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Offset d(s) and slope dd/ds."""
        s = np.asarray(s_m, dtype=float)
        d, slope = np.zeros_like(s), np.zeros_like(s)
        for a, b, rising in ((self.s0_m, self.s1_m, True), (self.s2_m, self.s3_m, False)):
            if not (math.isfinite(a) and b > a):
                continue
            on = (s > a) & (s < b)
            phase = math.pi * (s[on] - a) / (b - a)
            sign = 1.0 if rising else -1.0
            d[on] = self.d_m * (1.0 - sign * np.cos(phase)) / 2.0
            slope[on] = sign * self.d_m * math.pi * np.sin(phase) / (2.0 * (b - a))
        d[(s >= self.s1_m) & (s <= self.s2_m)] = self.d_m
        return d, slope


@dataclasses.dataclass(frozen=True)
class LateralOffsetProfile:
    """Reference offset from the path, left positive: the sum of plateaus, which do not overlap."""

    plateaus: tuple[OffsetPlateau, ...] = ()

    def at(self, s_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s = np.asarray(s_m, dtype=float)
        d, slope = np.zeros_like(s), np.zeros_like(s)
        for plateau in self.plateaus:
            dp, sp = plateau.at(s)
            d, slope = d + dp, slope + sp
        return d, slope

    def offset_m(self, s_m: np.ndarray) -> np.ndarray:
        return self.at(s_m)[0]

    def adjacent_use(self, s_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where the corridor may include the adjacent space: (left mask, right mask)."""
        s = np.asarray(s_m, dtype=float)
        left, right = np.zeros(s.shape, bool), np.zeros(s.shape, bool)
        for p in self.plateaus:
            if p.use_adjacent:
                inside = (s >= p.s0_m) & (s <= p.s3_m)
                (left if p.d_m > 0.0 else right)[inside] = True
        return left, right


# --- the output ----------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class BehaviourDecision:
    """What the MPC gets (see mpc_reference_path / mpc_obstacles / mpc_limits for the mapping).

    s_stop_front_m: arc length the FRONT BUMPER must not pass, never less than the bumper's arc
        length now: a stop point at the bumper means "stop now, as hard as min_accel_mps2 allows".
        s_stop_rear_axle_m is the same limit for base_link (s_stop_front_m - front_bumper_m).
    s_stop_front_per_stage_m: (N + 1,) the limit per horizon stage; it moves with a lead's
        predicted position, and s_stop_front_m is its last entry.
    speed_limits: where the van may go how fast, on top of the route's limit, and why; s_van_m
        is base_link's arc length when decided (speed_cap_mps: the cap there).
    min_accel_mps2: braking the MPC may use; the comfort limit unless the stop point needs more.
    offset: lateral reference offset d(s) and the corridor it may use.
    obstacles: predicted objects near the path, nearest first.
    """

    t_s: float
    state: State
    reason: str
    s_stop_front_m: float
    s_stop_rear_axle_m: float
    s_stop_front_per_stage_m: np.ndarray
    s_van_m: float
    speed_limits: SpeedProfile
    min_accel_mps2: float
    offset: LateralOffsetProfile
    obstacles: Prediction
    events: tuple[BehaviourEvent, ...]
    progress: MissionProgress

    @property
    def speed_limit(self) -> tuple[float, str]:
        """The cap on the van's speed where it is now, and why (inf, '' when none)."""
        return self.speed_limits.binding(self.s_van_m, mpc.STOP_PROFILE_DECEL_MPS2)

    @property
    def speed_cap_mps(self) -> float:
        return self.speed_limit[0]


# --- hand-over to the MPC -----------------------------------------------------------------------
def mpc_reference_path(
    path: ReferencePath,
    decision: BehaviourDecision,
    s_range_m: tuple[float, float] = (-math.inf, math.inf),
) -> mpc.TrackingPath:
    """The route's path as the MPC should track it under this decision, over s_range_m (the
    stretch a plan can reach: a whole route is thousands of samples).

    Samples keep the route's arc length s (so s_stop stays valid) but move sideways by d(s), turn
    by the ramp's slope, and carry the corridor measured from the moved reference: the own lane,
    plus the adjacent lane (left) or the delivery bay (right) where the profile may use them.
    The speed to track, and never to exceed, is the route's limit capped by the decision's speed
    limits, each reached braking along the MPC's stop profile (or its own approach).
    """
    span = slice(max(path.index_at(s_range_m[0]) - 1, 0), path.index_at(s_range_m[1]) + 1)
    s = path.s_m[span]
    d, slope = decision.offset.at(s)
    yaw = path.yaw_rad[span]
    x, y = path.x_m[span] - np.sin(yaw) * d, path.y_m[span] + np.cos(yaw) * d
    heading = np.unwrap(yaw + np.arctan2(slope, 1.0 - path.curvature_1pm[span] * d))
    moved = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(x), np.diff(y)))])
    kappa = np.gradient(heading, moved) if len(s) > 1 else np.zeros_like(s)
    use_left, use_right = decision.offset.adjacent_use(s)
    left_extra = np.where(
        use_left & np.isin(path.left_adjacent_kind[span], PASSABLE_ADJACENT_KINDS),
        path.left_adjacent_width_m[span],
        0.0,
    )
    right_extra = np.where(
        use_right & (path.right_adjacent_kind[span] == AdjacentKind.DELIVERY_BAY),
        path.right_adjacent_width_m[span],
        0.0,
    )
    max_speed = np.minimum(
        path.speed_limit_mps[span], decision.speed_limits.cap_mps(s, mpc.STOP_PROFILE_DECEL_MPS2)
    )
    return mpc.TrackingPath(
        s_m=s,
        x_m=x,
        y_m=y,
        yaw_rad=heading,
        kappa_1pm=kappa,
        speed_mps=max_speed,
        max_speed_mps=max_speed,
        left_width_m=path.left_width_m[span] + left_extra - d,
        right_width_m=path.right_width_m[span] + right_extra + d,
    )


def mpc_obstacles(decision: BehaviourDecision) -> mpc.ObstacleSet:
    """Predicted boxes as the MPC's ellipses (semi-axes half the box; the MPC grows them)."""
    p = decision.obstacles
    return mpc.ObstacleSet(p.x_m, p.y_m, p.yaw_rad, p.length_m / 2.0, p.width_m / 2.0)


def mpc_limits(decision: BehaviourDecision) -> mpc.MotionLimits:
    """Comfort limits; an emergency stop (braking beyond comfort) may also put the brake on as
    fast as the bridge lets it, instead of at the comfort jerk."""
    emergency = decision.min_accel_mps2 < mpc.COMFORT_MIN_ACCEL_MPS2
    jerk = MAX_JERK_FALL_MPS3 if emergency else mpc.COMFORT_JERK_MPS3
    return mpc.MotionLimits(min_accel_mps2=decision.min_accel_mps2, max_jerk_mps3=jerk)
