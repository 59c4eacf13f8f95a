"""The simulator's world: parked cars are the scene's static boxes, built once, and stay in the
ground-truth object table; faults change what the sensors deliver."""

import dataclasses

import numpy as np
import pytest

from robovan_autonomy.config_errors import config_path
from robovan_autonomy.mapping.lanelet_map import load_map
from robovan_autonomy.sim.district_scene import PARKED_CAR_ID_BASE
from robovan_autonomy.sim.scenario import Fault, load_scenario
from robovan_autonomy.sim.world import STEP_S, SimWorld
from robovan_autonomy.vehicle_params import load_vehicle_params


@pytest.fixture(scope="module")
def world():
    scenario = load_scenario(config_path("scenarios", "jaywalker_between_parked_cars.yaml"))
    return SimWorld(scenario, load_map(scenario.map_path), load_vehicle_params())


def test_parked_cars_are_static_scene_boxes_and_frames_hold_only_actors(world):
    world.advance_actors(STEP_S)
    world.sensor_outputs(STEP_S, {"lidar"})
    static_ids = {b.object_id for b in world.scene.static_boxes}
    assert len(static_ids) == len(world.district.parked_cars) > 0
    assert min(static_ids) == PARKED_CAR_ID_BASE
    assert static_ids.isdisjoint(b.object_id for b in world.scene.boxes)


def test_ground_truth_lists_actors_then_parked_cars_at_rest(world):
    table = world.ground_truth_objects()
    actors = len(world.actor_states)
    assert list(table["track_id"][:actors]) == [a.track_id for a in world.actor_states]
    parked = table[actors:]
    assert list(parked["track_id"]) == [b.object_id for b in world.scene.static_boxes]
    np.testing.assert_array_equal(parked["vx"], 0.0)
    np.testing.assert_array_equal(parked["vy"], 0.0)
    np.testing.assert_allclose(parked["x"], [b.x_m for b in world.scene.static_boxes], rtol=1e-6)


def world_with(world, *faults) -> SimWorld:
    scenario = dataclasses.replace(world.scenario, faults=tuple(faults))
    return SimWorld(scenario, world.district, world.vehicle)


def delivered(sim: SimWorld, sensor: str, until_s: float) -> list:
    readings = []
    for k in range(1, int(round(until_s / STEP_S)) + 1):
        readings += [r for name, r in sim.sensor_outputs(k * STEP_S, {sensor}) if name == sensor]
    return readings


def test_a_killed_device_sends_nothing_from_the_kill_on(world):
    sim = world_with(world, Fault("imu", "kill", 0.5, None, None))
    stamps = [r.stamp_s for r in delivered(sim, "imu", 1.0)]
    assert stamps and max(stamps) < 0.5


def test_a_killed_device_with_a_duration_comes_back(world):
    sim = world_with(world, Fault("imu", "kill", 0.2, 0.3, None))
    stamps = [r.stamp_s for r in delivered(sim, "imu", 1.0)]
    assert not any(0.2 <= t < 0.5 for t in stamps) and max(stamps) > 0.9


def test_a_gnss_jump_moves_the_measured_position_east(world):
    clean = delivered(world_with(world), "gnss", 1.0)
    jumped = delivered(world_with(world, Fault("gnss", "jump", 0.5, None, 30.0)), "gnss", 1.0)
    shift = [j.position_map_m - c.position_map_m for c, j in zip(clean, jumped) if j.stamp_s >= 0.5]
    assert shift and all(abs(d[0] - 30.0) < 0.5 and abs(d[1]) < 0.5 for d in shift)
