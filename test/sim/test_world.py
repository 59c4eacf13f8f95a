"""The simulator's world: parked cars are the scene's static boxes, built once, and stay in the
ground-truth object table."""
import numpy as np
import pytest

from robovan_autonomy.config_errors import config_path
from robovan_autonomy.mapping.lanelet_map import load_map
from robovan_autonomy.sim.district_scene import PARKED_CAR_ID_BASE
from robovan_autonomy.sim.scenario import load_scenario
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
