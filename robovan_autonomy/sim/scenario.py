"""Scenario files for the embedded simulator: schema, strict validation and the README.

The schema is declared once, as data (`Field` / `Schema` below); the validator walks it and the
scenario README is rendered from it (`render_readme`), so the documentation cannot drift from
what the loader accepts. Every rejected file raises ConfigError(file, key path, reason), with
key paths such as `actors[2].path[1].speed_mps`.

Regenerate the README after changing the schema or a shipped scenario:
    python -m robovan_autonomy.sim.scenario --write-readme
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import hashlib
import itertools
import math
import random
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from robovan_autonomy.config_errors import ConfigError, config_path, load_yaml
from robovan_autonomy.perception.classes import ObjectClass
from robovan_autonomy.sim import traffic_lights as signals
from robovan_autonomy.vehicle_params import VehicleParams

SCENARIO_DIR = config_path("scenarios")
MAP_DIR = config_path("maps")
README_PATH = SCENARIO_DIR / "README.md"
DEFAULT_MAP = "delivery_district.osm"

MAX_TIME_LIMIT_S = 600.0  # ten minutes: longer runs belong in a soak test, not a scenario
DEFAULT_ARM_AUTONOMY_AT_S = 2.0  # gives localization a couple of seconds of GNSS/IMU to converge
MAX_COORDINATE_M = 10_000.0  # the map frame is a district-sized local metric frame
MAX_ACTOR_SPEED_MPS = 20.0  # 72 km/h: nothing in an urban district scenario goes faster
MAX_ACCEL_MPS2 = 10.0  # about 1 g, what tyres on dry asphalt can give
MAX_ACTOR_LENGTH_M = 20.0  # an articulated lorry
MAX_ACTOR_WIDTH_M = 5.0  # wider than any road vehicle; catches swapped length/width typos
MAX_ACTOR_HEIGHT_M = 5.0  # above the legal height limit of road vehicles in Europe
MAX_TRIGGER_RANGE_M = 200.0  # beyond the LiDAR's 100 m range twice over
MIN_SEGMENT_M = 0.1  # shorter path segments are typing slips (repeated waypoints)
MAX_FAULT_DELAY_S = 5.0  # longer delays are a drop, and should be written as one
MAX_JUMP = 1000.0  # m for a position jump, s for a clock jump
MAX_ROGUE_ACCEL_MPS2 = 10.0  # what a rogue writer may ask; the command path clamps it anyway
DEFAULT_MAX_STALL_S = (
    20.0  # waiting is a state with an exit: a van standing longer blocks its street
)
SEED_MAX = 2**32 - 1  # seeds travel as uint32 ROS parameters
MAX_VARIANTS = 1000  # per file: a thousand runs of one scenario is a cluster's night
MAX_OFFSET_M = 10.0  # a lateral shift beyond this moves an actor to another street
RANDOM_DECIMALS = 3  # random draws from a range are rounded: mm, ms, mm/s
VARIATION_ID_HEX = 8  # digits of the hash that names a variant
# Signal timings a scenario may declare. Amber: 3 s is the shortest a road authority uses (up to
# 50 km/h), 6 s what 70 km/h needs; shorter would make stopping on amber unfair. All-red: 1 s is
# the least clearance; green: 5 s lets a queue of two start, 120 s is a long arterial phase.
AMBER_RANGE_S = (3.0, 6.0)
ALL_RED_RANGE_S = (1.0, 10.0)
GREEN_RANGE_S = (5.0, 120.0)
# Items of the scenario's lists that a variation target may name, and the key that names one.
VARIED_ITEMS = {"actors": "id", "traffic_lights": "intersection"}


@dataclasses.dataclass(frozen=True)
class ActorType:
    """What a scenario actor type means: its class on /perception/objects and its defaults."""

    class_id: ObjectClass
    length_m: float
    width_m: float
    height_m: float
    accel_mps2: float  # default limit for speeding up and for ordinary slowing down
    why: str


ACTOR_TYPES: dict[str, ActorType] = {
    "pedestrian": ActorType(
        ObjectClass.PEDESTRIAN,
        0.6,
        0.6,
        1.75,
        1.0,
        "adult shoulder width and stride; brisk walkers reach 1.4 m/s in ~1.5 s",
    ),
    "cyclist": ActorType(
        ObjectClass.CYCLIST,
        1.8,
        0.6,
        1.75,
        1.0,
        "city bicycle with rider; gentle urban acceleration",
    ),
    "car": ActorType(
        ObjectClass.CAR, 4.5, 1.8, 1.5, 2.0, "compact (C-segment) car; ordinary urban acceleration"
    ),
    "van": ActorType(
        ObjectClass.VAN_TRUCK,
        5.4,
        2.0,
        2.3,
        1.5,
        "panel van, as the map's parked vans; heavier, slower to pull away",
    ),
    "static_obstacle": ActorType(
        ObjectClass.STATIC,
        1.0,
        1.0,
        1.0,
        0.0,
        "a pallet or roadworks barrier; give the size when it matters",
    ),
}

FAULT_TARGETS = (
    "camera",
    "lidar",
    "gnss",
    "imu",
    "can_reports",
    "planner",
    "localization",
    "clock",
    "control_command",
    "can_commands",
)
FAULT_KINDS = {
    "drop": "no messages at all during the window",
    "freeze": "the last message is repeated unchanged (stamps advance, content does not; CAN "
    "frames keep their counter)",
    "nan": "numeric fields are NaN",
    "empty": "the LiDAR's clouds have no returns",
    "black": "the camera's frames are black",
    "delay": "messages arrive `value` seconds late",
    "kill": "the node or device dies; with duration_s a node restarts after it, "
    "a device comes back; without it stays dead",
    "jump": "a step of `value`: metres east for positions, seconds for the clock (negative: back)",
    "rogue": "a second writer sends commands asking `value` m/s² "
    "(control_command: a second ROS node "
    "publishing /control/command at 50 Hz; can_commands: a second CAN transmitter of "
    "DBW_STEER_CMD and DBW_ACCEL_CMD every 20 ms)",
}
FAULT_KINDS_BY_TARGET = {
    "camera": ("drop", "freeze", "black", "delay", "kill"),
    "lidar": ("drop", "freeze", "nan", "empty", "delay", "kill"),
    "gnss": ("drop", "freeze", "nan", "delay", "kill", "jump"),
    "imu": ("drop", "freeze", "nan", "delay", "kill"),
    "can_reports": ("drop", "freeze", "delay", "kill"),
    "planner": ("drop", "freeze", "nan", "delay", "kill"),
    "localization": ("drop", "freeze", "nan", "delay", "kill", "jump"),
    "clock": ("jump",),
    "control_command": ("rogue",),
    "can_commands": ("rogue",),
}
FAULT_KINDS_WITH_VALUE = ("delay", "jump", "rogue")

OUTCOMES = {
    "collision": "the van touched an actor or a parked car of the map",
    "completed": "every mission stop served",
    "stop_before_obstacle": "the van ended at rest with an actor close ahead on its path",
    "stopped": "the van ended at rest with nothing close ahead (e.g. a safe stop)",
    "timeout": "the van was still moving when the run ended",
}


# ----------------------------------------------------------------------------------------------
# What a validated scenario is. Attribute names equal the YAML keys.


@dataclasses.dataclass(frozen=True)
class Point:
    x: float
    y: float


@dataclasses.dataclass(frozen=True)
class StartPose:
    """Exactly one form is set: (x, y, yaw), bay, or (lanelet, s)."""

    x: float | None = None
    y: float | None = None
    yaw: float | None = None
    bay: str | None = None
    lanelet: int | None = None
    s: float | None = None


@dataclasses.dataclass(frozen=True)
class Stop:
    bay: str
    dwell_s: float


@dataclasses.dataclass(frozen=True)
class Size:
    length_m: float
    width_m: float
    height_m: float


@dataclasses.dataclass(frozen=True)
class Waypoint:
    x: float
    y: float
    speed_mps: float | None = None  # for the segment from this waypoint to the next
    wait_s: float = 0.0  # pause here before going on


@dataclasses.dataclass(frozen=True)
class Trigger:
    """Fires once, at time_s or when the van comes within van_within_m of point (else the actor)."""

    time_s: float | None = None
    van_within_m: float | None = None
    point: Point | None = None


@dataclasses.dataclass(frozen=True)
class Brake:
    time_s: float | None
    van_within_m: float | None
    point: Point | None
    decel_mps2: float
    hold_s: float | None  # standstill time before pulling away again; None: stays stopped

    @property
    def trigger(self) -> Trigger:
        return Trigger(self.time_s, self.van_within_m, self.point)


@dataclasses.dataclass(frozen=True)
class ActorSpec:
    id: str
    type: str
    path: tuple[Waypoint, ...]
    size: Size
    speed_mps: float | None
    accel_mps2: float
    yaw: float | None  # set for a stationary actor only; a moving one faces along its path
    start: Trigger
    brake: Brake | None
    loop: bool

    @property
    def class_id(self) -> ObjectClass:
        return ACTOR_TYPES[self.type].class_id

    @property
    def stationary(self) -> bool:
        return len(self.path) == 1


@dataclasses.dataclass(frozen=True)
class Fault:
    target: str
    kind: str
    start_s: float
    duration_s: float | None
    value: float | None

    @property
    def end_s(self) -> float:
        return math.inf if self.duration_s is None else self.start_s + self.duration_s


@dataclasses.dataclass(frozen=True)
class Zone:
    x_min: float
    x_max: float
    y_min: float
    y_max: float


@dataclasses.dataclass(frozen=True)
class GnssOutage:
    """A time window (start_s, duration_s) or a zone where the receiver has no fix."""

    start_s: float | None = None
    duration_s: float | None = None
    zone: Zone | None = None


@dataclasses.dataclass(frozen=True)
class SignalPhase:
    lights: tuple[str, ...]  # signal names of the map (e.g. I3_west), green together
    green_s: float


@dataclasses.dataclass(frozen=True)
class TrafficLightPlan:
    """A fixed-time plan for one signalised intersection; phases None: one per street through
    it, as `traffic_lights.default_plan` makes them."""

    intersection: str
    offset_s: float
    amber_s: float
    all_red_s: float
    phases: tuple[SignalPhase, ...] | None


@dataclasses.dataclass(frozen=True)
class SuccessCriteria:
    expected_outcome: str = "completed"
    min_route_completion: float | None = None
    min_driving_score: float | None = None
    max_collisions: int = 0
    min_ttc_s: float | None = None
    max_lateral_error_m: float | None = None
    max_localization_error_m: float | None = None
    max_fault_detection_s: float | None = None
    max_emergency_stops: int = 0
    max_phantom_brakes: int = 0
    max_stall_s: float = DEFAULT_MAX_STALL_S


@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    map: str
    seed: int
    time_limit_s: float
    arm_autonomy_at_s: float
    start_pose: StartPose
    mission: tuple[Stop, ...]
    actors: tuple[ActorSpec, ...]
    faults: tuple[Fault, ...]
    gnss_outages: tuple[GnssOutage, ...]
    success: SuccessCriteria
    traffic_lights: tuple[TrafficLightPlan, ...] = ()  # plans declared; the rest run defaults
    variations: Variations | None = None
    source: Path | None = None
    variation: Variant | None = None  # set on a concrete variant: which one it is

    @property
    def map_path(self) -> Path:
        return MAP_DIR / self.map


@dataclasses.dataclass(frozen=True)
class VariationParameter:
    """One varied value: a range (low, high, optional step) or a list of choices."""

    name: str
    target: str
    low: float | None = None
    high: float | None = None
    step: float | None = None
    choices: tuple[float, ...] | None = None


@dataclasses.dataclass(frozen=True)
class Variations:
    sampler: str
    count: int | None
    sampler_seed: int
    parameters: tuple[VariationParameter, ...]


@dataclasses.dataclass(frozen=True)
class Variant:
    """One concrete variant of a scenario: its id and the value of every parameter."""

    id: str
    values: tuple[tuple[str, float | int], ...]  # (parameter name, value), in declaration order

    def as_dict(self) -> dict[str, float | int]:
        return dict(self.values)

    def text(self) -> str:
        return ", ".join(f"{name}={value}" for name, value in self.values)


# ----------------------------------------------------------------------------------------------
# The schema as data: one declaration feeds the validator and the README.

REQUIRED = object()  # a Field default meaning "the key must be given"


class _Invalid(Exception):
    """A validation failure before the file path is known: (key path, reason)."""

    def __init__(self, key: str, reason: str):
        super().__init__(key, reason)
        self.key, self.reason = key, reason


@dataclasses.dataclass(frozen=True)
class Field:
    key: str
    kind: str  # number | integer | string | boolean | object | list
    doc: str
    default: Any = REQUIRED  # REQUIRED, or the value used when the key is absent (None: unset)
    unit: str = ""
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # the low bound itself is not allowed
    choices: tuple[str, ...] = ()
    pattern: str = ""
    schema: Schema | None = None  # for object, and for the items of a list
    min_items: int = 0
    default_doc: str = ""  # how the default reads in the docs when it is not a literal
    item: Field | None = None  # for a list of plain values: how each item is checked


@dataclasses.dataclass(frozen=True)
class Schema:
    title: str
    doc: str
    fields: tuple[Field, ...]
    build: Callable[..., Any]
    forms: tuple[tuple[str, ...], ...] = ()  # when set: keys of exactly one form may be given
    rules: tuple[str, ...] = ()  # the cross-field rules `check` enforces, for the docs
    check: Callable[[Any, str], None] | None = None

    def field(self, key: str) -> Field:
        return next(f for f in self.fields if f.key == key)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_range(value: float, spec: Field, path: str) -> None:
    too_low = spec.low is not None and (value <= spec.low if spec.low_open else value < spec.low)
    too_high = spec.high is not None and value > spec.high
    if too_low or too_high:
        raise _Invalid(path, f"{value!r} is out of range, allowed {_range_text(spec)}")


def _convert(value: Any, spec: Field, path: str) -> Any:
    if spec.kind == "number":
        if not _is_number(value):
            raise _Invalid(path, f"expected a number, got {type(value).__name__} {value!r}")
        if not math.isfinite(value):
            raise _Invalid(path, f"expected a finite number, got {value!r}")
        _check_range(value, spec, path)
        return float(value)
    if spec.kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            raise _Invalid(path, f"expected an integer, got {type(value).__name__} {value!r}")
        _check_range(value, spec, path)
        return value
    if spec.kind == "boolean":
        if not isinstance(value, bool):
            raise _Invalid(path, f"expected true or false, got {type(value).__name__} {value!r}")
        return value
    if spec.kind == "string":
        if not isinstance(value, str) or not value.strip():
            raise _Invalid(
                path, f"expected a non-empty string, got {type(value).__name__} {value!r}"
            )
        if spec.choices and value not in spec.choices:
            raise _Invalid(
                path, f"unknown value {value!r}, expected one of: {', '.join(spec.choices)}"
            )
        if spec.pattern and not re.fullmatch(spec.pattern, value):
            raise _Invalid(path, f"{value!r} does not match {spec.pattern}")
        return value
    if spec.kind == "object":
        return _validate(value, spec.schema, path)
    if not isinstance(value, list):
        raise _Invalid(path, f"expected a list, got {type(value).__name__} {value!r}")
    if len(value) < spec.min_items:
        raise _Invalid(path, f"expected at least {spec.min_items} item(s), got {len(value)}")
    if spec.item is not None:
        return tuple(_convert(item, spec.item, f"{path}[{i}]") for i, item in enumerate(value))
    return tuple(_validate(item, spec.schema, f"{path}[{i}]") for i, item in enumerate(value))


def _in_form(schema: Schema, key: str) -> bool:
    return any(key in form for form in schema.forms)


def _validate(doc: Any, schema: Schema, path: str) -> Any:
    if not isinstance(doc, dict):
        raise _Invalid(
            path, f"expected a mapping ({schema.title}), got {type(doc).__name__} {doc!r}"
        )
    known = [f.key for f in schema.fields]
    for key in doc:
        if key not in known:
            raise _Invalid(
                _join(path, str(key)), f"unknown key, expected one of: {', '.join(known)}"
            )
    form_keys: tuple[str, ...] = ()
    if schema.forms:
        given = [form for form in schema.forms if any(k in doc for k in form)]
        if len(given) != 1:
            options = " | ".join("+".join(form) for form in schema.forms)
            got = "none" if not given else " and ".join("+".join(form) for form in given)
            raise _Invalid(path, f"give exactly one of: {options} (got {got})")
        form_keys = given[0]
    values = {}
    for spec in schema.fields:
        key_path = _join(path, spec.key)
        in_form = _in_form(schema, spec.key)
        if spec.key in doc:
            values[spec.key] = _convert(doc[spec.key], spec, key_path)
        elif in_form and spec.key not in form_keys:
            values[spec.key] = None
        elif spec.default is REQUIRED:
            raise _Invalid(key_path, "missing required key")
        else:
            values[spec.key] = spec.default
    result = schema.build(**values)
    if schema.check is not None:
        schema.check(result, path)
    return result


# ----------------------------------------------------------------------------------------------
# Cross-field rules.


def _check_actor(actor: ActorSpec, path: str) -> None:
    def fail(key: str, reason: str):
        raise _Invalid(_join(path, key), reason)

    for i in range(1, len(actor.path)):
        a, b = actor.path[i - 1], actor.path[i]
        if math.hypot(b.x - a.x, b.y - a.y) < MIN_SEGMENT_M:
            fail(f"path[{i}]", f"closer than {MIN_SEGMENT_M} m to path[{i - 1}]")
    if actor.type == "static_obstacle" and not actor.stationary:
        fail("path", "a static_obstacle has exactly one waypoint")
    if actor.stationary:
        for key in ("speed_mps", "brake"):
            if getattr(actor, key) is not None:
                fail(key, "a stationary actor (one waypoint) cannot have this")
        if actor.loop:
            fail("loop", "a stationary actor (one waypoint) cannot loop")
        if actor.path[0].speed_mps is not None or actor.path[0].wait_s:
            fail("path[0]", "a stationary actor's waypoint takes no speed_mps or wait_s")
        return
    if actor.yaw is not None:
        fail("yaw", "yaw only goes with a stationary actor; a moving one faces along its path")
    segments = len(actor.path) if actor.loop else len(actor.path) - 1
    if not actor.loop and actor.path[-1].speed_mps is not None:
        fail(f"path[{len(actor.path) - 1}].speed_mps", "the last waypoint has no segment after it")
    for i in range(segments):
        if actor.path[i].speed_mps is None and actor.speed_mps is None:
            fail(
                f"path[{i}]",
                "no speed for the segment from here: set speed_mps here or on the actor",
            )
    if (
        actor.brake is not None
        and actor.brake.time_s is not None
        and actor.start.time_s is not None
        and actor.brake.time_s <= actor.start.time_s
    ):
        fail(
            "brake.time_s", f"{actor.brake.time_s} is not after the start time {actor.start.time_s}"
        )


def _check_fault(fault: Fault, path: str) -> None:
    if fault.kind not in FAULT_KINDS_BY_TARGET[fault.target]:
        allowed = ", ".join(FAULT_KINDS_BY_TARGET[fault.target])
        raise _Invalid(
            _join(path, "kind"),
            f"{fault.kind!r} does not apply to {fault.target} (allowed: {allowed})",
        )
    needs_value = fault.kind in FAULT_KINDS_WITH_VALUE
    if needs_value and fault.value is None:
        raise _Invalid(_join(path, "value"), f"a {fault.kind} fault needs a value")
    if not needs_value and fault.value is not None:
        raise _Invalid(_join(path, "value"), f"a {fault.kind} fault takes no value")
    if fault.kind == "delay" and not 0.0 < fault.value <= MAX_FAULT_DELAY_S:
        raise _Invalid(
            _join(path, "value"),
            f"delay {fault.value} s is out of range, allowed (0, {MAX_FAULT_DELAY_S}]",
        )
    if fault.kind == "jump" and (fault.value == 0.0 or abs(fault.value) > MAX_JUMP):
        raise _Invalid(
            _join(path, "value"),
            f"jump {fault.value} is out of range, allowed 0 < |value| <= {MAX_JUMP}",
        )
    if fault.kind == "rogue" and abs(fault.value) > MAX_ROGUE_ACCEL_MPS2:
        raise _Invalid(
            _join(path, "value"),
            f"rogue acceleration {fault.value} m/s² is out of range, "
            f"allowed |value| <= {MAX_ROGUE_ACCEL_MPS2}",
        )


def _check_zone(zone: Zone, path: str) -> None:
    for axis in ("x", "y"):
        if getattr(zone, f"{axis}_min") >= getattr(zone, f"{axis}_max"):
            raise _Invalid(
                _join(path, f"{axis}_max"), f"{axis}_max must be greater than {axis}_min"
            )


def _check_windows_increase(
    windows: list[tuple[int, float, float]], path_of: Callable[[int], str], what: str
) -> None:
    for (_, start0, end0), (j, start1, _) in zip(windows, windows[1:]):
        if start1 < end0 or start1 <= start0:
            raise _Invalid(
                path_of(j),
                f"{what} times must increase without overlap: starts at "
                f"{start1} s, before the previous window ends at {end0} s",
            )


def _check_scenario(scn: Scenario, path: str) -> None:
    if scn.arm_autonomy_at_s >= scn.time_limit_s:
        raise _Invalid("arm_autonomy_at_s", f"{scn.arm_autonomy_at_s} s is not before time_limit_s")
    seen: dict[str, int] = {}
    for i, actor in enumerate(scn.actors):
        if actor.id in seen:
            raise _Invalid(
                f"actors[{i}].id", f"duplicate id {actor.id!r} (also actors[{seen[actor.id]}])"
            )
        seen[actor.id] = i
        for key, trigger in (("start", actor.start), ("brake", actor.brake)):
            if (
                trigger is not None
                and trigger.time_s is not None
                and trigger.time_s >= scn.time_limit_s
            ):
                raise _Invalid(
                    f"actors[{i}].{key}.time_s", "never happens: not before time_limit_s"
                )
    for i, fault in enumerate(scn.faults):
        if fault.start_s >= scn.time_limit_s:
            raise _Invalid(f"faults[{i}].start_s", "never happens: not before time_limit_s")
    for target in FAULT_TARGETS:
        windows = [(i, f.start_s, f.end_s) for i, f in enumerate(scn.faults) if f.target == target]
        _check_windows_increase(windows, lambda j: f"faults[{j}].start_s", f"{target} fault")
    windows = [
        (i, o.start_s, o.start_s + o.duration_s)
        for i, o in enumerate(scn.gnss_outages)
        if o.zone is None
    ]
    _check_windows_increase(windows, lambda j: f"gnss_outages[{j}].start_s", "GNSS outage")
    declared: dict[str, int] = {}
    for i, plan in enumerate(scn.traffic_lights):
        if plan.intersection in declared:
            raise _Invalid(
                f"traffic_lights[{i}].intersection",
                f"{plan.intersection!r} has a plan already (traffic_lights"
                f"[{declared[plan.intersection]}])",
            )
        declared[plan.intersection] = i
    if scn.variations is not None:
        _check_variation_targets(scn)


# ----------------------------------------------------------------------------------------------
# Variations: what a parameter may set, and how a variant is made from the file.


@dataclasses.dataclass(frozen=True)
class VariationTarget:
    """What a variation parameter sets: a value of `field`'s type and range, written into the
    scenario's YAML mapping (or the actor's) by `apply` before the variant is validated."""

    doc: str
    field: Field
    apply: Callable[[dict, Any], None]
    excuse: Callable[[Any], str | None] = lambda subject: None  # why it cannot apply, or None
    when: str = "always"  # when it applies, for the docs


def _set(*keys: str) -> Callable[[dict, Any], None]:
    def apply(mapping: dict, value: Any) -> None:
        for key in keys[:-1]:
            mapping = mapping.setdefault(key, {})
        mapping[keys[-1]] = value

    return apply


def _shift_path(actor: dict, offset_m: float) -> None:
    """Move every waypoint `offset_m` to the left of the actor's heading (first segment, or
    the yaw of a stationary actor)."""
    path = actor["path"]
    if len(path) > 1:
        heading = math.atan2(path[1]["y"] - path[0]["y"], path[1]["x"] - path[0]["x"])
    else:
        heading = actor.get("yaw", 0.0)
    for waypoint in path:
        waypoint["x"] = round(waypoint["x"] - offset_m * math.sin(heading), 6)
        waypoint["y"] = round(waypoint["y"] + offset_m * math.cos(heading), 6)


def _moving(actor: ActorSpec) -> str | None:
    return "a stationary actor (one waypoint) has no such value" if actor.stationary else None


def _uses_actor_speed(actor: ActorSpec) -> str | None:
    if _moving(actor):
        return _moving(actor)
    segments = len(actor.path) if actor.loop else len(actor.path) - 1
    if all(w.speed_mps is not None for w in actor.path[:segments]):
        return "every segment of its path sets its own speed_mps, so the actor's is never used"
    return None


def _trigger_target(doc: str, what: str, key: str) -> VariationTarget:
    """A value of the actor's start or brake trigger, where the file gives that form."""

    def excuse(actor: ActorSpec) -> str | None:
        trigger = actor.brake if what == "brake" else actor.start
        if trigger is None:
            return f"the actor has no {what}"
        if getattr(trigger, key) is None:
            return f"its {what} is not given by {key}"
        return None

    schema = BRAKE if what == "brake" else TRIGGER
    return VariationTarget(
        doc, schema.field(key), _set(what, key), excuse, f"its {what} has `{key}`"
    )


