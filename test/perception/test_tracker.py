"""Tracking: birth after confirmation, velocity, ids through association, death, classes, size
anchoring and predictions."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robovan_autonomy.perception.classes import ObjectClass
from robovan_autonomy.perception.lidar_objects import LidarBoxes
from robovan_autonomy.perception.tracker import (
    Tracker,
    TrackerConfig,
    anchored_centre,
    anchored_centres,
    ctrv_path,
    shape_class,
)

SCAN_S = 0.1


def boxes(rows, sensor=(0.0, 0.0), points=50, clearance=0.0):
    """rows: (x, y, yaw, length, width, height) per box."""
    data = np.array(rows, float).reshape(-1, 6)
    return LidarBoxes(
        data[:, 0],
        data[:, 1],
        np.zeros(len(data)),
        data[:, 2],
        data[:, 3],
        data[:, 4],
        data[:, 5],
        np.full(len(data), points),
        np.full(len(data), clearance),
        np.asarray(sensor, float),
    )


def run(tracker, positions_at, seconds, size=(0.6, 0.6, 1.75), noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    for k in range(int(round(seconds / SCAN_S))):
        t = k * SCAN_S
        rows = [
            (x + rng.normal(0, noise), y + rng.normal(0, noise), 0.0, *size)
            for x, y in positions_at(t)
        ]
        tracker.update_lidar(t, boxes(rows))


def test_a_track_is_published_only_after_it_is_confirmed():
    tracker = Tracker(TrackerConfig(confirm_hits=3))
    for k in range(2):
        tracker.update_lidar(k * SCAN_S, boxes([(10.0, 0.0, 0.0, 0.6, 0.6, 1.75)]))
    assert len(tracker.objects()) == 0
    tracker.update_lidar(0.2, boxes([(10.0, 0.0, 0.0, 0.6, 0.6, 1.75)]))
    assert len(tracker.objects()) == 1


def test_a_walking_pedestrians_velocity_is_estimated():
    tracker = Tracker()
    run(tracker, lambda t: [(10.0, -5.0 + 1.4 * t)], 3.0, noise=0.05)
    (obj,) = tracker.objects()
    assert abs(obj["vx"]) < 0.25 and abs(obj["vy"] - 1.4) < 0.25
    assert obj["class_id"] == ObjectClass.PEDESTRIAN  # from its shape: nobody voted yet


def test_a_walker_seen_as_a_few_returns_is_believed_moving_within_a_second_of_stepping_off():
    """Someone between parked cars shows as two or three returns of their head: sparse, yet a
    person's box cannot wander further than a person is wide."""
    tracker = Tracker()
    rng = np.random.default_rng(3)

    def walker(t):
        return (18.0, -4.0 + 1.5 * max(t - 1.0, 0.0))

    for k in range(21):
        x, y = walker(k * SCAN_S)
        tracker.update_lidar(
            k * SCAN_S,
            boxes(
                [(x + rng.normal(0, 0.05), y + rng.normal(0, 0.05), 0.0, 0.2, 0.2, 1.7)], points=3
            ),
        )
    (obj,) = tracker.objects()
    assert obj["vy"] > 1.0


def test_a_standing_objects_jittering_box_gives_it_no_velocity():
    """A parked car's fragment whose visible extent changes scan to scan."""
    tracker = Tracker()
    run(tracker, lambda t: [(20.0, -3.0)], 5.0, size=(1.4, 0.3, 1.1), noise=0.3)
    (obj,) = tracker.objects()
    assert (obj["vx"], obj["vy"]) == (0.0, 0.0)


def standing_then(motion, seconds_standing=2.0, seconds=1.5):
    """A car standing at x = 20 m for seconds_standing, then its box at 20 + motion(τ); the
    fastest velocity reported while it moves."""
    tracker, fastest = Tracker(), 0.0
    for k in range(int(round((seconds_standing + seconds) / SCAN_S))):
        t = k * SCAN_S
        x = 20.0 + motion(max(t - seconds_standing, 0.0))
        tracker.update_lidar(t, boxes([(x, -3.0, 0.0, 4.5, 1.8, 1.5)]))
        if t >= seconds_standing:
            objects = tracker.objects()
            fastest = max([fastest, *np.hypot(objects["vx"], objects["vy"])])
    return fastest


