"""Scenario files: the shipped ones are valid against the map, bad ones say file, key and why,
and the README is the one the schema renders."""

import copy

import numpy as np
import pytest
import yaml

from robovan_autonomy.config_errors import ConfigError
from robovan_autonomy.geometry import box_corners, polygons_overlap, transform_points
from robovan_autonomy.mapping.lanelet_map import load_map
from robovan_autonomy.sim.report.inputs import MapFeatures
from robovan_autonomy.sim.scenario import (
    ACTOR_TYPES,
    README_PATH,
    SCENARIO_DIR,
    list_scenarios,
    load_scenario,
    render_readme,
    start_pose_in_map,
    variants,
)
from robovan_autonomy.vehicle_params import load_vehicle_params

SHIPPED = {
    "corridor_cruise",
    "delivery_loop",
    "parked_van_blocking",
    "crosswalk_pedestrian",
    "jaywalker_between_parked_cars",
    "lead_car_hard_brake",
    "cyclist_ahead",
    "gnss_outage_canyon",
    "fault_planner_killed",
    "fault_camera_blackout",
    "fault_lidar_dropout",
    "fault_localization_lost",
    "fault_can_report_loss",
    "fault_imu_nan",
    "fault_clock_jump",
    "pedestrian_sudden_ttc_1_5s",
    "fault_lidar_nan",
    "fault_lidar_freeze",
    "fault_lidar_empty",
    "fault_camera_freeze",
    "fault_camera_black",
    "fault_gnss_nan",
    "fault_clock_backwards",
    "fault_planner_freeze",
    "fault_rogue_command",
    "fault_can_rogue_command",
    "fault_can_report_freeze",
    "double_parked_van_oncoming_traffic",
    "child_steps_out_from_double_parked_van",
    "pedestrian_behind_stopped_bus",
    "car_pulls_out_of_parking_space",
    "stop_and_go_lead",
    "cyclist_overtakes_on_the_right_at_bay",
    "double_parked_van_market_street",
    "traffic_light_red_stop",
    "traffic_light_turns_green",
}
SHORT_SCENARIO_LIMIT_S = 120.0
DELIVERY_LOOP_LIMIT_S = 300.0  # `make sim` stays a five-minute job at real time

VALID = {
    "name": "probe",
    "description": "a valid scenario the error tests break one key at a time",
    "seed": 3,
    "time_limit_s": 60.0,
    "start_pose": {"x": 20.0, "y": -1.75, "yaw": 0.0},
    "mission": [{"bay": "bay_D", "dwell_s": 5.0}, {"bay": "bay_E"}],
    "actors": [
        {"id": "parked", "type": "car", "path": [{"x": 100.0, "y": -4.75}], "yaw": 0.0},
        {
            "id": "walker",
            "type": "pedestrian",
            "speed_mps": 1.4,
            "start": {"van_within_m": 30.0},
            "path": [{"x": 150.0, "y": -8.0}, {"x": 150.0, "y": 8.0}],
        },
        {
            "id": "lead",
            "type": "car",
            "speed_mps": 9.0,
            "brake": {"time_s": 20.0, "decel_mps2": 6.0},
            "path": [{"x": 40.0, "y": -1.75}, {"x": 400.0, "y": -1.75}],
        },
    ],
    "faults": [{"target": "camera", "kind": "drop", "start_s": 10.0, "duration_s": 2.0}],
    "gnss_outages": [{"start_s": 5.0, "duration_s": 10.0}],
}


@pytest.fixture(scope="module")
def district():
    return load_map()


def signal_plan(*phases):
    return {"intersection": "I3", "phases": [{"lights": lights} for lights in phases]}


def write(tmp_path, doc, name="probe"):
    path = tmp_path / f"{name}.yaml"
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False))
    return path


def broken(**changes):
    """VALID with changes applied; a key path like 'actors.1.path.0.x' reaches into lists."""
    doc = copy.deepcopy(VALID)
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        node = doc
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        elif value is DELETE:
            del node[last]
        else:
            node[last] = value
    return doc


