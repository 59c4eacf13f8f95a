"""A Lanelet2 district as OpenDRIVE 1.4, the road network CARLA builds a town from
(carla.Map(name, xodr) offline, client.generate_opendrive_world(xodr) on a server).

Each drivable lane (a lanelet, or one direction of a two-way lanelet) becomes one road with one
driving lane, -1, on the right of its reference line (right-hand traffic drives lane -1 along the
reference line). The reference line is the lane's centreline, one `line` geometry per centreline
piece: a Lanelet2 centreline is a polyline, so straight pieces reproduce it exactly, where a
fitted curve would only approach it. A `laneOffset` of half the width moves the lane back onto
the reference line; widths are the lanelet's own (left plus right bound distance) at each vertex,
linear in between.

Links: a lane with one successor that has one predecessor is linked road to road. Connector
lanes of an intersection (Lanelet2 `intersection` tag) are a junction's connecting roads; the
roads that enter and leave it link to the junction. Anything else (a fork or merge outside an
intersection) OpenDRIVE cannot link road to road: it is left unlinked and counted in
`Export.unlinked`.

Coordinates: OpenDRIVE's inertial frame is right-handed, x east, y north, as the map frame is, so
map coordinates are written as they are. CARLA negates y when it loads a map (its world is
left-handed): carla_sim.convert.location_to_ros turns a CARLA location back into map x, y.
"""

from __future__ import annotations

import dataclasses
import math
from xml.etree import ElementTree

import numpy as np

from robovan_autonomy.mapping.lanelet_map import DistrictMap, Lane

MIN_PIECE_M = 1e-3  # centreline vertices closer than this are one vertex
LANE_ID = -1  # every road's only lane: right of the reference line, driven along it


@dataclasses.dataclass(frozen=True)
class Export:
    xodr: str
    road_of_lane: dict[int, int]  # robovan lane id → OpenDRIVE road id
    junction_of_intersection: dict[str, int]
    unlinked: tuple[tuple[int, int], ...]  # (lane, successor) links OpenDRIVE could not express


def export_xodr(dmap: DistrictMap) -> Export:
    """The district's lanes as an OpenDRIVE document."""
    lane_ids = sorted(dmap.lanes, key=lambda i: (abs(i), i < 0))
    road_of_lane = {lane: index + 1 for index, lane in enumerate(lane_ids)}
    # Junction ids follow the road ids: CARLA takes a link to an id that is no road's for a
    # link to a junction, whatever its elementType says.
    junction_of = {
        name: len(road_of_lane) + index + 1 for index, name in enumerate(sorted(dmap.intersections))
    }
    root = ElementTree.Element("OpenDRIVE")
    header = ElementTree.SubElement(
        root, "header", revMajor="1", revMinor="4", name=dmap.name, north="0", south="0"
    )
    # The map frame's geodetic origin, so a reader places the roads on the Earth (CARLA reads
    # lat_0 and lon_0 for its geolocation).
    ElementTree.SubElement(header, "geoReference").text = (
        f"+proj=tmerc +lat_0={dmap.origin.lat_deg!r} +lon_0={dmap.origin.lon_deg!r} "
        "+k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"
    )
    unlinked = []
    connections: dict[str, list[tuple[int, int, str]]] = {name: [] for name in junction_of}
    for lane_id in lane_ids:
        lane = dmap.lanes[lane_id]
        road = _road(root, lane, road_of_lane[lane_id], junction_of.get(lane.intersection, -1))
        link = road.find("link")
        lane_link = road.find("lanes/laneSection/right/lane/link")
        for tag, neighbours, contact in (
            ("predecessor", lane.predecessor_ids, "end"),
            ("successor", lane.successor_ids, "start"),
        ):
            target = _link_target(dmap, lane, neighbours, tag)
            if target is None:
                if tag == "successor":
                    unlinked.extend((lane_id, n) for n in neighbours)
                continue
            kind, other = target
            if kind == "road":  # the lanes link too; a junction's connections link its lanes
                ElementTree.SubElement(lane_link, tag, id=str(LANE_ID))
            if kind == "junction":
                ElementTree.SubElement(
                    link, tag, elementType="junction", elementId=str(junction_of[other])
                )
            else:
                ElementTree.SubElement(
                    link,
                    tag,
                    elementType="road",
                    elementId=str(road_of_lane[other]),
                    contactPoint=contact,
                )
        if lane.intersection:
            for incoming in lane.predecessor_ids:
                connections[lane.intersection].append(
                    (road_of_lane[incoming], road_of_lane[lane_id], "start")
                )
    for name, rows in connections.items():
        junction = ElementTree.SubElement(root, "junction", id=str(junction_of[name]), name=name)
        for index, (incoming, connecting, contact) in enumerate(rows):
            connection = ElementTree.SubElement(
                junction,
                "connection",
                id=str(index),
                incomingRoad=str(incoming),
                connectingRoad=str(connecting),
                contactPoint=contact,
            )
            ElementTree.SubElement(
                connection, "laneLink", to=str(LANE_ID), **{"from": str(LANE_ID)}
            )
    ElementTree.indent(root)
    xodr = '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, "unicode")
    return Export(xodr + "\n", road_of_lane, junction_of, tuple(unlinked))


