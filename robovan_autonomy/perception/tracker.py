"""Multi-object tracking in `map`: Kalman tracks, Hungarian association, birth and death, class
votes, and constant-velocity / turn-rate prediction.

Geometry comes from the LiDAR boxes: each track is a constant-velocity Kalman filter on its box
centre (x, y, vx, vy), with the box's heading and size smoothed beside it. A box seen from one
side is shorter than the object (a car from behind shows its rear face only), so before it
updates a track the measured box is grown to the track's size away from the sensor: the faces the
LiDAR saw stay where they were seen, and the centre moves to where the object's centre is.
Classes come from votes: camera detections matched to a track vote with their scores, and until
the camera has spoken the box's shape suggests a class (a person-sized column is a pedestrian).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy.optimize import linear_sum_assignment

from robovan_autonomy.core_types import OBJECT_DTYPE
from robovan_autonomy.geometry import wrap_angle
from robovan_autonomy.perception.classes import ObjectClass
from robovan_autonomy.perception.lidar_objects import LidarBoxes

CLASS_COUNT = 5  # ObjectClass 0…4 can be voted for; UNKNOWN cannot
# Typical and largest sizes (length, width, height) per class, m: a track's box is at least the
# typical size once its class is known (the unseen far side of a car is still there), and a box
# growing beyond the largest is two objects merged, not one object seen better.
CLASS_SIZE_M = {
    ObjectClass.CAR: ((4.2, 1.75, 1.4), (5.6, 2.1, 2.0)),
    ObjectClass.VAN_TRUCK: ((5.2, 1.95, 2.1), (12.0, 2.6, 4.2)),
    ObjectClass.PEDESTRIAN: ((0.5, 0.5, 1.5), (1.2, 1.2, 2.2)),
    ObjectClass.CYCLIST: ((1.7, 0.6, 1.5), (2.2, 1.2, 2.2)),
    ObjectClass.STATIC: ((0.0, 0.0, 0.0), (20.0, 20.0, 5.0)),
}
CLASS_VOTE_THRESHOLD = 0.5  # summed camera score a class needs before it overrides the shape
CLASS_VOTE_DECAY = 0.98  # per camera vote round: old votes fade so a wrong start can be undone
MAX_CLASS_EVIDENCE = 10.0  # cap on a class's summed votes: a long-seen track can still change
YAW_SMOOTHING = 0.3  # weight of a new heading measurement
COURSE_MIN_SPEED_MPS = 1.5  # faster than this a vehicle's heading is its course
TURN_RATE_TAU_S = 0.5  # low-pass time constant of the turn rate from the course
MAX_TURN_RATE_RADPS = 1.0  # beyond this a course change is noise (see planning/prediction.py)
MAX_SPEED_MPS = 30.0  # faster estimates are association errors: such tracks restart
MOVING_ACCEL_FACTOR = 4.0  # process noise of moving tracks, times the standing one
VELOCITY_MIN_HITS = 5  # LiDAR hits before a track's velocity is believed (0.5 s at 10 Hz)
PERSON_VELOCITY_MIN_HITS = (
    3  # … a person's (LiDAR and camera): their box is their returns, not a growing face
)
VELOCITY_SIGNIFICANCE_NIS = (
    4.0  # … and its velocity at least 2σ of its uncertainty (chi-square, 2 dof)
)
VELOCITY_KEEP_NIS = 1.0  # a believed velocity stays so down to 1σ
STILL_SPEED_MPS = 0.5  # a settled velocity estimate this small is a thing standing still
MAX_START_ACCEL_MPS2 = 4.0  # nothing but a person gets faster than this from standing, m/s²
DUPLICATE_MARGIN_M = (
    0.2  # a vehicle track centred this close inside an older one's box is part of it
)
PEOPLE = (ObjectClass.PEDESTRIAN, ObjectClass.CYCLIST)
PERSON_MAX_LENGTH_M = max(CLASS_SIZE_M[c][1][0] for c in PEOPLE)
SPARSE_POINTS = 30  # boxes of fewer returns get up to SPARSE_SIGMA_M more position noise
SPARSE_SIGMA_M = 0.5
SPARSE_PEDESTRIAN_SIGMA_M = 0.1
FRAGMENT_MARGIN_M = 0.5  # unmatched boxes this close inside a track's box are parts of it
FACE_MIN_LENGTH_M = 1.4  # a moving box this long across its motion is a vehicle's face
VAN_MIN_HEIGHT_M = 2.0  # taller vehicles are vans and trucks
CAMERA_POINT_GATE_M = 1.5  # a camera-placed person updates a track of its class this close
FACE_MAX_DEPTH_M = 0.5  # a box this thin is one face of something seen edge-on
FACE_MAX_CLEARANCE_M = 0.7  # … and whose lowest return is this low, a vehicle's front or rear
HEADING_MIN_ELONGATION = 1.5  # a box less elongated than this does not show which way it points
EDGE_ON_MAX_ACROSS_M = 1.0  # a box narrower across the line of sight shows no vehicle face …
EDGE_ON_SIGHT_SIGMA_M = 4.0  # … nor where along it the object is, closer than a car's length
VEHICLE_CLASSES = (ObjectClass.CAR, ObjectClass.VAN_TRUCK, ObjectClass.UNKNOWN)
LANE_SNAP_RAD = math.radians(30.0)  # a standing vehicle within this of the lane heading is along it
SIZE_DECAY_MPS = 0.3  # a track's size forgets what it no longer sees at this rate
JUMP_NIS = 25.0  # innovation beyond 5σ …
JUMP_MIN_M = 0.8  # … and this long is a jump of the box, not motion
MANEUVER_NIS = 4.0  # innovation beyond 2σ: the object manoeuvres …
MANEUVER_SPEED_SIGMA_MPS = 1.0  # … and its velocity gets this much more uncertainty


@dataclasses.dataclass(frozen=True)
class TrackerConfig:
    confirm_hits: int = 3  # LiDAR hits before a track is reported
    tentative_timeout_s: float = (
        0.35  # a tentative track missed this long is dropped (one scan may miss)
    )
    coast_timeout_s: float = 0.8  # a confirmed track missed this long is dropped
    gate_m: float = 2.0  # association gate beyond half the track's length
    accel_sigma_mps2: float = 2.0  # process noise: white acceleration
    position_sigma_m: float = 0.12  # LiDAR box centre noise near the sensor
    position_sigma_per_m: float = 0.006  # … growing with range (sparser returns)
    initial_speed_sigma_mps: float = 5.0  # velocity prior of a new track


@dataclasses.dataclass
class Track:
    track_id: int
    x: np.ndarray  # (4,) x, y, vx, vy
    p: np.ndarray  # (4, 4)
    stamp_s: float  # time of x
    last_hit_s: float
    hits: int
    yaw_rad: float
    size_m: np.ndarray  # observed length, width, height (largest seen)
    z_m: float
    evidence: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(CLASS_COUNT))
    turn_rate_radps: float = 0.0
    course_rad: float | None = None
    lane_yaw_rad: float = math.nan  # heading of the lane it was born on (NaN: none)
    seen_lw_m: np.ndarray | None = None  # the last LiDAR box's extents along and across its heading
    far_lw: np.ndarray | None = None  # … and on which side the unseen part lay (`far_side`)
    anchor_lw_m: np.ndarray | None = None  # the size its last box was grown to (`_anchor_size`)
    believed: bool = False  # its velocity is believed (`judge_motion`)
    still_s: float = math.nan  # the last time it was known to stand still (NaN: never)

    @property
    def camera_class(self) -> int | None:
        """The class the camera's votes settled on, or None while they have not."""
        best = int(self.evidence.argmax())
        return best if self.evidence[best] >= CLASS_VOTE_THRESHOLD else None

    @property
    def class_id(self) -> int:
        """The track's class: the camera's, once its votes settle; until then the shape's."""
        voted = self.camera_class
        return self._shape_class() if voted is None else voted

    def _shape_class(self) -> int:
        """Shape, and motion where it tells: a box moving across its longer side is the rear or
        front face of a vehicle (a cyclist, just as long, rides along it)."""
        length, width, height = self.size_m
        if length >= FACE_MIN_LENGTH_M and self.speed_mps >= COURSE_MIN_SPEED_MPS:
            across = abs(math.sin(math.atan2(self.x[3], self.x[2]) - self.yaw_rad))
            if across > math.sin(math.radians(60.0)):
                return int(ObjectClass.VAN_TRUCK if height > VAN_MIN_HEIGHT_M else ObjectClass.CAR)
        return shape_class(length, width, height)

    @property
    def person(self) -> bool:
        """A pedestrian or cyclist, by the camera or by shape."""
        return self.class_id in PEOPLE

    @property
    def person_by_camera(self) -> bool:
        """A person the camera has classed. What needs certainty asks for this: a box's shape
        alone does not make a person (a car's fragment is often cyclist-sized)."""
        return self.camera_class in PEOPLE

    @property
    def moving(self) -> bool:
        """Whether the velocity estimate is believed (see `judge_motion`)."""
        return self.believed

    def judge_motion(self, t_s: float) -> None:
        """After each measurement: is the velocity formed by enough hits (the first few come from
        box centres that move as more of the object is seen) and larger than its own uncertainty?
        A parked car's fragment whose visible extent changes scan to scan gets ~1 m/s of velocity
        from that, which is within its noise. Once believed, it stays so while above 1σ: a car
        braking or pulling away opens its velocity's uncertainty up, and it is then that its
        motion matters. People the camera has classed are believed as soon as the hits allow:
        one stepping out between parked cars must be predicted at once, and a false yield costs a
        few seconds where a late one costs a life; a person's box does not grow as more of them
        is seen, so three hits (camera placements count) do. (A box's shape alone does not make a
        person: a car's fragment is often cyclist-sized.)"""
        if self.person_by_camera:
            self.believed = self.hits >= PERSON_VELOCITY_MIN_HITS
            return
        if self.hits < VELOCITY_MIN_HITS:
            self.believed = False
            return
        v = self.x[2:4]
        speed = math.hypot(*v)
        if not self.believed and speed > STILL_SPEED_MPS + MAX_START_ACCEL_MPS2 * (
            t_s - self.still_s
        ):
            # Known to stand a moment ago, it cannot be this fast now: its box moved because the
            # part of it in view did (a parked car ahead hiding less of it as the van drives by),
            # so the velocity that came of that is dropped, not driven into the lane.
            self.x[2:4] = 0.0
            speed = 0.0
        if speed <= STILL_SPEED_MPS and not self.believed:
            self.still_s = t_s
        nis = float(v @ np.linalg.solve(self.p[2:4, 2:4], v))
        self.believed = nis >= (VELOCITY_KEEP_NIS if self.believed else VELOCITY_SIGNIFICANCE_NIS)

    @property
    def speed_mps(self) -> float:
        """The believed velocity's magnitude (0 when not moving)."""
        return float(math.hypot(self.x[2], self.x[3])) if self.moving else 0.0

    @property
    def velocity_mps(self) -> np.ndarray:
        return self.x[2:4].copy() if self.moving else np.zeros(2)