DELETE = object()


def rejection(tmp_path, doc, district=None):
    path = write(tmp_path, doc)
    with pytest.raises(ConfigError) as info:
        load_scenario(path, district)
    err = info.value
    assert err.path == path
    assert str(path) in str(err) and err.reason in str(err)
    return err


# --- the shipped scenarios ----------------------------------------------------------------------


def test_the_catalogue_is_shipped():
    assert set(list_scenarios()) == SHIPPED


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_scenario_loads_and_validates_against_the_map(name, district):
    scenario = load_scenario(name, district)
    assert scenario.name == name and scenario.source == SCENARIO_DIR / f"{name}.yaml"
    limit = DELIVERY_LOOP_LIMIT_S if name == "delivery_loop" else SHORT_SCENARIO_LIMIT_S
    assert scenario.time_limit_s <= limit


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_scenario_has_a_lane_route_through_its_stops(name, district):
    vehicle = load_vehicle_params()
    scenario = load_scenario(name, district)
    route = MapFeatures.from_map(district, scenario, vehicle).route_xy
    last_bay = MapFeatures.from_map(district, scenario, vehicle).bays[scenario.mission[-1].bay]
    assert len(route) >= 2
    assert np.hypot(route[-1, 0] - last_bay[0], route[-1, 1] - last_bay[1]) < 4.0


@pytest.mark.parametrize(
    "name, variation",
    [(name, None) for name in sorted(SHIPPED)]
    + [(name, v.id) for name in sorted(SHIPPED) for v in variants(load_scenario(name))],
)
def test_shipped_scenario_actors_start_clear_of_the_van_and_the_parked_cars(
    name, variation, district
):
    vehicle = load_vehicle_params()
    scenario = load_scenario(name, district, variation)
    x, y, yaw = start_pose_in_map(scenario, district, vehicle)
    van = transform_points(vehicle.footprint(), [x], [y], [yaw])
    cars = district.parked_cars
    for actor in scenario.actors:
        first = actor.path[0]
        heading = (
            actor.yaw
            if actor.stationary
            else np.arctan2(actor.path[1].y - first.y, actor.path[1].x - first.x)
        )
        box = box_corners(first.x, first.y, heading, actor.size.length_m, actor.size.width_m)
        assert not polygons_overlap(van, box)[0], actor.id
        parked = box_corners(cars[:, 0], cars[:, 1], cars[:, 2], cars[:, 3], cars[:, 4])
        assert not polygons_overlap(np.repeat(box, len(cars), axis=0), parked).any(), actor.id


def test_readme_is_the_one_the_schema_renders():
    assert README_PATH.read_text() == render_readme(), (
        "regenerate: python -m robovan_autonomy.sim.scenario --write-readme"
    )


def test_a_name_and_its_path_load_the_same_scenario():
    assert load_scenario("delivery_loop") == load_scenario(SCENARIO_DIR / "delivery_loop.yaml")


def test_left_out_keys_take_their_documented_defaults(tmp_path):
    doc = broken(seed=DELETE)
    scenario = load_scenario(write(tmp_path, doc))
    assert (scenario.map, scenario.seed, scenario.arm_autonomy_at_s) == (
        "delivery_district.osm",
        0,
        2.0,
    )
    parked, walker, _ = scenario.actors
    assert (parked.size.length_m, parked.size.width_m) == (
        ACTOR_TYPES["car"].length_m,
        ACTOR_TYPES["car"].width_m,
    )
    assert (
        parked.start.time_s == 0.0
        and walker.start.van_within_m == 30.0
        and walker.start.point is None
    )
    assert scenario.success.expected_outcome == "completed"


# --- every kind of error names file, key path and reason ----------------------------------------


