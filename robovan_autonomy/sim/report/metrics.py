"""The metrics of a run report: pure functions of the recorded log, computed all at once
(vectorised where it matters), so tests can feed synthetic logs.

`RunLog` holds the recorded run as arrays with one method per metric; the recorder calls them
when it finalizes. The thresholds below are the metrics' definitions.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from robovan_autonomy.geometry import (
    box_corners,
    points_in_convex,
    polygons_overlap,
    project_to_polyline,
    segments_intersect,
    transform_points,
    wrap_angle,
)
from robovan_autonomy.perception.classes import ObjectClass

if TYPE_CHECKING:
    from robovan_autonomy.sim.report.recorder import RunRecorder

STANDSTILL_SPEED_MPS = 0.1  # CARLA's stop test: slower than this counts as stopped
STOP_LINE_ZONE_M = 5.0  # a stop counts for a stop line when the front bumper is this
# close before it
SIGNAL_APPROACH_M = 50.0  # a passage through a signal is judged from this far before its line
BAY_CAPTURE_RADIUS_M = 5.0  # a standstill this close to a bay serves it; position_error_m
# says how well
DWELL_TOLERANCE_S = 0.5  # a dwell this much shorter than asked still counts (timer
# granularity)
EMERGENCY_DECEL_MPS2 = 3.5  # ISO 15622's ACC limit: braking harder than this is an emergency stop
EMERGENCY_PAD_S = 0.5  # onset and release of an emergency stop belong to its window
# A hard brake is justified by an actor in or entering the van's corridor no farther ahead than
# the stopping distance at EMERGENCY_DECEL_MPS2 plus JUSTIFY_MARGIN_M, within the time the van
# needs to stop that hard plus JUSTIFY_MARGIN_S (at least JUSTIFY_HORIZON_S): someone who will be
# in the way by the time the van could have stopped.
JUSTIFY_HORIZON_S = 2.0
JUSTIFY_MARGIN_S = 1.0
JUSTIFY_MARGIN_M = 10.0
JUSTIFY_STRIDE = 5  # steps between the looks at a window (50 ms)
JERK_BASELINE_S = 0.2  # jerk is differentiated over this span, not between 200 Hz samples
MATCH_DISTANCE_M = 2.0  # nuScenes' middle centre-distance threshold for a true positive
PERCEPTION_RANGE_M = 40.0  # objects farther than this from the van are not judged (the
# metric's issue)
CORRIDOR_HALF_WIDTH_M = 8.0  # judged this far from the route (lane centreline): both lanes,
# both parking strips
ROUTE_CAPTURE_M = 6.0  # farther from the route than a lane and a half is not progress on it
ROUTE_WINDOW_M = 30.0  # progress may not jump further than this (routes that cross
# themselves)
STRAIGHT_PATH_M = 60.0  # path length assumed straight ahead when no plan was recorded
TTC_PERIOD_S = 0.05  # TTC is judged at 20 Hz: finer adds cost, not insight
STOP_BEFORE_OBSTACLE_GAP_M = 15.0  # an actor this close ahead of a stopped van is why it stopped
PROJECTION_CHUNK = 2_000_000  # point × segment pairs per vectorised batch (~100 MB of temporaries)
ROUTE_SAMPLES = 5000  # route progress is tracked on at most this many samples of the run
BASELINE_STALE_S = 1.0  # a single-source estimate this old is a gap in its plot (GNSS outage)
SERIES_PERIOD_S = 0.1  # time series in the report are resampled to 10 Hz for plotting
PLAN_SNAPSHOT_PERIOD_S = 2.0  # one planned trajectory kept per this period, for the map plot
# What a collision counts as in the driving score; as in CARLA, a cyclist counts as a vehicle.
_COLLISION_KIND = {
    ObjectClass.PEDESTRIAN: "collision_pedestrian",
    ObjectClass.CYCLIST: "collision_vehicle",
    ObjectClass.CAR: "collision_vehicle",
    ObjectClass.VAN_TRUCK: "collision_vehicle",
    ObjectClass.STATIC: "collision_static",
    ObjectClass.UNKNOWN: "collision_static",
}


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Index ranges [start, end] (inclusive) of consecutive True values."""
    padded = np.concatenate(([False], np.asarray(mask, dtype=bool), [False]))
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return [(int(s), int(e) - 1) for s, e in zip(edges[::2], edges[1::2])]


def _stats(values: Iterable[float], **which: float) -> dict:
    """Named statistics of a sample: rms=True, max=True, p50=50.0 ...; None when empty."""
    data = np.asarray(list(values), dtype=float)
    out = {}
    for name, arg in which.items():
        if data.size == 0:
            out[name] = None
        elif name == "rms":
            out[name] = float(np.sqrt(np.mean(data**2)))
        elif name == "max":
            out[name] = float(np.max(data))
        else:
            out[name] = float(np.percentile(data, arg))
    return out


