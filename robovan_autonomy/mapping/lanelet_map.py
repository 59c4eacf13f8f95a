"""The one shared, pure access layer to the district's Lanelet2 map.

`load_map` reads the OSM file with the geodetic origin from its YAML sidecar (or one given by the
caller) and turns everything the stack needs into numpy arrays in the `map` frame (the local metric
ENU frame at the origin, REP-105): lanes, stop lines, traffic lights, crosswalks, delivery bays,
parked cars, kerbs, buildings, road surface and markings. Any Lanelet2 map tagged per the Lanelet2
documentation loads: the lanes are the lanelets Lanelet2's German vehicle traffic rules let a
vehicle drive, in each direction they allow (the reverse direction of a two-way lanelet N is lane
-N), with the speed limit those rules give; bays, parked cars, kerbs, buildings, intersections and
zones are optional layers. The simulator, the planner and localization all read the map through
here, so they agree on every coordinate. Loading is cached per file (and per file version), and
the heavy derived arrays (point map, lane index) are built once on first use.

No rclpy here: lanelet2, numpy and scipy only.
"""

from __future__ import annotations

import dataclasses
import math
from functools import lru_cache
from pathlib import Path

import lanelet2
import numpy as np
import yaml
from lanelet2.core import AllWayStop, GPSPoint, RightOfWay, SpeedLimit
from lanelet2.core import TrafficLight as TrafficLightElement
from lanelet2.projection import LocalCartesianProjector, UtmProjector
from scipy.spatial import cKDTree

from robovan_autonomy.config_errors import ConfigError, config_path
from robovan_autonomy.geometry import (
    arc_length,
    points_in_polygon,
    polygon_area,
    project_on_polyline,
    project_to_polyline,
    resample_polyline,
    wrap_angle,
)

DEFAULT_MAP_FILE = config_path("maps", "delivery_district.osm")
PROJECTORS = {"LocalCartesian": LocalCartesianProjector, "Utm": UtmProjector}

KMH_PER_MPS = 3.6
DEFAULT_CURB_HEIGHT_M = 0.15  # a kerb without a height tag is a standard urban kerb
LANE_INDEX_SPACING_M = 1.0  # centreline sampling of the nearest-lane search index
MAX_LANE_MATCH_DISTANCE_M = 5.0  # farther from every lane centreline is "off the map"
MAX_LANE_HEADING_ERROR_RAD = math.pi / 2  # a lane pointing more than this away is not "ours"
HEADING_WEIGHT_M_PER_RAD = 2.0  # 0.5 rad of heading error weighs like 1 m of offset
# Painted widths, for rendering only.
MARKING_WIDTH_M = {"line_thin": 0.12, "line_thick": 0.25, "stop_line": 0.40}
ZEBRA_STRIPE_WIDTH_M = 0.5
ZEBRA_STRIPE_PERIOD_M = 1.0
PARKED_CAR_COLUMNS = ("x_m", "y_m", "yaw_rad", "length_m", "width_m", "height_m")


@dataclasses.dataclass(frozen=True)
class GeodeticOrigin:
    lat_deg: float
    lon_deg: float
    alt_m: float


@dataclasses.dataclass(frozen=True, eq=False)
class Lane:
    """A vehicle lanelet. Polylines are (N, 2) in `map`, ordered in the driving direction."""

    id: int  # the lanelet's id; -N for two-way lanelet N driven against its drawn direction
    centerline: np.ndarray
    left_bound: np.ndarray
    right_bound: np.ndarray
    s_m: np.ndarray  # arc length at each centreline vertex
    speed_limit_mps: float
    street: str  # '' inside intersections where the street changes
    zone: str  # 'corridor', 'canyon' or ''
    intersection: str  # intersection name for connector lanelets, else ''
    turn: str  # 'left' / 'right' / 'straight' for connectors, else ''
    successor_ids: tuple[int, ...]
    predecessor_ids: tuple[int, ...]
    left_id: int | None  # same-direction neighbour on the left
    right_id: int | None
    oncoming_id: int | None  # opposite-direction lanelet sharing the left bound

    @property
    def length_m(self) -> float:
        return float(self.s_m[-1])

    def pose_at(self, s_m: float) -> tuple[float, float, float]:
        """x, y on the centreline at arc length s_m, and the heading of the piece it lies on."""
        x = float(np.interp(s_m, self.s_m, self.centerline[:, 0]))
        y = float(np.interp(s_m, self.s_m, self.centerline[:, 1]))
        i = min(int(np.searchsorted(self.s_m, s_m, side="right")) - 1, len(self.s_m) - 2)
        dx, dy = self.centerline[i + 1] - self.centerline[i]
        return x, y, math.atan2(dy, dx)

    def width_at(self, points: np.ndarray) -> np.ndarray:
        """The lane's width at (N, 2) points inside it: distance to the left bound plus to the
        right bound."""
        return (
            project_to_polyline(points, self.left_bound)[0]
            + project_to_polyline(points, self.right_bound)[0]
        )