def shape_class(length_m: float, width_m: float, height_m: float) -> int:
    """A class from a box's size alone, for tracks the camera has not classified."""
    if length_m <= 1.2 and width_m <= 1.2 and 1.0 <= height_m <= 2.2:
        return int(ObjectClass.PEDESTRIAN)
    if length_m <= 2.3 and width_m <= 1.0 and 1.2 <= height_m <= 2.2:
        return int(ObjectClass.CYCLIST)
    if length_m >= 3.0 and height_m > VAN_MIN_HEIGHT_M:
        return int(ObjectClass.VAN_TRUCK)
    if length_m >= 3.0:
        return int(ObjectClass.CAR)
    return int(ObjectClass.UNKNOWN)


class Tracker:
    """heading_prior(x, y) → the heading of the lane there (rad; NaN off the lanes), or None:
    vehicles stand along lanes, which settles the heading of a box that shows one face only."""

    def __init__(self, config: TrackerConfig = TrackerConfig(), heading_prior=None):
        self.config = config
        self.heading_prior = heading_prior
        self.tracks: list[Track] = []
        self._next_id = 1

    # -- class ----------------------------------------------------------------------------------
    def vote(self, track: Track, class_id: int, score: float) -> None:
        """A camera detection of class_id (with its score) matched this track."""
        track.evidence *= CLASS_VOTE_DECAY
        if 0 <= class_id < CLASS_COUNT:
            track.evidence[class_id] = min(track.evidence[class_id] + score, MAX_CLASS_EVIDENCE)

    def box_size(self, track: Track) -> np.ndarray:
        """Length, width, height reported: the largest seen, at least the class's typical size."""
        cls = track.class_id
        if cls in CLASS_SIZE_M:
            return np.maximum(track.size_m, CLASS_SIZE_M[cls][0])
        return track.size_m.copy()

    def _anchor_size(self, track: Track) -> np.ndarray:
        """Length and width a box is grown to before its centre is taken: a vehicle's (its unseen
        far side is still there); none for a person, whose box is its returns and whose heading,
        until it moves, is a guess that would swing a cyclist's centre about."""
        return np.zeros(2) if track.person else self.box_size(track)[:2]

    # -- Kalman ---------------------------------------------------------------------------------
    def predict(self, t_s: float) -> None:
        """Move every track to t_s (constant velocity)."""
        for track in self.tracks:
            dt = t_s - track.stamp_s
            if dt <= 0.0:
                continue
            # Moving things brake, accelerate and turn; standing things mostly stand.
            q = (
                self.config.accel_sigma_mps2
                * (MOVING_ACCEL_FACTOR if track.speed_mps >= COURSE_MIN_SPEED_MPS else 1.0)
            ) ** 2
            f = np.eye(4)
            f[0, 2] = f[1, 3] = dt
            g = np.array([[dt * dt / 2.0, 0.0], [0.0, dt * dt / 2.0], [dt, 0.0], [0.0, dt]])
            track.x = f @ track.x
            track.p = f @ track.p @ f.T + q * g @ g.T
            track.stamp_s = t_s

    def _update(self, track: Track, z_xy: np.ndarray, r: np.ndarray) -> None:
        """One position measurement z_xy with covariance r (2, 2)."""
        h = np.zeros((2, 4))
        h[0, 0] = h[1, 1] = 1.0
        s = h @ track.p @ h.T + r
        innovation = z_xy - track.x[:2]
        nis = float(innovation @ np.linalg.solve(s, innovation))
        if nis > JUMP_NIS and float(np.hypot(*innovation)) > JUMP_MIN_M:
            # The box jumped (other faces seen, a neighbour merged or split off): no object
            # moves like that in a scan. Take the new position; the velocity stays as it was.
            track.x[:2] = z_xy
            track.p[:2, :] = 0.0
            track.p[:, :2] = 0.0
            track.p[:2, :2] = r
            return
        if nis > MANEUVER_NIS:
            # Off the constant-velocity course (braking hard, turning): open the velocity up so
            # the filter follows within a few scans instead of lagging behind.
            track.p[2:, 2:] += np.eye(2) * MANEUVER_SPEED_SIGMA_MPS**2
            s = h @ track.p @ h.T + r
        k = track.p @ h.T @ np.linalg.inv(s)
        track.x = track.x + k @ (z_xy - h @ track.x)
        track.p = (np.eye(4) - k @ h) @ track.p

    # -- LiDAR ----------------------------------------------------------------------------------
    def update_lidar(self, t_s: float, boxes: LidarBoxes) -> None:
        """One scan's boxes at t_s: predict, associate, update, absorb fragments, birth, death."""
        cfg = self.config
        self.predict(t_s)
        count = len(boxes)
        centres = np.column_stack([boxes.x_m, boxes.y_m]) if count else np.zeros((0, 2))
        assigned = np.full(count, -1)
        if self.tracks and count:
            predicted = np.array([t.x[:2] for t in self.tracks])
            sizes = np.array([self.box_size(t)[:2] for t in self.tracks])
            yaws = np.array([t.yaw_rad for t in self.tracks])
            distance = np.linalg.norm(predicted[:, None, :] - centres[None], axis=2)
            gate = cfg.gate_m + 0.5 * sizes[:, :1]
            # The cost is how far the centre a box implies for an object of the track's size lies
            # from the track: a car's rear face 2.5 m behind its centre matches it better than a
            # few returns grazing its flank 1 m away.
            implied = anchored_centres(
                centres,
                boxes.yaw_rad,
                np.column_stack([boxes.length_m, boxes.width_m]),
                yaws,
                np.array([self._anchor_size(t) for t in self.tracks]),
                boxes.sensor_xy,
            )
            # A box longer than any person (cyclists included: the camera mixes the two up) is a
            # car, or a person merged with one: its centre is not the person's (the camera places
            # them apart, `update_point`).
            person = np.array([t.person_by_camera for t in self.tracks])
            fits = (
                ~person[:, None]
                | (np.maximum(boxes.length_m, boxes.width_m) <= PERSON_MAX_LENGTH_M)[None, :]
            )
            cost = np.where(
                (distance <= gate) & fits,
                np.linalg.norm(implied - predicted[:, None, :], axis=2),
                1e6,
            )
            rows, cols = linear_sum_assignment(cost)
            for r, c in zip(rows, cols):
                if cost[r, c] < 1e6:
                    assigned[c] = r
        for c in np.nonzero(assigned >= 0)[0]:
            self._apply(self.tracks[assigned[c]], boxes, c, t_s)
        fresh = [c for c in np.nonzero(assigned < 0)[0] if not self._is_fragment(centres[c])]
        for c in fresh:
            self._birth(boxes, c, t_s)
        self._prune(t_s)

    def _is_fragment(self, xy: np.ndarray) -> bool:
        for track in self.tracks:
            if track.hits < self.config.confirm_hits:
                continue
            length, width, _ = self.box_size(track)
            c, s = math.cos(track.yaw_rad), math.sin(track.yaw_rad)
            d = xy - track.x[:2]
            along, across = d[0] * c + d[1] * s, -d[0] * s + d[1] * c
            if (
                abs(along) <= length / 2.0 + FRAGMENT_MARGIN_M
                and abs(across) <= width / 2.0 + FRAGMENT_MARGIN_M
            ):
                return True
        return False

    def _aligned(self, track: Track, yaw_m: float, length_m: float, width_m: float):
        """The measured heading and extents expressed against the track's heading (the box's
        heading is ambiguous by π, and by π/2 for a box seen as about square)."""
        options = [(yaw_m, length_m, width_m), (yaw_m + math.pi / 2.0, width_m, length_m)]
        best = min(options, key=lambda o: abs(wrap_angle(2.0 * (o[0] - track.yaw_rad))))
        yaw = track.yaw_rad + float(wrap_angle(2.0 * (best[0] - track.yaw_rad))) / 2.0
        return yaw, best[1], best[2]

    def _apply(self, track: Track, boxes: LidarBoxes, c: int, t_s: float) -> None:
        cfg = self.config
        yaw_m, length_m, width_m = self._aligned(
            track, float(boxes.yaw_rad[c]), float(boxes.length_m[c]), float(boxes.width_m[c])
        )
        if (
            min(length_m, width_m) <= FACE_MAX_DEPTH_M
            and math.isfinite(track.lane_yaw_rad)
            and track.class_id in VEHICLE_CLASSES
        ):
            # One face seen: which side of the vehicle it is, the lane says.
            yaw_m, length_m, width_m = min(
                [(yaw_m, length_m, width_m), (yaw_m + math.pi / 2.0, width_m, length_m)],
                key=lambda o: abs(wrap_angle(2.0 * (o[0] - track.lane_yaw_rad))),
            )
            yaw_m = track.yaw_rad + float(wrap_angle(2.0 * (yaw_m - track.yaw_rad))) / 2.0
        cls = track.camera_class
        longest, widest = (
            CLASS_SIZE_M[cls][1][:2]
            if cls in (ObjectClass.CAR, ObjectClass.VAN_TRUCK)
            else (math.inf, math.inf)
        )
        if length_m > longest or width_m > widest:
            # Longer or wider than any vehicle of its class: merged with the one parked behind it,
            # or with the one it is passing. Its centre says nothing of this one's; the hit only
            # keeps the track alive.
            track.hits += 1
            track.last_hit_s = t_s
            return
        if track.speed_mps >= COURSE_MIN_SPEED_MPS and track.class_id != ObjectClass.PEDESTRIAN:
            course = math.atan2(track.x[3], track.x[2])
            yaw_m = track.yaw_rad + float(wrap_angle(2.0 * (course - track.yaw_rad))) / 2.0
        turn = wrap_angle(yaw_m - track.yaw_rad)
        track.yaw_rad = float(wrap_angle(track.yaw_rad + YAW_SMOOTHING * turn))
        lane_offset = float(wrap_angle(2.0 * (track.yaw_rad - track.lane_yaw_rad))) / 2.0
        if (
            abs(lane_offset) <= LANE_SNAP_RAD
            and track.speed_mps < COURSE_MIN_SPEED_MPS
            and track.class_id in VEHICLE_CLASSES
        ):
            # A standing vehicle this close to the lane's heading stands along it (parked): the
            # box fit's few degrees would tilt a 4.5 m box into the lane beside it.
            track.yaw_rad = float(wrap_angle(track.yaw_rad - lane_offset))
        # Boxes grow as more of an object is seen; longer or wider than the largest of the class
        # the camera gave it, a box is two objects merged and does not count. Its height says
        # nothing of a merge (neighbours stand side by side), and the camera names a tall car or
        # a minivan a car: a car never grown past its class's typical length for being 2.3 m
        # tall leaves its far end to be born again as a separate object.
        # Against the size the last box was grown to: a camera vote since may have changed it.
        before = self._anchor_size(track) if track.anchor_lw_m is None else track.anchor_lw_m
        measured = np.array([length_m, width_m, float(boxes.height_m[c])])
        if cls is None or np.all(measured[:2] <= CLASS_SIZE_M[cls][1][:2]):
            # The largest recently seen: what a merge with a neighbour added fades again.
            shrunk = track.size_m - SIZE_DECAY_MPS * max(t_s - track.last_hit_s, 0.0)
            track.size_m = np.maximum(shrunk, measured)
        centre = np.array([boxes.x_m[c], boxes.y_m[c]])
        seen = np.array([length_m, width_m])
        track.anchor_lw_m = self._anchor_size(track)
        far = far_sides(centre, track.yaw_rad, boxes.sensor_xy, seen)
        anchored = anchored_centre(centre, track.yaw_rad, seen, track.anchor_lw_m, boxes.sensor_xy)
        # A track that grew (more of the object seen, or its class known) moved the centre its box
        # stands for, not the object: the track's centre moves with it, so no velocity comes of it.
        cls_now = track.class_id
        track.x[:2] = grown_centre(track.x[:2], track.yaw_rad, far, track.anchor_lw_m - before)
        centre = anchored
        sight = centre - boxes.sensor_xy
        distance = float(np.hypot(*sight))
        # A box of a few returns (something far, or mostly hidden behind a parked car) changes
        # its extent scan to scan, and far returns scatter: its centre is worth less. Not so a
        # pedestrian's: their box cannot wander further than they are wide, at any range.
        sparse = SPARSE_SIGMA_M * max(0.0, 1.0 - float(boxes.points[c]) / SPARSE_POINTS)
        spread = cfg.position_sigma_per_m * distance
        if cls_now == ObjectClass.PEDESTRIAN:
            sparse, spread = min(sparse, SPARSE_PEDESTRIAN_SIGMA_M), 0.0
        # A box whose visible extent changed since the last scan (an occluder uncovering it, far
        # returns filling in) moved its centre by up to that much without the object moving.
        # Not so for people: a walker's box is about as small as its returns, whatever is seen.
        reshaped = (
            np.zeros(2)
            if track.seen_lw_m is None or track.person_by_camera
            else np.abs(seen - track.seen_lw_m)
        )
        # So did one whose hidden side changed (the van coming alongside a parked car whose ends
        # it now sees both of): the grown part moved to the other side, or went.
        if track.far_lw is not None and not track.person_by_camera:
            reshaped += np.abs(far - track.far_lw) * np.maximum(track.anchor_lw_m - seen, 0.0) / 2.0
        track.seen_lw_m, track.far_lw = seen, far
        sigma = cfg.position_sigma_m + spread + sparse + float(reshaped.max())
        r = np.eye(2) * sigma**2
        face = self._face(track, seen, sight, float(boxes.clearance_m[c]))
        if (
            face is None
            and not track.person_by_camera
            and distance > 0.0
            and across_sight_m(track.yaw_rad, seen, sight / distance) < EDGE_ON_MAX_ACROSS_M
        ):
            # Seen edge-on: its returns are where the beams happen to graze a surface nearly
            # along the line of sight (a parked car's flank), not a feature of the object, and
            # they slide along it several m/s as the van drives and one column after the next
            # meets it. Across the line of sight they are where they seem.
            r += EDGE_ON_SIGHT_SIGMA_M**2 * np.outer(sight, sight) / distance**2
        elif face is not None:
            # How far a face stands, the LiDAR measures to its range noise, however few its returns
            # and however far: only along the face do they wander.
            axis, normal = face
            r += ((cfg.position_sigma_m + reshaped[axis]) ** 2 - sigma**2) * np.outer(
                normal, normal
            )
        self._update(track, centre, r)
        track.z_m = float(boxes.z_m[c])
        track.hits += 1
        track.judge_motion(t_s)
        dt = t_s - track.last_hit_s
        track.last_hit_s = t_s
        self._update_turn_rate(track, dt)

    def _face(
        self, track: Track, seen_lw_m: np.ndarray, sight_xy: np.ndarray, clearance_m: float
    ) -> tuple[int, np.ndarray] | None:
        """The track axis (0 along, 1 across) and unit normal of the vehicle face a box is, or
        None when it is no such face: a vehicle the camera has named (until then its size, and so
        its centre behind the face, is still a guess), a box thin along the axis nearer the line
        of sight, and returns low on it. Higher up, a beam may graze a boot lid or bonnet, set
        back from the face by up to a metre, and give a box just as thin."""
        if (
            track.camera_class not in (ObjectClass.CAR, ObjectClass.VAN_TRUCK)
            or clearance_m > FACE_MAX_CLEARANCE_M
        ):
            return None
        along = np.array([math.cos(track.yaw_rad), math.sin(track.yaw_rad)])
        across = np.array([-along[1], along[0]])
        axis, normal = (
            (0, along) if abs(sight_xy @ along) >= abs(sight_xy @ across) else (1, across)
        )
        return (axis, normal) if seen_lw_m[axis] <= FACE_MAX_DEPTH_M else None

    def _update_turn_rate(self, track: Track, dt: float) -> None:
        if track.speed_mps < COURSE_MIN_SPEED_MPS:
            track.course_rad, track.turn_rate_radps = None, 0.0
            return
        course = math.atan2(track.x[3], track.x[2])
        if track.course_rad is not None and dt > 0.0:
            rate = float(
                np.clip(
                    wrap_angle(course - track.course_rad) / dt,
                    -MAX_TURN_RATE_RADPS,
                    MAX_TURN_RATE_RADPS,
                )
            )
            alpha = 1.0 - math.exp(-dt / TURN_RATE_TAU_S)
            track.turn_rate_radps += alpha * (rate - track.turn_rate_radps)
        track.course_rad = course

    def _birth(self, boxes: LidarBoxes, c: int, t_s: float) -> None:
        cfg = self.config
        distance = float(
            np.hypot(boxes.x_m[c] - boxes.sensor_xy[0], boxes.y_m[c] - boxes.sensor_xy[1])
        )
        sigma = cfg.position_sigma_m + cfg.position_sigma_per_m * distance
        p = np.diag(
            [sigma**2, sigma**2, cfg.initial_speed_sigma_mps**2, cfg.initial_speed_sigma_mps**2]
        )
        size = np.array([boxes.length_m[c], boxes.width_m[c], boxes.height_m[c]], float)
        lane_yaw = (
            math.nan
            if self.heading_prior is None
            else float(self.heading_prior(boxes.x_m[c], boxes.y_m[c]))
        )
        yaw = float(boxes.yaw_rad[c])
        # A face, or a box about as long as it is wide (a car's corner, part of it hidden), shows
        # no heading of its own: the object stands along the lane, as vehicles do. A box fit
        # across the lane would grow a car crosswise from it, into the lane beside.
        shapeless = (
            boxes.width_m[c] <= FACE_MAX_DEPTH_M
            or boxes.length_m[c] < HEADING_MIN_ELONGATION * boxes.width_m[c]
        )
        if (
            math.isfinite(lane_yaw)
            and shapeless
            and abs(wrap_angle(2.0 * (yaw - lane_yaw))) > math.pi / 2.0
        ):
            yaw, size[:2] = yaw + math.pi / 2.0, size[1::-1]
        self.tracks.append(
            Track(
                self._next_id,
                np.array([boxes.x_m[c], boxes.y_m[c], 0.0, 0.0]),
                p,
                t_s,
                t_s,
                1,
                float(wrap_angle(yaw)),
                size,
                float(boxes.z_m[c]),
                lane_yaw_rad=lane_yaw,
            )
        )
        self._next_id = self._next_id % 0xFFFFFFFF + 1

    def _prune(self, t_s: float) -> None:
        cfg = self.config

        def alive(track: Track) -> bool:
            timeout = (
                cfg.coast_timeout_s if track.hits >= cfg.confirm_hits else cfg.tentative_timeout_s
            )
            return t_s - track.last_hit_s <= timeout and track.speed_mps <= MAX_SPEED_MPS

        self.tracks = [t for t in self.tracks if alive(t)]
        self._drop_duplicates()

    def _drop_duplicates(self) -> None:
        """Of two vehicle-like tracks whose centre lies inside the other's box, keep the older:
        parts of one object (a face seen before the whole, a car half hidden behind the car in
        front) start tracks of their own that would live on as phantoms beside it. People are
        never dropped this way: one standing at a car's flank is no part of it."""
        if len(self.tracks) < 2:
            return
        vehicle = np.array([not t.person for t in self.tracks])
        centres = np.array([t.x[:2] for t in self.tracks])
        sizes = np.array([self.box_size(t)[:2] for t in self.tracks])
        yaws = np.array([t.yaw_rad for t in self.tracks])
        d = centres[None, :, :] - centres[:, None, :]  # [i, j]: j's centre from i's
        c, s = np.cos(yaws)[:, None], np.sin(yaws)[:, None]
        along, across = d[..., 0] * c + d[..., 1] * s, -d[..., 0] * s + d[..., 1] * c
        inside = (np.abs(along) <= sizes[:, :1] / 2.0 + DUPLICATE_MARGIN_M) & (
            np.abs(across) <= sizes[:, 1:] / 2.0 + DUPLICATE_MARGIN_M
        )
        np.fill_diagonal(inside, False)
        hits = np.array([t.hits for t in self.tracks])
        ids = np.array([t.track_id for t in self.tracks])
        older = (hits[:, None] > hits[None, :]) | (
            (hits[:, None] == hits[None, :]) & (ids[:, None] < ids[None, :])
        )
        drop = np.any(inside & older & vehicle[:, None] & vehicle[None, :], axis=0)
        self.tracks = [t for t, gone in zip(self.tracks, drop) if not gone]

    # -- camera positions -----------------------------------------------------------------------
    def update_point(
        self, t_s: float, xy: np.ndarray, sigma_m: float, class_id: int, score: float
    ) -> None:
        """A camera detection of a person placed in 3D (by the LiDAR returns inside its box):
        updates the nearest person's track within the gate, or starts one. It sees people the LiDAR
        clusters cannot separate from the car they stand next to."""
        self.predict(t_s)
        best, best_d = None, CAMERA_POINT_GATE_M
        for track in self.tracks:
            d = float(np.hypot(*(track.x[:2] - xy)))
            # Pedestrian or cyclist alike: the camera mixes the two up, frame to frame.
            if d < best_d and track.person:
                best, best_d = track, d
        if best is None:
            p = np.diag(
                [
                    sigma_m**2,
                    sigma_m**2,
                    self.config.initial_speed_sigma_mps**2,
                    self.config.initial_speed_sigma_mps**2,
                ]
            )
            typical = np.array(CLASS_SIZE_M[class_id][0], float)
            best = Track(
                self._next_id, np.array([xy[0], xy[1], 0.0, 0.0]), p, t_s, t_s, 0, 0.0, typical, 0.0
            )
            self._next_id = self._next_id % 0xFFFFFFFF + 1
            self.tracks.append(best)
        else:
            self._update(best, np.asarray(xy, float), np.eye(2) * sigma_m**2)
        self.vote(best, class_id, score)
        best.hits += 1
        best.judge_motion(t_s)
        best.last_hit_s = t_s

    # -- output ---------------------------------------------------------------------------------
    def confirmed(self) -> list[Track]:
        return [t for t in self.tracks if t.hits >= self.config.confirm_hits]

    def objects(self) -> np.ndarray:
        """The confirmed tracks as /perception/objects rows (OBJECT_DTYPE), at their stamp."""
        tracks = self.confirmed()
        table = np.zeros(len(tracks), dtype=OBJECT_DTYPE)
        for i, track in enumerate(tracks):
            length, width, height = self.box_size(track)
            vx, vy = track.velocity_mps
            table[i] = (
                track.x[0],
                track.x[1],
                track.z_m,
                track.yaw_rad,
                length,
                width,
                height,
                vx,
                vy,
                min(1.0, track.hits / (2.0 * self.config.confirm_hits)),
                track.class_id,
                track.track_id,
            )
        return table

    def predict_paths(self, horizon_s: float, dt_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Where the confirmed tracks will be: (M, N + 1, 3) x, y, yaw of the box centre at
        k · dt_s for k = 0 … N (N = horizon_s / dt_s), and the track ids (M,). Constant speed; the
        course turns at the track's turn rate (CTRV), straight (CV) where that is negligible."""
        tracks = self.confirmed()
        steps = int(round(horizon_s / dt_s))
        t = np.arange(steps + 1) * dt_s
        out = np.zeros((len(tracks), steps + 1, 3))
        for i, track in enumerate(tracks):
            out[i] = ctrv_path(
                np.concatenate([track.x[:2], track.velocity_mps]),
                track.turn_rate_radps,
                track.yaw_rad,
                t,
            )
        return out, np.array([tr.track_id for tr in tracks], np.uint32)


def ctrv_path(
    state: np.ndarray, turn_rate_radps: float, yaw_rad: float, t_s: np.ndarray
) -> np.ndarray:
    """(len(t), 3) x, y, yaw from state (x, y, vx, vy) at constant speed and turn rate."""
    x, y, vx, vy = map(float, state[:4])
    speed = math.hypot(vx, vy)
    course = math.atan2(vy, vx) if speed > 0.0 else yaw_rad
    if abs(turn_rate_radps) < 1e-3 or speed == 0.0:
        return np.column_stack([x + vx * t_s, y + vy * t_s, np.full(len(t_s), yaw_rad)])
    heading = course + turn_rate_radps * t_s
    radius = speed / turn_rate_radps
    px = x + radius * (np.sin(heading) - math.sin(course))
    py = y - radius * (np.cos(heading) - math.cos(course))
    return np.column_stack([px, py, yaw_rad + turn_rate_radps * t_s])


def across_sight_m(yaw_rad: float, lw_m: np.ndarray, sight_unit: np.ndarray) -> float:
    """How wide a box of extents lw_m along and across heading yaw_rad spans across the line of
    sight (unit vector sight_unit)."""
    off = abs(math.sin(yaw_rad) * sight_unit[0] - math.cos(yaw_rad) * sight_unit[1])
    return float(lw_m[0]) * off + float(lw_m[1]) * math.sqrt(max(0.0, 1.0 - off * off))


def anchored_centres(
    centres_xy: np.ndarray,
    box_yaw_rad: np.ndarray,
    box_lw: np.ndarray,
    track_yaw_rad: np.ndarray,
    track_lw: np.ndarray,
    sensor_xy: np.ndarray,
) -> np.ndarray:
    """(T, B, 2): `anchored_centre` for every track and box, each box's extents taken along the
    track's heading (a box's own heading is ambiguous by π/2)."""
    turn = box_yaw_rad[None, :] - track_yaw_rad[:, None]
    swap = np.abs(wrap_angle(2.0 * (turn + math.pi / 2.0))) < np.abs(wrap_angle(2.0 * turn))
    along = np.where(swap, box_lw[None, :, 1], box_lw[None, :, 0])
    across = np.where(swap, box_lw[None, :, 0], box_lw[None, :, 1])
    c, s = np.cos(track_yaw_rad)[:, None], np.sin(track_yaw_rad)[:, None]
    dx, dy = (centres_xy - sensor_xy)[None, :, 0], (centres_xy - sensor_xy)[None, :, 1]
    lw = track_lw[:, None, :]
    grow_along = far_side(dx * c + dy * s, along) * np.maximum(lw[..., 0] - along, 0.0) / 2.0
    grow_across = far_side(-dx * s + dy * c, across) * np.maximum(lw[..., 1] - across, 0.0) / 2.0
    return centres_xy[None] + np.stack(
        [grow_along * c - grow_across * s, grow_along * s + grow_across * c], -1
    )


def anchored_centre(
    centre_xy: np.ndarray,
    yaw_rad: float,
    measured_lw: np.ndarray,
    size_lw: np.ndarray,
    sensor_xy: np.ndarray,
) -> np.ndarray:
    """The centre of a box of size_lw whose sensor-facing faces are those of the measured box.

    Along each box axis where the object is larger than what was measured, the unseen part lies
    on the far side from the sensor, so the centre moves half the difference away from it."""
    growth = np.maximum(np.asarray(size_lw, float) - np.asarray(measured_lw, float), 0.0)
    return grown_centre(
        centre_xy, yaw_rad, far_sides(centre_xy, yaw_rad, sensor_xy, measured_lw), growth
    )


def grown_centre(
    centre_xy: np.ndarray, yaw_rad: float, far: np.ndarray, growth_lw: np.ndarray
) -> np.ndarray:
    """The one re-centring rule: a box that grows by growth_lw (length, width) grows on its far
    sides (`far_side`), so its centre moves half the growth away from the sensor along each axis.
    It places a measured box's centre for its object's size, and moves a track that grew."""
    return np.asarray(centre_xy, float) + (far * np.asarray(growth_lw, float) / 2.0) @ box_axes(
        yaw_rad
    )


def box_axes(yaw_rad: float) -> np.ndarray:
    """Rows: the unit vectors along and across a box of heading yaw_rad."""
    c, s = math.cos(yaw_rad), math.sin(yaw_rad)
    return np.array([[c, s], [-s, c]])


def far_sides(
    centre_xy: np.ndarray, yaw_rad: float, sensor_xy: np.ndarray, seen_lw_m
) -> np.ndarray:
    """`far_side` along and across a box centred at centre_xy, of extents seen_lw_m."""
    offset = (np.asarray(centre_xy, float) - np.asarray(sensor_xy, float)) @ box_axes(yaw_rad).T
    return far_side(offset, np.asarray(seen_lw_m, float))


def far_side(offset_m, seen_m):
    """Per box axis, the sign of the side away from the sensor (offset_m: the box centre from the
    sensor along it), where the unseen part of a box of extent seen_m along it lies; 0 where the
    sensor faces the box within that extent: both its ends are in view, none is hidden (a van
    straight ahead shows its whole rear face, however wide the box fit makes it)."""
    return np.where(np.abs(offset_m) > np.asarray(seen_m) / 2.0, np.sign(offset_m), 0.0)
