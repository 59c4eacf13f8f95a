"""LiDAR-to-map matching: a scan in base_link registered against the district's point map.

small_gicp's GICP against the map's own kerb and facade cloud, held to the plane (x, y, yaw), with
a covariance from the scaled and floored GICP Hessian; `heading_search` starts from a GNSS fix
alone. The design and its reasons: docs/ARCHITECTURE.md#lidar-to-map-matching.

No rclpy here: numpy and small_gicp.
"""

from __future__ import annotations

import dataclasses
import math
from functools import lru_cache

import numpy as np
import small_gicp

from robovan_autonomy.mapping.lanelet_map import DistrictMap

# Map side
MAP_SPACING_M = 1.0  # along and up each face: planes need ~10 neighbours, and 0.5 m
# (4× the points) matches no better but searches 40 % slower
MAP_NEIGHBOURS = 10  # points per local plane estimate (small_gicp's default)
# Scan side
MIN_POINT_HEIGHT_M = 0.3  # above base_link ground: drops the road, keeps walls (and tall kerbs)
MAX_POINT_HEIGHT_M = 30.0  # the map is built to this height; higher returns have no partner
MIN_POINT_RANGE_M = 2.0  # nearer returns are the van's own body or noise
SCAN_VOXEL_M = 1.0  # ~2000 points of a 32 × 1024 urban scan: enough, and ~10 ms
# Registration
CORRESPONDENCE_M = 1.0  # farther pairs are outliers: parked cars, people, vehicles
MAX_ITERATIONS = 6  # tracking starts within centimetres: 2–3 iterations are usual
SEARCH_CORRESPONDENCE_M = 3.0  # heading search starts up to ~0.5 m and 10° off
SEARCH_ITERATIONS = 6
CONVERGED_TRANSLATION_M = 0.002  # a step smaller than this ends the iterations
CONVERGED_ROTATION_RAD = 2e-4
SEARCH_VOXEL_M = 1.5  # coarser cloud for the many heading-search registrations
HEADING_CANDIDATES = 24  # 15° apart: GICP pulls in from half that in a street
# Result quality
MIN_INLIER_FRACTION = 0.3  # fewer map-explained points than this: not a fit
MIN_INLIERS = 100
COVARIANCE_SCALE = 400.0  # ≈ (20)²: a scan's point errors are far from independent
MIN_POSITION_SIGMA_M = 0.03  # floors: what the map itself is good for
MIN_YAW_SIGMA_RAD = 0.002
_PLANAR = [2, 3, 4]  # yaw, x, y rows of small_gicp's (rotation, translation) Hessian


@dataclasses.dataclass(frozen=True)
class MatcherConfig:
    voxel_m: float = SCAN_VOXEL_M
    correspondence_m: float = CORRESPONDENCE_M
    max_iterations: int = MAX_ITERATIONS
    min_point_height_m: float = MIN_POINT_HEIGHT_M
    max_point_height_m: float = MAX_POINT_HEIGHT_M
    covariance_scale: float = COVARIANCE_SCALE
    heading_candidates: int = HEADING_CANDIDATES


@dataclasses.dataclass(frozen=True)
class MatchResult:
    pose: np.ndarray  # (3,) x, y, yaw of base_link in map
    covariance: np.ndarray  # (3, 3)
    inlier_fraction: float
    inliers: int
    points: int
    iterations: int
    converged: bool

    def good(self, min_inlier_fraction: float = MIN_INLIER_FRACTION) -> bool:
        return self.inliers >= MIN_INLIERS and self.inlier_fraction >= min_inlier_fraction


class ScanError(ValueError):
    """A scan that cannot be matched (empty, or nothing left above the ground)."""


@dataclasses.dataclass(frozen=True, eq=False)
class MapCloud:
    """The registration target: the map cloud with plane covariances and a k-d tree."""

    cloud: small_gicp.PointCloud
    tree: small_gicp.KdTree

    @staticmethod
    def from_points(points_m: np.ndarray, spacing_m: float) -> MapCloud:
        points = np.ascontiguousarray(points_m, dtype=np.float64)
        if points.ndim != 2 or points.shape[1] != 3 or not len(points):
            raise ValueError("the map cloud must be a non-empty (N, 3) array")
        cloud, tree = small_gicp.preprocess_points(
            points, downsampling_resolution=0.99 * spacing_m, num_neighbors=MAP_NEIGHBOURS
        )
        return MapCloud(cloud, tree)

    @property
    def size(self) -> int:
        return self.cloud.size()


@lru_cache(maxsize=2)
def district_map_cloud(district: DistrictMap, spacing_m: float, max_height_m: float) -> MapCloud:
    """The target for a district's kerbs and facades; cached, since a district takes seconds."""
    return MapCloud.from_points(district.point_map(spacing_m, max_height_m), spacing_m)


def pose_matrix(x_m: float, y_m: float, yaw_rad: float) -> np.ndarray:
    c, s = math.cos(yaw_rad), math.sin(yaw_rad)
    matrix = np.eye(4)
    matrix[:2, :2] = [[c, -s], [s, c]]
    matrix[0, 3], matrix[1, 3] = x_m, y_m
    return matrix