@dataclasses.dataclass(frozen=True, eq=False)
class StopLine:
    id: int
    points: np.ndarray  # (N, 2), from the lane's left bound to its right bound
    lanelet_id: int  # the approach lanelet that must stop here
    intersection: str


@dataclasses.dataclass(frozen=True, eq=False)
class TrafficLight:
    """A Lanelet2 traffic_light regulatory element: the signal one approach obeys. Its state is
    not in the map; /perception/traffic_lights reports it keyed by this id."""

    id: int  # the regulatory element's
    name: str  # e.g. 'I3_west': the signal of the approach on I3's west leg
    stop_line: np.ndarray  # (N, 2), from the lane's left bound to its right bound
    lanelet_id: int  # the approach lanelet it controls (which carries the element)
    intersection: str
    heads: tuple[np.ndarray, ...]  # (N, 3) bottom edge of each signal head housing


@dataclasses.dataclass(frozen=True, eq=False)
class Crosswalk:
    id: int
    name: str
    polygon: np.ndarray  # (N, 2), counter-clockwise
    left_bound: np.ndarray  # the two edges across the road, in walking direction
    right_bound: np.ndarray


@dataclasses.dataclass(frozen=True, eq=False)
class DeliveryBay:
    """A kerbside bay. `bay_pose` is the bay centre facing the traffic direction: put the van's
    footprint centre there. `lane_pose` is the same spot projected onto the adjacent lane."""

    name: str
    polygon: np.ndarray
    lanelet_id: int
    bay_pose: tuple[float, float, float]  # x, y, yaw
    lane_pose: tuple[float, float, float]
    lane_s_m: float  # arc length of lane_pose along the lanelet
    length_m: float
    width_m: float
    approach_m: float = 0.0  # kerbside strip kept free before the bay (pull-in)
    exit_m: float = 0.0  # and after it (pull-out)


@dataclasses.dataclass(frozen=True, eq=False)
class Curb:
    points: np.ndarray  # (N, 2); a closed kerb does not repeat its first point
    height_m: float
    closed: bool

    def outline(self) -> np.ndarray:
        """The kerb line as drawn: closed loops end on their first point again."""
        return np.vstack([self.points, self.points[:1]]) if self.closed else self.points


@dataclasses.dataclass(frozen=True, eq=False)
class Building:
    polygon: np.ndarray
    height_m: float


@dataclasses.dataclass(frozen=True, eq=False)
class SurfacePolygon:
    outer: np.ndarray
    holes: tuple[np.ndarray, ...]


@dataclasses.dataclass(frozen=True, eq=False)
class LaneMarking:
    kind: str  # 'solid', 'dashed', 'stop_line', 'crosswalk_stripe'
    points: np.ndarray
    width_m: float


@dataclasses.dataclass(frozen=True, eq=False)
class Intersection:
    name: str
    centre: np.ndarray  # (2,)
    control: str  # 'traffic_lights', 'all_way_stop', 'priority' or 'uncontrolled'
    connector_ids: tuple[int, ...]
    approach_ids: tuple[int, ...]
    stop_line_ids: tuple[int, ...]
    traffic_light_ids: tuple[int, ...]


@dataclasses.dataclass(frozen=True, eq=False)
class Zone:
    """A named scenario region (the GNSS canyon, the cruise corridor) made of lanelets."""

    name: str
    lanelet_ids: tuple[int, ...]
    bbox: tuple[float, float, float, float]  # xmin, ymin, xmax, ymax of the lanes
    length_m: float  # the longer side of bbox


@dataclasses.dataclass(frozen=True)
class LaneMatch:
    lanelet_id: int
    s_m: float  # along the lane centreline
    lateral_m: float  # signed, left of the centreline positive
    distance_m: float
    heading_error_rad: float  # pose yaw minus lane heading, wrapped; 0 when no yaw given