def test_a_standing_car_whose_box_slides_faster_than_a_car_can_start_is_not_believed_moving():
    """A parked car's visible part sliding along as the van drives by (its neighbour hiding less
    of it): 0 to 8 m/s at once."""
    assert standing_then(lambda tau: 8.0 * tau, seconds=0.6) == 0.0


def test_a_standing_car_pulling_away_at_3_mps2_is_believed_moving():
    assert standing_then(lambda tau: 1.5 * tau**2, seconds=2.0) > 3.0


def drive_past(boxes_at, speed_mps: float, scans: int, rng) -> Tracker:
    """Drive the van along y = 0 at speed_mps, from x = 0, among boxes_at(t_s) scanned by the
    simulated LiDAR; yields the tracker after each scan."""
    from robovan_autonomy.core_types import PoseEstimate
    from robovan_autonomy.perception.lidar_objects import LidarObjectDetector
    from robovan_autonomy.sim.lidar import LidarConfig, LidarModel
    from robovan_autonomy.sim.scene import Pose3, Scene
    from robovan_autonomy.vehicle_params import load_vehicle_params

    vehicle = load_vehicle_params()
    extrinsic = vehicle.sensor_pose("lidar_top")
    lidar = LidarModel(LidarConfig.from_vehicle_params(vehicle))
    detector = LidarObjectDetector(vehicle, extrinsic)
    scene = Scene(walls=[])
    tracker = Tracker(heading_prior=lambda x, y: 0.0)
    for k in range(scans):
        t, x = k * SCAN_S, speed_mps * k * SCAN_S
        scene.set_boxes(boxes_at(t))
        sensor = Pose3.from_xyz_ypr(x, 0.0, 0.0, 0.0).compose(extrinsic)
        points = lidar.scan(scene, sensor, rng).points
        pose = PoseEstimate(t, x, 0.0, 0.0, speed_mps, 0.0)
        tracker.update_lidar(t, detector.detect(points, pose))
        yield tracker


def fastest_reported_when_approached(boxes, speed_mps: float, scans: int, rng) -> float:
    """The fastest speed any of the standing boxes is reported at as the van drives past."""
    fastest = 0.0
    for tracker in drive_past(lambda t: boxes, speed_mps, scans, rng):
        objects = tracker.objects()
        fastest = max([fastest, *np.hypot(objects["vx"], objects["vy"])])
    return fastest


def test_parked_vehicles_approached_at_speed_are_reported_standing():
    """Far roof returns slide along as the van approaches, and a van parked behind a car is
    uncovered bit by bit: neither is motion."""
    from robovan_autonomy.sim.scene import Box

    boxes = [
        Box(60.0, -3.0, 0.0, 0.0, 4.5, 1.8, 1.5, None, int(ObjectClass.CAR), 1),
        Box(67.0, -3.0, 0.0, 0.0, 5.4, 2.0, 2.3, None, int(ObjectClass.VAN_TRUCK), 2),
    ]
    assert fastest_reported_when_approached(boxes, 8.0, 50, np.random.default_rng(0)) < 0.5


@pytest.mark.parametrize("seed", range(4))
def test_a_row_of_cars_parked_at_the_kerb_approached_at_40_kmph_is_reported_standing(seed):
    """Twelve cars parked nose to tail, 3 m right of the van: each one's flank, seen at a grazing
    angle behind the one before, is a return or two that slides along it as the van drives."""
    from robovan_autonomy.sim.scene import Box

    rng = np.random.default_rng(seed)
    boxes = [
        Box(
            30.0 + 7.0 * i + rng.uniform(-0.5, 0.5),
            -2.95 + rng.uniform(-0.15, 0.15),
            0.0,
            rng.uniform(-0.03, 0.03),
            rng.uniform(4.0, 4.8),
            rng.uniform(1.7, 1.9),
            rng.uniform(1.4, 1.6),
            None,
            int(ObjectClass.CAR),
            i + 1,
        )
        for i in range(12)
    ]
    assert fastest_reported_when_approached(boxes, 11.0, 80, rng) < 0.5


