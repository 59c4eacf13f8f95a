"""The district in OpenDRIVE, as libcarla reads it offline (carla.Map needs no server): its
waypoints lie in the Lanelet2 lanes with their headings, and its topology is the successor graph."""

import math

import numpy as np
import pytest

from robovan_autonomy import cli
from robovan_autonomy.carla_sim.convert import location_to_ros, rotation_to_ros
from robovan_autonomy.mapping.lanelet_map import DEFAULT_MAP_FILE, load_map
from robovan_autonomy.mapping.opendrive import export_xodr

carla = pytest.importorskip("carla")
WAYPOINT_SPACING_M = 2.0
MAX_HEADING_ERROR_RAD = math.radians(5.0)


@pytest.fixture(scope="module")
def district():
    dmap = load_map()
    export = export_xodr(dmap)
    return dmap, export, carla.Map("district", export.xodr)


def test_every_carla_waypoint_lies_in_a_lanelet_heading_its_way(district):
    dmap, _, town = district
    waypoints = town.generate_waypoints(WAYPOINT_SPACING_M)
    assert len(waypoints) > 2000
    for waypoint in waypoints:
        location = waypoint.transform.location
        x, y, _ = location_to_ros([location.x, location.y, location.z])
        yaw = rotation_to_ros(0.0, 0.0, waypoint.transform.rotation.yaw)[2]
        match = dmap.nearest_lane(x, y, yaw)
        assert match is not None, (x, y)
        width = dmap.lanes[match.lanelet_id].width_at(np.array([[x, y]]))[0]
        assert abs(match.lateral_m) <= width / 2, (x, y, match)
        assert abs(match.heading_error_rad) <= MAX_HEADING_ERROR_RAD, (x, y, match)


def test_carla_topology_is_the_lanelet2_successor_graph(district):
    dmap, export, town = district
    lane_of_road = {road: lane for lane, road in export.road_of_lane.items()}
    carla_edges = {
        (lane_of_road[a.road_id], lane_of_road[b.road_id]) for a, b in town.get_topology()
    }
    lanelet_edges = {(lane.id, s) for lane in dmap.lanes.values() for s in lane.successor_ids}
    assert len(lanelet_edges) == 154 and carla_edges == lanelet_edges
    assert export.unlinked == ()


def test_each_intersection_is_a_junction_of_its_connector_lanes(district):
    dmap, export, town = district
    for name, intersection in dmap.intersections.items():
        for lane in intersection.connector_ids:
            waypoint = town.get_waypoint_xodr(export.road_of_lane[lane], -1, 0.5)
            assert (
                waypoint.is_junction
                and waypoint.junction_id == export.junction_of_intersection[name]
            )


def test_map_export_xodr_writes_a_file_carla_reads(tmp_path, capsys):
    out = tmp_path / "district.xodr"
    assert cli.main(["map", "export-xodr", str(DEFAULT_MAP_FILE), "--out", str(out)]) == 0
    assert (
        capsys.readouterr().out
        == f"{out}: 134 roads, 5 junctions, 0 links OpenDRIVE cannot express\n"
    )
    assert len(carla.Map("district", out.read_text()).get_topology()) == 154


def test_map_export_xodr_into_a_missing_folder_says_so(tmp_path, capsys):
    out = tmp_path / "nowhere" / "district.xodr"
    assert cli.main(["map", "export-xodr", str(DEFAULT_MAP_FILE), "--out", str(out)]) == 2
    assert capsys.readouterr().err == (
        f"robovan map export-xodr: cannot write {out}: No such file or directory\n"
    )


def test_carla_geolocates_the_export_at_the_maps_origin(district):
    dmap, _, carla_map = district
    origin = carla_map.transform_to_geolocation(carla.Location(x=0.0, y=0.0, z=0.0))
    assert origin.latitude == pytest.approx(dmap.origin.lat_deg, abs=1e-9)
    assert origin.longitude == pytest.approx(dmap.origin.lon_deg, abs=1e-9)


def test_carla_geolocation_is_mirrored_north_to_south_against_its_own_roads(district):
    """Why the CARLA world synthesises GNSS with our projector: 100 m north in the map is CARLA
    y = -100 (its roads are left-handed), and CARLA's geolocation puts that 100 m south."""
    dmap, _, carla_map = district
    north = location_to_ros(np.array([0.0, -100.0, 0.0]))
    assert north[1] == 100.0
    ours = dmap.to_geodetic(float(north[0]), float(north[1]))[0]
    carlas = carla_map.transform_to_geolocation(carla.Location(x=0.0, y=-100.0, z=0.0)).latitude
    assert ours > dmap.origin.lat_deg
    assert carlas < dmap.origin.lat_deg
    assert carlas - dmap.origin.lat_deg == pytest.approx(dmap.origin.lat_deg - ours, rel=1e-2)
