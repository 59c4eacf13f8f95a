"""CarlaWorld and CarlaSession on a duck-typed CARLA (test/carla_sim/fake_carla.py): no server,
no carla wheel."""

import functools
import json

import pytest

from robovan_autonomy.carla_sim.control import load_carla_config
from robovan_autonomy.carla_sim.world import CarlaWorld
from robovan_autonomy.mapping.lanelet_map import load_map
from robovan_autonomy.sim.scenario import load_scenario
from robovan_autonomy.sim.world import STEP_S
from robovan_autonomy.vehicle_params import load_vehicle_params

from .fake_carla import API, FakeClient

CONFIG = load_carla_config()


def make_world(client, scenario_name="corridor_cruise"):
    scenario = load_scenario(scenario_name)
    return CarlaWorld(
        scenario,
        load_map(scenario.map_path),
        load_vehicle_params(),
        None,
        client=client,
        config=CONFIG,
        api=API,
    )


@pytest.fixture
def client():
    return FakeClient()


def test_the_session_ticks_synchronously_at_the_lockstep_step(client):
    world = make_world(client)
    settings = client.world.settings
    assert settings.synchronous_mode and settings.fixed_delta_seconds == STEP_S
    world.close()


def test_closing_destroys_every_actor_and_restores_the_settings(client):
    world = make_world(client)
    world.close()
    assert all(actor.destroyed for actor in client.world.actors)
    assert not client.world.settings.synchronous_mode


def test_an_exception_during_set_up_still_leaves_the_server_as_found(client, monkeypatch):
    def refuse(blueprint, transform, attach_to=None):
        raise RuntimeError("spawn failed")

    spawn = client.world.spawn_actor
    calls = []

    def spawn_twice_then_fail(blueprint, transform, attach_to=None):
        calls.append(blueprint.id)
        return (
            spawn(blueprint, transform, attach_to)
            if len(calls) <= 2
            else refuse(blueprint, transform)
        )

    monkeypatch.setattr(client.world, "spawn_actor", spawn_twice_then_fail)
    with pytest.raises(RuntimeError, match="spawn failed"):
        make_world(client)
    assert [a.destroyed for a in client.world.actors] == [True, True]
    assert not client.world.settings.synchronous_mode


def deliveries(world, ticks):
    names = []
    for tick in range(1, ticks + 1):
        t = round(tick * STEP_S, 9)
        world.advance_actors(t)
        names += [(t, name) for name, _ in world.sensor_outputs(t)]
    return names


def test_a_lidar_scan_is_stitched_from_ten_sweeps_and_delivered_at_10_hz(client):
    world = make_world(client)
    outputs = [t for t, name in deliveries(world, 30) if name == "lidar"]
    world.close()
    assert outputs == [0.1, 0.2, 0.3]


def test_a_late_camera_frame_is_waited_for_and_delivered_at_its_tick(client):
    world = make_world(client)
    client.world.sensor("sensor.camera.rgb").late_s = 0.02
    outputs = [t for t, name in deliveries(world, 10) if name == "camera"]
    world.close()
    assert outputs == [0.01, 0.07]
    assert world.report_extras()["carla"]["missing_frames"]["camera"] == 0


def test_a_missing_imu_frame_is_counted_and_not_delivered(client):
    world = make_world(client)
    world.config = CONFIG.__class__(**{**vars(CONFIG), "sensor_timeout_s": 0.01})
    client.world.sensor("sensor.other.imu").skip_frames = {client.world.frame + 3}
    outputs = [t for t, name in deliveries(world, 5) if name == "imu"]
    world.close()
    assert outputs == [0.01, 0.02, 0.04, 0.05]
    assert world.report_extras()["carla"]["missing_frames"]["imu"] == 1


def test_the_stack_drives_the_van_through_carla_in_a_short_lockstep_run(client, tmp_path):
    """The fake's sensors are no street the stack could localize in or see objects in, so those
    two stages come from ground truth; the command path is the real one: planner, gate, bridge,
    RVN-DBW on CAN, the van ECU, and CarlaPlant's throttle, brake and steer."""
    from robovan_autonomy.tools.simulation import SimOptions, Simulation

    options = SimOptions(
        "corridor_cruise",
        tmp_path,
        time_limit_s=8.0,
        record=False,
        progress=False,
        ground_truth=("localization", "perception"),
    )
    make = functools.partial(CarlaWorld, client=client, config=CONFIG, api=API)
    report = Simulation(options, make_world=make).run()
    written = json.loads((tmp_path / "report.json").read_text())
    assert written["judgement"] == report["judgement"]
    assert report["mode"]["final"] == "AUTONOMOUS"
    assert report["distance_m"] > 5.0
    assert report["collisions"] == []
    assert report["carla"]["missing_frames"] == {"imu": 0, "lidar": 0, "camera": 0}
    assert all(actor.destroyed for actor in client.world.actors)
    assert not client.world.settings.synchronous_mode


def test_a_collision_with_what_only_carla_has_is_a_report_infraction(client):
    import types

    world = make_world(client)
    pole = types.SimpleNamespace(id=10_000, type_id="static.prop.streetbarrier")
    client.world.sensor("sensor.other.collision").callback(
        types.SimpleNamespace(frame=1, other_actor=pole)
    )
    world.close()
    assert world.infractions() == [
        (0.0, "collision_static", {"with": "static.prop.streetbarrier", "source": "carla"})
    ]


def test_a_collision_with_a_scenario_actor_is_left_to_the_reports_own_judge(client):
    import types

    world = make_world(client, "lead_car_hard_brake")
    body = next(iter(world._actor_bodies.values()))
    client.world.sensor("sensor.other.collision").callback(
        types.SimpleNamespace(frame=1, other_actor=body)
    )
    world.close()
    assert world.infractions() == []
    assert world.report_extras()["carla"]["collision_times_s"] == [0.0]
