"""Pure routing core: from a start pose through an ordered list of delivery bays (or goal poses)
to a densely sampled, curvature-continuous reference path with its speed limits, corridor widths
and the places the van must stop.

Lanelet sequences come from the Lanelet2 routing graph (shortest path, vehicle rules). The joined
lane centrelines are resampled every PATH_SPACING_M and smoothed with a Gaussian kernel, which
turns the straight-to-arc joints (where curvature jumps) into continuous-curvature transitions;
heading and curvature come from central differences of the smoothed curve. Nothing is clipped
silently: a route the van cannot steer, or smoothing that would leave the lane centre too far, is
a RouteError.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence

import numpy as np
from scipy.ndimage import gaussian_filter1d

from robovan_autonomy.geometry import arc_length, points_in_polygon
from robovan_autonomy.mapping.lanelet_map import DistrictMap, Lane
from robovan_autonomy.vehicle_params import VehicleParams, load_vehicle_params

PATH_SPACING_M = 0.5
SMOOTHING_SIGMA_M = 1.5  # spreads each curvature step over about ±3 m (a short clothoid)
MAX_SMOOTHING_OFFSET_M = 0.3  # the smoothed path may leave the lane centreline by this much
MAX_LATERAL_ACCEL_MPS2 = 1.4  # comfort (1.5, parcels stay on the shelves) less tracking slack
COMFORT_DECEL_MPS2 = 2.0  # service braking the speed profile may ask for ahead of a curve
MIN_ROUTE_LENGTH_M = 2.0 * PATH_SPACING_M

Pose2D = tuple[float, float, float]  # x_m, y_m, yaw_rad in `map`


class RouteError(ValueError):
    """The requested route cannot be planned; the message says which stop and why."""


class AdjacentKind:
    """What lies beyond a lane bound (ReferencePath.left/right_adjacent_kind)."""

    NONE = 0
    SAME_DIRECTION = 1
    ONCOMING = 2
    DELIVERY_BAY = 3


@dataclasses.dataclass(frozen=True)
class RouteStop:
    kind: str  # 'delivery_bay', 'goal', 'stop_line', 'traffic_light', 'crosswalk'
    name: str  # bay name, 'goal_<k>', intersection name, signal name, crosswalk name
    s_m: float  # where to stop (a stop line, a signal's, bay, goal) or the crosswalk's near edge
    s_end_m: float  # crosswalk's far edge; equals s_m for the others
    lanelet_id: int
    signal_id: int | None = None  # traffic_light: the id its state is reported under


@dataclasses.dataclass(frozen=True, eq=False)
class ReferencePath:
    """Per-sample arrays of equal length N, samples at most PATH_SPACING_M apart."""

    x_m: np.ndarray
    y_m: np.ndarray
    yaw_rad: np.ndarray  # continuous (unwrapped), so it interpolates safely
    curvature_1pm: np.ndarray
    s_m: np.ndarray
    speed_limit_mps: np.ndarray  # min(map limit, ODD limit, curvature limit), decel-reachable
    left_width_m: np.ndarray  # path to the own lane's left bound
    right_width_m: np.ndarray
    left_adjacent_width_m: np.ndarray  # extra width beyond the left bound (0 when none)
    left_adjacent_kind: np.ndarray  # AdjacentKind per sample
    right_adjacent_width_m: np.ndarray
    right_adjacent_kind: np.ndarray
    lanelet_id: np.ndarray  # lanelet of each sample
    lanelet_ids: tuple[int, ...]  # the route's lanelet sequence (a lanelet may recur)
    stops: tuple[RouteStop, ...]  # sorted by s_m
    max_smoothing_offset_m: float

    @property
    def length_m(self) -> float:
        return float(self.s_m[-1])

    def index_at(self, s_m: float) -> int:
        return int(np.clip(np.searchsorted(self.s_m, s_m), 0, len(self.s_m) - 1))


@dataclasses.dataclass(frozen=True)
class _Target:
    kind: str
    name: str
    lanelet_id: int
    s_on_lane_m: float


@dataclasses.dataclass(frozen=True)
class _Span:
    lanelet_id: int
    s_from_m: float
    s_to_m: float


def plan_route(
    dmap: DistrictMap,
    start_pose: Pose2D,
    stops: Sequence[str | Pose2D],
    *,
    blocked_lanelet_ids: Iterable[int] = (),
    vehicle: VehicleParams | None = None,
    spacing_m: float = PATH_SPACING_M,
) -> ReferencePath:
    """Shortest lanelet route from start_pose through `stops` in order (delivery-bay names or goal
    poses), as a ReferencePath. Raises RouteError for an unknown bay, a pose off the map, a stop
    on a blocked lanelet, no route, or a path the van cannot drive."""
    vehicle = vehicle or load_vehicle_params()
    blocked = frozenset(int(i) for i in blocked_lanelet_ids)
    unknown = sorted(blocked - set(dmap.lanes))
    if unknown:
        raise RouteError(
            f"blocked lanelet ids {unknown} are not vehicle lanelets of map {dmap.name}"
        )
    if not stops:
        raise RouteError("no stops given: a route needs at least one delivery bay or goal pose")
    start = _locate(dmap, "start", "start pose", start_pose)
    targets = [_resolve_stop(dmap, stop, k) for k, stop in enumerate(stops)]
    for t in (start, *targets):
        if t.lanelet_id in blocked:
            raise RouteError(f"{t.name} lies on blocked lanelet {t.lanelet_id}")
    spans, target_s = _route_spans(dmap, start, targets, blocked)
    return _reference_path(dmap, spans, targets, target_s, vehicle, spacing_m)


def reroute(
    dmap: DistrictMap,
    start_pose: Pose2D,
    stops: Sequence[str | Pose2D],
    blocked_lanelet_ids: Iterable[int],
    **kwargs,
) -> ReferencePath:
    """plan_route from the current pose with the given lanelets closed (blocked lane, roadworks)."""
    return plan_route(dmap, start_pose, stops, blocked_lanelet_ids=blocked_lanelet_ids, **kwargs)


# --- lanelet route --------------------------------------------------------------------------------


def _locate(dmap: DistrictMap, kind: str, name: str, pose: Pose2D) -> _Target:
    x, y, yaw = (float(v) for v in pose)
    match = dmap.nearest_lane(x, y, yaw)
    if match is None:
        raise RouteError(
            f"{name} ({x:.1f}, {y:.1f}, yaw {yaw:.2f}) is off the map: no lane of "
            f"map {dmap.name} within reach in that heading"
        )
    return _Target(kind, name, match.lanelet_id, match.s_m)


def _resolve_stop(dmap: DistrictMap, stop: str | Pose2D, index: int) -> _Target:
    if isinstance(stop, str):
        bay = dmap.bays.get(stop)
        if bay is None:
            raise RouteError(
                f"unknown delivery bay {stop!r}; map {dmap.name} has {', '.join(dmap.bays)}"
            )
        return _Target("delivery_bay", stop, bay.lanelet_id, bay.lane_s_m)
    return _locate(dmap, "goal", f"goal_{index}", stop)


def _route_spans(
    dmap: DistrictMap, start: _Target, targets: list[_Target], blocked: frozenset[int]
) -> tuple[list[_Span], list[float]]:
    """Lanelet pieces from the start through every target, and each target's distance along them."""
    graph = dmap.routing_graph_without(blocked)
    spans: list[_Span] = []
    target_s: list[float] = []
    here, here_s, travelled = start.lanelet_id, start.s_on_lane_m, 0.0
    for target in targets:
        if target.lanelet_id == here and target.s_on_lane_m >= here_s:
            sequence = [here]
        else:
            sequence = _shortest_sequence(dmap, graph, here, target, blocked)
        for k, lane_id in enumerate(sequence):
            s_from = here_s if k == 0 else 0.0
            s_to = target.s_on_lane_m if k == len(sequence) - 1 else dmap.lanes[lane_id].length_m
            spans.append(_Span(lane_id, s_from, s_to))
            travelled += s_to - s_from
        target_s.append(travelled)
        here, here_s = target.lanelet_id, target.s_on_lane_m
    return spans, target_s


