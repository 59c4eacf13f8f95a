"""Scenario variations: a file's variations block expands into concrete variants with stable
ids, each the file with the varied values written in, and a bad block says file, key and why."""

import copy

import pytest
import yaml

from robovan_autonomy.config_errors import ConfigError
from robovan_autonomy.sim.scenario import list_scenarios, load_scenario, scenario_variants, variants

BASE = {
    "name": "probe",
    "description": "a scenario whose variations the tests change",
    "seed": 3,
    "time_limit_s": 60.0,
    "start_pose": {"lanelet": 13, "s": 10.0},
    "mission": [{"bay": "bay_D"}],
    "actors": [
        {"id": "parked", "type": "van", "path": [{"x": 100.0, "y": -1.75}]},
        {
            "id": "walker",
            "type": "pedestrian",
            "speed_mps": 1.4,
            "start": {"van_within_m": 30.0},
            "path": [{"x": 150.0, "y": -8.0}, {"x": 150.0, "y": 8.0}],
        },
        {
            "id": "lead",
            "type": "car",
            "speed_mps": 9.0,
            "brake": {"time_s": 20.0, "decel_mps2": 6.0},
            "path": [{"x": 40.0, "y": -1.75}, {"x": 400.0, "y": -1.75}],
        },
    ],
}


def with_variations(tmp_path, variations, name="probe", **changes):
    doc = copy.deepcopy(BASE)
    doc.update(name=name, variations=variations, **changes)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def grid(*parameters):
    return {"sampler": "grid", "parameters": list(parameters)}


def random_draws(count, *parameters, sampler_seed=None):
    block = {"sampler": "random", "count": count, "parameters": list(parameters)}
    if sampler_seed is not None:
        block["sampler_seed"] = sampler_seed
    return block


WALK = {"name": "walk", "target": "actors.walker.speed_mps", "low": 1.0, "high": 1.8, "step": 0.4}
TRIGGER = {"name": "trigger", "target": "actors.walker.start.van_within_m", "choices": [25, 35]}
DECEL = {"name": "decel", "target": "actors.lead.brake.decel_mps2", "low": 4.0, "high": 8.0}


def rejection(path):
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    assert info.value.path == path and str(path) in str(info.value)
    return info.value


# --- expansion ---------------------------------------------------------------------------------


def test_a_grid_is_every_combination_with_the_last_parameter_fastest(tmp_path):
    found = variants(load_scenario(with_variations(tmp_path, grid(WALK, TRIGGER))))
    assert [v.values for v in found] == [
        (("walk", w), ("trigger", t)) for w in (1.0, 1.4, 1.8) for t in (25.0, 35.0)
    ]


def test_a_grid_range_includes_high_only_when_it_lies_on_the_step(tmp_path):
    walk = {**WALK, "high": 1.7}
    found = variants(load_scenario(with_variations(tmp_path, grid(walk))))
    assert [v.as_dict()["walk"] for v in found] == [1.0, 1.4]


def test_an_integer_target_steps_by_one_unless_told(tmp_path):
    seeds = {"name": "seed", "target": "seed", "low": 4, "high": 7}
    found = variants(load_scenario(with_variations(tmp_path, grid(seeds))))
    assert [v.as_dict()["seed"] for v in found] == [4, 5, 6, 7]


def test_random_draws_are_the_same_on_every_load(tmp_path):
    path = with_variations(tmp_path, random_draws(5, DECEL, TRIGGER, sampler_seed=9))
    assert variants(load_scenario(path)) == variants(load_scenario(path))


def test_random_draws_follow_pythons_stable_random_sequence(tmp_path):
    """random.Random(seed).random() is the one sequence Python promises to keep across versions."""
    found = variants(load_scenario(with_variations(tmp_path, random_draws(3, DECEL))))
    assert [v.as_dict()["decel"] for v in found] == [7.378, 7.032, 5.682]


def test_random_draws_differ_with_the_sampler_seed(tmp_path):
    one = variants(load_scenario(with_variations(tmp_path, random_draws(5, DECEL), "one")))
    two = variants(
        load_scenario(with_variations(tmp_path, random_draws(5, DECEL, sampler_seed=1), "two"))
    )
    assert [v.values for v in one] != [v.values for v in two]


def test_random_draws_from_a_range_stay_in_it_rounded_to_a_millimetre(tmp_path):
    found = variants(load_scenario(with_variations(tmp_path, random_draws(50, DECEL))))
    decels = [v.as_dict()["decel"] for v in found]
    assert all(4.0 <= d <= 8.0 and d == round(d, 3) for d in decels)
    assert len(set(decels)) == 50