def _scenario_targets() -> dict[str, VariationTarget]:
    return {
        "seed": VariationTarget(
            "the run's seed (sensor noise)", SCENARIO.field("seed"), _set("seed")
        ),
        "start_pose.s": VariationTarget(
            "where the van starts along its start lanelet",
            START_POSE.field("s"),
            _set("start_pose", "s"),
            lambda scn: (
                None
                if scn.start_pose.lanelet is not None
                else "the van's start_pose is not given as lanelet + s"
            ),
            "start_pose is lanelet + s",
        ),
    }


def _actor_targets() -> dict[str, VariationTarget]:
    return {
        "speed_mps": VariationTarget(
            "its speed_mps (segments with a speed of their own keep it)",
            ACTOR.field("speed_mps"),
            _set("speed_mps"),
            _uses_actor_speed,
            "a segment of its path uses the actor's speed",
        ),
        "start.van_within_m": _trigger_target(
            "its start trigger distance", "start", "van_within_m"
        ),
        "start.time_s": _trigger_target("its start time", "start", "time_s"),
        "start_delay_s": VariationTarget(
            "how long it stands after its start trigger fires (its first waypoint's wait_s)",
            WAYPOINT.field("wait_s"),
            lambda actor, value: actor["path"][0].update(wait_s=value),
            _moving,
            "it moves",
        ),
        "offset_m": VariationTarget(
            "a shift of every waypoint to the left of its heading (negative: right)",
            _num("offset_m", "lateral shift", "m", -MAX_OFFSET_M, MAX_OFFSET_M),
            _shift_path,
        ),
        "size.length_m": VariationTarget(
            "its length", SIZE.field("length_m"), _set("size", "length_m")
        ),
        "size.width_m": VariationTarget(
            "its width", SIZE.field("width_m"), _set("size", "width_m")
        ),
        "size.height_m": VariationTarget(
            "its height", SIZE.field("height_m"), _set("size", "height_m")
        ),
        "brake.decel_mps2": VariationTarget(
            "its braking deceleration",
            BRAKE.field("decel_mps2"),
            _set("brake", "decel_mps2"),
            lambda actor: None if actor.brake else "the actor has no brake",
            "it has a brake",
        ),
        "brake.time_s": _trigger_target("when it brakes", "brake", "time_s"),
        "brake.van_within_m": _trigger_target(
            "its brake trigger distance", "brake", "van_within_m"
        ),
    }