def _shortest_sequence(
    dmap: DistrictMap, graph, here: int, target: _Target, blocked: frozenset[int]
) -> list[int]:
    """Lanelet ids from `here` to the target's lanelet. When the target lies behind us on the
    same lanelet, go round the block: the best path from one of our successors back to it."""
    layer = dmap.lanelet_map.laneletLayer
    if target.lanelet_id != here:
        path = graph.shortestPath(layer[here], layer[target.lanelet_id], 0, False)
        if path is not None:
            return [ll.id for ll in path]
    else:
        loops = []
        for successor in dmap.lanes[here].successor_ids:
            if successor in blocked:
                continue
            path = graph.shortestPath(layer[successor], layer[here], 0, False)
            if path is not None:
                ids = [here] + [ll.id for ll in path]
                loops.append((sum(dmap.lanes[i].length_m for i in ids), ids))
        if loops:
            return min(loops)[1]
    detail = f" avoiding blocked lanelets {sorted(blocked)}" if blocked else ""
    raise RouteError(
        f"no route from lanelet {here} to {target.name} (lanelet {target.lanelet_id}){detail}"
    )


# --- geometry -------------------------------------------------------------------------------------


def _span_points(lane: Lane, span: _Span) -> np.ndarray:
    inner = (lane.s_m > span.s_from_m) & (lane.s_m < span.s_to_m)
    at = np.concatenate([[span.s_from_m], lane.s_m[inner], [span.s_to_m]])
    return np.column_stack(
        [
            np.interp(at, lane.s_m, lane.centerline[:, 0]),
            np.interp(at, lane.s_m, lane.centerline[:, 1]),
        ]
    )