def test_random_draws_of_choices_are_distinct_variants(tmp_path):
    found = variants(load_scenario(with_variations(tmp_path, random_draws(2, TRIGGER))))
    assert sorted(v.as_dict()["trigger"] for v in found) == [25.0, 35.0]


# --- ids -----------------------------------------------------------------------------------------


def test_a_variant_id_is_pinned_to_what_it_sets(tmp_path):
    """The id is a hash of `target=value` pairs; a change of scheme would orphan every id people
    have written down, so one is pinned here."""
    found = variants(load_scenario(with_variations(tmp_path, grid(TRIGGER))))
    assert [v.id for v in found] == ["06db6c0f", "ca0f9109"]  # sha256("…van_within_m=25.0")


def test_ids_do_not_depend_on_parameter_names_order_or_sampler(tmp_path):
    renamed = [{**TRIGGER, "name": "distance"}, {**WALK, "name": "pace"}]
    first = variants(load_scenario(with_variations(tmp_path, grid(WALK, TRIGGER), "first")))
    second = variants(load_scenario(with_variations(tmp_path, grid(*renamed), "second")))
    drawn = variants(
        load_scenario(with_variations(tmp_path, random_draws(6, WALK, TRIGGER), "drawn"))
    )
    assert {v.id for v in first} == {v.id for v in second} == {v.id for v in drawn}


def test_variant_ids_of_a_file_are_unique(tmp_path):
    found = variants(load_scenario(with_variations(tmp_path, random_draws(200, DECEL, WALK))))
    assert len({v.id for v in found}) == 200


# --- a variant is the file with its values written in ------------------------------------------


@pytest.mark.parametrize(
    "target, value, read",
    [
        ("seed", 11, lambda s: s.seed),
        ("start_pose.s", 25.0, lambda s: s.start_pose.s),
        ("actors.walker.speed_mps", 1.1, lambda s: s.actors[1].speed_mps),
        ("actors.walker.start.van_within_m", 45.0, lambda s: s.actors[1].start.van_within_m),
        ("actors.walker.start_delay_s", 1.5, lambda s: s.actors[1].path[0].wait_s),
        ("actors.lead.start.time_s", 2.0, lambda s: s.actors[2].start.time_s),
        ("actors.walker.size.height_m", 1.1, lambda s: s.actors[1].size.height_m),
        ("actors.parked.size.length_m", 7.0, lambda s: s.actors[0].size.length_m),
        ("actors.lead.brake.decel_mps2", 7.5, lambda s: s.actors[2].brake.decel_mps2),
        ("actors.lead.brake.time_s", 25.0, lambda s: s.actors[2].brake.time_s),
    ],
)
def test_a_variant_has_the_varied_value(tmp_path, target, value, read):
    path = with_variations(tmp_path, grid({"name": "x", "target": target, "choices": [value]}))
    [variant] = scenario_variants(path)
    assert read(variant) == value
    assert read(load_scenario(path)) != value
    assert load_scenario(path, variation=variant.variation.id) == variant


def test_an_offset_shifts_a_moving_actor_to_the_left_of_its_heading(tmp_path):
    path = with_variations(
        tmp_path, grid({"name": "x", "target": "actors.walker.offset_m", "choices": [0.5]})
    )
    [variant] = scenario_variants(path)
    assert [(w.x, w.y) for w in variant.actors[1].path] == [(149.5, -8.0), (149.5, 8.0)]


def test_an_offset_shifts_a_stationary_actor_across_its_yaw(tmp_path):
    path = with_variations(
        tmp_path, grid({"name": "x", "target": "actors.parked.offset_m", "choices": [-0.5]})
    )
    [variant] = scenario_variants(path)
    assert (variant.actors[0].path[0].x, variant.actors[0].path[0].y) == (100.0, -2.25)


def test_a_variant_knows_its_id_and_values_and_keeps_everything_else(tmp_path):
    path = with_variations(tmp_path, grid(TRIGGER))
    base, variant = load_scenario(path), scenario_variants(path)[0]
    assert variant.variation.as_dict() == {"trigger": 25.0}
    assert base.variation is None
    assert (variant.name, variant.mission, variant.actors[0], variant.actors[2]) == (
        base.name,
        base.mission,
        base.actors[0],
        base.actors[2],
    )


def test_an_unknown_variant_id_lists_the_files_variants(tmp_path):
    path = with_variations(tmp_path, grid(TRIGGER))
    with pytest.raises(ConfigError) as info:
        load_scenario(path, variation="deadbeef")
    assert info.value.key == "variations"
    assert "no variant 'deadbeef' (its 2 variants: 06db6c0f, ca0f9109)" in info.value.reason


