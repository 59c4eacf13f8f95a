"""BehaviourPlanner, the behaviour's public face: it keeps only what the step itself needs (turn
rates, how long the van has stood), asks each rule set in turn, and builds the decision."""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType

import numpy as np

from robovan_autonomy.core_types import TrafficLightState
from robovan_autonomy.planning import mpc
from robovan_autonomy.planning.behaviour.arbitration import Arbitration
from robovan_autonomy.planning.behaviour.bays import Bays
from robovan_autonomy.planning.behaviour.blockages import Blockages
from robovan_autonomy.planning.behaviour.common import (
    OBJECT_WINDOW_AHEAD_M,
    OBJECT_WINDOW_BEHIND_M,
    Body,
    PathObjects,
    Timer,
)
from robovan_autonomy.planning.behaviour.crosswalks import Crosswalks
from robovan_autonomy.planning.behaviour.decision import (
    BehaviourDecision,
    BehaviourEvent,
    LateralOffsetProfile,
    State,
)
from robovan_autonomy.planning.behaviour.dwell import Dwell, Hold
from robovan_autonomy.planning.behaviour.mirrors import Mirrors
from robovan_autonomy.planning.behaviour.mission import MissionProgress
from robovan_autonomy.planning.behaviour.objects import ObjectLimits
from robovan_autonomy.planning.behaviour.passing import Passing, Reroute
from robovan_autonomy.planning.behaviour.stop_lines import StopLines
from robovan_autonomy.planning.behaviour.traffic_lights import TrafficLights
from robovan_autonomy.planning.prediction import (
    Horizon,
    Prediction,
    TurnRateEstimator,
    predict_objects,
)
from robovan_autonomy.planning.route import ReferencePath
from robovan_autonomy.planning.speed_limits import SpeedLimit, SpeedProfile
from robovan_autonomy.vehicle_params import STANDSTILL_SPEED_MPS, VehicleParams

# Objects farther than this from the van are not looked at, m: the window ahead plus 60 m that a
# 50 km/h road user covers over the horizon. Most of the district's parked cars lie beyond it,
# and predicting and projecting them was most of a step's time.
OBJECT_RANGE_M = OBJECT_WINDOW_AHEAD_M + 60.0
# Objects handed to the MPC: within this lateral distance of the path at some stage, m (own and
# oncoming lane, parking strip and kerb); the MPC keeps the nearest few. Not those the van stops
# or follows behind (limits keyed by these), whose stop point keeps it clear of them.
MPC_OBJECT_LATERAL_M = 10.0
STOP_FOR_KEYS = ("obstacle", "lead", "caution")
NO_SIGNALS_SEEN: Mapping[int, TrafficLightState] = MappingProxyType({})


