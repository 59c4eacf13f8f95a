"""The district map as the stack sees it through load_map."""

import math
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from robovan_autonomy.config_errors import ConfigError
from robovan_autonomy.geometry import points_in_polygon, project_on_polyline, resample_polyline
from robovan_autonomy.mapping.lanelet_map import DEFAULT_MAP_FILE, load_map

MIN_LANE_LENGTH_M = 2000.0
MIN_DESIGN_TURN_RADIUS_M = 8.0
CANYON_MIN_LENGTH_M = 150.0
CANYON_MIN_FACADE_HEIGHT_M = 40.0
CORRIDOR_MIN_LENGTH_M = 400.0
ROUND_TRIP_TOLERANCE_M = 0.01
SIDEWALK_MIN_WIDTH_M = 2.5
LANE_HALF_WIDTH_M = 1.75
STOP_LINE_MAX_SETBACK_M = 10.0  # from the intersection box, with a crosswalk in between


@pytest.fixture(scope="module")
def dmap():
    return load_map()


@pytest.fixture
def map_copy(tmp_path):
    """A private copy of the OSM and its sidecar, for breaking."""
    osm = tmp_path / DEFAULT_MAP_FILE.name
    shutil.copy(DEFAULT_MAP_FILE, osm)
    shutil.copy(DEFAULT_MAP_FILE.with_suffix(".yaml"), osm.with_suffix(".yaml"))
    return osm


def _circumradius(a, b, c):
    ab, bc, ca = np.linalg.norm(b - a), np.linalg.norm(c - b), np.linalg.norm(a - c)
    cross = abs((b - a)[0] * (c - a)[1] - (b - a)[1] * (c - a)[0])
    return math.inf if cross < 1e-12 else ab * bc * ca / (2.0 * cross)


def test_lanes_total_at_least_two_kilometres(dmap):
    assert sum(lane.length_m for lane in dmap.lanes.values()) >= MIN_LANE_LENGTH_M


def test_streets_have_35m_lanes_and_30_to_40_kmh_limits(dmap):
    for lane in dmap.lanes.values():
        assert 30.0 / 3.6 - 1e-9 <= lane.speed_limit_mps <= 40.0 / 3.6 + 1e-9
        if not lane.intersection:
            width = np.linalg.norm(lane.left_bound[0] - lane.right_bound[0])
            assert width == pytest.approx(3.5, abs=1e-3)


def test_every_street_lane_has_an_oncoming_lane(dmap):
    street_lanes = [lane for lane in dmap.lanes.values() if not lane.intersection and lane.street]
    assert street_lanes and all(lane.oncoming_id is not None for lane in street_lanes)


def test_at_least_three_intersections_have_stop_lines_and_left_and_right_turns(dmap):
    controlled = [x for x in dmap.intersections.values() if x.stop_line_ids]
    assert len(controlled) >= 3
    for x in controlled:
        turns = {dmap.lanes[i].turn for i in x.connector_ids}
        assert {"left", "right", "straight"} <= turns
        for stop_id in x.stop_line_ids:
            assert dmap.stop_lines[stop_id].lanelet_id in x.approach_ids


def test_two_intersections_are_signalised_with_a_light_on_every_approach(dmap):
    signalised = [x for x in dmap.intersections.values() if x.control == "traffic_lights"]
    assert len(signalised) >= 2
    for x in signalised:
        lights = [dmap.traffic_lights[i] for i in x.traffic_light_ids]
        assert sorted(tl.lanelet_id for tl in lights) == sorted(x.approach_ids)
        assert not x.stop_line_ids  # the signal, not a sign, says when to stop
        assert all(tl.name.startswith(f"{x.name}_") for tl in lights)


def test_each_traffic_light_stop_line_spans_its_approach_lane_near_its_end(dmap):
    for tl in dmap.traffic_lights.values():
        lane = dmap.lanes[tl.lanelet_id]
        width = np.linalg.norm(tl.stop_line[-1] - tl.stop_line[0])
        assert width == pytest.approx(3.5, abs=1e-3)
        s, lateral, _, _ = project_on_polyline(lane.centerline, *tl.stop_line.mean(axis=0))
        assert abs(lateral) < 0.01 and 0.0 < lane.length_m - s < STOP_LINE_MAX_SETBACK_M


def test_signal_heads_stand_at_the_kerb_beside_their_stop_line_above_head_height(dmap):
    for tl in dmap.traffic_lights.values():
        (head,) = tl.heads
        lane = dmap.lanes[tl.lanelet_id]
        _, lateral, _, _ = project_on_polyline(lane.centerline, *head[:, :2].mean(axis=0))
        assert lateral < -LANE_HALF_WIDTH_M  # right of the lane: beside the kerb
        assert np.linalg.norm(head[:, :2].mean(axis=0) - tl.stop_line.mean(axis=0)) < 10.0
        assert np.all(head[:, 2] >= 2.0)


def test_turning_lanes_have_at_least_the_design_radius(dmap):
    for lane in dmap.lanes.values():
        c = resample_polyline(lane.centerline, 1.0)
        radii = [_circumradius(c[i], c[i + 2], c[i + 4]) for i in range(len(c) - 4)]
        assert min(radii, default=math.inf) >= MIN_DESIGN_TURN_RADIUS_M - 0.05, lane.id