def _link_target(
    dmap: DistrictMap, lane: Lane, neighbours: tuple[int, ...], tag: str
) -> tuple[str, int | str] | None:
    """('road', lane id) or ('junction', intersection name) for one end of a lane, or None."""
    if not neighbours:
        return None
    if lane.intersection:  # a connecting road links to the roads at its ends, one each
        return ("road", neighbours[0]) if len(neighbours) == 1 else None
    junctions = {dmap.lanes[n].intersection for n in neighbours}
    if len(junctions) == 1 and "" not in junctions:
        return "junction", junctions.pop()
    other = dmap.lanes[neighbours[0]]
    back = other.predecessor_ids if tag == "successor" else other.successor_ids
    return ("road", other.id) if len(neighbours) == 1 and len(back) == 1 else None


def _road(root: ElementTree.Element, lane: Lane, road_id: int, junction: int):
    points = _distinct(lane.centerline)
    pieces = np.diff(points, axis=0)
    lengths = np.hypot(pieces[:, 0], pieces[:, 1])
    starts = np.concatenate([[0.0], np.cumsum(lengths)[:-1]])
    widths = lane.width_at(points)
    road = ElementTree.SubElement(
        root,
        "road",
        name=f"lane {lane.id}",
        length=_num(lengths.sum()),
        id=str(road_id),
        junction=str(junction),
    )
    ElementTree.SubElement(road, "link")  # filled by the caller: it knows the other roads
    kind = ElementTree.SubElement(road, "type", s="0", type="town")
    ElementTree.SubElement(kind, "speed", max=_num(lane.speed_limit_mps), unit="m/s")
    plan = ElementTree.SubElement(road, "planView")
    for start, (x, y), (dx, dy), length in zip(starts, points[:-1], pieces, lengths, strict=True):
        geometry = ElementTree.SubElement(
            plan,
            "geometry",
            s=_num(start),
            x=_num(x),
            y=_num(y),
            hdg=_num(math.atan2(dy, dx)),
            length=_num(length),
        )
        ElementTree.SubElement(geometry, "line")
    ElementTree.SubElement(
        ElementTree.SubElement(road, "elevationProfile"), "elevation", s="0", **_poly(0)
    )
    lanes = ElementTree.SubElement(road, "lanes")
    slopes = np.diff(widths) / lengths
    for start, width, slope in zip(starts, widths[:-1], slopes, strict=True):
        ElementTree.SubElement(lanes, "laneOffset", s=_num(start), **_poly(width / 2, slope / 2))
    section = ElementTree.SubElement(lanes, "laneSection", s="0")
    centre = ElementTree.SubElement(ElementTree.SubElement(section, "center"), "lane", id="0")
    centre.set("type", "none")
    centre.set("level", "false")
    right = ElementTree.SubElement(section, "right")
    driving = ElementTree.SubElement(right, "lane", id=str(LANE_ID), type="driving", level="false")
    ElementTree.SubElement(driving, "link")
    for start, width, slope in zip(starts, widths[:-1], slopes, strict=True):
        ElementTree.SubElement(driving, "width", sOffset=_num(start), **_poly(width, slope))
    return road


def _distinct(points: np.ndarray) -> np.ndarray:
    keep = np.concatenate([[True], np.hypot(*np.diff(points, axis=0).T) > MIN_PIECE_M])
    return points[keep]


def _poly(a: float, b: float = 0.0) -> dict[str, str]:
    return {"a": _num(a), "b": _num(b), "c": "0", "d": "0"}


def _num(value: float) -> str:
    text = f"{float(value):.6f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text