def _signal_targets() -> dict[str, VariationTarget]:
    return {
        "offset_s": VariationTarget(
            "where in its cycle the intersection's plan stands at time 0 (the van's arrival phase)",
            TRAFFIC_LIGHT_PLAN.field("offset_s"),
            _set("offset_s"),
        ),
    }


def _item_targets() -> dict[str, dict[str, VariationTarget]]:
    """What a target may set on one item of each list in VARIED_ITEMS."""
    return {"actors": _actor_targets(), "traffic_lights": _signal_targets()}


def _resolve_target(text: str, path: str) -> tuple[VariationTarget, tuple[str, str] | None]:
    """(what the target sets, (list, item name) or None for the scenario itself)."""
    scenario_targets, item_targets = _scenario_targets(), _item_targets()
    if text in scenario_targets:
        return scenario_targets[text], None
    head, _, rest = text.partition(".")
    name, _, key = rest.partition(".")
    if head in item_targets and name and key in item_targets[head]:
        return item_targets[head][key], (head, name)
    raise _Invalid(
        path,
        f"unknown target {text!r}, expected {', '.join(scenario_targets)}, "
        + " or ".join(
            f"{head}.<{VARIED_ITEMS[head]}>.<one of: {', '.join(targets)}>"
            for head, targets in item_targets.items()
        ),
    )


