"""GNSS fixes into the `map` frame, through the map's own geodetic origin and projector.

The map (lanelet_map.DistrictMap) projects latitude/longitude with the very projector its OSM
was written with (Lanelet2's LocalCartesian at the sidecar's origin), so a fix and the lanes
agree to the millimetre. A fix is refused here, with the reason, when it carries no position
(NO_FIX, NaN) or lands kilometres away from the district: such a fix is a receiver fault, not
evidence about where the van is.

No rclpy here.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from robovan_autonomy.core_types import GnssFix
from robovan_autonomy.mapping.lanelet_map import DistrictMap

MIN_SIGMA_M = 0.01  # a receiver claiming better than 1 cm is overconfident; never trust below


class FixRejected(ValueError):
    """A fix that carries no usable position; `reason` is a short counter name."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class MapFix:
    t_s: float
    xy_m: np.ndarray  # antenna position in map
    covariance: np.ndarray  # (2, 2) east/north, m²


class FixProjector:
    """Converts fixes for one district; `margin_m` around the map's extent counts as on the map,
    and a fix without a covariance (all zeros: type unknown) gets `unknown_sigma_m`."""

    def __init__(self, district: DistrictMap, margin_m: float, unknown_sigma_m: float):
        self.district, self.unknown_sigma_m = district, unknown_sigma_m
        corners = np.vstack(
            [
                np.vstack([b.polygon for b in district.buildings] or [np.zeros((1, 2))]),
                np.vstack(
                    [lane.centerline for lane in district.lanes.values()] or [np.zeros((1, 2))]
                ),
            ]
        )
        self.lower = corners.min(axis=0) - margin_m
        self.upper = corners.max(axis=0) + margin_m

    def to_map(self, fix: GnssFix) -> MapFix:
        if not fix.has_fix:
            values = (fix.latitude_deg, fix.longitude_deg, fix.altitude_m)
            if all(math.isfinite(v) for v in values):
                raise FixRejected("gnss_no_fix", "receiver reports no fix")
            raise FixRejected("gnss_nan", "no finite position in the fix")
        x, y = self.district.to_map(fix.latitude_deg, fix.longitude_deg, fix.altitude_m)
        xy = np.array([x, y], dtype=float)
        if not np.all(np.isfinite(xy)):
            raise FixRejected("gnss_nan", "projection gave a non-finite position")
        if np.any(xy < self.lower) or np.any(xy > self.upper):
            raise FixRejected(
                "gnss_off_map", f"fix at ({x:.0f}, {y:.0f}) m is outside the district"
            )
        cov = np.array(fix.position_covariance, dtype=float)[:2, :2]
        cov = 0.5 * (cov + cov.T)
        if not np.any(cov):
            cov = np.eye(2) * self.unknown_sigma_m**2
        if np.any(np.linalg.eigvalsh(cov) < 0.0):
            raise FixRejected(
                "gnss_bad_covariance", "position covariance is not positive semidefinite"
            )
        return MapFix(fix.stamp_s, xy, cov + np.eye(2) * MIN_SIGMA_M**2)
