"""LiDAR model: geometry of hits against analytic ranges, the beam pattern, limits, noise, ids."""

import math

import numpy as np
import pytest

from robovan_autonomy.perception.classes import ObjectClass
from robovan_autonomy.sim.lidar import LidarConfig, LidarModel
from robovan_autonomy.sim.scene import (
    GROUND_ID,
    STATIC_ID,
    Box,
    LaneMarking,
    Pose3,
    Prism,
    Scene,
    Wall,
)
from robovan_autonomy.vehicle_params import load_vehicle_params

SENSOR_HEIGHT_M = 2.4


@pytest.fixture(scope="module")
def model():
    return LidarModel(LidarConfig.from_vehicle_params(load_vehicle_params()))


def level_pose(x=0.0, y=0.0, yaw=0.0):
    return Pose3.from_xyz_ypr(x, y, SENSOR_HEIGHT_M, yaw)


def ranges_by_ray(scan, model):
    """(columns, beams) range image from a scan (NaN: no return), matched by ray direction."""
    x, y, z = scan.points[:, 0], scan.points[:, 1], scan.points[:, 2]
    r = np.linalg.norm(scan.points[:, :3], axis=1)
    column = np.round((np.arctan2(y, x) - model.azimuth_rad[0]) / model.azimuth_step_rad).astype(
        int
    )
    beam = np.argmin(np.abs(np.arcsin(z / r)[:, None] - model.elevation_rad[None, :]), axis=1)
    image = np.full(model.directions.shape[:2], np.nan)
    image[column % model.config.columns, beam] = r
    return image


def column_at(model, azimuth_rad):
    return int(np.argmin(np.abs(np.angle(np.exp(1j * (model.azimuth_rad - azimuth_rad))))))


def wall_ring(half_m, height_m):
    square = np.array(
        [
            [-half_m, -half_m],
            [half_m, -half_m],
            [half_m, half_m],
            [-half_m, half_m],
            [-half_m, -half_m],
        ]
    )
    return Wall(square, 0.0, height_m, label="fence")


def test_ray_hits_the_rear_face_of_a_box_ahead_at_its_range(model):
    scene = Scene()
    scene.set_boxes([Box(10.0, 0.0, 0.0, 0.0, 4.0, 2.0, 2.0, None, ObjectClass.STATIC, 7)])
    image = ranges_by_ray(model.scan(scene, level_pose()), model)
    beam = int(np.argmin(np.abs(model.elevation_rad - math.radians(-10.0))))
    expected = 8.0 / math.cos(model.elevation_rad[beam])
    assert image[column_at(model, 0.0), beam] == pytest.approx(expected, abs=0.02)


def test_ray_hits_a_building_wall_at_its_range_from_the_van_extrinsic(model):
    params = load_vehicle_params()
    extrinsic = params.sensor_pose("lidar_top")
    scene = Scene(
        [Prism(np.array([[30.0, -40.0], [40.0, -40.0], [40.0, 40.0], [30.0, 40.0]]), 0.0, 20.0)]
    )
    base = Pose3.from_xyz_ypr(0.0, 0.0, 0.0, 0.0)
    image = ranges_by_ray(model.scan(scene, base.compose(extrinsic)), model)
    beam = model.config.beams - 1
    expected = (30.0 - extrinsic.x_m) / math.cos(model.elevation_rad[beam])
    assert image[column_at(model, 0.0), beam] == pytest.approx(expected, abs=0.02)


def test_lowest_beam_hits_flat_ground_at_the_analytic_range(model):
    image = ranges_by_ray(model.scan(Scene(), level_pose()), model)
    expected = SENSOR_HEIGHT_M / math.sin(-model.config.min_elevation_rad)
    np.testing.assert_allclose(image[:, 0], expected, atol=0.002)


