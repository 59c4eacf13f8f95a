"""Passing a static blockage in the own lane: inside the corridor, using the oncoming lane only
when no one will be in it over the pass; and, after a long wait where no pass is possible, a
reroute request."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from robovan_autonomy.planning.behaviour.blockages import Blockages
from robovan_autonomy.planning.behaviour.common import (
    IN_PATH_ENTER_M,
    LEAD_ENTER_SPEED_MPS,
    Body,
    Limit,
    PathObjects,
    Timer,
)
from robovan_autonomy.planning.behaviour.decision import (
    PASSABLE_ADJACENT_KINDS,
    BehaviourEvent,
    EventKind,
    OffsetPlateau,
)
from robovan_autonomy.planning.route import ReferencePath
from robovan_autonomy.planning.speed_limits import SpeedProfile
from robovan_autonomy.vehicle_params import STANDSTILL_SPEED_MPS

# A pass must look possible this long before the van commits to it, s.
PASS_CONFIRM_S = 1.0
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
# Left standing closer still (a pass given up for oncoming traffic seen late), the van gets out as
# a driver does from a tight spot: from standstill, at a crawl, on up to nine tenths of the
# steering lock (a 5 m radius), reaching its offset this close to the blockage, m. Waiting for a
# parked van to move would be a deadlock.
PASS_TIGHT_PULL_OUT_CURVATURE_PER_M = 0.2
PASS_TIGHT_CLEARANCE_M = 0.5
# Speed cap while passing, m/s (18 km/h): someone may step out from behind the blockage.
PASS_SPEED_CAP_MPS = 5.0
# Acceleration assumed when timing a pass, m/s²: gentle, so the estimate is on the long side.
PASS_TIMING_ACCEL_MPS2 = 1.0
# The pass must be over this long before oncoming traffic could reach it, s.
PASS_TIME_MARGIN_S = 3.0
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


@dataclasses.dataclass
class _Pass:
    plateau: OffsetPlateau
    cluster: tuple[int, ...]  # track ids passed
    speed_cap_mps: float  # lower than PASS_SPEED_CAP_MPS on a pull-out from close behind


@dataclasses.dataclass(frozen=True)
class PassCheck:
    plateau: OffsetPlateau | None  # the pass, when geometry and traffic allow it now
    could_wait: bool  # geometry allows it; traffic or the confirmation time does not
    cluster: tuple[int, ...]  # track ids of the standing vehicle(s) in question
    reason: str
    confirmed: bool = False  # they have stood long enough to count as a blockage
    too_close: bool = False  # the van stands too close behind them to pull out
    ready_gap_m: float = 0.0  # front bumper to their rear for a pull-out from standstill
    speed_cap_mps: float = PASS_SPEED_CAP_MPS


class Passing:
    """Owns the pass under way (its offset plateau, the vehicles passed, its speed cap) and the
    timer that confirms a pass before the van commits to it."""

    def __init__(self, body: Body, blockages: Blockages):
        self.body = body
        self.blockages = blockages
        self._pass: _Pass | None = None
        self._pass_ok = Timer()

    def forget_path(self) -> None:
        self._pass = None

    def plateaus(self) -> tuple[OffsetPlateau, ...]:
        return () if self._pass is None else (self._pass.plateau,)

    @property
    def reason(self) -> str | None:
        """What the van is passing, for the state and the speed limit (None: no pass)."""
        return None if self._pass is None else f"passing {', '.join(map(str, self._pass.cluster))}"

    def speed_limits(self) -> SpeedProfile:
        """A pass is driven slowly."""
        if self._pass is None:
            return SpeedProfile()
        return SpeedProfile((self._pass.plateau.limit(self._pass.speed_cap_mps, self.reason),))

    def check(
        self,
        t_s: float,
        objs: PathObjects,
        base_gap: np.ndarray,
        path: ReferencePath,
        s_van_m: float,
        speed_mps: float,
    ) -> PassCheck:
        """Keep, start or drop the pass of the nearest static blockage in the own lane."""
        if self._pass is not None and s_van_m > self._pass.plateau.s3_m:
            self._pass = None  # done
        if self._pass is not None and s_van_m >= self._pass.plateau.s0_m:
            # Pulling out, the van gives up for oncoming traffic it sees only now (beyond the
            # sensors' reach, or hidden by the blockage) and goes back into its lane, until it is
            # alongside: from there on, going on clears the other lane soonest.
            plateau = self._pass.plateau
            oncoming = objs.speed_along_mps <= -LEAD_ENTER_SPEED_MPS
            others = oncoming & ~np.isin(objs.prediction.track_id, self._pass.cluster)
            if s_van_m >= plateau.s1_m or not self._traffic_in_band(
                objs, others, plateau, s_van_m, speed_mps, self._pass.speed_cap_mps
            ):
                return PassCheck(
                    plateau,
                    False,
                    self._pass.cluster,
                    "passing",
                    True,
                    speed_cap_mps=self._pass.speed_cap_mps,
                )
            self._pass = None
        check = self._geometry(t_s, objs, base_gap, path, s_van_m, speed_mps)
        if self._pass is not None and check.plateau is None:
            self._pass = None  # traffic appeared before the van pulled out: wait again
        ready = self._pass_ok.update(t_s, check.plateau is not None) >= PASS_CONFIRM_S
        if self._pass is None and ready:
            self._pass = _Pass(check.plateau, check.cluster, check.speed_cap_mps)
        if self._pass is None and check.plateau is not None:
            return dataclasses.replace(
                check, plateau=None, could_wait=True, reason="confirming the pass"
            )
        return check

    def _geometry(
        self,
        t_s: float,
        objs: PathObjects,
        base_gap: np.ndarray,
        path: ReferencePath,
        s_van_m: float,
        speed_mps: float,
    ) -> PassCheck:
        p = objs.prediction
        body = self.body
        s_front = s_van_m + body.front_bumper_m
        in_lane = (
            (base_gap[:, 0] < IN_PATH_ENTER_M) & (objs.s_front_m[:, 0] > s_front)
            if len(p)
            else np.zeros(0, bool)
        )
        # A vehicle standing in the lane may be parked: plan the pass from when it stops, so the
        # van waits where it can pull out; it passes only once the vehicle has stood
        # BLOCKAGE_STILL_S.
        standing = np.array(
            [
                in_lane[i]
                and self.blockages.maybe_blockage(t_s, int(p.track_id[i]), int(p.class_id[i]))
                for i in range(len(p))
            ],
            dtype=bool,
        )
        none = PassCheck(None, False, (), "")
        if not np.any(standing):
            return none
        order = np.flatnonzero(standing)[np.argsort(objs.s_rear_m[standing, 0])]
        cluster = [order[0]]
        for i in order[1:]:
            if objs.s_rear_m[i, 0] - objs.s_front_m[cluster, 0].max() < PASS_MERGE_GAP_M:
                cluster.append(i)
        ids = tuple(int(p.track_id[i]) for i in cluster)
        rear = float(objs.s_rear_m[cluster, 0].min())
        front = float(objs.s_front_m[cluster, 0].max())
        d_pass = (
            float(objs.d_max_m[cluster, 0].max()) + PASS_LATERAL_CLEARANCE_M + body.half_width_m
        )
        if d_pass <= 0.0:  # the blockage leaves the van's own width free: nothing to pass
            return none
        # Half-cosine ramps: peak curvature π² d / (2 L²), peak lateral accel that times v².
        ramp = max(
            PASS_MIN_RAMP_M,
            math.pi * PASS_SPEED_CAP_MPS * math.sqrt(d_pass / (2.0 * PASS_RAMP_LATERAL_ACCEL_MPS2)),
        )
        pull_out = _ramp_for_curvature_m(d_pass, PASS_PULL_OUT_MAX_CURVATURE_PER_M)
        confirmed = all(
            self.blockages.is_blockage(t_s, int(p.track_id[i]), int(p.class_id[i])) for i in cluster
        )
        blocked = dataclasses.replace(
            none,
            cluster=ids,
            confirmed=confirmed,
            ready_gap_m=PASS_LONGITUDINAL_CLEARANCE_M + pull_out + PASS_READY_MARGIN_M,
        )
        s1 = rear - PASS_LONGITUDINAL_CLEARANCE_M - body.front_bumper_m
        s0 = max(s_van_m, s1 - ramp)
        s2 = front + PASS_LONGITUDINAL_CLEARANCE_M + body.rear_overhang_m
        s3 = s2 + ramp
        if s1 - s0 < pull_out:
            s0, s1 = s_van_m, rear - PASS_TIGHT_CLEARANCE_M - body.front_bumper_m
            tight = _ramp_for_curvature_m(d_pass, PASS_TIGHT_PULL_OUT_CURVATURE_PER_M)
            if speed_mps >= STANDSTILL_SPEED_MPS or s1 - s0 < tight:
                return dataclasses.replace(blocked, too_close=True, reason="too close to pull out")
            # Whatever else stops this pass, the van stays where it stands.
            blocked = dataclasses.replace(blocked, too_close=True)
        speed_cap = min(
            PASS_SPEED_CAP_MPS,
            (s1 - s0) / math.pi * math.sqrt(2.0 * PASS_RAMP_LATERAL_ACCEL_MPS2 / d_pass),
        )
        blocked = dataclasses.replace(blocked, speed_cap_mps=speed_cap)
        # No overtaking across a stop line or a crosswalk (and no joining the queue before one).
        if any(
            r.kind in ("stop_line", "crosswalk")
            and s0 < r.s_m - body.front_bumper_m < s3 + PASS_RETURN_FREE_M
            for r in path.stops
        ):
            return dataclasses.replace(blocked, reason="stop line or crosswalk ahead")

        window = (path.s_m >= s0) & (path.s_m <= s3)
        d, _ = OffsetPlateau(s0, s1, s2, s3, d_pass, False).at(path.s_m[window])
        need = d + body.half_width_m + CORRIDOR_MARGIN_M
        use_adjacent = bool(np.any(need > path.left_width_m[window]))
        usable = np.isin(path.left_adjacent_kind[window], PASSABLE_ADJACENT_KINDS)
        room = path.left_width_m[window] + np.where(usable, path.left_adjacent_width_m[window], 0.0)
        if np.any(need > room):
            return dataclasses.replace(blocked, reason="corridor too narrow")

        others = ~np.isin(np.arange(len(p)), cluster)
        queue = (
            others
            & (base_gap[:, 0] < IN_PATH_ENTER_M)
            & (objs.s_front_m[:, 0] > front)
            & (objs.s_rear_m[:, 0] < s3 + PASS_RETURN_FREE_M)
        )
        if np.any(queue):
            return dataclasses.replace(blocked, could_wait=True, reason="no room to return")

        plateau = OffsetPlateau(s0, s1, s2, s3, d_pass, use_adjacent)
        if self._traffic_in_band(objs, others, plateau, s_van_m, speed_mps, speed_cap):
            return dataclasses.replace(
                blocked, could_wait=True, reason="traffic in the passing lane"
            )
        if not confirmed:
            return dataclasses.replace(
                blocked, could_wait=True, reason="waiting to see it is parked"
            )
        return dataclasses.replace(blocked, plateau=plateau, could_wait=True, reason="passing")

    def _traffic_in_band(
        self,
        objs: PathObjects,
        others: np.ndarray,
        plateau: OffsetPlateau,
        s_van_m: float,
        speed_mps: float,
        speed_cap_mps: float,
    ) -> bool:
        """Anyone in the band the pass sweeps, now or before it is over (oncoming traffic)."""
        body = self.body
        duration = (
            _travel_time_s(plateau.s3_m - s_van_m, speed_mps, speed_cap_mps, PASS_TIMING_ACCEL_MPS2)
            + PASS_TIME_MARGIN_S
        )
        v = objs.speed_along_mps
        swept_lo = objs.s_rear_m[:, 0] + np.minimum(v, 0.0) * duration
        swept_hi = objs.s_front_m[:, 0] + np.maximum(v, 0.0) * duration
        band_lo = plateau.d_m - PASS_LATERAL_CLEARANCE_M - body.half_width_m + IN_PATH_ENTER_M
        band_hi = plateau.d_m + body.half_width_m + PASS_LATERAL_CLEARANCE_M
        in_band = (objs.d_max_m[:, 0] > band_lo) & (objs.d_min_m[:, 0] < band_hi)
        overlaps = (swept_hi > plateau.s0_m - body.rear_overhang_m) & (
            swept_lo < plateau.s3_m + body.front_bumper_m
        )
        behind = objs.s_front_m[:, 0] < s_van_m - body.rear_overhang_m
        return bool(np.any(others & in_band & overlaps & ~behind))


class Reroute:
    """Owns how long the van has stood at a blockage it cannot pass, and the blockage it last
    asked a reroute for (asked once per blockage)."""

    def __init__(self) -> None:
        self._blocked = Timer()
        self._reroute_sent: tuple[int, ...] = ()

    def check(
        self,
        t_s: float,
        binding: Limit,
        check: PassCheck,
        standing: bool,
        path: ReferencePath,
        objs: PathObjects,
        events: list[BehaviourEvent],
    ) -> None:
        """A long wait at a blockage that cannot be passed asks the route layer for another way."""
        blocked = standing and binding.key[0] == "blockage"
        waited = self._blocked.update(t_s, blocked)
        if waited < REROUTE_AFTER_S or check.cluster == self._reroute_sent:
            return
        self._reroute_sent = check.cluster
        row = int(np.flatnonzero(objs.prediction.track_id == binding.key[1])[0])
        lanelet = int(path.lanelet_id[path.index_at(float(objs.s_m[row, 0]))])
        x, y = float(objs.prediction.x_m[row, 0]), float(objs.prediction.y_m[row, 0])
        events.append(
            BehaviourEvent(
                EventKind.REROUTE_REQUESTED, t_s, binding.reason, lanelet_id=lanelet, x_m=x, y_m=y
            )
        )


def _ramp_for_curvature_m(offset_m: float, max_curvature_per_m: float) -> float:
    """The shortest half-cosine ramp to offset_m whose peak curvature π² d / (2 L²) stays
    within max_curvature_per_m."""
    return math.pi * math.sqrt(offset_m / (2.0 * max_curvature_per_m))


def _travel_time_s(
    distance_m: float, speed_mps: float, max_speed_mps: float, accel_mps2: float
) -> float:
    """Time to cover a distance from speed_mps, accelerating to max_speed_mps, s."""
    v0 = min(max(speed_mps, 0.0), max_speed_mps)
    accel_distance = (max_speed_mps**2 - v0**2) / (2.0 * accel_mps2)
    if distance_m <= accel_distance:
        return (math.sqrt(v0**2 + 2.0 * accel_mps2 * max(distance_m, 0.0)) - v0) / accel_mps2
    return (max_speed_mps - v0) / accel_mps2 + (distance_m - accel_distance) / max_speed_mps
