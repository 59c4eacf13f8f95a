"""The delivery behaviour: what the van should do now, said as limits the MPC can take.

`BehaviourPlanner.step` runs at 10 Hz with the van's pose and arc length on the route's
ReferencePath, the object table and the mission progress. It returns a BehaviourDecision: a state
name for people and logs, and for the MPC a stop point, speed limits along the path (each with its
reason: speed_limits.py), a lateral offset profile d(s) (for passing and for pulling into and out
of a bay), the corridor that profile may use, the predicted objects, and events for the mission
layer (arrived, dwell finished, mission complete, reroute request).

Arc lengths. `s_van_m` is the arc length of base_link (the rear-axle centre), as the MPC tracks it.
The front bumper is front_bumper_m = wheelbase + front overhang ahead of it. Every stop limit in
here is the arc length the FRONT BUMPER must not pass, which is what MpcPlanner.solve(s_stop_m=…)
takes; BehaviourDecision also gives it for the rear axle.

How one step decides, top to bottom:
1. Mission: at a bay the van dwells and holds; after the last stop it holds for good.
2. Objects are predicted (CV / CTRV) and put in the path frame; each is judged, with hysteresis,
   in the van's path or not, a lead moving along it or not, a static blockage (still > 3 s) or not.
3. Passing: a static blockage in the own lane is passed inside the corridor; the oncoming lane is
   used only when no one will be in it over the pass. Otherwise the van waits, and after a long
   wait asks for a reroute.
4. Limits: every reason to stop (bay, stop line, crosswalk, obstacle, lead, a pedestrian or
   cyclist heading into the path, end of the route) gives a front-bumper arc length; the nearest
   one binds and names the state. Speed limits: bay ramps and passes are driven slowly, people
   close beside the path ahead and a view blocked by something standing in the roadway cap the
   speed where the van passes them, a lead caps it to keep the time gap.
5. Standstill: a stopped van's stop point does not creep forward on perception jitter.

Hysteresis, everywhere: a reason to stop or slow acts at once; it is dropped only after its release
condition has held for RELEASE_HOLD_S, and thresholds have separate enter and leave values. Going
(at a stop line, or into a pass) likewise needs its condition to hold for a confirmation time.
"""
from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Hashable, Mapping

import numpy as np

from robovan_autonomy.geometry import points_in_polygon
from robovan_autonomy.perception.classes import ObjectClass
from robovan_autonomy.planning import mpc
from robovan_autonomy.planning.prediction import (TRACK_FORGET_AFTER_S, Horizon, PathCoordinates,
                                                  Prediction, TurnRateEstimator, predict_objects,
                                                  project_to_path)
from robovan_autonomy.planning.route import AdjacentKind, Pose2D, ReferencePath, RouteStop
from robovan_autonomy.planning.speed_limits import SpeedLimit, SpeedProfile, occlusion_limits
from robovan_autonomy.vehicle.command_limits import MAX_JERK_FALL_MPS3
from robovan_autonomy.vehicle_params import VehicleParams

# --- standstill, timing and hysteresis ----------------------------------------------------------
# Below this speed the van stands still: the traffic-law "full stop" of the brief.
STANDSTILL_SPEED_MPS = 0.1
# A full stop at a stop line lasts at least this long, s (brief).
FULL_STOP_S = 1.0
# A reason to stop must be gone this long before it is dropped, s: ten object tables, so one
# missed detection or a jittering box never releases the van, and no state chatters.
RELEASE_HOLD_S = 1.0
# The intersection must look clear this long before the van leaves a stop line, s: five tables.
INTERSECTION_CLEAR_CONFIRM_S = 0.5
# A pass must look possible this long before the van commits to it, s.
PASS_CONFIRM_S = 1.0
# Standing this long within ARRIVAL_WINDOW_M of a bay is arriving there, s: brake and pose settle.
ARRIVAL_SETTLE_S = 0.5
# At standstill the stop point moves forward only by more than this, m: a lead or obstacle whose
# box jitters by decimetres must not make the van creep, and a creeping queue is followed in
# steps no shorter than this.
RESUME_DEADBAND_M = 1.0

# --- delivery bays ------------------------------------------------------------------------------
# Standing with base_link at most this far before the bay's stop pose is arriving, m: the stop
# point forbids passing it, so only a stop this close is meant for the bay.
ARRIVAL_WINDOW_M = 1.0
# Stop position error allowed at a bay, m (brief); reported with every arrival.
STOP_POSITION_TOLERANCE_M = 0.30
# Peak curvature of the ramp into or out of a bay, 1/m: radius 10 m, 2.3 times the van's tightest
# (4.4 m), so the MPC has steering left to correct; a 3 m shift then takes ~12 m.
BAY_RAMP_CURVATURE_1PM = 0.1
# Speed cap while on a ramp into or out of a bay, m/s: 0.9 m/s² lateral on the 10 m radius.
BAY_SPEED_CAP_MPS = 3.0
# The ramp into a bay reaches the bay's offset this far before the stop pose, m: the van arrives
# straight and settled on it instead of still turning (about two van lengths of the MPC's
# lateral response at the 1–2 m/s of the last metres). The map keeps the strip before each bay
# free of parked cars for the ramp (DeliveryBay.approach_m).
BAY_SETTLE_M = 3.0
# Standing further than this off the reference (after a dwell, or when starting in a bay), the
# van gets a ramp back onto it, m; smaller offsets are MPC tracking error.
DEPARTURE_MIN_OFFSET_M = 0.3
# A mission stop's pose is matched to the path within this arc length of its route stop, m.
BAY_MATCH_WINDOW_M = 20.0

# --- stop lines and intersections ---------------------------------------------------------------
# Front bumper this far before the stop line, m: the 0.4 m painted line stays uncovered.
STOP_LINE_SETBACK_M = 0.5
# Standing within this of the stop-line limit is standing at the line (not queued behind it), m.
STOP_LINE_REACHED_M = 1.0
# Path beyond the stop line where the van meets cross traffic, m: in this district 6 m to the
# box, the 20 m box and the far crosswalk.
CONFLICT_ZONE_LENGTH_M = 30.0
# An object this close to that path is in the intersection, m: about a lane's width.
CONFLICT_OCCUPIED_M = 3.0
# Objects nearer than this to the conflict zone and moving toward it keep it busy, m (brief).
CONFLICT_WATCH_RADIUS_M = 30.0
# Faster traffic counts from farther out: the van needs about this long to clear the zone from
# standstill (30 m at 1.5 m/s²), s.
CROSSING_TIME_S = 6.0
# Slower than this toward the zone is waiting or creeping, not coming, m/s.
MIN_CLOSING_SPEED_MPS = 0.5

# --- crosswalks -------------------------------------------------------------------------------
# A pedestrian or cyclist this close to a crosswalk and heading to it is yielded to, m (brief);
# it is let go only beyond CROSSWALK_LEAVE_M (hysteresis) or once it walks away.
CROSSWALK_NEAR_M = 2.0
CROSSWALK_LEAVE_M = 3.0
# Moving toward the crosswalk faster than this is heading to it, m/s: a person standing at the
# kerb is not, a slow walker (~0.8 m/s) is.
HEADING_TO_SPEED_MPS = 0.3
# Front bumper this far before a crosswalk's near edge when yielding, m.
CROSSWALK_SETBACK_M = 1.0
# Crosswalks farther ahead of the front bumper are not judged yet, m.
CROSSWALK_LOOKAHEAD_M = 60.0
# If stopping before the crosswalk needs more than this, the van is committed and goes on, m/s²:
# the MPC's comfort braking. (Anyone actually in its path still stops it as an obstacle.)
MAX_YIELD_DECEL_MPS2 = -mpc.COMFORT_MIN_ACCEL_MPS2