@pytest.mark.parametrize(
    "doc, key, reason",
    [
        (broken(colour="red"), "colour", "unknown key"),
        (
            broken(**{"actors.1.path.1": {"x": 150.0, "y": 8.0, "z": 1.0}}),
            "actors[1].path[1].z",
            "unknown key",
        ),
        (broken(time_limit_s="long"), "time_limit_s", "expected a number"),
        (broken(seed=2.5), "seed", "expected an integer"),
        (broken(mission={"bay": "bay_D"}), "mission", "expected a list"),
        (broken(**{"actors.1.path.0.x": True}), "actors[1].path[0].x", "expected a number"),
        (broken(**{"actors.2.speed_mps": -1.0}), "actors[2].speed_mps", "out of range"),
        (
            broken(**{"actors.2.brake.decel_mps2": 25.0}),
            "actors[2].brake.decel_mps2",
            "out of range",
        ),
        (broken(time_limit_s=float("nan")), "time_limit_s", "finite"),
        (broken(**{"actors.1.path.1.x": float("inf")}), "actors[1].path[1].x", "finite"),
        (broken(**{"actors.0.type": "horse"}), "actors[0].type", "unknown value 'horse'"),
        (broken(time_limit_s=DELETE), "time_limit_s", "missing required key"),
        (
            broken(**{"actors.2.brake": {"time_s": 20.0}}),
            "actors[2].brake.decel_mps2",
            "missing required key",
        ),
        (broken(start_pose={"bay": "bay_D", "x": 1.0}), "start_pose", "exactly one of"),
        (
            broken(**{"actors.1.start": {"time_s": 1.0, "point": {"x": 0.0, "y": 0.0}}}),
            "actors[1].start",
            "exactly one of",
        ),
        (
            broken(
                gnss_outages=[
                    {"start_s": 20.0, "duration_s": 10.0},
                    {"start_s": 5.0, "duration_s": 5.0},
                ]
            ),
            "gnss_outages[1].start_s",
            "times must increase",
        ),
        (
            broken(
                faults=[
                    {"target": "gnss", "kind": "drop", "start_s": 5.0, "duration_s": 10.0},
                    {"target": "gnss", "kind": "nan", "start_s": 12.0},
                ]
            ),
            "faults[1].start_s",
            "times must increase",
        ),
        (
            broken(**{"actors.2.start": {"time_s": 25.0}}),
            "actors[2].brake.time_s",
            "not after the start time",
        ),
        (
            broken(faults=[{"target": "camera", "kind": "jump", "start_s": 1.0, "value": 2.0}]),
            "faults[0].kind",
            "does not apply to camera",
        ),
        (
            broken(faults=[{"target": "lidar", "kind": "delay", "start_s": 1.0}]),
            "faults[0].value",
            "needs a value",
        ),
        (
            broken(faults=[{"target": "clock", "kind": "freeze", "start_s": 1.0}]),
            "faults[0].kind",
            "does not apply to clock",
        ),
        (
            broken(
                faults=[
                    {"target": "control_command", "kind": "rogue", "start_s": 1.0, "value": 20.0}
                ]
            ),
            "faults[0].value",
            "rogue acceleration",
        ),
        (broken(**{"actors.0.speed_mps": 2.0}), "actors[0].speed_mps", "stationary actor"),
        (broken(**{"actors.1.yaw": 1.0}), "actors[1].yaw", "stationary actor"),
        (
            broken(**{"actors.1.path.1": {"x": 150.0, "y": -8.0}}),
            "actors[1].path[1]",
            "closer than",
        ),
        (broken(**{"actors.0.id": "walker"}), "actors[1].id", "duplicate id"),
        (broken(arm_autonomy_at_s=70.0), "arm_autonomy_at_s", "not before time_limit_s"),
        (broken(name="other"), "name", "differs from the file name"),
        (broken(map="atlantis.osm"), "map", "no map"),
        (
            broken(
                gnss_outages=[{"zone": {"x_min": 5.0, "x_max": 1.0, "y_min": 0.0, "y_max": 1.0}}]
            ),
            "gnss_outages[0].zone.x_max",
            "greater than",
        ),
        (["not", "a", "mapping"], "", "expected a mapping"),
        (
            broken(traffic_lights=[{"intersection": "I3"}, {"intersection": "I3"}]),
            "traffic_lights[1].intersection",
            "has a plan already",
        ),
        (
            broken(traffic_lights=[{"intersection": "I3", "amber_s": 2.0}]),
            "traffic_lights[0].amber_s",
            "out of range",
        ),
        (
            broken(traffic_lights=[{"intersection": "I3", "phases": []}]),
            "traffic_lights[0].phases",
            "at least 1 item",
        ),
    ],
)
def test_a_bad_file_is_rejected_naming_the_key_and_the_reason(tmp_path, doc, key, reason):
    err = rejection(tmp_path, doc)
    assert (err.key, reason in err.reason) == (key, True), err