def test_a_cyclist_overtaking_from_behind_along_the_line_of_sight_is_tracked_at_its_speed():
    """Coming up behind the van toward a bay on its right, a cyclist rides straight along the
    line of sight: their few returns are a person's, not a grazed flank, and move with them."""
    from robovan_autonomy.sim.scene import Box

    def cyclist(t_s):
        return [
            Box(
                -25.0 + 6.5 * t_s, -1.6, 0.0, 0.0, 1.8, 0.6, 1.75, None, int(ObjectClass.CYCLIST), 1
            )
        ]

    *_, tracker = drive_past(cyclist, 3.0, 30, np.random.default_rng(0))
    objects = tracker.objects()
    assert len(objects) == 1
    assert abs(float(np.hypot(objects["vx"][0], objects["vy"][0])) - 6.5) < 1.0


def test_a_van_standing_straight_ahead_stays_where_it_stands_as_the_van_closes_in():
    """Seen square from behind, both sides of its rear face are in view: nothing of its width is
    hidden on either side, so its box is not grown sideways, now left, now right."""
    from robovan_autonomy.sim.scene import Box

    boxes = [Box(45.0, 0.0, 0.0, 0.0, 5.4, 2.0, 2.3, None, int(ObjectClass.VAN_TRUCK), 1)]
    sideways = []
    for tracker in drive_past(lambda t: boxes, 6.0, 50, np.random.default_rng(0)):
        for track in tracker.tracks:  # the camera names it, as it does at this range
            tracker.vote(track, ObjectClass.VAN_TRUCK, 0.9)
        sideways += np.abs(tracker.objects()["y"]).tolist()
    assert sideways and max(sideways) < 0.2


def test_an_oncoming_car_seen_as_a_few_far_returns_is_tracked_at_its_speed():
    """At 60 m a car is a handful of returns on its roof and face, and closes at 22 m/s: the
    track must keep its velocity through those scans to still hold the car when it comes near."""
    from robovan_autonomy.core_types import PoseEstimate
    from robovan_autonomy.perception.lidar_objects import LidarObjectDetector
    from robovan_autonomy.sim.lidar import LidarConfig, LidarModel
    from robovan_autonomy.sim.scene import Box, Pose3, Scene
    from robovan_autonomy.vehicle_params import load_vehicle_params

    vehicle = load_vehicle_params()
    extrinsic = vehicle.sensor_pose("lidar_top")
    lidar, detector = (
        LidarModel(LidarConfig.from_vehicle_params(vehicle)),
        LidarObjectDetector(vehicle, extrinsic),
    )
    scene = Scene(walls=[])
    tracker, rng, speed = Tracker(heading_prior=lambda x, y: 0.0), np.random.default_rng(0), 11.0
    errors = []
    for k in range(25):
        t, x, car_x = k * SCAN_S, speed * k * SCAN_S, 75.0 - speed * k * SCAN_S
        scene.set_boxes(
            [Box(car_x, 3.5, 0.0, math.pi, 4.5, 1.8, 1.5, None, int(ObjectClass.CAR), 1)]
        )
        points = lidar.scan(
            scene, Pose3.from_xyz_ypr(x, 0.0, 0.0, 0.0).compose(extrinsic), rng
        ).points
        tracker.update_lidar(t, detector.detect(points, PoseEstimate(t, x, 0.0, 0.0, speed, 0.0)))
        if car_x - x <= 40.0:
            objects = tracker.objects()
            car = objects[np.argmin(np.abs(objects["x"] - car_x))]
            errors.append(math.hypot(car["vx"] + speed, car["vy"]))
    assert errors and max(errors) < 1.5  # 11 m/s: its visible part grows as it nears


