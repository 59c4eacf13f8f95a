"""Pinhole camera model: projection, a painter's-algorithm OpenCV renderer and 2D ground truth.

Frames: the `camera_front` body frame is REP-103 (x forward, y left, z up); pixels come from the
optical frame (z forward, x right, y down). `body_to_optical` is the one place that turns one
into the other. Pixel centres sit on integer coordinates (OpenCV, ROS CameraInfo), so a centred
principal point is ((W − 1)/2, (H − 1)/2) and the image edges are at −0.5 and W − 0.5.

The renderer draws the sky, then the flat ground layers in order (ground, sidewalks, roads,
crosswalks, markings), then every vertical face, cap and object part far to near. Faces are
clipped in 3D against the near plane and a guard band around the image before projection, so a
polygon reaching behind the camera is cut where it crosses the near plane, never mirrored.
The painter's pass draws face numbers, not colours: the colour image and the occlusion-aware
ground truth are both looked up from that one label image.
"""

from __future__ import annotations

import dataclasses
import math

import cv2
import numpy as np

from robovan_autonomy.camera_model import CameraIntrinsics
from robovan_autonomy.sim.scene import GROUND_COLOUR_BGR, FaceSet, Pose3, Scene, shade
from robovan_autonomy.vehicle_params import load_vehicle_params

NEAR_PLANE_M = 0.1  # closer than the bonnet: nothing there is worth drawing
RENDER_RANGE_M = 160.0  # geometry beyond is lost in the haze and too small to detect
GROUND_EXTENT_M = 2000.0  # the base ground square reaches within a pixel of the horizon
GUARD_BAND = 1.0  # clip a frame width/height beyond each edge: keeps pixel ints small
SUBPIXEL_BITS = 4  # fillPoly fixed point: 1/16 px vertex precision
FOG_DISTANCE_M = 700.0  # haze: colour → HAZE by 1 − exp(−d / FOG_DISTANCE_M)
HAZE_BGR = np.array((215.0, 205.0, 195.0))
ZENITH_BGR = np.array((185.0, 125.0, 65.0))
SKY_GRADIENT_RAD = math.radians(35.0)  # elevation over which the sky goes from haze to zenith
OPTICS_BLUR_PX = 3  # lens/demosaic softness; hard aliased edges would teach a detector an artefact
MIN_VISIBLE_PX = 1  # ground-truth boxes for actors with at least this many visible pixels

# Rows: the optical axes expressed in the body frame
# (x right = −y_body, y down = −z_body, z = x_body).
OPTICAL_FROM_BODY = np.array([[0.0, -1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]])


def body_to_optical(points_body: np.ndarray) -> np.ndarray:
    """(N, 3) points from the camera body frame (REP-103) into the optical frame."""
    return np.asarray(points_body) @ OPTICAL_FROM_BODY.T


def _map_to_optical(camera_pose: Pose3) -> np.ndarray:
    """M with optical = (p_map − position) @ M."""
    return camera_pose.rotation @ OPTICAL_FROM_BODY.T


def project_points(
    points_map: np.ndarray, camera_pose: Pose3, intrinsics: CameraIntrinsics | None = None
) -> np.ndarray:
    """(N, 3) map points → (N, 2) pixels (u right, v down); NaN for points not in front of the
    near plane. camera_pose is the camera body frame (`camera_front`) in map; intrinsics default
    to the datasheet's front camera."""
    if intrinsics is None:
        intrinsics = CameraIntrinsics.from_vehicle_params(load_vehicle_params())
    optical = (
        np.asarray(points_map, float).reshape(-1, 3) - camera_pose.position
    ) @ _map_to_optical(camera_pose)
    z = optical[:, 2]
    in_front = z >= NEAR_PLANE_M
    safe_z = np.where(in_front, z, 1.0)
    pixels = np.column_stack(
        [
            intrinsics.fx * optical[:, 0] / safe_z + intrinsics.cx,
            intrinsics.fy * optical[:, 1] / safe_z + intrinsics.cy,
        ]
    )
    pixels[~in_front] = np.nan
    return pixels


