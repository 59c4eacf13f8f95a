"""Which objects stand still, and for how long: the one per-track stillness record that passing
(a blockage to pass) and the speed for the view (something standing in the roadway) both read."""

from __future__ import annotations

import math

import numpy as np

from robovan_autonomy.perception.classes import ObjectClass
from robovan_autonomy.planning.behaviour.common import Body, PathObjects
from robovan_autonomy.planning.behaviour.decision import PASSABLE_ADJACENT_KINDS
from robovan_autonomy.planning.prediction import TRACK_FORGET_AFTER_S
from robovan_autonomy.planning.route import ReferencePath
from robovan_autonomy.planning.speed_limits import SpeedProfile, occlusion_limits

# Brief: slower than 0.3 m/s for more than 3 s, a car, van or static object, is a blockage; the
# stillness timer restarts only above BLOCKAGE_MOVING_SPEED_MPS (hysteresis on tracker noise).
BLOCKAGE_MAX_SPEED_MPS = 0.3
BLOCKAGE_MOVING_SPEED_MPS = 0.6
BLOCKAGE_STILL_S = 3.0
BLOCKAGE_CLASSES = frozenset({ObjectClass.CAR, ObjectClass.VAN_TRUCK, ObjectClass.STATIC})
# Whatever stands in the lane and may turn out to be a blockage (an unlabelled LiDAR cluster far
# ahead, before the camera names it): the van already waits where it could pull out around it.
MAYBE_BLOCKAGE_CLASSES = BLOCKAGE_CLASSES | {ObjectClass.UNKNOWN}
# Something standing in the roadway reaching this far into a lane blocks the view past it, m
# (parked cars in the kerbside strip reach at most a few centimetres over its edge).
ROADWAY_OVERLAP_M = 0.3


class Blockages:
    """Per-track stillness timers (with hysteresis on tracker noise), and what they make of a
    track: maybe a blockage, a blockage, an occluder to slow down for."""

    def __init__(self, body: Body):
        self.body = body
        self._still_since: dict[int, tuple[float, float]] = {}  # track → (still since, last seen)

    def update(self, t_s: float, objects: np.ndarray) -> None:
        for obj in objects:
            track, speed = int(obj["track_id"]), math.hypot(float(obj["vx"]), float(obj["vy"]))
            since = self._still_since.get(track, (None, t_s))[0]
            if speed > BLOCKAGE_MOVING_SPEED_MPS:
                since = None
            elif since is None and speed < BLOCKAGE_MAX_SPEED_MPS:
                since = t_s
            self._still_since[track] = (since, t_s)
        self._still_since = {
            k: v for k, v in self._still_since.items() if t_s - v[1] <= TRACK_FORGET_AFTER_S
        }

    def _still_for_s(self, t_s: float, track: int) -> float:
        """How long the track has stood (-inf: it is moving, or unknown)."""
        since = self._still_since.get(track, (None,))[0]
        return -math.inf if since is None else t_s - since

    def maybe_blockage(self, t_s: float, track: int, class_id: int) -> bool:
        return class_id in MAYBE_BLOCKAGE_CLASSES and self._still_for_s(t_s, track) >= 0.0

    def is_blockage(self, t_s: float, track: int, class_id: int) -> bool:
        return class_id in BLOCKAGE_CLASSES and self._still_for_s(t_s, track) > BLOCKAGE_STILL_S

    def occlusion_limits(
        self, t_s: float, objs: PathObjects, path: ReferencePath, s_front: float
    ) -> SpeedProfile:
        """Speed for the view past everything standing in the roadway (speed_limits.py): a
        vehicle or obstacle, still, whose box reaches into the own lane or a lane beside it by
        more than ROADWAY_OVERLAP_M (parked cars in the kerbside strip do not). From the moment it
        stands, parked or not (a bus at its stop hides its passengers at once), and again as soon
        as a moment's tracked motion of it has died down."""
        p = objs.prediction
        if len(p) == 0:
            return SpeedProfile()
        at = np.clip(np.searchsorted(path.s_m, objs.s_m[:, 0]), 0, len(path.s_m) - 1)
        lane_left = path.left_width_m[at] + np.where(
            np.isin(path.left_adjacent_kind[at], PASSABLE_ADJACENT_KINDS),
            path.left_adjacent_width_m[at],
            0.0,
        )
        lane_right = -path.right_width_m[at]
        overlap = np.minimum(objs.d_max_m[:, 0], lane_left) - np.maximum(
            objs.d_min_m[:, 0], lane_right
        )
        standing = np.array(
            [
                self.maybe_blockage(t_s, int(track), int(cls))
                for track, cls in zip(p.track_id.tolist(), p.class_id.tolist())
            ],
            dtype=bool,
        )
        occluder = standing & (overlap > ROADWAY_OVERLAP_M) & (objs.s_front_m[:, 0] > s_front)
        return occlusion_limits(
            objs.s_rear_m[occluder, 0],
            objs.s_front_m[occluder, 0],
            p.track_id[occluder],
            s_front,
            self.body.front_bumper_m,
        )
