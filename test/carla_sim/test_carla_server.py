"""Against a real CARLA 0.9.16 server: run only where CARLA_HOST (and CARLA_PORT, default 2000)
names one that answers (`pytest -m carla_server`). No development machine has one, so these have
never run; they are the first server run's checklist (docs/CARLA.md)."""

import functools
import math
import os

import numpy as np
import pytest

from robovan_autonomy.carla_sim.control import load_carla_config
from robovan_autonomy.carla_sim.convert import location_to_ros
from robovan_autonomy.carla_sim.session import CarlaSession, connect
from robovan_autonomy.carla_sim.world import CarlaWorld
from robovan_autonomy.config_errors import StartupError
from robovan_autonomy.mapping.lanelet_map import load_map
from robovan_autonomy.mapping.opendrive import export_xodr
from robovan_autonomy.sim.scenario import load_scenario
from robovan_autonomy.sim.world import STEP_S
from robovan_autonomy.vehicle_params import load_vehicle_params

pytestmark = pytest.mark.carla_server
CONFIG = load_carla_config()
SCENARIO = "corridor_cruise"


@pytest.fixture(scope="module")
def client():
    host = os.environ.get("CARLA_HOST")
    if not host:
        pytest.skip("no CARLA server named: set CARLA_HOST (and CARLA_PORT) to run these")
    try:
        client = connect(host, int(os.environ.get("CARLA_PORT", "2000")), timeout_s=10.0)
    except StartupError as err:
        pytest.skip(str(err))
    scenario = load_scenario(SCENARIO)
    client.generate_opendrive_world(export_xodr(load_map(scenario.map_path)).xodr)
    return client


@pytest.fixture
def world(client):
    scenario = load_scenario(SCENARIO)
    world = CarlaWorld(
        scenario,
        load_map(scenario.map_path),
        load_vehicle_params(),
        None,
        client=client,
        config=CONFIG,
    )
    yield world
    world.close()


def run_ticks(world, seconds: float, through_ecu: bool = True) -> dict[str, list[float]]:
    """Tick the world; the van's plant is stepped by its ECU (which holds it while not engaged)
    or, to test the actuation alone, directly."""
    stamps: dict[str, list[float]] = {}
    start = round(world.t_s / STEP_S)
    for tick in range(start + 1, start + round(seconds / STEP_S) + 1):
        t_s = round(tick * STEP_S, 9)
        world.advance_actors(t_s)
        if through_ecu:
            world.ecu.step(t_s)
        else:
            world.plant.step(STEP_S)
        for name, _ in world.sensor_outputs(t_s):
            stamps.setdefault(name, []).append(t_s)
    return stamps


def test_a_session_ticks_synchronously_and_leaves_the_settings_as_found(client):
    before = client.get_world().get_settings()
    with CarlaSession(client, CONFIG) as session:
        settings = session.world.get_settings()
        assert settings.synchronous_mode and settings.fixed_delta_seconds == STEP_S
    after = client.get_world().get_settings()
    assert after.synchronous_mode == before.synchronous_mode
    assert after.fixed_delta_seconds == before.fixed_delta_seconds


def test_every_sensor_delivers_at_its_datasheet_rate_with_no_frame_missing(world):
    stamps = run_ticks(world, 2.0)
    assert len(stamps["imu"]) == 200
    assert len(stamps["lidar"]) == 20
    assert 29 <= len(stamps["camera"]) <= 31
    assert world.report_extras()["carla"]["missing_frames"] == {"imu": 0, "lidar": 0, "camera": 0}


def test_the_van_settles_on_the_road_at_its_start_pose(world):
    run_ticks(world, 1.0)
    van, scenario = world.van, load_scenario(SCENARIO)
    assert van.speed_mps == pytest.approx(0.0, abs=0.05)
    lane = load_map(scenario.map_path).nearest_lane(van.x_m, van.y_m, van.yaw_rad)
    assert lane is not None, f"the van settled off every lane at ({van.x_m}, {van.y_m})"


def test_pedals_and_wheel_move_the_van_the_way_ros_says(world):
    from robovan_autonomy.vehicle.rvn_dbw import Gear

    world.plant.set_gear(Gear.DRIVE)
    world.plant.command(steer_rad=0.0, accel_mps2=1.0)
    run_ticks(world, 3.0, through_ecu=False)
    assert world.van.speed_mps > 1.5  # forward: throttle, not brake
    world.plant.command(steer_rad=0.3, accel_mps2=0.0)
    run_ticks(world, 1.0, through_ecu=False)
    assert world.van.yaw_rate_radps > 0.05  # a positive (left) wheel angle turns left in ROS


def test_the_servers_district_waypoints_lie_on_our_lanes(client):
    scenario = load_scenario(SCENARIO)
    district = load_map(scenario.map_path)
    waypoints = client.get_world().get_map().generate_waypoints(2.0)
    off = []
    for waypoint in waypoints:
        x, y, _ = location_to_ros(
            np.array([waypoint.transform.location.x, waypoint.transform.location.y, 0.0])
        )
        yaw = -math.radians(waypoint.transform.rotation.yaw)
        if district.nearest_lane(x, y, yaw) is None:
            off.append((x, y))
    assert waypoints and not off, f"{len(off)} of {len(waypoints)} waypoints off our lanes"


def test_a_catalogue_scenario_passes_on_the_exported_district(client, tmp_path):
    from robovan_autonomy.tools.simulation import SimOptions, Simulation

    options = SimOptions(SCENARIO, tmp_path, record=False, progress=False)
    make = functools.partial(CarlaWorld, client=client, config=CONFIG)
    report = Simulation(options, make_world=make).run()
    assert report["judgement"]["passed"], report["judgement"]["failed_criteria"]