def test_a_scenario_without_variations_has_none_to_run():
    with pytest.raises(ConfigError) as info:
        load_scenario("corridor_cruise", variation="06db6c0f")
    assert "declares no variations" in info.value.reason
    assert variants(load_scenario("corridor_cruise")) == ()


# --- a bad block says file, key and why -----------------------------------------------------------


@pytest.mark.parametrize(
    "variations, key, reason",
    [
        (
            grid({**TRIGGER, "target": "actors.walker.mood"}),
            "variations.parameters[0].target",
            "unknown target 'actors.walker.mood'",
        ),
        (
            grid({**TRIGGER, "target": "actors.ghost.speed_mps"}),
            "variations.parameters[0].target",
            "no actor 'ghost' (actors: parked, walker, lead)",
        ),
        (
            grid({**TRIGGER, "target": "actors.parked.speed_mps"}),
            "variations.parameters[0].target",
            "cannot be varied: a stationary actor",
        ),
        (
            grid({**TRIGGER, "target": "actors.lead.start.van_within_m"}),
            "variations.parameters[0].target",
            "its start is not given by van_within_m",
        ),
        (
            grid({**TRIGGER, "target": "actors.walker.brake.decel_mps2"}),
            "variations.parameters[0].target",
            "the actor has no brake",
        ),
        (
            grid({**WALK, "high": 25.0}),
            "variations.parameters[0].high",
            "25.0 is out of range, allowed (0, 20]",
        ),
        (
            grid({"name": "seed", "target": "seed", "choices": [1, 2.5]}),
            "variations.parameters[0].choices[1]",
            "expected an integer",
        ),
        (grid({**WALK, "low": 2.0}), "variations.parameters[0].high", "below low 2.0"),
        (
            grid({**TRIGGER, "choices": [25, 25]}),
            "variations.parameters[0].choices",
            "listed twice",
        ),
        (grid({**WALK, "choices": [1.0]}), "variations.parameters[0]", "give exactly one of"),
        (grid(DECEL), "variations.sampler", "a grid needs a step or choices"),
        (
            grid(WALK, {**TRIGGER, "name": "walk"}),
            "variations.parameters[1].name",
            "duplicate name",
        ),
        (
            grid(WALK, {**WALK, "name": "pace"}),
            "variations.parameters[1].target",
            "duplicate target",
        ),
        ({"sampler": "random", "parameters": [WALK]}, "variations.count", "needs a count"),
        ({**grid(WALK), "count": 3}, "variations.count", "only sampler random"),
        (random_draws(3, TRIGGER), "variations.count", "allow only 2 distinct ones"),
        (
            grid({"name": "seed", "target": "seed", "low": 0, "high": 5000}),
            "variations.parameters",
            "the grid has 5001 variants",
        ),
        (
            grid({"name": "brake_at", "target": "actors.lead.brake.time_s", "choices": [0.0]}),
            "actors[2].brake.time_s",
            "not after the start time 0.0 (in variant",
        ),
        ({"sampler": "grid", "parameters": []}, "variations.parameters", "at least 1 item"),
    ],
)
def test_a_bad_variations_block_is_rejected_naming_the_key_and_the_reason(
    tmp_path, variations, key, reason
):
    path = with_variations(tmp_path, variations)
    with pytest.raises(ConfigError) as info:
        scenario_variants(path)
    assert info.value.path == path and str(path) in str(info.value)
    assert (info.value.key, reason in info.value.reason) == (key, True), info.value


# --- the shipped catalogue ----------------------------------------------------------------------

VARIED = [name for name in list_scenarios() if load_scenario(name).variations is not None]


def test_the_interactive_shipped_scenarios_declare_variations():
    assert {
        "crosswalk_pedestrian",
        "jaywalker_between_parked_cars",
        "lead_car_hard_brake",
        "stop_and_go_lead",
        "cyclist_ahead",
        "double_parked_van_market_street",
        "double_parked_van_oncoming_traffic",
        "pedestrian_sudden_ttc_1_5s",
        "child_steps_out_from_double_parked_van",
    } <= set(VARIED)


MOVED = [
    name
    for name in VARIED
    if any(p.target != "seed" for p in load_scenario(name).variations.parameters)
]


@pytest.mark.parametrize("name", MOVED)
def test_a_shipped_scenario_whose_variants_change_the_road_says_how_they_stay_fair(name):
    """Variants of the seed alone change sensor noise, not what a careful driver must do."""
    assert "fair" in load_scenario(name).description.lower()
