"""Scripted actors: road users and obstacles that follow a scenario's script, deterministically.

Each actor stands on its first waypoint until its start trigger fires (and that waypoint's wait_s
has passed), then moves its box centre along its waypoint path (arc length `s`) from rest,
speeding up and slowing down at its accel_mps2 and looking ahead so that it comes to rest exactly
at waypoints with a wait and at the end of a path that does not loop. Triggers (start, brake) fire
once. There is no randomness and no reaction to the van beyond the triggers: the script is the
same in every run.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from robovan_autonomy.sim.scenario import ActorSpec, Trigger

ARRIVAL_TOLERANCE_M = 1e-6  # this close to a stop point an actor is on it
TIME_EPS_S = 1e-9  # step times are sums of float dt: 3.0 may arrive as 2.9999999999999996


@dataclasses.dataclass(frozen=True)
class ActorState:
    """One actor at one instant, map frame, SI units; field names follow /perception/objects."""

    id: str
    track_id: int  # 1-based index in the scenario, stable for the run
    type: str
    class_id: int
    x: float
    y: float
    yaw: float
    speed: float
    vx: float
    vy: float
    length: float
    width: float
    height: float


class _PathGeometry:
    """A polyline with cumulative arc length; closed (last → first) when the actor loops."""

    def __init__(self, spec: ActorSpec):
        points = [(w.x, w.y) for w in spec.path]
        if spec.loop:
            points.append(points[0])
        self.xy = np.array(points, dtype=float)
        seg = np.diff(self.xy, axis=0)
        self.seg_len = np.hypot(seg[:, 0], seg[:, 1])
        self.seg_yaw = np.arctan2(seg[:, 1], seg[:, 0])
        self.s_at = np.concatenate(([0.0], np.cumsum(self.seg_len)))  # arc length of each vertex
        self.length = float(self.s_at[-1])
        speeds = [w.speed_mps if w.speed_mps is not None else spec.speed_mps for w in spec.path]
        self.seg_speed = np.array(speeds[: len(self.seg_len)], dtype=float)
        waits = [w.wait_s for w in spec.path] + ([spec.path[0].wait_s] if spec.loop else [])
        if not spec.loop:
            waits[-1] = math.inf  # the end of a path that does not loop: stays there
        self.wait_at_vertex = np.array(waits, dtype=float)
        self.loop = spec.loop

    def segment(self, s: float) -> int:
        return int(min(np.searchsorted(self.s_at, s, side="right") - 1, len(self.seg_len) - 1))

    def pose(self, s: float) -> tuple[float, float, float]:
        i = self.segment(s)
        frac = (s - self.s_at[i]) / self.seg_len[i]
        x, y = self.xy[i] + frac * (self.xy[i + 1] - self.xy[i])
        return float(x), float(y), float(self.seg_yaw[i])

    def _upcoming(self, s: float):
        """(vertex, distance ahead) for the vertices after s, one lap round for a loop."""
        first = self.segment(s) + 1
        for j in range(first, len(self.s_at)):
            yield j, self.s_at[j] - s
        if self.loop:
            for j in range(1, first):
                yield j, self.s_at[j] + self.length - s

    def _is_stop(self, vertex: int) -> bool:
        return self.wait_at_vertex[vertex] > 0.0

    def speed_limit(
        self, s: float, v0_mps: float, accel_mps2: float, dt_s: float
    ) -> tuple[float, int | None, float]:
        """(highest speed at the end of this step, next stop vertex, distance to it).

        The actor must still be able to slow at accel_mps2 to each later segment's speed, and to
        rest on the next stop, from where it will be at the end of the step: v1 solves
        v1² = limit² + 2·a·(dist − (v0 + v1)·dt/2), the trapezoid rule the step integrates with,
        so an actor on its braking curve stays on it and arrives at rest."""
        cap = float(self.seg_speed[self.segment(s)])
        a_dt = accel_mps2 * dt_s
        for j, dist in self._upcoming(s):
            stop = self._is_stop(j)
            limit = 0.0 if stop else float(self.seg_speed[j % len(self.seg_len)])
            c = limit**2 + 2.0 * accel_mps2 * dist - a_dt * v0_mps
            reach = 0.0 if c <= 0.0 else 0.5 * (math.sqrt(a_dt**2 + 4.0 * c) - a_dt)
            cap = min(cap, max(limit, reach))  # at the later limit itself it can always be
            if stop:
                return cap, j, dist
        return cap, None, math.inf


class _Actor:
    def __init__(self, spec: ActorSpec, track_id: int):
        self.spec, self.track_id = spec, track_id
        self.geom = None if spec.stationary else _PathGeometry(spec)
        self.s_m = 0.0
        self.speed_mps = 0.0
        self.yaw_rad = spec.yaw if spec.stationary else float(self.geom.seg_yaw[0])
        self.started = False
        self.brake_fired = False
        self.hold_until_s = -math.inf  # standing still (wait or brake hold) until this time
        self.braking = False

    def position(self) -> tuple[float, float]:
        if self.geom is None:
            return self.spec.path[0].x, self.spec.path[0].y
        x, y, _ = self.geom.pose(self.s_m)
        return x, y

    def _fires(self, trigger: Trigger, t_s: float, van_xy: tuple[float, float]) -> bool:
        if trigger.time_s is not None:
            return t_s >= trigger.time_s - TIME_EPS_S
        ref = (trigger.point.x, trigger.point.y) if trigger.point is not None else self.position()
        return math.hypot(van_xy[0] - ref[0], van_xy[1] - ref[1]) <= trigger.van_within_m

    def step(self, t0_s: float, van_xy: tuple[float, float], dt_s: float) -> None:
        """Advance from t0_s to t0_s + dt_s; triggers are judged at t0_s."""
        if self.geom is None:
            return
        if not self.started and self._fires(self.spec.start, t0_s, van_xy):
            self.started = True
            self.hold_until_s = t0_s + float(self.geom.wait_at_vertex[0])
        brake = self.spec.brake
        if (
            self.started
            and brake is not None
            and not self.brake_fired
            and self._fires(brake.trigger, t0_s, van_xy)
        ):
            self.brake_fired = self.braking = True
        if not self.started or t0_s < self.hold_until_s - TIME_EPS_S:
            return
        if self.braking:
            self._brake(brake.decel_mps2, brake.hold_s, t0_s, dt_s)
        else:
            self._cruise(t0_s, dt_s)

    def _brake(self, decel_mps2: float, hold_s: float | None, t0_s: float, dt_s: float) -> None:
        t_stop_s = self.speed_mps / decel_mps2
        if t_stop_s <= dt_s:
            self._advance(self.speed_mps**2 / (2.0 * decel_mps2), 0.0)
            self.braking = False
            self.hold_until_s = math.inf if hold_s is None else t0_s + t_stop_s + hold_s
        else:
            v1 = self.speed_mps - decel_mps2 * dt_s
            self._advance(0.5 * (self.speed_mps + v1) * dt_s, v1)

    def _cruise(self, t0_s: float, dt_s: float) -> None:
        accel = self.spec.accel_mps2
        cap, stop_vertex, stop_dist = self.geom.speed_limit(self.s_m, self.speed_mps, accel, dt_s)
        v0 = self.speed_mps
        v1 = min(cap, v0 + accel * dt_s) if cap >= v0 else max(cap, v0 - accel * dt_s)
        ds = 0.5 * (v0 + v1) * dt_s
        if stop_vertex is not None and ds >= stop_dist - ARRIVAL_TOLERANCE_M:
            self._arrive(stop_vertex, t0_s + dt_s)
        else:
            self._advance(ds, v1)

    def _arrive(self, vertex: int, t_s: float) -> None:
        """Rest exactly on a stop vertex: wait there, or stay for good at the end of the path."""
        self.speed_mps = 0.0
        self.yaw_rad = float(self.geom.seg_yaw[vertex - 1])
        if self.geom.loop and vertex == len(self.geom.s_at) - 1:
            self.s_m = 0.0
        else:
            self.s_m = float(self.geom.s_at[vertex])
        self.hold_until_s = t_s + float(self.geom.wait_at_vertex[vertex])

    def _advance(self, ds_m: float, speed_mps: float) -> None:
        self.s_m += ds_m
        if self.geom.loop:
            self.s_m %= self.geom.length
        else:
            self.s_m = min(self.s_m, self.geom.length)
        self.speed_mps = speed_mps
        if ds_m > 0.0:
            self.yaw_rad = self.geom.pose(self.s_m)[2]

    def state(self) -> ActorState:
        x, y = self.position()
        size = self.spec.size
        v = self.speed_mps
        return ActorState(
            id=self.spec.id,
            track_id=self.track_id,
            type=self.spec.type,
            class_id=int(self.spec.class_id),
            x=x,
            y=y,
            yaw=self.yaw_rad,
            speed=v,
            vx=v * math.cos(self.yaw_rad),
            vy=v * math.sin(self.yaw_rad),
            length=size.length_m,
            width=size.width_m,
            height=size.height_m,
        )


class ScriptedActors:
    """All actors of a scenario. Call update() once per simulation step, in time order."""

    def __init__(self, specs: Sequence[ActorSpec]):
        self._actors = [_Actor(spec, i + 1) for i, spec in enumerate(specs)]

    def states(self) -> list[ActorState]:
        return [a.state() for a in self._actors]

    def update(self, t_s: float, van_pose: Sequence[float], dt_s: float) -> list[ActorState]:
        """Advance every actor from t_s - dt_s to t_s and return their states at t_s.

        van_pose is (x, y, yaw) of the van's base_link at the start of the step; time and
        distance triggers are judged then, so an actor with start time_s = T first moves in the
        step that begins at T.
        """
        van_xy = (float(van_pose[0]), float(van_pose[1]))
        for actor in self._actors:
            actor.step(t_s - dt_s, van_xy, dt_s)
        return self.states()
