"""Writes lanelet2_ring.osm with Lanelet2's own Python API (lanelet2.core + lanelet2.io.write).

A foreign map for the loader and router tests from a different tool than the district generator
and the hand-written junction: a one-way ring of two lanes (counter-clockwise; lane changes over
dashed lines on the straights, none on the bends or through the junction), whose bends are drawn
coarsely, three vertices a quarter turn, as hand-mapped bends often are. A two-way side road joins
the ring through an exit and an entry lanelet that carry no subtype; a pedestrian crossing on the
top straight has a traffic light with its stop line; the left straight has a speed_limit
regulatory element from a traffic sign. No sidecar: the origin is given as --origin (ORIGIN).
Rerun to regenerate: `python test/data/maps/write_lanelet2_ring.py`.
"""

from __future__ import annotations

import math
from pathlib import Path

import lanelet2
from lanelet2.core import (
    AttributeMap,
    Lanelet,
    LaneletMap,
    LineString3d,
    Point3d,
    SpeedLimit,
    TrafficLight,
    TrafficSignsWithType,
    getId,
)
from lanelet2.projection import LocalCartesianProjector

ORIGIN = (52.5163, 13.3777, 34.0)  # lat, lon, alt: give as --origin 52.5163,13.3777,34.0
OUT = Path(__file__).resolve().parent / "lanelet2_ring.osm"
LANE_WIDTH_M = 3.5
RING_X_M, RING_Y_M = 120.0, 80.0  # the divider between the two lanes: a rounded rectangle
BEND_RADIUS_M = 15.0  # of the divider
JUNCTION_X_M = (50.0, 70.0)  # where the side road meets the bottom straight
SIDE_ROAD_HALF_WIDTH_M = 3.0


class Builder:
    def __init__(self):
        self.map = LaneletMap()
        self.points: dict[tuple[float, float, float], Point3d] = {}

    def point(self, x: float, y: float, z: float = 0.0) -> Point3d:
        key = (round(x, 3), round(y, 3), round(z, 3))
        if key not in self.points:
            self.points[key] = Point3d(getId(), x, y, z)
        return self.points[key]

    def line(self, xys, **tags) -> LineString3d:
        return LineString3d(getId(), [self.point(*p) for p in xys], AttributeMap(tags))

    def lanelet(self, left: LineString3d, right: LineString3d, **tags) -> Lanelet:
        lanelet = Lanelet(getId(), left, right, AttributeMap(tags))
        self.map.add(lanelet)
        return lanelet


def _ring_pieces():
    """The ring counter-clockwise, cut into (name, shape, divider subtype) pieces. A shape maps a
    lateral offset (left positive, from the divider) to a polyline: a straight, or a bend drawn
    as three vertices on a quarter circle. The straights are cut in two (the bottom one around
    the junction), so lane changes can be had in several places."""
    r, w, h = BEND_RADIUS_M, RING_X_M, RING_Y_M

    def straight(x0, y0, x1, y1):
        length = math.hypot(x1 - x0, y1 - y0)
        nx, ny = -(y1 - y0) / length, (x1 - x0) / length
        return lambda d: [(x0 + d * nx, y0 + d * ny), (x1 + d * nx, y1 + d * ny)]

    def bend(cx, cy, start_deg):  # counter-clockwise, so left is towards the centre
        return lambda d: [
            (cx + (r - d) * math.cos(math.radians(a)), cy + (r - d) * math.sin(math.radians(a)))
            for a in (start_deg, start_deg + 45.0, start_deg + 90.0)
        ]

    j0, j1 = JUNCTION_X_M
    return [
        ("bottom_1", straight(r, 0.0, j0, 0.0), "dashed"),
        ("junction", straight(j0, 0.0, j1, 0.0), "solid"),
        ("bottom_2", straight(j1, 0.0, w - r, 0.0), "dashed"),
        ("bend_se", bend(w - r, r, -90.0), "solid"),
        ("right_1", straight(w, r, w, h / 2), "dashed"),
        ("right_2", straight(w, h / 2, w, h - r), "dashed"),
        ("bend_ne", bend(w - r, h - r, 0.0), "solid"),
        ("top_1", straight(w - r, h, w / 2 + 4.0, h), "dashed"),
        ("top_2", straight(w / 2 + 4.0, h, r, h), "solid"),
        ("bend_nw", bend(r, h - r, 90.0), "solid"),
        ("left_1", straight(0.0, h - r, 0.0, h / 2), "dashed"),
        ("left_2", straight(0.0, h / 2, 0.0, r), "dashed"),
        ("bend_sw", bend(r, r, 180.0), "solid"),
    ]