@pytest.mark.parametrize(
    "doc, key, reason",
    [
        (broken(**{"mission.1.bay": "bay_Z"}), "mission[1].bay", "unknown bay name 'bay_Z'"),
        (broken(start_pose={"bay": "depot"}), "start_pose.bay", "unknown bay name 'depot'"),
        (broken(start_pose={"lanelet": 999999, "s": 0.0}), "start_pose.lanelet", "no road lanelet"),
        (broken(start_pose={"lanelet": 13, "s": 80.0}), "start_pose.s", "beyond the end"),
        (
            broken(traffic_lights=[{"intersection": "I1"}]),
            "traffic_lights[0].intersection",
            "not a signalised intersection",
        ),
        (
            broken(traffic_lights=[signal_plan(["I3_west", "I3_east", "I4_west"])]),
            "traffic_lights[0].phases[0].lights[2]",
            "no signal 'I4_west' at I3",
        ),
        (
            broken(traffic_lights=[signal_plan(["I3_west", "I3_south"], ["I3_east", "I3_north"])]),
            "traffic_lights[0].phases",
            "phase 0: I3_west and I3_south cross",
        ),
        (
            broken(traffic_lights=[signal_plan(["I3_west", "I3_east"], ["I3_north"])]),
            "traffic_lights[0].phases",
            "I3_south has no phase",
        ),
    ],
)
def test_names_are_checked_against_the_map_when_one_is_given(tmp_path, district, doc, key, reason):
    load_scenario(write(tmp_path, doc))  # without a map the names are not judged
    err = rejection(tmp_path, doc, district)
    assert (err.key, reason in err.reason) == (key, True), err


def test_a_key_given_twice_is_rejected_with_its_line(tmp_path):
    text = yaml.safe_dump(VALID, sort_keys=False) + "seed: 4\n"
    err = rejection(tmp_path, text)
    assert err.key == "seed" and "duplicate key on line" in err.reason


def test_a_list_used_as_a_key_is_rejected_with_its_line(tmp_path):
    err = rejection(tmp_path, "? [name, seed]\n: probe\n")
    assert err.key == "" and "unhashable key (line 1" in err.reason


def test_a_file_that_is_not_utf8_text_is_rejected(tmp_path):
    path = tmp_path / "probe.yaml"
    path.write_bytes(yaml.safe_dump(VALID).encode("utf-16"))
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    assert info.value.path == path and "not UTF-8 text" in info.value.reason


def test_a_file_with_control_characters_is_rejected(tmp_path):
    err = rejection(tmp_path, "name: probe\x00\x01\n")
    assert err.key == "" and "not valid YAML" in err.reason


def test_text_that_is_not_yaml_is_rejected(tmp_path):
    err = rejection(tmp_path, "name: [unclosed\n")
    assert err.key == "" and "not valid YAML" in err.reason


def test_an_unknown_scenario_name_lists_the_shipped_ones():
    with pytest.raises(ConfigError) as info:
        load_scenario("no_such_scenario")
    assert "no such scenario file" in info.value.reason and "delivery_loop" in info.value.reason
