"""`robovan map check` and `robovan map route` on foreign Lanelet2 maps (test/data/maps)."""

import re

from robovan_autonomy import cli

RING_ORIGIN = "52.5163,13.3777,34.0"


def test_check_lists_what_a_foreign_map_holds_and_exits_zero(junction_map, capsys):
    assert cli.main(["map", "check", str(junction_map.path)]) == 0
    out = capsys.readouterr().out
    assert "from hand_junction.yaml" in out
    assert "two-way lanelets: 2301 2302" in out
    assert "2101 -> 2102" in out  # a lane change
    assert "32.19 km/h from tag speed_limit='20 mph': lanes 2203" in out
    assert "7 km/h from Lanelet2's German default for play_street (urban)" in out
    assert re.search(r"traffic_light 3001: ref_line linestring \d+; refers linestring \d+", out)
    assert "delivery bays 0" in out and "problems: none" in out


def test_check_takes_the_origin_from_the_command_line(ring_map, capsys):
    assert cli.main(["map", "check", str(ring_map.path), "--origin", RING_ORIGIN]) == 0
    out = capsys.readouterr().out
    assert "from --origin" in out and "speed_limit 1174" in out


def test_check_without_an_origin_exits_non_zero_naming_the_sidecar(ring_map, capsys):
    assert cli.main(["map", "check", str(ring_map.path)]) == 2
    assert "lanelet2_ring.yaml: map sidecar not found" in capsys.readouterr().err


def test_check_of_a_broken_map_names_the_element_and_exits_non_zero(junction_copy, capsys):
    junction_copy.write_text(junction_copy.read_text().replace('v="20 mph"', 'v="brisk"'))
    assert cli.main(["map", "check", str(junction_copy)]) == 2
    err = capsys.readouterr().err
    assert str(junction_copy) in err and "lanelet 2203" in err and "brisk" in err


def test_check_reports_problems_by_element_id_and_exits_one(junction_copy, capsys):
    text = junction_copy.read_text()
    text = text.replace('<member type="relation" ref="3002" role="regulatory_element"/>', "")
    junction_copy.write_text(text.replace('v="bicycle_lane"', 'v="cycle_lane"', 1))
    assert cli.main(["map", "check", str(junction_copy)]) == 1
    out = capsys.readouterr().out
    assert "regulatory element 3002: no lanelet or area refers to this traffic_light" in out
    assert "lanelet 2501: subtype 'cycle_lane' is none Lanelet2's traffic rules know" in out


def test_route_prints_the_lanelets_and_length(junction_map, capsys):
    assert cli.main(["map", "route", str(junction_map.path), "--from", "2102", "--to", "2301"]) == 0
    out = capsys.readouterr().out
    assert "route from lane 2102 to lane 2301 on hand_junction: 166.2 m through 5 lanelets" in out
    assert re.search(r"2101\s+road\s+lane change", out)


def test_route_in_reverse_along_a_two_way_lanelet(ring_map, capsys):
    side_road = next(i for i in ring_map.lanes if i < 0)
    args = ["--from", str(-side_road), "--to", str(side_road), "--origin", RING_ORIGIN]
    assert cli.main(["map", "route", str(ring_map.path), *args]) == 0


def test_route_that_lanelet2_does_not_find_says_why_and_exits_one(junction_map, capsys):
    args = ["--from", "2111", "--to", "-2302"]
    assert cli.main(["map", "route", str(junction_map.path), *args]) == 1
    err = capsys.readouterr().err
    assert "no path from lane 2111 to lane -2302" in err and "reaches lanes 2201" in err


def test_route_from_a_lanelet_the_van_may_not_drive_says_which_and_why(junction_map, capsys):
    assert cli.main(["map", "route", str(junction_map.path), "--from", "2501", "--to", "2301"]) == 1
    assert "lanelet 2501 (subtype bicycle_lane) is not for vehicles" in capsys.readouterr().err


def test_route_against_a_one_way_lanelet_says_it_is_one_way(junction_map, capsys):
    assert (
        cli.main(["map", "route", str(junction_map.path), "--from", "-2101", "--to", "2301"]) == 1
    )
    assert "lanelet 2101 is one-way: there is no lane -2101" in capsys.readouterr().err