class RunLog:
    """The recorded run as arrays, with one method per metric."""

    def __init__(self, rec: RunRecorder):
        self.rec = rec
        self._cache: dict = {}
        self.t = np.array(rec._t)
        van = np.array(rec._van, dtype=float)
        self.x, self.y, self.yaw, self.speed, self.accel, self.steer, self.lat_accel = van.T
        self.footprint = transform_points(rec.vehicle.footprint(), self.x, self.y, self.yaw)
        front = rec.vehicle.wheelbase_m + rec.vehicle.front_overhang_m
        self.front = np.stack(
            [self.x + front * np.cos(self.yaw), self.y + front * np.sin(self.yaw)], -1
        )
        rows = np.array(rec._actor_rows, dtype=float).reshape(-1, 10)
        self.a_step = rows[:, 0].astype(int)
        self.a_track = rows[:, 1].astype(int)
        self.a_class = rows[:, 2].astype(int)
        self.a_x, self.a_y, self.a_yaw, self.a_len, self.a_wid, self.a_vx, self.a_vy = rows[:, 3:].T

    def _rows_at(self, step: int) -> np.ndarray:
        """Indices of the actor rows recorded at a step (rows are appended in step order)."""
        lo, hi = np.searchsorted(self.a_step, (step, step + 1))
        return np.arange(lo, hi)

    def _event(self, step: int, **extra) -> dict:
        return {
            "t_s": float(self.t[step]),
            "x": float(self.x[step]),
            "y": float(self.y[step]),
            "van_speed_mps": float(self.speed[step]),
            **extra,
        }

    def collisions(self) -> list[dict]:
        """One event per contiguous contact with one actor or one of the map's parked cars."""
        events = []
        if len(self.a_step):
            boxes = box_corners(self.a_x, self.a_y, self.a_yaw, self.a_len, self.a_wid)
            hit = polygons_overlap(self.footprint[self.a_step], boxes)
            for track in np.unique(self.a_track[hit]):
                name, kind = self.rec._actor_names[int(track)]
                cls = ObjectClass(int(self.a_class[self.a_track == track][0]))
                events += self._contacts(
                    self.a_step[hit & (self.a_track == track)],
                    actor_id=name,
                    actor_type=kind,
                    kind=_COLLISION_KIND[cls],
                )
        steps, cars = self._parked_car_contacts()
        for car in np.unique(cars):
            events += self._contacts(
                steps[cars == car],
                actor_id=f"parked_car_{car}",
                actor_type="parked_car",
                kind="collision_vehicle",
            )
        return sorted(events, key=lambda e: e["t_s"])

    def _contacts(self, steps: np.ndarray, **extra) -> list[dict]:
        """Events at the first step of each run of consecutive steps."""
        starts = steps[np.concatenate(([True], np.diff(steps) > 1))]
        return [self._event(int(s), **extra) for s in starts]

    def _parked_car_contacts(self) -> tuple[np.ndarray, np.ndarray]:
        """(step, car index) of every footprint overlap with a parked car of the map."""
        cars = self.rec.features.parked_cars
        if not len(cars):
            return np.zeros(0, dtype=int), np.zeros(0, dtype=int)
        centre = self.footprint.mean(axis=1)
        van_radius = np.max(np.hypot(*(self.footprint[0] - centre[0]).T))
        reach = van_radius + 0.5 * np.hypot(cars[:, 3], cars[:, 4])
        near_steps, near_cars = [], []
        chunk = max(1, PROJECTION_CHUNK // len(cars))
        for start in range(0, len(self.t), chunk):
            d = np.hypot(
                centre[start : start + chunk, None, 0] - cars[None, :, 0],
                centre[start : start + chunk, None, 1] - cars[None, :, 1],
            )
            steps, idx = np.nonzero(d <= reach[None])
            near_steps.append(steps + start)
            near_cars.append(idx)
        steps, idx = np.concatenate(near_steps), np.concatenate(near_cars)
        boxes = box_corners(cars[idx, 0], cars[idx, 1], cars[idx, 2], cars[idx, 3], cars[idx, 4])
        hit = (
            polygons_overlap(self.footprint[steps], boxes)
            if len(steps)
            else np.zeros(0, dtype=bool)
        )
        order = np.lexsort((steps[hit], idx[hit]))
        return steps[hit][order], idx[hit][order]

    def curb_strikes(self) -> list[dict]:
        """One event per contiguous run of steps where the footprint crosses or covers a curb."""
        segs = [np.stack([c[:-1], c[1:]], axis=1) for c in self.rec.features.curbs if len(c) > 1]
        if not segs:
            return []
        segs = np.concatenate(segs).astype(float)  # (M, 2, 2)
        seg_lo, seg_hi = segs.min(axis=1), segs.max(axis=1)
        fp_lo, fp_hi = self.footprint.min(axis=1), self.footprint.max(axis=1)
        touching = np.zeros(len(self.t), dtype=bool)
        chunk = max(1, PROJECTION_CHUNK // len(segs))
        for start in range(0, len(self.t), chunk):
            sl = slice(start, start + chunk)
            near = np.all(
                (fp_lo[sl, None] <= seg_hi[None]) & (seg_lo[None] <= fp_hi[sl, None]), axis=-1
            )
            steps, idx = np.nonzero(near)
            if not len(steps):
                continue
            steps = steps + start
            poly = self.footprint[steps]  # (P, 4, 2)
            edges_hit = segments_intersect(
                poly, np.roll(poly, -1, axis=1), segs[idx, 0][:, None], segs[idx, 1][:, None]
            ).any(axis=1)
            inside = points_in_convex(segs[idx, 0], poly)
            touching[steps[edges_hit | inside]] = True
        return [self._event(s) for s, _ in _runs(touching)]

    def _front_crossings(self, line: np.ndarray) -> np.ndarray:
        """Steps k where the front bumper crosses the line between step k and k + 1."""
        crossed = segments_intersect(
            self.front[:-1, None], self.front[1:, None], line[None, :-1], line[None, 1:]
        ).any(axis=1)
        return np.flatnonzero(crossed)

    def stop_line_infractions(self) -> list[dict]:
        """Crossing a stop line with the front bumper without a standstill in the zone before it."""
        out = []
        for line_idx, line in enumerate(self.rec.features.stop_lines):
            line = np.asarray(line, dtype=float)
            dist, _, _ = project_to_polyline(self.front, line)
            for k in self._front_crossings(line):
                j = k
                while j > 0 and dist[j - 1] <= STOP_LINE_ZONE_M:
                    j -= 1
                if not np.any(np.abs(self.speed[j : k + 1]) < STANDSTILL_SPEED_MPS):
                    out.append(self._event(int(k) + 1, stop_line=line_idx))
        return sorted(out, key=lambda e: e["t_s"])

    def signal_states(self, light_id: int) -> np.ndarray:
        """What a signal showed at each step ('red', 'amber', 'green', 'unknown'; '' before the
        first record)."""
        key = ("signal", light_id)
        if key not in self._cache:
            states = np.full(len(self.t), "", dtype=object)
            changes = self.rec._signals
            ends = [step for step, _ in changes[1:]] + [len(self.t)]
            for (step, table), end in zip(changes, ends):
                states[step:end] = table.get(light_id, "")
            self._cache[key] = states
        return self._cache[key]

    def red_light_infractions(self) -> list[dict]:
        """The front bumper crossing a signal's stop line while it shows red (entering on amber is
        legal: amber is there for whoever can no longer stop)."""
        out = []
        for light_id, (name, line) in self.rec.features.traffic_lights.items():
            states = self.signal_states(light_id)
            out += [
                self._event(int(k) + 1, light=name)
                for k in self._front_crossings(np.asarray(line, dtype=float))
                if states[k + 1] == "red"
            ]
        return sorted(out, key=lambda e: e["t_s"])

    def traffic_light_passages(self) -> list[dict]:
        """Each time the front bumper crossed a signal's stop line, how the van came to it: from
        SIGNAL_APPROACH_M before the line, the states seen, the slowest speed, and its last
        standstill there (how far short of the line, how long, and how soon after the signal
        turned green it moved off)."""
        out = []
        for light_id, (name, line) in self.rec.features.traffic_lights.items():
            line = np.asarray(line, dtype=float)
            states = self.signal_states(light_id)
            dist = project_to_polyline(self.front, line)[0]
            for k in self._front_crossings(line):
                start = int(k)
                while start > 0 and dist[start - 1] <= SIGNAL_APPROACH_M:
                    start -= 1
                window = slice(start, int(k) + 1)
                seen = [s for s in states[window] if s]
                passage = {
                    "light": name,
                    "t_s": float(self.t[k + 1]),
                    "state_at_crossing": states[k + 1],
                    "states_on_approach": [
                        s for n, s in enumerate(seen) if n == 0 or s != seen[n - 1]
                    ],
                    "min_speed_mps": float(self.speed[window].min()),
                    "stop_gap_m": None,
                    "wait_s": None,
                    "green_to_move_s": None,
                }
                still = _runs(np.abs(self.speed[window]) < STANDSTILL_SPEED_MPS)
                if still:
                    a, b = (start + i for i in still[-1])
                    passage["stop_gap_m"] = float(dist[a])
                    passage["wait_s"] = float(self.t[b] - self.t[a])
                    green = np.flatnonzero(states[a : b + 2] == "green")
                    if len(green) and green[0] > 0:  # it turned green while the van stood
                        passage["green_to_move_s"] = float(self.t[b + 1] - self.t[a + green[0]])
                out.append(passage)
        return sorted(out, key=lambda p: p["t_s"])

    def stops(self) -> tuple[list[dict], list[dict]]:
        """Each mission stop, in order: the first standstill near its bay after the previous stop.
        Driving past a bay (near it, then away) without serving it is a missed stop; the stops
        after it are still judged."""
        rec, bays = self.rec, self.rec.features.bays
        still = _runs(np.abs(self.speed) < STANDSTILL_SPEED_MPS)
        last = len(self.t) - 1
        stops = [
            {
                "name": stop.bay,
                "required_dwell_s": stop.dwell_s,
                "served": False,
                "position_error_m": None,
                "heading_error_rad": None,
                "dwell_s": None,
                "arrival_t_s": None,
                "declared_t_s": next((t for t, n in rec._declared_stops if n == stop.bay), None),
            }
            for stop in rec.scenario.mission
        ]
        cursor, missed = 0, []
        for stop, entry in zip(rec.scenario.mission, stops):
            if stop.bay not in bays:
                break
            bx, by, byaw = bays[stop.bay]
            dist = np.hypot(self.x - bx, self.y - by)
            arrival = next(
                ((s, e) for s, e in still if s >= cursor and dist[s] <= BAY_CAPTURE_RADIUS_M), None
            )
            if arrival is None:
                near = np.flatnonzero(dist[cursor:] <= BAY_CAPTURE_RADIUS_M)
                if not (len(near) and np.any(dist[cursor + near[0] :] > BAY_CAPTURE_RADIUS_M)):
                    break  # not reached (yet): route completion accounts for it
                missed.append(self._event(cursor + int(near[0]), bay=stop.bay, reason="drove past"))
                continue
            s, e = arrival
            dwell = float(self.t[e] - self.t[s])
            entry.update(
                position_error_m=float(dist[s]),
                dwell_s=dwell,
                arrival_t_s=float(self.t[s]),
                heading_error_rad=float(abs(wrap_angle(self.yaw[s] - byaw))),
                served=dwell >= stop.dwell_s - DWELL_TOLERANCE_S or e == last,
            )
            if not entry["served"]:
                missed.append(self._event(s, bay=stop.bay, reason=f"dwelt {dwell:.1f} s"))
            cursor = e
        return stops, missed

    def route_completion(self, stops: list[dict]) -> float:
        """Fraction of the route length driven (windowed projection, monotonic); without a route,
        the fraction of stops served."""
        route = self.rec.features.route_xy
        if route is None or len(route) < 2:
            return sum(s["served"] for s in stops) / len(stops)
        route = np.asarray(route, dtype=float)
        seg = np.diff(route, axis=0)
        s_at = np.concatenate(([0.0], np.cumsum(np.hypot(seg[:, 0], seg[:, 1]))))
        progress, stride = 0.0, max(1, len(self.t) // ROUTE_SAMPLES)
        for px, py in zip(self.x[::stride], self.y[::stride]):
            lo = max(int(np.searchsorted(s_at, progress - ROUTE_WINDOW_M)) - 1, 0)
            hi = int(np.searchsorted(s_at, progress + ROUTE_WINDOW_M)) + 1
            window = route[lo : hi + 1]
            if len(window) < 2:
                continue
            dist, arc, _ = project_to_polyline(np.array([[px, py]]), window)
            if dist[0] <= ROUTE_CAPTURE_M:
                progress = max(progress, s_at[lo] + arc[0])
        return float(min(progress / s_at[-1], 1.0))

    def _plan_at(self) -> list[np.ndarray | None]:
        """The latest plan in force at each step."""
        current, out = None, []
        for plan in self.rec._plans:
            current = plan if plan is not None else current
            out.append(current)
        return out

    def _lateral_errors(self) -> tuple[np.ndarray, str]:
        """Per step, the distance of base_link from the plan in force, or from the route when no
        plan was recorded at all (NaN where neither exists); and which reference it was."""
        if "lateral" not in self._cache:
            errors = np.full(len(self.t), np.nan)
            plans, reference = self._plan_at(), "plan"
            if any(p is not None for p in plans):
                changes = [k for k in range(len(plans)) if k == 0 or plans[k] is not plans[k - 1]]
                for start, end in zip(changes, changes[1:] + [len(plans)]):
                    plan = plans[start]
                    if plan is not None and len(plan) >= 2:
                        points = np.stack([self.x[start:end], self.y[start:end]], -1)
                        errors[start:end] = project_to_polyline(points, plan[:, :2], extend=True)[0]
            elif self.rec.features.route_xy is not None:
                reference = "route"
                route = np.asarray(self.rec.features.route_xy, dtype=float)
                chunk = max(1, PROJECTION_CHUNK // len(route))
                for start in range(0, len(self.t), chunk):
                    sl = slice(start, start + chunk)
                    points = np.stack([self.x[sl], self.y[sl]], -1)
                    errors[sl] = project_to_polyline(points, route)[0]
            self._cache["lateral"] = (errors, reference)
        return self._cache["lateral"]

    def lateral_error(self) -> dict:
        errors, reference = self._lateral_errors()
        return {**_stats(errors[np.isfinite(errors)], rms=True, max=True), "reference": reference}

    def _estimates(self, rows: list[tuple] | None = None) -> np.ndarray:
        """(step, stamp, x, y, yaw) rows of the estimates stamped within the log (default: the
        stack's own; else a baseline's rows)."""
        est = np.array(self.rec._est if rows is None else rows, dtype=float).reshape(-1, 5)
        return est[(est[:, 1] >= self.t[0]) & (est[:, 1] <= self.t[-1])]

    def _estimate_errors(
        self, rows: list[tuple] | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(step, position error, heading error) of each estimate, against truth at its stamp."""
        est = self._estimates(rows)
        stamps = est[:, 1]
        true_x, true_y = np.interp(stamps, self.t, self.x), np.interp(stamps, self.t, self.y)
        true_yaw = np.interp(stamps, self.t, np.unwrap(self.yaw))
        pos = np.hypot(est[:, 2] - true_x, est[:, 3] - true_y)
        return est[:, 0].astype(int), pos, np.abs(wrap_angle(est[:, 4] - true_yaw))

    def localization_error(self) -> dict:
        return _stats(self._estimate_errors()[1], rms=True, p99=99.0, max=True)

    def heading_error(self) -> dict:
        return _stats(self._estimate_errors()[2], rms=True, max=True)

    def localization_baselines(self) -> dict:
        """The same error statistics for each single-source estimate recorded beside the stack's."""
        out = {}
        for name, rows in sorted(self.rec._baselines.items()):
            _, pos, heading = self._estimate_errors(rows)
            out[name] = {
                "localization_error_m": _stats(pos, rms=True, p99=99.0, max=True),
                "heading_error_rad": _stats(heading, rms=True, max=True),
            }
        return out

    def _estimate_series(
        self, idx: np.ndarray, rows: list[tuple] | None = None, stale_s: float = math.inf
    ) -> dict:
        """x, y and position error of the latest estimate at each series step (None before one,
        and where the latest is older than stale_s)."""
        steps, errors, _ = self._estimate_errors(rows)
        est = self._estimates(rows)
        at = np.searchsorted(steps, idx, side="right") - 1
        fresh = (
            (at >= 0) & (self.t[idx] - est[np.maximum(at, 0), 1] <= stale_s)
            if len(est)
            else at >= 0
        )
        return {
            "x": [float(est[i, 2]) if ok else None for i, ok in zip(at, fresh)],
            "y": [float(est[i, 3]) if ok else None for i, ok in zip(at, fresh)],
            "error_m": [float(errors[i]) if ok else None for i, ok in zip(at, fresh)],
        }

    def comfort(self) -> dict:
        """Maxima outside emergency-braking windows (braking harder than EMERGENCY_DECEL_MPS2,
        padded by EMERGENCY_PAD_S), which are listed."""
        half = JERK_BASELINE_S / 2.0
        jerk = (
            np.interp(self.t + half, self.t, self.accel)
            - np.interp(self.t - half, self.t, self.accel)
        ) / (np.minimum(self.t + half, self.t[-1]) - np.maximum(self.t - half, self.t[0])).clip(
            1e-9
        )
        windows = [
            (self.t[s] - EMERGENCY_PAD_S, self.t[e] + EMERGENCY_PAD_S)
            for s, e in _runs(self.accel <= -EMERGENCY_DECEL_MPS2)
        ]
        calm = np.ones(len(self.t), dtype=bool)
        for lo, hi in windows:
            calm &= ~((self.t >= lo) & (self.t <= hi))

        def peak(values):
            return float(np.max(np.abs(values[calm]))) if calm.any() else None

        return {
            "max_abs_accel_mps2": peak(self.accel),
            "max_abs_jerk_mps3": peak(jerk),
            "max_lateral_accel_mps2": peak(self.lat_accel),
            "emergency_braking_windows": [[float(lo), float(hi)] for lo, hi in windows],
            "max_decel_mps2": float(max(0.0, -np.min(self.accel))),
        }

    def hard_brakes(self, windows: list) -> dict:
        """Each emergency-braking window (comfort()), justified by what explains it (an actor in or
        entering the van's path within its stopping distance, or an injected fault) or phantom."""
        plans, events = self._plan_at(), []
        for lo, hi in windows:
            steps = np.flatnonzero((self.t >= lo) & (self.t <= hi))
            why = self._brake_cause(steps, plans)
            events.append({"t_start_s": lo, "t_end_s": hi, "justified_by": why})
        return {"events": events, "phantom": sum(e["justified_by"] is None for e in events)}

    def _brake_cause(self, steps: np.ndarray, plans: list) -> str | None:
        if any(f.start_s <= self.t[steps[-1]] for f in self.rec.scenario.faults):
            return "fault"
        for k in steps[::JUSTIFY_STRIDE]:
            sel = self._rows_at(k)
            if not len(sel):
                continue
            reach = self.speed[k] ** 2 / (2.0 * EMERGENCY_DECEL_MPS2) + JUSTIFY_MARGIN_M
            horizon = max(
                JUSTIFY_HORIZON_S, self.speed[k] / EMERGENCY_DECEL_MPS2 + JUSTIFY_MARGIN_S
            )
            for tau in np.arange(0.0, horizon + 1e-9, 0.5):
                in_corridor, gap, _ = self._gaps_ahead(k, plans[k], sel, ahead_s=tau)
                hit = in_corridor & (gap <= reach)
                if hit.any():
                    return self.rec._actor_names[int(self.a_track[sel[np.argmax(hit)]])][0]
        return None

    def emergency_stops(self) -> list[dict]:
        """Every minimal-risk emergency stop the supervisor entered, and whether its AEB asked."""
        return [
            {"t_s": t, "reason": why, "aeb": why.startswith("AEB")}
            for t, mode, why in self.rec._supervisor_modes
            if mode == "MRM_EMERGENCY_STOP"
        ]

    def stalls(self) -> dict:
        """Standing still under autonomy with the mission unfinished and nothing that asks for it
        (a bay, a stop line, a signal that is not green): the windows, and the longest."""
        modes = self.rec._modes
        mode_at = np.searchsorted([t for t, _ in modes], self.t, side="right") - 1
        autonomous = np.array(
            [mode_at[k] >= 0 and modes[mode_at[k]][1] == "AUTONOMOUS" for k in range(len(self.t))],
            dtype=bool,
        )
        stops, _ = self.stops()
        done_at = stops[-1]["arrival_t_s"] if stops and all(s["served"] for s in stops) else None
        unfinished = self.t < done_at if done_at is not None else np.ones(len(self.t), dtype=bool)
        excused = np.zeros(len(self.t), dtype=bool)
        for bx, by, _ in self.rec.features.bays.values():
            excused |= np.hypot(self.x - bx, self.y - by) <= BAY_CAPTURE_RADIUS_M
        for line in self.rec.features.stop_lines:
            dist = project_to_polyline(self.front, np.asarray(line, dtype=float))[0]
            excused |= dist <= STOP_LINE_ZONE_M
        for light_id, (_, line) in self.rec.features.traffic_lights.items():
            dist = project_to_polyline(self.front, np.asarray(line, dtype=float))[0]
            excused |= (dist <= STOP_LINE_ZONE_M) & (self.signal_states(light_id) != "green")
        still = (np.abs(self.speed) < STANDSTILL_SPEED_MPS) & autonomous & unfinished & ~excused
        windows = [(float(self.t[a]), float(self.t[b])) for a, b in _runs(still)]
        return {
            "windows": [[a, b] for a, b in windows],
            "longest_s": max((b - a for a, b in windows), default=0.0),
        }

    def _gaps_ahead(self, k: int, plan: np.ndarray | None, sel: np.ndarray, ahead_s: float = 0.0):
        """For actors rows `sel` at step k, where they will be ahead_s later at their speed: (in the
        van's corridor, gap from the front bumper, closing speed) along the plan (straight ahead
        without one)."""
        veh = self.rec.vehicle
        if plan is None or len(plan) < 2:
            heading = np.array([math.cos(self.yaw[k]), math.sin(self.yaw[k])])
            plan = np.array(
                [[self.x[k], self.y[k]], [self.x[k], self.y[k]] + STRAIGHT_PATH_M * heading]
            )
        # A plan that stops ends where the van will stand: what lies beyond is still its way.
        end = plan[-1, :2] - plan[-2, :2]
        length = float(np.hypot(*end))
        end = (
            end / length
            if length > 1e-6
            else np.array([math.cos(self.yaw[k]), math.sin(self.yaw[k])])
        )
        path = np.vstack([plan[:, :2], plan[-1, :2] + STRAIGHT_PATH_M * end])
        van_s = project_to_polyline(np.array([[self.x[k], self.y[k]]]), path)[1][0]
        pts = np.stack(
            [self.a_x[sel] + ahead_s * self.a_vx[sel], self.a_y[sel] + ahead_s * self.a_vy[sel]], -1
        )
        lat, arc, tangent = project_to_polyline(pts, path)
        rel_yaw = self.a_yaw[sel] - np.arctan2(tangent[:, 1], tangent[:, 0])
        half_along = 0.5 * (
            self.a_len[sel] * np.abs(np.cos(rel_yaw)) + self.a_wid[sel] * np.abs(np.sin(rel_yaw))
        )
        half_across = 0.5 * (
            self.a_len[sel] * np.abs(np.sin(rel_yaw)) + self.a_wid[sel] * np.abs(np.cos(rel_yaw))
        )
        in_corridor = (lat <= veh.width_m / 2.0 + half_across) & (arc > van_s)
        gap = arc - van_s - (veh.wheelbase_m + veh.front_overhang_m) - half_along
        actor_v = np.stack([self.a_vx[sel], self.a_vy[sel]], -1)
        closing = self.speed[k] - np.einsum("nd,nd->n", actor_v, tangent)
        return in_corridor, gap, closing

    def min_ttc(self) -> dict:
        """Smallest gap / closing speed to an actor in the van's corridor along its path."""
        best = {"min_ttc_s": None, "t_s": None, "actor_id": None}
        if not len(self.a_step):
            return best
        plans = self._plan_at()
        grid = np.arange(self.t[0], self.t[-1] + TTC_PERIOD_S, TTC_PERIOD_S)
        for k in np.unique(np.minimum(np.searchsorted(self.t, grid), len(self.t) - 1)):
            sel = self._rows_at(k)
            if not len(sel):
                continue
            in_corridor, gap, closing = self._gaps_ahead(k, plans[k], sel)
            valid = in_corridor & (closing > 1e-3)
            if not valid.any():
                continue
            ttc = np.maximum(gap[valid], 0.0) / closing[valid]
            i = int(np.argmin(ttc))
            if best["min_ttc_s"] is None or ttc[i] < best["min_ttc_s"]:
                track = int(self.a_track[sel[valid][i]])
                best = {
                    "min_ttc_s": float(ttc[i]),
                    "t_s": float(self.t[k]),
                    "actor_id": self.rec._actor_names[track][0],
                }
        return best

    def fault_response(self) -> list[dict]:
        """Per injected fault: when the supervisor detected it (the first minimal-risk stop it
        reported from the fault on, and why, even where the van stopped itself first), when the van
        came to rest for good after it (None: it did not) and the mode it was in then."""
        moving = np.flatnonzero(np.abs(self.speed) >= STANDSTILL_SPEED_MPS)
        rest_from = (
            float(self.t[moving[-1] + 1])
            if len(moving) and moving[-1] + 1 < len(self.t)
            else (None if len(moving) else float(self.t[0]))
        )
        out = []
        for fault in self.rec.scenario.faults:
            at_rest = None if rest_from is None else max(rest_from, fault.start_s)
            mode = next(
                (m for t, m in reversed(self.rec._modes) if at_rest is not None and t <= at_rest),
                None,
            )
            detected = next(
                (
                    (t, why)
                    for t, m, why in self.rec._supervisor_modes
                    if t >= fault.start_s and m.startswith("MRM_")
                ),
                (None, None),
            )
            out.append(
                {
                    "target": fault.target,
                    "kind": fault.kind,
                    "start_s": fault.start_s,
                    "detected_t_s": detected[0],
                    "fault_to_detection_s": (
                        None if detected[0] is None else detected[0] - fault.start_s
                    ),
                    "detection_reason": detected[1],
                    "standstill_t_s": at_rest,
                    "fault_to_standstill_s": (None if at_rest is None else at_rest - fault.start_s),
                    "mode_at_standstill": mode,
                }
            )
        return out

    def outcome(self, collisions: list[dict], stops: list[dict]) -> str:
        if collisions:
            return "collision"
        if all(s["served"] for s in stops):
            return "completed"
        last = len(self.t) - 1
        if abs(self.speed[last]) >= STANDSTILL_SPEED_MPS:
            return "timeout"
        sel = self._rows_at(last)
        if len(sel):
            in_corridor, gap, _ = self._gaps_ahead(last, self._plan_at()[last], sel)
            if np.any(in_corridor & (gap <= STOP_BEFORE_OBSTACLE_GAP_M)):
                return "stop_before_obstacle"
        return "stopped"

    def _in_corridor(self, points: np.ndarray) -> np.ndarray:
        """Which (N, 2) points lie within CORRIDOR_HALF_WIDTH_M of the route; without a route (a
        synthetic log) all of them, so only the range around the van limits what is judged."""
        route = self.rec.features.route_xy
        if route is None or len(route) < 2 or not len(points):
            return np.ones(len(points), dtype=bool)
        dist = project_to_polyline(points, np.asarray(route, dtype=float))[0]
        return dist <= CORRIDOR_HALF_WIDTH_M

    def _judged(self, objects: np.ndarray, van: np.ndarray) -> np.ndarray:
        """The (N, 5) x, y, vx, vy, class_id rows within PERCEPTION_RANGE_M of the van and beside
        its route; the range goes first, so only nearby objects are projected onto the route."""
        near = objects[np.hypot(*(objects[:, :2] - van).T) <= PERCEPTION_RANGE_M]
        return near[self._in_corridor(near[:, :2])]

    def perception(self) -> dict:
        """Greedy centre-distance matching of each perceived list against the truth then: the actors
        and the map's parked cars (at rest, class car, as the simulator publishes them on
        /sim/ground_truth/objects), both judged only within PERCEPTION_RANGE_M of the van and
        CORRIDOR_HALF_WIDTH_M of its route. The parked cars never move, so their corridor test is
        done once and each frame only checks their range."""
        cars = self.rec.features.parked_cars
        parked = np.zeros((len(cars), 5))
        parked[:, :2], parked[:, 4] = cars[:, :2], int(ObjectClass.CAR)
        parked = parked[self._in_corridor(parked[:, :2])]
        tp = fp = fn = 0
        class_hits, vel_sq = 0, []
        for step, found in self.rec._perceived:
            sel = self._rows_at(step)
            actors = np.stack(
                [self.a_x[sel], self.a_y[sel], self.a_vx[sel], self.a_vy[sel], self.a_class[sel]],
                -1,
            )
            van = np.array([self.x[step], self.y[step]])
            truth = np.vstack(
                [
                    self._judged(actors, van),
                    parked[np.hypot(*(parked[:, :2] - van).T) <= PERCEPTION_RANGE_M],
                ]
            )
            found = self._judged(found, van)
            dist = np.hypot(
                found[:, None, 0] - truth[None, :, 0], found[:, None, 1] - truth[None, :, 1]
            )
            matched = 0
            while dist.size and dist.min() <= MATCH_DISTANCE_M:
                i, j = np.unravel_index(np.argmin(dist), dist.shape)
                vel_sq.append(float(np.sum((found[i, 2:4] - truth[j, 2:4]) ** 2)))
                class_hits += int(found[i, 4] == truth[j, 4])
                dist[i, :], dist[:, j] = np.inf, np.inf
                matched += 1
            tp, fp, fn = tp + matched, fp + len(found) - matched, fn + len(truth) - matched
        return {
            "precision": tp / (tp + fp) if tp + fp else None,
            "recall": tp / (tp + fn) if tp + fn else None,
            "velocity_rmse_mps": math.sqrt(np.mean(vel_sq)) if vel_sq else None,
            "class_accuracy": class_hits / tp if tp else None,
            "frames": len(self.rec._perceived),
        }

    def mpc_solve_ms(self) -> dict:
        """Median, 99th percentile and longest of the MPC's solve times."""
        return _stats((ms for _, ms in self.rec._solves), p50=50.0, p99=99.0, max=True)

    def e2e_latency_ms(self) -> dict:
        """Median and 99th percentile of the end-to-end latencies the stack reported."""
        return _stats(self.rec._latencies, p50=50.0, p99=99.0)

    def series(self) -> dict:
        """Downsampled time series and path snapshots for plots (report.png)."""
        grid = np.arange(self.t[0], self.t[-1] + 1e-9, SERIES_PERIOD_S)
        idx = np.minimum(np.searchsorted(self.t, grid), len(self.t) - 1)
        ours = self._estimate_series(idx)
        plans, snapshots, next_t = self._plan_at(), [], -math.inf
        for k, plan in enumerate(plans):
            if plan is not None and self.t[k] >= next_t:
                snapshots.append({"t_s": float(self.t[k]), "xy": plan[:, :2].round(2).tolist()})
                next_t = self.t[k] + PLAN_SNAPSHOT_PERIOD_S
        tracks = {}
        for track, (name, kind) in self.rec._actor_names.items():
            mine = np.flatnonzero(self.a_track == track)
            keep = mine[np.isin(self.a_step[mine], idx)]
            xy = np.stack([self.a_x[keep], self.a_y[keep]], -1)
            tracks[name] = {"type": kind, "xy": xy.round(2).tolist()}
        return {
            "t_s": self.t[idx].round(3),
            "x": self.x[idx].round(3),
            "y": self.y[idx].round(3),
            "speed_mps": self.speed[idx].round(3),
            "accel_mps2": self.accel[idx].round(3),
            "lateral_error_m": [
                None if np.isnan(e) else float(e) for e in self._lateral_errors()[0][idx]
            ],
            "est_x": ours["x"],
            "est_y": ours["y"],
            "localization_error_m": ours["error_m"],
            "baselines": {
                name: self._estimate_series(idx, rows, BASELINE_STALE_S)
                for name, rows in sorted(self.rec._baselines.items())
            },
            "mpc_solve": [[t, ms] for t, ms in self.rec._solves],
            "deadline_miss_t_s": list(self.rec._misses),
            "plans": snapshots,
            "actors": tracks,
            "t_end_s": float(self.t[-1]),
        }