# --- objects in the path, leads -----------------------------------------------------------------
# An object whose box comes laterally closer than this to the van's swept band is in its path, m;
# it leaves the path only beyond IN_PATH_LEAVE_M. Both exceed the MPC's 0.3 m clearance, so the
# behaviour never waits for something the MPC would squeeze past, nor the other way round.
IN_PATH_ENTER_M = 0.5
IN_PATH_LEAVE_M = 0.8
# Predicted positions up to this far ahead count for "in the path", s: someone stepping in.
PATH_CONFLICT_HORIZON_S = 2.0
# A pedestrian or cyclist whose prediction reaches the van's path later in the horizon (not yet
# within PATH_CONFLICT_HORIZON_S) is yielded to: the van stops STANDSTILL_GAP_M short of where
# they would enter, if it can at comfort braking (MAX_YIELD_DECEL_MPS2), or, harder, if it would
# not be past before they step in (else it is committed and the in-path check stops it, hard if
# need be, once they are in the way). Braking for someone
# heading into the road before they get there, not an emergency stop once they are in it (a
# jaywalker stepping out between parked cars).
CAUTION_CLASSES = frozenset({ObjectClass.PEDESTRIAN, ObjectClass.CYCLIST})
# Too close to stop gently for such a person, the van goes on only if it is past where they step
# in this long before they do (their speed, as perception first gives it, is often low), s.
CLEAR_MARGIN_S = 1.0
# … and when they would step in is judged at this speed at least, m/s: someone setting off walks at
# 1.2–1.5 m/s within a second, while a tracker's estimate of them lags behind by about as long.
WALKING_PACE_MPS = 1.2
# A pedestrian or cyclist ahead this close beside the van's band, and not walking away from it, is
# passed at no more than KERBSIDE_SPEED_MPS (reached braking gently, as for a bay): someone at the
# kerb may step out between parked cars, and by the time a tracker believes they walk, a van at
# 40 km/h is too close to stop short of where they step in.
KERBSIDE_GAP_M = 5.5
KERBSIDE_SPEED_MPS = 6.0
# Front bumper at least this far behind an obstacle or a lead at standstill, m (brief).
STANDSTILL_GAP_M = 4.0
# Time gap to a lead, s (brief): the gap is STANDSTILL_GAP_M + TIME_GAP_S · own speed.
TIME_GAP_S = 1.5
# Extra gap to a stopped obstacle per m/s of own speed, s: more margin at speed (brief) without
# the late, hard braking a full time gap behind a standing object would ask for.
OBSTACLE_GAP_TIME_S = 0.5
# Along-path speed that makes an in-path object a lead (FOLLOW), and below which it stops being
# one, m/s; between the two it keeps its role.
LEAD_ENTER_SPEED_MPS = 1.0
LEAD_LEAVE_SPEED_MPS = 0.5
# Following: speed below the lead's per metre the gap is short (and above per metre it is long),
# as 1 / this time, s: the gap closes smoothly in a few seconds.
GAP_CLOSING_TIME_S = 3.0
# Objects are put in the path frame over this window around base_link, m: behind, the mirrors'
# reach (MIRROR_LOOKBACK_M behind the rear bumper).
OBJECT_WINDOW_BEHIND_M = 55.0
OBJECT_WINDOW_AHEAD_M = 150.0
# Objects farther than this from the van are not looked at, m: the window ahead plus 60 m that a
# 50 km/h road user covers over the horizon. Most of the district's parked cars lie beyond it,
# and predicting and projecting them was most of a step's time.
OBJECT_RANGE_M = OBJECT_WINDOW_AHEAD_M + 60.0
# Objects handed to the MPC: within this lateral distance of the path at some stage, m (own and
# oncoming lane, parking strip and kerb); the MPC keeps the nearest few. Not those the van stops
# or follows behind (limits keyed by these), whose stop point keeps it clear of them.
MPC_OBJECT_LATERAL_M = 10.0
STOP_FOR_KEYS = ("obstacle", "lead", "caution")
# Mirrors: before its band moves sideways into the line of someone coming up behind or alongside
# (a cyclist overtaking on the right as the van turns into a bay, a car in the lane the van pulls
# out into), the van lets them by: it stops short of where its band would first meet their line.
# Looked at this far behind its rear bumper, m, for road users this fast along the path, m/s, who
# would reach that point no later than MIRROR_CLEAR_S after the van (at its speed now or its speed
# limit there, whichever is lower, at least MIRROR_MIN_SPEED_MPS): the time to finish the move (a
# bay's ramp at its 3 m/s). Their line is their box now, widened by IN_PATH_ENTER_M each side.
MIRROR_LOOKBACK_M = 50.0
MIRROR_MIN_SPEED_MPS = 1.0
MIRROR_CLEAR_S = 5.0
MIRROR_STEP_M = 0.5             # the band is looked at this finely ahead of the front bumper, m
MIRROR_LOOKAHEAD_M = 40.0

# --- static blockages and passing ---------------------------------------------------------------
# Brief: slower than 0.3 m/s for more than 3 s, a car, van or static object, is a blockage; the
# stillness timer restarts only above BLOCKAGE_MOVING_SPEED_MPS (hysteresis on tracker noise).
BLOCKAGE_MAX_SPEED_MPS = 0.3
BLOCKAGE_MOVING_SPEED_MPS = 0.6
BLOCKAGE_STILL_S = 3.0
BLOCKAGE_CLASSES = frozenset({ObjectClass.CAR, ObjectClass.VAN_TRUCK, ObjectClass.STATIC})
# Whatever stands in the lane and may turn out to be a blockage (an unlabelled LiDAR cluster far
# ahead, before the camera names it): the van already waits where it could pull out around it.
MAYBE_BLOCKAGE_CLASSES = BLOCKAGE_CLASSES | {ObjectClass.UNKNOWN}
# What beyond the own lane's left bound a pass may use (a bay on the left is not a lane).
PASSABLE_ADJACENT_KINDS = (AdjacentKind.ONCOMING, AdjacentKind.SAME_DIRECTION)
# Side gap kept to a passed blockage, m: a door opening, a person stepping out.
PASS_LATERAL_CLEARANCE_M = 1.0
# The full offset is reached this far before the front bumper meets the blockage, and held until
# the rear bumper is this far past it, m.
PASS_LONGITUDINAL_CLEARANCE_M = 2.0
# The van's side stays this far inside the corridor's edge while passing, m: MPC tracking error.
CORRIDOR_MARGIN_M = 0.3
# Ramps out and back are at least this long, m (brief), and longer when the lateral acceleration
# on a half-cosine ramp at PASS_SPEED_CAP_MPS would exceed PASS_RAMP_LATERAL_ACCEL_MPS2.
PASS_MIN_RAMP_M = 15.0
PASS_RAMP_LATERAL_ACCEL_MPS2 = 1.0
# Standing close behind a blockage, the van pulls out on a shorter ramp, as a driver does at
# walking pace: its peak curvature π² d / (2 L²) stays under this (a 6.7 m radius, two thirds of
# the steering lock), and the ramp is driven slowly enough to keep PASS_RAMP_LATERAL_ACCEL_MPS2.
PASS_PULL_OUT_MAX_CURVATURE_PER_M = 0.15
# Left standing closer still (a pass given up for oncoming traffic seen late), the van gets out as a
# driver does from a tight spot: from standstill, at a crawl, on up to nine tenths of the steering
# lock (a 5 m radius), reaching its offset this close to the blockage, m. Waiting for a parked van
# to move would be a deadlock.
PASS_TIGHT_PULL_OUT_CURVATURE_PER_M = 0.2
PASS_TIGHT_CLEARANCE_M = 0.5
# Speed cap while passing, m/s (18 km/h): someone may step out from behind the blockage.
PASS_SPEED_CAP_MPS = 5.0
# Acceleration assumed when timing a pass, m/s²: gentle, so the estimate is on the long side.
PASS_TIMING_ACCEL_MPS2 = 1.0
# The pass must be over this long before oncoming traffic could reach it, s.
PASS_TIME_MARGIN_S = 3.0
# Something standing in the roadway reaching this far into a lane blocks the view past it, m
# (parked cars in the kerbside strip reach at most a few centimetres over its edge).
ROADWAY_OVERLAP_M = 0.3
# Blockages closer together than this are passed as one, m: no room to return in between.
PASS_MERGE_GAP_M = 2.0 * (PASS_MIN_RAMP_M + PASS_LONGITUDINAL_CLEARANCE_M)
# The own lane must be free this far beyond the ramp back, m: no pass into a queue.
PASS_RETURN_FREE_M = 10.0
# Where a pass is possible but must wait (for traffic, or to see that a standing vehicle is
# parked), the van stops far enough back for the pull-out ramp and this much more, m (where it
# stops is only as exact as the tracked rear edge).
PASS_READY_MARGIN_M = 1.0
# Short of that point, the van waiting to pass stops braking this hard, m/s² (comfort, below the
# 3.5 m/s² of a hard brake), and stays where it stopped.
PASS_WAIT_DECEL_MPS2 = 2.5
# Standing this long at a blockage that cannot be passed raises a reroute request, s.
REROUTE_AFTER_S = 20.0

# --- arbitration --------------------------------------------------------------------------------
# A limit names the state once it is within braking distance (at the MPC's stop-profile decel)
# plus this margin, m; it stops naming it beyond APPROACH_LEAVE_MARGIN_M.
APPROACH_MARGIN_M = 20.0
APPROACH_LEAVE_MARGIN_M = 25.0
# Another limit takes over the state only when it is nearer by more than this, m.
BINDING_SWITCH_MARGIN_M = 0.5


class State(str, enum.Enum):
    CRUISE = "CRUISE"
    FOLLOW = "FOLLOW"
    APPROACH_STOP = "APPROACH_STOP"
    DWELL_AT_BAY = "DWELL_AT_BAY"
    STOP_LINE_WAIT = "STOP_LINE_WAIT"
    YIELD_CROSSWALK = "YIELD_CROSSWALK"
    STOP_FOR_OBSTACLE = "STOP_FOR_OBSTACLE"
    PASS_OBSTACLE = "PASS_OBSTACLE"
    MISSION_COMPLETE = "MISSION_COMPLETE"


class EventKind(str, enum.Enum):
    ARRIVED = "ARRIVED"                      # name, position_error_m, within_tolerance
    DWELL_FINISHED = "DWELL_FINISHED"        # name
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


# --- the mission ---------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class MissionStop:
    """A delivery stop: where base_link must stand (map frame) and for how long."""

    name: str
    dwell_s: float
    stop_pose: Pose2D

    @classmethod
    def at_bay(cls, name: str, dwell_s: float, bay_pose: Pose2D, vehicle: VehicleParams) -> MissionStop:
        """From a map bay pose (DistrictMap.bays[name].bay_pose: the van's footprint centre goes
        there) to the base_link pose, half a body length minus the rear overhang behind it."""
        x, y, yaw = bay_pose
        back = vehicle.length_m / 2.0 - vehicle.rear_overhang_m
        return cls(name, dwell_s, (x - back * math.cos(yaw), y - back * math.sin(yaw), yaw))


