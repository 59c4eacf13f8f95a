"""Objects ahead in the van's path: follow a lead, stop behind anything else (or wait where a
blockage can be passed), yield to a pedestrian or cyclist heading into the path, and pass people
close beside the path slowly."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from robovan_autonomy.perception.classes import ObjectClass
from robovan_autonomy.planning import mpc
from robovan_autonomy.planning.behaviour.common import (
    IN_PATH_ENTER_M,
    IN_PATH_LEAVE_M,
    LEAD_ENTER_SPEED_MPS,
    LEAD_LEAVE_SPEED_MPS,
    RELEASE_HOLD_S,
    Body,
    Latch,
    Limit,
    PathObjects,
)
from robovan_autonomy.planning.behaviour.crosswalks import MAX_YIELD_DECEL_MPS2
from robovan_autonomy.planning.behaviour.decision import LateralOffsetProfile, State
from robovan_autonomy.planning.behaviour.passing import PASS_WAIT_DECEL_MPS2, PassCheck
from robovan_autonomy.planning.speed_limits import SpeedLimit, SpeedProfile

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
# Following: speed below the lead's per metre the gap is short (and above per metre it is long),
# as 1 / this time, s: the gap closes smoothly in a few seconds.
GAP_CLOSING_TIME_S = 3.0


class ObjectLimits:
    """Owns the in-path, lead, pass-ready and caution latches per track, and the last yield point
    per track (held while a caution yield is released)."""

    def __init__(self, body: Body):
        self.body = body
        self._latch = Latch(RELEASE_HOLD_S)
        self._caution_s: dict[int, float] = {}  # track → last yield point (held while released)

    def sweep(self, t_s: float) -> None:
        self._latch.sweep(t_s)
        # A stop point is remembered only while its yield holds: a van that drives all day meets
        # thousands of tracks.
        self._caution_s = {
            k: s for k, s in self._caution_s.items() if self._latch.on(("caution", k))
        }

    def limits(
        self,
        t_s: float,
        objs: PathObjects,
        offset: LateralOffsetProfile,
        s_front: float,
        speed_mps: float,
        check: PassCheck,
    ) -> list[Limit]:
        """A limit for every object in the van's path: follow a lead, stop behind anything else."""
        p = objs.prediction
        if len(p) == 0:
            return []
        gap = objs.lateral_gap_m(offset, self.body.half_width_m)
        ahead = objs.s_front_m > s_front
        soon = (p.t_s - p.t_s[0]) <= PATH_CONFLICT_HORIZON_S
        touching = (gap < IN_PATH_ENTER_M) & ahead & soon[None, :]
        near = (gap < IN_PATH_LEAVE_M) & ahead & soon[None, :]
        later = (gap < IN_PATH_ENTER_M) & ahead
        limits = []
        for i, track in enumerate(p.track_id.tolist()):
            in_path = self._latch.update(
                t_s, ("path", track), bool(touching[i].any()), bool(near[i, 0])
            )
            if not in_path:
                limits += self._caution_limit(t_s, i, track, later[i], objs, s_front, speed_mps)
                continue
            # Out of the path and only held there against chatter: no harder than comfort braking
            # for it (it was a parked car whose box slid, or it has stepped out of the way).
            leaving = self._latch.releasing(("path", track))
            limits += [
                dataclasses.replace(lim, gentle=leaving)
                for lim in self._in_path_limits(
                    t_s, i, track, objs, s_front, speed_mps, near, check
                )
            ]
        return limits

    def _in_path_limits(
        self,
        t_s: float,
        i: int,
        track: int,
        objs: PathObjects,
        s_front: float,
        speed_mps: float,
        near: np.ndarray,
        check: PassCheck,
    ) -> list[Limit]:
        """Follow it when it leads, else stop behind it, or wait where the van can pass it."""
        along = float(objs.speed_along_mps[i])
        lead = self._latch.update(
            t_s, ("lead", track), along >= LEAD_ENTER_SPEED_MPS, along >= LEAD_LEAVE_SPEED_MPS
        )
        if lead:
            return [self._follow_limit(i, track, objs, s_front, speed_mps)]
        # Where it is (or soon will be) in the way: its nearest rear edge over those stages.
        s_block = float(objs.s_rear_m[i, near[i]].min() if near[i].any() else objs.s_rear_m[i, 0])
        gap_m = STANDSTILL_GAP_M + OBSTACLE_GAP_TIME_S * speed_mps
        if track not in check.cluster:
            return [
                Limit(
                    ("obstacle", track),
                    State.STOP_FOR_OBSTACLE,
                    f"obstacle {track}",
                    s_block - gap_m,
                )
            ]
        # A blockage to be passed once traffic allows: wait far enough back to pull out, if the
        # van can still stop there gently (decided once, so the stop point stays put).
        reachable = s_block - check.ready_gap_m - s_front >= speed_mps**2 / (
            2.0 * mpc.STOP_PROFILE_DECEL_MPS2
        )
        if check.could_wait and self._latch.update(t_s, ("pass_ready", track), reachable, True):
            gap_m = max(gap_m, check.ready_gap_m)
        elif check.confirmed and (check.could_wait or check.too_close):
            # Past that point (a pass given up for oncoming traffic), every metre kept is room to
            # pull out later: stop as soon as comfort allows, and never creep up.
            braking_m = speed_mps**2 / (2.0 * PASS_WAIT_DECEL_MPS2)
            gap_m = max(gap_m, s_block - s_front - braking_m)
        kind = "blockage" if check.confirmed else "obstacle"
        return [
            Limit(
                (kind, track),
                State.STOP_FOR_OBSTACLE,
                f"{kind} {track}: {check.reason}",
                s_block - gap_m,
            )
        ]

    def _caution_limit(
        self,
        t_s: float,
        i: int,
        track: int,
        later: np.ndarray,
        objs: PathObjects,
        s_front: float,
        speed_mps: float,
    ) -> list[Limit]:
        """Yield to a pedestrian or cyclist ahead predicted to enter the path, when there is room
        to. Not to one coming up from behind (the mirror check lets them by) nor to one ahead
        moving away along the path faster than the van (in the path, they are a lead)."""
        key = ("caution", track)
        along = float(objs.speed_along_mps[i])
        moving_away = along >= max(speed_mps, LEAD_ENTER_SPEED_MPS)
        heading_in = (
            int(objs.prediction.class_id[i]) in CAUTION_CLASSES
            and bool(later.any())
            and float(objs.s_front_m[i, 0]) > s_front
            and not moving_away
        )
        s_enter = float(objs.s_rear_m[i, later].min()) if later.any() else math.inf
        room = s_enter - STANDSTILL_GAP_M - s_front
        gentle = room > 0.0 and speed_mps**2 / (2.0 * room) <= MAX_YIELD_DECEL_MPS2
        # Too close to stop gently for, going on is right only if the whole van is past before
        # they step in; otherwise they are in its way when it gets there, and it stops as hard as
        # it must (the MPC may then use full braking).
        urgent = (
            heading_in and not gentle and not self._clears_first(i, later, objs, s_front, speed_mps)
        )
        if not self._latch.update(t_s, key, heading_in and (gentle or urgent), heading_in):
            return []
        limit = (
            s_enter - STANDSTILL_GAP_M
            if math.isfinite(s_enter)
            else self._caution_s.get(track, s_front)
        )
        self._caution_s[track] = limit
        return [
            Limit(
                key,
                State.STOP_FOR_OBSTACLE,
                f"yielding to {track} heading into the path",
                limit,
                gentle=not urgent,
            )
        ]

    def _clears_first(
        self, i: int, later: np.ndarray, objs: PathObjects, s_front: float, speed_mps: float
    ) -> bool:
        """At its speed now, is the van's rear past object i's far edge CLEAR_MARGIN_S before its
        prediction, sped up to WALKING_PACE_MPS if slower, first reaches the path?"""
        first = int(np.argmax(later))
        speed = math.hypot(float(objs.prediction.vx_mps[i]), float(objs.prediction.vy_mps[i]))
        t_enter = float(objs.prediction.t_s[first] - objs.prediction.t_s[0]) * min(
            1.0, speed / WALKING_PACE_MPS
        )
        travel = (
            float(objs.s_front_m[i, first])
            - s_front
            + self.body.front_bumper_m
            + self.body.rear_overhang_m
        )
        return speed_mps * (t_enter - CLEAR_MARGIN_S) >= travel

    def _follow_limit(
        self, i: int, track: int, objs: PathObjects, s_front: float, speed_mps: float
    ) -> Limit:
        """Keep STANDSTILL_GAP_M + TIME_GAP_S · own speed behind the lead's predicted rear."""
        desired = STANDSTILL_GAP_M + TIME_GAP_S * speed_mps
        per_stage = objs.s_rear_m[i] - desired
        gap_now = float(objs.s_rear_m[i, 0]) - s_front
        lead_speed = max(float(objs.speed_along_mps[i]), 0.0)
        cap = max(0.0, lead_speed + (gap_now - desired) / GAP_CLOSING_TIME_S)
        return Limit(
            ("lead", track),
            State.FOLLOW,
            f"following {track}",
            float(per_stage[-1]),
            per_stage,
            cap,
        )

    def kerbside_limits(self, objs: PathObjects, gap: np.ndarray, s_front: float) -> SpeedProfile:
        """A speed limit over where the van passes each pedestrian or cyclist ahead close beside
        its band and not walking away from it (gap: lateral gap per object and stage)."""
        person = np.isin(objs.prediction.class_id, [int(c) for c in CAUTION_CLASSES])
        kerbside = (
            person
            & (objs.s_rear_m[:, 0] > s_front)
            & (gap[:, 0] <= KERBSIDE_GAP_M)
            & (gap[:, -1] <= gap[:, 0])
        )
        s0_m = objs.s_rear_m[kerbside, 0] - self.body.front_bumper_m
        return SpeedProfile(
            tuple(
                SpeedLimit(s0, s3, KERBSIDE_SPEED_MPS, f"person {track} beside the path")
                for s0, s3, track in zip(
                    s0_m.tolist(),
                    objs.s_front_m[kerbside, 0].tolist(),
                    objs.prediction.track_id[kerbside].tolist(),
                )
            )
        )