class BehaviourPlanner:
    """The state machine. One instance per run; `step` at the object-table rate (10 Hz)."""

    def __init__(
        self,
        vehicle: VehicleParams,
        horizon: Horizon,
        crosswalk_polygons: Mapping[int, np.ndarray] | None = None,
    ):
        """crosswalk_polygons: the crosswalks' map-frame outlines, as Crosswalks takes them."""
        self.horizon = horizon
        self.body = Body.of(vehicle)
        self.hard_min_accel_mps2 = vehicle.min_accel_mps2
        self._turn_rates = TurnRateEstimator()
        self._standstill = Timer()
        self.blockages = Blockages(self.body)
        self.dwell = Dwell()
        self.bays = Bays(self.body)
        self.stop_lines = StopLines(self.body)
        self.traffic_lights = TrafficLights(self.body, -vehicle.min_accel_mps2)
        self.crosswalks = Crosswalks(crosswalk_polygons)
        self.object_limits = ObjectLimits(self.body)
        self.mirrors = Mirrors(self.body)
        self.passing = Passing(self.body, self.blockages)
        self.reroute = Reroute()
        self.arbitration = Arbitration(horizon)

    def forget_path(self) -> None:
        """The planner has a new route: arc lengths on the old one (a pass, a departure ramp, a
        held stop point, a released stop line) mean nothing on it."""
        for owner in (
            self.passing,
            self.bays,
            self.stop_lines,
            self.traffic_lights,
            self.arbitration,
        ):
            owner.forget_path()

    # -- the step ---------------------------------------------------------------------------------
    def step(
        self,
        t_s: float,
        van: mpc.VanState,
        path: ReferencePath,
        s_van_m: float,
        objects: np.ndarray,
        progress: MissionProgress,
        signals: Mapping[int, TrafficLightState] = NO_SIGNALS_SEEN,
    ) -> BehaviourDecision:
        """One decision. `van` needs x_m, y_m, yaw_rad, speed_mps; `s_van_m` is base_link's arc
        length; signals: what each traffic light shows now, by id (one missing is not seen)."""
        events: list[BehaviourEvent] = []
        s_front = s_van_m + self.body.front_bumper_m
        standing = van.speed_mps < STANDSTILL_SPEED_MPS
        standing_s = self._standstill.update(t_s, standing)
        objects = objects[
            np.hypot(objects["x"] - van.x_m, objects["y"] - van.y_m) <= OBJECT_RANGE_M
        ]
        prediction = predict_objects(objects, self.horizon, self._turn_rates.update(t_s, objects))
        objs = PathObjects.build(prediction, path, s_van_m)
        self.blockages.update(t_s, objects)
        nearby = self._nearby_obstacles(objs, s_van_m, van)

        # 1. Mission: dwelling, arriving, done.
        progress, hold = self.dwell.hold(t_s, s_front, progress, events)
        if hold is not None:
            return self._hold(t_s, hold, nearby, events, progress, s_van_m)
        target = self.bays.target(path, progress)
        at_bay = self.bays.arrive(t_s, van, s_van_m, standing_s, target, events)
        if at_bay is not None:
            hold = self.dwell.start(t_s, target.stop, s_front, at_bay)
            return self._hold(t_s, hold, nearby, events, progress, s_van_m)

        # 2. The reference offset without a pass: a bay ahead, a ramp back after standing off it.
        base_offset = self.bays.offset(
            path, s_van_m, van, standing, target, self.passing.plateaus()
        )

        # 3. Passing, then who is in the path of the (possibly offset) van.
        base_gap = objs.lateral_gap_m(base_offset, self.body.half_width_m)
        check = self.passing.check(t_s, objs, base_gap, path, s_van_m, van.speed_mps)
        offset = LateralOffsetProfile(base_offset.plateaus + self.passing.plateaus())
        speed = (
            self.bays.speed_limits(target)
            + self.passing.speed_limits()
            + self.object_limits.kerbside_limits(objs, base_gap, s_front)
            + self.blockages.occlusion_limits(t_s, objs, path, s_front)
        )

        # 4. Limits, the binding one, the state.
        limits = self.bays.limits(path, target)
        limits += self.stop_lines.limits(t_s, path, s_front, standing, objs, events)
        limits += self.traffic_lights.limits(
            t_s, path, s_front, van.speed_mps, standing, signals, objs, events
        )
        limits += self.crosswalks.limits(t_s, path, s_front, van.speed_mps, objs)
        limits += self.object_limits.limits(t_s, objs, offset, s_front, van.speed_mps, check)
        limits += self.mirrors.limits(t_s, objs, offset, s_front, van.speed_mps, speed)
        binding, s_stop, per_stage, state, reason = self.arbitration.arbitrate(
            t_s, limits, s_front, van.speed_mps, standing, self.passing.reason
        )
        self.reroute.check(t_s, binding, check, standing, path, objs, events)
        for owner in (self.crosswalks, self.object_limits, self.mirrors, self.arbitration):
            owner.sweep(t_s)

        speed += SpeedProfile(
            tuple(
                SpeedLimit(s_van_m, math.inf, lim.speed_cap_mps, lim.reason)
                for lim in limits
                if math.isfinite(lim.speed_cap_mps)
            )
        )
        if state in (State.STOP_LINE_WAIT, State.TRAFFIC_LIGHT_WAIT):
            speed += SpeedProfile((SpeedLimit(s_van_m, math.inf, 0.0, reason),))
        # Yielding to someone who is not in the way yet calls for emergency braking only when they
        # would be by the time the van gets there.
        urgent = max(
            s_stop, min((lim.s_front_m for lim in limits if not lim.gentle), default=math.inf)
        )
        # What the van stops for is the stop point's business: as an MPC obstacle too, it only made
        # the plan swerve (out of comfort) whenever the stop could not be met in full.
        stopping_for = [lim.key[1] for lim in limits if lim.key[0] in STOP_FOR_KEYS]
        nearby = nearby.subset(~np.isin(nearby.track_id, stopping_for)) if stopping_for else nearby
        return self._decision(
            t_s,
            state,
            reason,
            s_stop,
            per_stage,
            speed,
            van.speed_mps,
            s_front,
            urgent,
            offset,
            nearby,
            events,
            progress,
        )

    # -- output -----------------------------------------------------------------------------------
    def _nearby_obstacles(self, objs: PathObjects, s_van_m: float, van: mpc.VanState) -> Prediction:
        p = objs.prediction
        if len(p) == 0:
            return p
        near_path = (np.abs(objs.d_m) < MPC_OBJECT_LATERAL_M).any(axis=1)
        in_window = (objs.s_front_m.max(axis=1) > s_van_m - OBJECT_WINDOW_BEHIND_M) & (
            objs.s_rear_m.min(axis=1) < s_van_m + OBJECT_WINDOW_AHEAD_M
        )
        rows = np.flatnonzero(near_path & in_window)
        rows = rows[np.argsort(np.hypot(p.x_m[rows, 0] - van.x_m, p.y_m[rows, 0] - van.y_m))]
        return p.subset(rows)

    def _hold(
        self,
        t_s: float,
        hold: Hold,
        nearby: Prediction,
        events: list[BehaviourEvent],
        progress: MissionProgress,
        s_van_m: float,
    ) -> BehaviourDecision:
        """Stand where the van is: the stop point at the bumper as it was when the hold began."""
        self.arbitration.hold(hold.front_m)
        n1 = self.horizon.n_stages + 1
        standing = SpeedProfile((SpeedLimit(-math.inf, math.inf, 0.0, hold.reason),))
        return BehaviourDecision(
            t_s,
            hold.state,
            hold.reason,
            hold.front_m,
            hold.front_m - self.body.front_bumper_m,
            np.full(n1, hold.front_m),
            s_van_m,
            standing,
            mpc.COMFORT_MIN_ACCEL_MPS2,
            hold.offset,
            nearby,
            tuple(events),
            progress,
        )

    def _decision(
        self,
        t_s: float,
        state: State,
        reason: str,
        s_stop: float,
        per_stage: np.ndarray,
        speed: SpeedProfile,
        speed_mps: float,
        s_front: float,
        urgent_front_m: float,
        offset: LateralOffsetProfile,
        nearby: Prediction,
        events: list[BehaviourEvent],
        progress: MissionProgress,
    ) -> BehaviourDecision:
        room = urgent_front_m - s_front
        needed = math.inf if room <= 0.0 else speed_mps**2 / (2.0 * room)
        # A stop point closer than comfort braking reaches: the MPC may use the van's full braking.
        emergency = speed_mps > STANDSTILL_SPEED_MPS and needed > -mpc.COMFORT_MIN_ACCEL_MPS2
        min_accel = self.hard_min_accel_mps2 if emergency else mpc.COMFORT_MIN_ACCEL_MPS2
        return BehaviourDecision(
            t_s,
            state,
            reason,
            s_stop,
            s_stop - self.body.front_bumper_m,
            per_stage,
            s_front - self.body.front_bumper_m,
            speed,
            min_accel,
            offset,
            nearby,
            tuple(events),
            progress,
        )