def test_routing_graph_reaches_every_lane_from_every_lane(dmap):
    layer = dmap.lanelet_map.laneletLayer
    for lane_id in list(dmap.lanes)[::20]:
        reachable = dmap.routing_graph.reachableSet(layer[lane_id], 1e9, 0, False)
        assert {ll.id for ll in reachable} == set(dmap.lanes)


def test_crosswalks_span_the_street_at_intersections(dmap):
    assert len(dmap.crosswalks) >= 3
    for cw in dmap.crosswalks.values():
        crossing = np.linalg.norm(cw.left_bound[-1] - cw.left_bound[0])
        assert crossing >= 7.0 - 1e-6
        centre = cw.polygon.mean(axis=0)
        assert min(np.linalg.norm(x.centre - centre) for x in dmap.intersections.values()) < 20.0


def test_every_bay_lies_right_of_its_lane_beside_the_right_bound(dmap):
    assert len(dmap.bays) >= 4 and all(name.startswith("bay_") for name in dmap.bays)
    for bay in dmap.bays.values():
        lane = dmap.lanes[bay.lanelet_id]
        assert bay.length_m == pytest.approx(12.0, abs=0.01)
        _, lateral, _, _ = project_on_polyline(lane.centerline, *bay.bay_pose[:2])
        assert lateral < -1.75
        gap = min(project_on_polyline(lane.right_bound, *corner)[2] for corner in bay.polygon)
        assert gap < 0.01


def test_kerbside_strip_before_and_after_each_bay_is_kept_free_of_parked_cars(dmap):
    """A van pulls into a bay forwards on a ~12 m ramp whose body enters the strip ~10 m before
    the bay, and pulls out forwards past its far end."""
    min_pull_in_m, min_pull_out_m = 10.0, 4.0
    for bay in dmap.bays.values():
        assert bay.approach_m >= min_pull_in_m and bay.exit_m >= min_pull_out_m, bay.name
        x, y, yaw = bay.bay_pose
        rel = dmap.parked_cars[:, :2] - (x, y)
        along = rel @ np.array([math.cos(yaw), math.sin(yaw)])
        across = rel @ np.array([-math.sin(yaw), math.cos(yaw)])
        half_car = dmap.parked_cars[:, 3] / 2.0
        in_strip = np.abs(across) < bay.width_m / 2.0
        overlaps = (along + half_car > -bay.length_m / 2.0 - bay.approach_m) & (
            along - half_car < bay.length_m / 2.0 + bay.exit_m
        )
        assert not np.any(in_strip & overlaps), bay.name


def test_parked_cars_stand_off_the_driving_lanes(dmap):
    assert len(dmap.parked_cars) > 0
    centres = dmap.parked_cars[:, :2]
    for lane in dmap.lanes.values():
        polygon = np.vstack([lane.left_bound, lane.right_bound[::-1]])
        assert not points_in_polygon(centres, polygon).any(), lane.id
    assert np.all(dmap.parked_cars[:, 3:] > 0.0)


def test_curbs_are_closed_loops_015m_high(dmap):
    assert dmap.curbs and all(c.closed and c.height_m == pytest.approx(0.15) for c in dmap.curbs)


def test_buildings_are_set_back_from_the_kerb_behind_a_sidewalk(dmap):
    kerb_points = np.vstack([c.points for c in dmap.curbs])
    for building in dmap.buildings:
        assert building.height_m > 0.0
        nearest = min(
            np.linalg.norm(kerb_points - corner, axis=1).min() for corner in building.polygon
        )
        assert nearest >= SIDEWALK_MIN_WIDTH_M


def test_road_surface_is_the_outer_kerb_with_the_blocks_as_holes(dmap):
    assert len(dmap.road_surface) == 1
    surface = dmap.road_surface[0]
    assert len(surface.holes) == len(dmap.curbs) - 1
    lane_points = np.vstack([lane.centerline for lane in dmap.lanes.values()])
    assert points_in_polygon(lane_points, surface.outer).all()
    for hole in surface.holes:
        assert not points_in_polygon(lane_points, hole).any()


def test_markings_include_lines_stop_lines_and_zebra_stripes(dmap):
    kinds = {m.kind for m in dmap.markings}
    assert {"solid", "dashed", "stop_line", "crosswalk_stripe"} <= kinds


def test_canyon_is_long_and_lined_with_tall_buildings_on_both_sides(dmap):
    canyon = dmap.zones["canyon"]
    assert canyon.length_m >= CANYON_MIN_LENGTH_M
    xmin, ymin, xmax, ymax = canyon.bbox
    centre_x = (xmin + xmax) / 2.0
    for side in (-1.0, 1.0):
        facing = [
            b
            for b in dmap.buildings
            if np.abs(b.polygon[:, 0] - centre_x).min() < 10.0
            and np.sign(b.polygon[:, 0].mean() - centre_x) == side
            and b.polygon[:, 1].max() > ymin
            and b.polygon[:, 1].min() < ymax
        ]
        covered = sum(
            min(b.polygon[:, 1].max(), ymax) - max(b.polygon[:, 1].min(), ymin) for b in facing
        )
        assert covered >= 0.8 * (ymax - ymin)
        assert all(b.height_m >= CANYON_MIN_FACADE_HEIGHT_M for b in facing)