def test_a_braking_cars_speed_is_followed_from_its_rear_face_34_m_off():
    """A rear face 34 m off is some twenty returns on one beam, yet how far it is the LiDAR
    measures to centimetres: a car braking at 7 m/s² is followed as it slows, not a second late."""
    from robovan_autonomy.core_types import PoseEstimate
    from robovan_autonomy.perception.lidar_objects import LidarObjectDetector
    from robovan_autonomy.sim.lidar import LidarConfig, LidarModel
    from robovan_autonomy.sim.scene import Box, Pose3, Scene
    from robovan_autonomy.vehicle_params import load_vehicle_params

    vehicle = load_vehicle_params()
    extrinsic = vehicle.sensor_pose("lidar_top")
    lidar, detector = (
        LidarModel(LidarConfig.from_vehicle_params(vehicle)),
        LidarObjectDetector(vehicle, extrinsic),
    )
    scene, sensor = Scene(walls=[]), Pose3.from_xyz_ypr(0.0, 0.0, 0.0, 0.0).compose(extrinsic)
    tracker, rng = Tracker(heading_prior=lambda x, y: 0.0), np.random.default_rng(0)
    cruise_mps, brake_mps2, brake_at_s = 9.0, 7.0, 2.0
    errors = []
    for k in range(34):
        t = k * SCAN_S
        braking_s = min(max(t - brake_at_s, 0.0), cruise_mps / brake_mps2)
        car_x = (
            18.0 + cruise_mps * (min(t, brake_at_s) + braking_s) - brake_mps2 * braking_s**2 / 2.0
        )
        scene.set_boxes([Box(car_x, 0.0, 0.0, 0.0, 4.5, 1.8, 1.5, None, int(ObjectClass.CAR), 1)])
        tracker.update_lidar(
            t,
            detector.detect(
                lidar.scan(scene, sensor, rng).points, PoseEstimate(t, 0.0, 0.0, 0.0, 0.0, 0.0)
            ),
        )
        for track in tracker.tracks:
            tracker.vote(track, int(ObjectClass.CAR), 0.8)  # the camera's say
        if t >= brake_at_s:
            objects = tracker.objects()
            car = objects[np.argmin(np.abs(objects["x"] - car_x))]
            errors.append(car["vx"] - (cruise_mps - brake_mps2 * braking_s))
    assert (
        math.sqrt(np.mean(np.square(errors))) < 1.2
    )  # 1.9 m/s when the face counted as a few returns


def test_a_thin_box_high_on_a_car_is_not_taken_for_its_face():
    """A beam grazing a boot lid gives a box as thin as the rear face but up to a metre inside it:
    returns that high do not move the track as a face's would."""
    tracker = Tracker(heading_prior=lambda x, y: 0.0)
    for k in range(20):
        tracker.update_lidar(
            k * SCAN_S, boxes([(30.0, 0.0, math.pi / 2.0, 1.7, 0.06, 1.45)], points=18)
        )
        (car,) = tracker.tracks
        tracker.vote(car, int(ObjectClass.CAR), 0.8)
    before = car.x[0]
    tracker.update_lidar(
        20 * SCAN_S, boxes([(30.7, 0.0, math.pi / 2.0, 1.7, 0.06, 1.45)], points=18, clearance=0.87)
    )
    assert abs(car.x[0] - before) < 0.1  # a face's box 0.7 m further moves it 0.3 m


def test_a_parked_cars_track_stays_put_when_its_cluster_merges_with_the_car_behind():
    tracker = Tracker(heading_prior=lambda x, y: 0.0)
    car = (20.0, 3.0, 0.0, 4.5, 1.8, 1.5)
    for k in range(10):
        tracker.update_lidar(k * SCAN_S, boxes([car]))
    tracker.vote(tracker.tracks[0], int(ObjectClass.CAR), 0.9)
    merged = (23.4, 3.0, 0.0, 11.3, 1.8, 1.5)  # this car and the one parked 2.3 m behind it
    for k in range(10, 20):
        tracker.update_lidar(k * SCAN_S, boxes([merged if k % 4 else car]))
    (obj,) = tracker.objects()
    assert abs(obj["x"] - 20.0) < 0.2 and (obj["vx"], obj["vy"]) == (0.0, 0.0)