def _typed(value: float, spec: Field, path: str) -> float | int:
    """A declared value as the target's type, held to its range."""
    if spec.kind == "integer":
        if not float(value).is_integer():
            raise _Invalid(path, f"expected an integer for this target, got {value!r}")
        value = int(value)
    value = _convert(value, spec, path)
    return round(value, 6) if spec.kind == "number" else value


def _axis(param: VariationParameter, spec: Field, path: str) -> tuple | None:
    """The values a parameter takes, in order; None for a continuous range (random only)."""
    if param.choices is not None:
        return tuple(_typed(v, spec, f"{path}.choices[{i}]") for i, v in enumerate(param.choices))
    low, high = _typed(param.low, spec, f"{path}.low"), _typed(param.high, spec, f"{path}.high")
    step = param.step if param.step is not None else (1 if spec.kind == "integer" else None)
    if step is None:
        return None
    step = _typed(step, dataclasses.replace(spec, low=None, high=None), f"{path}.step")
    count = int(math.floor((high - low) / step + 1e-9)) + 1
    return tuple(_typed(low + i * step, spec, f"{path}.low") for i in range(count))


def _axes(spec: Variations) -> list[tuple[VariationParameter, str, tuple | None, Field]]:
    out = []
    for i, param in enumerate(spec.parameters):
        path = f"variations.parameters[{i}]"
        target, _ = _resolve_target(param.target, f"{path}.target")
        out.append((param, path, _axis(param, target.field, path), target.field))
    return out


def _check_variation_targets(scn: Scenario) -> None:
    items = {
        head: {getattr(item, key): item for item in getattr(scn, head)}
        for head, key in VARIED_ITEMS.items()
    }
    spec = scn.variations
    for i, param in enumerate(spec.parameters):
        path = f"variations.parameters[{i}]"
        target, item = _resolve_target(param.target, f"{path}.target")
        if item is not None and item[1] not in items[item[0]]:
            head, name = item
            what = "actor" if head == "actors" else "traffic light plan for"
            raise _Invalid(
                f"{path}.target",
                f"no {what} {name!r} ({head}: {', '.join(items[head]) or 'none'})",
            )
        why = target.excuse(scn if item is None else items[item[0]][item[1]])
        if why:
            raise _Invalid(f"{path}.target", f"{param.target} cannot be varied: {why}")
    axes = _axes(spec)
    sizes = [
        len(axis) if axis is not None else round((param.high - param.low) * 10**RANDOM_DECIMALS) + 1
        for param, _, axis, _ in axes
    ]
    distinct = math.prod(sizes)
    if spec.sampler == "grid":
        continuous = [param.name for param, _, axis, _ in axes if axis is None]
        if continuous:
            raise _Invalid(
                "variations.sampler",
                f"a grid needs a step or choices for every "
                f"parameter ({', '.join(continuous)} has neither)",
            )
        if distinct > MAX_VARIANTS:
            raise _Invalid(
                "variations.parameters",
                f"the grid has {distinct} variants, more than {MAX_VARIANTS}; use sampler: random",
            )
    elif spec.count > distinct:
        raise _Invalid(
            "variations.count",
            f"{spec.count} variants asked, but the parameters allow only {distinct} distinct ones",
        )


def _check_variations(spec: Variations, path: str) -> None:
    if spec.sampler == "random" and spec.count is None:
        raise _Invalid(_join(path, "count"), "sampler random needs a count")
    if spec.sampler == "grid" and (spec.count is not None or spec.sampler_seed is not None):
        key = "count" if spec.count is not None else "sampler_seed"
        raise _Invalid(
            _join(path, key), "only sampler random takes this: a grid is every combination"
        )
    for key in ("name", "target"):
        seen: dict[str, int] = {}
        for i, param in enumerate(spec.parameters):
            value = getattr(param, key)
            if value in seen:
                raise _Invalid(
                    f"{path}.parameters[{i}].{key}",
                    f"duplicate {key} {value!r} (also parameters[{seen[value]}])",
                )
            seen[value] = i


def _check_parameter(param: VariationParameter, path: str) -> None:
    if param.low is not None and param.low > param.high:
        raise _Invalid(_join(path, "high"), f"{param.high} is below low {param.low}")
    if param.choices is not None and len(set(param.choices)) != len(param.choices):
        raise _Invalid(_join(path, "choices"), "a value is listed twice")


def variation_id(spec: Variations, values: tuple) -> str:
    """The first VARIATION_ID_HEX hex digits of the SHA-256 of the sorted `target=value`
    pairs: the same settings give the same id, whatever the sampler or the parameter names."""
    pairs = sorted(f"{p.target}={v!r}" for p, v in zip(spec.parameters, values))
    return hashlib.sha256(";".join(pairs).encode()).hexdigest()[:VARIATION_ID_HEX]


def _draw(rng: random.Random, param: VariationParameter, axis: tuple | None, spec: Field):
    """One value from `rng.random()` alone, whose sequence Python keeps stable across versions."""
    r = rng.random()
    if axis is not None:
        return axis[min(int(r * len(axis)), len(axis) - 1)]
    value = round(param.low + (param.high - param.low) * r, RANDOM_DECIMALS)
    return _typed(min(max(value, param.low), param.high), spec, "")


def variants(scn: Scenario) -> tuple[Variant, ...]:
    """The concrete variants a scenario's variations block declares, in a stable order: a grid
    row by row (the last parameter fastest), random draws in the order drawn (a duplicate is
    drawn again). The base scenario is not one of them."""
    spec = scn.variations
    if spec is None:
        return ()
    axes = _axes(spec)  # checked when the file was loaded
    if spec.sampler == "grid":
        combos = list(itertools.product(*(axis for _, _, axis, _ in axes)))
    else:
        rng = random.Random(spec.sampler_seed or 0)
        combos = []
        while len(combos) < spec.count:
            combo = tuple(_draw(rng, param, axis, field) for param, _, axis, field in axes)
            if combo not in combos:
                combos.append(combo)
    names = [param.name for param in spec.parameters]
    return tuple(Variant(variation_id(spec, combo), tuple(zip(names, combo))) for combo in combos)


