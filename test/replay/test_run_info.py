"""RunInfo: the run's scenario and mission travel in the bag's custom data."""

import pytest

from robovan_autonomy.sim.scenario import load_scenario
from robovan_autonomy.tools.run_info import RUN_INFO_KEY, RunInfo


def test_run_info_round_trips_through_custom_data():
    info = RunInfo.from_scenario(load_scenario("delivery_loop"), ("perception",), seed=7)
    assert RunInfo.from_custom_data(info.custom_data()) == info
    assert info.mission[0] == ("bay_C", 6.0)


def test_bag_without_run_info_gives_none():
    assert RunInfo.from_custom_data({"other": "x"}) is None


def test_malformed_run_info_names_the_key():
    with pytest.raises(ValueError, match=RUN_INFO_KEY):
        RunInfo.from_custom_data({RUN_INFO_KEY: '{"scenario": "x"}'})


def test_node_parameters_give_the_planner_map_and_mission():
    info = RunInfo("s", "delivery_district.osm", (("bay_D", 2.0),))
    planner = info.node_parameters()["planner"]
    assert planner["mission_bays"] == ["bay_D"] and planner["mission_dwell_s"] == [2.0]
    assert planner["map_file"].endswith("config/maps/delivery_district.osm")
