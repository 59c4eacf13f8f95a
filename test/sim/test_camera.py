"""Camera model: intrinsics, projection, rendering of scenes and the 2D ground truth."""

import math

import numpy as np
import pytest

from robovan_autonomy.camera_model import CameraIntrinsics
from robovan_autonomy.perception.classes import ObjectClass
from robovan_autonomy.sim.camera import CameraRenderer, body_to_optical, project_points
from robovan_autonomy.sim.scene import Box, Pose3, Prism, Scene, object_colours
from robovan_autonomy.vehicle_params import load_vehicle_params

CAMERA_HEIGHT_M = 2.0


@pytest.fixture(scope="module")
def intrinsics():
    return CameraIntrinsics.from_vehicle_params(load_vehicle_params())


@pytest.fixture(scope="module")
def renderer(intrinsics):
    return CameraRenderer(intrinsics)


def level_camera(x=0.0, y=0.0, yaw=0.0):
    return Pose3.from_xyz_ypr(x, y, CAMERA_HEIGHT_M, yaw)


def test_intrinsics_follow_the_datasheet_field_of_view(intrinsics):
    assert (intrinsics.width_px, intrinsics.height_px) == (960, 540)
    assert intrinsics.fx == intrinsics.fy == pytest.approx(480.0)
    assert (intrinsics.cx, intrinsics.cy) == (479.5, 269.5)


def test_body_x_forward_is_optical_z_and_body_left_is_optical_minus_x():
    np.testing.assert_allclose(
        body_to_optical(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])),
        [[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]],
    )


def test_known_points_project_to_the_expected_pixels(intrinsics):
    pose = level_camera()
    points = np.array(
        [
            [10.0, 0.0, CAMERA_HEIGHT_M],  # straight ahead
            [10.0, 10.0, CAMERA_HEIGHT_M],  # 45° left: the left image edge
            [10.0, 0.0, CAMERA_HEIGHT_M + 1.0],  # 1 m up at 10 m
            [10.0, -2.0, CAMERA_HEIGHT_M - 1.0],
        ]
    )
    expected = [[479.5, 269.5], [-0.5, 269.5], [479.5, 221.5], [575.5, 317.5]]
    np.testing.assert_allclose(project_points(points, pose, intrinsics), expected, atol=1e-9)


def test_optical_axis_of_the_pitched_datasheet_camera_hits_the_principal_point(intrinsics):
    params = load_vehicle_params()
    extrinsic = params.sensor_pose("camera_front")
    base = Pose3.from_xyz_ypr(5.0, -3.0, 0.0, 1.0)
    pose = base.compose(extrinsic)
    ahead = pose.to_map(np.array([[7.0, 0.0, 0.0]]))
    np.testing.assert_allclose(project_points(ahead, pose, intrinsics), [[479.5, 269.5]], atol=1e-9)
    assert ahead[0, 2] < pose.position[2]  # pitch 0.17 looks down


def test_points_behind_the_camera_project_to_nan(intrinsics):
    pixels = project_points(
        np.array([[-5.0, 0.0, 1.0], [0.05, 0.0, 2.0]]), level_camera(), intrinsics
    )
    assert np.all(np.isnan(pixels))


def test_box_ahead_is_drawn_and_its_2d_box_contains_its_projected_corners(renderer, intrinsics):
    scene = Scene()
    box = Box(12.0, 1.0, 0.0, 0.4, 2.0, 1.5, 1.2, (40, 40, 200), ObjectClass.STATIC, 9)
    empty = renderer.render(scene, level_camera())
    scene.set_boxes([box])
    frame = renderer.render(scene, level_camera())
    (truth,) = frame.boxes
    assert (truth.class_id, truth.object_id) == (ObjectClass.STATIC, 9)
    corners = project_points(box.corners(), level_camera(), intrinsics)
    assert np.all(corners[:, 0] >= truth.x1 - 0.5) and np.all(corners[:, 0] <= truth.x2 + 0.5)
    assert np.all(corners[:, 1] >= truth.y1 - 0.5) and np.all(corners[:, 1] <= truth.y2 + 0.5)
    centre = np.round(
        project_points([[box.x_m, box.y_m, 0.6]], level_camera(), intrinsics)[0]
    ).astype(int)
    assert (
        np.abs(
            frame.image[centre[1], centre[0]].astype(int) - empty.image[centre[1], centre[0]]
        ).sum()
        > 60
    )
    assert truth.visible_fraction == pytest.approx(1.0, abs=0.02) and truth.truncation == 0.0