@dataclasses.dataclass(frozen=True)
class MissionProgress:
    """The ordered stops and how many are served. Feed each decision's `progress` to the next step."""

    stops: tuple[MissionStop, ...]
    served: int = 0

    @property
    def complete(self) -> bool:
        """Every stop served. An empty mission is never complete: the van drives its route to the end."""
        return bool(self.stops) and self.served >= len(self.stops)

    @property
    def next_stop(self) -> MissionStop | None:
        return self.stops[self.served] if self.served < len(self.stops) else None

    def advanced(self) -> MissionProgress:
        return dataclasses.replace(self, served=self.served + 1)


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


# --- hysteresis -----------------------------------------------------------------------------------
class _Latch:
    """Conditions that switch on at once and off only after their release held for hold_s."""

    def __init__(self, hold_s: float):
        self.hold_s = hold_s
        self._on: dict[Hashable, float | None] = {}  # key → when its release began (None: held)
        self._seen: set[Hashable] = set()

    def update(self, t_s: float, key: Hashable, enter: bool, stay: bool) -> bool:
        self._seen.add(key)
        if enter or (key in self._on and stay):
            self._on[key] = None
            return True
        if key not in self._on:
            return False
        released_at = t_s if self._on[key] is None else self._on[key]
        if t_s - released_at >= self.hold_s:
            del self._on[key]
            return False
        self._on[key] = released_at
        return True

    def on(self, key: Hashable) -> bool:
        return key in self._on

    def releasing(self, key: Hashable) -> bool:
        """On only because its release has not held long enough yet."""
        return self._on.get(key) is not None

    def sweep(self, t_s: float) -> None:
        """Release keys nobody asked about this step (an object that vanished)."""
        for key in [k for k in self._on if k not in self._seen]:
            self.update(t_s, key, False, False)
        self._seen.clear()


class _Timer:
    """How long a condition has held without a break."""

    def __init__(self) -> None:
        self.since: float | None = None

    def update(self, t_s: float, condition: bool) -> float:
        if not condition:
            self.since = None
            return 0.0
        self.since = t_s if self.since is None else self.since
        return t_s - self.since


# --- objects in the path frame ------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class _PathObjects:
    """Predicted boxes in the path frame, per object and stage (M, N + 1), and each object's
    speed along the path now (M,)."""

    prediction: Prediction
    s_m: np.ndarray
    d_m: np.ndarray
    s_rear_m: np.ndarray
    s_front_m: np.ndarray
    d_min_m: np.ndarray
    d_max_m: np.ndarray
    speed_along_mps: np.ndarray

    @classmethod
    def build(cls, prediction: Prediction, path: ReferencePath, s_van_m: float) -> _PathObjects:
        # Objects standing still (the parked cars of a street) are projected once, not per stage:
        # they are most of the table, and the projection is most of a behaviour step's time.
        window = (s_van_m - OBJECT_WINDOW_BEHIND_M, s_van_m + OBJECT_WINDOW_AHEAD_M)
        x, y = prediction.x_m, prediction.y_m
        still = np.all(x == x[:, :1], axis=1) & np.all(y == y[:, :1], axis=1)
        fields = [np.empty_like(x) for _ in range(3)]
        for rows, columns in ((still, slice(0, 1)), (~still, slice(None))):
            if np.any(rows):
                part = project_to_path(path.x_m, path.y_m, path.s_m, x[rows, columns], y[rows, columns],
                                       *window)
                for out, value in zip(fields, (part.s_m, part.d_m, part.heading_rad)):
                    out[rows] = value
        coords = PathCoordinates(*fields)
        relative = prediction.yaw_rad - coords.heading_rad
        half_length, half_width = prediction.length_m[:, None] / 2.0, prediction.width_m[:, None] / 2.0
        along = np.abs(np.cos(relative)) * half_length + np.abs(np.sin(relative)) * half_width
        across = np.abs(np.sin(relative)) * half_length + np.abs(np.cos(relative)) * half_width
        heading = coords.heading_rad[:, 0] if len(prediction) else np.zeros(0)
        return cls(prediction, coords.s_m, coords.d_m, coords.s_m - along, coords.s_m + along,
                   coords.d_m - across, coords.d_m + across,
                   prediction.vx_mps * np.cos(heading) + prediction.vy_mps * np.sin(heading))

    def lateral_gap_m(self, offset: LateralOffsetProfile, half_width_m: float) -> np.ndarray:
        """Free lateral space between each box and the van's band d(s) ± half width, m (negative:
        overlap); the band is taken at the box's rear, centre and front, the worst counts."""
        gaps = []
        for s in (self.s_rear_m, self.s_m, self.s_front_m):
            d = offset.offset_m(s)
            gaps.append(np.maximum(self.d_min_m - (d + half_width_m), (d - half_width_m) - self.d_max_m))
        return np.minimum.reduce(gaps)


def _distance_to_polygon(x: np.ndarray, y: np.ndarray, polygon: np.ndarray):
    """Distance of points to a polygon (0 inside) and the unit direction to its nearest point."""
    p = np.column_stack([x, y])
    a, e = polygon, np.roll(polygon, -1, axis=0) - polygon
    rel = p[:, None, :] - a[None]
    t = np.clip((rel * e).sum(axis=2) / np.maximum((e * e).sum(axis=1), 1e-12), 0.0, 1.0)
    to_edge = a[None] + t[..., None] * e[None] - p[:, None, :]
    dist = np.linalg.norm(to_edge, axis=2)
    best = np.argmin(dist, axis=1)
    rows = np.arange(len(p))
    distance = dist[rows, best]
    direction = to_edge[rows, best] / np.maximum(distance, 1e-9)[:, None]
    inside = points_in_polygon(p, polygon)
    return np.where(inside, 0.0, distance), direction


def _ramp_for_curvature_m(offset_m: float, max_curvature_per_m: float) -> float:
    """The shortest half-cosine ramp to offset_m whose peak curvature π² d / (2 L²) stays
    within max_curvature_per_m."""
    return math.pi * math.sqrt(offset_m / (2.0 * max_curvature_per_m))


def _travel_time_s(distance_m: float, speed_mps: float, max_speed_mps: float, accel_mps2: float) -> float:
    """Time to cover a distance from speed_mps, accelerating to max_speed_mps, s."""
    v0 = min(max(speed_mps, 0.0), max_speed_mps)
    accel_distance = (max_speed_mps ** 2 - v0 ** 2) / (2.0 * accel_mps2)
    if distance_m <= accel_distance:
        return (math.sqrt(v0 ** 2 + 2.0 * accel_mps2 * max(distance_m, 0.0)) - v0) / accel_mps2
    return (max_speed_mps - v0) / accel_mps2 + (distance_m - accel_distance) / max_speed_mps


@dataclasses.dataclass(frozen=True)
class _Limit:
    """One reason to stop: the front-bumper arc length it allows, per stage when it moves."""

    key: Hashable
    state: State
    reason: str
    s_front_m: float
    per_stage_m: np.ndarray | None = None
    speed_cap_mps: float = math.inf
    gentle: bool = False        # a yield that never calls for more than comfort braking


@dataclasses.dataclass(frozen=True)
class _BayTarget:
    stop: MissionStop
    s_m: float                     # base_link arc length of the stop pose
    plateau: OffsetPlateau | None  # the ramp to its lateral offset, when it has one


@dataclasses.dataclass
class _Pass:
    plateau: OffsetPlateau
    cluster: tuple[int, ...]  # track ids passed
    speed_cap_mps: float      # lower than PASS_SPEED_CAP_MPS on a pull-out from close behind


@dataclasses.dataclass(frozen=True)
class _PassCheck:
    plateau: OffsetPlateau | None  # the pass, when geometry and traffic allow it now
    could_wait: bool               # geometry allows it; traffic or the confirmation time does not
    cluster: tuple[int, ...]       # track ids of the standing vehicle(s) in question
    reason: str
    confirmed: bool = False        # they have stood long enough to count as a blockage
    too_close: bool = False        # the van stands too close behind them to pull out
    ready_gap_m: float = 0.0       # front bumper to their rear for a pull-out from standstill
    speed_cap_mps: float = PASS_SPEED_CAP_MPS


