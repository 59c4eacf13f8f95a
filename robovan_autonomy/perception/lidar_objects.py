"""LiDAR obstacles: ground removal, drivable-area filter, grid clustering, oriented boxes.

One scan in, a table of oriented boxes in `map` out, every step vectorised over the scan; each
cluster's box is an L-shape fit (Zhang et al., 2017). The steps: docs/ARCHITECTURE.md#lidar-objects.
"""

from __future__ import annotations

import dataclasses
import math

import cv2
import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from robovan_autonomy.core_types import LIDAR_FRAME, PoseEstimate
from robovan_autonomy.geometry import project_on_polyline
from robovan_autonomy.mapping.lanelet_map import DistrictMap
from robovan_autonomy.vehicle_params import SensorPose, VehicleParams

GROUND_PRIOR_TOLERANCE_M = 0.3  # first fit: returns this close to z = 0 (base_link)
GROUND_REFIT_TOLERANCE_M = (
    0.08  # second fit: returns this close to the first plane (4σ of range noise)
)
MIN_GROUND_POINTS = 50  # fewer: keep the flat prior rather than fit noise
SELF_MARGIN_M = 0.3  # returns this close to the van's own footprint are its body
MAX_OBSTACLE_HEIGHT_M = 4.5  # higher returns (eaves, signs, bridges) are nothing the van can hit
BODY_FRACTION = 0.6  # the rectangle is fitted to returns below this share of the top
HEADING_STEPS = 30  # candidate headings over 90° for the rectangle fit (3° apart)
CLOSENESS_FLOOR_M = 0.05  # d0 of the closeness criterion: bounds a point's weight
DRIVABLE_RASTER_M = 0.2  # drivable-area raster cell
# (from range m, grow cells by m): returns on one object drift apart with range, 0.5–1.5 m in plan
# view on a car's side seen at a grazing angle (0.35° columns) or between its rear face and roof
# edge (1.3° beams); growing the cells of farther points joins them again, at the price of
# joining a person who stands within a metre of a car that far away. From 6 m on: a car seen
# corner-on at 8 m with its side 6° off the line of sight leaves 0.5 m gaps along that side.
RANGE_GROWTH = ((6.0, 0.3), (30.0, 0.6))
# A cluster whose lowest return is this far above the ground stands on nothing: it is the upper
# part of an object (a car's rear window behind its boot lid, which the 1.3° beams skip over).
FLOATING_ABOVE_GROUND_M = 0.6
FLOATING_MERGE_M = 2.0  # it joins a grounded cluster this close (+ per m of range)
FLOATING_MERGE_PER_M = 0.03
# A floating cluster no wider than this, at least this much higher than the cluster it would join,
# and this near, is a person seen over a parked car; a grounded cluster no wider than this, with a
# wider floating one beside it, is a person standing by a car whose body something nearer hides
# (`_person_apart`), m.
HEAD_MAX_WIDTH_M = 0.8
HEAD_ABOVE_ROOF_M = 0.1
HEAD_MAX_RANGE_M = 30.0
# A return between the outline and the ground clearance is too near the ground to tell one object
# from the next (a bumper, a shoe, a kerb's far edge seen with pitch noise), so it never joins two
# clusters nor makes one; it only completes the outline of the nearest cluster within this reach
# per m of range (a grid cell at least): from 31 to 33 m the one beam on a car's rear face hits it
# this low, and the beam above passes over the face to the top, up to a metre inside the rear.
OUTLINE_REACH_PER_M = 0.04


@dataclasses.dataclass(frozen=True)
class LidarObjectConfig:
    max_range_m: float = 80.0  # clustering range from the sensor
    ground_clearance_m: float = 0.3  # above the ground plane: obstacle points
    cluster_cell_m: float = 0.3  # clustering grid; gaps wider than ~1–2 cells separate objects
    min_points: int = 1  # a pedestrian 45 m away leaves 1–2 returns on 32 beams
    max_cluster_size_m: float = 20.0  # longer clusters are structure (a fence, a wall)
    outline_clearance_m: float = (
        0.2  # above the ground plane: points that complete an obstacle's outline
    )