def _concrete(
    doc: dict, base: Scenario, variant: Variant, path: Path, lanelet_map: MapLike | None
) -> Scenario:
    """The base file's document with the variant's values written in, validated like a file."""
    doc = copy.deepcopy(doc)
    del doc["variations"]
    for param, (_, value) in zip(base.variations.parameters, variant.values):
        target, item = _resolve_target(param.target, "")
        mapping = (
            doc
            if item is None
            else next(x for x in doc[item[0]] if x[VARIED_ITEMS[item[0]]] == item[1])
        )
        target.apply(mapping, value)
    try:
        scenario = _parse(doc, path)
        if lanelet_map is not None:
            _check_against_map(scenario, lanelet_map)
    except _Invalid as err:
        raise ConfigError(
            path, err.key, f"{err.reason} (in variant {variant.id}: {variant.text()})"
        ) from None
    return dataclasses.replace(scenario, variations=base.variations, variation=variant)


# ----------------------------------------------------------------------------------------------
# Declarations.


def _num(key, doc, unit, low=None, high=None, default=REQUIRED, low_open=False, default_doc=""):
    return Field(key, "number", doc, default, unit, low, high, low_open, default_doc=default_doc)


def _x(doc="map frame"):
    return _num("x", f"x ({doc})", "m", -MAX_COORDINATE_M, MAX_COORDINATE_M)


def _y(doc="map frame"):
    return _num("y", f"y ({doc})", "m", -MAX_COORDINATE_M, MAX_COORDINATE_M)


def _obj(key, schema, doc, default=REQUIRED, default_doc=""):
    return Field(key, "object", doc, default, schema=schema, default_doc=default_doc)


def _list(key, schema, doc, min_items=0, default=REQUIRED, default_doc=""):
    return Field(
        key, "list", doc, default, schema=schema, min_items=min_items, default_doc=default_doc
    )


def _yaw(doc):
    return _num("yaw", doc, "rad", -math.pi, math.pi)


POINT = Schema("Point", "A position in the map frame.", (_x(), _y()), Point)

START_POSE = Schema(
    "StartPose",
    "Where the van starts, at rest. Give one form.",
    (
        _x(),
        _y(),
        _yaw("heading, counter-clockwise from the map's x axis"),
        Field(
            "bay", "string", "start in this delivery bay, facing along its lane", default=REQUIRED
        ),
        Field(
            "lanelet",
            "integer",
            "start on this lanelet's centreline, facing along it",
            default=REQUIRED,
        ),
        _num(
            "s", "distance along that lanelet's centreline", "m", 0.0, MAX_COORDINATE_M, default=0.0
        ),
    ),
    StartPose,
    forms=(("x", "y", "yaw"), ("bay",), ("lanelet", "s")),
    rules=("With a map, `bay` must name a bay of the map and `lanelet` a lanelet of it.",),
)

STOP = Schema(
    "Stop",
    "One delivery stop of the mission, served in list order.",
    (
        Field("bay", "string", "bay name from the map (config/maps/README.md)"),
        _num(
            "dwell_s",
            "time to stand still in the bay (parcel hand-over)",
            "s",
            0.0,
            MAX_TIME_LIMIT_S,
            default=0.0,
        ),
    ),
    Stop,
    rules=("With a map, `bay` must name a bay of the map.",),
)

SIZE = Schema(
    "Size",
    "Box dimensions; a key left out takes the actor type's default (see Actor types).",
    (
        _num(
            "length_m",
            "along the actor's heading",
            "m",
            0.0,
            MAX_ACTOR_LENGTH_M,
            None,
            True,
            "type's",
        ),
        _num("width_m", "across the heading", "m", 0.0, MAX_ACTOR_WIDTH_M, None, True, "type's"),
        _num("height_m", "above the ground", "m", 0.0, MAX_ACTOR_HEIGHT_M, None, True, "type's"),
    ),
    lambda **kw: kw,
)

WAYPOINT = Schema(
    "Waypoint",
    "A point of an actor's path; the actor's box centre moves along the straight "
    "segments between waypoints.",
    (
        _x(),
        _y(),
        _num(
            "speed_mps",
            "speed on the segment from this waypoint to the next",
            "m/s",
            0.0,
            MAX_ACTOR_SPEED_MPS,
            None,
            True,
            "actor's speed_mps",
        ),
        _num(
            "wait_s", "stand still here this long before going on", "s", 0.0, MAX_TIME_LIMIT_S, 0.0
        ),
    ),
    Waypoint,
)

_TRIGGER_FIELDS = (
    _num("time_s", "fires at this scenario time", "s", 0.0, MAX_TIME_LIMIT_S),
    _num(
        "van_within_m",
        "fires when the van's base_link comes this close to `point` (else to the actor itself)",
        "m",
        0.0,
        MAX_TRIGGER_RANGE_M,
        low_open=True,
    ),
    _obj("point", POINT, "where van_within_m is measured from", None, "the actor"),
)

TRIGGER = Schema(
    "Trigger",
    "When an actor starts moving. It stands on its first waypoint until then (and for "
    "that waypoint's wait_s after), then pulls away from rest at its accel_mps2. A "
    "trigger fires once and stays fired.",
    _TRIGGER_FIELDS,
    Trigger,
    forms=(("time_s",), ("van_within_m", "point")),
)

BRAKE = Schema(
    "Brake",
    "A hard-braking event: when the trigger fires, the actor brakes at decel_mps2 to a "
    "standstill, holds, then pulls away again at its accel_mps2.",
    _TRIGGER_FIELDS
    + (
        _num(
            "decel_mps2",
            "braking deceleration (positive)",
            "m/s²",
            0.0,
            MAX_ACCEL_MPS2,
            low_open=True,
        ),
        _num(
            "hold_s",
            "standstill time before pulling away again",
            "s",
            0.0,
            MAX_TIME_LIMIT_S,
            None,
            default_doc="stays stopped",
        ),
    ),
    Brake,
    forms=(("time_s",), ("van_within_m", "point")),
)


def _build_actor(**kw) -> ActorSpec:
    defaults = ACTOR_TYPES[kw["type"]]
    size = {k: (v if v is not None else getattr(defaults, k)) for k, v in kw["size"].items()}
    yaw = 0.0 if kw["yaw"] is None and len(kw["path"]) == 1 else kw["yaw"]
    return ActorSpec(
        id=kw["id"],
        type=kw["type"],
        path=kw["path"],
        size=Size(**size),
        speed_mps=kw["speed_mps"],
        accel_mps2=kw["accel_mps2"] if kw["accel_mps2"] is not None else defaults.accel_mps2,
        yaw=yaw,
        start=kw["start"],
        brake=kw["brake"],
        loop=kw["loop"],
    )


ACTOR = Schema(
    "Actor",
    "A scripted road user or obstacle. One waypoint makes it stationary (parked car, "
    "standing pedestrian, obstacle); more make it follow the path at its speed.",
    (
        Field(
            "id",
            "string",
            "unique name, used in logs and in the report",
            pattern=r"[A-Za-z0-9_\-]+",
        ),
        Field("type", "string", "what it is (see Actor types)", choices=tuple(ACTOR_TYPES)),
        _list("path", WAYPOINT, "waypoints, in order", min_items=1),
        _obj(
            "size",
            SIZE,
            "box dimensions",
            {"length_m": None, "width_m": None, "height_m": None},
            "type's",
        ),
        _num(
            "speed_mps",
            "cruise speed on segments whose waypoint sets none",
            "m/s",
            0.0,
            MAX_ACTOR_SPEED_MPS,
            None,
            True,
        ),
        _num(
            "accel_mps2",
            "limit for speeding up and for ordinary slowing down",
            "m/s²",
            0.0,
            MAX_ACCEL_MPS2,
            None,
            True,
            "type's",
        ),
        _num(
            "yaw", "heading of a stationary actor", "rad", -math.pi, math.pi, None, default_doc="0"
        ),
        _obj("start", TRIGGER, "when it starts moving", Trigger(time_s=0.0), "time_s: 0"),
        _obj("brake", BRAKE, "a hard-braking event", None, "none"),
        Field("loop", "boolean", "after the last waypoint, go on to the first again", False),
    ),
    _build_actor,
    check=_check_actor,
    rules=(
        "`static_obstacle` has exactly one waypoint.",
        "A stationary actor (one waypoint) takes no speed_mps, brake, loop, "
        "or waypoint speed_mps / wait_s.",
        "A moving actor takes no yaw: it faces along its path.",
        "Every segment needs a speed (its waypoint's speed_mps or the actor's); the last waypoint "
        "of a path that does not loop takes no speed_mps.",
        f"Consecutive waypoints are at least {MIN_SEGMENT_M} m apart.",
        "A brake time_s comes after a start time_s.",
    ),
)