def _raw_centreline(dmap: DistrictMap, spans: list[_Span]) -> tuple[np.ndarray, np.ndarray]:
    """Joined centreline points and their arc length, consecutive duplicates removed."""
    points = np.vstack([_span_points(dmap.lanes[sp.lanelet_id], sp) for sp in spans])
    keep = np.concatenate([[True], np.linalg.norm(np.diff(points, axis=0), axis=1) > 1e-6])
    points = points[keep]
    return points, arc_length(points)


def _smooth(points: np.ndarray, spacing_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gaussian-smoothed points and their first and second derivatives per sample index (central
    differences of the smooth curve). The ends are extended straight along their tangents first,
    so they are not pulled inwards."""
    sigma = SMOOTHING_SIGMA_M / spacing_m
    pad = math.ceil(4.0 * sigma)
    head = points[0] - np.outer(np.arange(pad, 0, -1), points[1] - points[0])
    tail = points[-1] + np.outer(np.arange(1, pad + 1), points[-1] - points[-2])
    smooth = gaussian_filter1d(np.vstack([head, points, tail]), sigma, axis=0, mode="nearest")
    first = np.gradient(smooth, axis=0)
    second = np.gradient(first, axis=0)
    return smooth[pad:-pad], first[pad:-pad], second[pad:-pad]


def _distance_to_polyline(points: np.ndarray, polyline: np.ndarray) -> np.ndarray:
    a, d = polyline[:-1], np.diff(polyline, axis=0)
    rel = points[:, None, :] - a[None, :, :]
    t = np.clip((rel * d).sum(axis=2) / np.maximum((d**2).sum(axis=1), 1e-12), 0.0, 1.0)
    return np.linalg.norm(rel - t[:, :, None] * d[None, :, :], axis=2).min(axis=1)


def _crossings(path: np.ndarray, s: np.ndarray, line: np.ndarray) -> list[float]:
    """Arc lengths where the path polyline crosses a line polyline."""
    p, r = path[:-1], np.diff(path, axis=0)
    found = []
    for q, e in zip(line[:-1], np.diff(line, axis=0)):
        denom = r[:, 0] * e[1] - r[:, 1] * e[0]
        ok = np.abs(denom) > 1e-12
        qp = q - p
        t = np.where(ok, (qp[:, 0] * e[1] - qp[:, 1] * e[0]) / np.where(ok, denom, 1.0), -1.0)
        u = np.where(ok, (qp[:, 0] * r[:, 1] - qp[:, 1] * r[:, 0]) / np.where(ok, denom, 1.0), -1.0)
        hit = ok & (t >= 0.0) & (t < 1.0) & (u >= 0.0) & (u <= 1.0)
        found += [float(s[i] + t[i] * (s[i + 1] - s[i])) for i in np.flatnonzero(hit)]
    return sorted(found)


def _reference_path(
    dmap: DistrictMap,
    spans: list[_Span],
    targets: list[_Target],
    target_s: list[float],
    vehicle: VehicleParams,
    spacing_m: float,
) -> ReferencePath:
    raw_points, raw_s = _raw_centreline(dmap, spans)
    if raw_s[-1] < MIN_ROUTE_LENGTH_M:
        raise RouteError(f"route is {raw_s[-1]:.2f} m long: the stops coincide with the start")
    u = np.linspace(0.0, raw_s[-1], math.ceil(raw_s[-1] / spacing_m) + 1)
    raw = np.column_stack(
        [np.interp(u, raw_s, raw_points[:, 0]), np.interp(u, raw_s, raw_points[:, 1])]
    )
    xy, d1, d2 = _smooth(raw, spacing_m)
    offset = float(np.linalg.norm(xy - raw, axis=1).max())
    if offset > MAX_SMOOTHING_OFFSET_M:
        raise RouteError(
            f"smoothing moves the path {offset:.2f} m off the lane centre "
            f"(limit {MAX_SMOOTHING_OFFSET_M} m): the lane geometry is too kinked"
        )
    speed = np.hypot(d1[:, 0], d1[:, 1])
    yaw = np.unwrap(np.arctan2(d1[:, 1], d1[:, 0]))
    curvature = (d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0]) / speed**3
    max_curvature = math.tan(vehicle.max_steer_rad) / vehicle.wheelbase_m
    worst = int(np.argmax(np.abs(curvature)))
    if abs(curvature[worst]) > max_curvature:
        raise RouteError(
            f"route needs radius {1 / abs(curvature[worst]):.2f} m at ({xy[worst, 0]:.1f}, "
            f"{xy[worst, 1]:.1f}), tighter than the van's {1 / max_curvature:.2f} m"
        )
    s = arc_length(xy)

    span_start = np.concatenate([[0.0], np.cumsum([sp.s_to_m - sp.s_from_m for sp in spans])])
    span_index = np.clip(np.searchsorted(span_start, u, side="right") - 1, 0, len(spans) - 1)
    lanelet_id = np.array([spans[k].lanelet_id for k in span_index], dtype=np.int64)
    lane_s = u - span_start[span_index] + np.array([spans[k].s_from_m for k in span_index])
    widths = _corridor(dmap, xy, lanelet_id, lane_s)
    limit = _speed_limit(dmap, lanelet_id, curvature, s, vehicle)

    stops = [
        RouteStop(
            t.kind, t.name, float(np.interp(ts, u, s)), float(np.interp(ts, u, s)), t.lanelet_id
        )
        for t, ts in zip(targets, target_s)
    ]
    stops += _crossing_stops(dmap, xy, s, set(lanelet_id.tolist()))
    return ReferencePath(
        x_m=xy[:, 0],
        y_m=xy[:, 1],
        yaw_rad=yaw,
        curvature_1pm=curvature,
        s_m=s,
        speed_limit_mps=limit,
        **widths,
        lanelet_id=lanelet_id,
        lanelet_ids=tuple(
            sp.lanelet_id
            for k, sp in enumerate(spans)
            if k == 0 or sp.lanelet_id != spans[k - 1].lanelet_id
        ),
        stops=tuple(sorted(stops, key=lambda st: (st.s_m, st.kind, st.name))),
        max_smoothing_offset_m=offset,
    )


def _corridor(
    dmap: DistrictMap, xy: np.ndarray, lanelet_id: np.ndarray, lane_s: np.ndarray
) -> dict:
    """Distances to the own lane's bounds, and what lies beyond them: a same-direction lane, the
    oncoming lane, or (on the right) a delivery bay."""
    n = len(xy)
    out = {
        "left_width_m": np.zeros(n),
        "right_width_m": np.zeros(n),
        "left_adjacent_width_m": np.zeros(n),
        "right_adjacent_width_m": np.zeros(n),
        "left_adjacent_kind": np.full(n, AdjacentKind.NONE, dtype=np.int8),
        "right_adjacent_kind": np.full(n, AdjacentKind.NONE, dtype=np.int8),
    }
    for lane_id in np.unique(lanelet_id):
        idx = np.flatnonzero(lanelet_id == lane_id)
        lane, pts = dmap.lanes[int(lane_id)], xy[idx]
        left = _distance_to_polyline(pts, lane.left_bound)
        right = _distance_to_polyline(pts, lane.right_bound)
        out["left_width_m"][idx], out["right_width_m"][idx] = left, right
        if lane.left_id is not None:
            beyond, kind = dmap.lanes[lane.left_id].left_bound, AdjacentKind.SAME_DIRECTION
        elif lane.oncoming_id is not None:
            beyond, kind = dmap.lanes[lane.oncoming_id].right_bound, AdjacentKind.ONCOMING
        else:
            beyond = None
        if beyond is not None:
            out["left_adjacent_width_m"][idx] = _distance_to_polyline(pts, beyond) - left
            out["left_adjacent_kind"][idx] = kind
        if lane.right_id is not None:
            out["right_adjacent_width_m"][idx] = (
                _distance_to_polyline(pts, dmap.lanes[lane.right_id].right_bound) - right
            )
            out["right_adjacent_kind"][idx] = AdjacentKind.SAME_DIRECTION
            continue
        for bay in dmap.bays.values():
            if bay.lanelet_id != lane.id:
                continue
            # The bay and the free kerbside strip before and after it: room to pull in and out.
            offset = lane_s[idx] - bay.lane_s_m
            half = bay.length_m / 2.0
            beside = (offset >= -half - bay.approach_m) & (offset <= half + bay.exit_m)
            out["right_adjacent_width_m"][idx[beside]] = bay.width_m
            out["right_adjacent_kind"][idx[beside]] = AdjacentKind.DELIVERY_BAY
    return out


def _speed_limit(
    dmap: DistrictMap,
    lanelet_id: np.ndarray,
    curvature: np.ndarray,
    s: np.ndarray,
    vehicle: VehicleParams,
) -> np.ndarray:
    """Map limit, ODD limit and the lateral-acceleration limit on curvature, then a backward pass
    so that every drop can be reached braking at COMFORT_DECEL_MPS2."""
    lane_limit = np.array([dmap.lanes[int(i)].speed_limit_mps for i in lanelet_id])
    with np.errstate(divide="ignore"):
        curve_limit = np.sqrt(MAX_LATERAL_ACCEL_MPS2 / np.abs(curvature))
    limit = np.minimum(np.minimum(lane_limit, vehicle.max_speed_odd_mps), curve_limit)
    ds = np.diff(s)
    for i in range(len(limit) - 2, -1, -1):
        limit[i] = min(limit[i], math.sqrt(limit[i + 1] ** 2 + 2.0 * COMFORT_DECEL_MPS2 * ds[i]))
    return limit


def _crossing_stops(
    dmap: DistrictMap, xy: np.ndarray, s: np.ndarray, on_route: set[int]
) -> list[RouteStop]:
    """Stop lines and signals' stop lines of route lanelets, and crosswalks, where the path
    actually crosses them."""
    stops = []
    for line in dmap.stop_lines.values():
        if line.lanelet_id in on_route:
            stops += [
                RouteStop("stop_line", line.intersection, at, at, line.lanelet_id)
                for at in _crossings(xy, s, line.points)
            ]
    for light in dmap.traffic_lights.values():
        if light.lanelet_id in on_route:
            stops += [
                RouteStop("traffic_light", light.name, at, at, light.lanelet_id, light.id)
                for at in _crossings(xy, s, light.stop_line)
            ]
    for cw in dmap.crosswalks.values():
        edges = _crossings(xy, s, np.vstack([cw.polygon, cw.polygon[:1]]))
        if not edges:
            continue
        starts_inside = bool(points_in_polygon(xy[:1], cw.polygon)[0])
        ends_inside = (len(edges) + starts_inside) % 2 == 1
        bounds = ([0.0] if starts_inside else []) + edges + ([float(s[-1])] if ends_inside else [])
        stops += [
            RouteStop("crosswalk", cw.name, a, b, cw.id) for a, b in zip(bounds[::2], bounds[1::2])
        ]
    return stops
