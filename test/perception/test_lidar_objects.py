"""LiDAR obstacles: ground removed, objects clustered and boxed where they are, the drivable area
and the van's own body respected."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robovan_autonomy.core_types import PoseEstimate
from robovan_autonomy.mapping.lanelet_map import load_map
from robovan_autonomy.perception.classes import ObjectClass
from robovan_autonomy.perception.lidar_objects import (
    DrivableArea,
    LidarBoxes,
    LidarObjectConfig,
    LidarObjectDetector,
    ground_plane,
)
from robovan_autonomy.sim.lidar import LidarConfig, LidarModel
from robovan_autonomy.sim.scene import Box, Pose3, Scene, Wall
from robovan_autonomy.vehicle_params import load_vehicle_params

PARAMS = load_vehicle_params()
EXTRINSIC = PARAMS.sensor_pose("lidar_top")
LIDAR = LidarModel(LidarConfig.from_vehicle_params(PARAMS))


def scan(boxes, walls=(), van=(0.0, 0.0, 0.0), seed=0):
    scene = Scene(walls=list(walls))
    scene.set_boxes(boxes)
    base = Pose3.from_xyz_ypr(van[0], van[1], 0.0, van[2])
    return LIDAR.scan(scene, base.compose(EXTRINSIC), np.random.default_rng(seed)).points


def detector(drivable=None):
    return LidarObjectDetector(PARAMS, EXTRINSIC, drivable=drivable)


def pose(x=0.0, y=0.0, yaw=0.0):
    return PoseEstimate(0.0, x, y, yaw, 0.0, 0.0)


def nearest(boxes: LidarBoxes, x, y):
    d = np.hypot(boxes.x_m - x, boxes.y_m - y)
    return int(np.argmin(d)), float(d.min())


def test_an_empty_street_gives_no_objects_and_a_level_ground_plane():
    points = scan([])
    assert len(detector().detect(points, pose())) == 0
    base = EXTRINSIC.to_base_link(points[:, :3].astype(float))
    assert np.allclose(ground_plane(base), 0.0, atol=0.02)


def test_kerbs_are_ground_not_obstacles():
    kerb = Wall(np.array([[-40.0, -6.0], [60.0, -6.0]]))
    assert len(detector().detect(scan([], [kerb]), pose())) == 0


def test_a_car_and_a_pedestrian_are_two_boxes_where_they_stand():
    car = Box(15.0, 0.0, 0.0, 0.0, 4.5, 1.8, 1.5, None, int(ObjectClass.CAR), 1)
    walker = Box(10.0, -4.0, 0.0, 0.0, 0.6, 0.6, 1.75, None, int(ObjectClass.PEDESTRIAN), 2)
    boxes = detector().detect(scan([car, walker]), pose())
    assert len(boxes) == 2
    i, d = nearest(boxes, 10.0, -4.0)
    assert d < 0.3 and boxes.length_m[i] < 1.0 and 1.5 < boxes.height_m[i] < 1.9
    j, _ = nearest(boxes, 15.0, 0.0)
    # Seen from behind: the rear face is where it is; the box is as wide as the car.
    c, s = abs(math.cos(boxes.yaw_rad[j])), abs(math.sin(boxes.yaw_rad[j]))
    rear = boxes.x_m[j] - 0.5 * (boxes.length_m[j] * c + boxes.width_m[j] * s)
    across = boxes.length_m[j] * s + boxes.width_m[j] * c
    assert abs(rear - 12.75) < 0.3 and abs(across - 1.8) < 0.3


@given(st.floats(-math.pi, math.pi), st.floats(8.0, 14.0), st.floats(-6.0, 6.0))
@settings(max_examples=12, deadline=None)
def test_a_nearby_cars_box_is_aligned_with_its_sides(yaw, x, y):
    car = Box(x, y, 0.0, yaw, 4.5, 1.8, 1.5, None, int(ObjectClass.CAR), 1)
    boxes = detector().detect(scan([car]), pose())
    i, _ = nearest(boxes, x, y)
    along = (boxes.x_m[i] - x) * math.cos(yaw) + (boxes.y_m[i] - y) * math.sin(yaw)
    across = -(boxes.x_m[i] - x) * math.sin(yaw) + (boxes.y_m[i] - y) * math.cos(yaw)
    assert abs(along) <= 2.25 and abs(across) <= 0.9  # on the car
    # One visible face cannot tell length from width: the rectangle's sides are what is known.
    error = (boxes.yaw_rad[i] - yaw + math.pi / 4) % (math.pi / 2) - math.pi / 4
    # A 3° search grid; a partial outline blurred by the inset glass and roof above the body.
    assert abs(error) < math.radians(12.0)


def test_boxes_are_reported_in_map_from_the_vans_pose():
    car = Box(115.0, 50.0, 0.0, 0.5, 4.5, 1.8, 1.5, None, int(ObjectClass.CAR), 1)
    van = (100.0, 50.0, 0.3)
    boxes = detector().detect(scan([car], van=van), pose(*van))
    _, d = nearest(boxes, 115.0, 50.0)
    assert d < 1.5


def test_returns_off_the_road_are_dropped_and_on_it_kept():
    district = load_map()
    lane = next(iter(district.lanes.values()))
    x, y = lane.centerline[len(lane.centerline) // 2]
    area = DrivableArea(district, margin_m=2.5)
    building = district.buildings[0].polygon.mean(axis=0)
    assert area.contains(np.array([[x, y], building])).tolist() == [True, False]


def test_returns_from_the_vans_own_body_are_ignored():
    roof = np.array(
        [[0.5, 0.0, -0.3, 10.0], [-1.0, 0.5, -0.5, 10.0], [0.5, -0.5, -1.0, 10.0]], np.float32
    )
    assert len(detector().obstacle_points(roof, pose())) == 0


def test_a_person_between_parked_cars_seen_only_over_their_roofs_is_a_box_of_their_own():
    """Their legs hidden by the nearer car, their head and shoulders float above the ground like a
    car's roof returns do; they are no part of either car."""
    near = Box(24.5, -3.0, 0.0, 0.0, 4.5, 1.8, 1.5, None, int(ObjectClass.CAR), 1)
    far = Box(31.5, -3.0, 0.0, 0.0, 4.5, 1.8, 1.5, None, int(ObjectClass.CAR), 2)
    walker = Box(28.0, -4.0, 0.0, 0.0, 0.5, 0.4, 1.75, None, int(ObjectClass.PEDESTRIAN), 3)
    boxes = detector().detect(scan([near, far, walker], van=(14.0, 0.0, 0.0)), pose(14.0, 0.0))
    i, d = nearest(boxes, 28.0, -4.0)
    assert d < 0.4 and max(boxes.length_m[i], boxes.width_m[i]) < 0.8
    assert len(boxes) == 3


