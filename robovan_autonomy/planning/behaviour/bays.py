"""Delivery bays: the next stop's pose on the path, the ramp into its bay, arriving there, and the
ramp back onto the lane after standing off it; also the stop at the end of the route."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from robovan_autonomy.planning import mpc
from robovan_autonomy.planning.behaviour.common import Body, Limit
from robovan_autonomy.planning.behaviour.decision import (
    BehaviourEvent,
    EventKind,
    LateralOffsetProfile,
    OffsetPlateau,
    State,
)
from robovan_autonomy.planning.behaviour.mission import MissionProgress, MissionStop
from robovan_autonomy.planning.prediction import project_to_path
from robovan_autonomy.planning.route import ReferencePath
from robovan_autonomy.planning.speed_limits import SpeedProfile

# Standing this long within ARRIVAL_WINDOW_M of a bay is arriving there, s: brake and pose settle.
ARRIVAL_SETTLE_S = 0.5
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


@dataclasses.dataclass(frozen=True)
class BayTarget:
    stop: MissionStop
    s_m: float  # base_link arc length of the stop pose
    plateau: OffsetPlateau | None  # the ramp to its lateral offset, when it has one


class Bays:
    """Owns the ramp back onto the lane (the departure): it is made once, when the van stands off
    the reference, and kept until the van is past it."""

    def __init__(self, body: Body):
        self.body = body
        self._departure: OffsetPlateau | None = None

    def forget_path(self) -> None:
        self._departure = None

    def target(self, path: ReferencePath, progress: MissionProgress) -> BayTarget | None:
        """The next stop's pose on this path: base_link arc length, lateral offset, the ramp in."""
        stop = progress.next_stop
        if stop is None:
            return None
        route_stop = next(
            (r for r in path.stops if r.name == stop.name and r.kind in ("delivery_bay", "goal")),
            None,
        )
        if route_stop is None:
            return None
        x, y, _ = stop.stop_pose
        at = project_to_path(
            path.x_m,
            path.y_m,
            path.s_m,
            np.array([x]),
            np.array([y]),
            route_stop.s_m - BAY_MATCH_WINDOW_M,
            route_stop.s_m + BAY_MATCH_WINDOW_M,
        )
        s_t, d_t = float(at.s_m[0]), float(at.d_m[0])
        plateau = None
        if abs(d_t) > DEPARTURE_MIN_OFFSET_M:
            s1 = s_t - BAY_SETTLE_M
            plateau = OffsetPlateau(
                s1 - _bay_ramp_length_m(d_t), s1, math.inf, math.inf, d_t, use_adjacent=True
            )
        return BayTarget(stop, s_t, plateau)

    def arrive(
        self,
        t_s: float,
        van: mpc.VanState,
        s_van_m: float,
        standing_s: float,
        target: BayTarget | None,
        events: list[BehaviourEvent],
    ) -> LateralOffsetProfile | None:
        """Standing at the target's stop pose: the ARRIVED event, and the offset to hold there
        (None: not arrived)."""
        arrived = (
            standing_s >= ARRIVAL_SETTLE_S
            and target is not None
            and s_van_m >= target.s_m - ARRIVAL_WINDOW_M
        )
        if not arrived:
            return None
        x_t, y_t, _ = target.stop.stop_pose
        error = math.hypot(van.x_m - x_t, van.y_m - y_t)
        events.append(
            BehaviourEvent(
                EventKind.ARRIVED, t_s, target.stop.name, error, error <= STOP_POSITION_TOLERANCE_M
            )
        )
        self._departure = None
        return LateralOffsetProfile(tuple(p for p in (target.plateau,) if p is not None))

    def offset(
        self,
        path: ReferencePath,
        s_van_m: float,
        van: mpc.VanState,
        standing: bool,
        target: BayTarget | None,
        pass_plateaus: tuple[OffsetPlateau, ...],
    ) -> LateralOffsetProfile:
        """The offset profile without a new pass: the ramp into the next bay, and a ramp back onto
        the reference for a van standing off it (after a dwell, or starting in a bay)."""
        plateaus = () if target is None or target.plateau is None else (target.plateau,)
        if self._departure is not None and s_van_m > self._departure.s3_m:
            self._departure = None
        if self._departure is None and standing:
            here = project_to_path(
                path.x_m,
                path.y_m,
                path.s_m,
                np.array([van.x_m]),
                np.array([van.y_m]),
                s_van_m - BAY_MATCH_WINDOW_M,
                s_van_m + BAY_MATCH_WINDOW_M,
            )
            meant = LateralOffsetProfile(plateaus + pass_plateaus).offset_m(np.array([s_van_m]))
            off = float(here.d_m[0] - meant[0])
            if abs(off) > DEPARTURE_MIN_OFFSET_M:
                self._departure = OffsetPlateau(
                    -math.inf,
                    -math.inf,
                    s_van_m,
                    s_van_m + _bay_ramp_length_m(off),
                    off,
                    use_adjacent=True,
                )
        if self._departure is not None:
            plateaus += (self._departure,)
        return LateralOffsetProfile(plateaus)

    def speed_limits(self, target: BayTarget | None) -> SpeedProfile:
        """Ramps into and out of a bay are driven slowly."""
        limits = []
        if target is not None and target.plateau is not None:
            limits.append(target.plateau.limit(BAY_SPEED_CAP_MPS, f"ramp into {target.stop.name}"))
        if self._departure is not None:
            limits.append(self._departure.limit(BAY_SPEED_CAP_MPS, "ramp back onto the lane"))
        return SpeedProfile(tuple(limits))

    def limits(self, path: ReferencePath, target: BayTarget | None) -> list[Limit]:
        """Where the route stops the van: base_link may reach the last path sample, no further;
        the next bay's stop pose."""
        limits = [
            Limit(
                ("end",),
                State.APPROACH_STOP,
                "end of route",
                float(path.s_m[-1]) + self.body.front_bumper_m,
            )
        ]
        if target is None:
            return limits
        # The MPC comes to rest STOP_SHORT_M before a stop point: the bay's lies that much past the
        # stop pose, so the van rests on the pose (and may overshoot it by no more).
        name = target.stop.name
        return limits + [
            Limit(
                ("bay", name),
                State.APPROACH_STOP,
                f"delivery stop {name}",
                target.s_m + self.body.front_bumper_m + mpc.STOP_SHORT_M,
            )
        ]


def _bay_ramp_length_m(offset_m: float) -> float:
    """Half-cosine ramp whose peak curvature π² |d| / (2 L²) is BAY_RAMP_CURVATURE_1PM."""
    return math.pi * math.sqrt(abs(offset_m) / (2.0 * BAY_RAMP_CURVATURE_1PM))