@dataclasses.dataclass(frozen=True, eq=False)
class DistrictMap:
    name: str
    path: Path
    origin: GeodeticOrigin
    projector_name: str
    lanelet_map: lanelet2.core.LaneletMap
    traffic_rules: lanelet2.traffic_rules.TrafficRules
    routing_graph: lanelet2.routing.RoutingGraph
    lanes: dict[int, Lane]
    stop_lines: dict[int, StopLine]
    traffic_lights: dict[int, TrafficLight]
    crosswalks: dict[int, Crosswalk]
    bays: dict[str, DeliveryBay]
    parked_cars: np.ndarray  # (N, 6), columns PARKED_CAR_COLUMNS
    curbs: tuple[Curb, ...]
    buildings: tuple[Building, ...]
    road_surface: tuple[SurfacePolygon, ...]
    markings: tuple[LaneMarking, ...]
    intersections: dict[str, Intersection]
    zones: dict[str, Zone]
    _projector: lanelet2.projection.Projector = dataclasses.field(repr=False)
    _cache: dict = dataclasses.field(default_factory=dict, repr=False)

    # --- geodetic ---------------------------------------------------------------------------

    def to_map(
        self, lat_deg: float, lon_deg: float, alt_m: float | None = None
    ) -> tuple[float, float]:
        """Geodetic → `map` x, y, through the same projector the OSM was written with."""
        alt = self.origin.alt_m if alt_m is None else alt_m
        p = self._projector.forward(GPSPoint(float(lat_deg), float(lon_deg), float(alt)))
        return p.x, p.y

    def to_geodetic(self, x_m: float, y_m: float, z_m: float = 0.0) -> tuple[float, float, float]:
        """`map` → latitude, longitude (deg), altitude (m)."""
        g = self._projector.reverse(lanelet2.core.BasicPoint3d(float(x_m), float(y_m), float(z_m)))
        return g.lat, g.lon, g.alt

    # --- lanes ------------------------------------------------------------------------------

    def nearest_lane(
        self, x_m: float, y_m: float, yaw_rad: float | None = None
    ) -> LaneMatch | None:
        """The lane a pose is in: nearest centreline, weighted by heading error when a yaw is given
        (which is what tells the two directions and the overlapping turns apart). None when no
        lane is within MAX_LANE_MATCH_DISTANCE_M (with a heading within
        MAX_LANE_HEADING_ERROR_RAD)."""
        tree, owners = self._lane_index()
        hits = tree.query_ball_point((x_m, y_m), MAX_LANE_MATCH_DISTANCE_M + LANE_INDEX_SPACING_M)
        best, best_cost = None, math.inf
        for lane_id in sorted({int(owners[i]) for i in hits}):
            s, lateral, dist, heading = project_on_polyline(
                self.lanes[lane_id].centerline, x_m, y_m
            )
            error = 0.0 if yaw_rad is None else wrap_angle(yaw_rad - heading)
            if dist > MAX_LANE_MATCH_DISTANCE_M or abs(error) > MAX_LANE_HEADING_ERROR_RAD:
                continue
            cost = dist + HEADING_WEIGHT_M_PER_RAD * abs(error)
            if cost < best_cost - 1e-9:
                best, best_cost = LaneMatch(lane_id, s, lateral, dist, error), cost
        return best

    def _lane_index(self) -> tuple[cKDTree, np.ndarray]:
        if "lane_index" not in self._cache:
            points, owners = [], []
            for lane in self.lanes.values():
                samples = resample_polyline(lane.centerline, LANE_INDEX_SPACING_M)
                points.append(samples)
                owners.append(np.full(len(samples), lane.id))
            self._cache["lane_index"] = (cKDTree(np.vstack(points)), np.concatenate(owners))
        return self._cache["lane_index"]

    def lanelet(self, lane: int):
        """The Lanelet2 lanelet a lane drives: lanelet `lane`, or for the reverse direction of a
        two-way lanelet (lane -N), lanelet N inverted."""
        return _lanelet_of(self.lanelet_map, lane)

    def routing_graph_without(self, blocked_ids: frozenset[int]) -> lanelet2.routing.RoutingGraph:
        """A routing graph in which the given lanes' lanelets do not exist (cached per blocked set):
        blocking either direction of a two-way lanelet closes it."""
        if not blocked_ids:
            return self.routing_graph
        key = ("graph_without", blocked_ids)
        if key not in self._cache:
            closed = {self.lanelet(i).id for i in blocked_ids}
            layer = self.lanelet_map.laneletLayer
            open_lanelets = [
                layer[i]
                for i in dict.fromkeys(self.lanelet(lane).id for lane in self.lanes)
                if i not in closed
            ]
            submap = lanelet2.core.createSubmapFromLanelets(open_lanelets)
            self._cache[key] = lanelet2.routing.RoutingGraph(submap, self.traffic_rules)
        return self._cache[key]

    # --- point map --------------------------------------------------------------------------

    def point_map(self, spacing_m: float, max_height_m: float = math.inf) -> np.ndarray:
        """(N, 3) points on kerb faces (0 … kerb height) and building facades (0 … height, capped
        at max_height_m), `spacing_m` apart along and up each face: the reference cloud for
        LiDAR-to-map matching. Cached per (spacing, cap); the returned array is read-only."""
        if not spacing_m > 0.0:
            raise ValueError(f"spacing_m must be positive, got {spacing_m}")
        key = ("point_map", float(spacing_m), float(max_height_m))
        if key not in self._cache:
            faces = [(c.outline(), c.height_m) for c in self.curbs]
            faces += [
                (np.vstack([b.polygon, b.polygon[:1]]), min(b.height_m, max_height_m))
                for b in self.buildings
            ]
            clouds = [_wall_points(points, height, spacing_m) for points, height in faces]
            cloud = np.vstack(clouds) if clouds else np.zeros((0, 3))
            cloud.setflags(write=False)
            self._cache[key] = cloud
        return self._cache[key]