class BehaviourPlanner:
    """The state machine. One instance per run; `step` at the object-table rate (10 Hz)."""

    def __init__(self, vehicle: VehicleParams, horizon: Horizon,
                 crosswalk_polygons: Mapping[int, np.ndarray] | None = None):
        """crosswalk_polygons: map-frame outlines by crosswalk lanelet id (RouteStop.lanelet_id),
        from DistrictMap.crosswalks; a crosswalk without one is taken as the path-frame rectangle
        between its route edges across the full corridor."""
        self.horizon = horizon
        self.front_bumper_m = vehicle.wheelbase_m + vehicle.front_overhang_m
        self.rear_overhang_m = vehicle.rear_overhang_m
        self.half_width_m = vehicle.width_m / 2.0
        self.hard_min_accel_mps2 = vehicle.min_accel_mps2
        self.crosswalk_polygons = dict(crosswalk_polygons or {})
        self._latch = _Latch(RELEASE_HOLD_S)
        self._turn_rates = TurnRateEstimator()
        self._still_since: dict[int, tuple[float, float]] = {}  # track → (still since, last seen)
        self._standstill = _Timer()
        self._full_stop = _Timer()
        self._clear = _Timer()
        self._pass_ok = _Timer()
        self._blocked = _Timer()
        self._reroute_sent: tuple[int, ...] = ()
        self._dwell: tuple[str, float, float, LateralOffsetProfile] | None = None  # name, until, hold, offset
        self._final_hold: tuple[float, LateralOffsetProfile] | None = None
        self._released_line_s: float | None = None
        self._departure: OffsetPlateau | None = None
        self._pass: _Pass | None = None
        self._binding: Hashable = None
        self._held_front_m: float | None = None
        self._caution_s: dict[int, float] = {}  # track → last yield point (held while released)
        self._mirror_s: dict[int, float] = {}   # track → last point let by at (as _caution_s)

    def forget_path(self) -> None:
        """The planner has a new route: arc lengths on the old one (a pass, a departure ramp, a
        held stop point, a released stop line) mean nothing on it."""
        self._pass = self._departure = self._released_line_s = None
        self._binding = self._held_front_m = None

    # -- the step ---------------------------------------------------------------------------------
    def step(self, t_s: float, van: mpc.VanState, path: ReferencePath, s_van_m: float,
             objects: np.ndarray, progress: MissionProgress) -> BehaviourDecision:
        """One decision. `van` needs x_m, y_m, yaw_rad, speed_mps; `s_van_m` is base_link's arc length."""
        events: list[BehaviourEvent] = []
        s_front = s_van_m + self.front_bumper_m
        standing = van.speed_mps < STANDSTILL_SPEED_MPS
        standing_s = self._standstill.update(t_s, standing)
        objects = objects[np.hypot(objects["x"] - van.x_m, objects["y"] - van.y_m) <= OBJECT_RANGE_M]
        prediction = predict_objects(objects, self.horizon, self._turn_rates.update(t_s, objects))
        objs = _PathObjects.build(prediction, path, s_van_m)
        self._update_still_timers(t_s, objects)
        nearby = self._nearby_obstacles(objs, s_van_m, van)

        # 1. Mission: dwelling, arriving, done.
        if self._dwell is not None:
            name, until, hold, offset = self._dwell
            if t_s < until:
                return self._hold(t_s, State.DWELL_AT_BAY, f"dwelling at {name}", hold, offset,
                                  nearby, events, progress, s_van_m)
            self._dwell = None
            progress = progress.advanced()
            events.append(BehaviourEvent(EventKind.DWELL_FINISHED, t_s, name))
            if progress.complete:
                events.append(BehaviourEvent(EventKind.MISSION_COMPLETE, t_s))
                self._final_hold = (hold, offset)
        if progress.complete:
            if self._final_hold is None:  # handed a finished mission: hold where the van is
                self._final_hold = (s_front, LateralOffsetProfile())
            hold, offset = self._final_hold
            return self._hold(t_s, State.MISSION_COMPLETE, "mission complete", hold, offset,
                              nearby, events, progress, s_van_m)
        self._final_hold = None  # a new mission
        target = self._bay_target(path, progress)
        arrived = standing_s >= ARRIVAL_SETTLE_S and target is not None \
            and s_van_m >= target.s_m - ARRIVAL_WINDOW_M
        if arrived:
            x_t, y_t, _ = target.stop.stop_pose
            error = math.hypot(van.x_m - x_t, van.y_m - y_t)
            events.append(BehaviourEvent(EventKind.ARRIVED, t_s, target.stop.name, error,
                                         error <= STOP_POSITION_TOLERANCE_M))
            offset = LateralOffsetProfile(tuple(p for p in (target.plateau,) if p is not None))
            self._dwell = (target.stop.name, t_s + target.stop.dwell_s, s_front, offset)
            self._departure = None
            return self._hold(t_s, State.DWELL_AT_BAY, f"arrived at {target.stop.name}", s_front,
                              offset, nearby, events, progress, s_van_m)

        # 2. The reference offset without a pass: a bay ahead, a ramp back after standing off it.
        base_offset = self._base_offset(path, s_van_m, van, standing, target)

        # 3. Passing, then who is in the path of the (possibly offset) van.
        base_gap = objs.lateral_gap_m(base_offset, self.half_width_m)
        check = self._check_pass(t_s, objs, base_gap, path, s_van_m, van.speed_mps)
        offset = LateralOffsetProfile(base_offset.plateaus + self._pass_plateaus())
        speed = (self._plateau_limits(target) + self._kerbside_limits(objs, base_gap, s_front)
                 + self._occlusion_limits(t_s, objs, path, s_front))

        # 4. Limits, the binding one, the state.
        limits = [self._end_of_route_limit(path)]
        limits += self._bay_limit(target)
        limits += self._stop_line_limit(t_s, path, s_front, standing, objs, events)
        limits += self._crosswalk_limits(t_s, path, s_front, van.speed_mps, objs)
        limits += self._object_limits(t_s, objs, offset, s_front, van.speed_mps, check)
        limits += self._mirror_limits(t_s, objs, offset, s_front, van.speed_mps, speed)
        binding = self._choose(limits)
        s_stop, per_stage = self._combine(limits, s_front, standing)
        state, reason = self._name_state(t_s, binding, s_front, van.speed_mps, standing)
        self._check_reroute(t_s, binding, check, standing, path, objs, events)
        self._latch.sweep(t_s)
        # A stop point is remembered only while its yield holds: a van that drives all day meets
        # thousands of tracks.
        self._caution_s = {k: s for k, s in self._caution_s.items()
                           if self._latch.on(("caution", k))}
        self._mirror_s = {k: s for k, s in self._mirror_s.items() if self._latch.on(("mirror", k))}

        speed += SpeedProfile(tuple(SpeedLimit(s_van_m, math.inf, lim.speed_cap_mps, lim.reason)
                                    for lim in limits if math.isfinite(lim.speed_cap_mps)))
        if state is State.STOP_LINE_WAIT:
            speed += SpeedProfile((SpeedLimit(s_van_m, math.inf, 0.0, reason),))
        # Yielding to someone who is not in the way yet calls for emergency braking only when they
        # would be by the time the van gets there.
        urgent = max(s_stop, min((lim.s_front_m for lim in limits if not lim.gentle), default=math.inf))
        # What the van stops for is the stop point's business: as an MPC obstacle too, it only made
        # the plan swerve (out of comfort) whenever the stop could not be met in full.
        stopping_for = [lim.key[1] for lim in limits if lim.key[0] in STOP_FOR_KEYS]
        nearby = nearby.subset(~np.isin(nearby.track_id, stopping_for)) if stopping_for else nearby
        return self._decision(t_s, state, reason, s_stop, per_stage, speed, van.speed_mps, s_front,
                              urgent, offset, nearby, events, progress)

    # -- mission --------------------------------------------------------------------------------
    def _bay_target(self, path: ReferencePath, progress: MissionProgress) -> _BayTarget | None:
        """The next stop's pose on this path: base_link arc length, lateral offset, the ramp in."""
        stop = progress.next_stop
        if stop is None:
            return None
        route_stop = next((r for r in path.stops
                           if r.name == stop.name and r.kind in ("delivery_bay", "goal")), None)
        if route_stop is None:
            return None
        x, y, _ = stop.stop_pose
        at = project_to_path(path.x_m, path.y_m, path.s_m, np.array([x]), np.array([y]),
                             route_stop.s_m - BAY_MATCH_WINDOW_M, route_stop.s_m + BAY_MATCH_WINDOW_M)
        s_t, d_t = float(at.s_m[0]), float(at.d_m[0])
        plateau = None
        if abs(d_t) > DEPARTURE_MIN_OFFSET_M:
            s1 = s_t - BAY_SETTLE_M
            plateau = OffsetPlateau(s1 - _bay_ramp_length_m(d_t), s1, math.inf, math.inf, d_t,
                                    use_adjacent=True)
        return _BayTarget(stop, s_t, plateau)

    def _base_offset(self, path: ReferencePath, s_van_m: float, van, standing: bool,
                     target: _BayTarget | None) -> LateralOffsetProfile:
        """The offset profile without a new pass: the ramp into the next bay, and a ramp back onto
        the reference for a van standing off it (after a dwell, or starting in a bay)."""
        plateaus = () if target is None or target.plateau is None else (target.plateau,)
        if self._departure is not None and s_van_m > self._departure.s3_m:
            self._departure = None
        if self._departure is None and standing:
            here = project_to_path(path.x_m, path.y_m, path.s_m, np.array([van.x_m]), np.array([van.y_m]),
                                   s_van_m - BAY_MATCH_WINDOW_M, s_van_m + BAY_MATCH_WINDOW_M)
            meant = LateralOffsetProfile(plateaus + self._pass_plateaus()).offset_m(np.array([s_van_m]))
            off = float(here.d_m[0] - meant[0])
            if abs(off) > DEPARTURE_MIN_OFFSET_M:
                self._departure = OffsetPlateau(-math.inf, -math.inf, s_van_m,
                                                s_van_m + _bay_ramp_length_m(off), off, use_adjacent=True)
        if self._departure is not None:
            plateaus += (self._departure,)
        return LateralOffsetProfile(plateaus)

    def _pass_plateaus(self) -> tuple[OffsetPlateau, ...]:
        return () if self._pass is None else (self._pass.plateau,)

    def _plateau_limits(self, target: _BayTarget | None) -> SpeedProfile:
        """Ramps into and out of a bay and passes are driven slowly."""
        limits = []
        if target is not None and target.plateau is not None:
            limits.append(target.plateau.limit(BAY_SPEED_CAP_MPS, f"ramp into {target.stop.name}"))
        if self._departure is not None:
            limits.append(self._departure.limit(BAY_SPEED_CAP_MPS, "ramp back onto the lane"))
        if self._pass is not None:
            ids = ", ".join(map(str, self._pass.cluster))
            limits.append(self._pass.plateau.limit(self._pass.speed_cap_mps, f"passing {ids}"))
        return SpeedProfile(tuple(limits))

    def _bay_limit(self, target: _BayTarget | None) -> list[_Limit]:
        if target is None:
            return []
        # The MPC comes to rest STOP_SHORT_M before a stop point: the bay's lies that much past the
        # stop pose, so the van rests on the pose (and may overshoot it by no more).
        name = target.stop.name
        return [_Limit(("bay", name), State.APPROACH_STOP, f"delivery stop {name}",
                       target.s_m + self.front_bumper_m + mpc.STOP_SHORT_M)]

    def _end_of_route_limit(self, path: ReferencePath) -> _Limit:
        """base_link may reach the last path sample, no further."""
        return _Limit(("end",), State.APPROACH_STOP, "end of route",
                      float(path.s_m[-1]) + self.front_bumper_m)

    # -- stop lines -----------------------------------------------------------------------------
    def _stop_line_limit(self, t_s: float, path: ReferencePath, s_front: float, standing: bool,
                         objs: _PathObjects, events: list[BehaviourEvent]) -> list[_Limit]:
        """Stop at the next stop line; go after a full stop once the intersection is clear."""
        if self._released_line_s is not None and s_front > self._released_line_s:
            self._released_line_s = None  # passed: a later visit of the same line counts again
        line = next((r for r in path.stops if r.kind == "stop_line" and r.s_m >= s_front
                     and r.s_m != self._released_line_s), None)
        if line is None:
            self._full_stop.update(t_s, False)
            self._clear.update(t_s, False)
            return []
        limit = line.s_m - STOP_LINE_SETBACK_M
        at_line = standing and abs(limit - s_front) <= STOP_LINE_REACHED_M
        stopped_s = self._full_stop.update(t_s, at_line)
        clear_s = self._clear.update(t_s, at_line and self._intersection_clear(path, line, s_front, objs))
        if stopped_s >= FULL_STOP_S and clear_s >= INTERSECTION_CLEAR_CONFIRM_S:
            self._released_line_s = line.s_m
            events.append(BehaviourEvent(EventKind.STOP_LINE_CLEARED, t_s, line.name))
            return []
        return [_Limit(("stop_line", line.s_m), State.APPROACH_STOP, f"stop line {line.name}", limit)]

    def _intersection_clear(self, path: ReferencePath, line: RouteStop, s_front: float,
                            objs: _PathObjects) -> bool:
        """No road user in the conflict zone beyond the line, none within reach moving toward it.
        Pedestrians are the crosswalks' business; our own queue behind us is not traffic."""
        zone = (path.s_m >= line.s_m) & (path.s_m <= line.s_m + CONFLICT_ZONE_LENGTH_M)
        p = objs.prediction
        if not np.any(zone) or len(p) == 0:
            return True
        zx, zy = path.x_m[zone], path.y_m[zone]
        dx, dy = zx[None, :] - p.x_m[:, :1], zy[None, :] - p.y_m[:, :1]
        dist = np.hypot(dx, dy)
        nearest = np.argmin(dist, axis=1)
        rows = np.arange(len(p))
        centre_dist = dist[rows, nearest]
        edge_dist = centre_dist - np.maximum(p.length_m, p.width_m) / 2.0
        toward_x, toward_y = dx[rows, nearest], dy[rows, nearest]
        closing = (p.vx_mps * toward_x + p.vy_mps * toward_y) / np.maximum(centre_dist, 1e-9)
        reach = np.maximum(CONFLICT_WATCH_RADIUS_M, closing * CROSSING_TIME_S)
        coming = (closing > MIN_CLOSING_SPEED_MPS) & (edge_dist < reach)
        busy = (edge_dist < CONFLICT_OCCUPIED_M) | coming
        traffic = ~np.isin(p.class_id, (ObjectClass.PEDESTRIAN, ObjectClass.STATIC))
        in_own_lane = np.abs(objs.d_m[:, 0]) < self.half_width_m + IN_PATH_LEAVE_M
        own_queue = (objs.s_front_m[:, 0] < s_front) & in_own_lane
        return not np.any(busy & traffic & ~own_queue)

    # -- crosswalks ------------------------------------------------------------------------------
    def _crosswalk_limits(self, t_s: float, path: ReferencePath, s_front: float, speed_mps: float,
                          objs: _PathObjects) -> list[_Limit]:
        """Yield at a crosswalk with a pedestrian or cyclist on it or about to step on it."""
        p = objs.prediction
        walkers = np.isin(p.class_id, (ObjectClass.PEDESTRIAN, ObjectClass.CYCLIST))
        limits = []
        for cw in path.stops:
            if cw.kind != "crosswalk" or not (s_front <= cw.s_m <= s_front + CROSSWALK_LOOKAHEAD_M):
                continue
            enter = stay = False
            if np.any(walkers):
                polygon = self.crosswalk_polygons.get(cw.lanelet_id)
                polygon = self._crosswalk_rectangle(path, cw) if polygon is None else polygon
                dist, direction = _distance_to_polygon(p.x_m[walkers, 0], p.y_m[walkers, 0], polygon)
                toward = p.vx_mps[walkers] * direction[:, 0] + p.vy_mps[walkers] * direction[:, 1]
                on = dist <= 0.0
                enter = bool(np.any(on | ((dist < CROSSWALK_NEAR_M) & (toward > HEADING_TO_SPEED_MPS))))
                stay = bool(np.any(on | ((dist < CROSSWALK_LEAVE_M) & (toward > 0.0))))
            # Committed: already on it, or moving too fast to stop before it gently.
            yield_point = cw.s_m - CROSSWALK_SETBACK_M
            room = yield_point - s_front
            committed = cw.s_m <= s_front or (speed_mps >= STANDSTILL_SPEED_MPS and (
                room <= 0.0 or speed_mps ** 2 / (2.0 * room) > MAX_YIELD_DECEL_MPS2))
            if self._latch.update(t_s, ("crosswalk", cw.lanelet_id, cw.s_m), enter and not committed, stay):
                limits.append(_Limit(("crosswalk", cw.lanelet_id, cw.s_m), State.YIELD_CROSSWALK,
                                     f"yielding at crosswalk {cw.name}", yield_point))
        return limits

    def _crosswalk_rectangle(self, path: ReferencePath, cw: RouteStop) -> np.ndarray:
        i = path.index_at(cw.s_m)
        left = path.left_width_m[i] + path.left_adjacent_width_m[i]
        right = path.right_width_m[i] + path.right_adjacent_width_m[i]
        corners = []
        for s, d in ((cw.s_m, -right), (cw.s_end_m, -right), (cw.s_end_m, left), (cw.s_m, left)):
            yaw = float(np.interp(s, path.s_m, path.yaw_rad))
            x, y = float(np.interp(s, path.s_m, path.x_m)), float(np.interp(s, path.s_m, path.y_m))
            corners.append((x - math.sin(yaw) * d, y + math.cos(yaw) * d))
        return np.array(corners)

    # -- objects: in the path, leads, blockages -----------------------------------------------------
    def _update_still_timers(self, t_s: float, objects: np.ndarray) -> None:
        for obj in objects:
            track, speed = int(obj["track_id"]), math.hypot(float(obj["vx"]), float(obj["vy"]))
            since = self._still_since.get(track, (None, t_s))[0]
            if speed > BLOCKAGE_MOVING_SPEED_MPS:
                since = None
            elif since is None and speed < BLOCKAGE_MAX_SPEED_MPS:
                since = t_s
            self._still_since[track] = (since, t_s)
        self._still_since = {k: v for k, v in self._still_since.items() if t_s - v[1] <= TRACK_FORGET_AFTER_S}

    def _still_for_s(self, t_s: float, track: int) -> float:
        """How long the track has stood (-inf: it is moving, or unknown)."""
        since = self._still_since.get(track, (None,))[0]
        return -math.inf if since is None else t_s - since

    def _maybe_blockage(self, t_s: float, track: int, class_id: int) -> bool:
        return class_id in MAYBE_BLOCKAGE_CLASSES and self._still_for_s(t_s, track) >= 0.0

    def _is_blockage(self, t_s: float, track: int, class_id: int) -> bool:
        return class_id in BLOCKAGE_CLASSES and self._still_for_s(t_s, track) > BLOCKAGE_STILL_S

    def _object_limits(self, t_s: float, objs: _PathObjects, offset: LateralOffsetProfile,
                       s_front: float, speed_mps: float, check: _PassCheck) -> list[_Limit]:
        """A limit for every object in the van's path: follow a lead, stop behind anything else."""
        p = objs.prediction
        if len(p) == 0:
            return []
        gap = objs.lateral_gap_m(offset, self.half_width_m)
        ahead = objs.s_front_m > s_front
        soon = (p.t_s - p.t_s[0]) <= PATH_CONFLICT_HORIZON_S
        touching = (gap < IN_PATH_ENTER_M) & ahead & soon[None, :]
        near = (gap < IN_PATH_LEAVE_M) & ahead & soon[None, :]
        later = (gap < IN_PATH_ENTER_M) & ahead
        limits = []
        for i, track in enumerate(p.track_id.tolist()):
            in_path = self._latch.update(t_s, ("path", track), bool(touching[i].any()), bool(near[i, 0]))
            if not in_path:
                limits += self._caution_limit(t_s, i, track, later[i], objs, s_front, speed_mps)
                continue
            # Out of the path and only held there against chatter: no harder than comfort braking
            # for it (it was a parked car whose box slid, or it has stepped out of the way).
            leaving = self._latch.releasing(("path", track))
            limits += [dataclasses.replace(lim, gentle=leaving)
                       for lim in self._in_path_limits(t_s, i, track, objs, s_front, speed_mps, near, check)]
        return limits

    def _in_path_limits(self, t_s: float, i: int, track: int, objs: _PathObjects, s_front: float,
                        speed_mps: float, near: np.ndarray, check: _PassCheck) -> list[_Limit]:
        """Follow it when it leads, else stop behind it, or wait where the van can pass it."""
        along = float(objs.speed_along_mps[i])
        lead = self._latch.update(t_s, ("lead", track), along >= LEAD_ENTER_SPEED_MPS,
                                  along >= LEAD_LEAVE_SPEED_MPS)
        if lead:
            return [self._follow_limit(i, track, objs, s_front, speed_mps)]
        # Where it is (or soon will be) in the way: its nearest rear edge over those stages.
        s_block = float(objs.s_rear_m[i, near[i]].min() if near[i].any() else objs.s_rear_m[i, 0])
        gap_m = STANDSTILL_GAP_M + OBSTACLE_GAP_TIME_S * speed_mps
        if track not in check.cluster:
            return [_Limit(("obstacle", track), State.STOP_FOR_OBSTACLE, f"obstacle {track}", s_block - gap_m)]
        # A blockage to be passed once traffic allows: wait far enough back to pull out, if the
        # van can still stop there gently (decided once, so the stop point stays put).
        reachable = s_block - check.ready_gap_m - s_front >= \
            speed_mps ** 2 / (2.0 * mpc.STOP_PROFILE_DECEL_MPS2)
        if check.could_wait and self._latch.update(t_s, ("pass_ready", track), reachable, True):
            gap_m = max(gap_m, check.ready_gap_m)
        elif check.confirmed and (check.could_wait or check.too_close):
            # Past that point (a pass given up for oncoming traffic), every metre kept is room to
            # pull out later: stop as soon as comfort allows, and never creep up.
            braking_m = speed_mps ** 2 / (2.0 * PASS_WAIT_DECEL_MPS2)
            gap_m = max(gap_m, s_block - s_front - braking_m)
        kind = "blockage" if check.confirmed else "obstacle"
        return [_Limit((kind, track), State.STOP_FOR_OBSTACLE, f"{kind} {track}: {check.reason}",
                       s_block - gap_m)]

    def _mirror_limits(self, t_s: float, objs: _PathObjects, offset: LateralOffsetProfile,
                       s_front: float, speed_mps: float, speed: SpeedProfile) -> list[_Limit]:
        """Let road users coming up behind or alongside go by before the van's band moves into
        their line (MIRROR_*). Not those already in its band (they follow the van) nor those
        whose line it already blocks (stopping would not clear it)."""
        if len(objs.prediction) == 0:
            return []
        s_rear = s_front - self.front_bumper_m - self.rear_overhang_m
        along = objs.speed_along_mps
        candidates = np.nonzero((objs.s_front_m[:, 0] <= s_front)
                                & (objs.s_front_m[:, 0] >= s_rear - MIRROR_LOOKBACK_M)
                                & (along >= MIRROR_MIN_SPEED_MPS))[0]
        if len(candidates) == 0:
            return []
        s_body = np.arange(s_rear, s_front, MIRROR_STEP_M)
        s_ahead = s_front + np.arange(0.0, MIRROR_LOOKAHEAD_M, MIRROR_STEP_M)
        d_body, d_ahead = offset.offset_m(s_body), offset.offset_m(s_ahead)
        limits = []
        for i in candidates.tolist():
            line = (objs.d_min_m[i, 0] - IN_PATH_ENTER_M, objs.d_max_m[i, 0] + IN_PATH_ENTER_M)
            meets_body = self._band_meets(d_body, line)
            meets_ahead = self._band_meets(d_ahead, line)
            first = int(np.argmax(meets_ahead))
            arrives_s = (s_ahead[first] - float(objs.s_front_m[i, 0])) / float(along[i])
            # The van gets there at its speed now, or slower where the profile slows it (a bay's
            # ramp), which it is about to do.
            cap = float(speed.cap_mps(np.array([s_ahead[first] - self.front_bumper_m]),
                                      mpc.STOP_PROFILE_DECEL_MPS2)[0])
            van_speed = max(min(speed_mps, cap), MIRROR_MIN_SPEED_MPS)
            van_arrives_s = (s_ahead[first] - s_front) / van_speed
            track = int(objs.prediction.track_id[i])
            key = ("mirror", track)
            coming = not meets_body.any() and bool(meets_ahead.any()) \
                and arrives_s <= van_arrives_s + MIRROR_CLEAR_S
            if coming:
                self._mirror_s[track] = float(s_ahead[first])
            if self._latch.update(t_s, key, coming, coming):
                side = "left" if objs.d_m[i, 0] > 0.0 else "right"
                limits.append(_Limit(key, State.STOP_FOR_OBSTACLE,
                                     f"letting {track} by on the {side}", self._mirror_s[track]))
        return limits

    def _band_meets(self, d_m: np.ndarray, line: tuple[float, float]) -> np.ndarray:
        """Where the van's band d(s) ± half width overlaps the lateral interval line."""
        return (d_m + self.half_width_m > line[0]) & (d_m - self.half_width_m < line[1])

    def _kerbside_limits(self, objs: _PathObjects, gap: np.ndarray, s_front: float) -> SpeedProfile:
        """A speed limit over where the van passes each pedestrian or cyclist ahead close beside
        its band and not walking away from it (gap: lateral gap per object and stage)."""
        person = np.isin(objs.prediction.class_id, [int(c) for c in CAUTION_CLASSES])
        kerbside = person & (objs.s_rear_m[:, 0] > s_front) & (gap[:, 0] <= KERBSIDE_GAP_M) \
            & (gap[:, -1] <= gap[:, 0])
        return SpeedProfile(tuple(
            SpeedLimit(s0, s3, KERBSIDE_SPEED_MPS, f"person {track} beside the path")
            for s0, s3, track in zip((objs.s_rear_m[kerbside, 0] - self.front_bumper_m).tolist(),
                                     objs.s_front_m[kerbside, 0].tolist(),
                                     objs.prediction.track_id[kerbside].tolist())))

    def _occlusion_limits(self, t_s: float, objs: _PathObjects, path: ReferencePath,
                          s_front: float) -> SpeedProfile:
        """Speed for the view past everything standing in the roadway (speed_limits.py): a
        vehicle or obstacle, still, whose box reaches into the own lane or a lane beside it by
        more than ROADWAY_OVERLAP_M (parked cars in the kerbside strip do not). From the moment it
        stands, parked or not (a bus at its stop hides its passengers at once), and again as soon
        as a moment's tracked motion of it has died down."""
        p = objs.prediction
        if len(p) == 0:
            return SpeedProfile()
        at = np.clip(np.searchsorted(path.s_m, objs.s_m[:, 0]), 0, len(path.s_m) - 1)
        lane_left = path.left_width_m[at] + np.where(
            np.isin(path.left_adjacent_kind[at], PASSABLE_ADJACENT_KINDS), path.left_adjacent_width_m[at], 0.0)
        lane_right = -path.right_width_m[at]
        overlap = np.minimum(objs.d_max_m[:, 0], lane_left) - np.maximum(objs.d_min_m[:, 0], lane_right)
        standing = np.array([self._maybe_blockage(t_s, int(track), int(cls)) for track, cls
                             in zip(p.track_id.tolist(), p.class_id.tolist())], dtype=bool)
        occluder = standing & (overlap > ROADWAY_OVERLAP_M) & (objs.s_front_m[:, 0] > s_front)
        return occlusion_limits(objs.s_rear_m[occluder, 0], objs.s_front_m[occluder, 0],
                                p.track_id[occluder], s_front, self.front_bumper_m)

    def _caution_limit(self, t_s: float, i: int, track: int, later: np.ndarray, objs: _PathObjects,
                       s_front: float, speed_mps: float) -> list[_Limit]:
        """Yield to a pedestrian or cyclist ahead predicted to enter the path, when there is room
        to. Not to one coming up from behind (the mirror check lets them by) nor to one ahead
        moving away along the path faster than the van (in the path, they are a lead)."""
        key = ("caution", track)
        along = float(objs.speed_along_mps[i])
        moving_away = along >= max(speed_mps, LEAD_ENTER_SPEED_MPS)
        heading_in = int(objs.prediction.class_id[i]) in CAUTION_CLASSES and bool(later.any()) \
            and float(objs.s_front_m[i, 0]) > s_front and not moving_away
        s_enter = float(objs.s_rear_m[i, later].min()) if later.any() else math.inf
        room = s_enter - STANDSTILL_GAP_M - s_front
        gentle = room > 0.0 and speed_mps ** 2 / (2.0 * room) <= MAX_YIELD_DECEL_MPS2
        # Too close to stop gently for, going on is right only if the whole van is past before
        # they step in; otherwise they are in its way when it gets there, and it stops as hard as
        # it must (the MPC may then use full braking).
        urgent = heading_in and not gentle and not self._clears_first(i, later, objs, s_front, speed_mps)
        if not self._latch.update(t_s, key, heading_in and (gentle or urgent), heading_in):
            return []
        limit = s_enter - STANDSTILL_GAP_M if math.isfinite(s_enter) else self._caution_s.get(track, s_front)
        self._caution_s[track] = limit
        return [_Limit(key, State.STOP_FOR_OBSTACLE, f"yielding to {track} heading into the path", limit,
                       gentle=not urgent)]

    def _clears_first(self, i: int, later: np.ndarray, objs: _PathObjects, s_front: float,
                      speed_mps: float) -> bool:
        """At its speed now, is the van's rear past object i's far edge CLEAR_MARGIN_S before its
        prediction, sped up to WALKING_PACE_MPS if slower, first reaches the path?"""
        first = int(np.argmax(later))
        speed = math.hypot(float(objs.prediction.vx_mps[i]), float(objs.prediction.vy_mps[i]))
        t_enter = float(objs.prediction.t_s[first] - objs.prediction.t_s[0]) * min(1.0, speed / WALKING_PACE_MPS)
        travel = float(objs.s_front_m[i, first]) - s_front + self.front_bumper_m + self.rear_overhang_m
        return speed_mps * (t_enter - CLEAR_MARGIN_S) >= travel

    def _follow_limit(self, i: int, track: int, objs: _PathObjects, s_front: float,
                      speed_mps: float) -> _Limit:
        """Keep STANDSTILL_GAP_M + TIME_GAP_S · own speed behind the lead's predicted rear."""
        desired = STANDSTILL_GAP_M + TIME_GAP_S * speed_mps
        per_stage = objs.s_rear_m[i] - desired
        gap_now = float(objs.s_rear_m[i, 0]) - s_front
        lead_speed = max(float(objs.speed_along_mps[i]), 0.0)
        cap = max(0.0, lead_speed + (gap_now - desired) / GAP_CLOSING_TIME_S)
        return _Limit(("lead", track), State.FOLLOW, f"following {track}", float(per_stage[-1]),
                      per_stage, cap)

    # -- passing ----------------------------------------------------------------------------------
    def _check_pass(self, t_s: float, objs: _PathObjects, base_gap: np.ndarray, path: ReferencePath,
                    s_van_m: float, speed_mps: float) -> _PassCheck:
        """Keep, start or drop the pass of the nearest static blockage in the own lane."""
        if self._pass is not None and s_van_m > self._pass.plateau.s3_m:
            self._pass = None  # done
        if self._pass is not None and s_van_m >= self._pass.plateau.s0_m:
            # Pulling out, the van gives up for oncoming traffic it sees only now (beyond the
            # sensors' reach, or hidden by the blockage) and goes back into its lane, until it is
            # alongside: from there on, going on clears the other lane soonest.
            plateau, oncoming = self._pass.plateau, objs.speed_along_mps <= -LEAD_ENTER_SPEED_MPS
            others = oncoming & ~np.isin(objs.prediction.track_id, self._pass.cluster)
            if s_van_m >= plateau.s1_m or not self._traffic_in_band(objs, others, plateau, s_van_m, speed_mps,
                                                                     self._pass.speed_cap_mps):
                return _PassCheck(plateau, False, self._pass.cluster, "passing", True,
                                  speed_cap_mps=self._pass.speed_cap_mps)
            self._pass = None
        check = self._pass_geometry(t_s, objs, base_gap, path, s_van_m, speed_mps)
        if self._pass is not None and check.plateau is None:
            self._pass = None  # traffic appeared before the van pulled out: wait again
        ready = self._pass_ok.update(t_s, check.plateau is not None) >= PASS_CONFIRM_S
        if self._pass is None and ready:
            self._pass = _Pass(check.plateau, check.cluster, check.speed_cap_mps)
        if self._pass is None and check.plateau is not None:
            return dataclasses.replace(check, plateau=None, could_wait=True, reason="confirming the pass")
        return check

    def _pass_geometry(self, t_s: float, objs: _PathObjects, base_gap: np.ndarray, path: ReferencePath,
                       s_van_m: float, speed_mps: float) -> _PassCheck:
        p = objs.prediction
        s_front = s_van_m + self.front_bumper_m
        in_lane = (base_gap[:, 0] < IN_PATH_ENTER_M) & (objs.s_front_m[:, 0] > s_front) \
            if len(p) else np.zeros(0, bool)
        # A vehicle standing in the lane may be parked: plan the pass from when it stops, so the van
        # waits where it can pull out; it passes only once the vehicle has stood BLOCKAGE_STILL_S.
        standing = np.array([in_lane[i] and self._maybe_blockage(t_s, int(p.track_id[i]), int(p.class_id[i]))
                             for i in range(len(p))], dtype=bool)
        none = _PassCheck(None, False, (), "")
        if not np.any(standing):
            return none
        order = np.flatnonzero(standing)[np.argsort(objs.s_rear_m[standing, 0])]
        cluster = [order[0]]
        for i in order[1:]:
            if objs.s_rear_m[i, 0] - objs.s_front_m[cluster, 0].max() < PASS_MERGE_GAP_M:
                cluster.append(i)
        ids = tuple(int(p.track_id[i]) for i in cluster)
        rear, front = float(objs.s_rear_m[cluster, 0].min()), float(objs.s_front_m[cluster, 0].max())
        d_pass = float(objs.d_max_m[cluster, 0].max()) + PASS_LATERAL_CLEARANCE_M + self.half_width_m
        if d_pass <= 0.0:  # the blockage leaves the van's own width free: nothing to pass
            return none
        # Half-cosine ramps: peak curvature π² d / (2 L²), peak lateral accel that times v².
        ramp = max(PASS_MIN_RAMP_M, math.pi * PASS_SPEED_CAP_MPS
                   * math.sqrt(d_pass / (2.0 * PASS_RAMP_LATERAL_ACCEL_MPS2)))
        pull_out = _ramp_for_curvature_m(d_pass, PASS_PULL_OUT_MAX_CURVATURE_PER_M)
        confirmed = all(self._is_blockage(t_s, int(p.track_id[i]), int(p.class_id[i])) for i in cluster)
        blocked = dataclasses.replace(
            none, cluster=ids, confirmed=confirmed,
            ready_gap_m=PASS_LONGITUDINAL_CLEARANCE_M + pull_out + PASS_READY_MARGIN_M)
        s1 = rear - PASS_LONGITUDINAL_CLEARANCE_M - self.front_bumper_m
        s0 = max(s_van_m, s1 - ramp)
        s2 = front + PASS_LONGITUDINAL_CLEARANCE_M + self.rear_overhang_m
        s3 = s2 + ramp
        if s1 - s0 < pull_out:
            s0, s1 = s_van_m, rear - PASS_TIGHT_CLEARANCE_M - self.front_bumper_m
            tight = _ramp_for_curvature_m(d_pass, PASS_TIGHT_PULL_OUT_CURVATURE_PER_M)
            if speed_mps >= STANDSTILL_SPEED_MPS or s1 - s0 < tight:
                return dataclasses.replace(blocked, too_close=True, reason="too close to pull out")
            # Whatever else stops this pass, the van stays where it stands.
            blocked = dataclasses.replace(blocked, too_close=True)
        speed_cap = min(PASS_SPEED_CAP_MPS, (s1 - s0) / math.pi
                        * math.sqrt(2.0 * PASS_RAMP_LATERAL_ACCEL_MPS2 / d_pass))
        blocked = dataclasses.replace(blocked, speed_cap_mps=speed_cap)
        # No overtaking across a stop line or a crosswalk (and no joining the queue before one).
        if any(r.kind in ("stop_line", "crosswalk")
               and s0 < r.s_m - self.front_bumper_m < s3 + PASS_RETURN_FREE_M for r in path.stops):
            return dataclasses.replace(blocked, reason="stop line or crosswalk ahead")

        window = (path.s_m >= s0) & (path.s_m <= s3)
        d, _ = OffsetPlateau(s0, s1, s2, s3, d_pass, False).at(path.s_m[window])
        need = d + self.half_width_m + CORRIDOR_MARGIN_M
        use_adjacent = bool(np.any(need > path.left_width_m[window]))
        usable = np.isin(path.left_adjacent_kind[window], PASSABLE_ADJACENT_KINDS)
        room = path.left_width_m[window] + np.where(usable, path.left_adjacent_width_m[window], 0.0)
        if np.any(need > room):
            return dataclasses.replace(blocked, reason="corridor too narrow")

        others = ~np.isin(np.arange(len(p)), cluster)
        queue = others & (base_gap[:, 0] < IN_PATH_ENTER_M) & (objs.s_front_m[:, 0] > front) \
            & (objs.s_rear_m[:, 0] < s3 + PASS_RETURN_FREE_M)
        if np.any(queue):
            return dataclasses.replace(blocked, could_wait=True, reason="no room to return")

        plateau = OffsetPlateau(s0, s1, s2, s3, d_pass, use_adjacent)
        if self._traffic_in_band(objs, others, plateau, s_van_m, speed_mps, speed_cap):
            return dataclasses.replace(blocked, could_wait=True, reason="traffic in the passing lane")
        if not confirmed:
            return dataclasses.replace(blocked, could_wait=True, reason="waiting to see it is parked")
        return dataclasses.replace(blocked, plateau=plateau, could_wait=True, reason="passing")

    def _traffic_in_band(self, objs: _PathObjects, others: np.ndarray, plateau: OffsetPlateau,
                         s_van_m: float, speed_mps: float, speed_cap_mps: float) -> bool:
        """Anyone in the band the pass sweeps, now or before it is over (oncoming traffic)."""
        duration = _travel_time_s(plateau.s3_m - s_van_m, speed_mps, speed_cap_mps, PASS_TIMING_ACCEL_MPS2) \
            + PASS_TIME_MARGIN_S
        v = objs.speed_along_mps
        swept_lo = objs.s_rear_m[:, 0] + np.minimum(v, 0.0) * duration
        swept_hi = objs.s_front_m[:, 0] + np.maximum(v, 0.0) * duration
        band_lo = plateau.d_m - PASS_LATERAL_CLEARANCE_M - self.half_width_m + IN_PATH_ENTER_M
        band_hi = plateau.d_m + self.half_width_m + PASS_LATERAL_CLEARANCE_M
        in_band = (objs.d_max_m[:, 0] > band_lo) & (objs.d_min_m[:, 0] < band_hi)
        overlaps = (swept_hi > plateau.s0_m - self.rear_overhang_m) & (swept_lo < plateau.s3_m + self.front_bumper_m)
        behind = objs.s_front_m[:, 0] < s_van_m - self.rear_overhang_m
        return bool(np.any(others & in_band & overlaps & ~behind))

    def _check_reroute(self, t_s: float, binding: _Limit, check: _PassCheck, standing: bool,
                       path: ReferencePath, objs: _PathObjects, events: list[BehaviourEvent]) -> None:
        """A long wait at a blockage that cannot be passed asks the route layer for another way."""
        blocked = standing and binding.key[0] == "blockage"
        waited = self._blocked.update(t_s, blocked)
        if waited < REROUTE_AFTER_S or check.cluster == self._reroute_sent:
            return
        self._reroute_sent = check.cluster
        row = int(np.flatnonzero(objs.prediction.track_id == binding.key[1])[0])
        lanelet = int(path.lanelet_id[path.index_at(float(objs.s_m[row, 0]))])
        x, y = float(objs.prediction.x_m[row, 0]), float(objs.prediction.y_m[row, 0])
        events.append(BehaviourEvent(EventKind.REROUTE_REQUESTED, t_s, binding.reason, lanelet_id=lanelet,
                                     x_m=x, y_m=y))

    # -- arbitration -------------------------------------------------------------------------------
    def _choose(self, limits: list[_Limit]) -> _Limit:
        """The nearest limit, unless the one that bound before is within the switch margin."""
        nearest = min(limits, key=lambda lim: lim.s_front_m)
        previous = next((lim for lim in limits if lim.key == self._binding), None)
        if previous is not None and previous.s_front_m <= nearest.s_front_m + BINDING_SWITCH_MARGIN_M:
            nearest = previous
        self._binding = nearest.key
        return nearest

    def _combine(self, limits: list[_Limit], s_front: float, standing: bool) -> tuple[float, np.ndarray]:
        """The tightest limit per stage; never behind the bumper; held at standstill (no creep)."""
        n1 = self.horizon.n_stages + 1
        per_stage = np.minimum.reduce([np.full(n1, lim.s_front_m) if lim.per_stage_m is None
                                       else np.minimum(lim.per_stage_m, lim.s_front_m) for lim in limits])
        s_stop = float(per_stage[-1])
        held = self._held_front_m
        if standing and held is not None and held - s_front < RESUME_DEADBAND_M \
                and held < s_stop < held + RESUME_DEADBAND_M:
            s_stop = held
        per_stage = np.maximum(np.minimum(per_stage, s_stop), s_front)
        s_stop = max(s_stop, s_front)
        self._held_front_m = s_stop
        return s_stop, per_stage

    def _name_state(self, t_s: float, binding: _Limit, s_front: float, speed_mps: float,
                    standing: bool) -> tuple[State, str]:
        # A lead is near by where it is now, not by where it will be at the end of the horizon.
        now = binding.s_front_m if binding.per_stage_m is None else binding.per_stage_m[0]
        distance = min(now, binding.s_front_m) - s_front
        braking = speed_mps ** 2 / (2.0 * mpc.STOP_PROFILE_DECEL_MPS2)
        near = self._latch.update(t_s, ("near", binding.key), distance < braking + APPROACH_MARGIN_M,
                                  distance < braking + APPROACH_LEAVE_MARGIN_M)
        if near:
            if binding.key[0] == "stop_line" and standing and distance <= STOP_LINE_REACHED_M:
                return State.STOP_LINE_WAIT, binding.reason
            return binding.state, binding.reason
        if self._pass is not None:
            return State.PASS_OBSTACLE, f"passing {', '.join(map(str, self._pass.cluster))}"
        return State.CRUISE, "lane clear"

    # -- output -------------------------------------------------------------------------------------
    def _nearby_obstacles(self, objs: _PathObjects, s_van_m: float, van) -> Prediction:
        p = objs.prediction
        if len(p) == 0:
            return p
        near_path = (np.abs(objs.d_m) < MPC_OBJECT_LATERAL_M).any(axis=1)
        in_window = (objs.s_front_m.max(axis=1) > s_van_m - OBJECT_WINDOW_BEHIND_M) & \
            (objs.s_rear_m.min(axis=1) < s_van_m + OBJECT_WINDOW_AHEAD_M)
        rows = np.flatnonzero(near_path & in_window)
        rows = rows[np.argsort(np.hypot(p.x_m[rows, 0] - van.x_m, p.y_m[rows, 0] - van.y_m))]
        return p.subset(rows)

    def _hold(self, t_s: float, state: State, reason: str, hold_front_m: float,
              offset: LateralOffsetProfile, nearby: Prediction, events: list[BehaviourEvent],
              progress: MissionProgress, s_van_m: float) -> BehaviourDecision:
        """Stand where the van is: the stop point at the bumper as it was when the hold began."""
        self._held_front_m = hold_front_m
        n1 = self.horizon.n_stages + 1
        standing = SpeedProfile((SpeedLimit(-math.inf, math.inf, 0.0, reason),))
        return BehaviourDecision(t_s, state, reason, hold_front_m, hold_front_m - self.front_bumper_m,
                                 np.full(n1, hold_front_m), s_van_m, standing, mpc.COMFORT_MIN_ACCEL_MPS2,
                                 offset, nearby, tuple(events), progress)

    def _decision(self, t_s: float, state: State, reason: str, s_stop: float, per_stage: np.ndarray,
                  speed: SpeedProfile, speed_mps: float, s_front: float, urgent_front_m: float,
                  offset: LateralOffsetProfile, nearby: Prediction, events: list[BehaviourEvent],
                  progress: MissionProgress) -> BehaviourDecision:
        room = urgent_front_m - s_front
        needed = math.inf if room <= 0.0 else speed_mps ** 2 / (2.0 * room)
        # A stop point closer than comfort braking reaches: the MPC may use the van's full braking.
        emergency = speed_mps > STANDSTILL_SPEED_MPS and needed > -mpc.COMFORT_MIN_ACCEL_MPS2
        min_accel = self.hard_min_accel_mps2 if emergency else mpc.COMFORT_MIN_ACCEL_MPS2
        return BehaviourDecision(t_s, state, reason, s_stop, s_stop - self.front_bumper_m, per_stage,
                                 s_front - self.front_bumper_m, speed, min_accel, offset, nearby,
                                 tuple(events), progress)


