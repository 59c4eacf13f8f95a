"""The simulator's signals: fixed-time cycles, the default plans from the map, and that two
approaches that cross are never given way together."""

import itertools

import numpy as np
import pytest

from robovan_autonomy.core_types import TrafficLightState
from robovan_autonomy.mapping.lanelet_map import load_map
from robovan_autonomy.sim.scenario import (
    list_scenarios,
    load_scenario,
    scenario_variants,
    signal_plans,
)
from robovan_autonomy.sim.traffic_lights import (
    Phase,
    SignalPlan,
    TrafficSignals,
    crossing,
    default_plan,
    intersection_lights,
    plan_problems,
)

RED, AMBER, GREEN = TrafficLightState.RED, TrafficLightState.AMBER, TrafficLightState.GREEN
STEP_S = 0.05
# Realistic bounds a road authority keeps (the brief's "realistic lengths").
MIN_AMBER_S, MIN_ALL_RED_S = 3.0, 1.0


@pytest.fixture(scope="module")
def district():
    return load_map()


def two_phase_plan(offset_s=0.0):
    return SignalPlan("I9", (Phase((1, 2), 10.0), Phase((3,), 20.0)), 3.0, 2.0, offset_s)


@pytest.mark.parametrize(
    ("t_s", "expected"),
    [
        (0.0, (GREEN, GREEN, RED)),
        (9.99, (GREEN, GREEN, RED)),
        (10.0, (AMBER, AMBER, RED)),
        (13.0, (RED, RED, RED)),  # all red
        (15.0, (RED, RED, GREEN)),
        (35.0, (RED, RED, AMBER)),
        (38.0, (RED, RED, RED)),
        (40.0, (GREEN, GREEN, RED)),  # the next cycle
    ],
)
def test_a_plan_runs_each_phase_green_amber_then_all_red_in_turn(t_s, expected):
    states = two_phase_plan().states(t_s)
    assert (states[1], states[2], states[3]) == expected


def test_the_offset_is_where_in_the_cycle_the_plan_stands_at_time_zero():
    assert two_phase_plan(offset_s=15.0).states(0.0) == two_phase_plan().states(15.0)
    assert two_phase_plan(offset_s=55.0).states(0.0) == two_phase_plan().states(15.0)


def test_the_default_plan_gives_each_street_through_the_intersection_one_phase(district):
    for name in ("I3", "I4"):
        plan = default_plan(district, name)
        lights = intersection_lights(district, name)
        assert sorted(i for p in plan.phases for i in p.lights) == sorted(lights.values())
        assert len(plan.phases) == 2
        assert plan.amber_s >= MIN_AMBER_S and plan.all_red_s >= MIN_ALL_RED_S
        assert not plan_problems(district, plan)
    phases = default_plan(district, "I3").phases
    names = {i: n for n, i in intersection_lights(district, "I3").items()}
    assert [sorted(names[i] for i in p.lights) for p in phases] == [
        ["I3_east", "I3_west"],
        ["I3_north", "I3_south"],
    ]


def test_the_approaches_of_one_street_do_not_cross_and_those_of_two_do(district):
    lights = intersection_lights(district, "I3")
    assert not crossing(district, lights["I3_west"], lights["I3_east"])
    assert crossing(district, lights["I3_west"], lights["I3_north"])


def every_plan(district):
    """The default plans and every plan a shipped scenario (or one of its variants) runs."""
    plans = []
    for name in list_scenarios():
        for scenario in (load_scenario(name), *scenario_variants(name)):
            plans += signal_plans(scenario, district)
    return plans


def test_crossing_approaches_are_never_given_way_together_in_any_shipped_plan(district):
    """Sampled over a whole cycle: two signals whose approaches cross are never both green or
    amber (amber still lets a vehicle enter)."""
    for plan in every_plan(district):
        ids = sorted(i for p in plan.phases for i in p.lights)
        pairs = [(a, b) for a, b in itertools.combinations(ids, 2) if crossing(district, a, b)]
        assert pairs
        for t in np.arange(0.0, plan.cycle_s, STEP_S):
            states = plan.states(float(t))
            going = {i for i, s in states.items() if s is not RED}
            assert not any(a in going and b in going for a, b in pairs), (plan.intersection, t)


def test_every_signal_gets_green_once_a_cycle_in_every_shipped_plan(district):
    for plan in every_plan(district):
        greens = {i: 0 for p in plan.phases for i in p.lights}
        previous = plan.states(-STEP_S)
        for t in np.arange(0.0, plan.cycle_s, STEP_S):
            states = plan.states(float(t))
            for i, state in states.items():
                greens[i] += state is GREEN and previous[i] is not GREEN
            previous = states
        assert set(greens.values()) == {1}, plan.intersection


def test_the_signals_are_every_signal_of_the_map_on_its_intersections_plan(district):
    plans = signal_plans(load_scenario("delivery_loop"), district)
    states = TrafficSignals(plans).states(0.0)
    assert sorted(states) == sorted(district.traffic_lights)