@dataclasses.dataclass(frozen=True)
class GroundTruthBox2D:
    """One actor in view. x1..y2: its full drawn extent (amodal, through occluders) cut to the
    image, in pixels with centres on integers. visible_fraction: its pixels left unoccluded over
    its pixels in the image. truncation: share of its uncut extent's area outside the image."""

    class_id: int
    object_id: int
    x1: float
    y1: float
    x2: float
    y2: float
    visible_fraction: float
    truncation: float


@dataclasses.dataclass(frozen=True)
class CameraFrame:
    image: np.ndarray  # (H, W, 3) uint8 bgr8
    boxes: tuple[GroundTruthBox2D, ...]


class CameraRenderer:
    def __init__(self, intrinsics: CameraIntrinsics):
        self.intrinsics = k = intrinsics
        left = (k.cx + 0.5 + GUARD_BAND * k.width_px) / k.fx
        right = (k.width_px - 0.5 - k.cx + GUARD_BAND * k.width_px) / k.fx
        top = (k.cy + 0.5 + GUARD_BAND * k.height_px) / k.fy
        bottom = (k.height_px - 0.5 - k.cy + GUARD_BAND * k.height_px) / k.fy
        # Inside ⇔ optical · normal ≥ offset, for the near plane and the four guard-band planes.
        self._plane_normals = np.array(
            [
                [0.0, 0.0, 1.0],
                [1.0, 0.0, left],
                [-1.0, 0.0, right],
                [0.0, 1.0, top],
                [0.0, -1.0, bottom],
            ]
        )
        self._plane_offsets = np.array([NEAR_PLANE_M, 0.0, 0.0, 0.0, 0.0])

    def render(
        self, scene: Scene, camera_pose: Pose3, min_visible_px: int = MIN_VISIBLE_PX
    ) -> CameraFrame:
        """Image and 2D ground truth of scene.objects from camera_pose (camera_front in map)."""
        k = self.intrinsics
        faces = FaceSet.concat(
            [
                self._ground_square(scene, camera_pose),
                scene.faces_near(camera_pose.position[:2], RENDER_RANGE_M),
            ]
        )
        polygons, index, depth = self._visible_polygons(faces, camera_pose)
        order = np.lexsort(
            (-depth, faces.layer[index])
        )  # ground layers in order, then solids far to near
        # Labels: the sky of row r is r, polygon i is H + i;
        # the last polygon drawn over a pixel wins.
        labels = np.empty((k.height_px, k.width_px), np.int32)
        labels[:] = np.arange(k.height_px, dtype=np.int32)[:, None]
        first_label = k.height_px
        for i in order.tolist():
            cv2.fillPoly(labels, [polygons[i]], first_label + i, cv2.LINE_8, SUBPIXEL_BITS)
        fog = (1.0 - np.exp(-depth / FOG_DISTANCE_M))[:, None]
        colours = faces.colour[index] * (1.0 - fog) + HAZE_BGR * fog
        image = _lookup_bgr(
            labels, np.concatenate([self._sky_rows(camera_pose), _to_uint8(colours)])
        )
        pixels = np.bincount(labels.ravel(), minlength=first_label + len(polygons))[first_label:]
        boxes = self._ground_truth(scene, polygons, faces.owner[index], pixels, min_visible_px)
        if OPTICS_BLUR_PX > 1:
            image = cv2.GaussianBlur(image, (OPTICS_BLUR_PX, OPTICS_BLUR_PX), 0)
        return CameraFrame(image, boxes)

    # -- pieces -----------------------------------------------------------------------------
    def _sky_rows(self, camera_pose: Pose3) -> np.ndarray:
        """(H, 3) colour per image row: haze at the horizon to zenith blue, from the elevation of
        the row's centre ray (roll ignored: the sky is nearly uniform across a row)."""
        k = self.intrinsics
        rows = np.arange(k.height_px)
        optical = np.column_stack(
            [np.zeros(k.height_px), (rows - k.cy) / k.fy, np.ones(k.height_px)]
        )
        rays = optical @ _map_to_optical(camera_pose).T
        elevation = np.arctan2(rays[:, 2], np.hypot(rays[:, 0], rays[:, 1]))
        w = np.clip(elevation / SKY_GRADIENT_RAD, 0.0, 1.0)[:, None]
        return np.clip(HAZE_BGR * (1.0 - w) + ZENITH_BGR * w, 0, 255).astype(np.uint8)

    def _ground_square(self, scene: Scene, camera_pose: Pose3) -> FaceSet:
        x, y = camera_pose.position[:2]
        e = GROUND_EXTENT_M
        square = np.array(
            [[x - e, y - e, 0.0], [x + e, y - e, 0.0], [x + e, y + e, 0.0], [x - e, y + e, 0.0]]
        )
        up = np.array([[0.0, 0.0, 1.0]])
        return FaceSet.from_polygons(
            [square], up, shade(GROUND_COLOUR_BGR, up, scene.sun, False), 0, 0, False
        )

    def _visible_polygons(self, faces: FaceSet, camera_pose: Pose3):
        """Front-facing faces that reach into the view, clipped and projected: a list of (K, 2)
        int32 fixed-point pixel polygons, the face index of each, and its centroid distance."""
        k = self.intrinsics
        heads, counts = faces.starts[:-1], np.diff(faces.starts)
        if len(heads) == 0:
            return [], np.zeros(0, np.int64), np.zeros(0)
        relative = faces.vertices - camera_pose.position
        facing = faces.two_sided | (np.einsum("ij,ij->i", faces.normal, relative[heads]) < 0.0)
        optical = relative @ _map_to_optical(camera_pose)
        # Cohen–Sutherland outcodes: bit p of a vertex is set when it lies outside plane p.
        outcode = np.packbits(
            optical @ self._plane_normals.T < self._plane_offsets, axis=1, bitorder="little"
        )[:, 0]
        outside_one_plane = np.bitwise_and.reduceat(outcode, heads) != 0
        all_inside = np.bitwise_or.reduceat(outcode, heads) == 0
        candidates = np.nonzero(facing & ~outside_one_plane)[0]
        centroid = np.add.reduceat(relative, heads, axis=0) / counts[:, None]
        depth = np.linalg.norm(centroid[candidates], axis=1)
        scale = 1 << SUBPIXEL_BITS
        safe_z = np.maximum(optical[:, 2], NEAR_PLANE_M)
        projected = np.column_stack(
            [k.fx * optical[:, 0] / safe_z + k.cx, k.fy * optical[:, 1] / safe_z + k.cy]
        )
        # Vertices behind the near plane only feed faces that get clipped; bound them for the cast.
        fixed = np.round(np.clip(projected * scale, -(2.0**30), 2.0**30)).astype(np.int32)
        bounds, unclipped = faces.starts.tolist(), all_inside.tolist()
        polygons, kept = [], []
        for i in candidates.tolist():
            start, end = bounds[i], bounds[i + 1]
            if unclipped[i]:
                polygons.append(fixed[start:end])
                kept.append(True)
                continue
            clipped = _clip_polygon(optical[start:end], self._plane_normals, self._plane_offsets)
            if len(clipped) >= 3:
                uv = np.column_stack(
                    [
                        k.fx * clipped[:, 0] / clipped[:, 2] + k.cx,
                        k.fy * clipped[:, 1] / clipped[:, 2] + k.cy,
                    ]
                )
                polygons.append(np.round(uv * scale).astype(np.int32))
            kept.append(len(clipped) >= 3)
        kept = np.array(kept, bool)
        return polygons, candidates[kept], depth[kept]

    def _ground_truth(
        self, scene: Scene, polygons, owners: np.ndarray, pixels: np.ndarray, min_visible_px: int
    ):
        """Occlusion-aware 2D boxes of the objects with polygons in view. pixels: how many pixels
        of the label image each polygon won, so an object's visible pixels are its polygons' sum."""
        k = self.intrinsics
        mine = np.nonzero(owners > 0)[0]
        if len(mine) == 0:
            return ()
        mine = mine[np.argsort(owners[mine], kind="stable")]
        in_view, first = np.unique(owners[mine], return_index=True)
        visible = np.add.reduceat(pixels[mine], first)
        drawn = [polygons[i] for i in mine.tolist()]
        vertex_starts = np.concatenate([[0], np.cumsum([len(p) for p in drawn])])[first]
        points = np.concatenate(drawn) / float(1 << SUBPIXEL_BITS)
        lo, hi = (
            np.minimum.reduceat(points, vertex_starts),
            np.maximum.reduceat(points, vertex_starts),
        )
        cut_lo = np.maximum(lo, 0.0)
        cut_hi = np.minimum(hi, (k.width_px - 1.0, k.height_px - 1.0))
        shown = np.all(cut_hi >= cut_lo, axis=1) & (visible >= min_visible_px)
        ends = np.append(first[1:], len(mine))
        boxes = []
        for j in np.nonzero(shown)[0].tolist():
            (u0, v0), (u1, v1) = lo[j], hi[j]
            (x1, y1), (x2, y2) = cut_lo[j].tolist(), cut_hi[j].tolist()
            full_area = max((u1 - u0) * (v1 - v0), 1e-9)
            in_image = _silhouette_pixels(
                drawn[first[j] : ends[j]],
                int(math.floor(x1)),
                int(math.floor(y1)),
                int(math.ceil(x2)),
                int(math.ceil(y2)),
            )
            box = scene.objects[in_view[j] - 1]
            boxes.append(
                GroundTruthBox2D(
                    int(box.class_id),
                    int(box.object_id),
                    x1,
                    y1,
                    x2,
                    y2,
                    float(min(1.0, visible[j] / max(in_image, 1))),
                    float(1.0 - (x2 - x1) * (y2 - y1) / full_area),
                )
            )
        return tuple(boxes)


