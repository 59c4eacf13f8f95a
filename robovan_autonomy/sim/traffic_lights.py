"""The simulator's traffic signals: a fixed-time plan per signalised intersection of the map.

A plan is a cycle of phases. Each phase gives green to a group of approaches that never cross
each other (one street's two directions), then amber, then an all-red clearance before the next
phase's green; every other signal shows red meanwhile. So two crossing approaches are never green
or amber together. The map says where the signals are (Lanelet2 traffic_light elements); a
scenario may declare an intersection's plan and its offset, and every signalised intersection it
leaves out runs `default_plan`.

Pure: no ROS. The states are the simulator's ground truth; the stack reads them on
/perception/traffic_lights only because no camera classifier exists yet.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

import numpy as np

from robovan_autonomy.core_types import TrafficLightState

if TYPE_CHECKING:
    from robovan_autonomy.mapping.lanelet_map import DistrictMap

# Amber for approaches up to 50 km/h: the shortest any road authority uses (RiLSA 3 s; MUTCD
# 3-6 s), long enough for a vehicle at the limit that cannot stop comfortably to reach the line.
DEFAULT_AMBER_S = 3.0
# All-red clearance: a vehicle that entered at the end of amber at 30-40 km/h crosses the 20 m
# box and its far crosswalk (about 30 m with its own length) in under 3 s; 2 s after amber.
DEFAULT_ALL_RED_S = 2.0
# Green per phase: a 50 s cycle for two phases, the short end of urban fixed-time plans.
DEFAULT_GREEN_S = 20.0
# Approaches whose headings are within 30° of parallel or opposite do not cross (one street's two
# directions); more than that, and they do.
PARALLEL_MAX_SINE = 0.5


@dataclasses.dataclass(frozen=True)
class Phase:
    lights: tuple[int, ...]  # ids of the traffic_light elements green together
    green_s: float


@dataclasses.dataclass(frozen=True)
class SignalPlan:
    """One intersection's cycle: each phase's green, amber_s, then all_red_s. offset_s is where in
    the cycle the plan stands at time 0."""

    intersection: str
    phases: tuple[Phase, ...]
    amber_s: float = DEFAULT_AMBER_S
    all_red_s: float = DEFAULT_ALL_RED_S
    offset_s: float = 0.0

    @property
    def cycle_s(self) -> float:
        return sum(p.green_s + self.amber_s + self.all_red_s for p in self.phases)

    def states(self, t_s: float) -> dict[int, TrafficLightState]:
        at = math.fmod(t_s + self.offset_s, self.cycle_s)
        out = {}
        for phase in self.phases:
            if 0.0 <= at < phase.green_s:
                state = TrafficLightState.GREEN
            elif phase.green_s <= at < phase.green_s + self.amber_s:
                state = TrafficLightState.AMBER
            else:
                state = TrafficLightState.RED
            out.update(dict.fromkeys(phase.lights, state))
            at -= phase.green_s + self.amber_s + self.all_red_s
        return out


def approach_heading(dmap: DistrictMap, light_id: int) -> np.ndarray:
    """Unit vector of travel on the approach a signal controls, where it meets its stop line."""
    lane = dmap.lanes[dmap.traffic_lights[light_id].lanelet_id]
    step = lane.centerline[-1] - lane.centerline[-2]
    return step / np.linalg.norm(step)


def crossing(dmap: DistrictMap, a: int, b: int) -> bool:
    """Whether the approaches of two signals cross (and so must never go together)."""
    ha, hb = approach_heading(dmap, a), approach_heading(dmap, b)
    return abs(float(ha[0] * hb[1] - ha[1] * hb[0])) > PARALLEL_MAX_SINE


def intersection_lights(dmap: DistrictMap, intersection: str) -> dict[str, int]:
    """Name → id of the signals of one intersection."""
    return {
        tl.name: tl.id for tl in dmap.traffic_lights.values() if tl.intersection == intersection
    }


def default_plan(dmap: DistrictMap, intersection: str) -> SignalPlan:
    """Each street through the intersection gets a phase (signals whose approaches do not cross
    share one), in the order of their first signal's name, at the default timings."""
    groups: list[list[int]] = []
    for _, light in sorted(intersection_lights(dmap, intersection).items()):
        group = next((g for g in groups if not any(crossing(dmap, light, o) for o in g)), None)
        if group is None:
            groups.append([light])
        else:
            group.append(light)
    return SignalPlan(intersection, tuple(Phase(tuple(g), DEFAULT_GREEN_S) for g in groups))


def plan_problems(dmap: DistrictMap, plan: SignalPlan) -> list[str]:
    """Why a plan cannot run the intersection: a signal given no green or two, or signals whose
    approaches cross green in one phase. Empty when it can."""
    names = {i: name for name, i in intersection_lights(dmap, plan.intersection).items()}
    given = [i for phase in plan.phases for i in phase.lights]
    problems = [f"{names[i]} has no phase" for i in sorted(names) if i not in given]
    problems += [
        f"{names[i]} is in {given.count(i)} phases"
        for i in sorted(set(given))
        if given.count(i) > 1
    ]
    for k, phase in enumerate(plan.phases):
        problems += [
            f"phase {k}: {names[a]} and {names[b]} cross"
            for n, a in enumerate(phase.lights)
            for b in phase.lights[n + 1 :]
            if crossing(dmap, a, b)
        ]
    return problems


class TrafficSignals:
    """Every signal of the map, each on its intersection's plan."""

    def __init__(self, plans: tuple[SignalPlan, ...]):
        self.plans = plans

    def states(self, t_s: float) -> dict[int, TrafficLightState]:
        out: dict[int, TrafficLightState] = {}
        for plan in self.plans:
            out.update(plan.states(t_s))
        return dict(sorted(out.items()))