# --- geometry helpers (shared with the planner) -------------------------------------------------


def _wall_points(points: np.ndarray, height_m: float, spacing_m: float) -> np.ndarray:
    footprint = resample_polyline(points, spacing_m)
    levels = np.linspace(0.0, height_m, max(2, math.ceil(height_m / spacing_m) + 1))
    xy = np.repeat(footprint, len(levels), axis=0)
    return np.column_stack([xy, np.tile(levels, len(footprint))])


# --- loading ------------------------------------------------------------------------------------


def load_map(
    path: str | Path = DEFAULT_MAP_FILE, origin: GeodeticOrigin | None = None
) -> DistrictMap:
    """Load a Lanelet2 map: the OSM file and the geodetic origin it was projected from, from the
    sidecar .yaml beside it or, for a map without one, given here (LocalCartesian projector; it
    takes precedence over a sidecar). Cached per file version and origin, so every user in one
    process shares one DistrictMap; treat it as read-only."""
    path = Path(path).resolve()
    if not path.is_file():
        raise ConfigError(path, "", "map file not found")
    sidecar = path.with_suffix(".yaml")
    if origin is not None:
        return _load_cached(path, path.stat().st_mtime_ns, None, 0, origin)
    if not sidecar.is_file():
        raise ConfigError(
            sidecar, "", "map sidecar not found (give the origin there or as --origin LAT,LON)"
        )
    return _load_cached(path, path.stat().st_mtime_ns, sidecar, sidecar.stat().st_mtime_ns, None)


@lru_cache(maxsize=4)
def _load_cached(
    path: Path,
    _osm_mtime_ns: int,
    sidecar: Path | None,
    _sidecar_mtime_ns: int,
    given_origin: GeodeticOrigin | None,
) -> DistrictMap:
    if sidecar is None:
        name, projector_name, origin = path.stem, "LocalCartesian", given_origin
    else:
        name, projector_name, origin = _read_sidecar(sidecar, path.stem)
    projector = PROJECTORS[projector_name](
        lanelet2.io.Origin(origin.lat_deg, origin.lon_deg, origin.alt_m)
    )
    try:
        lmap = lanelet2.io.load(str(path), projector)
    except RuntimeError as err:  # one line per broken element, after a heading
        found = [line.strip(" \t-") for line in str(err).splitlines()[1:]] or [str(err)]
        raise ConfigError(path, "", f"cannot parse the Lanelet2 map: {'; '.join(found)}") from err
    rules = lanelet2.traffic_rules.create(
        lanelet2.traffic_rules.Locations.Germany, lanelet2.traffic_rules.Participants.Vehicle
    )
    graph = lanelet2.routing.RoutingGraph(lmap, rules)
    lanes = _read_lanes(path, lmap, graph, rules)
    stop_lines = _read_stop_lines(lmap, lanes)
    traffic_lights = _read_traffic_lights(lmap, lanes)
    crosswalks = _read_crosswalks(lmap)
    curbs = _read_curbs(path, lmap)
    return DistrictMap(
        name=name,
        path=path,
        origin=origin,
        projector_name=projector_name,
        lanelet_map=lmap,
        traffic_rules=rules,
        routing_graph=graph,
        lanes=lanes,
        stop_lines=stop_lines,
        traffic_lights=traffic_lights,
        crosswalks=crosswalks,
        bays=_read_bays(path, lmap, lanes),
        parked_cars=_read_parked_cars(path, lmap),
        curbs=curbs,
        buildings=_read_buildings(path, lmap),
        road_surface=_road_surface(curbs),
        markings=_read_markings(lmap, crosswalks),
        intersections=_read_intersections(lanes, stop_lines, traffic_lights, lmap),
        zones=_read_zones(lanes),
        _projector=projector,
    )