def test_two_crossing_walkers_keep_their_ids():
    tracker = Tracker()
    run(tracker, lambda t: [(10.0 + 1.5 * t, 0.0), (16.0 - 1.5 * t, 0.5)], 1.0)
    ids = {int(o["track_id"]): float(o["vx"]) for o in tracker.objects()}
    for k in range(10, 40):
        t = k * SCAN_S
        tracker.update_lidar(
            t,
            boxes(
                [
                    (10.0 + 1.5 * t, 0.0, 0.0, 0.6, 0.6, 1.75),
                    (16.0 - 1.5 * t, 0.5, 0.0, 0.6, 0.6, 1.75),
                ]
            ),
        )
    after = {int(o["track_id"]): float(o["vx"]) for o in tracker.objects()}
    assert set(after) == set(ids)
    assert all(np.sign(after[i]) == np.sign(ids[i]) for i in ids)


def test_a_track_not_seen_for_the_coast_timeout_is_deleted():
    tracker = Tracker(TrackerConfig(coast_timeout_s=0.5))
    run(tracker, lambda t: [(10.0, 0.0)], 1.0)
    tracker.update_lidar(1.3, boxes([]))
    assert len(tracker.objects()) == 1  # coasting
    tracker.update_lidar(1.6, boxes([]))
    assert len(tracker.objects()) == 0


def test_camera_votes_override_the_shape_class():
    tracker = Tracker()
    run(tracker, lambda t: [(10.0, 0.0)], 0.5, size=(1.8, 0.6, 1.7))
    assert tracker.objects()["class_id"][0] == ObjectClass.CYCLIST
    for _ in range(3):
        tracker.vote(tracker.tracks[0], int(ObjectClass.PEDESTRIAN), 0.8)
    assert tracker.objects()["class_id"][0] == ObjectClass.PEDESTRIAN


def test_a_car_seen_from_behind_is_centred_where_the_car_is_once_classified():
    tracker = Tracker(heading_prior=lambda x, y: 0.0)  # on a lane running along x
    # Only the rear face (x = 12.75) of a car at x = 15 is seen: a thin box across the lane.
    face = (12.9, 0.0, math.pi / 2, 1.8, 0.3, 1.4)
    for k in range(5):
        tracker.update_lidar(k * SCAN_S, boxes([face]))
    tracker.vote(tracker.tracks[0], int(ObjectClass.CAR), 0.9)
    for k in range(5, 30):
        tracker.update_lidar(k * SCAN_S, boxes([face]))
    (obj,) = tracker.objects()
    assert obj["length"] >= 4.0 and abs(math.sin(obj["yaw"])) < 0.1  # along the lane
    assert abs(obj["x"] - 15.0) < 0.5
    assert math.hypot(obj["vx"], obj["vy"]) < 0.2  # growing the box did not make it move


@given(
    st.floats(-math.pi, math.pi),
    st.floats(0.5, 5.0),
    st.floats(0.5, 3.0),
    st.floats(5.0, 40.0),
    st.floats(-math.pi, math.pi),
)
@settings(max_examples=50, deadline=None)
def test_anchoring_keeps_the_face_nearest_the_sensor(yaw, length, width, distance, bearing):
    centre = np.array([distance * math.cos(bearing), distance * math.sin(bearing)])
    grown = anchored_centre(
        centre, yaw, (length, width), np.array([length + 2.0, width + 1.0]), np.zeros(2)
    )
    # The grown box's centre is farther from the sensor, by at most half the growth.
    assert np.linalg.norm(grown) >= np.linalg.norm(centre) - 1e-9
    assert np.linalg.norm(grown - centre) <= math.hypot(1.0, 0.5) + 1e-9


def test_a_parked_vans_rear_face_keeps_its_track_when_returns_graze_its_flank():
    """Seen from behind and a little to the side, a van parked at x = 30 shows its rear face
    (x = 32.7) and a few returns along its flank, nearer its centre than the face is: the face
    is the van, the flank returns are parts of it."""
    tracker = Tracker(heading_prior=lambda x, y: math.pi)

    def sensor(k):
        return (50.0 - 0.3 * k, -1.5)

    face = (32.6, 0.0, math.pi / 2, 2.0, 0.3, 2.3)
    for k in range(5):
        tracker.update_lidar(k * SCAN_S, boxes([face], sensor(k)))
    tracker.vote(tracker.tracks[0], int(ObjectClass.VAN_TRUCK), 0.9)
    for k in range(5, 40):
        flank = (31.0 - 0.05 * k, -0.98, 0.0, 0.05, 0.01, 2.2)
        tracker.update_lidar(k * SCAN_S, boxes([face, flank], sensor(k)))
    (obj,) = tracker.objects()
    assert abs(obj["x"] - 30.0) < 0.3 and abs(obj["y"]) < 0.3
    assert (obj["vx"], obj["vy"]) == (0.0, 0.0)


