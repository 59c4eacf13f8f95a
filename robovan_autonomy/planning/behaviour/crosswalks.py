"""Crosswalks: yield to a pedestrian or cyclist on one ahead or about to step onto it."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from robovan_autonomy.geometry import distance_to_polygon
from robovan_autonomy.perception.classes import ObjectClass
from robovan_autonomy.planning import mpc
from robovan_autonomy.planning.behaviour.common import RELEASE_HOLD_S, Latch, Limit, PathObjects
from robovan_autonomy.planning.behaviour.decision import State
from robovan_autonomy.planning.route import ReferencePath, RouteStop
from robovan_autonomy.vehicle_params import STANDSTILL_SPEED_MPS

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


class Crosswalks:
    """Owns the yield latch per crosswalk on the path and the map's crosswalk outlines."""

    def __init__(self, crosswalk_polygons: Mapping[int, np.ndarray] | None = None):
        """crosswalk_polygons: map-frame outlines by crosswalk lanelet id (RouteStop.lanelet_id),
        from DistrictMap.crosswalks; a crosswalk without one is taken as the path-frame rectangle
        between its route edges across the full corridor."""
        self.crosswalk_polygons = dict(crosswalk_polygons or {})
        self._latch = Latch(RELEASE_HOLD_S)

    def sweep(self, t_s: float) -> None:
        self._latch.sweep(t_s)

    def limits(
        self, t_s: float, path: ReferencePath, s_front: float, speed_mps: float, objs: PathObjects
    ) -> list[Limit]:
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
                dist, direction = distance_to_polygon(p.x_m[walkers, 0], p.y_m[walkers, 0], polygon)
                toward = p.vx_mps[walkers] * direction[:, 0] + p.vy_mps[walkers] * direction[:, 1]
                on = dist <= 0.0
                enter = bool(
                    np.any(on | ((dist < CROSSWALK_NEAR_M) & (toward > HEADING_TO_SPEED_MPS)))
                )
                stay = bool(np.any(on | ((dist < CROSSWALK_LEAVE_M) & (toward > 0.0))))
            # Committed: already on it, or moving too fast to stop before it gently.
            yield_point = cw.s_m - CROSSWALK_SETBACK_M
            room = yield_point - s_front
            committed = cw.s_m <= s_front or (
                speed_mps >= STANDSTILL_SPEED_MPS
                and (room <= 0.0 or speed_mps**2 / (2.0 * room) > MAX_YIELD_DECEL_MPS2)
            )
            key = ("crosswalk", cw.lanelet_id, cw.s_m)
            if self._latch.update(t_s, key, enter and not committed, stay):
                limits.append(
                    Limit(
                        key, State.YIELD_CROSSWALK, f"yielding at crosswalk {cw.name}", yield_point
                    )
                )
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
