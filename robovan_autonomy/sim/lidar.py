"""Spinning LiDAR model: vectorised ray casting of the datasheet's beam pattern against a Scene.

Vertical walls split each ray into one 2D crossing per (column, segment) and a height test per
beam; caps and the ground are analytic; a level sensor evaluates only the beams that can hit. A
scan is a snapshot at one pose (no motion distortion). How: docs/ARCHITECTURE.md#the-lidar-model.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from robovan_autonomy.geometry import wrap_angle
from robovan_autonomy.sim.scene import GROUND_ID, Pose3, Scene, concat_ranges
from robovan_autonomy.vehicle_params import VehicleParams

RANGE_NOISE_SIGMA_M = 0.02  # 1σ range noise of a 32-beam spinning LiDAR (spec ±3 cm)
DROPOUT_PROBABILITY = 0.005  # returns lost to dust, spray and low-reflectivity glass
INTENSITY_SCALE = 255.0  # intensity = reflectivity · cos(incidence) · 255, like 8-bit units
LEVEL_TOLERANCE = 1e-4  # tilt (rad) treated as level: moves a 100 m return by < 1 cm
_PAIR_BITS = 24  # pair index field in the packed (range, pair, cap) sort key
_RANGE_QUANTUM_M = 1e-4  # range resolution inside the sort key
_NO_HIT = np.iinfo(np.int64).max


@dataclasses.dataclass(frozen=True)
class LidarConfig:
    beams: int
    min_elevation_rad: float
    max_elevation_rad: float
    columns: int
    min_range_m: float
    max_range_m: float
    range_noise_sigma_m: float = RANGE_NOISE_SIGMA_M
    dropout_probability: float = DROPOUT_PROBABILITY

    @staticmethod
    def from_vehicle_params(params: VehicleParams, frame: str = "lidar_top") -> LidarConfig:
        spec = params.sensors[frame]
        return LidarConfig(
            int(spec["beams"]),
            float(spec["min_elevation_rad"]),
            float(spec["max_elevation_rad"]),
            int(spec["columns"]),
            float(spec["min_range_m"]),
            float(spec["max_range_m"]),
        )


@dataclasses.dataclass(frozen=True)
class LidarScan:
    """points: (N, 4) float32 x, y, z, intensity in the sensor frame, ordered column by column
    (azimuth −π first, counter-clockwise), beams bottom-up within a column. object_ids: (N,)
    ground truth per point (an actor's object_id, GROUND_ID or STATIC_ID) when asked for."""

    points: np.ndarray
    object_ids: np.ndarray | None = None


class LidarModel:
    def __init__(self, config: LidarConfig):
        self.config = config
        self.elevation_rad = np.linspace(
            config.min_elevation_rad, config.max_elevation_rad, config.beams
        )
        self.azimuth_step_rad = 2.0 * math.pi / config.columns
        self.azimuth_rad = -math.pi + self.azimuth_step_rad * np.arange(config.columns)
        ce, se = np.cos(self.elevation_rad), np.sin(self.elevation_rad)
        ca, sa = np.cos(self.azimuth_rad), np.sin(self.azimuth_rad)
        # (columns, beams, 3) unit ray directions in the sensor frame.
        self.directions = np.stack(
            [
                ca[:, None] * ce[None, :],
                sa[:, None] * ce[None, :],
                np.broadcast_to(se, (config.columns, config.beams)),
            ],
            axis=-1,
        )

    def scan(
        self,
        scene: Scene,
        sensor_pose: Pose3,
        rng: np.random.Generator | None = None,
        with_ids: bool = False,
    ) -> LidarScan:
        """One sweep from sensor_pose (the lidar frame in map). rng: noise and drop-outs (none
        without it, for exact geometry)."""
        cfg = self.config
        origin = np.asarray(sensor_pose.position, float)
        rays = self.directions @ sensor_pose.rotation.T  # (C, B, 3) in map
        horizontal = np.hypot(rays[..., 0], rays[..., 1])
        ux, uy, slope = (
            rays[..., 0] / horizontal,
            rays[..., 1] / horizontal,
            rays[..., 2] / horizontal,
        )
        level = (
            abs(sensor_pose.rotation[2, 0]) < LEVEL_TOLERANCE
            and abs(sensor_pose.rotation[2, 1]) < LEVEL_TOLERANCE
        )
        if level:  # every beam of a column shares its azimuth
            ux, uy, slope, horizontal = ux[:, :1], uy[:, :1], slope[:1], horizontal[:1]
        yaw = sensor_pose.yaw_rad
        heading = rays[:, :1] if level else rays
        bearing = np.arctan2(heading[..., 1], heading[..., 0])
        deviation = wrap_angle(bearing - (yaw + self.azimuth_rad)[:, None])
        margin = int(math.ceil(float(np.max(np.abs(deviation))) / self.azimuth_step_rad)) + 1

        segments = scene.segments_near(origin[:2], cfg.max_range_m)
        pairs = self._pairs(segments, origin, yaw, margin)
        t_obj, hit_pair, hit_cap, seg_of_pair = self._hit_walls_and_caps(
            segments, pairs, origin, ux, uy, slope, level
        )

        with np.errstate(divide="ignore"):
            t_ground = np.where(slope < 0.0, -origin[2] / slope, np.inf)
        t_ground = np.broadcast_to(t_ground, t_obj.shape)
        on_ground = t_ground < t_obj
        t_best = np.where(on_ground, t_ground, t_obj)
        range_m = t_best / np.broadcast_to(horizontal, t_best.shape)
        valid = np.isfinite(range_m) & (range_m >= cfg.min_range_m) & (range_m <= cfg.max_range_m)

        col, beam = np.nonzero(valid)
        r = range_m[col, beam]
        ray = rays[col, beam]
        ground = on_ground[col, beam]
        reflectivity, cos_incidence = np.empty(len(r)), np.abs(ray[:, 2])
        ids = np.full(len(r), GROUND_ID, np.int64)
        reflectivity[ground] = scene.ground_reflectivity(
            origin[:2] + ray[ground, :2] * r[ground, None]
        )
        solid = ~ground
        seg = seg_of_pair[hit_pair[col[solid], beam[solid]]]
        reflectivity[solid] = segments.reflectivity[seg]
        ex, ey = segments.bx[seg] - segments.ax[seg], segments.by[seg] - segments.ay[seg]
        wall_cos = np.abs(ey * ray[solid, 0] - ex * ray[solid, 1]) / np.maximum(
            np.hypot(ex, ey), 1e-12
        )
        cos_incidence[solid] = np.where(
            hit_cap[col[solid], beam[solid]], cos_incidence[solid], wall_cos
        )
        ids[solid] = segments.owner[seg]
        intensity = INTENSITY_SCALE * reflectivity * cos_incidence
        ids = ids if with_ids else None

        if rng is not None:
            r = r + rng.normal(0.0, cfg.range_noise_sigma_m, len(r))
            keep = (
                (rng.random(len(r)) >= cfg.dropout_probability)
                & (r >= cfg.min_range_m)
                & (r <= cfg.max_range_m)
            )
            col, beam, r, intensity = col[keep], beam[keep], r[keep], intensity[keep]
            ids = ids[keep] if with_ids else None
        points = np.empty((len(r), 4), np.float32)
        points[:, :3] = self.directions[col, beam] * r[:, None]
        points[:, 3] = intensity
        return LidarScan(points, ids)

    def _pairs(self, segments, origin: np.ndarray, yaw: float, margin: int):
        """(segment, column) pairs for every column whose azimuth the segment's arc covers."""
        cfg = self.config
        sx, sy = origin[0], origin[1]
        reach = _point_segment_distance(sx, sy, segments) <= cfg.max_range_m
        index = np.nonzero(reach)[0]
        theta_a = np.arctan2(segments.ay[index] - sy, segments.ax[index] - sx)
        theta_b = np.arctan2(segments.by[index] - sy, segments.bx[index] - sx)
        sweep = wrap_angle(theta_b - theta_a)
        start = np.where(sweep >= 0.0, theta_a, theta_b)
        first_col = np.mod(start - yaw - self.azimuth_rad[0], 2.0 * math.pi) / self.azimuth_step_rad
        first = np.ceil(first_col).astype(np.int64) - margin
        last = np.floor(first_col + np.abs(sweep) / self.azimuth_step_rad).astype(np.int64) + margin
        counts = last - first + 1
        seg = np.repeat(index, counts)
        offsets = np.arange(len(seg)) - np.repeat(np.cumsum(counts) - counts, counts)
        cols = np.mod(np.repeat(first, counts) + offsets, cfg.columns)
        return seg, cols

    def _hit_walls_and_caps(self, segments, pairs, origin, ux, uy, slope, level):
        """Per ray (C, B): horizontal distance to the nearest wall or cap hit (inf: none), the
        winning pair, whether it was a cap, and the segment of each pair."""
        cfg = self.config
        seg, col = pairs
        ex = (segments.bx - segments.ax)[seg, None]
        ey = (segments.by - segments.ay)[seg, None]
        wx = (segments.ax[seg] - origin[0])[:, None]
        wy = (segments.ay[seg] - origin[1])[:, None]
        pux, puy = ux[col], uy[col]
        denom = pux * ey - puy * ex
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (wx * ey - wy * ex) / denom
            v = (wx * puy - wy * pux) / denom
        crossing = (v >= 0.0) & (v <= 1.0) & (t > 0.0) & (t <= cfg.max_range_m)
        keep = crossing.any(axis=1)
        seg, col = seg[keep], col[keep]
        t = np.where(crossing[keep], t[keep], np.inf)
        exits = denom[keep] > 0.0  # counter-clockwise footprints: leaving the solid
        z_lo, z_hi, solid = segments.z_lo[seg], segments.z_hi[seg], segments.solid[seg]
        z_s = origin[2]
        # A wall that every beam of the column meets hides what lies behind it. Bounds on the
        # beam heights at the wall (exact for a level sensor, conservative when tilted):
        t_near, t_far = t.min(axis=1), t.max(axis=1)
        column_slopes = np.broadcast_to(slope, (cfg.columns, cfg.beams))
        up, down = column_slopes.max(axis=1)[col], column_slopes.min(axis=1)[col]
        top_z = z_s + np.maximum(up * t_near, up * t_far)
        bottom_z = z_s + np.minimum(down * t_near, down * t_far)
        blocks = np.isfinite(t_far) & (top_z <= z_hi) & (z_lo <= np.maximum(bottom_z, 0.0))
        cut = np.full(cfg.columns, np.inf)
        np.minimum.at(cut, col[blocks], t_far[blocks])
        keep = t_near <= cut[col] + 1e-9
        seg, col, t, exits = seg[keep], col[keep], t[keep], exits[keep]
        z_lo, z_hi, solid = z_lo[keep], z_hi[keep], solid[keep]
        order = np.lexsort((np.min(t, axis=1), solid, col))
        seg, col, t, exits = seg[order], col[order], t[order], exits[order]
        z_lo, z_hi, solid = z_lo[order, None], z_hi[order, None], solid[order]
        count = len(seg)
        if count >= 1 << _PAIR_BITS:
            raise ValueError(f"LiDAR scan: {count} ray/segment pairs, more than the key holds")
        no_hit = (cfg.columns, cfg.beams)
        if count == 0:
            return np.full(no_hit, np.inf), np.zeros(no_hit, np.int64), np.zeros(no_hit, bool), seg

        # The crossing of the same solid just before each one, per beam (0: the sensor is inside
        # the footprint). Rows are in order of distance, but in a tilted scan not every row
        # crosses every beam, so take the last row before that did.
        new_group = np.ones(count, bool)
        new_group[1:] = (col[1:] != col[:-1]) | (solid[1:] != solid[:-1])
        group_start = np.maximum.accumulate(np.where(new_group, np.arange(count), 0))
        last_crossing = np.maximum.accumulate(
            np.where(np.isfinite(t), np.arange(count)[:, None], -1), axis=0
        )
        prev_row = np.vstack([np.full((1, t.shape[1]), -1), last_crossing[:-1]])
        has_prev = prev_row >= group_start[:, None]
        prev_t = np.where(has_prev, np.take_along_axis(t, np.maximum(prev_row, 0), axis=0), 0.0)
        closed_exit = (solid >= 0)[:, None] & exits
        best = np.full(no_hit, _NO_HIT, np.int64)
        if level:
            # A row's hits lie on a few neighbouring beams: only those are evaluated.
            row, beam = self._level_candidates(
                t[:, 0], prev_t[:, 0], z_s, z_lo[:, 0], z_hi[:, 0], closed_exit[:, 0], slope[0]
            )
            key = _hit_keys(
                t[row, 0],
                prev_t[row, 0],
                slope[0, beam],
                z_s,
                z_lo[row, 0],
                z_hi[row, 0],
                closed_exit[row, 0],
                row,
            )
            np.minimum.at(best.reshape(-1), col[row] * cfg.beams + beam, key)
        else:
            key = _hit_keys(
                t, prev_t, slope[col], z_s, z_lo, z_hi, closed_exit, np.arange(count)[:, None]
            )
            starts = np.concatenate([[0], np.nonzero(col[1:] != col[:-1])[0] + 1])
            best[col[starts]] = np.minimum.reduceat(key, starts, axis=0)
        hit = best != _NO_HIT
        t_obj = np.where(hit, (best >> (_PAIR_BITS + 1)) * _RANGE_QUANTUM_M, np.inf)
        hit_pair = np.where(hit, (best >> 1) & ((1 << _PAIR_BITS) - 1), 0)
        hit_cap = hit & ((best & 1) == 1)
        return t_obj, hit_pair, hit_cap, seg

    @staticmethod
    def _level_candidates(t, prev_t, z_s, z_lo, z_hi, closed_exit, slope):
        """(row, beam) pairs that may hit, for a level sensor whose beam slopes rise with the
        beam index. A row's wall is hit by the beams whose height at distance t lies on it; a
        top below the sensor by steeper descending beams, back to the one crossing its height
        at prev_t; a bottom above the sensor likewise by steeper ascending ones. Each is a run
        of neighbouring beams; their hull, widened by a beam on each side so that rounding
        here never loses a hit, is evaluated exactly by _hit_keys."""
        with np.errstate(divide="ignore", invalid="ignore"):
            lo = np.searchsorted(slope, (z_lo - z_s) / t)
            hi = np.searchsorted(slope, (z_hi - z_s) / t, side="right")
            top_from = np.where(prev_t > 0.0, (z_hi - z_s) / prev_t, -np.inf)
            bottom_to = np.where(prev_t > 0.0, (z_lo - z_s) / prev_t, np.inf)
        lo = np.where(
            closed_exit & (z_hi < z_s), np.minimum(lo, np.searchsorted(slope, top_from)), lo
        )
        hi = np.where(
            closed_exit & (z_lo > z_s),
            np.maximum(hi, np.searchsorted(slope, bottom_to, side="right")),
            hi,
        )
        lo = np.maximum(lo - 1, 0)
        counts = np.maximum(np.minimum(hi + 1, len(slope)) - lo, 0)
        return np.repeat(np.arange(len(t)), counts), concat_ranges(lo, counts)


def _hit_keys(t, prev_t, slope, z_s, z_lo, z_hi, closed_exit, row):
    """Sort keys of the hits of crossings (distance t along the beam's horizontal, prev_t that of
    the solid's crossing before) with beams of the given slopes, all broadcast together: range,
    then row, then the cap flag, packed in an int64; _NO_HIT where the beam passes."""
    z = z_s + slope * t
    on_wall = (z >= z_lo) & (z <= z_hi)
    t_wall = np.where(on_wall, t, np.inf)
    z_cap = np.where(slope < 0.0, z_hi, z_lo)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_cap = (z_cap - z_s) / slope
    on_cap = (
        closed_exit
        & np.isfinite(t)
        & (t_cap > 0.0)
        & (t_cap >= prev_t)
        & (t_cap < t)
        & (t_cap < t_wall)
    )
    t_hit = np.where(on_cap, t_cap, t_wall)
    finite = np.isfinite(t_hit)
    quantum = np.where(finite, t_hit, 0.0) / _RANGE_QUANTUM_M
    key = (
        (np.round(quantum).astype(np.int64) << (_PAIR_BITS + 1))
        | (np.asarray(row, np.int64) << 1)
        | on_cap.astype(np.int64)
    )
    return np.where(finite, key, _NO_HIT)


def _point_segment_distance(px: float, py: float, s) -> np.ndarray:
    ex, ey = s.bx - s.ax, s.by - s.ay
    length2 = np.maximum(ex * ex + ey * ey, 1e-18)
    u = np.clip(((px - s.ax) * ex + (py - s.ay) * ey) / length2, 0.0, 1.0)
    return np.hypot(s.ax + u * ex - px, s.ay + u * ey - py)
