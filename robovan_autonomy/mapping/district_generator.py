"""Procedural Lanelet2 map of the robovan's urban delivery district.

The district is declared as a small street grid (the tables below) and turned into Lanelet2
primitives by plain geometry. Every street is two-way with one lane per direction. Every node where
streets meet gets a square intersection box whose turning lanelets are quarter circles centred on
the box corners, so right turns run on radius INTERSECTION_HALF_SIZE_M - LANE_WIDTH_M / 2 and left
turns on INTERSECTION_HALF_SIZE_M + LANE_WIDTH_M / 2, and the kerb corners are concentric with them.
Nothing is random: ids are handed out in declaration order, so rerunning the generator writes
byte-identical files and a map change reviews as a diff.

    python -m robovan_autonomy.mapping.district_generator --out config/maps/
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import math
from pathlib import Path

import lanelet2
import numpy as np
import yaml
from lanelet2.core import (
    Area,
    AttributeMap,
    Lanelet,
    LaneletMap,
    LineString3d,
    Point3d,
    Polygon3d,
    RightOfWay,
    TrafficLight,
)

MAP_NAME = "delivery_district"
PROJECTOR_NAME = "LocalCartesian"
# Geodetic origin of the map frame (an inner-city latitude, so the local ENU frame is realistic).
ORIGIN_LAT_DEG = 52.5125
ORIGIN_LON_DEG = 13.4205
ORIGIN_ALT_M = 38.0

LANE_WIDTH_M = 3.5
PARKING_STRIP_WIDTH_M = 2.5  # kerbside strip for parked cars and delivery bays
SIDEWALK_WIDTH_M = 3.0
CURB_HEIGHT_M = 0.15
# Half the side of every intersection box: right turns get radius 10 - 1.75 = 8.25 m, which keeps
# the design minimum below with margin over the van's own 4.4 m (wheelbase 3.0 m, steer 0.6 rad).
INTERSECTION_HALF_SIZE_M = 10.0
MIN_DESIGN_TURN_RADIUS_M = 8.0
MAX_LANELET_LENGTH_M = 50.0  # long streets are split so a blockage closes ~50 m, not a street
ARC_VERTEX_SPACING_M = 0.5  # chord between arc vertices, so polylines follow the circle
CROSSWALK_GAP_M = 1.0  # box edge to the crosswalk's near edge
CROSSWALK_WIDTH_M = 4.0  # along the road
STOP_LINE_GAP_M = 1.0  # crosswalk's far edge to the stop line
STOP_SIGN_HEIGHT_M = 2.0  # bottom edge of the sign plate above ground
STOP_SIGN_PLATE_M = 0.6
# Signal heads stand on a pole at the kerb beside the stop line (near-side signals, as in Germany):
# the housing's bottom edge this high, a three-lamp housing this wide and tall.
SIGNAL_HEIGHT_M = 2.5
SIGNAL_WIDTH_M = 0.3
SIGNAL_HOUSING_HEIGHT_M = 0.9
BAY_LENGTH_M = 12.0
PARKED_SLOT_PITCH_M = 7.0
NO_PARKING_FROM_BOX_M = 20.0  # keeps crosswalks, stop lines and corner sight lines clear
# Kerbside strip kept free of parked cars before each delivery bay, m: a van pulling in forward
# shifts 3 m sideways on a ~12 m ramp (radius 10 m at its peak) and its body enters the strip about
# 10 m before the bay; the rest is the planner's clearance to the car parked there.
BAY_APPROACH_M = 12.0
# Kerbside strip kept free after each bay, m: pulling out forward, the van's front corner stays in
# the strip until about 4 m past the bay's far end.
BAY_EXIT_M = 6.0
# Kerbside slots, cycled along every strip that has parked cars: 0 free, 1 car, 2 van.
PARKED_SLOT_PATTERN = "1101201100210110"
PARKED_VEHICLE_DIMS_M = {"1": (4.5, 1.8, 1.5), "2": (5.4, 2.0, 2.3)}  # length, width, height
BUILDING_DEPTH_M = 18.0
LOT_FRONTAGES_M = (24.0, 30.0, 18.0, 27.0, 21.0, 33.0)
MIN_LOT_FRONTAGE_M = 10.0  # a shorter remainder joins the previous lot
ALLEY_EVERY_N_LOTS = 4
ALLEY_WIDTH_M = 4.0

Vec = tuple[float, float]


@dataclasses.dataclass(frozen=True)
class Street:
    name: str
    nodes: tuple[Vec, ...]  # in the street's forward direction
    speed_limit_kmh: int
    parking_strip: bool  # a kerbside strip on both sides
    parked_cars: bool
    facade_heights_m: tuple[float, ...]
    zone: str = ""  # named scenario region: 'corridor', 'canyon'

    @property
    def half_width_m(self) -> float:
        """Street centreline to kerb."""
        return LANE_WIDTH_M + (PARKING_STRIP_WIDTH_M if self.parking_strip else 0.0)


@dataclasses.dataclass(frozen=True)
class Junction:
    name: str
    node: Vec
    # 'x' / 'y': the through street along that axis has right of way and the side street stops;
    # 'traffic_lights': a signal on every approach.
    control: str

    @property
    def priority_axis(self) -> str | None:
        return self.control if self.control in ("x", "y") else None


@dataclasses.dataclass(frozen=True)
class BaySpec:
    name: str
    street: str
    segment: int  # index of the node-to-node segment along the street
    forward: bool  # beside the lane driving in the street's forward direction
    piece: int  # lanelet index along that lane, in travel order


LOW_RISE_M = (9.0, 12.0, 15.0, 10.0, 13.0)
MID_RISE_M = (15.0, 21.0, 18.0, 24.0, 12.0, 27.0)
CANYON_RISE_M = (48.0, 55.0, 42.0, 60.0, 51.0)

STREETS = (
    Street(
        "Harbour Road",
        ((0.0, 0.0), (220.0, 0.0), (440.0, 0.0)),
        speed_limit_kmh=40,
        parking_strip=True,
        parked_cars=False,
        facade_heights_m=LOW_RISE_M,
        zone="corridor",
    ),
    Street(
        "Market Street",
        ((0.0, 170.0), (220.0, 170.0), (440.0, 170.0)),
        speed_limit_kmh=40,
        parking_strip=True,
        parked_cars=True,
        facade_heights_m=MID_RISE_M,
    ),
    Street(
        "North Street",
        ((0.0, 360.0), (220.0, 360.0), (440.0, 360.0)),
        speed_limit_kmh=30,
        parking_strip=True,
        parked_cars=False,
        facade_heights_m=MID_RISE_M,
    ),
    Street(
        "West Street",
        ((0.0, 0.0), (0.0, 170.0), (0.0, 360.0)),
        speed_limit_kmh=30,
        parking_strip=True,
        parked_cars=True,
        facade_heights_m=MID_RISE_M,
    ),
    Street(
        "East Street",
        ((440.0, 0.0), (440.0, 170.0), (440.0, 360.0)),
        speed_limit_kmh=30,
        parking_strip=True,
        parked_cars=False,
        facade_heights_m=MID_RISE_M,
    ),
    Street(
        "Centre Street",
        ((220.0, 0.0), (220.0, 170.0)),
        speed_limit_kmh=30,
        parking_strip=True,
        parked_cars=True,
        facade_heights_m=MID_RISE_M,
    ),
    Street(
        "Canyon Lane",
        ((220.0, 170.0), (220.0, 360.0)),
        speed_limit_kmh=30,
        parking_strip=False,
        parked_cars=False,
        facade_heights_m=CANYON_RISE_M,
        zone="canyon",
    ),
)

# Market Street is the signalised corridor: the delivery round crosses both of its signals.
JUNCTIONS = (
    Junction("I1", (220.0, 0.0), control="x"),
    Junction("I2", (0.0, 170.0), control="y"),
    Junction("I3", (220.0, 170.0), control="traffic_lights"),
    Junction("I4", (440.0, 170.0), control="traffic_lights"),
    Junction("I5", (220.0, 360.0), control="x"),
)

BAYS = (
    BaySpec("bay_A", "Market Street", segment=0, forward=True, piece=1),
    BaySpec("bay_B", "Market Street", segment=1, forward=False, piece=2),
    BaySpec("bay_C", "Centre Street", segment=0, forward=True, piece=1),
    BaySpec("bay_D", "Harbour Road", segment=1, forward=True, piece=3),
    BaySpec("bay_E", "East Street", segment=1, forward=True, piece=1),
    BaySpec("bay_F", "North Street", segment=0, forward=False, piece=2),
    BaySpec("bay_G", "West Street", segment=0, forward=False, piece=1),
    BaySpec("bay_H", "North Street", segment=1, forward=True, piece=1),
)


# --- small plane geometry ---------------------------------------------------------------------


def _add(*vectors: Vec) -> Vec:
    return (sum(v[0] for v in vectors), sum(v[1] for v in vectors))


def _scale(v: Vec, k: float) -> Vec:
    return (v[0] * k, v[1] * k)


def _right_normal(heading: Vec) -> Vec:
    return (heading[1], -heading[0])


def _unit(a: Vec, b: Vec) -> tuple[Vec, float]:
    length = math.hypot(b[0] - a[0], b[1] - a[1])
    return ((b[0] - a[0]) / length, (b[1] - a[1]) / length), length


def _arc(centre: Vec, start: Vec, sweep_rad: float, steps: int) -> list[Vec]:
    """Points from `start` around `centre` by `sweep_rad` (positive = counter-clockwise)."""
    radius = math.hypot(start[0] - centre[0], start[1] - centre[1])
    a0 = math.atan2(start[1] - centre[1], start[0] - centre[0])
    return [
        (
            centre[0] + radius * math.cos(a0 + sweep_rad * k / steps),
            centre[1] + radius * math.sin(a0 + sweep_rad * k / steps),
        )
        for k in range(steps + 1)
    ]


def _arc_steps(radius_m: float, sweep_rad: float) -> int:
    return max(2, math.ceil(abs(sweep_rad) * radius_m / ARC_VERTEX_SPACING_M))


def rounded_rectangle(
    xmin: float, ymin: float, xmax: float, ymax: float, radii: tuple[float, float, float, float]
) -> list[Vec]:
    """Closed counter-clockwise outline; radii for the SW, SE, NE, NW corners."""
    r_sw, r_se, r_ne, r_nw = radii
    corners = (
        ((xmax - r_se, ymin + r_se), (xmax - r_se, ymin), r_se),
        ((xmax - r_ne, ymax - r_ne), (xmax, ymax - r_ne), r_ne),
        ((xmin + r_nw, ymax - r_nw), (xmin + r_nw, ymax), r_nw),
        ((xmin + r_sw, ymin + r_sw), (xmin, ymin + r_sw), r_sw),
    )
    outline: list[Vec] = [(xmin + r_sw, ymin)]
    for centre, start, radius in corners:
        outline += _arc(centre, start, math.pi / 2, _arc_steps(radius, math.pi / 2))
    return outline  # the last arc ends on the first point, which closes the loop


# --- the network as plain data ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Segment:
    street: Street
    index: int
    start: Vec
    end: Vec

    @property
    def heading(self) -> Vec:
        return _unit(self.start, self.end)[0]

    @property
    def length_m(self) -> float:
        return _unit(self.start, self.end)[1]

    def piece_edges(self) -> np.ndarray:
        """Distances from `start` where the lane is cut into lanelets (box edge to box edge)."""
        usable = self.length_m - 2.0 * INTERSECTION_HALF_SIZE_M
        count = math.ceil(usable / MAX_LANELET_LENGTH_M)
        return np.linspace(
            INTERSECTION_HALF_SIZE_M, self.length_m - INTERSECTION_HALF_SIZE_M, count + 1
        )

    def bay_span(self, spec: BaySpec) -> tuple[float, float]:
        """Distances from `start` covered by a bay centred in its lanelet."""
        edges = self.piece_edges()
        pieces = list(zip(edges[:-1], edges[1:]))
        lo, hi = pieces[spec.piece] if spec.forward else pieces[len(pieces) - 1 - spec.piece]
        centre = (lo + hi) / 2.0
        return centre - BAY_LENGTH_M / 2.0, centre + BAY_LENGTH_M / 2.0


def segments() -> list[Segment]:
    return [
        Segment(street, i, a, b)
        for street in STREETS
        for i, (a, b) in enumerate(zip(street.nodes[:-1], street.nodes[1:]))
    ]


def node_legs() -> dict[Vec, dict[Vec, Segment]]:
    """For every node: outward heading of each leg → its segment."""
    legs: dict[Vec, dict[Vec, Segment]] = {}
    for seg in segments():
        h = seg.heading
        legs.setdefault(seg.start, {})[h] = seg
        legs.setdefault(seg.end, {})[_scale(h, -1.0)] = seg
    return legs


def _bay_segment(spec: BaySpec) -> Segment:
    return next(s for s in segments() if s.street.name == spec.street and s.index == spec.segment)


def bay_corners(spec: BaySpec) -> list[Vec]:
    """Rear-left (on the lane edge), front-left, front-right (kerb), rear-right, in travel order."""
    seg = _bay_segment(spec)
    lo, hi = seg.bay_span(spec)
    travel = seg.heading if spec.forward else _scale(seg.heading, -1.0)
    side = _right_normal(travel)
    rear_d, front_d = (lo, hi) if spec.forward else (hi, lo)
    rear = _add(seg.start, _scale(seg.heading, rear_d))
    front = _add(seg.start, _scale(seg.heading, front_d))
    inner, outer = _scale(side, LANE_WIDTH_M), _scale(side, LANE_WIDTH_M + PARKING_STRIP_WIDTH_M)
    return [_add(rear, inner), _add(front, inner), _add(front, outer), _add(rear, outer)]


def grid_cells() -> list[tuple[float, float, float, float]]:
    xs = sorted({n[0] for s in STREETS for n in s.nodes})
    ys = sorted({n[1] for s in STREETS for n in s.nodes})
    return [(x0, y0, x1, y1) for y0, y1 in zip(ys[:-1], ys[1:]) for x0, x1 in zip(xs[:-1], xs[1:])]


def _street_between(a: Vec, b: Vec) -> Street:
    """The (straight) street running along the grid edge a-b."""
    for street in STREETS:
        first, last = street.nodes[0], street.nodes[-1]
        h, length = _unit(first, last)
        along = [(p[0] - first[0]) * h[0] + (p[1] - first[1]) * h[1] for p in (a, b)]
        off = [abs((p[0] - first[0]) * h[1] - (p[1] - first[1]) * h[0]) for p in (a, b)]
        if max(off) < 1e-6 and min(along) > -1e-6 and max(along) < length + 1e-6:
            return street
    raise ValueError(f"no street along {a} - {b}: every grid cell must be enclosed by streets")


# --- Lanelet2 writing ---------------------------------------------------------------------------


class _MapBuilder:
    """Hands out ids in call order and shares one Point3d per coordinate, so that lanelets meeting
    at a box edge share boundary points (which is how the routing graph finds successors)."""

    def __init__(self) -> None:
        self.map = LaneletMap()
        self._ids = itertools.count(1)
        self._points: dict[tuple[float, float, float], Point3d] = {}

    def next_id(self) -> int:
        return next(self._ids)

    def point(self, xy: Vec, z: float = 0.0) -> Point3d:
        key = (round(xy[0], 4), round(xy[1], 4), round(z, 4))
        if key not in self._points:
            self._points[key] = Point3d(self.next_id(), key[0], key[1], key[2])
        return self._points[key]

    def line(self, coords: list[Vec], z: float = 0.0, **attrs: str) -> LineString3d:
        ls = LineString3d(self.next_id(), [self.point(c, z) for c in coords], AttributeMap(attrs))
        self.map.add(ls)
        return ls

    def lanelet(self, left: LineString3d, right: LineString3d, **attrs: str) -> Lanelet:
        ll = Lanelet(self.next_id(), left, right, AttributeMap(attrs))
        self.map.add(ll)
        return ll

    def polygon(self, coords: list[Vec], **attrs: str) -> Polygon3d:
        poly = Polygon3d(self.next_id(), [self.point(c) for c in coords], AttributeMap(attrs))
        self.map.add(poly)
        return poly


def _lane_attrs(speed_kmh: int, **extra: str) -> dict[str, str]:
    attrs = {
        "type": "lanelet",
        "subtype": "road",
        "location": "urban",
        "one_way": "yes",
        "speed_limit": str(speed_kmh),
    }
    attrs.update({k: v for k, v in extra.items() if v})
    return attrs


def _build_street_lanes(b: _MapBuilder, seg: Segment) -> dict[bool, list[Lanelet]]:
    """Both lanes of one node-to-node segment, each as lanelets in travel order."""
    street, h = seg.street, seg.heading
    edges = seg.piece_edges()
    centre = [_add(seg.start, _scale(h, d)) for d in edges]
    centre_type = {"type": "line_thin", "subtype": "dashed" if street.parking_strip else "solid"}
    edge_type = (
        {"type": "line_thin", "subtype": "solid"}
        if street.parking_strip
        else {"type": "road_border"}
    )
    attrs = _lane_attrs(street.speed_limit_kmh, name=street.name, zone=street.zone)
    lanes: dict[bool, list[Lanelet]] = {True: [], False: []}
    centre_lines = [b.line([p, q], **centre_type) for p, q in zip(centre[:-1], centre[1:])]
    for forward in (True, False):
        side = _scale(_right_normal(h), LANE_WIDTH_M if forward else -LANE_WIDTH_M)
        for k, left in enumerate(centre_lines):
            p, q = _add(centre[k], side), _add(centre[k + 1], side)
            if forward:
                lanes[True].append(b.lanelet(left, b.line([p, q], **edge_type), **attrs))
            else:
                lanes[False].append(b.lanelet(left.invert(), b.line([q, p], **edge_type), **attrs))
        if not forward:
            lanes[False].reverse()
    return lanes


def _turn_direction(h_in: Vec, h_out: Vec) -> str:
    cross = h_in[0] * h_out[1] - h_in[1] * h_out[0]
    return "straight" if abs(cross) < 1e-9 else ("left" if cross > 0 else "right")


def _build_connectors(b: _MapBuilder, node: Vec, legs: dict[Vec, Segment], junction: str) -> None:
    """Quarter-circle turns and straight crossings between every pair of legs (no U-turns)."""
    half = INTERSECTION_HALF_SIZE_M
    for g_in, seg_in in legs.items():
        h_in = _scale(g_in, -1.0)
        for h_out, seg_out in legs.items():
            if h_out == g_in:
                continue
            turn = _turn_direction(h_in, h_out)
            left_start = _add(node, _scale(h_in, -half))
            right_start = _add(left_start, _scale(_right_normal(h_in), LANE_WIDTH_M))
            left_end = _add(node, _scale(h_out, half))
            right_end = _add(left_end, _scale(_right_normal(h_out), LANE_WIDTH_M))
            if turn == "straight":
                left, right = [left_start, left_end], [right_start, right_end]
            else:
                sign = -1.0 if turn == "right" else 1.0
                centre = _add(left_start, _scale(_right_normal(h_in), -sign * half))
                centre_radius = half + sign * LANE_WIDTH_M / 2.0
                assert centre_radius >= MIN_DESIGN_TURN_RADIUS_M, (node, turn, centre_radius)
                steps = _arc_steps(half + LANE_WIDTH_M, math.pi / 2)
                left = _arc(centre, left_start, sign * math.pi / 2, steps)
                right = _arc(centre, right_start, sign * math.pi / 2, steps)
            zone = seg_in.street.zone if seg_in.street.zone == seg_out.street.zone else ""
            speed = min(seg_in.street.speed_limit_kmh, seg_out.street.speed_limit_kmh)
            name = seg_in.street.name if seg_in.street is seg_out.street else ""
            b.lanelet(
                b.line(left, type="virtual"),
                b.line(right, type="virtual"),
                **_lane_attrs(
                    speed, turn_direction=turn, intersection=junction, zone=zone, name=name
                ),
            )


def _approach_distance_m() -> tuple[float, float, float]:
    """From the node along a leg: crosswalk near edge, crosswalk far edge, stop line."""
    near = INTERSECTION_HALF_SIZE_M + CROSSWALK_GAP_M
    far = near + CROSSWALK_WIDTH_M
    return near, far, far + STOP_LINE_GAP_M


def _build_junction(
    b: _MapBuilder, junction: Junction, legs: dict[Vec, Segment], approaches: dict[Vec, Lanelet]
) -> None:
    """Crosswalks on every leg off the corridor, stop lines where traffic must stop with the sign
    or signal head beside each, and the regulatory elements: right of way for priority
    T-junctions, or one traffic light per signalised approach."""
    near, far, stop_d = _approach_distance_m()
    stops: dict[Vec, tuple[LineString3d, LineString3d]] = {}
    for g, seg in legs.items():
        street, across = seg.street, _right_normal(g)
        half_w = street.half_width_m
        if street.zone != "corridor":
            far_line = [
                _add(junction.node, _scale(g, far), _scale(across, s * half_w)) for s in (-1, 1)
            ]
            near_line = [
                _add(junction.node, _scale(g, near), _scale(across, s * half_w)) for s in (-1, 1)
            ]
            b.lanelet(
                b.line(far_line, type="pedestrian_marking"),
                b.line(near_line, type="pedestrian_marking"),
                type="lanelet",
                subtype="crosswalk",
                location="urban",
                one_way="no",
                name=f"{junction.name}_{_compass(g)}",
            )
        priority = junction.priority_axis == ("x" if g[1] == 0.0 else "y")
        if not priority:
            lane_side = _right_normal(_scale(g, -1.0))
            at = _add(junction.node, _scale(g, stop_d))
            stop_line = b.line([at, _add(at, _scale(lane_side, LANE_WIDTH_M))], type="stop_line")
            kerb_at = _add(at, _scale(lane_side, half_w + 0.5))
            if junction.control == "traffic_lights":
                # The housing's bottom edge, left to right as the approaching driver sees it.
                device = b.line(
                    [_add(kerb_at, _scale(lane_side, s * SIGNAL_WIDTH_M / 2)) for s in (-1, 1)],
                    z=SIGNAL_HEIGHT_M,
                    type="traffic_light",
                    subtype="red_yellow_green",
                    height=str(SIGNAL_HOUSING_HEIGHT_M),
                )
            else:
                device = b.line(
                    [
                        _add(kerb_at, _scale(g, STOP_SIGN_PLATE_M / 2)),
                        _add(kerb_at, _scale(g, -STOP_SIGN_PLATE_M / 2)),
                    ],
                    z=STOP_SIGN_HEIGHT_M,
                    type="traffic_sign",
                    subtype="de206",
                    height=str(STOP_SIGN_PLATE_M),
                )
            stops[g] = (stop_line, device)
    attrs = {"type": "regulatory_element", "name": junction.name}
    if junction.control == "traffic_lights":
        regelems = [
            (
                TrafficLight(
                    b.next_id(),
                    AttributeMap(
                        {
                            **attrs,
                            "subtype": "traffic_light",
                            "name": f"{junction.name}_{_compass(g)}",
                        }
                    ),
                    [light],
                    line,
                ),
                [approaches[g]],
            )
            for g, (line, light) in stops.items()
        ]
    else:
        right_of_way = [ll for g, ll in approaches.items() if g not in stops]
        regelems = [
            (
                RightOfWay(
                    b.next_id(),
                    AttributeMap({**attrs, "subtype": "right_of_way"}),
                    right_of_way,
                    [approaches[g]],
                    line,
                ),
                right_of_way + [approaches[g]],
            )
            for g, (line, _) in stops.items()
        ]
    for regelem, members in regelems:
        for ll in members:
            ll.addRegulatoryElement(regelem)
        b.map.add(regelem)


def _compass(heading: Vec) -> str:
    return {(1.0, 0.0): "east", (0.0, 1.0): "north", (-1.0, 0.0): "west", (0.0, -1.0): "south"}[
        (float(round(heading[0])), float(round(heading[1])))
    ]


def _build_bays(b: _MapBuilder) -> None:
    for spec in BAYS:
        corners = bay_corners(spec)
        outline = b.line(corners + [corners[0]], type="line_thin", subtype="dashed")
        b.map.add(
            Area(
                b.next_id(),
                [outline],
                [],
                AttributeMap(
                    {
                        "type": "multipolygon",
                        "subtype": "parking",
                        "parking": "delivery_bay",
                        "delivery_bay": spec.name,
                        "approach_m": f"{BAY_APPROACH_M:.1f}",
                        "exit_m": f"{BAY_EXIT_M:.1f}",
                    }
                ),
            )
        )


def parked_vehicle_slots() -> list[tuple[Vec, Vec, str]]:
    """(centre, travel heading, kind) of every parked vehicle, in declaration order."""
    slots = []
    strip_index = 0
    for seg in segments():
        if not seg.street.parked_cars:
            continue
        for forward in (True, False):
            # Bay spans in the segment's direction, widened by the free approach and exit.
            bays = []
            for spec in BAYS:
                if _bay_segment(spec) == seg and spec.forward == forward:
                    lo, hi = seg.bay_span(spec)
                    before, after = (
                        (BAY_APPROACH_M, BAY_EXIT_M) if forward else (BAY_EXIT_M, BAY_APPROACH_M)
                    )
                    bays.append((lo - before, hi + after))
            travel = seg.heading if forward else _scale(seg.heading, -1.0)
            lateral = _scale(_right_normal(travel), LANE_WIDTH_M + PARKING_STRIP_WIDTH_M / 2)
            first = INTERSECTION_HALF_SIZE_M + NO_PARKING_FROM_BOX_M
            last = seg.length_m - first
            for k, d in enumerate(
                np.arange(first + PARKED_SLOT_PITCH_M / 2, last, PARKED_SLOT_PITCH_M)
            ):
                kind = PARKED_SLOT_PATTERN[(k + 5 * strip_index) % len(PARKED_SLOT_PATTERN)]
                clear = all(
                    d + PARKED_SLOT_PITCH_M / 2 < lo or d - PARKED_SLOT_PITCH_M / 2 > hi
                    for lo, hi in bays
                )
                if kind != "0" and clear:
                    slots.append(
                        (_add(seg.start, _scale(seg.heading, float(d)), lateral), travel, kind)
                    )
            strip_index += 1
    return slots


def _build_parked_vehicles(b: _MapBuilder) -> None:
    for centre, travel, kind in parked_vehicle_slots():
        length, width, height = PARKED_VEHICLE_DIMS_M[kind]
        fwd, side = _scale(travel, length / 2), _scale(_right_normal(travel), width / 2)
        minus_fwd, minus_side = _scale(fwd, -1.0), _scale(side, -1.0)
        corners = [
            _add(centre, minus_fwd, side),
            _add(centre, fwd, side),
            _add(centre, fwd, minus_side),
            _add(centre, minus_fwd, minus_side),
        ]
        b.polygon(
            corners,
            type="parked_vehicle",
            subtype="van" if kind == "2" else "car",
            height=f"{height:.2f}",
        )


def _frontage_lots(length_m: float) -> list[tuple[float, float]]:
    """Split a street frontage into lots (start, end), with an alley after every few lots."""
    lots: list[tuple[float, float]] = []
    at = 0.0
    for k in itertools.count():
        width = LOT_FRONTAGES_M[k % len(LOT_FRONTAGES_M)]
        if length_m - (at + width) < MIN_LOT_FRONTAGE_M:
            lots.append((at, length_m))
            return lots
        lots.append((at, at + width))
        at += width + (ALLEY_WIDTH_M if (k + 1) % ALLEY_EVERY_N_LOTS == 0 else 0.0)


def _build_row(
    b: _MapBuilder,
    x0: float,
    y0: float,
    x1: float,
    y1: float,
    along_x: bool,
    heights: tuple[float, ...],
    end_heights: tuple[tuple[float, ...] | None, ...],
) -> None:
    """A row of buildings filling a rectangle, lots cut along its long side. The lots at the two
    ends also face the cross streets, so they take the taller of both streets' heights."""
    lots = _frontage_lots((x1 - x0) if along_x else (y1 - y0))
    for k, (a, c) in enumerate(lots):
        height = heights[k % len(heights)]
        for end, pattern in zip((0, len(lots) - 1), end_heights):
            if k == end and pattern is not None:
                height = max(height, pattern[k % len(pattern)])
        rect = (x0 + a, y0, x0 + c, y1) if along_x else (x0, y0 + a, x1, y0 + c)
        b.polygon(
            [(rect[0], rect[1]), (rect[2], rect[1]), (rect[2], rect[3]), (rect[0], rect[3])],
            type="building",
            height=f"{height:.1f}",
        )