@dataclasses.dataclass(frozen=True)
class LidarBoxes:
    """Clusters as oriented boxes in map: centre, heading (the longer side; ±π ambiguous), size,
    z of the ground beneath, point count, how far its lowest return is above the lowest height
    the sensor sees there (about 0 for what shows down to the ground, a body's height for a car
    seen by its roof and boot lid only), and the sensor position they were seen from."""

    x_m: np.ndarray
    y_m: np.ndarray
    z_m: np.ndarray
    yaw_rad: np.ndarray
    length_m: np.ndarray
    width_m: np.ndarray
    height_m: np.ndarray
    points: np.ndarray
    clearance_m: np.ndarray
    sensor_xy: np.ndarray

    def __len__(self) -> int:
        return len(self.x_m)

    @staticmethod
    def empty(sensor_xy=(0.0, 0.0)) -> LidarBoxes:
        z = np.zeros(0)
        return LidarBoxes(
            z, z, z, z, z, z, z, np.zeros(0, np.int64), z, np.asarray(sensor_xy, float)
        )


class DrivableArea:
    """The road surface between the kerbs, widened by margin_m, as a raster in map."""

    def __init__(
        self, district: DistrictMap, margin_m: float, resolution_m: float = DRIVABLE_RASTER_M
    ):
        outers = [s.outer for s in district.road_surface]
        holes = [h for s in district.road_surface for h in s.holes]
        if not outers:
            raise ValueError("the map has no road surface (closed kerbs)")
        points = np.concatenate(outers)
        pad = margin_m + 2.0 * resolution_m
        self.origin = points.min(axis=0) - pad
        size = np.ceil((points.max(axis=0) + pad - self.origin) / resolution_m).astype(int) + 1
        self.resolution_m = resolution_m
        raster = np.zeros((size[1], size[0]), np.uint8)
        shift = 4  # fillPoly sub-pixel bits

        def pixels(polygon):
            return np.round(
                (np.asarray(polygon) - self.origin) / resolution_m * (1 << shift)
            ).astype(np.int32)

        cv2.fillPoly(raster, [pixels(p) for p in outers], 1, cv2.LINE_8, shift)
        if holes:
            cv2.fillPoly(raster, [pixels(p) for p in holes], 0, cv2.LINE_8, shift)
        radius = int(round(margin_m / resolution_m))
        if radius > 0:
            kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
            raster = cv2.dilate(raster, kernel)
        self.raster = raster.astype(bool)

    def contains(self, xy_map: np.ndarray) -> np.ndarray:
        cells = np.floor(
            (np.asarray(xy_map, float).reshape(-1, 2) - self.origin) / self.resolution_m
        ).astype(np.int64)
        h, w = self.raster.shape
        inside = (cells[:, 0] >= 0) & (cells[:, 0] < w) & (cells[:, 1] >= 0) & (cells[:, 1] < h)
        out = np.zeros(len(cells), bool)
        out[inside] = self.raster[cells[inside, 1], cells[inside, 0]]
        return out


def lane_heading_prior(district: DistrictMap):
    """(x, y) → heading of the nearest lane's centreline there (NaN beyond the lane matcher's
    reach): the direction vehicles stand in, parked or driving."""

    def heading(x_m: float, y_m: float) -> float:
        match = district.nearest_lane(float(x_m), float(y_m))
        if match is None:
            return math.nan
        return project_on_polyline(
            district.lanes[match.lanelet_id].centerline, float(x_m), float(y_m)
        )[3]

    return heading


def pose_matrix(pose: PoseEstimate) -> tuple[np.ndarray, np.ndarray]:
    """base_link → map as (R 3×3, t 3): planar pose at the odometry's height."""
    c, s = math.cos(pose.yaw_rad), math.sin(pose.yaw_rad)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]), np.array(
        [pose.x_m, pose.y_m, pose.z_m]
    )


def ground_plane(points_base: np.ndarray) -> np.ndarray:
    """(a, b, c) of the ground z = a·x + b·y + c in base_link: least squares through the returns
    near the expected ground (z = 0), then again through those near the first plane, which drops
    the low parts of objects (wheels, feet) that the first band let in."""
    plane = np.zeros(3)
    tolerance = GROUND_PRIOR_TOLERANCE_M
    for _ in range(2):
        residual = points_base[:, 2] - (
            points_base[:, 0] * plane[0] + points_base[:, 1] * plane[1] + plane[2]
        )
        near = points_base[np.abs(residual) <= tolerance]
        if len(near) < MIN_GROUND_POINTS:
            return plane
        a = np.column_stack([near[:, 0], near[:, 1], np.ones(len(near))])
        plane = np.linalg.solve(a.T @ a, a.T @ near[:, 2])
        tolerance = GROUND_REFIT_TOLERANCE_M
    return plane


