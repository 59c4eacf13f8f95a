"""Stop lines: a full stop at the next one, and going on once the intersection beyond is clear."""

from __future__ import annotations

import numpy as np

from robovan_autonomy.perception.classes import ObjectClass
from robovan_autonomy.planning.behaviour.common import (
    IN_PATH_LEAVE_M,
    Body,
    Limit,
    PathObjects,
    Timer,
)
from robovan_autonomy.planning.behaviour.decision import BehaviourEvent, EventKind, State
from robovan_autonomy.planning.route import ReferencePath, RouteStop

# A full stop at a stop line lasts at least this long, s (brief).
FULL_STOP_S = 1.0
# The intersection must look clear this long before the van leaves a stop line, s: five tables.
INTERSECTION_CLEAR_CONFIRM_S = 0.5
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


class StopLines:
    """Owns the full-stop and clear-intersection timers at the line ahead, and the line last
    released (so the van does not stop at it again while still before it)."""

    def __init__(self, body: Body):
        self.body = body
        self._full_stop = Timer()
        self._clear = Timer()
        self._released_line_s: float | None = None

    def forget_path(self) -> None:
        self._released_line_s = None

    def limits(
        self,
        t_s: float,
        path: ReferencePath,
        s_front: float,
        standing: bool,
        objs: PathObjects,
        events: list[BehaviourEvent],
    ) -> list[Limit]:
        """Stop at the next stop line; go after a full stop once the intersection is clear."""
        line = next(
            (
                r
                for r in path.stops
                if r.kind == "stop_line" and r.s_m >= s_front and r.s_m != self._released_line_s
            ),
            None,
        )
        return self.stop_then_go(t_s, path, line, s_front, standing, objs, events)

    def stop_then_go(
        self,
        t_s: float,
        path: ReferencePath,
        line: RouteStop | None,
        s_front: float,
        standing: bool,
        objs: PathObjects,
        events: list[BehaviourEvent],
        reason: str = "",
    ) -> list[Limit]:
        """A full stop at `line` (None: there is none ahead), then go once the intersection beyond
        is clear; reason: what the limit says (default: the stop line's)."""
        if self._released_line_s is not None and s_front > self._released_line_s:
            self._released_line_s = None  # passed: a later visit of the same line counts again
        if line is None or line.s_m == self._released_line_s:
            self._full_stop.update(t_s, False)
            self._clear.update(t_s, False)
            return []
        limit = line.s_m - STOP_LINE_SETBACK_M
        at_line = standing and abs(limit - s_front) <= STOP_LINE_REACHED_M
        stopped_s = self._full_stop.update(t_s, at_line)
        clear_s = self._clear.update(
            t_s, at_line and self._intersection_clear(path, line, s_front, objs)
        )
        if stopped_s >= FULL_STOP_S and clear_s >= INTERSECTION_CLEAR_CONFIRM_S:
            self._released_line_s = line.s_m
            events.append(BehaviourEvent(EventKind.STOP_LINE_CLEARED, t_s, line.name))
            return []
        return [
            Limit(
                ("stop_line", line.s_m),
                State.APPROACH_STOP,
                reason or f"stop line {line.name}",
                limit,
            )
        ]

    def _intersection_clear(
        self, path: ReferencePath, line: RouteStop, s_front: float, objs: PathObjects
    ) -> bool:
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
        in_own_lane = np.abs(objs.d_m[:, 0]) < self.body.half_width_m + IN_PATH_LEAVE_M
        own_queue = (objs.s_front_m[:, 0] < s_front) & in_own_lane
        return not np.any(busy & traffic & ~own_queue)