def test_a_camera_vote_that_grows_a_box_does_not_make_the_object_move():
    """The class the camera gives a car seen from behind grows its box by 2.5 m between two
    scans: the centre moves with the box, not as motion."""
    tracker = Tracker(heading_prior=lambda x, y: 0.0)
    face = (25.0, 0.0, math.pi / 2, 1.8, 0.3, 1.4)
    for k in range(5):
        tracker.update_lidar(k * SCAN_S, boxes([face]))
    tracker.vote(tracker.tracks[0], int(ObjectClass.CAR), 0.9)
    speeds = []
    for k in range(5, 20):
        tracker.update_lidar(k * SCAN_S, boxes([face]))
        (obj,) = tracker.objects()
        speeds.append(math.hypot(obj["vx"], obj["vy"]))
    assert max(speeds) == 0.0


def test_a_fragment_the_camera_renames_a_car_does_not_move_when_more_of_it_shows():
    """A parked car's flank, first a metre of returns the camera called a cyclist, then 3.4 m of
    it once the camera names it a car: its near end stayed where it was, and so did the car."""
    tracker = Tracker(heading_prior=lambda x, y: 0.0)
    sensor = (0.0, 3.0)

    def flank(length):
        return (20.0 + length / 2.0, 0.9, 0.0, length, 0.2, 1.3)

    for k in range(8):
        tracker.update_lidar(k * SCAN_S, boxes([flank(1.0)], sensor))
        if k == 3:
            tracker.vote(tracker.tracks[0], int(ObjectClass.CYCLIST), 0.9)
    for _ in range(2):
        tracker.vote(tracker.tracks[0], int(ObjectClass.CAR), 0.9)
    speeds = []
    for k in range(8, 30):
        tracker.update_lidar(k * SCAN_S, boxes([flank(3.4)], sensor))
        (obj,) = tracker.objects()
        speeds.append(math.hypot(obj["vx"], obj["vy"]))
    assert max(speeds) == 0.0
    assert abs(obj["x"] - 22.1) < 0.1  # the near end plus half a car


def test_a_car_taller_than_its_class_typically_is_grows_to_the_length_seen():
    """A 2.3 m tall minivan the camera calls a car: its height is no sign of a merge, so the box
    takes the 5.4 m seen, and the returns on its far end are part of it, not a new object."""
    tracker = Tracker(heading_prior=lambda x, y: 0.0)
    sensor = (0.0, 3.0)
    for k in range(5):
        tracker.update_lidar(k * SCAN_S, boxes([(22.0, 0.0, 0.0, 3.0, 1.9, 2.3)], sensor))
    tracker.vote(tracker.tracks[0], int(ObjectClass.CAR), 0.9)
    for k in range(5, 20):
        tracker.update_lidar(k * SCAN_S, boxes([(23.2, 0.0, 0.0, 5.4, 1.9, 2.3)], sensor))
    far_end = (25.7, 0.9, 0.0, 0.4, 0.05, 1.0)
    for k in range(20, 30):
        tracker.update_lidar(k * SCAN_S, boxes([(23.2, 0.0, 0.0, 5.4, 1.9, 2.3), far_end], sensor))
    (obj,) = tracker.objects()
    assert obj["length"] >= 5.3


