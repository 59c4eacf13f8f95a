"""The planner's core: route → behaviour → MPC, one cycle per call, no ROS.

The node feeds it the latest pose, the van's actuator state and the object table; it returns the
command schedule to publish, the planned poses, and what happened (events, health) for
diagnostics. Anything it cannot plan with (no route, NaN or stale inputs, repeated solver
failures) yields a controlled-stop schedule and a reason, never silence. A reroute request from
the behaviour (a blockage it cannot pass) closes that lanelet for the next route, which is
planned from wherever the van is on the following cycle.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import numpy as np

from robovan_autonomy.core_types import TrafficLightState
from robovan_autonomy.mapping.lanelet_map import DistrictMap
from robovan_autonomy.planning import mpc
from robovan_autonomy.planning.behaviour import (
    BehaviourDecision,
    BehaviourPlanner,
    EventKind,
    MissionProgress,
    MissionStop,
    mpc_limits,
    mpc_obstacles,
    mpc_reference_path,
)
from robovan_autonomy.planning.prediction import Horizon, project_to_path
from robovan_autonomy.planning.route import ReferencePath, RouteError, plan_route, stop_pose
from robovan_autonomy.vehicle_params import (
    STANDSTILL_HOLD_ACCEL_MPS2,
    STANDSTILL_SPEED_MPS,
    VehicleParams,
)

CONTROLLED_STOP_DECEL_MPS2 = 2.0  # comfortable and well inside the MRM's 2.0 m/s² budget
CONTROLLED_STOP_JERK_MPS3 = 2.0  # the comfort jerk limit, so a stop never jolts
PROJECTION_WINDOW_M = 40.0  # search for the van's arc length this far around the last one
MAX_FAILURES_BEFORE_MRM = 3  # consecutive solver failures before a minimal-risk stop is asked
# The stretch of route handed to the MPC around the van, m: behind it, room for its projection;
# ahead, a 4.1 s plan at the ODD's 40 km/h (46 m), its front bumper and margin.
MPC_PATH_BEHIND_M = 10.0
MPC_PATH_AHEAD_M = 80.0


@dataclasses.dataclass(frozen=True)
class PlannerInput:
    stamp_s: float
    x_m: float
    y_m: float
    yaw_rad: float
    speed_mps: float
    steer_rad: float
    accel_mps2: float
    objects: np.ndarray
    # What each traffic light shows, by id, from a recent report; a signal missing is not seen.
    traffic_lights: Mapping[int, TrafficLightState] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class PlanOutput:
    schedule: mpc.CommandSchedule
    poses: np.ndarray  # (N, 3) x, y, yaw of the plan, for /planning/trajectory
    state: str  # behaviour state, or why the planner is stopping
    ok: bool  # False: a controlled stop for a reason in `state`
    reason: str  # what the state is for ("following 228"): for people reading diagnostics
    solve_time_ms: float
    solver_ok: bool
    request_mrm: bool
    events: tuple[str, ...]
    mission_complete: bool
    speed_limit: tuple[float, str] = (math.inf, "")  # the cap on the van's speed now, and why


def controlled_stop_schedule(
    speed_mps: float, steer_rad: float, accel_mps2: float, horizon_s: float, step_s: float
) -> mpc.CommandSchedule:
    """Jerk-limited braking to standstill, wheel held: what to send when there is no plan."""
    t = np.arange(0.0, horizon_s + 1e-9, step_s)
    accel = np.empty_like(t)
    speed = np.empty_like(t)
    a, v = min(accel_mps2, 0.0), max(speed_mps, 0.0)
    for i in range(len(t)):
        target = (
            -CONTROLLED_STOP_DECEL_MPS2 if v > STANDSTILL_SPEED_MPS else STANDSTILL_HOLD_ACCEL_MPS2
        )
        a = (
            max(a - CONTROLLED_STOP_JERK_MPS3 * step_s, target)
            if a > target
            else min(a + CONTROLLED_STOP_JERK_MPS3 * step_s, target)
        )
        accel[i], speed[i] = a, v
        v = max(0.0, v + a * step_s)
    return mpc.CommandSchedule(t, np.full_like(t, steer_rad), np.zeros_like(t), speed, accel)


class Planner:
    def __init__(
        self,
        district: DistrictMap,
        vehicle: VehicleParams,
        mission: list[tuple[str, float]],
        config: mpc.MpcConfig | None = None,
    ):
        self.district, self.vehicle = district, vehicle
        self.config = config or mpc.MpcConfig.from_vehicle(vehicle)
        self.mpc = mpc.MpcPlanner(self.config)
        horizon = Horizon(
            self.config.horizon_steps, self.config.step_s, self.config.prediction_time_s
        )
        self.behaviour = BehaviourPlanner(
            vehicle,
            horizon,
            crosswalk_polygons={cw.id: cw.polygon for cw in district.crosswalks.values()},
        )
        try:
            poses = [stop_pose(district, name) for name, _ in mission]
        except RouteError as err:
            raise RouteError(f"mission stop: {err}") from None
        self.progress = MissionProgress(
            tuple(
                MissionStop.at_bay(name, dwell_s, pose, vehicle)
                for (name, dwell_s), pose in zip(mission, poses)
            ),
            0,
        )
        self.route: ReferencePath | None = None
        self.blocked_lanelet_ids: set[int] = set()
        self.s_van_m: float | None = None
        self.last_decision: BehaviourDecision | None = None

    def _plan_route(self, inputs: PlannerInput) -> None:
        """Route from the van through the remaining stops around the lanelets reported blocked;
        when no such route exists (the van stands on a blocked lanelet, or it holds a stop) the
        blockages are forgotten and the van waits on the direct route."""
        remaining = [stop.name for stop in self.progress.stops[self.progress.served :]]
        pose = (inputs.x_m, inputs.y_m, inputs.yaw_rad)
        try:
            self.route = plan_route(
                self.district,
                pose,
                remaining,
                vehicle=self.vehicle,
                blocked_lanelet_ids=self.blocked_lanelet_ids,
            )
        except RouteError:
            if not self.blocked_lanelet_ids:
                raise
            self.blocked_lanelet_ids.clear()
            self.route = plan_route(self.district, pose, remaining, vehicle=self.vehicle)
        self.s_van_m = None
        self.behaviour.forget_path()

    def _arc_length(self, inputs: PlannerInput) -> float:
        route = self.route
        low = -math.inf if self.s_van_m is None else self.s_van_m - PROJECTION_WINDOW_M
        high = math.inf if self.s_van_m is None else self.s_van_m + PROJECTION_WINDOW_M
        coords = project_to_path(
            route.x_m,
            route.y_m,
            route.s_m,
            np.array([inputs.x_m]),
            np.array([inputs.y_m]),
            low,
            high,
        )
        self.s_van_m = float(coords.s_m[0])
        return self.s_van_m

    def stop(self, inputs: PlannerInput, reason: str) -> PlanOutput:
        schedule = controlled_stop_schedule(
            inputs.speed_mps if math.isfinite(inputs.speed_mps) else 0.0,
            inputs.steer_rad if math.isfinite(inputs.steer_rad) else 0.0,
            inputs.accel_mps2 if math.isfinite(inputs.accel_mps2) else 0.0,
            self.config.prediction_time_s + self.config.horizon_steps * self.config.step_s,
            self.config.step_s,
        )
        pose = np.array([[inputs.x_m, inputs.y_m, inputs.yaw_rad]])
        return PlanOutput(
            schedule,
            pose if np.all(np.isfinite(pose)) else np.zeros((0, 3)),
            reason,
            False,
            reason,
            0.0,
            True,
            False,
            (),
            self.progress.complete,
        )

    def step(self, inputs: PlannerInput) -> PlanOutput:
        values = (
            inputs.x_m,
            inputs.y_m,
            inputs.yaw_rad,
            inputs.speed_mps,
            inputs.steer_rad,
            inputs.accel_mps2,
        )
        if not all(math.isfinite(v) for v in values):
            return self.stop(inputs, "non-finite input")
        if self.route is None:
            try:
                self._plan_route(inputs)
            except RouteError as err:
                return self.stop(inputs, f"no route: {err}")
        state = mpc.VanState(
            inputs.stamp_s,
            inputs.x_m,
            inputs.y_m,
            inputs.yaw_rad,
            inputs.speed_mps,
            inputs.steer_rad,
            inputs.accel_mps2,
        )
        decision = self.behaviour.step(
            inputs.stamp_s,
            state,
            self.route,
            self._arc_length(inputs),
            inputs.objects,
            self.progress,
            inputs.traffic_lights,
        )
        self.progress, self.last_decision = decision.progress, decision
        events = tuple(f"{e.kind.value}: {e.name}" for e in decision.events)
        route = self.route
        blocked = {e.lanelet_id for e in decision.events if e.kind is EventKind.REROUTE_REQUESTED}
        if blocked:
            self.blocked_lanelet_ids |= blocked
            self.route = None  # replanned next cycle, from wherever the van is then
        s_van = self.s_van_m
        tracked = mpc_reference_path(
            route, decision, (s_van - MPC_PATH_BEHIND_M, s_van + MPC_PATH_AHEAD_M)
        )
        reference = self.mpc.sample_reference(tracked, state)
        solution = self.mpc.solve(
            state,
            reference,
            mpc_obstacles(decision),
            decision.s_stop_front_per_stage_m,
            mpc_limits(decision),
        )
        poses = np.column_stack([solution.x_m, solution.y_m, solution.yaw_rad])
        failing = solution.consecutive_failures >= MAX_FAILURES_BEFORE_MRM
        return PlanOutput(
            solution.command_schedule(),
            poses,
            decision.state.value,
            not failing,
            decision.reason,
            solution.solve_time_ms,
            solution.ok,
            failing,
            events,
            self.progress.complete,
            decision.speed_limit,
        )