def build() -> LaneletMap:
    b = Builder()
    curb = {"type": "curbstone", "subtype": "high"}
    pieces = {}
    for name, shape, subtype in _ring_pieces():
        if name == "junction":
            middle, inner, outer = (b.line(shape(d), type="virtual") for d in (0.0, 3.5, -3.5))
        else:
            middle = b.line(shape(0.0), type="line_thin", subtype=subtype)
            inner = b.line(shape(LANE_WIDTH_M), **curb)
            outer = b.line(shape(-LANE_WIDTH_M), **curb)
        limit = {"bottom_1": "30 km/h", "bottom_2": "30 km/h", "right_1": "30", "right_2": "30"}
        tags = {"subtype": "road", **({"speed_limit": limit[name]} if name in limit else {})}
        pieces[name] = (b.lanelet(inner, middle, **tags), b.lanelet(middle, outer, **tags))

    # The side road: one two-way lanelet (drawn northwards) south of the junction, and its exit
    # and entry.
    j0, j1 = JUNCTION_X_M
    x_mid, half = 0.5 * (j0 + j1), SIDE_ROAD_HALF_WIDTH_M
    top_y, bottom_y = -LANE_WIDTH_M - 12.0, -LANE_WIDTH_M - 57.0
    west = b.line([(x_mid - half, bottom_y), (x_mid - half, top_y)], **curb)
    east = b.line([(x_mid + half, bottom_y), (x_mid + half, top_y)], **curb)
    b.lanelet(west, east, subtype="road", one_way="no", speed_limit="20 mph")

    def corner(p0, p1, p2):  # a right-angle turn drawn as a quadratic Bézier, 8 pieces
        return [
            tuple((1 - t) ** 2 * a + 2 * t * (1 - t) * m + t**2 * c for a, m, c in zip(p0, p1, p2))
            for t in (k / 8 for k in range(9))
        ]

    bottom_out = -LANE_WIDTH_M
    exit_left = corner((j0, 0.0), (x_mid + half, 0.0), (x_mid + half, top_y))
    exit_right = corner((j0, bottom_out), (x_mid - half, bottom_out), (x_mid - half, top_y))
    b.lanelet(b.line(exit_left, type="virtual"), b.line(exit_right, type="virtual"))
    entry_left = corner((x_mid - half, top_y), (x_mid - half, 0.0), (j1, 0.0))
    entry_right = corner((x_mid + half, top_y), (x_mid + half, bottom_out), (j1, bottom_out))
    b.lanelet(b.line(entry_left, type="virtual"), b.line(entry_right, type="virtual"))

    # A signalised pedestrian crossing on the top straight, between top_1 and top_2.
    x_cross = RING_X_M / 2
    across = (RING_Y_M - LANE_WIDTH_M, RING_Y_M + LANE_WIDTH_M)
    b.lanelet(
        b.line([(x_cross - 2.0, across[0]), (x_cross - 2.0, across[1])], type="zebra_marking"),
        b.line([(x_cross + 2.0, across[0]), (x_cross + 2.0, across[1])], type="zebra_marking"),
        subtype="crosswalk",
    )
    stop_line = b.line([(x_cross + 5.0, across[0]), (x_cross + 5.0, across[1])], type="stop_line")
    light = b.line(
        [(x_cross + 4.5, across[1] + 0.5, 4.0), (x_cross + 4.5, across[1] + 0.9, 4.0)],
        type="traffic_light",
        subtype="red_yellow_green",
    )
    signal = TrafficLight(getId(), AttributeMap({"subtype": "traffic_light"}), [light], stop_line)
    for lanelet in pieces["top_1"]:
        lanelet.addRegulatoryElement(signal)
    b.map.add(signal)

    # A 20 km/h sign (German de274-20) for the left straight.
    sign = b.line(
        [(-LANE_WIDTH_M - 1.0, RING_Y_M - 20.0, 2.0), (-LANE_WIDTH_M - 1.0, RING_Y_M - 20.6, 2.0)],
        type="traffic_sign",
        subtype="de274-20",
    )
    limit = SpeedLimit(
        getId(),
        AttributeMap({"subtype": "speed_limit"}),
        TrafficSignsWithType([sign], "de274-20"),
    )
    limit.attributes["subtype"] = "speed_limit"  # the constructor tags it a plain traffic_sign
    for name in ("left_1", "left_2"):
        for lanelet in pieces[name]:
            lanelet.addRegulatoryElement(limit)
    b.map.add(limit)
    return b.map


def main() -> None:
    projector = LocalCartesianProjector(lanelet2.io.Origin(*ORIGIN))
    lanelet2.io.write(str(OUT), build(), projector)


if __name__ == "__main__":
    main()