FAULT = Schema(
    "Fault",
    "An injected failure of one input or node (see Faults for which kinds fit which target).",
    (
        Field("target", "string", "what fails", choices=FAULT_TARGETS),
        Field("kind", "string", "how it fails", choices=tuple(FAULT_KINDS)),
        _num("start_s", "when it begins", "s", 0.0, MAX_TIME_LIMIT_S),
        _num(
            "duration_s", "how long it lasts", "s", 0.0, MAX_TIME_LIMIT_S, None, True, "to the end"
        ),
        _num(
            "value",
            "delay: added latency in s; jump: step size; rogue: acceleration asked, m/s²",
            "",
            -MAX_JUMP,
            MAX_JUMP,
            None,
            default_doc="none",
        ),
    ),
    Fault,
    check=_check_fault,
    rules=(
        "`kind` must be one the target supports (table below).",
        "`value` is required for delay, jump and rogue and not allowed otherwise; "
        f"delay in (0, {MAX_FAULT_DELAY_S}] s; jump non-zero; rogue within "
        f"±{MAX_ROGUE_ACCEL_MPS2:g} m/s².",
        "Faults of one target do not overlap and are listed in time order.",
    ),
)

ZONE = Schema(
    "Zone",
    "An axis-aligned box of the map frame.",
    (
        _num("x_min", "west edge", "m", -MAX_COORDINATE_M, MAX_COORDINATE_M),
        _num("x_max", "east edge", "m", -MAX_COORDINATE_M, MAX_COORDINATE_M),
        _num("y_min", "south edge", "m", -MAX_COORDINATE_M, MAX_COORDINATE_M),
        _num("y_max", "north edge", "m", -MAX_COORDINATE_M, MAX_COORDINATE_M),
    ),
    Zone,
    check=_check_zone,
    rules=("x_min < x_max and y_min < y_max.",),
)

GNSS_OUTAGE = Schema(
    "GnssOutage",
    "No GNSS fix during a time window, or while the GNSS antenna is inside a zone.",
    (
        _num("start_s", "window start", "s", 0.0, MAX_TIME_LIMIT_S, REQUIRED),
        _num("duration_s", "window length", "s", 0.0, MAX_TIME_LIMIT_S, REQUIRED, True),
        _obj("zone", ZONE, "where there is no fix", REQUIRED),
    ),
    GnssOutage,
    forms=(("start_s", "duration_s"), ("zone",)),
    rules=("Time windows are listed in time order and do not overlap.",),
)

SIGNAL_PHASE = Schema(
    "SignalPhase",
    "One phase of a plan: its signals show green together, then amber, then red with the "
    "others through the all-red clearance before the next phase.",
    (
        Field(
            "lights",
            "list",
            "signal names of the intersection (config/maps/README.md), e.g. `I3_west`",
            min_items=1,
            item=Field("light", "string", "", pattern=r"[A-Za-z0-9_\-]+"),
        ),
        _num("green_s", "green time", "s", *GREEN_RANGE_S, signals.DEFAULT_GREEN_S),
    ),
    SignalPhase,
)

TRAFFIC_LIGHT_PLAN = Schema(
    "TrafficLightPlan",
    "The fixed-time plan of one signalised intersection of the map: its phases in turn, each "
    "green, amber_s, then all_red_s. An intersection without a plan here runs the default: one "
    f"phase per street through it, in the order of their first signal's name, "
    f"{signals.DEFAULT_GREEN_S:g} s green each, offset 0.",
    (
        Field("intersection", "string", "intersection name of the map, e.g. `I3`"),
        _num(
            "offset_s",
            "where in its cycle the plan stands at time 0 (taken modulo the cycle)",
            "s",
            0.0,
            MAX_TIME_LIMIT_S,
            0.0,
        ),
        _num("amber_s", "amber after each green", "s", *AMBER_RANGE_S, signals.DEFAULT_AMBER_S),
        _num(
            "all_red_s",
            "every signal red after each amber",
            "s",
            *ALL_RED_RANGE_S,
            signals.DEFAULT_ALL_RED_S,
        ),
        _list(
            "phases",
            SIGNAL_PHASE,
            "the phases, in cycle order",
            min_items=1,
            default=None,
            default_doc="one per street",
        ),
    ),
    TrafficLightPlan,
    rules=(
        "With a map: the intersection is signalised; every one of its signals is in exactly "
        "one phase; signals whose approaches cross are never in one phase.",
    ),
)

SUCCESS = Schema(
    "SuccessCriteria",
    "What makes the run pass. Thresholds left out are not judged.",
    (
        Field(
            "expected_outcome",
            "string",
            "the report's outcome must equal this (see Outcomes)",
            "completed",
            choices=tuple(OUTCOMES),
        ),
        _num("min_route_completion", "route completion at least", "", 0.0, 1.0, None),
        _num("min_driving_score", "CARLA-style driving score at least", "", 0.0, 100.0, None),
        Field("max_collisions", "integer", "collisions at most", 0, low=0, high=1000),
        _num("min_ttc_s", "smallest time-to-collision at least", "s", 0.0, 10.0, None, True),
        _num(
            "max_lateral_error_m",
            "largest lateral tracking error at most",
            "m",
            0.0,
            100.0,
            None,
            True,
        ),
        _num(
            "max_localization_error_m",
            "largest localization error at most",
            "m",
            0.0,
            100.0,
            None,
            True,
        ),
        _num(
            "max_fault_detection_s",
            "every injected fault ends in a minimal-risk stop that starts at "
            "most this long after it",
            "s",
            0.0,
            10.0,
            None,
            True,
        ),
        Field(
            "max_emergency_stops",
            "integer",
            "emergency stops (the AEB's, or a minimal-risk stop "
            "that had to brake hard) at most: the planner should have stopped first",
            0,
            low=0,
            high=100,
        ),
        Field(
            "max_phantom_brakes",
            "integer",
            "hard brakes with nothing in or entering the path and "
            "no fault to explain them, at most",
            0,
            low=0,
            high=100,
        ),
        _num(
            "max_stall_s",
            "longest standstill under autonomy with the mission unfinished and no bay "
            "or stop line to explain it",
            "s",
            0.0,
            MAX_TIME_LIMIT_S,
            DEFAULT_MAX_STALL_S,
        ),
    ),
    SuccessCriteria,
)

VARIATION_PARAMETER = Schema(
    "VariationParameter",
    "One varied value: a range (`low`..`high`, with a `step` for a grid) "
    "or a list of `choices`. The target's own type and range hold for "
    "every value (see Variation targets).",
    (
        Field(
            "name",
            "string",
            "what it is called in reports and ids' listings",
            pattern=r"[a-z][a-z0-9_]*",
        ),
        Field(
            "target",
            "string",
            "what it sets (see Variation targets), e.g. `actors.jaywalker.speed_mps`",
        ),
        _num("low", "smallest value", "", -MAX_COORDINATE_M, MAX_COORDINATE_M),
        _num("high", "largest value", "", -MAX_COORDINATE_M, MAX_COORDINATE_M),
        _num(
            "step",
            "grid spacing from low (high is included when it lies on the grid)",
            "",
            0.0,
            MAX_COORDINATE_M,
            None,
            True,
            "none (integer targets: 1)",
        ),
        Field(
            "choices",
            "list",
            "the values to pick from",
            REQUIRED,
            min_items=1,
            item=_num("choice", "", "", -MAX_COORDINATE_M, MAX_COORDINATE_M),
        ),
    ),
    VariationParameter,
    forms=(("low", "high", "step"), ("choices",)),
    check=_check_parameter,
    rules=(
        "low ≤ high; a value is listed once.",
        "Without a step a range is continuous: sampler random draws from it (rounded to "
        f"{10**-RANDOM_DECIMALS:g}), sampler grid refuses it.",
    ),
)

VARIATIONS = Schema(
    "Variations",
    "Concrete variants of the scenario for `robovan eval --variations`. Each "
    "variant is the file with the parameters' values written in, validated as a "
    "file; its id is the first 8 hex digits of the SHA-256 of its sorted "
    "`target=value` pairs (`robovan sim --scenario NAME --variation ID` reruns it). "
    "The base scenario, as written, is not a variant: eval runs it beside them.",
    (
        Field(
            "sampler",
            "string",
            "`grid`: every combination; `random`: `count` seeded draws",
            "grid",
            choices=("grid", "random"),
        ),
        Field(
            "count",
            "integer",
            "how many variants sampler random draws (a duplicate is drawn again)",
            None,
            low=1,
            high=MAX_VARIANTS,
        ),
        Field(
            "sampler_seed",
            "integer",
            "seed of sampler random (Python's `random.random()`, whose "
            "sequence is stable across versions)",
            None,
            low=0,
            high=SEED_MAX,
            default_doc="0",
        ),
        _list("parameters", VARIATION_PARAMETER, "the varied values", min_items=1),
    ),
    Variations,
    check=_check_variations,
    rules=(
        "sampler random needs `count`; a grid takes neither `count` nor `sampler_seed`.",
        "Names and targets are unique; each target exists in the file and applies to it.",
        f"A grid has at most {MAX_VARIANTS} variants; a random `count` is at most the number "
        "of distinct variants the parameters allow.",
        "Every variant is a valid scenario (checked when the variants are expanded).",
    ),
)