def _block_sides(cell: tuple[float, float, float, float]) -> tuple[Street, Street, Street, Street]:
    x0, y0, x1, y1 = cell
    return (
        _street_between((x0, y0), (x1, y0)),
        _street_between((x1, y0), (x1, y1)),
        _street_between((x0, y1), (x1, y1)),
        _street_between((x0, y0), (x0, y1)),
    )


def _build_blocks(b: _MapBuilder) -> None:
    """Every grid cell is a block: a kerb with corners concentric to the turns where the streets
    allow, a sidewalk, then a ring of buildings around a courtyard."""
    half = INTERSECTION_HALF_SIZE_M
    curb_attrs = {"type": "curbstone", "subtype": "high", "height": f"{CURB_HEIGHT_M:.2f}"}
    for cell in grid_cells():
        south, east, north, west = _block_sides(cell)
        kx0, ky0 = cell[0] + west.half_width_m, cell[1] + south.half_width_m
        kx1, ky1 = cell[2] - east.half_width_m, cell[3] - north.half_width_m
        radii = tuple(
            half - max(a.half_width_m, c.half_width_m)
            for a, c in ((south, west), (south, east), (north, east), (north, west))
        )
        b.line(rounded_rectangle(kx0, ky0, kx1, ky1, radii), **curb_attrs)
        bx0, by0 = kx0 + SIDEWALK_WIDTH_M, ky0 + SIDEWALK_WIDTH_M
        bx1, by1 = kx1 - SIDEWALK_WIDTH_M, ky1 - SIDEWALK_WIDTH_M
        d = BUILDING_DEPTH_M
        ends_x = (west.facade_heights_m, east.facade_heights_m)
        _build_row(b, bx0, by0, bx1, by0 + d, True, south.facade_heights_m, ends_x)
        _build_row(b, bx0, by1 - d, bx1, by1, True, north.facade_heights_m, ends_x)
        _build_row(b, bx0, by0 + d, bx0 + d, by1 - d, False, west.facade_heights_m, (None, None))
        _build_row(b, bx1 - d, by0 + d, bx1, by1 - d, False, east.facade_heights_m, (None, None))
    xs = [c[0] for c in grid_cells()] + [c[2] for c in grid_cells()]
    ys = [c[1] for c in grid_cells()] + [c[3] for c in grid_cells()]
    gx0, gy0, gx1, gy1 = min(xs), min(ys), max(xs), max(ys)
    south, east = _street_between((gx0, gy0), (gx1, gy0)), _street_between((gx1, gy0), (gx1, gy1))
    north, west = _street_between((gx0, gy1), (gx1, gy1)), _street_between((gx0, gy0), (gx0, gy1))
    kx0, ky0 = gx0 - west.half_width_m, gy0 - south.half_width_m
    kx1, ky1 = gx1 + east.half_width_m, gy1 + north.half_width_m
    radii = tuple(
        half + min(a.half_width_m, c.half_width_m)
        for a, c in ((south, west), (south, east), (north, east), (north, west))
    )
    # The outer kerb runs clockwise so that, like the blocks' kerbs, the road lies on its left.
    b.line(list(reversed(rounded_rectangle(kx0, ky0, kx1, ky1, radii))), **curb_attrs)
    bx0, by0 = kx0 - SIDEWALK_WIDTH_M, ky0 - SIDEWALK_WIDTH_M
    bx1, by1 = kx1 + SIDEWALK_WIDTH_M, ky1 + SIDEWALK_WIDTH_M
    d = BUILDING_DEPTH_M
    _build_row(b, bx0 - d, by0 - d, bx1 + d, by0, True, south.facade_heights_m, (None, None))
    _build_row(b, bx0 - d, by1, bx1 + d, by1 + d, True, north.facade_heights_m, (None, None))
    _build_row(b, bx0 - d, by0, bx0, by1, False, west.facade_heights_m, (None, None))
    _build_row(b, bx1, by0, bx1 + d, by1, False, east.facade_heights_m, (None, None))