def _read_sidecar(sidecar: Path, default_name: str) -> tuple[str, str, GeodeticOrigin]:
    try:
        doc = yaml.safe_load(sidecar.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(sidecar, "", f"cannot read the map sidecar: {err}") from err
    if not isinstance(doc, dict):
        raise ConfigError(sidecar, "", "expected a mapping at the top level")
    projector = doc.get("projector")
    if projector not in PROJECTORS:
        raise ConfigError(
            sidecar, "projector", f"expected one of {sorted(PROJECTORS)}, got {projector!r}"
        )
    name = doc.get("map_name", default_name)
    if not isinstance(name, str) or not name:
        raise ConfigError(sidecar, "map_name", "expected a non-empty string")
    block = doc.get("origin")
    if not isinstance(block, dict):
        raise ConfigError(sidecar, "origin", "missing section")
    values = {}
    for key, bound in (("lat_deg", 90.0), ("lon_deg", 180.0), ("alt_m", 1.0e4)):
        value = block.get(key)
        if (
            not isinstance(value, (int, float))
            or isinstance(value, bool)
            or not abs(value) <= bound
        ):
            raise ConfigError(
                sidecar, f"origin.{key}", f"expected a number within ±{bound}, got {value!r}"
            )
        values[key] = float(value)
    return name, projector, GeodeticOrigin(**values)


def _attr(attrs, key: str, default: str = "") -> str:
    return attrs[key] if key in attrs else default


def _float_attr(path: Path, primitive, key: str, default: float | None = None) -> float:
    raw = _attr(primitive.attributes, key)
    if not raw and default is not None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0.0:
        raise ConfigError(
            path,
            f"{type(primitive).__name__} {primitive.id}.{key}",
            f"expected a positive number, got {raw!r}",
        )
    return value


def _xy(points) -> np.ndarray:
    return np.array([(p.x, p.y) for p in points], dtype=float)


def _frozen(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


def lane_of(lanelet) -> int:
    """The lane a lanelet is driven as: its id, or minus its id when inverted (the reverse
    direction of a two-way lanelet)."""
    return -lanelet.id if lanelet.inverted() else lanelet.id


def _lanelet_of(lmap, lane: int):
    layer = lmap.laneletLayer
    return layer[lane] if lane in layer else layer[-lane].invert()


def speed_limit(rules, lanelet) -> tuple[float, str]:
    """The speed limit (km/h) Lanelet2's rules give a vehicle on a lanelet, and where it comes
    from: a speed_limit regulatory element, the lanelet's speed_limit tags (units as Lanelet2
    reads them; a bare number is km/h), or the rules' default for its subtype and location."""
    regelems = [r.id for r in lanelet.regulatoryElements if isinstance(r, SpeedLimit)]
    try:
        kmh = rules.speedLimit(lanelet).speedLimit
    except RuntimeError as err:  # the rules take the first one's sign type, and it is no speed
        return 0.0, f"speed_limit regulatory element {regelems[0]} ({err})"
    if regelems:
        return kmh, f"speed_limit regulatory element {regelems[0]}"
    attrs = lanelet.attributes
    tags = [f"{k}={attrs[k]!r}" for k in sorted(attrs.keys()) if k.startswith("speed_limit")]
    if tags:
        return kmh, f"tag {', '.join(tags)}"
    subtype, location = _attr(attrs, "subtype", "road"), _attr(attrs, "location", "urban")
    return kmh, f"Lanelet2's German default for {subtype} ({location})"


def _directed_lanelets(path: Path, lmap, rules) -> list:
    """Each lanelet a vehicle may drive, and its reverse where it is two-way, in id order."""
    directed = []
    for ll in sorted(lmap.laneletLayer, key=lambda x: x.id):
        if rules.canPass(ll):
            directed.append(ll)
        if rules.canPass(ll.invert()):
            if ll.id == 0 or -ll.id in lmap.laneletLayer:
                raise ConfigError(
                    path,
                    f"lanelet {ll.id}",
                    f"two-way, so its reverse direction is lane {-ll.id}, but that id is taken: "
                    "give two-way lanelets ids whose negatives no lanelet has",
                )
            directed.append(ll.invert())
    return directed


def _read_lanes(path: Path, lmap, graph, rules) -> dict[int, Lane]:
    vehicle = _directed_lanelets(path, lmap, rules)
    if not vehicle:
        raise ConfigError(path, "lanelets", "no lanelets a vehicle may drive in the map")
    by_left_bound: dict[int, list] = {}
    for ll in vehicle:
        by_left_bound.setdefault(ll.leftBound.id, []).append(ll)
    lanes = {}
    for ll in vehicle:
        oncoming = [
            lane_of(o)
            for o in by_left_bound[ll.leftBound.id]
            if lane_of(o) != lane_of(ll) and o.leftBound.inverted() != ll.leftBound.inverted()
        ]
        left, right = (
            graph.left(ll) or graph.adjacentLeft(ll),
            graph.right(ll) or graph.adjacentRight(ll),
        )
        kmh, source = speed_limit(rules, ll)
        if not kmh > 0.0:
            raise ConfigError(
                path,
                f"lanelet {ll.id}",
                f"a vehicle gets no speed limit from {source}: Lanelet2 reads a speed as a "
                "number with a unit, e.g. speed_limit='30 km/h' (a bare number is km/h)",
            )
        centerline = _xy(ll.centerline)
        attrs = ll.attributes
        lanes[lane_of(ll)] = Lane(
            id=lane_of(ll),
            centerline=_frozen(centerline),
            left_bound=_frozen(_xy(ll.leftBound)),
            right_bound=_frozen(_xy(ll.rightBound)),
            s_m=_frozen(arc_length(centerline)),
            speed_limit_mps=kmh / KMH_PER_MPS,
            street=_attr(attrs, "name"),
            zone=_attr(attrs, "zone"),
            intersection=_attr(attrs, "intersection"),
            turn=_attr(attrs, "turn_direction"),
            successor_ids=tuple(sorted(lane_of(x) for x in graph.following(ll))),
            predecessor_ids=tuple(sorted(lane_of(x) for x in graph.previous(ll))),
            left_id=lane_of(left) if left else None,
            right_id=lane_of(right) if right else None,
            oncoming_id=oncoming[0] if oncoming else None,
        )
    return lanes


def _read_stop_lines(lmap, lanes: dict[int, Lane]) -> dict[int, StopLine]:
    """Stop lines of right-of-way and all-way-stop rules; each belongs to the rule's lanelet that
    it lies across (and that lanelet's intersection)."""
    stop_lines = {}
    for regelem in lmap.regulatoryElementLayer:
        if isinstance(regelem, RightOfWay):
            lines, candidates = (
                [regelem.stopLine] if regelem.stopLine else [],
                regelem.yieldLanelets(),
            )
        elif isinstance(regelem, AllWayStop):
            lines, candidates = regelem.stopLines(), regelem.lanelets()
        else:
            continue
        for line in lines:
            owner = _line_owner(_xy(line), [ll.id for ll in candidates], lanes)
            if owner is not None:
                stop_lines[line.id] = StopLine(
                    line.id, _frozen(_xy(line)), owner, _intersection_after(owner, lanes)
                )
    return dict(sorted(stop_lines.items()))


def _read_traffic_lights(lmap, lanes: dict[int, Lane]) -> dict[int, TrafficLight]:
    """traffic_light regulatory elements with a stop line; each belongs to the lanelet carrying
    it that its stop line lies across (and that lanelet's intersection)."""
    carriers: dict[int, list[int]] = {}
    for ll in lmap.laneletLayer:
        for regelem in ll.regulatoryElements:
            if isinstance(regelem, TrafficLightElement):
                carriers.setdefault(regelem.id, []).append(ll.id)
    lights = {}
    for regelem in lmap.regulatoryElementLayer:
        if not isinstance(regelem, TrafficLightElement) or regelem.stopLine is None:
            continue
        points = _xy(regelem.stopLine)
        owner = _line_owner(points, carriers.get(regelem.id, []), lanes)
        if owner is None:
            continue
        heads = tuple(
            _frozen(np.array([(p.x, p.y, p.z) for p in head], dtype=float))
            for head in regelem.trafficLights
        )
        lights[regelem.id] = TrafficLight(
            regelem.id,
            _attr(regelem.attributes, "name", str(regelem.id)),
            _frozen(points),
            owner,
            _intersection_after(owner, lanes),
            heads,
        )
    return dict(sorted(lights.items()))


def _line_owner(points: np.ndarray, candidate_ids, lanes: dict[int, Lane]) -> int | None:
    """The first candidate lane whose area holds the middle of the line."""
    middle = points.mean(axis=0, keepdims=True)
    return next(
        (
            lane_id
            for lane_id in candidate_ids
            if lane_id in lanes
            and points_in_polygon(
                middle, np.vstack([lanes[lane_id].left_bound, lanes[lane_id].right_bound[::-1]])
            )[0]
        ),
        None,
    )


def _intersection_after(lane_id: int, lanes: dict[int, Lane]) -> str:
    names = {lanes[s].intersection for s in lanes[lane_id].successor_ids} - {""}
    return min(names, default="")


def _read_crosswalks(lmap) -> dict[int, Crosswalk]:
    crosswalks = {}
    for ll in sorted(lmap.laneletLayer, key=lambda x: x.id):
        if _attr(ll.attributes, "subtype") != "crosswalk":
            continue
        left, right = _xy(ll.leftBound), _xy(ll.rightBound)
        polygon = np.vstack([right, left[::-1]])
        if polygon_area(polygon) < 0.0:
            polygon = polygon[::-1].copy()
        crosswalks[ll.id] = Crosswalk(
            ll.id,
            _attr(ll.attributes, "name", str(ll.id)),
            _frozen(polygon),
            _frozen(left),
            _frozen(right),
        )
    return crosswalks


def _read_bays(path: Path, lmap, lanes: dict[int, Lane]) -> dict[str, DeliveryBay]:
    """Bays are areas tagged delivery_bay=<name>; each belongs to the lane it lies right of."""
    bays = {}
    for area in sorted(lmap.areaLayer, key=lambda a: a.id):
        name = _attr(area.attributes, "delivery_bay")
        if not name:
            continue
        polygon = _xy(area.outerBoundPolygon())
        if len(polygon) > 3 and np.allclose(polygon[0], polygon[-1]):
            polygon = polygon[:-1]
        centre = polygon.mean(axis=0)
        match = None
        for lane in lanes.values():
            if lane.intersection:
                continue
            s, lateral, dist, heading = project_on_polyline(lane.centerline, *centre)
            inside = 0.0 < s < lane.length_m
            if inside and lateral < 0.0 and (match is None or dist < match[3]):
                match = (lane, s, heading, dist)
        if match is None:
            raise ConfigError(path, f"area {area.id}", f"delivery bay {name} lies beside no lane")
        lane, s, heading, _ = match
        along = np.array([math.cos(heading), math.sin(heading)])
        rel = polygon - centre
        lane_xy = np.array(
            [
                np.interp(s, lane.s_m, lane.centerline[:, 0]),
                np.interp(s, lane.s_m, lane.centerline[:, 1]),
            ]
        )
        bays[name] = DeliveryBay(
            name=name,
            polygon=_frozen(polygon),
            lanelet_id=lane.id,
            bay_pose=(float(centre[0]), float(centre[1]), heading),
            lane_pose=(float(lane_xy[0]), float(lane_xy[1]), heading),
            lane_s_m=s,
            length_m=float(np.ptp(rel @ along)),
            width_m=float(np.ptp(rel @ np.array([-along[1], along[0]]))),
            approach_m=_float_attr(path, area, "approach_m", 0.0),
            exit_m=_float_attr(path, area, "exit_m", 0.0),
        )
    return dict(sorted(bays.items()))


def _read_parked_cars(path: Path, lmap) -> np.ndarray:
    """Parked vehicles are polygons tagged parked_vehicle, corners rear-right, front-right,
    front-left, rear-left (so the first edge runs forward along the vehicle)."""
    rows = []
    for poly in sorted(lmap.polygonLayer, key=lambda p: p.id):
        if _attr(poly.attributes, "type") != "parked_vehicle":
            continue
        corners = _xy(poly)
        if len(corners) != 4:
            raise ConfigError(path, f"Polygon3d {poly.id}", "a parked vehicle needs 4 corners")
        forward, across = corners[1] - corners[0], corners[2] - corners[1]
        rows.append(
            (
                *corners.mean(axis=0),
                math.atan2(forward[1], forward[0]),
                np.linalg.norm(forward),
                np.linalg.norm(across),
                _float_attr(path, poly, "height"),
            )
        )
    return _frozen(np.array(rows, dtype=float).reshape(-1, len(PARKED_CAR_COLUMNS)))


def _read_curbs(path: Path, lmap) -> tuple[Curb, ...]:
    curbs = []
    for ls in sorted(lmap.lineStringLayer, key=lambda x: x.id):
        if _attr(ls.attributes, "type") == "curbstone":
            closed = len(ls) > 3 and ls[0].id == ls[len(ls) - 1].id
            points = _xy(ls)[:-1] if closed else _xy(ls)
            height = _float_attr(path, ls, "height", DEFAULT_CURB_HEIGHT_M)
            curbs.append(Curb(_frozen(points), height, closed))
    return tuple(curbs)


def _read_buildings(path: Path, lmap) -> tuple[Building, ...]:
    return tuple(
        Building(_frozen(_xy(p)), _float_attr(path, p, "height"))
        for p in sorted(lmap.polygonLayer, key=lambda p: p.id)
        if _attr(p.attributes, "type") == "building"
    )


def _road_surface(curbs: tuple[Curb, ...]) -> tuple[SurfacePolygon, ...]:
    """Closed kerbs nest: a loop inside an even number of others outlines road, one inside an odd
    number outlines a block (a hole in the road of the loop just around it)."""
    loops = sorted((c.points for c in curbs if c.closed), key=lambda p: -abs(polygon_area(p)))
    containers = [
        [j for j in range(i) if points_in_polygon(loops[i][:1], loops[j])[0]]
        for i in range(len(loops))
    ]
    surfaces = []
    for i, loop in enumerate(loops):
        if len(containers[i]) % 2 == 0:
            holes = tuple(
                _frozen(loops[k].copy())
                for k in range(len(loops))
                if containers[k] and containers[k][-1] == i and len(containers[k]) % 2 == 1
            )
            surfaces.append(SurfacePolygon(_frozen(loop.copy()), holes))
    return tuple(surfaces)


def _read_markings(lmap, crosswalks: dict[int, Crosswalk]) -> tuple[LaneMarking, ...]:
    markings = []
    for ls in sorted(lmap.lineStringLayer, key=lambda x: x.id):
        kind = _attr(ls.attributes, "type")
        if kind in ("line_thin", "line_thick"):
            style = "dashed" if "dashed" in _attr(ls.attributes, "subtype") else "solid"
            markings.append(LaneMarking(style, _frozen(_xy(ls)), MARKING_WIDTH_M[kind]))
        elif kind == "stop_line":
            markings.append(LaneMarking("stop_line", _frozen(_xy(ls)), MARKING_WIDTH_M[kind]))
    for cw in crosswalks.values():
        crossing = float(arc_length(cw.left_bound)[-1])
        for k in range(int(crossing // ZEBRA_STRIPE_PERIOD_M)):
            f = (k + 0.5) * ZEBRA_STRIPE_PERIOD_M / crossing
            ends = [_point_at_fraction(cw.right_bound, f), _point_at_fraction(cw.left_bound, f)]
            markings.append(
                LaneMarking("crosswalk_stripe", _frozen(np.array(ends)), ZEBRA_STRIPE_WIDTH_M)
            )
    return tuple(markings)


def _point_at_fraction(points: np.ndarray, fraction: float) -> np.ndarray:
    s = arc_length(points)
    at = fraction * s[-1]
    return np.array([np.interp(at, s, points[:, 0]), np.interp(at, s, points[:, 1])])


def _read_intersections(
    lanes: dict[int, Lane],
    stop_lines: dict[int, StopLine],
    traffic_lights: dict[int, TrafficLight],
    lmap,
) -> dict[str, Intersection]:
    """Connector lanelets carry intersection=<name>; the centre is the middle of the straight
    crossings, the control comes from the regulatory elements on the approaches."""
    intersections = {}
    for name in sorted({lane.intersection for lane in lanes.values()} - {""}):
        connectors = [lane for lane in lanes.values() if lane.intersection == name]
        through = [lane.centerline for lane in connectors if lane.turn == "straight"]
        points = [0.5 * (c[0] + c[-1]) for c in through] or [
            np.vstack([c.centerline for c in connectors]).mean(axis=0)
        ]
        approaches = sorted(
            {p for c in connectors for p in c.predecessor_ids} - {c.id for c in connectors}
        )
        kinds = {type(r) for a in approaches for r in _lanelet_of(lmap, a).regulatoryElements}
        control = (
            "traffic_lights"
            if TrafficLightElement in kinds
            else "all_way_stop"
            if AllWayStop in kinds
            else "priority"
            if RightOfWay in kinds
            else "uncontrolled"
        )
        intersections[name] = Intersection(
            name=name,
            centre=_frozen(np.mean(points, axis=0)),
            control=control,
            connector_ids=tuple(c.id for c in connectors),
            approach_ids=tuple(approaches),
            stop_line_ids=tuple(i for i, sl in stop_lines.items() if sl.intersection == name),
            traffic_light_ids=tuple(
                i for i, tl in traffic_lights.items() if tl.intersection == name
            ),
        )
    return intersections


def _read_zones(lanes: dict[int, Lane]) -> dict[str, Zone]:
    zones = {}
    for name in sorted({lane.zone for lane in lanes.values()} - {""}):
        members = [lane for lane in lanes.values() if lane.zone == name]
        points = np.vstack([np.vstack([m.left_bound, m.right_bound]) for m in members])
        (xmin, ymin), (xmax, ymax) = points.min(axis=0), points.max(axis=0)
        zones[name] = Zone(
            name,
            tuple(m.id for m in members),
            (float(xmin), float(ymin), float(xmax), float(ymax)),
            float(max(xmax - xmin, ymax - ymin)),
        )
    return zones