def test_corridor_is_one_straight_stretch_without_stops(dmap):
    corridor = dmap.zones["corridor"]
    assert corridor.length_m >= CORRIDOR_MIN_LENGTH_M
    ys = np.concatenate([dmap.lanes[i].centerline[:, 1] for i in corridor.lanelet_ids])
    assert np.ptp(np.abs(ys)) < 1e-3
    stop_lanes = {s.lanelet_id for s in dmap.stop_lines.values()}
    assert not stop_lanes & set(corridor.lanelet_ids)


def test_geodetic_round_trip_is_within_a_centimetre(dmap):
    for x, y in [(0.0, 0.0), (440.0, 360.0), (-50.0, 400.0), (250.0, -30.0)]:
        lat, lon, alt = dmap.to_geodetic(x, y)
        back = dmap.to_map(lat, lon, alt)
        assert math.hypot(back[0] - x, back[1] - y) < ROUND_TRIP_TOLERANCE_M


def test_to_map_agrees_with_the_lat_lon_written_in_the_osm(dmap):
    nodes = ET.parse(dmap.path).getroot().findall("node")
    for node in nodes[:: max(1, len(nodes) // 50)]:
        ele = float(next(t.get("v") for t in node.findall("tag") if t.get("k") == "ele"))
        x, y = dmap.to_map(float(node.get("lat")), float(node.get("lon")), ele)
        point = dmap.lanelet_map.pointLayer[int(node.get("id"))]
        assert math.hypot(point.x - x, point.y - y) < ROUND_TRIP_TOLERANCE_M


def test_nearest_lane_tells_the_two_directions_apart(dmap):
    eastbound = dmap.nearest_lane(100.0, -1.75, 0.0)
    westbound = dmap.nearest_lane(100.0, -1.75, math.pi)
    assert eastbound.distance_m < 1e-3 and dmap.lanes[eastbound.lanelet_id].street == "Harbour Road"
    assert dmap.lanes[westbound.lanelet_id].oncoming_id == eastbound.lanelet_id


def test_nearest_lane_is_none_inside_a_block(dmap):
    assert dmap.nearest_lane(100.0, 80.0, 0.0) is None


def test_point_map_samples_kerbs_and_facades_up_to_their_heights(dmap):
    cloud = dmap.point_map(1.0)
    assert cloud.shape[1] == 3 and not cloud.flags.writeable
    tallest = max(b.height_m for b in dmap.buildings)
    assert cloud[:, 2].min() == 0.0 and cloud[:, 2].max() == pytest.approx(tallest)
    kerb = cloud[np.isclose(cloud[:, 2], 0.15)]
    assert len(kerb) > 0
    assert dmap.point_map(1.0, max_height_m=10.0)[:, 2].max() == pytest.approx(10.0)


def test_load_map_is_shared_within_a_process(dmap):
    assert load_map() is dmap


def test_missing_osm_raises_config_error_naming_the_file(tmp_path):
    missing = tmp_path / "nowhere.osm"
    with pytest.raises(ConfigError) as err:
        load_map(missing)
    assert err.value.path == missing and "nowhere.osm" in str(err.value)


def test_truncated_osm_raises_config_error_naming_the_file(map_copy):
    map_copy.write_bytes(map_copy.read_bytes()[:5000])
    with pytest.raises(ConfigError) as err:
        load_map(map_copy)
    assert err.value.path == map_copy and map_copy.name in str(err.value)


def test_osm_without_lanelets_raises_config_error(map_copy):
    map_copy.write_text('<?xml version="1.0"?>\n<osm version="0.6" generator="lanelet2"></osm>\n')
    with pytest.raises(ConfigError) as err:
        load_map(map_copy)
    assert err.value.path == map_copy and err.value.key == "lanelets"


def test_missing_sidecar_raises_config_error_naming_it(map_copy):
    map_copy.with_suffix(".yaml").unlink()
    with pytest.raises(ConfigError) as err:
        load_map(map_copy)
    assert err.value.path == map_copy.with_suffix(".yaml")


def test_sidecar_with_a_bad_latitude_names_the_key(map_copy):
    sidecar = map_copy.with_suffix(".yaml")
    sidecar.write_text(sidecar.read_text().replace("lat_deg: 52.5125", "lat_deg: north"))
    with pytest.raises(ConfigError) as err:
        load_map(map_copy)
    assert err.value.path == sidecar and err.value.key == "origin.lat_deg"


def test_sidecar_with_an_unknown_projector_names_the_key(map_copy):
    sidecar = map_copy.with_suffix(".yaml")
    sidecar.write_text(sidecar.read_text().replace("projector: LocalCartesian", "projector: Mars"))
    with pytest.raises(ConfigError) as err:
        load_map(map_copy)
    assert err.value.key == "projector"
