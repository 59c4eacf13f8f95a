"""Pure routing core: from a start pose through an ordered list of delivery stops (bays, lane
positions or goal poses) to a densely sampled, curvature-continuous reference path with its speed
limits, corridor widths and the places the van must stop.

Lanelet sequences come from the Lanelet2 routing graph (shortest path, vehicle rules, with the lane
changes those rules allow). The joined lane centrelines are resampled every PATH_SPACING_M and
smoothed with a Gaussian kernel, which turns the straight-to-arc joints (where curvature jumps) into
continuous-curvature transitions; heading and curvature come from central differences of the
smoothed curve. A lane change blends one centreline into the neighbour's over the stretch the two
lanes share. Nothing is clipped silently: a route the van cannot steer, or smoothing that would
take the van's body out of its lane, is a RouteError.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence

import numpy as np
from scipy.ndimage import gaussian_filter1d

from robovan_autonomy.geometry import arc_length, points_in_polygon
from robovan_autonomy.mapping.lanelet_map import DistrictMap, lane_of
from robovan_autonomy.vehicle_params import VehicleParams, load_vehicle_params

PATH_SPACING_M = 0.5
# Smoothing kernels tried in turn, narrowest first: 1.5 m spreads each curvature step of a finely
# drawn map (the district's arcs) over about ±3 m, a short clothoid; a map that draws a bend as a
# few chords (45° kinks) needs a wider one before the van can steer it.
SMOOTHING_SIGMAS_M = (1.5, 2.0, 2.5, 3.0)
LANE_CHANGE_STEP_M = 0.25  # sampling of a blended lane change, finer than PATH_SPACING_M
MAX_LATERAL_ACCEL_MPS2 = 1.4  # comfort (1.5, parcels stay on the shelves) less tracking slack
COMFORT_DECEL_MPS2 = 2.0  # service braking the speed profile may ask for ahead of a curve
MIN_ROUTE_LENGTH_M = 2.0 * PATH_SPACING_M

Pose2D = tuple[float, float, float]  # x_m, y_m, yaw_rad in `map`
# A delivery stop: a bay's name, a lane position 'LANELET_ID@S_M' (lane and arc length along it;
# the reverse direction of a two-way lanelet N is lane -N), or a goal pose.
Stop = str | Pose2D
LANE_POSITION_FORM = "LANELET_ID@S_M, e.g. 2101@12.5"


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
    name: str  # bay name, 'goal_<k>' or the lane position, intersection name, signal name,
    # crosswalk name
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
    """A piece of one lane, s_from_m to s_to_m along it. In a lane change the path is drawn toward
    the neighbour lane `toward_id` by the weight (1 - cos(pi tau)) / 2, tau running linearly from
    tau_from to tau_to: 0 to 1/2 on the lane it leaves, 1/2 to 0 on the lane it enters."""

    lanelet_id: int
    s_from_m: float
    s_to_m: float
    toward_id: int | None = None
    tau_from: float = 0.0
    tau_to: float = 0.0


def plan_route(
    dmap: DistrictMap,
    start_pose: Pose2D | str,
    stops: Sequence[Stop],
    *,
    blocked_lanelet_ids: Iterable[int] = (),
    vehicle: VehicleParams | None = None,
    spacing_m: float = PATH_SPACING_M,
) -> ReferencePath:
    """Shortest lanelet route from the start (a pose, or a lane position 'LANELET_ID@S_M') through
    `stops` in order, as a ReferencePath. Raises RouteError for an unknown bay or lane, a pose off
    the map, a stop on a blocked lanelet, no route, or a path the van cannot drive."""
    vehicle = vehicle or load_vehicle_params()
    blocked = frozenset(int(i) for i in blocked_lanelet_ids)
    unknown = sorted(blocked - set(dmap.lanes))
    if unknown:
        raise RouteError(
            f"blocked lanelet ids {unknown} are not vehicle lanelets of map {dmap.name}"
        )
    if not stops:
        raise RouteError("no stops given: a route needs at least one delivery bay or goal pose")
    if isinstance(start_pose, str):
        start = _Target("start", start_pose, *_lane_position(dmap, start_pose))
    else:
        start = _locate(dmap, "start", "start pose", start_pose)
    targets = [_resolve_stop(dmap, stop, k) for k, stop in enumerate(stops)]
    for t in (start, *targets):
        if t.lanelet_id in blocked:
            raise RouteError(f"{t.name} lies on blocked lanelet {t.lanelet_id}")
    spans, target_s = _route_spans(dmap, start, targets, blocked)
    return _reference_path(dmap, spans, targets, target_s, vehicle, spacing_m)


def reroute(
    dmap: DistrictMap,
    start_pose: Pose2D | str,
    stops: Sequence[Stop],
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


def _parse_lane_position(text: str) -> tuple[int, float] | None:
    """'LANELET_ID@S_M' as (lane id, arc length); None for text without an '@' (a bay name)."""
    lane, at, s = text.partition("@")
    if not at:
        return None
    try:
        return int(lane), float(s)
    except ValueError:
        raise RouteError(f"{text!r} is no lane position: {LANE_POSITION_FORM}") from None


def _lane_position(dmap: DistrictMap, text: str) -> tuple[int, float]:
    """A lane position checked against the map: a lane the van may drive, s within it."""
    position = _parse_lane_position(text)
    if position is None:
        raise RouteError(f"{text!r} is no lane position: {LANE_POSITION_FORM}")
    lane_id, s = position
    lane = dmap.lanes.get(lane_id)
    if lane is None:
        raise RouteError(f"{text}: map {dmap.name} has no lanelet {lane_id} a vehicle may drive")
    if not 0.0 <= s <= lane.length_m:
        raise RouteError(f"{text}: lanelet {lane_id} is {lane.length_m:.2f} m long")
    return lane_id, s


def stop_pose(dmap: DistrictMap, name: str) -> Pose2D:
    """Where the van's footprint centre stands at a named delivery stop: a bay's bay_pose, or the
    lane centreline at a lane position, facing along the lane."""
    if _parse_lane_position(name) is not None:
        lane_id, s = _lane_position(dmap, name)
        return dmap.lanes[lane_id].pose_at(s)
    return _bay(dmap, name).bay_pose


def _bay(dmap: DistrictMap, name: str):
    bay = dmap.bays.get(name)
    if bay is None:
        raise RouteError(
            f"unknown delivery bay {name!r}; map {dmap.name} has "
            f"{', '.join(dmap.bays) or f'no bays (give lane positions: {LANE_POSITION_FORM})'}"
        )
    return bay


def _resolve_stop(dmap: DistrictMap, stop: Stop, index: int) -> _Target:
    if isinstance(stop, str):
        if _parse_lane_position(stop) is not None:
            return _Target("goal", stop, *_lane_position(dmap, stop))
        bay = _bay(dmap, stop)
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
        for span in _leg_spans(dmap, sequence, here_s, target.s_on_lane_m):
            spans.append(span)
            travelled += _span_length(dmap, span)
        target_s.append(travelled)
        here, here_s = target.lanelet_id, target.s_on_lane_m
    return spans, target_s


def _leg_spans(dmap: DistrictMap, sequence: list[int], s_start: float, s_end: float) -> list[_Span]:
    """Lane pieces along one leg. Lanes joined by lane changes lie side by side along one stretch
    (Lanelet2 changes only between neighbours sharing a bound); the changes are spread over that
    stretch, from the start or to the stop where the leg begins or ends on it, in equal parts."""
    groups = [[sequence[0]]]
    for before, lane in zip(sequence, sequence[1:]):
        if lane in dmap.lanes[before].successor_ids:
            groups.append([lane])
        else:
            groups[-1].append(lane)
    spans = []
    for k, group in enumerate(groups):
        first, last = k == 0, k == len(groups) - 1
        if len(group) == 1:
            length = dmap.lanes[group[0]].length_m
            spans.append(_Span(group[0], s_start if first else 0.0, s_end if last else length))
            continue
        # The neighbours' lengths differ on a bend, so positions carry over as fractions.
        begin = s_start / dmap.lanes[group[0]].length_m if first else 0.0
        end = s_end / dmap.lanes[group[-1]].length_m if last else 1.0
        if end <= begin:
            raise RouteError(
                f"no room to change from lanelet {group[0]} to lanelet {group[-1]}: the stop "
                "lies beside or behind the start"
            )
        edges = np.linspace(begin, end, len(group))
        for i, (leave, enter) in enumerate(zip(group, group[1:])):
            middle = 0.5 * (edges[i] + edges[i + 1])
            leave_m, enter_m = dmap.lanes[leave].length_m, dmap.lanes[enter].length_m
            spans.append(_Span(leave, edges[i] * leave_m, middle * leave_m, enter, 0.0, 0.5))
            spans.append(_Span(enter, middle * enter_m, edges[i + 1] * enter_m, leave, 0.5, 0.0))
    return spans


def _shortest_sequence(
    dmap: DistrictMap, graph, here: int, target: _Target, blocked: frozenset[int]
) -> list[int]:
    """Lane ids from `here` to the target's lane, lane changes included. When the target lies
    behind us on the same lane, go round the block: the best path from one of our successors back
    to it."""
    if target.lanelet_id != here:
        path = graph.shortestPath(dmap.lanelet(here), dmap.lanelet(target.lanelet_id), 0, True)
        if path is not None:
            return [lane_of(ll) for ll in path]
    else:
        loops = []
        for successor in dmap.lanes[here].successor_ids:
            if successor in blocked:
                continue
            path = graph.shortestPath(dmap.lanelet(successor), dmap.lanelet(here), 0, True)
            if path is not None:
                ids = [here] + [lane_of(ll) for ll in path]
                loops.append((sum(dmap.lanes[i].length_m for i in ids), ids))
        if loops:
            return min(loops)[1]
    detail = f" avoiding blocked lanelets {sorted(blocked)}" if blocked else ""
    raise RouteError(
        f"no route from lanelet {here} to {target.name} (lanelet {target.lanelet_id}){detail}"
    )


# --- geometry -------------------------------------------------------------------------------------


def _span_points(dmap: DistrictMap, span: _Span) -> np.ndarray:
    lane = dmap.lanes[span.lanelet_id]
    if span.toward_id is None:
        inner = (lane.s_m > span.s_from_m) & (lane.s_m < span.s_to_m)
        at = np.concatenate([[span.s_from_m], lane.s_m[inner], [span.s_to_m]])
        return _centreline_at(lane, at)
    count = max(2, math.ceil((span.s_to_m - span.s_from_m) / LANE_CHANGE_STEP_M) + 1)
    at = np.linspace(span.s_from_m, span.s_to_m, count)
    neighbour = dmap.lanes[span.toward_id]
    own = _centreline_at(lane, at)
    beside = _centreline_at(neighbour, at * (neighbour.length_m / lane.length_m))
    weight = 0.5 - 0.5 * np.cos(math.pi * np.linspace(span.tau_from, span.tau_to, count))
    return own + weight[:, None] * (beside - own)


def _centreline_at(lane, at: np.ndarray) -> np.ndarray:
    return np.column_stack(
        [
            np.interp(at, lane.s_m, lane.centerline[:, 0]),
            np.interp(at, lane.s_m, lane.centerline[:, 1]),
        ]
    )


def _span_length(dmap: DistrictMap, span: _Span) -> float:
    """Path length of a span: its lane's arc length, or, changing lanes, the blended curve's."""
    if span.toward_id is None:
        return span.s_to_m - span.s_from_m
    return float(arc_length(_span_points(dmap, span))[-1])


def _raw_centreline(dmap: DistrictMap, spans: list[_Span]) -> tuple[np.ndarray, np.ndarray]:
    """Joined centreline points and their arc length, consecutive duplicates removed."""
    points = np.vstack([_span_points(dmap, sp) for sp in spans])
    keep = np.concatenate([[True], np.linalg.norm(np.diff(points, axis=0), axis=1) > 1e-6])
    points = points[keep]
    return points, arc_length(points)


def _smooth(
    points: np.ndarray, spacing_m: float, sigma_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gaussian-smoothed points and their first and second derivatives per sample index (central
    differences of the smooth curve). The ends are extended straight along their tangents first,
    so they are not pulled inwards."""
    sigma = sigma_m / spacing_m
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
    span_length = [_span_length(dmap, sp) for sp in spans]
    span_start = np.concatenate([[0.0], np.cumsum(span_length)])
    span_index = np.clip(np.searchsorted(span_start, u, side="right") - 1, 0, len(spans) - 1)
    lanelet_id = np.array([spans[k].lanelet_id for k in span_index], dtype=np.int64)

    xy, d1, curvature, offset = _drivable_smoothing(dmap, raw, lanelet_id, vehicle, spacing_m)
    yaw = np.unwrap(np.arctan2(d1[:, 1], d1[:, 0]))
    s = arc_length(xy)

    # Lane arc length of each sample; a blended span's path is a little longer than its lane.
    lane_per_path = np.array(
        [
            1.0 if sp.toward_id is None else (sp.s_to_m - sp.s_from_m) / n
            for sp, n in zip(spans, span_length)
        ]
    )
    lane_s = (u - span_start[span_index]) * lane_per_path[span_index] + np.array(
        [spans[k].s_from_m for k in span_index]
    )
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