def test_a_parked_car_first_seen_as_a_squarish_corner_stands_along_the_lane():
    """The first box of a car half hidden at a junction is 1.9 × 1.7 m, its fit crosswise: it
    shows no heading, and the car the camera then names is grown along the lane, not across it
    into the lane beside, and does not move for being grown."""
    tracker = Tracker(heading_prior=lambda x, y: 0.0)
    sensor = (0.0, 3.0)
    corner = (20.0, 0.0, math.pi / 2, 1.9, 1.7, 2.2)
    for k in range(5):
        tracker.update_lidar(k * SCAN_S, boxes([corner], sensor))
    tracker.vote(tracker.tracks[0], int(ObjectClass.CAR), 0.9)
    for k in range(5, 15):
        tracker.update_lidar(k * SCAN_S, boxes([corner], sensor))
    (obj,) = tracker.objects()
    assert abs(math.sin(obj["yaw"])) < 0.1
    assert abs(obj["y"]) < 0.2 and math.hypot(obj["vx"], obj["vy"]) == 0.0


def test_a_person_does_not_take_the_box_of_the_car_they_pass():
    """A walker the camera has classed passes a car; the car's box, 4.5 m long, is no measurement
    of them (its centre is metres off), so their track does not jump onto it."""
    tracker = Tracker()

    def walker(t):
        return (8.0 + 1.2 * t, 1.6)

    for k in range(10):
        tracker.update_lidar(k * SCAN_S, boxes([(*walker(k * SCAN_S), 0.0, 0.5, 0.5, 1.7)]))
    (person,) = tracker.tracks
    tracker.vote(person, int(ObjectClass.PEDESTRIAN), 0.9)
    car = (10.0, 0.4, 0.0, 4.5, 1.8, 1.5)  # the walker's returns merged into the car's cluster
    for k in range(10, 13):
        tracker.update_lidar(k * SCAN_S, boxes([car]))
    t = 12 * SCAN_S
    assert np.linalg.norm(person.x[:2] - np.array(walker(t))) < 0.3
    assert person.x[2] > 0.8


def test_a_walker_the_camera_has_classed_is_believed_moving_after_three_hits():
    """Stepping out between parked cars, a walker is a few metres from the van's path when first
    seen: their velocity is needed at once."""
    tracker = Tracker()
    tracker.update_point(0.0, np.array([10.0, -3.0]), 0.3, int(ObjectClass.PEDESTRIAN), 0.9)
    for k in (1, 2):
        tracker.update_lidar(
            k * SCAN_S, boxes([(10.0, -3.0 + 1.5 * k * SCAN_S, 0.0, 0.5, 0.4, 1.7)])
        )
    (walker,) = tracker.tracks
    assert walker.hits == 3 and walker.moving and walker.x[3] > 0.5


def test_a_walker_the_camera_calls_a_cyclist_stays_one_track():
    tracker = Tracker()
    run(tracker, lambda t: [(12.0, -3.0 + 1.4 * t)], 1.0)
    tracker.vote(tracker.tracks[0], int(ObjectClass.PEDESTRIAN), 0.9)
    tracker.update_point(1.05, np.array([12.0, -1.5]), 0.3, int(ObjectClass.CYCLIST), 0.6)
    assert len(tracker.tracks) == 1


@given(st.lists(st.floats(-math.pi, math.pi), min_size=1, max_size=4), st.integers(0, 2**31))
@settings(max_examples=30, deadline=None)
def test_anchored_centres_of_all_pairs_agree_with_one_at_a_time(track_yaws, seed):
    rng = np.random.default_rng(seed)
    centres, box_yaw = rng.uniform(-30, 30, (3, 2)), rng.uniform(-math.pi, math.pi, 3)
    box_lw, track_lw, sensor = (
        rng.uniform(0.05, 5.0, (3, 2)),
        rng.uniform(0.5, 6.0, (len(track_yaws), 2)),
        rng.uniform(-3, 3, 2),
    )
    table = anchored_centres(centres, box_yaw, box_lw, np.array(track_yaws), track_lw, sensor)
    for i, yaw in enumerate(track_yaws):
        for j in range(3):
            # The box's extents along the track's heading: its own or turned by a quarter.
            turned = abs(math.remainder(2.0 * (box_yaw[j] + math.pi / 2 - yaw), 2 * math.pi)) < abs(
                math.remainder(2.0 * (box_yaw[j] - yaw), 2 * math.pi)
            )
            lw = box_lw[j, ::-1] if turned else box_lw[j]
            assert np.allclose(
                table[i, j], anchored_centre(centres[j], yaw, tuple(lw), track_lw[i], sensor)
            )