def test_actor_behind_a_wall_has_low_visible_fraction(renderer):
    wall = Prism(np.array([[9.0, -3.0], [9.5, -3.0], [9.5, 3.0], [9.0, 3.0]]), 0.0, 2.5)
    scene = Scene([wall])
    scene.set_boxes(
        [
            Box(15.0, 0.5, 0.0, 0.0, 4.5, 1.8, 1.5, None, ObjectClass.CAR, 1),
            Box(6.0, -1.0, 0.0, 0.0, 0.6, 0.6, 1.75, None, ObjectClass.PEDESTRIAN, 2),
        ]
    )
    boxes = {b.object_id: b for b in renderer.render(scene, level_camera(), min_visible_px=0).boxes}
    assert boxes[1].visible_fraction < 0.1
    assert boxes[2].visible_fraction > 0.95


def test_actor_cut_by_the_image_edge_reports_truncation(renderer):
    scene = Scene()
    scene.set_boxes([Box(4.0, 4.0, 0.0, 0.0, 4.5, 1.8, 1.5, None, ObjectClass.CAR, 3)])
    (truth,) = renderer.render(scene, level_camera()).boxes
    assert truth.x1 == 0.0
    assert 0.1 < truth.truncation < 0.9


def test_wall_reaching_behind_the_camera_draws_only_on_its_own_side(renderer):
    wall = Prism(
        np.array([[-50.0, 3.0], [50.0, 3.0], [50.0, 3.5], [-50.0, 3.5]]), 0.0, 4.0, (30, 30, 230)
    )
    road = np.array([[-100.0, -5.0], [100.0, -5.0], [100.0, 2.9], [-100.0, 2.9]])
    image = renderer.render(Scene([wall], roads=[road]), level_camera()).image.astype(int)
    reddish = image[..., 2] - image[..., 0] > 80
    columns = np.nonzero(reddish.any(axis=0))[0]
    assert columns.min() == 0  # it runs out of the left edge...
    assert columns.max() < 480  # ...and never leaks right of the vanishing point
    assert reddish[:, 0].sum() > 200  # near the camera it fills most of the edge


def test_camera_inside_a_box_renders_without_errors(renderer):
    scene = Scene()
    scene.set_boxes([Box(0.0, 0.0, 0.0, 0.3, 6.0, 3.0, 3.0, None, ObjectClass.VAN_TRUCK, 4)])
    frame = renderer.render(scene, level_camera())
    assert frame.image.shape == (540, 960, 3) and frame.image.dtype == np.uint8


def test_actor_colours_are_stable_per_object_and_vary_between_objects():
    car = Box(0.0, 0.0, 0.0, 0.0, 4.5, 1.8, 1.5, None, ObjectClass.CAR, 10)
    same = object_colours(car, palette_seed=1)["body"]
    np.testing.assert_array_equal(same, object_colours(car, palette_seed=1)["body"])
    bodies = {
        tuple(
            np.round(
                object_colours(
                    Box(0.0, 0.0, 0.0, 0.0, 4.5, 1.8, 1.5, None, ObjectClass.CAR, i), palette_seed=1
                )["body"]
            )
        )
        for i in range(20)
    }
    assert len(bodies) == 20


def test_sky_above_the_horizon_and_ground_below(renderer):
    image = renderer.render(Scene(), level_camera()).image.astype(int)
    sky, ground = image[20, 480], image[500, 480]
    assert sky[0] > sky[2]  # blue dominates the sky
    assert abs(ground[0] - ground[2]) < 40 and ground.sum() < sky.sum()
    assert math.isclose(image[20, 10].sum(), image[20, 950].sum(), abs_tol=3)  # level horizon


def test_static_box_gets_a_2d_box_next_to_the_frames_actors(renderer):
    scene = Scene(
        static_boxes=[Box(14.0, 3.0, 0.0, 0.0, 4.5, 1.8, 1.5, None, ObjectClass.CAR, 10_000)]
    )
    scene.set_boxes([Box(10.0, -2.0, 0.0, 0.0, 4.5, 1.8, 1.5, None, ObjectClass.CAR, 1)])
    boxes = {b.object_id: b for b in renderer.render(scene, level_camera()).boxes}
    assert set(boxes) == {1, 10_000}
    assert boxes[10_000].x2 < boxes[1].x1  # the parked car on the left, the actor on the right
