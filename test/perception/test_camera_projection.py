"""Camera ↔ 3D: the projection agrees with the simulator's renderer, ground points invert it."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from robovan_autonomy.camera_model import CameraIntrinsics
from robovan_autonomy.perception.camera_projection import CameraProjection, box_corners
from robovan_autonomy.sim.camera import project_points
from robovan_autonomy.sim.scene import Pose3
from robovan_autonomy.vehicle_params import load_vehicle_params

PARAMS = load_vehicle_params()
EXTRINSIC = PARAMS.sensor_pose("camera_front")
INTRINSICS = CameraIntrinsics.from_vehicle_params(PARAMS)
PROJECTION = CameraProjection(INTRINSICS, EXTRINSIC)


@given(st.floats(3.0, 80.0), st.floats(-20.0, 20.0), st.floats(0.0, 3.0))
@settings(max_examples=50, deadline=None)
def test_projection_matches_the_simulators_camera(x, y, z):
    point = np.array([[x, y, z]])
    ours, _ = PROJECTION.project(point)
    camera_in_map = Pose3.from_xyz_ypr(0.0, 0.0, 0.0, 0.0).compose(EXTRINSIC)
    theirs = project_points(point, camera_in_map, INTRINSICS)
    assert np.allclose(ours, theirs, atol=1e-6)


@given(st.floats(4.0, 100.0), st.floats(-15.0, 15.0))
@settings(max_examples=50, deadline=None)
def test_a_ground_point_projected_and_cast_back_lands_where_it_was(x, y):
    point = np.array([[x, y, 0.0]])
    pixel, _ = PROJECTION.project(point)
    assert np.allclose(PROJECTION.ground_points(pixel), point, atol=1e-6)


def test_pixels_above_the_horizon_have_no_ground_point():
    assert np.all(np.isnan(PROJECTION.ground_points(np.array([[480.0, 0.0]]))))


def test_the_range_uncertainty_of_a_box_bottom_grows_with_range():
    pixels = [PROJECTION.project(np.array([[x, 0.0, 0.0]]))[0][0] for x in (10.0, 40.0)]
    boxes = np.array([[p[0] - 5, p[1] - 20, p[0] + 5, p[1]] for p in pixels])
    points, sigma = PROJECTION.box_ground_points(boxes)
    assert np.allclose(points[:, 0], [10.0, 40.0], atol=1e-6)
    assert sigma[1] > 10.0 * sigma[0]


def test_a_box_behind_the_camera_does_not_project():
    corners = box_corners([-10.0, 20.0], [0.0, 0.0], 0.0, 0.0, 4.5, 1.8, 1.5)
    boxes, visible = PROJECTION.project_boxes(corners)
    assert visible.tolist() == [False, True]
    assert boxes[1, 0] < INTRINSICS.cx < boxes[1, 2]