def _drivable_smoothing(
    dmap: DistrictMap,
    raw: np.ndarray,
    lanelet_id: np.ndarray,
    vehicle: VehicleParams,
    spacing_m: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """The raw centreline smoothed with the narrowest of SMOOTHING_SIGMAS_M that the van can steer
    and that keeps its body in its lane: points, first derivative, curvature and the largest
    distance from the raw centreline. RouteError with the narrowest kernel's problem otherwise."""
    room = _room_beside_van(dmap, raw, lanelet_id, vehicle)
    max_curvature = math.tan(vehicle.max_steer_rad) / vehicle.wheelbase_m
    problems = []
    for sigma_m in SMOOTHING_SIGMAS_M:
        xy, d1, d2 = _smooth(raw, spacing_m, sigma_m)
        off_centre = np.linalg.norm(xy - raw, axis=1)
        worst = int(np.argmax(off_centre - room))
        if off_centre[worst] > room[worst]:
            problems.append(
                f"smoothing moves the path {off_centre[worst]:.2f} m off the centre of lanelet "
                f"{lanelet_id[worst]} at ({xy[worst, 0]:.1f}, {xy[worst, 1]:.1f}), where the "
                f"lane leaves {max(room[worst], 0.0):.2f} m beside the van: the van would leave "
                "its lane"
            )
            continue
        speed = np.hypot(d1[:, 0], d1[:, 1])
        curvature = (d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0]) / speed**3
        worst = int(np.argmax(np.abs(curvature)))
        if abs(curvature[worst]) > max_curvature:
            problems.append(
                f"route needs radius {1 / abs(curvature[worst]):.2f} m at ({xy[worst, 0]:.1f}, "
                f"{xy[worst, 1]:.1f}), tighter than the van's {1 / max_curvature:.2f} m"
            )
            continue
        return xy, d1, curvature, float(off_centre.max())
    raise RouteError(problems[0])


def _room_beside_van(
    dmap: DistrictMap, raw: np.ndarray, lanelet_id: np.ndarray, vehicle: VehicleParams
) -> np.ndarray:
    """How far the path may leave each raw sample while the van's body stays in the sample's
    lane: half of what the lane's width there leaves beside the van."""
    room = np.zeros(len(raw))
    for lane_id in np.unique(lanelet_id):
        idx = np.flatnonzero(lanelet_id == lane_id)
        room[idx] = 0.5 * (dmap.lanes[int(lane_id)].width_at(raw[idx]) - vehicle.width_m)
    return room


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
