"""Where tracked objects will be over the planner's horizon, and where points lie along our path.

Three small ideas, each vectorised over objects and stages:

1. Motion. Each object keeps its speed; its course turns at a constant rate (CTRV) when the
   tracker has seen it turning, else stays as it is (CV, the ω = 0 limit of the same motion). A turn
   stops after a quarter circle: at a junction a car turns once and then drives straight, it does
   not drive circles. `TurnRateEstimator` gets the turn rate from the course change between
   object tables, because /perception/objects carries no yaw rate.
2. Footprint. Each box is covered by 1–3 discs along its length, for collision tests as distances
   between disc centres (smooth where a box test is not). The MPC in mpc.py takes the predicted
   boxes as ellipses instead (behaviour.mpc_obstacles).
3. Path frame. Points in `map` are projected onto the reference polyline: arc length s and signed
   lateral offset d (positive left), with the polyline's heading at the foot point.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy.spatial import cKDTree

from robovan_autonomy.core_types import OBJECT_DTYPE
from robovan_autonomy.geometry import wrap_angle

# Most discs per object: with three a 5.9 m van's discs reach 0.4 m past its sides (one disc would
# reach 2.1 m past them); more would only add constraints.
MAX_DISCS_PER_OBJECT = 3
# Below this speed an object's velocity direction is noise, so no turn rate is estimated from it:
# a walking pedestrian (~1.4 m/s) still gets a course, a tracker's jitter on a parked car does not.
MIN_SPEED_FOR_COURSE_MPS = 1.0
# Largest turn rate believed, rad/s: a cyclist turning on a 6 m radius at 6 m/s; beyond that the
# estimate is tracker noise (a car's heading flipping with its box), not motion.
MAX_TURN_RATE_RADPS = 1.0
# Smaller turn rates are predicted as straight motion (CV), rad/s: the arc then differs from the
# line by < 0.13 m over 5 s at 10 m/s, and v / ω would only lose precision.
MIN_TURN_RATE_RADPS = 1e-3
# A predicted turn ends after this heading change, rad: one junction turn (a quarter circle).
MAX_PREDICTED_TURN_RAD = math.pi / 2.0
# Low-pass time constant of the turn-rate estimate, s: a few tracker cycles at 10 Hz, so one
# noisy course does not bend the prediction, while a real turn (≥ 2 s long) is followed.
TURN_RATE_FILTER_TAU_S = 0.3
# A turn rate is predicted only once the course has been followed this long, s: a real turn lasts
# longer, while a course that has just appeared swings as its velocity settles (a parked car coming
# into view behind another one: its box slides as more of it is seen, and its first courses are
# the sliding, which bent its prediction into the lane).
TURN_RATE_MIN_HISTORY_S = 1.0
# A course turning with less lateral acceleration (speed × turn rate) than this is predicted
# straight, m/s²: it is the noise of a course taken from a tracked velocity (its few 0.1 m/s
# across give up to 0.4 m/s² at any speed: an oncoming car on a straight road, delivery_loop),
# which over 2 s bends a car 10 m/s fast a metre into the next lane. Turns that matter have more:
# a junction turn at 5 m/s on a 10 m radius 2.5 m/s², a lane change about 1 m/s².
MIN_TURN_LATERAL_ACCEL_MPS2 = 0.5
# A track unseen this long is forgotten, s; its id may then be reused by the tracker.
TRACK_FORGET_AFTER_S = 2.0
# Path vertices nearest to a point whose two segments are searched for its foot point: on a
# densely sampled path the nearest segment ends at the nearest vertex, and eight also cover a path
# that passes within a few samples of itself (a hairpin) inside the search window.
NEAREST_VERTICES = 8
# The first and last segment of a path count as extended by this much, m: an object just past the
# end of the route (a car standing beyond the last bay) keeps a meaningful s and d, but the
# extension stays too short to reach back to another part of a curling route.
PATH_END_EXTENSION_M = 10.0
# Segments shorter than this are treated as points, m (repeated vertices in a polyline).
MIN_SEGMENT_LENGTH_M = 1e-9


@dataclasses.dataclass(frozen=True)
class Horizon:
    """The planner's time grid: stage k is t0_s + k · dt_s after the object table's stamp,
    k = 0 … n_stages (the MPC's stages start after its dead time: t0_s = prediction_time_s)."""

    n_stages: int
    dt_s: float
    t0_s: float = 0.0

    @property
    def t_s(self) -> np.ndarray:
        return self.t0_s + np.arange(self.n_stages + 1) * self.dt_s


@dataclasses.dataclass(frozen=True)
class Prediction:
    """Objects over the horizon. M objects, N + 1 stages (at t_s), D discs in all.

    Arrays per object: track_id, class_id (M,), vx_mps, vy_mps (M,) the velocity now, x_m, y_m,
    yaw_rad (M, N + 1) of the box centre and heading, length_m, width_m (M,). Arrays per disc:
    disc_object (D,) the object row it belongs to, disc_radius_m (D,), disc_x_m, disc_y_m
    (D, N + 1).
    """

    t_s: np.ndarray
    track_id: np.ndarray
    class_id: np.ndarray
    vx_mps: np.ndarray
    vy_mps: np.ndarray
    x_m: np.ndarray
    y_m: np.ndarray
    yaw_rad: np.ndarray
    length_m: np.ndarray
    width_m: np.ndarray
    disc_object: np.ndarray
    disc_radius_m: np.ndarray
    disc_x_m: np.ndarray
    disc_y_m: np.ndarray

    def __len__(self) -> int:
        return len(self.track_id)

    @property
    def speed_mps(self) -> np.ndarray:
        return np.hypot(self.vx_mps, self.vy_mps)

    def subset(self, rows: np.ndarray) -> Prediction:
        """The objects at `rows` (indices or a boolean mask), with their discs renumbered."""
        rows = (
            np.flatnonzero(rows) if np.asarray(rows).dtype == bool else np.asarray(rows, dtype=int)
        )
        renumber = np.full(len(self), -1)
        renumber[rows] = np.arange(len(rows))
        discs = np.flatnonzero(np.isin(self.disc_object, rows))
        discs = discs[np.argsort(renumber[self.disc_object[discs]], kind="stable")]
        return Prediction(
            self.t_s,
            self.track_id[rows],
            self.class_id[rows],
            self.vx_mps[rows],
            self.vy_mps[rows],
            self.x_m[rows],
            self.y_m[rows],
            self.yaw_rad[rows],
            self.length_m[rows],
            self.width_m[rows],
            renumber[self.disc_object[discs]],
            self.disc_radius_m[discs],
            self.disc_x_m[discs],
            self.disc_y_m[discs],
        )


def disc_cover(
    length_m: np.ndarray, width_m: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Discs covering boxes: (object index, offset of the centre along the length, radius) per disc.

    A box gets k = ceil(length / width) discs, 1 ≤ k ≤ 3, spaced evenly along its length; each disc
    circumscribes its (length / k) × width slice, so the union covers the whole box.
    """
    length_m = np.maximum(np.asarray(length_m, dtype=float), 0.0)
    width_m = np.maximum(np.asarray(width_m, dtype=float), 0.0)
    count = np.clip(
        np.ceil(length_m / np.maximum(width_m, MIN_SEGMENT_LENGTH_M)), 1, MAX_DISCS_PER_OBJECT
    ).astype(int)
    owner = np.repeat(np.arange(len(length_m)), count)
    first = np.cumsum(count) - count
    slot = np.arange(len(owner)) - first[owner]
    slice_m = length_m[owner] / count[owner]
    offset_m = -length_m[owner] / 2.0 + slice_m * (slot + 0.5)
    radius_m = np.hypot(slice_m / 2.0, width_m[owner] / 2.0)
    return owner, offset_m, radius_m


def predict_objects(
    objects: np.ndarray, horizon: Horizon, turn_rate_radps: np.ndarray | None = None
) -> Prediction:
    """CV / CTRV prediction of every row of an OBJECT_DTYPE table over the horizon.

    `turn_rate_radps` (one per row, from TurnRateEstimator) turns each object's course and box;
    None predicts straight lines. The box keeps its own heading (which may differ from the
    course, e.g. for a reversing car) and turns with the course.
    """
    objects = np.asarray(objects, dtype=OBJECT_DTYPE)
    count = len(objects)
    t = horizon.t_s[None, :]
    vx, vy = objects["vx"].astype(float), objects["vy"].astype(float)
    speed = np.hypot(vx, vy)
    course = np.arctan2(vy, vx)
    omega = np.zeros(count) if turn_rate_radps is None else np.asarray(turn_rate_radps, dtype=float)
    omega = np.where(np.abs(omega) < MIN_TURN_RATE_RADPS, 0.0, omega)
    turning = omega != 0.0
    # Time spent turning before the course settles (a quarter circle at most), then straight on.
    turn_ends_s = np.full(count, np.inf)
    turn_ends_s[turning] = MAX_PREDICTED_TURN_RAD / np.abs(omega[turning])
    t_turn = np.minimum(t, turn_ends_s[:, None])
    heading_change = omega[:, None] * t_turn
    safe_omega = np.where(turning, omega, 1.0)[:, None]
    c0, s0 = np.cos(course)[:, None], np.sin(course)[:, None]
    c1, s1 = np.cos(course[:, None] + heading_change), np.sin(course[:, None] + heading_change)
    arc_dx = np.where(turning[:, None], (s1 - s0) / safe_omega, c0 * t_turn) * speed[:, None]
    arc_dy = np.where(turning[:, None], (c0 - c1) / safe_omega, s0 * t_turn) * speed[:, None]
    straight = (t - t_turn) * speed[:, None]
    x = objects["x"].astype(float)[:, None] + arc_dx + c1 * straight
    y = objects["y"].astype(float)[:, None] + arc_dy + s1 * straight
    yaw = objects["yaw"].astype(float)[:, None] + heading_change

    owner, offset_m, radius_m = disc_cover(objects["length"], objects["width"])
    disc_x = x[owner] + offset_m[:, None] * np.cos(yaw[owner])
    disc_y = y[owner] + offset_m[:, None] * np.sin(yaw[owner])
    return Prediction(
        t_s=horizon.t_s,
        track_id=objects["track_id"].astype(np.int64),
        class_id=objects["class_id"].astype(int),
        vx_mps=vx,
        vy_mps=vy,
        x_m=x,
        y_m=y,
        yaw_rad=yaw,
        length_m=objects["length"].astype(float),
        width_m=objects["width"].astype(float),
        disc_object=owner,
        disc_radius_m=radius_m,
        disc_x_m=disc_x,
        disc_y_m=disc_y,
    )


class TurnRateEstimator:
    """Turn rate of each track from the change of its course (velocity direction) between calls."""

    def __init__(self) -> None:
        # id → (course since, t_s, course, turn rate)
        self._tracks: dict[int, tuple[float, float, float, float]] = {}

    def update(self, t_s: float, objects: np.ndarray) -> np.ndarray:
        """Filtered turn rate for each row of `objects`, rad/s (0 for slow tracks, for courses
        younger than TURN_RATE_MIN_HISTORY_S and for turns within the course's noise)."""
        rates = np.zeros(len(objects))
        for row, obj in enumerate(objects):
            track = int(obj["track_id"])
            speed = math.hypot(float(obj["vx"]), float(obj["vy"]))
            if speed < MIN_SPEED_FOR_COURSE_MPS:
                self._tracks.pop(track, None)
                continue
            course = math.atan2(float(obj["vy"]), float(obj["vx"]))
            rate, since = 0.0, t_s
            if track in self._tracks:
                since, t_prev, course_prev, rate_prev = self._tracks[track]
                dt = t_s - t_prev
                if dt > 0.0:
                    raw = wrap_angle(course - course_prev) / dt
                    alpha = dt / (TURN_RATE_FILTER_TAU_S + dt)
                    rate = rate_prev + alpha * (raw - rate_prev)
                else:
                    rate = rate_prev
            rate = max(-MAX_TURN_RATE_RADPS, min(MAX_TURN_RATE_RADPS, rate))
            self._tracks[track] = (since, t_s, course, rate)
            settled = t_s - since >= TURN_RATE_MIN_HISTORY_S
            turning = abs(rate) * speed >= MIN_TURN_LATERAL_ACCEL_MPS2
            rates[row] = rate if settled and turning else 0.0
        self._tracks = {k: v for k, v in self._tracks.items() if t_s - v[1] <= TRACK_FORGET_AFTER_S}
        return rates


# ---------------------------------------------------------------------------------------------
# Path frame
# ---------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class PathCoordinates:
    """Points in the path frame, shaped like the query: arc length s, lateral offset d (left
    positive) and the path's heading at the foot point."""

    s_m: np.ndarray
    d_m: np.ndarray
    heading_rad: np.ndarray


def project_to_path(
    path_x_m: np.ndarray,
    path_y_m: np.ndarray,
    path_s_m: np.ndarray,
    x_m: np.ndarray,
    y_m: np.ndarray,
    s_min_m: float = -math.inf,
    s_max_m: float = math.inf,
) -> PathCoordinates:
    """Nearest-point projection of map points onto a polyline, vectorised over the points.

    Only segments overlapping [s_min_m, s_max_m] are searched, so a route that passes the same
    street twice projects onto the visit the caller means. Per point, the segments at its
    NEAREST_VERTICES nearest path vertices (a k-d tree query) and the window's two end segments
    are the candidates. The whole
    path's end segments are extended by PATH_END_EXTENSION_M, so s may lie up to that far outside
    the path's range.
    """
    px, py, ps = (np.asarray(a, dtype=float) for a in (path_x_m, path_y_m, path_s_m))
    qx, qy = np.broadcast_arrays(np.asarray(x_m, dtype=float), np.asarray(y_m, dtype=float))
    shape = qx.shape
    qx, qy = qx.ravel(), qy.ravel()
    last_segment = len(px) - 2
    segments = np.flatnonzero((ps[1:] >= s_min_m) & (ps[:-1] <= s_max_m))
    if len(segments) == 0:  # the window misses the path: search the segment nearest to it
        segments = np.array([int(np.clip(np.searchsorted(ps, s_min_m) - 1, 0, last_segment))])
    first, last = int(segments[0]), int(segments[-1])
    vertices = np.arange(first, last + 2)
    k = min(NEAREST_VERTICES, len(vertices))
    _, nearest = cKDTree(np.column_stack([px[vertices], py[vertices]])).query(
        np.column_stack([qx, qy]), k=k
    )
    nearest = vertices[np.asarray(nearest).reshape(len(qx), k)]
    # The segments at those vertices, and the window's end segments (whose extension beyond the
    # path's end is near no vertex).
    ends = np.broadcast_to(np.array([first, last]), (len(qx), 2))
    candidates = np.clip(np.concatenate([nearest - 1, nearest, ends], axis=1), first, last)

    ax, ay = px[candidates], py[candidates]
    ex, ey = px[candidates + 1] - ax, py[candidates + 1] - ay
    seg_len = np.hypot(ex, ey)
    safe_len = np.maximum(seg_len, MIN_SEGMENT_LENGTH_M)
    ux, uy = ex / safe_len, ey / safe_len
    lo = np.where(candidates == 0, -PATH_END_EXTENSION_M, 0.0)
    hi = seg_len + np.where(candidates == last_segment, PATH_END_EXTENSION_M, 0.0)
    cx, cy = qx[:, None] - ax, qy[:, None] - ay
    along = np.clip(cx * ux + cy * uy, lo, hi)
    dist2 = (cx - along * ux) ** 2 + (cy - along * uy) ** 2
    best = np.argmin(dist2, axis=1)
    rows = np.arange(len(qx))
    ub, vb = ux[rows, best], uy[rows, best]
    s = ps[candidates[rows, best]] + along[rows, best]
    # Sign from the side of the segment's line: positive to its left.
    d = np.copysign(np.sqrt(dist2[rows, best]), ub * cy[rows, best] - vb * cx[rows, best])
    heading = np.arctan2(vb, ub)
    return PathCoordinates(s.reshape(shape), d.reshape(shape), heading.reshape(shape))