def _to_uint8(colours_bgr: np.ndarray) -> np.ndarray:
    """Float BGR as fillPoly would store it in a uint8 image: rounded half to even, saturated."""
    return np.clip(np.rint(colours_bgr), 0, 255).astype(np.uint8)


def _lookup_bgr(labels: np.ndarray, palette_bgr: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 image of palette_bgr[labels]; the palette padded to 4 bytes a colour, so
    the gather moves one 32-bit word a pixel."""
    padded = np.zeros((len(palette_bgr), 4), np.uint8)
    padded[:, :3] = palette_bgr
    bgra = np.take(padded.view(np.uint32).ravel(), labels).view(np.uint8).reshape(*labels.shape, 4)
    return cv2.cvtColor(bgra, cv2.COLOR_BGRA2BGR)


def _silhouette_pixels(polygons, x0: int, y0: int, x1: int, y1: int) -> int:
    """Pixels an actor covers inside the image window [x0, x1] × [y0, y1], occluders ignored."""
    mask = np.zeros((y1 - y0 + 1, x1 - x0 + 1), np.uint8)
    offset = np.array([x0, y0], np.int32) << SUBPIXEL_BITS
    cv2.fillPoly(mask, [p - offset for p in polygons], 1, cv2.LINE_8, SUBPIXEL_BITS)
    return int(np.count_nonzero(mask))


def _clip_polygon(polygon: np.ndarray, normals: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Sutherland–Hodgman: the part of a convex or concave planar polygon on the inside of every
    plane (normal · p ≥ offset). Mostly quads: plain floats beat numpy's per-call cost there."""
    for normal, offset in zip(normals, offsets):
        if len(polygon) == 0:
            break
        distance = polygon @ normal - offset
        if distance.min() >= 0.0:
            continue
        points, d = polygon.tolist(), distance.tolist()
        out = []
        for p, q, dp, dq in zip(points, points[1:] + points[:1], d, d[1:] + d[:1]):
            if dp >= 0.0:
                out.append(p)
            if (dp >= 0.0) != (dq >= 0.0):
                f = dp / (dp - dq)
                out.append(
                    [p[0] + (q[0] - p[0]) * f, p[1] + (q[1] - p[1]) * f, p[2] + (q[2] - p[2]) * f]
                )
        polygon = np.array(out, float).reshape(-1, 3)
    return polygon