def build_map() -> LaneletMap:
    """The whole district as a LaneletMap in the local metric frame."""
    b = _MapBuilder()
    lanes: dict[tuple[str, int, bool], list[Lanelet]] = {}
    for seg in segments():
        for forward, lls in _build_street_lanes(b, seg).items():
            lanes[(seg.street.name, seg.index, forward)] = lls
    junctions = {j.node: j for j in JUNCTIONS}
    for node, legs in node_legs().items():
        if len(legs) > 2 and node not in junctions:
            raise ValueError(f"node {node} has {len(legs)} legs but no junction declared")
        name = junctions[node].name if node in junctions else ""
        _build_connectors(b, node, legs, name)
        if node in junctions:
            approaches = {}
            for g, seg in legs.items():
                arriving_forward = seg.end == node
                approaches[g] = lanes[(seg.street.name, seg.index, arriving_forward)][-1]
            _build_junction(b, junctions[node], legs, approaches)
    _build_bays(b)
    _build_parked_vehicles(b)
    _build_blocks(b)
    return b.map


def sidecar() -> dict:
    return {
        "map_name": MAP_NAME,
        "projector": PROJECTOR_NAME,
        "origin": {"lat_deg": ORIGIN_LAT_DEG, "lon_deg": ORIGIN_LON_DEG, "alt_m": ORIGIN_ALT_M},
    }