class LidarObjectDetector:
    def __init__(
        self,
        vehicle: VehicleParams,
        extrinsic: SensorPose,
        config: LidarObjectConfig = LidarObjectConfig(),
        drivable: DrivableArea | None = None,
    ):
        self.config = config
        self.extrinsic = extrinsic
        self.drivable = drivable
        self.sensor_height_m = extrinsic.z_m
        self.lowest_beam_slope = math.tan(-float(vehicle.sensors[LIDAR_FRAME]["min_elevation_rad"]))
        self.last_points = np.zeros(
            (0, 4)
        )  # the latest scan's obstacle points (map x, y, z, height)
        footprint = vehicle.footprint()
        self.self_box = (
            footprint.min(axis=0) - SELF_MARGIN_M,
            footprint.max(axis=0) + SELF_MARGIN_M,
        )
        angles = np.linspace(0.0, math.pi / 2.0, HEADING_STEPS, endpoint=False)
        self.headings = angles
        self.axes = np.stack([np.cos(angles), np.sin(angles)], axis=0)  # (2, K) e1
        self.normals = np.stack([-np.sin(angles), np.cos(angles)], axis=0)  # (2, K) e2
        self.growth = []  # (from range m, structuring element) of RANGE_GROWTH
        for range_m, grow_m in RANGE_GROWTH:
            radius = int(round(grow_m / config.cluster_cell_m))
            if radius >= 1:
                self.growth.append(
                    (
                        range_m,
                        cv2.getStructuringElement(
                            cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1)
                        ),
                    )
                )

    def obstacle_points(
        self, points_sensor: np.ndarray, pose: PoseEstimate, clearance_m: float | None = None
    ) -> np.ndarray:
        """(N, 4) scan in the LiDAR frame → (M, 4) obstacle points in map: x, y, z and the
        height above the ground plane, higher than clearance_m (the ground clearance unless
        given)."""
        cfg = self.config
        base = self.extrinsic.to_base_link(np.asarray(points_sensor[:, :3], float))
        sensor = self.extrinsic.translation()
        lo, hi = self.self_box
        dx, dy = base[:, 0] - sensor[0], base[:, 1] - sensor[1]
        keep = (dx * dx + dy * dy <= cfg.max_range_m**2) & ~(
            (base[:, 0] >= lo[0])
            & (base[:, 0] <= hi[0])
            & (base[:, 1] >= lo[1])
            & (base[:, 1] <= hi[1])
        )
        base = base[keep]
        plane = ground_plane(base)
        height = base[:, 2] - (base[:, 0] * plane[0] + base[:, 1] * plane[1] + plane[2])
        low = cfg.ground_clearance_m if clearance_m is None else clearance_m
        obstacle = (height > low) & (height < MAX_OBSTACLE_HEIGHT_M)
        rotation, translation = pose_matrix(pose)
        points = np.column_stack([base[obstacle] @ rotation.T + translation, height[obstacle]])
        if self.drivable is not None:
            points = points[self.drivable.contains(points[:, :2])]
        return points

    def detect(self, points_sensor: np.ndarray, pose: PoseEstimate) -> LidarBoxes:
        rotation, translation = pose_matrix(pose)
        sensor_xy = (rotation @ self.extrinsic.translation() + translation)[:2]
        clearance = self.config.ground_clearance_m
        outline = self.obstacle_points(
            points_sensor, pose, min(self.config.outline_clearance_m, clearance)
        )
        core = outline[:, 3] > clearance
        points = outline[core]
        self.last_points = points
        distance = np.hypot(points[:, 0] - sensor_xy[0], points[:, 1] - sensor_xy[1])
        labels = self._cluster(points, distance)
        if labels is None:
            return LidarBoxes.empty(sensor_xy)
        member = np.bincount(labels)[labels] >= self.config.min_points
        if not member.any():
            return LidarBoxes.empty(sensor_xy)
        points, labels, distance = self._attach_outline(
            points[member], labels[member], distance[member], outline[~core], sensor_xy
        )
        order = np.argsort(labels, kind="stable")
        points, labels, distance = points[order], labels[order], distance[order]
        starts = np.concatenate([[0], np.nonzero(np.diff(labels))[0] + 1])
        boxes = self._fit_boxes(points, distance, starts, sensor_xy)
        size_ok = boxes.length_m <= self.config.max_cluster_size_m
        return LidarBoxes(
            *(
                getattr(boxes, f.name)[size_ok]
                for f in dataclasses.fields(LidarBoxes)
                if f.name != "sensor_xy"
            ),
            sensor_xy,
        )

    def _cluster(self, points: np.ndarray, distance: np.ndarray) -> np.ndarray | None:
        """Cluster label per point (distance: each one's range from the sensor), or None without
        points. Occupied grid cells are 8-connected;
        far away, where one object's returns scatter over surfaces a metre or more apart (a rear
        face, a rear window, a roof), the cells of far points are grown first (RANGE_GROWTH), so
        the gap that still joins grows with range."""
        if len(points) == 0:
            return None
        cell = self.config.cluster_cell_m
        ij = np.floor(points[:, :2] / cell).astype(np.int64)
        ij -= ij.min(axis=0)
        shape = ij.max(axis=0) + 1
        grid = np.zeros((int(shape[0]), int(shape[1])), np.uint8)
        grid[ij[:, 0], ij[:, 1]] = 1
        for range_m, kernel in self.growth:
            far = distance >= range_m
            if not far.any():
                continue
            seeds = np.zeros_like(grid)
            seeds[ij[far, 0], ij[far, 1]] = 1
            grid |= cv2.dilate(seeds, kernel)
        labelled, _ = ndimage.label(grid, structure=np.ones((3, 3), bool))
        return self._merge_floating(points, labelled[ij[:, 0], ij[:, 1]], distance)

    def _attach_outline(
        self,
        points: np.ndarray,
        labels: np.ndarray,
        distance: np.ndarray,
        low: np.ndarray,
        sensor_xy: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The clustered points, and the low ones within reach of a cluster as part of the nearest;
        the other low ones are dropped."""
        if len(low) == 0:
            return points, labels, distance
        low_distance = np.hypot(low[:, 0] - sensor_xy[0], low[:, 1] - sensor_xy[1])
        gap, nearest = cKDTree(points[:, :2]).query(low[:, :2])
        near = gap <= np.maximum(OUTLINE_REACH_PER_M * low_distance, self.config.cluster_cell_m)
        return (
            np.concatenate([points, low[near]]),
            np.concatenate([labels, labels[nearest[near]]]),
            np.concatenate([distance, low_distance[near]]),
        )

    def _merge_floating(
        self, points: np.ndarray, labels: np.ndarray, distance: np.ndarray
    ) -> np.ndarray:
        """Clusters that never come near the ground (a car's rear window and roof edge, seen apart
        from its rear face because the beams skip the boot lid between them) join the grounded
        cluster nearest to them, when it is near enough. People and vehicles stand on the ground;
        a floating cluster is part of one of them."""
        lowest = np.full(labels.max() + 1, np.inf)
        np.minimum.at(lowest, labels, points[:, 3])
        # Close by, the lowest beam passes over the bottom of things: what stands on the ground
        # shows nothing below the height that beam reaches there.
        closest = np.full(labels.max() + 1, np.inf)
        np.minimum.at(closest, labels, distance)
        floating = (lowest - self._visible_from(closest))[labels] > FLOATING_ABOVE_GROUND_M
        if not floating.any() or floating.all():
            return labels
        tree = cKDTree(points[~floating, :2])
        gap, nearest = tree.query(points[floating, :2])
        target = labels[~floating][nearest]
        reach = FLOATING_MERGE_M + FLOATING_MERGE_PER_M * distance[floating]
        ok = (gap <= reach) & ~self._person_apart(points, labels, floating, target, distance)
        merged = labels.copy()
        # Each floating cluster follows the grounded cluster its closest point is nearest to.
        floating_labels = labels[floating]
        order = np.argsort(np.where(ok, gap, np.inf), kind="stable")
        first = {}
        for k in order.tolist():
            if ok[k]:
                first.setdefault(int(floating_labels[k]), int(target[k]))
        if first:
            lookup = np.arange(labels.max() + 1)
            lookup[list(first)] = list(first.values())
            merged = lookup[labels]
        return merged

    def _visible_from(self, distance_m: np.ndarray) -> np.ndarray:
        """The lowest height the lowest beam reaches at each distance: close by, it passes over
        the bottom of things, and what stands on the ground shows nothing below it."""
        return np.maximum(self.sensor_height_m - distance_m * self.lowest_beam_slope, 0.0)

    @staticmethod
    def _person_apart(
        points: np.ndarray,
        labels: np.ndarray,
        floating: np.ndarray,
        target: np.ndarray,
        distance: np.ndarray,
    ) -> np.ndarray:
        """Per floating point: are its cluster and the grounded one it would join a person and a
        car? Someone between two parked cars shows either only above the roofs (narrow, higher
        than the car) or down to the ground, while the nearer car hides the farther one's body,
        whose upper parts then float beside them (wider than the person). A car's own upper parts
        (rear window, roof) are no higher than it and no wider than what it shows below them.
        Only near: far away, a car's lower body may show as a narrow scrap."""
        count = labels.max() + 1
        top = np.full(count, -np.inf)
        np.maximum.at(top, labels, points[:, 3])
        # Extents only of the clusters involved: the others are most of the scan.
        involved = floating | np.isin(labels, target)
        low, high = np.full((count, 2), np.inf), np.full((count, 2), -np.inf)
        np.minimum.at(low, labels[involved], points[involved, :2])
        np.maximum.at(high, labels[involved], points[involved, :2])
        width = np.max(high - low, axis=1)
        own = labels[floating]
        head_over = (width[own] <= HEAD_MAX_WIDTH_M) & (top[own] >= top[target] + HEAD_ABOVE_ROOF_M)
        person_in_front = (width[target] <= HEAD_MAX_WIDTH_M) & (width[own] > width[target])
        return (head_over | person_in_front) & (distance[floating] <= HEAD_MAX_RANGE_M)

    def _fit_boxes(
        self, points: np.ndarray, distance: np.ndarray, starts: np.ndarray, sensor_xy: np.ndarray
    ) -> LidarBoxes:
        """The closeness-criterion rectangle of each cluster (rows points[starts[i]:starts[i+1]]),
        fitted to its lower part: a vehicle's body outlines its footprint, while its glass and
        roof are inset and would blur the L."""
        xy = points[:, :2]
        count = len(starts)
        sizes = np.diff(np.append(starts, len(xy)))
        owner = np.repeat(np.arange(count), sizes)
        top = np.maximum.reduceat(points[:, 3], starts)
        low = points[:, 3] <= BODY_FRACTION * top[owner]
        low |= np.add.reduceat(low.astype(np.int64), starts)[owner] < 3
        centre = np.add.reduceat(xy, starts, axis=0) / sizes[:, None]
        local = xy - centre[owner]  # numerically kinder
        c1, c2 = local @ self.axes, local @ self.normals  # (N, K)
        big = np.inf
        c1_lo = np.minimum.reduceat(np.where(low[:, None], c1, big), starts)
        c1_hi = np.maximum.reduceat(np.where(low[:, None], c1, -big), starts)
        c2_lo = np.minimum.reduceat(np.where(low[:, None], c2, big), starts)
        c2_hi = np.maximum.reduceat(np.where(low[:, None], c2, -big), starts)
        d1 = np.minimum(c1 - c1_lo[owner], c1_hi[owner] - c1)
        d2 = np.minimum(c2 - c2_lo[owner], c2_hi[owner] - c2)
        closeness = np.where(
            low[:, None], 1.0 / np.maximum(np.abs(np.minimum(d1, d2)), CLOSENESS_FLOOR_M), 0.0
        )
        score = np.add.reduceat(closeness, starts)  # (clusters, K)
        best = np.argmax(score, axis=1)
        rows = np.arange(count)
        e1_lo, e1_hi, e2_lo, e2_hi = (a[rows, best] for a in (c1_lo, c1_hi, c2_lo, c2_hi))
        theta = self.headings[best]
        mid1, mid2 = (e1_lo + e1_hi) / 2.0, (e2_lo + e2_hi) / 2.0
        cx = centre[:, 0] + mid1 * np.cos(theta) - mid2 * np.sin(theta)
        cy = centre[:, 1] + mid1 * np.sin(theta) + mid2 * np.cos(theta)
        ext1, ext2 = e1_hi - e1_lo, e2_hi - e2_lo
        longer_is_1 = ext1 >= ext2
        yaw = np.where(longer_is_1, theta, theta + math.pi / 2.0)
        ground_z = np.add.reduceat(points[:, 2] - points[:, 3], starts) / sizes
        nearest = np.minimum.reduceat(distance, starts)
        clearance = np.maximum(
            np.minimum.reduceat(points[:, 3], starts) - self._visible_from(nearest), 0.0
        )
        return LidarBoxes(
            cx,
            cy,
            ground_z,
            (yaw + math.pi) % (2.0 * math.pi) - math.pi,
            np.maximum(ext1, ext2),
            np.minimum(ext1, ext2),
            top,
            sizes,
            clearance,
            sensor_xy,
        )