def test_a_person_stepping_out_beside_a_parked_cars_body_is_a_box_of_their_own():
    """Someone about to step out from between two parked cars shows down to the ground, while the
    nearer car hides the lower part of the farther one: what shows of that car floats beside the
    person, wider than them, and is no part of them."""
    near = Box(24.7, -2.95, 0.0, 0.0, 4.5, 1.8, 1.5, None, int(ObjectClass.CAR), 1)
    far = Box(31.7, -2.95, 0.0, 0.0, 4.5, 1.8, 1.5, None, int(ObjectClass.CAR), 2)
    walker = Box(28.2, -5.1, 0.0, 0.0, 0.5, 0.4, 1.75, None, int(ObjectClass.PEDESTRIAN), 3)
    boxes = detector().detect(scan([near, far, walker]), pose())
    i, d = nearest(boxes, 28.2, -5.1)
    assert d < 0.4 and max(boxes.length_m[i], boxes.width_m[i]) < 0.8
    assert len(boxes) == 3


def test_a_far_cars_roof_returns_are_part_of_its_box():
    car = Box(38.0, 0.0, 0.0, 0.0, 4.5, 1.8, 1.5, None, int(ObjectClass.CAR), 1)
    boxes = detector().detect(scan([car]), pose())
    assert len(boxes) == 1


@pytest.mark.parametrize("car_x", [29.0, 31.75])
def test_a_cars_rear_face_is_boxed_from_its_lowest_returns(car_x):
    """At 27–31 m a beam finds the rear face well above the ground; at 31.4–32.5 m it finds it
    only 0.2–0.3 m high, and the beam above passes over the face to the top, a metre inside."""
    car = Box(car_x, 0.0, 0.0, 0.0, 4.5, 1.8, 1.5, None, int(ObjectClass.CAR), 1)
    boxes = detector().detect(scan([car]), pose())
    (i,) = range(len(boxes))
    rear = boxes.x_m[i] - boxes.width_m[i] / 2.0
    assert boxes.clearance_m[i] < 0.6 and abs(rear - (car_x - 2.25)) < 0.1


def ground_and(points_base):
    """A sensor-frame scan of a flat road around the van plus the given base_link points."""
    xs, ys = np.meshgrid(np.linspace(-20.0, 40.0, 61), np.linspace(-6.0, 6.0, 13))
    road = np.column_stack([xs.ravel(), ys.ravel(), np.zeros(xs.size)])
    base = np.vstack([road, np.asarray(points_base, float)])
    return np.column_stack([EXTRINSIC.from_base_link(base), np.ones(len(base))])


def test_returns_just_above_the_ground_make_no_object_by_themselves():
    debris = [[15.0 + 0.1 * k, 0.0, 0.25] for k in range(10)]
    assert len(detector().detect(ground_and(debris), pose())) == 0


def test_returns_just_above_the_ground_do_not_lift_a_lone_return_into_an_object():
    """A single return above the clearance is noise however many low ones lie beside it."""
    lone = [[15.0, 0.0, 0.5]] + [[15.1 + 0.1 * k, 0.0, 0.25] for k in range(5)]
    two_returns = LidarObjectDetector(PARAMS, EXTRINSIC, LidarObjectConfig(min_points=2))
    assert len(two_returns.detect(ground_and(lone), pose())) == 0


def test_returns_just_above_the_ground_do_not_join_two_objects():
    """A bumper-high line of returns between a person and a car leaves them apart."""
    walker = [[15.0, 2.0, z] for z in (0.5, 1.0, 1.5)]
    car = [[15.0 + dx, -1.0, z] for dx in np.linspace(-2.0, 2.0, 21) for z in (0.5, 1.0)]
    bridge = [[15.0, y, 0.25] for y in np.linspace(-0.9, 1.9, 15)]
    boxes = detector().detect(ground_and(walker + car + bridge), pose())
    assert len(boxes) == 2
    i, d = nearest(boxes, 15.0, 2.0)
    assert d < 0.4 and max(boxes.length_m[i], boxes.width_m[i]) < 0.8