def test_scan_has_32_by_1024_rays_within_the_elevation_limits(model):
    scene = Scene(walls=[wall_ring(30.0, 60.0)])
    scan = model.scan(scene, level_pose(3.0, -2.0, 0.4))
    assert model.directions.shape == (1024, 32, 3)
    assert scan.points.shape == (1024 * 32, 4)
    elevation = np.arcsin(scan.points[:, 2] / np.linalg.norm(scan.points[:, :3], axis=1))
    assert elevation.min() >= model.config.min_elevation_rad - 1e-5
    assert elevation.max() <= model.config.max_elevation_rad + 1e-5


def test_nothing_is_returned_beyond_max_range(model):
    scene = Scene(walls=[wall_ring(150.0, 60.0)])
    scan = model.scan(scene, level_pose(), rng=np.random.default_rng(3))
    r = np.linalg.norm(scan.points[:, :3], axis=1)
    assert r.max() <= model.config.max_range_m
    assert r.min() >= model.config.min_range_m
    reaches_ground = SENSOR_HEIGHT_M / np.sin(-model.elevation_rad[model.elevation_rad < 0.0])
    expected_rays = (
        np.count_nonzero(reaches_ground <= model.config.max_range_m) * model.config.columns
    )
    assert abs(len(r) - expected_rays) < 0.02 * expected_rays  # drop-outs aside


def test_near_wall_hides_the_wall_behind_it(model):
    near = Wall(np.array([[10.0, -5.0], [10.0, 5.0]]), 0.0, 50.0, label="fence")
    far = Wall(np.array([[20.0, -30.0], [20.0, 30.0]]), 0.0, 50.0, label="fence")
    scan = model.scan(Scene(walls=[near, far]), level_pose())
    x, y = scan.points[:, 0], scan.points[:, 1]
    in_shadow = np.abs(y / x) < 0.45
    assert np.count_nonzero(in_shadow & (x > 10.0 + 0.02)) == 0
    assert np.count_nonzero(np.abs(x - 20.0) < 0.02) > 0


def test_top_of_a_low_box_is_hit_and_every_box_point_lies_on_the_box(model):
    box = Box(6.0, 1.0, 0.0, 0.5, 3.0, 2.0, 1.0, None, ObjectClass.STATIC, 42)
    scene = Scene()
    scene.set_boxes([box])
    pose = level_pose()
    scan = model.scan(scene, pose, with_ids=True)
    local = pose.to_map(scan.points[scan.object_ids == 42, :3]) - (box.x_m, box.y_m, 0.0)
    c, s = math.cos(box.yaw_rad), math.sin(box.yaw_rad)
    along, across = local[:, 0] * c + local[:, 1] * s, -local[:, 0] * s + local[:, 1] * c
    assert np.all(np.abs(along) <= box.length_m / 2 + 0.01)
    assert np.all(np.abs(across) <= box.width_m / 2 + 0.01)
    assert np.all((local[:, 2] >= -0.01) & (local[:, 2] <= box.height_m + 0.01))
    assert np.count_nonzero(np.abs(local[:, 2] - box.height_m) < 0.01) > 20


def test_tilted_sensor_still_hits_a_wall_at_its_plane(model):
    scene = Scene(
        [Prism(np.array([[15.0, -40.0], [16.0, -40.0], [16.0, 40.0], [15.0, 40.0]]), 0.0, 30.0)]
    )
    pose = Pose3.from_xyz_ypr(0.0, 0.0, SENSOR_HEIGHT_M, 0.2, pitch_rad=0.08, roll_rad=-0.05)
    scan = model.scan(scene, pose, with_ids=True)
    on_wall = pose.to_map(scan.points[scan.object_ids == STATIC_ID, :3])
    assert len(on_wall) > 100
    np.testing.assert_allclose(on_wall[:, 0], 15.0, atol=0.02)


def test_ground_truth_ids_name_actor_ground_and_structure(model):
    scene = Scene(
        [Prism(np.array([[-20.0, 10.0], [20.0, 10.0], [20.0, 12.0], [-20.0, 12.0]]), 0.0, 10.0)]
    )
    scene.set_boxes([Box(8.0, -3.0, 0.0, 0.0, 4.5, 1.8, 1.5, None, ObjectClass.CAR, 5)])
    scan = model.scan(scene, level_pose(), with_ids=True)
    assert set(np.unique(scan.object_ids)) == {GROUND_ID, STATIC_ID, 5}
    assert model.scan(scene, level_pose()).object_ids is None


