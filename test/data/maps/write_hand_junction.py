"""Writes hand_junction.osm (raw OSM XML, tagged per the Lanelet2 docs) and its sidecar.

A foreign map for the loader and router tests, laid out by hand, not by the district generator: a
signalised T-junction. The main road (x) has two eastbound lanes (lane changes over dashed
line_thin, not over the solid one before the junction) and one westbound lane; the side street
(north) is one two-way lanelet of road, then one of play_street. A bicycle lane and a walkway the
van may not use, speed limits with units, bare and absent, three traffic lights with stop lines.
No bays, parked vehicles or zones. Regenerate: `python test/data/maps/write_hand_junction.py`.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import quoteattr

import lanelet2
from lanelet2.core import BasicPoint3d
from lanelet2.projection import LocalCartesianProjector

ORIGIN = (49.0069, 8.4037, 115.0)  # lat, lon, alt of the junction centre
HERE = Path(__file__).resolve().parent
KAPPA = 0.5523  # cubic Bézier handle for a quarter ellipse


class Osm:
    """Nodes, ways and relations as OSM XML; nodes at the same place are one node."""

    def __init__(self):
        self.projector = LocalCartesianProjector(lanelet2.io.Origin(*ORIGIN))
        self.nodes: dict[tuple[float, float, float], int] = {}
        self.ways: list[tuple[int, list[int], dict]] = []
        self.relations: list[tuple[int, list[tuple[str, int, str]], dict]] = []
        self._next_way = 1000

    def node(self, x: float, y: float, z: float = 0.0) -> int:
        key = (round(x, 3), round(y, 3), round(z, 3))
        return self.nodes.setdefault(key, len(self.nodes) + 1)

    def way(self, points, **tags) -> int:
        self._next_way += 1
        self.ways.append((self._next_way, [self.node(*p) for p in points], tags))
        return self._next_way

    def lanelet(self, lanelet_id: int, left: int, right: int, regelems=(), **tags) -> None:
        members = [("way", left, "left"), ("way", right, "right")]
        members += [("relation", r, "regulatory_element") for r in regelems]
        self.relations.append((lanelet_id, members, {"type": "lanelet", **tags}))

    def traffic_light(self, regelem_id: int, light: int, stop_line: int) -> None:
        members = [("way", light, "refers"), ("way", stop_line, "ref_line")]
        tags = {"type": "regulatory_element", "subtype": "traffic_light"}
        self.relations.append((regelem_id, members, tags))

    def xml(self) -> str:
        lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="hand">']
        for (x, y, z), node_id in sorted(self.nodes.items(), key=lambda item: item[1]):
            gps = self.projector.reverse(BasicPoint3d(x, y, z))
            lines.append(f'  <node id="{node_id}" lat="{gps.lat:.11f}" lon="{gps.lon:.11f}">')
            lines.append(f'    <tag k="ele" v="{gps.alt:.3f}"/>')
            lines.append("  </node>")
        for way_id, refs, tags in self.ways:
            lines.append(f'  <way id="{way_id}">')
            lines += [f'    <nd ref="{ref}"/>' for ref in refs]
            lines += _tags(tags)
            lines.append("  </way>")
        for rel_id, members, tags in self.relations:
            lines.append(f'  <relation id="{rel_id}">')
            lines += [f'    <member type="{t}" ref="{r}" role="{role}"/>' for t, r, role in members]
            lines += _tags(tags)
            lines.append("  </relation>")
        return "\n".join(lines + ["</osm>", ""])


def _tags(tags: dict) -> list[str]:
    return [f"    <tag k={quoteattr(k)} v={quoteattr(str(v))}/>" for k, v in tags.items()]


def bezier(p0, p3, d0, d3, count: int = 12) -> list[tuple[float, float]]:
    """Cubic from p0 leaving along d0 to p3 arriving along d3 (handles as long as d0, d3)."""
    p1 = (p0[0] + d0[0], p0[1] + d0[1])
    p2 = (p3[0] - d3[0], p3[1] - d3[1])
    out = []
    for k in range(count + 1):
        t = k / count
        a, b, c, d = (1 - t) ** 3, 3 * t * (1 - t) ** 2, 3 * t**2 * (1 - t), t**3
        out.append(
            (
                a * p0[0] + b * p1[0] + c * p2[0] + d * p3[0],
                a * p0[1] + b * p1[1] + c * p2[1] + d * p3[1],
            )
        )
    return out


def turn(p0, heading0, p3, heading3) -> list[tuple[float, float]]:
    """A quarter turn from p0 (unit heading0) to p3 (unit heading3), as a Bézier bound."""
    dx, dy = abs(p3[0] - p0[0]), abs(p3[1] - p0[1])
    reach0 = KAPPA * (dx if heading0[0] else dy)
    reach3 = KAPPA * (dx if heading3[0] else dy)
    return bezier(
        p0,
        p3,
        (heading0[0] * reach0, heading0[1] * reach0),
        (heading3[0] * reach3, heading3[1] * reach3),
    )


def build() -> Osm:
    osm = Osm()
    solid = {"type": "line_thin", "subtype": "solid"}
    dashed = {"type": "line_thin", "subtype": "dashed"}
    curb, virtual = {"type": "curbstone", "subtype": "high"}, {"type": "virtual"}

    def line(x0, x1, y, tags):
        return osm.way([(x0, y), (x1, y)], **tags)

    # Stop lines and traffic lights: eastbound (both lanes), westbound, and the side street.
    stop_east = osm.way([(-13.0, 0.0), (-13.0, -7.0)], type="stop_line")
    stop_west = osm.way([(13.0, 0.0), (13.0, 3.5)], type="stop_line")
    stop_north = osm.way([(-3.0, 13.0), (3.0, 13.0)], type="stop_line")
    light = {"type": "traffic_light", "subtype": "red_yellow_green", "height": "0.8"}
    osm.traffic_light(3001, osm.way([(-12.5, -8.2, 4.0), (-12.5, -7.8, 4.0)], **light), stop_east)
    osm.traffic_light(3002, osm.way([(12.5, 4.0, 4.0), (12.5, 4.4, 4.0)], **light), stop_west)
    osm.traffic_light(3003, osm.way([(3.5, 12.5, 4.0), (3.9, 12.5, 4.0)], **light), stop_north)

    # West arm: two pieces, eastbound lanes E1 (inner) and E2, westbound WB, a bicycle lane.
    for base, (x0, x1), divider, limit_e, regelems in (
        (2100, (-110.0, -60.0), dashed, "30 km/h", ()),
        (2110, (-60.0, -12.0), solid, "30 km/h", (3001,)),
    ):
        north, centre = line(x0, x1, 3.5, curb), line(x0, x1, 0.0, solid)
        mid, bike_edge = line(x0, x1, -3.5, divider), line(x0, x1, -7.0, solid)
        south = line(x0, x1, -8.5, curb)
        osm.lanelet(base + 1, centre, mid, regelems, subtype="road", speed_limit=limit_e)
        osm.lanelet(base + 2, mid, bike_edge, regelems, subtype="road", speed_limit=limit_e)
        osm.lanelet(base + 3, centre, north, subtype="road", speed_limit="30")
        osm.lanelet(2501 + (base - 2100) // 10, bike_edge, south, subtype="bicycle_lane")
        if base == 2110:
            sidewalk_edge = line(x0, x1, 6.0, {"type": "road_border"})
            osm.lanelet(2601, north, sidewalk_edge, subtype="walkway")

    # East arm: two pieces, both with lane changes between E1 and E2.
    for base, (x0, x1), limit_w, regelems in (
        (2200, (12.0, 60.0), "20 mph", (3002,)),
        (2210, (60.0, 110.0), None, ()),
    ):
        north, centre = line(x0, x1, 3.5, curb), line(x0, x1, 0.0, solid)
        mid, south = line(x0, x1, -3.5, dashed), line(x0, x1, -7.0, curb)
        osm.lanelet(base + 1, centre, mid, subtype="road")
        osm.lanelet(base + 2, mid, south, subtype="road")
        west = {"speed_limit": limit_w} if limit_w else {}
        osm.lanelet(base + 3, centre, north, regelems, subtype="road", **west)

    # Side street: two-way, 6 m wide; road near the junction, then a play street.
    for lanelet_id, (y0, y1), subtype, regelems in (
        (2301, (12.0, 60.0), "road", (3003,)),
        (2302, (60.0, 100.0), "play_street", ()),
    ):
        west = osm.way([(-3.0, y0), (-3.0, y1)], **curb)
        east = osm.way([(3.0, y0), (3.0, y1)], **curb)
        osm.lanelet(lanelet_id, west, east, regelems, subtype=subtype, one_way="no")

    # Junction connectors, bounded by virtual lines.
    e1_left = line(-12.0, 12.0, 0.0, virtual)
    e1_right = line(-12.0, 12.0, -3.5, virtual)
    osm.lanelet(2401, e1_left, e1_right, subtype="road", turn_direction="straight")
    e2_right = line(-12.0, 12.0, -7.0, virtual)
    osm.lanelet(2402, e1_right, e2_right, subtype="road", turn_direction="straight")
    wb_right = line(12.0, -12.0, 3.5, virtual)
    osm.lanelet(2403, e1_left, wb_right, subtype="road", turn_direction="straight")
    # Where lanes meet the junction: (left bound end, right bound end, heading into the lanelet).
    mouths = {
        "from_west": ((-12.0, 0.0), (-12.0, -3.5), (1.0, 0.0)),
        "from_east": ((12.0, 0.0), (12.0, 3.5), (-1.0, 0.0)),
        "from_north": ((3.0, 12.0), (-3.0, 12.0), (0.0, -1.0)),
        "to_north": ((-3.0, 12.0), (3.0, 12.0), (0.0, 1.0)),
        "to_east": ((12.0, 0.0), (12.0, -3.5), (1.0, 0.0)),
        "to_west": ((-12.0, 0.0), (-12.0, 3.5), (-1.0, 0.0)),
    }
    for lanelet_id, start, end, direction in (
        (2411, "from_west", "to_north", "left"),
        (2412, "from_east", "to_north", "right"),
        (2413, "from_north", "to_east", "left"),
        (2414, "from_north", "to_west", "right"),
    ):
        (left0, right0, heading0), (left1, right1, heading1) = mouths[start], mouths[end]
        osm.lanelet(
            lanelet_id,
            osm.way(turn(left0, heading0, left1, heading1), **virtual),
            osm.way(turn(right0, heading0, right1, heading1), **virtual),
            subtype="road",
            turn_direction=direction,
        )
    return osm


def main() -> None:
    (HERE / "hand_junction.osm").write_text(build().xml())
    lat, lon, alt = ORIGIN
    (HERE / "hand_junction.yaml").write_text(
        "# Sidecar of hand_junction.osm (test/data/maps/write_hand_junction.py).\n"
        f"projector: LocalCartesian\norigin:\n  lat_deg: {lat}\n  lon_deg: {lon}\n  alt_m: {alt}\n"
    )


if __name__ == "__main__":
    main()
