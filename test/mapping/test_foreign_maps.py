"""Lanelet2 maps from elsewhere, tagged per the Lanelet2 documentation, as load_map reads them
(test/data/maps: a hand-written junction with a sidecar, a ring written by Lanelet2's own API)."""

import math
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from lanelet2.core import TrafficLight

from robovan_autonomy.config_errors import ConfigError
from robovan_autonomy.mapping.lanelet_map import KMH_PER_MPS, GeodeticOrigin, load_map

ROUND_TRIP_TOLERANCE_M = 0.01


def _kmh(dmap, lane_id):
    return dmap.lanes[lane_id].speed_limit_mps * KMH_PER_MPS


def test_two_way_lanelet_is_a_lane_each_way(junction_map):
    forward, reverse = junction_map.lanes[2301], junction_map.lanes[-2301]
    np.testing.assert_array_equal(reverse.centerline, forward.centerline[::-1])
    assert 2413 in reverse.successor_ids and 2302 in forward.successor_ids
    assert junction_map.lanelet(-2301).inverted() and junction_map.lanelet(-2301).id == 2301


def test_lanelets_not_for_vehicles_are_no_lanes(junction_map, ring_map):
    assert not {2501, 2502, 2601} & set(junction_map.lanes)  # bicycle lanes, walkway
    assert set(ring_map.crosswalks) and not set(ring_map.crosswalks) & set(ring_map.lanes)


def test_vehicle_lanelets_of_other_subtypes_are_lanes(junction_map, ring_map):
    assert junction_map.lanelet(2302).attributes["subtype"] == "play_street"
    assert {2302, -2302} <= set(junction_map.lanes)
    untagged = [i for i in ring_map.lanes if "subtype" not in ring_map.lanelet(i).attributes]
    assert len(untagged) == 2  # the side road's exit and entry


def test_speed_limit_with_a_unit_is_read_as_lanelet2_reads_it(junction_map):
    assert _kmh(junction_map, 2203) == pytest.approx(20 * 1.609344)  # '20 mph'
    assert _kmh(junction_map, 2101) == pytest.approx(30.0)  # '30 km/h'
    assert _kmh(junction_map, 2103) == pytest.approx(30.0)  # '30': km/h


def test_lanelet_without_speed_limit_gets_lanelet2s_german_default(junction_map):
    assert _kmh(junction_map, 2201) == pytest.approx(50.0)  # urban road
    assert _kmh(junction_map, 2302) == pytest.approx(7.0)  # play street


def test_speed_limit_regulatory_element_sets_the_limit(ring_map):
    limited = [
        i
        for i in ring_map.lanes
        if any(
            r.attributes["subtype"] == "speed_limit" for r in ring_map.lanelet(i).regulatoryElements
        )
    ]
    assert len(limited) == 4 and all(_kmh(ring_map, i) == pytest.approx(20.0) for i in limited)


def test_lane_changes_are_those_the_lane_markings_allow(junction_map):
    graph, lanelet = junction_map.routing_graph, junction_map.lanelet
    assert graph.left(lanelet(2102)).id == 2101  # dashed line_thin
    assert graph.left(lanelet(2112)) is None  # solid before the junction
    assert junction_map.lanes[2112].left_id == 2111  # still beside it


def test_traffic_lights_load_as_regulatory_elements_not_as_full_stops(junction_map):
    lights = [r for r in junction_map.lanelet_map.regulatoryElementLayer]
    assert len(lights) == 3 and all(isinstance(r, TrafficLight) and r.stopLine for r in lights)
    assert junction_map.stop_lines == {}


def test_a_map_without_optional_layers_has_them_empty(junction_map):
    assert junction_map.bays == {} and junction_map.parked_cars.shape == (0, 6)
    assert junction_map.zones == {} and junction_map.intersections == {}
    assert junction_map.buildings == ()


def test_origin_given_places_the_map_as_its_writer_projected_it(ring_map):
    nodes = ET.parse(ring_map.path).getroot().findall("node")
    for node in nodes[:: max(1, len(nodes) // 30)]:
        point = ring_map.lanelet_map.pointLayer[int(node.get("id"))]
        x, y = ring_map.to_map(float(node.get("lat")), float(node.get("lon")), point.z)
        assert math.hypot(point.x - x, point.y - y) < ROUND_TRIP_TOLERANCE_M


def test_origin_given_takes_precedence_over_the_sidecar(junction_map):
    moved = load_map(junction_map.path, GeodeticOrigin(49.0069, 8.4037 - 0.001, 115.0))
    dx = moved.lanes[2101].centerline[0, 0] - junction_map.lanes[2101].centerline[0, 0]
    assert dx == pytest.approx(1e-3 * 111320 * math.cos(math.radians(49.0069)), rel=0.01)


def test_map_without_sidecar_or_origin_raises_config_error_naming_the_sidecar(ring_map):
    with pytest.raises(ConfigError, match="--origin") as err:
        load_map(ring_map.path)
    assert err.value.path == ring_map.path.with_suffix(".yaml")


def test_sidecar_without_map_name_names_the_map_after_its_file(junction_map):
    assert junction_map.name == "hand_junction"


def test_unreadable_speed_limit_raises_config_error_naming_the_lanelet(junction_copy):
    junction_copy.write_text(junction_copy.read_text().replace('v="20 mph"', 'v="brisk"'))
    with pytest.raises(ConfigError, match="brisk") as err:
        load_map(junction_copy)
    assert err.value.path == junction_copy and err.value.key == "lanelet 2203"


def test_two_way_lanelet_whose_reverse_id_is_taken_raises_config_error(junction_copy):
    junction_copy.write_text(
        junction_copy.read_text().replace('<relation id="2401">', '<relation id="-2301">')
    )
    with pytest.raises(ConfigError, match="-2301") as err:
        load_map(junction_copy)
    assert err.value.key == "lanelet 2301"


def test_broken_reference_raises_config_error_naming_the_element(junction_copy):
    junction_copy.write_text(
        junction_copy.read_text().replace(
            '<member type="way" ref="1001"', '<member type="way" ref="9999"'
        )
    )
    with pytest.raises(ConfigError, match="3001") as err:
        load_map(junction_copy)
    assert err.value.path == junction_copy and "9999" in str(err.value)