SCENARIO = Schema(
    "Scenario",
    "The top level of a scenario file.",
    (
        Field("name", "string", "equals the file name without .yaml", pattern=r"[a-z][a-z0-9_]*"),
        Field("description", "string", "one line: what the scenario tests"),
        Field(
            "map",
            "string",
            "Lanelet2 map file under config/maps",
            DEFAULT_MAP,
            pattern=r"[A-Za-z0-9_\-]+\.osm",
        ),
        Field(
            "seed",
            "integer",
            "seed of every random draw in the run (sensor noise)",
            0,
            low=0,
            high=SEED_MAX,
        ),
        _num(
            "time_limit_s",
            "the run ends here at the latest",
            "s",
            0.0,
            MAX_TIME_LIMIT_S,
            low_open=True,
        ),
        _num(
            "arm_autonomy_at_s",
            "when the scenario arms the van's drive-by-wire (MANUAL → READY)",
            "s",
            0.0,
            MAX_TIME_LIMIT_S,
            DEFAULT_ARM_AUTONOMY_AT_S,
        ),
        _obj("start_pose", START_POSE, "where the van starts"),
        _list(
            "mission", STOP, "delivery stops, in order; the last one ends the route", min_items=1
        ),
        _list("actors", ACTOR, "scripted road users and obstacles", default=()),
        _list("faults", FAULT, "injected failures", default=()),
        _list("gnss_outages", GNSS_OUTAGE, "GNSS outages", default=()),
        _list(
            "traffic_lights",
            TRAFFIC_LIGHT_PLAN,
            "signal plans of the map's signalised intersections",
            default=(),
            default_doc="defaults",
        ),
        _obj("success", SUCCESS, "pass criteria", SuccessCriteria(), "expected_outcome: completed"),
        _obj("variations", VARIATIONS, "concrete variants for evaluation", None, "none"),
    ),
    Scenario,
    check=_check_scenario,
    rules=(
        "arm_autonomy_at_s, trigger times and fault starts come before time_limit_s.",
        "Actor ids are unique; an intersection has one plan at most.",
        "The map file exists under config/maps; "
        "with a map loaded, bay and lanelet names exist in it.",
    ),
)

ALL_SCHEMAS = (
    SCENARIO,
    START_POSE,
    STOP,
    ACTOR,
    WAYPOINT,
    SIZE,
    TRIGGER,
    BRAKE,
    POINT,
    FAULT,
    GNSS_OUTAGE,
    ZONE,
    TRAFFIC_LIGHT_PLAN,
    SIGNAL_PHASE,
    SUCCESS,
    VARIATIONS,
    VARIATION_PARAMETER,
)


# ----------------------------------------------------------------------------------------------
# Loading.


class MapLike(Protocol):
    """What validation needs of a loaded map (robovan_autonomy.mapping.lanelet_map.DistrictMap)."""

    bays: Mapping[str, Any]  # name → DeliveryBay
    lanes: Mapping[int, Any]  # lanelet id → Lane (with length_m and pose_at)
    traffic_lights: Mapping[int, Any]  # element id → TrafficLight (name, intersection, lane)
    intersections: Mapping[str, Any]  # name → Intersection (with its control)


def scenario_path(name_or_path: str | Path) -> Path:
    """A bare name means config/scenarios/NAME.yaml; anything with a suffix or a slash is a path."""
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or "/" in text or text.endswith((".yaml", ".yml")):
        return Path(name_or_path)
    return SCENARIO_DIR / f"{text}.yaml"


def list_scenarios() -> list[str]:
    """Names of the shipped scenarios, sorted."""
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))


def _parse(doc: Any, path: Path) -> Scenario:
    scenario = _validate(doc, SCENARIO, "")
    if scenario.name != path.stem:
        raise _Invalid("name", f"{scenario.name!r} differs from the file name {path.stem!r}")
    if not scenario.map_path.is_file():
        raise _Invalid("map", f"no map {scenario.map!r} under {MAP_DIR}")
    return dataclasses.replace(scenario, source=path)


def parse_scenario(doc: Any, path: str | Path, lanelet_map: MapLike | None = None) -> Scenario:
    """Validate an already-parsed YAML document; errors name `path` as the file."""
    path = Path(path)
    try:
        scenario = _parse(doc, path)
    except _Invalid as err:
        raise ConfigError(path, err.key, err.reason) from None
    if lanelet_map is not None:
        check_against_map(scenario, lanelet_map)
    return scenario


def check_time_limit(value: float) -> float:
    """A time limit given outside a scenario file (`robovan sim --time-limit`), held to the
    schema's time_limit_s rule; ValueError saying why not."""
    try:
        return _convert(value, SCENARIO.field("time_limit_s"), "time_limit_s")
    except _Invalid as err:
        raise ValueError(err.reason) from None


def parse_actor(doc: Any, source: str | Path = "<inline actor>") -> ActorSpec:
    """One actor mapping, validated as in a scenario file (for tests and ad-hoc tools)."""
    try:
        return _validate(doc, ACTOR, "")
    except _Invalid as err:
        raise ConfigError(source, err.key, err.reason) from None


def _read(name_or_path: str | Path) -> tuple[Path, Any]:
    path = scenario_path(name_or_path)
    if not path.is_file():
        known = ", ".join(list_scenarios()) or "none"
        raise ConfigError(path, "", f"no such scenario file (shipped scenarios: {known})")
    return path, load_yaml(path)


def load_scenario(
    name_or_path: str | Path, lanelet_map: MapLike | None = None, variation: str | None = None
) -> Scenario:
    """Read and validate a scenario, or with `variation` (an id) that concrete variant of it;
    with `lanelet_map`, bay and lanelet names are checked too."""
    path, doc = _read(name_or_path)
    base = parse_scenario(doc, path, lanelet_map)
    if variation is None:
        return base
    found = next((v for v in variants(base) if v.id == variation), None)
    if found is None:
        ids = [v.id for v in variants(base)]
        known = (
            f"its {len(ids)} variants: {', '.join(ids[:10])}{', …' if len(ids) > 10 else ''}"
            if ids
            else "it declares no variations"
        )
        raise ConfigError(path, "variations", f"no variant {variation!r} ({known})")
    return _concrete(doc, base, found, path, lanelet_map)


def scenario_variants(
    name_or_path: str | Path, lanelet_map: MapLike | None = None
) -> list[Scenario]:
    """Every concrete variant of a scenario (not the base), each validated like a file."""
    path, doc = _read(name_or_path)
    base = parse_scenario(doc, path, lanelet_map)
    return [_concrete(doc, base, variant, path, lanelet_map) for variant in variants(base)]


def check_against_map(scn: Scenario, lanelet_map: MapLike) -> None:
    """ConfigError naming the scenario file when a bay or lanelet it names is not in the map,
    or its start lies beyond its lanelet's end: whatever runs a scenario calls this first."""
    try:
        _check_against_map(scn, lanelet_map)
    except _Invalid as err:
        raise ConfigError(scn.source, err.key, err.reason) from None


def _check_against_map(scn: Scenario, lanelet_map: MapLike) -> None:
    start = scn.start_pose
    if start.bay is not None and start.bay not in lanelet_map.bays:
        raise _Invalid(
            "start_pose.bay",
            f"unknown bay name {start.bay!r} in map {scn.map} "
            f"(bays: {', '.join(lanelet_map.bays)})",
        )
    if start.lanelet is not None:
        lane = lanelet_map.lanes.get(start.lanelet)
        if lane is None:
            raise _Invalid(
                "start_pose.lanelet", f"no road lanelet {start.lanelet} in map {scn.map}"
            )
        if start.s > lane.length_m:
            raise _Invalid(
                "start_pose.s",
                f"{start.s} m is beyond the end of lanelet {start.lanelet} "
                f"({lane.length_m:.1f} m long)",
            )
    for i, stop in enumerate(scn.mission):
        if stop.bay not in lanelet_map.bays:
            raise _Invalid(
                f"mission[{i}].bay",
                f"unknown bay name {stop.bay!r} in map {scn.map} "
                f"(bays: {', '.join(lanelet_map.bays)})",
            )
    _signal_plans(scn, lanelet_map)


def signal_plans(scn: Scenario, lanelet_map: MapLike) -> tuple[signals.SignalPlan, ...]:
    """The plan of every signalised intersection of the map: the scenario's where it declares
    one, the default elsewhere. ConfigError naming the file when a declared plan cannot run."""
    try:
        return _signal_plans(scn, lanelet_map)
    except _Invalid as err:
        raise ConfigError(scn.source, err.key, err.reason) from None