def _fmt(v: Vec) -> str:
    return f"({v[0]:.2f}, {v[1]:.2f})"


def _lane_offsets(street: Street) -> str:
    """Where each lane's centreline runs, e.g. 'eastbound y = -1.75, westbound y = 1.75'."""
    h = _unit(street.nodes[0], street.nodes[-1])[0]
    axis, base = ("y", street.nodes[0][1]) if h[1] == 0.0 else ("x", street.nodes[0][0])
    parts = []
    for travel in (h, _scale(h, -1.0)):
        offset = _scale(_right_normal(travel), LANE_WIDTH_M / 2)
        value = base + (offset[1] if axis == "y" else offset[0])
        parts.append(f"{_compass(travel)}bound {axis} = {value:.2f}")
    return ", ".join(parts)


def readme_text() -> str:
    """config/maps/README.md, generated from the same tables as the map so it cannot drift."""
    near, far, stop_d = _approach_distance_m()
    half = INTERSECTION_HALF_SIZE_M
    lines = [
        "# Delivery district map",
        "",
        "Generated by `python -m robovan_autonomy.mapping.district_generator --out config/maps/`",
        "(edit the generator, not these files; a rerun writes byte-identical files). Load it with",
        "`robovan_autonomy.mapping.lanelet_map.load_map()`.",
        "",
        f"- `{MAP_NAME}.osm`: the Lanelet2 map. `{MAP_NAME}.yaml`: sidecar with the map name, the",
        f"  projector ({PROJECTOR_NAME}) and the geodetic origin lat {ORIGIN_LAT_DEG}°, "
        f"lon {ORIGIN_LON_DEG}°, alt {ORIGIN_ALT_M} m.",
        "- Frame: all coordinates here are in `map` (REP-105), the local ENU frame at that origin:",
        "  x east, y north, metres. Right-hand traffic.",
        f"- Every street is two-way, one {LANE_WIDTH_M} m lane per direction. "
        "Streets with a kerbside",
        f"  strip have a {PARKING_STRIP_WIDTH_M} m parking strip on both sides (kerb "
        f"{LANE_WIDTH_M + PARKING_STRIP_WIDTH_M} m from the centreline), the canyon has none (kerb",
        f"  {LANE_WIDTH_M} m). Kerbs are {CURB_HEIGHT_M} m high; "
        f"sidewalks {SIDEWALK_WIDTH_M} m, then "
        f"buildings {BUILDING_DEPTH_M} m deep.",
        f"- Intersection boxes reach ±{half} m from the centre. "
        "Turns are quarter circles: right turns",
        f"  radius {half - LANE_WIDTH_M / 2} m, left turns {half + LANE_WIDTH_M / 2} m. "
        "Crosswalks lie "
        f"{near}–{far} m from the centre on every leg",
        f"  except the corridor's; stop lines {stop_d} m from the centre "
        "on the legs that must stop or are signalised.",
        f"- Signal heads stand at the kerb beside their stop line, the housing's bottom edge "
        f"{SIGNAL_HEIGHT_M} m up.",
        "  The map holds where the signals are, not their timing: the simulator runs each "
        "signalised",
        "  intersection on a fixed-time plan (config/scenarios/README.md, `traffic_lights`).",
        f"- Lanelets are at most {MAX_LANELET_LENGTH_M} m long, "
        "so a blockage closes one piece of street.",
        "",
        "## Streets",
        "",
        "| street | from → to | length m | speed limit | lane centrelines "
        "| kerbside strip | zone |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for st in STREETS:
        length = _unit(st.nodes[0], st.nodes[-1])[1]
        strip = ("yes, parked cars" if st.parked_cars else "yes") if st.parking_strip else "no"
        lines.append(
            f"| {st.name} | {_fmt(st.nodes[0])} → {_fmt(st.nodes[-1])} | {length:.0f} | "
            f"{st.speed_limit_kmh} km/h | {_lane_offsets(st)} | {strip} | {st.zone or '-'} |"
        )
    lines += [
        "",
        "## Intersections",
        "",
        "| name | centre | legs | control |",
        "| --- | --- | --- | --- |",
    ]
    legs = node_legs()
    for j in JUNCTIONS:
        names = ", ".join(
            f"{_compass(g)} ({seg.street.name})" for g, seg in sorted(legs[j.node].items())
        )
        if j.control == "traffic_lights":
            control = (
                "traffic lights, a stop line and a signal head on every approach "
                "(traffic_light, one per approach, named after its leg: "
                f"{j.name}_{_compass(sorted(legs[j.node])[0])}, …)"
            )
        else:
            minor = [
                f"{_compass(g)} leg"
                for g in sorted(legs[j.node])
                if ("x" if g[1] == 0.0 else "y") != j.priority_axis
            ]
            control = (
                f"priority road along {j.priority_axis}; "
                f"the {', '.join(minor)} stops (right_of_way)"
            )
        lines.append(f"| {j.name} | {_fmt(j.node)} | {names} | {control} |")
    bends = [n for n, legs_here in legs.items() if len(legs_here) == 2]
    lines += [
        "",
        "Corners with two legs (smooth bends, no control): "
        + ", ".join(_fmt(n) for n in sorted(bends))
        + ".",
        "",
        "## Delivery bays",
        "",
        f"{BAY_LENGTH_M} m × {PARKING_STRIP_WIDTH_M} m, in the kerbside strip on the right of the "
        "lane named. `bay centre` is where the van's footprint centre stops; `lane point` is the "
        "same spot on the lane centreline (where a route ends). Yaw is the driving direction. "
        "The kerbside strip is kept free of parked cars "
        f"for {BAY_APPROACH_M} m before each bay and "
        f"{BAY_EXIT_M} m after it, so the van can pull in and out forwards; the bay area carries "
        "these as `approach_m` and `exit_m`.",
        "",
        "| bay | street | lane | bay centre | lane point | yaw rad |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for spec in BAYS:
        c = bay_corners(spec)
        centre = ((c[0][0] + c[2][0]) / 2, (c[0][1] + c[2][1]) / 2)
        heading = _unit(c[0], c[1])[0]
        to_lane = -(LANE_WIDTH_M + PARKING_STRIP_WIDTH_M) / 2
        lane_point = _add(centre, _scale(_right_normal(heading), to_lane))
        lines.append(
            f"| {spec.name} | {spec.street} | {_compass(heading)}bound | {_fmt(centre)} | "
            f"{_fmt(lane_point)} | {math.atan2(heading[1], heading[0]):.4f} |"
        )
    lines += [
        "",
        "## Scenario zones",
        "",
        "Lanelets carry `zone=<name>`; `DistrictMap.zones` lists them.",
        "",
    ]
    for st in STREETS:
        if not st.zone:
            continue
        first, last = st.nodes[0], st.nodes[-1]
        h, length = _unit(first, last)
        a, b = _add(first, _scale(h, half)), _add(last, _scale(h, -half))
        if st.zone == "canyon":
            lines.append(
                f"- **canyon** ({st.name}): lanes from {_fmt(a)} to {_fmt(b)}, "
                f"{length - 2 * half:.0f} m between the intersection boxes, no kerbside strip, "
                f"facades {LANE_WIDTH_M + SIDEWALK_WIDTH_M} m either side of the centreline, "
                f"{min(st.facade_heights_m):.0f}–{max(st.facade_heights_m):.0f} m tall on both "
                f"sides: the GNSS outage stretch. {_lane_offsets(st)}."
            )
        else:
            lines.append(
                f"- **corridor** ({st.name}): straight lanes from {_fmt(a)} to {_fmt(b)}, "
                f"{length - 2 * half:.0f} m with no stop line and no crosswalk; side streets "
                f"join at priority T-junctions and yield. {_lane_offsets(st)}."
            )
    lines += [
        "",
        "## Parked vehicles",
        "",
        f"{len(parked_vehicle_slots())} parked cars and vans on the kerbside strips of "
        + ", ".join(s.name for s in STREETS if s.parked_cars)
        + f", none within {NO_PARKING_FROM_BOX_M} m of an intersection box, in a bay or in its "
        "approach or exit. They are "
        "polygons `type=parked_vehicle` with a `height` in the OSM; `DistrictMap.parked_cars` "
        "holds x, y, yaw, length, width, height per vehicle.",
        "",
    ]
    return "\n".join(lines)


def write_district(out_dir: Path) -> tuple[Path, Path, Path]:
    """Write the map, its sidecar and its README into out_dir; returns the three paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    osm_path, yaml_path = out_dir / f"{MAP_NAME}.osm", out_dir / f"{MAP_NAME}.yaml"
    readme_path = out_dir / "README.md"
    origin = lanelet2.io.Origin(ORIGIN_LAT_DEG, ORIGIN_LON_DEG, ORIGIN_ALT_M)
    lanelet2.io.write(
        str(osm_path), build_map(), lanelet2.projection.LocalCartesianProjector(origin)
    )
    header = (
        f"# Sidecar of {osm_path.name}, written by robovan_autonomy.mapping.district_generator.\n"
    )
    yaml_path.write_text(header + yaml.safe_dump(sidecar(), sort_keys=False))
    readme_path.write_text(readme_text())
    return osm_path, yaml_path, readme_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("config/maps"), help="output directory")
    args = parser.parse_args(argv)
    for path in write_district(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