def test_range_noise_is_seeded_and_has_the_configured_sigma(model):
    scene = Scene(walls=[wall_ring(20.0, 60.0)])
    exact = ranges_by_ray(model.scan(scene, level_pose()), model)
    first = model.scan(scene, level_pose(), rng=np.random.default_rng(11))
    again = model.scan(scene, level_pose(), rng=np.random.default_rng(11))
    np.testing.assert_array_equal(first.points, again.points)
    noisy = ranges_by_ray(first, model)
    error = (noisy - exact)[np.isfinite(noisy)]
    assert np.std(error) == pytest.approx(model.config.range_noise_sigma_m, rel=0.1)
    dropped = np.count_nonzero(np.isnan(noisy) & np.isfinite(exact)) / np.count_nonzero(
        np.isfinite(exact)
    )
    assert dropped == pytest.approx(model.config.dropout_probability, abs=0.003)


def test_lane_markings_are_brighter_than_asphalt_in_intensity(model):
    road = np.array([[-50.0, -6.0], [50.0, -6.0], [50.0, 6.0], [-50.0, 6.0]])
    scene = Scene(roads=[road], markings=[LaneMarking(np.array([[-50.0, 3.0], [50.0, 3.0]]), 0.3)])
    scan = model.scan(scene, level_pose())
    on_road = np.abs(scan.points[:, 2] + SENSOR_HEIGHT_M) < 1e-3
    near = on_road & (np.abs(scan.points[:, 0]) < 12.0)
    marking = near & (np.abs(scan.points[:, 1] - 3.0) < 0.1)
    asphalt = near & (np.abs(scan.points[:, 1] + 3.0) < 0.1)
    assert scan.points[marking, 3].mean() > 3.0 * scan.points[asphalt, 3].mean()


def test_static_box_points_keep_its_object_id_whatever_the_frames_actors(model):
    parked = Box(8.0, 3.0, 0.0, 0.0, 4.5, 1.8, 1.5, None, ObjectClass.CAR, 10_001)
    scene = Scene(static_boxes=[parked])
    scene.set_boxes([Box(8.0, -3.0, 0.0, 0.0, 4.5, 1.8, 1.5, None, ObjectClass.CAR, 5)])
    scene.set_boxes([Box(-8.0, 0.0, 0.0, 0.0, 4.5, 1.8, 1.5, None, ObjectClass.CAR, 6)])
    scan = model.scan(scene, level_pose(), with_ids=True)
    assert set(np.unique(scan.object_ids)) == {GROUND_ID, 10_001, 6}


def test_level_scan_equals_the_per_beam_scan_of_the_same_pose(model, monkeypatch):
    scene = Scene(
        [
            Prism(np.array([[12.0, -4.0], [18.0, -4.0], [18.0, 4.0], [12.0, 4.0]]), 0.0, 1.8),
            Prism(np.array([[-20.0, -3.0], [-5.0, -3.0], [-5.0, 6.0], [-20.0, 6.0]]), 3.0, 3.3),
        ],
        walls=[wall_ring(40.0, 8.0)],
        static_boxes=[Box(5.0, 4.0, 0.0, 0.4, 4.5, 1.8, 1.5, None, ObjectClass.CAR, 11)],
    )
    scene.set_boxes([Box(6.0, -3.0, 0.0, 0.0, 0.6, 0.6, 1.75, None, ObjectClass.PEDESTRIAN, 2)])
    level = model.scan(scene, level_pose(0.5, 0.2, 0.3), with_ids=True)
    monkeypatch.setattr("robovan_autonomy.sim.lidar.LEVEL_TOLERANCE", -1.0)  # every pose "tilted"
    per_beam = model.scan(scene, level_pose(0.5, 0.2, 0.3), with_ids=True)
    np.testing.assert_array_equal(level.points, per_beam.points)
    np.testing.assert_array_equal(level.object_ids, per_beam.object_ids)