def test_ctrv_keeps_a_constant_distance_from_the_turn_centre():
    path = ctrv_path(np.array([0.0, 0.0, 5.0, 0.0]), 0.5, 0.0, np.linspace(0.0, 3.0, 31))
    centre = np.array([0.0, 10.0])  # radius v / ω = 10 m, turning left
    assert np.allclose(np.linalg.norm(path[:, :2] - centre, axis=1), 10.0)
    assert np.allclose(path[:, 2], 0.5 * np.linspace(0.0, 3.0, 31))


def test_predicted_paths_follow_constant_velocity_for_a_straight_mover():
    tracker = Tracker()
    run(tracker, lambda t: [(10.0 + 8.0 * t, 0.0)], 3.0, size=(4.5, 1.8, 1.5))
    paths, ids = tracker.predict_paths(2.0, 0.5)
    assert paths.shape == (1, 5, 3) and len(ids) == 1
    assert abs(paths[0, -1, 0] - paths[0, 0, 0] - 16.0) < 0.8


def test_shapes_suggest_classes():
    assert shape_class(0.6, 0.5, 1.7) == ObjectClass.PEDESTRIAN
    assert shape_class(4.4, 1.8, 1.5) == ObjectClass.CAR
    assert shape_class(6.0, 2.0, 2.6) == ObjectClass.VAN_TRUCK
    assert shape_class(0.5, 0.5, 0.4) == ObjectClass.UNKNOWN


def test_an_oncoming_car_passing_a_double_parked_van_stays_in_its_lane():
    """Beside the van the two are one cluster of returns, as wide as both: that box is two
    vehicles merged, and the car's track must not be pulled across into the van's lane."""
    from robovan_autonomy.core_types import PoseEstimate
    from robovan_autonomy.perception.lidar_objects import LidarObjectDetector
    from robovan_autonomy.sim.lidar import LidarConfig, LidarModel
    from robovan_autonomy.sim.scene import Box, Pose3, Scene
    from robovan_autonomy.vehicle_params import load_vehicle_params

    vehicle = load_vehicle_params()
    extrinsic = vehicle.sensor_pose("lidar_top")
    lidar, detector = (
        LidarModel(LidarConfig.from_vehicle_params(vehicle)),
        LidarObjectDetector(vehicle, extrinsic),
    )
    scene = Scene(walls=[])
    tracker, rng, van_x, speed = (
        Tracker(heading_prior=lambda x, y: 0.0),
        np.random.default_rng(0),
        33.0,
        5.0,
    )
    car_y = []
    for k in range(100):
        t, car_x = k * SCAN_S, 100.0 - speed * k * SCAN_S
        scene.set_boxes(
            [
                Box(60.0, -1.75, 0.0, 0.0, 5.4, 2.0, 2.3, None, int(ObjectClass.VAN_TRUCK), 1),
                Box(car_x, 1.75, 0.0, math.pi, 4.5, 1.8, 1.5, None, int(ObjectClass.CAR), 2),
            ]
        )
        points = lidar.scan(
            scene, Pose3.from_xyz_ypr(van_x, 0.0, 0.0, 0.0).compose(extrinsic), rng
        ).points
        tracker.update_lidar(t, detector.detect(points, PoseEstimate(t, van_x, 0.0, 0.0, 0.0, 0.0)))
        for track in tracker.tracks:  # the camera names both, as it does at this range
            near_car = math.hypot(track.x[0] - car_x, track.x[1] - 1.75) < 3.0
            near_van = math.hypot(track.x[0] - 60.0, track.x[1] + 1.75) < 3.0
            if near_car != near_van:
                tracker.vote(track, ObjectClass.CAR if near_car else ObjectClass.VAN_TRUCK, 0.9)
        objects = tracker.objects()
        cars = objects[
            (objects["class_id"] == ObjectClass.CAR) & (np.abs(objects["x"] - car_x) < 4.0)
        ]
        if 50.0 <= car_x <= 70.0 and len(cars):
            car_y.append(float(cars["y"].min()))
    assert car_y and min(car_y) > 1.0