def _signal_plans(scn: Scenario, lanelet_map: MapLike) -> tuple[signals.SignalPlan, ...]:
    signalised = sorted(
        name for name, x in lanelet_map.intersections.items() if x.control == "traffic_lights"
    )
    declared = {plan.intersection: (i, plan) for i, plan in enumerate(scn.traffic_lights)}
    for name, (i, _) in declared.items():
        if name not in signalised:
            raise _Invalid(
                f"traffic_lights[{i}].intersection",
                f"{name!r} is not a signalised intersection of map {scn.map} "
                f"(signalised: {', '.join(signalised) or 'none'})",
            )
    plans = []
    for name in signalised:
        default = signals.default_plan(lanelet_map, name)
        if name not in declared:
            plans.append(default)
            continue
        i, spec = declared[name]
        path = f"traffic_lights[{i}]"
        ids = signals.intersection_lights(lanelet_map, name)
        phases = default.phases
        if spec.phases is not None:
            phases = []
            for k, phase in enumerate(spec.phases):
                for j, light in enumerate(phase.lights):
                    if light not in ids:
                        raise _Invalid(
                            f"{path}.phases[{k}].lights[{j}]",
                            f"no signal {light!r} at {name} (signals: {', '.join(sorted(ids))})",
                        )
                phases.append(
                    signals.Phase(tuple(ids[light] for light in phase.lights), phase.green_s)
                )
        plan = signals.SignalPlan(name, tuple(phases), spec.amber_s, spec.all_red_s, spec.offset_s)
        problems = signals.plan_problems(lanelet_map, plan)
        if problems:
            raise _Invalid(f"{path}.phases", "; ".join(problems))
        plans.append(plan)
    return tuple(plans)


def parked_pose(
    bay_pose: tuple[float, float, float], vehicle: VehicleParams
) -> tuple[float, float, float]:
    """base_link pose of the van parked with its footprint centred on a bay's bay_pose."""
    x, y, yaw = bay_pose
    centre_ahead_m = vehicle.length_m / 2.0 - vehicle.rear_overhang_m
    return x - centre_ahead_m * math.cos(yaw), y - centre_ahead_m * math.sin(yaw), yaw


def start_pose_in_map(
    scn: Scenario, lanelet_map: MapLike, vehicle: VehicleParams
) -> tuple[float, float, float]:
    """The van's starting base_link pose (x, y, yaw) in the map frame, whichever form was given."""
    start = scn.start_pose
    if start.bay is not None:
        return parked_pose(lanelet_map.bays[start.bay].bay_pose, vehicle)
    if start.lanelet is not None:
        return lanelet_map.lanes[start.lanelet].pose_at(start.s)
    return start.x, start.y, start.yaw


# ----------------------------------------------------------------------------------------------
# The README, rendered from the declarations above.


def _number_text(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


def _range_text(spec: Field) -> str:
    low = "-∞" if spec.low is None else _number_text(spec.low)
    high = "∞" if spec.high is None else _number_text(spec.high)
    return f"{'(' if spec.low_open or spec.low is None else '['}{low}, {high}]"


def _type_text(spec: Field) -> str:
    if spec.kind == "object":
        return f"[{spec.schema.title}](#{spec.schema.title.lower()})"
    if spec.kind == "list" and spec.item is not None:
        return f"list of {spec.item.kind}"
    if spec.kind == "list":
        return f"list of [{spec.schema.title}](#{spec.schema.title.lower()})"
    return spec.kind


def _default_text(spec: Field, required_in_form: bool) -> str:
    if spec.default is REQUIRED:
        return "required in its form" if required_in_form else "**required**"
    if spec.default_doc:
        return spec.default_doc
    if spec.default is None:
        return "unset"
    if isinstance(spec.default, bool):
        return str(spec.default).lower()
    if isinstance(spec.default, tuple):
        return "[]"
    return f"`{spec.default}`"


def _allowed_text(spec: Field) -> str:
    parts = []
    if spec.choices:
        parts.append(", ".join(f"`{c}`" for c in spec.choices))
    if spec.pattern:
        parts.append(f"matches `{spec.pattern}`")
    if spec.kind in ("number", "integer") and (spec.low is not None or spec.high is not None):
        parts.append(_range_text(spec))
    if spec.min_items:
        parts.append(f"≥ {spec.min_items} item(s)")
    return "; ".join(parts)


def _schema_markdown(schema: Schema) -> list[str]:
    lines = [
        f"### {schema.title}",
        "",
        schema.doc,
        "",
        "| key | type | unit | default | allowed | meaning |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for spec in schema.fields:
        lines.append(
            f"| `{spec.key}` | {_type_text(spec)} | {spec.unit} | "
            f"{_default_text(spec, _in_form(schema, spec.key))} | "
            f"{_allowed_text(spec)} | {spec.doc} |"
        )
    lines.append("")
    if schema.forms:

        def key_text(key: str) -> str:
            return f"`{key}`" if schema.field(key).default is REQUIRED else f"[`{key}`]"

        forms = " | ".join(" + ".join(key_text(k) for k in form) for form in schema.forms)
        lines += [f"Give exactly one form ([optional]): {forms}.", ""]
    lines += [f"- {rule}" for rule in schema.rules]
    return lines + ([""] if schema.rules else [])


def render_readme() -> str:
    """The whole config/scenarios/README.md; a test keeps the file equal to this."""
    lines = [
        "# Scenarios",
        "",
        "<!-- Generated by `python -m robovan_autonomy.sim.scenario --write-readme` "
        "from the schema",
        "     in robovan_autonomy/sim/scenario.py and the files here. Do not edit by hand. -->",
        "",
        "Closed-loop scenarios for the embedded simulator. `load_scenario(NAME)` reads",
        "`config/scenarios/NAME.yaml`; `list_scenarios()` lists them. Positions are in the map's",
        "`map` frame (metres, x east, y north), angles in radians counter-clockwise from x, times",
        "in seconds of scenario time (0 at simulation start). Bay names and coordinates are in",
        "config/maps/README.md.",
        "",
        "A bad file raises `ConfigError(file, key, reason)` naming the key path, for example",
        "`config/scenarios/x.yaml at 'actors[2].path[1].speed_mps': "
        "-1 is out of range, allowed (0, 20]`.",
        "Unknown keys, wrong types, NaN or infinite numbers, out-of-range values, unknown names,",
        "duplicate keys and the cross-field rules listed under each table are all rejected.",
        "",
        "## Shipped scenarios",
        "",
        "| name | time limit | stops | actors | faults / outages | variants | description |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name in list_scenarios():
        scn = load_scenario(name)
        spec = scn.variations
        varied = (
            ""
            if spec is None
            else (
                f"{len(variants(scn))} ({spec.sampler}: "
                f"{', '.join(p.name for p in spec.parameters)})"
            )
        )
        lines.append(
            f"| `{name}` | {scn.time_limit_s:g} s | {len(scn.mission)} | "
            f"{len(scn.actors)} | {len(scn.faults)} / {len(scn.gnss_outages)} | "
            f"{varied} | {scn.description} |"
        )
    lines += ["", "## Schema", ""]
    for schema in ALL_SCHEMAS:
        lines += _schema_markdown(schema)
    lines += [
        "## Variation targets",
        "",
        "What a variation parameter's `target` may name; each value must meet the named "
        "key's type and range.",
        "",
        "| target | sets | allowed | applies when |",
        "| --- | --- | --- | --- |",
    ]
    targets = {
        **_scenario_targets(),
        **{
            f"{head}.<{VARIED_ITEMS[head]}>.{key}": target
            for head, item_targets in _item_targets().items()
            for key, target in item_targets.items()
        },
    }
    for key, target in targets.items():
        lines.append(f"| `{key}` | {target.doc} | {_allowed_text(target.field)} | {target.when} |")
    lines.append("")
    lines += [
        "## Actor types",
        "",
        "| type | class_id | length × width × height | accel_mps2 | why these defaults |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, t in ACTOR_TYPES.items():
        lines.append(
            f"| `{name}` | {int(t.class_id)} ({t.class_id.name}) | "
            f"{t.length_m:g} × {t.width_m:g} × {t.height_m:g} m | {t.accel_mps2:g} | {t.why} |"
        )
    lines += [
        "",
        "## Faults",
        "",
        "| target | " + " | ".join(FAULT_KINDS) + " |",
        "| --- |" + " --- |" * len(FAULT_KINDS),
    ]
    for target, kinds in FAULT_KINDS_BY_TARGET.items():
        lines.append(
            f"| `{target}` | " + " | ".join("✓" if k in kinds else "" for k in FAULT_KINDS) + " |"
        )
    lines += [""] + [f"- `{kind}`: {meaning}" for kind, meaning in FAULT_KINDS.items()]
    lines += [
        "",
        "## Outcomes",
        "",
        "The run report's `outcome`: the first of these that holds.",
        "",
    ]
    lines += [f"- `{name}`: {meaning}" for name, meaning in OUTCOMES.items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-readme", action="store_true", help=f"rewrite {README_PATH}")
    args = parser.parse_args(argv)
    if args.write_readme:
        README_PATH.write_text(render_readme())
    else:
        print(render_readme(), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