def _bay_ramp_length_m(offset_m: float) -> float:
    """Half-cosine ramp whose peak curvature π² |d| / (2 L²) is BAY_RAMP_CURVATURE_1PM."""
    return math.pi * math.sqrt(abs(offset_m) / (2.0 * BAY_RAMP_CURVATURE_1PM))


# --- hand-over to the MPC ---------------------------------------------------------------------------
def mpc_reference_path(path: ReferencePath, decision: BehaviourDecision,
                       s_range_m: tuple[float, float] = (-math.inf, math.inf)) -> mpc.TrackingPath:
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
    left_extra = np.where(use_left & np.isin(path.left_adjacent_kind[span], PASSABLE_ADJACENT_KINDS),
                          path.left_adjacent_width_m[span], 0.0)
    right_extra = np.where(use_right & (path.right_adjacent_kind[span] == AdjacentKind.DELIVERY_BAY),
                           path.right_adjacent_width_m[span], 0.0)
    max_speed = np.minimum(path.speed_limit_mps[span],
                           decision.speed_limits.cap_mps(s, mpc.STOP_PROFILE_DECEL_MPS2))
    return mpc.TrackingPath(s_m=s, x_m=x, y_m=y, yaw_rad=heading, kappa_1pm=kappa,
                             speed_mps=max_speed, max_speed_mps=max_speed,
                             left_width_m=path.left_width_m[span] + left_extra - d,
                             right_width_m=path.right_width_m[span] + right_extra + d)


def mpc_obstacles(decision: BehaviourDecision) -> mpc.ObstacleSet:
    """Predicted boxes as the MPC's ellipses (semi-axes half the box; the MPC grows them)."""
    p = decision.obstacles
    return mpc.ObstacleSet(p.x_m, p.y_m, p.yaw_rad, p.length_m / 2.0, p.width_m / 2.0)


def mpc_limits(decision: BehaviourDecision) -> mpc.MotionLimits:
    """Comfort limits; an emergency stop (braking beyond comfort) may also put the brake on as
    fast as the bridge lets it, instead of at the comfort jerk."""
    emergency = decision.min_accel_mps2 < mpc.COMFORT_MIN_ACCEL_MPS2
    return mpc.MotionLimits(min_accel_mps2=decision.min_accel_mps2,
                            max_jerk_mps3=MAX_JERK_FALL_MPS3 if emergency else mpc.COMFORT_JERK_MPS3)