class ScanMatcher:
    def __init__(self, map_cloud: MapCloud, config: MatcherConfig = MatcherConfig()):
        self.map, self.config = map_cloud, config

    def crop(self, points_base: np.ndarray) -> np.ndarray:
        """The returns worth matching: off the ground, under the map's height, off the van."""
        cfg = self.config
        points = np.asarray(points_base, dtype=np.float64)
        if points.ndim != 2 or points.shape[1] < 3:
            raise ScanError("scan: expected an (N, 3) array")
        z = points[:, 2]
        keep = (
            (z >= cfg.min_point_height_m)
            & (z <= cfg.max_point_height_m)
            & (np.hypot(points[:, 0], points[:, 1]) >= MIN_POINT_RANGE_M)
            & np.all(np.isfinite(points[:, :3]), axis=1)
        )
        kept = np.ascontiguousarray(points[keep, :3])
        if len(kept) < MIN_INLIERS:
            raise ScanError(
                f"scan: {len(kept)} usable points (of {len(points)}), need {MIN_INLIERS}"
            )
        return kept

    def match(self, kept: np.ndarray, guess: np.ndarray) -> MatchResult:
        """Register a cropped scan (`crop`) starting from guess (x, y, yaw)."""
        cloud = self._downsample(kept, self.config.voxel_m)
        return self._align(cloud, guess, self.config.correspondence_m, self.config.max_iterations)

    def heading_search(
        self,
        kept: np.ndarray,
        anchor_xy: np.ndarray,
        anchor_offset_m: tuple[float, float] = (0.0, 0.0),
    ) -> MatchResult:
        """The best registration of a cropped scan over headings round the circle, where
        base_link sits so that a point at anchor_offset_m (base_link) lands on anchor_xy (map):
        a GNSS antenna on its fix. Candidates are scored by the points they explain within the
        tracking correspondence distance."""
        coarse = self._downsample(kept, SEARCH_VOXEL_M)
        lx, ly = anchor_offset_m
        best = None
        for yaw in (
            np.arange(self.config.heading_candidates)
            * 2.0
            * math.pi
            / self.config.heading_candidates
        ):
            c, s = math.cos(yaw), math.sin(yaw)
            guess = np.array(
                [anchor_xy[0] - (c * lx - s * ly), anchor_xy[1] - (s * lx + c * ly), yaw]
            )
            rough = self._align(coarse, guess, SEARCH_CORRESPONDENCE_M, SEARCH_ITERATIONS)
            scored = self._align(coarse, rough.pose, self.config.correspondence_m, 1)
            if best is None or scored.inliers > best.inliers:
                best = scored
        fine = self._downsample(kept, self.config.voxel_m)
        return self._align(
            fine, best.pose, self.config.correspondence_m, 2 * self.config.max_iterations
        )

    @staticmethod
    def _downsample(points: np.ndarray, voxel_m: float) -> small_gicp.PointCloud:
        cloud, _ = small_gicp.preprocess_points(
            points, downsampling_resolution=voxel_m, num_neighbors=MAP_NEIGHBOURS
        )
        return cloud

    def _align(
        self,
        cloud: small_gicp.PointCloud,
        guess: np.ndarray,
        correspondence_m: float,
        iterations: int,
    ) -> MatchResult:
        """GICP held to the plane (docs/ARCHITECTURE.md#lidar-to-map-matching), until a step is
        below the convergence thresholds or `iterations` are done."""
        pose, converged, done = np.asarray(guess, dtype=float), False, 0
        while done < iterations and not converged:
            result = small_gicp.align(
                self.map.cloud,
                cloud,
                self.map.tree,
                init_T_target_source=pose_matrix(*pose),
                registration_type="GICP",
                max_correspondence_distance=correspondence_m,
                max_iterations=1,
                num_threads=1,
            )
            t = result.T_target_source
            new = np.array([t[0, 3], t[1, 3], math.atan2(t[1, 0], t[0, 0])])
            step = new - pose
            step[2] = math.remainder(step[2], math.tau)
            pose, done = new, done + 1
            converged = (
                math.hypot(step[0], step[1]) < CONVERGED_TRANSLATION_M
                and abs(step[2]) < CONVERGED_ROTATION_RAD
            )
        size = cloud.size()
        return MatchResult(
            pose,
            self._covariance(result.H, pose[2], result.num_inliers),
            result.num_inliers / max(size, 1),
            int(result.num_inliers),
            size,
            done,
            converged,
        )

    def _covariance(self, hessian: np.ndarray, yaw_rad: float, inliers: int) -> np.ndarray:
        """(x, y, yaw) covariance in map from the planar block of the body-frame Hessian."""
        block = np.asarray(hessian)[np.ix_(_PLANAR, _PLANAR)]
        try:
            body = np.linalg.inv(block) * self.config.covariance_scale
        except np.linalg.LinAlgError:
            body = np.diag([1.0, 1e6, 1e6])
        if inliers < MIN_INLIERS or not np.all(np.isfinite(body)):
            body = np.diag([1.0, 1e6, 1e6])
        c, s = math.cos(yaw_rad), math.sin(yaw_rad)
        rotate = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
        order = np.array([[0, 1, 0], [0, 0, 1], [1, 0, 0]])  # (yaw, x, y) → (x, y, yaw)
        cov = rotate @ order @ body @ order.T @ rotate.T
        cov = 0.5 * (cov + cov.T)
        cov[0, 0] += MIN_POSITION_SIGMA_M**2
        cov[1, 1] += MIN_POSITION_SIGMA_M**2
        cov[2, 2] += MIN_YAW_SIGMA_RAD**2
        return cov
