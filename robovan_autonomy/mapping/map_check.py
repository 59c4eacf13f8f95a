"""What a Lanelet2 map holds as the stack reads it, and what in it the stack cannot use, for people
(`robovan map check`, `robovan map route`). Pure: lanelet2, no ROS.

A problem names the element (lanelet, linestring, regulatory element, by id) and why it matters;
the map still loads with problems, a map that does not load is a ConfigError from load_map.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict

from robovan_autonomy.mapping.lanelet_map import KMH_PER_MPS, DistrictMap, lane_of, speed_limit

# Lanelet subtypes Lanelet2's traffic rules know (lanelet2_traffic_rules, GenericTrafficRules):
# any other lets no one use the lanelet.
KNOWN_SUBTYPES = (
    "road",
    "highway",
    "play_street",
    "emergency_lane",
    "bus_lane",
    "bicycle_lane",
    "exit",
    "walkway",
    "shared_walkway",
    "crosswalk",
    "stairs",
)


@dataclasses.dataclass(frozen=True)
class Problem:
    element: str  # 'lanelet 12', 'regulatory element 30', 'linestring 7'
    why: str

    def __str__(self) -> str:
        return f"{self.element}: {self.why}"


def report(dmap: DistrictMap) -> list[str]:
    """The map's contents as lines of text: lanelets, lanes, speed limits and where they come
    from, regulatory elements, optional layers."""
    lmap = dmap.lanelet_map
    lanelets = sorted(lmap.laneletLayer, key=lambda ll: ll.id)
    lane_lanelets = {dmap.lanelet(i).id for i in dmap.lanes}
    two_way = sorted(-i for i in dmap.lanes if dmap.lanelet(i).inverted())
    by_subtype: dict[str, int] = defaultdict(int)
    for ll in lanelets:
        by_subtype[_subtype(ll)] += 1
    vehicle_subtypes = {_subtype(dmap.lanelet(i)) for i in dmap.lanes}
    changes = sorted((i, j) for i in dmap.lanes for j in _lane_changes(dmap, i))
    lines = [
        f"lanelets: {len(lanelets)} ("
        + ", ".join(
            f"{name or 'no subtype'} {count}"
            + ("" if name in vehicle_subtypes else " (not for vehicles)")
            for name, count in sorted(by_subtype.items())
        )
        + ")",
        f"  lanes the van may drive: {len(dmap.lanes)} on {len(lane_lanelets)} lanelets, "
        f"{sum(lane.length_m for lane in dmap.lanes.values()):.0f} m",
        f"  two-way lanelets: {_ids(two_way)}"
        + (f" (driven in reverse as lanes {_ids(-i for i in two_way)})" if two_way else ""),
        f"  lane changes: {len(changes)}"
        + (f" ({', '.join(f'{i} -> {j}' for i, j in changes)})" if changes else ""),
        "speed limits:",
    ]
    groups: dict[tuple[float, str], list[int]] = defaultdict(list)
    for lane_id in dmap.lanes:
        kmh, source = speed_limit(dmap.traffic_rules, dmap.lanelet(lane_id))
        groups[(round(kmh, 2), source)].append(lane_id)
    for (kmh, source), ids in sorted(groups.items(), key=lambda item: (-item[0][0], item[0][1])):
        lines.append(f"  {kmh:g} km/h from {source}: lanes {_ids(ids)}")
    lines.append(f"regulatory elements: {len(lmap.regulatoryElementLayer)}")
    for regelem in sorted(lmap.regulatoryElementLayer, key=lambda r: r.id):
        params = regelem.parameters
        roles = "; ".join(f"{role} {_members(params[role])}" for role in sorted(params.keys()))
        users = _users(dmap, regelem)
        lines.append(
            f"  {_subtype(regelem) or 'untyped'} {regelem.id}: {roles or 'no parameters'}; "
            f"on {', '.join(users) if users else 'nothing'}"
        )
    lines.append(
        "optional layers: "
        f"delivery bays {len(dmap.bays)}, parked vehicles {len(dmap.parked_cars)}, "
        f"crosswalks {len(dmap.crosswalks)}, stop lines read as full stops {len(dmap.stop_lines)}, "
        f"kerbs {len(dmap.curbs)}, buildings {len(dmap.buildings)}, "
        f"intersections {len(dmap.intersections)}, zones {len(dmap.zones)}"
    )
    if not dmap.bays:
        lines.append("  no delivery bays: give delivery stops as lane positions LANELET_ID@S_M")
    return lines


def problems(dmap: DistrictMap, van_width_m: float) -> list[Problem]:
    """What in the map the stack cannot use as the mapper probably meant, element by element."""
    lmap = dmap.lanelet_map
    found = []
    for ll in sorted(lmap.laneletLayer, key=lambda x: x.id):
        subtype = _subtype(ll)
        if subtype and subtype not in KNOWN_SUBTYPES:
            found.append(
                Problem(
                    f"lanelet {ll.id}",
                    f"subtype {subtype!r} is none Lanelet2's traffic rules know, so no one may "
                    f"use it (known: {', '.join(KNOWN_SUBTYPES)})",
                )
            )
    for lane_id, lane in dmap.lanes.items():
        narrowest = float(lane.width_at(lane.centerline).min())
        if narrowest < van_width_m:
            found.append(
                Problem(
                    f"lanelet {lane_id}",
                    f"{narrowest:.2f} m wide at its narrowest, narrower than the van "
                    f"({van_width_m:.2f} m): no route can use it",
                )
            )
        if not (lane.successor_ids or lane.predecessor_ids or _lane_changes(dmap, lane_id)):
            found.append(
                Problem(
                    f"lanelet {lane_id}",
                    "no lane leads to it or from it and none is beside it to change to: do its "
                    "bounds share their end points with the lanelets before and after it?",
                )
            )
    for regelem in sorted(lmap.regulatoryElementLayer, key=lambda r: r.id):
        if not _users(dmap, regelem):
            found.append(
                Problem(
                    f"regulatory element {regelem.id}",
                    f"no lanelet or area refers to this {_subtype(regelem) or 'element'}, so no "
                    "traffic rule applies it",
                )
            )
        if _subtype(regelem) in ("right_of_way", "all_way_stop"):
            for line in regelem.parameters["ref_line"] if "ref_line" in regelem.parameters else []:
                if line.id not in dmap.stop_lines:
                    found.append(
                        Problem(
                            f"linestring {line.id}",
                            f"stop line of {_subtype(regelem)} {regelem.id} lies across none "
                            "of its yield lanelets: the van will not stop there",
                        )
                    )
    return found


def why_not_a_lane(dmap: DistrictMap, lane_id: int) -> str:
    """Why a lanelet id names no lane of the map (the van may not drive it that way)."""
    layer = dmap.lanelet_map.laneletLayer
    if lane_id in layer:
        ll = layer[lane_id]
        return (
            f"lanelet {lane_id} (subtype {_subtype(ll) or 'none'}) is not for vehicles under "
            "Lanelet2's German traffic rules"
        )
    if -lane_id in layer:
        return f"lanelet {-lane_id} is one-way: there is no lane {lane_id} driving it in reverse"
    return f"map {dmap.name} has no lanelet {abs(lane_id)}"


def why_no_path(dmap: DistrictMap, from_lane: int, to_lane: int) -> str | None:
    """None where Lanelet2's routing finds a path between two lanes; else where the van can get
    from the first."""
    start = dmap.lanelet(from_lane)
    if dmap.routing_graph.shortestPath(start, dmap.lanelet(to_lane), 0, True) is not None:
        return None
    reachable = dmap.routing_graph.reachableSet(start, 1.0e9, 0, True)
    ids = sorted(lane_of(ll) for ll in reachable)
    ids.remove(from_lane)
    return (
        f"Lanelet2's routing graph (German vehicle rules, lane changes allowed) has no path from "
        f"lane {from_lane} to lane {to_lane}; from {from_lane} the van reaches "
        + (f"lanes {_ids(ids)}" if ids else "no other lane")
    )


def route_lines(dmap: DistrictMap, path) -> list[str]:
    """A planned route, lane by lane: how it is entered (start, follows, lane change), its length
    and speed limit."""
    lines = []
    for k, lane_id in enumerate(path.lanelet_ids):
        before = path.lanelet_ids[k - 1] if k else None
        how = (
            "start"
            if before is None
            else "follows"
            if lane_id in dmap.lanes[before].successor_ids
            else "lane change"
        )
        lane = dmap.lanes[lane_id]
        lines.append(
            f"  {lane_id:>8}  {_subtype(dmap.lanelet(lane_id)) or '-':<12} {how:<12} "
            f"{lane.length_m:6.1f} m  {lane.speed_limit_mps * KMH_PER_MPS:.4g} km/h"
        )
    return lines


def _lane_changes(dmap: DistrictMap, lane_id: int) -> list[int]:
    ll = dmap.lanelet(lane_id)
    beside = [dmap.routing_graph.left(ll), dmap.routing_graph.right(ll)]
    return [lane_of(x) for x in beside if x is not None]


def _users(dmap: DistrictMap, regelem) -> list[str]:
    """The lanelets and areas that refer to a regulatory element, as 'lanelets 1 2', 'areas 3'."""
    lmap = dmap.lanelet_map
    lanelets = sorted(ll.id for ll in lmap.laneletLayer.findUsages(regelem))
    areas = sorted(a.id for a in lmap.areaLayer.findUsages(regelem))
    return [
        f"{kind} {_ids(ids)}" for kind, ids in (("lanelets", lanelets), ("areas", areas)) if ids
    ]


def _subtype(primitive) -> str:
    attrs = primitive.attributes
    return attrs["subtype"] if "subtype" in attrs else ""


def _members(primitives) -> str:
    """Regulatory element parameters as 'linestring 4 5, lanelet 7'."""
    by_kind: dict[str, list[int]] = defaultdict(list)
    for primitive in primitives:
        name = type(primitive).__name__
        kind = next(
            (k for k in ("Lanelet", "Area", "Polygon", "LineString", "Point") if k in name), name
        )
        by_kind[kind.lower()].append(primitive.id)
    return ", ".join(f"{kind} {_ids(ids)}" for kind, ids in by_kind.items())


def _ids(ids) -> str:
    ids = list(ids)
    return " ".join(str(i) for i in ids) if ids else "none"
