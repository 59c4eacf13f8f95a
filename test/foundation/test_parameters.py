"""Parameters are declared in code; a params file only overrides, and a bad one is named."""

import pytest

from robovan_autonomy.config_errors import ConfigError
from robovan_autonomy.parameters import Param, load_params_file, markdown_table

DECLARED = {
    "planner": [
        Param("rate_hz", 10.0, "planning rate", min=1.0, max=50.0),
        Param("mode", "normal", "driving style", choices=("normal", "cautious")),
    ]
}


def write(tmp_path, text):
    path = tmp_path / "params.yaml"
    path.write_text(text)
    return path


def test_valid_file_overrides_declared_values(tmp_path):
    path = write(tmp_path, "planner:\n  ros__parameters:\n    rate_hz: 20\n")
    assert load_params_file(path, DECLARED) == {"planner": {"rate_hz": 20.0}}


def test_out_of_range_value_names_file_key_and_reason(tmp_path):
    path = write(tmp_path, "planner:\n  ros__parameters:\n    rate_hz: 500.0\n")
    with pytest.raises(ConfigError) as err:
        load_params_file(path, DECLARED)
    assert str(path) in str(err.value)
    assert err.value.key == "planner.ros__parameters.rate_hz"
    assert "above the maximum" in err.value.reason


def test_unknown_key_is_an_error(tmp_path):
    path = write(tmp_path, "planner:\n  ros__parameters:\n    rate: 5.0\n")
    with pytest.raises(ConfigError, match="unknown parameter"):
        load_params_file(path, DECLARED)


def test_unknown_node_is_an_error(tmp_path):
    path = write(tmp_path, "planer:\n  ros__parameters:\n    rate_hz: 5.0\n")
    with pytest.raises(ConfigError, match="unknown node"):
        load_params_file(path, DECLARED)


def test_wrong_type_is_an_error(tmp_path):
    path = write(tmp_path, "planner:\n  ros__parameters:\n    mode: 3\n")
    with pytest.raises(ConfigError, match="expected str"):
        load_params_file(path, DECLARED)


def test_a_list_declared_empty_takes_only_items_of_its_declared_type(tmp_path):
    declared = {"perception": [Param("frame_aliases", [], "aliases", item_type=str)]}
    path = write(tmp_path, "perception:\n  ros__parameters:\n    frame_aliases: [1]\n")
    with pytest.raises(ConfigError, match="expected a list of str, got 1"):
        load_params_file(path, declared)


def test_value_outside_choices_is_an_error(tmp_path):
    path = write(tmp_path, "planner:\n  ros__parameters:\n    mode: reckless\n")
    with pytest.raises(ConfigError, match="not one of"):
        load_params_file(path, DECLARED)


def test_unparsable_yaml_names_the_file(tmp_path):
    path = write(tmp_path, "planner: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_params_file(path, DECLARED)


def test_a_key_given_twice_is_an_error_naming_its_line(tmp_path):
    path = write(tmp_path, "planner:\n  ros__parameters:\n    rate_hz: 20.0\n    rate_hz: 30.0\n")
    with pytest.raises(ConfigError) as err:
        load_params_file(path, DECLARED)
    assert (err.value.path, err.value.key) == (path, "rate_hz")
    assert err.value.reason == "duplicate key on line 4"


def test_a_binary_file_is_an_error_naming_the_file(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(ConfigError) as err:
        load_params_file(path, DECLARED)
    assert err.value.path == path and "not UTF-8 text" in err.value.reason


def test_use_sim_time_is_accepted_for_every_node(tmp_path):
    path = write(tmp_path, "planner:\n  ros__parameters:\n    use_sim_time: true\n")
    assert load_params_file(path, DECLARED) == {"planner": {"use_sim_time": True}}


def test_a_wildcard_block_gives_every_node_its_values_and_a_node_block_overrides_them(tmp_path):
    declared = {**DECLARED, "gate": [Param("rate_hz", 100.0, "tick rate", min=1.0, max=1000.0)]}
    path = write(
        tmp_path,
        "planner:\n  ros__parameters:\n    rate_hz: 20.0\n"
        "/**:\n  ros__parameters:\n    rate_hz: 30.0\n    use_sim_time: true\n",
    )
    assert load_params_file(path, declared) == {
        "planner": {"rate_hz": 20.0, "use_sim_time": True},
        "gate": {"rate_hz": 30.0, "use_sim_time": True},
    }


def test_a_wildcard_key_that_some_node_does_not_declare_is_an_error(tmp_path):
    declared = {**DECLARED, "gate": [Param("tick_hz", 100.0, "tick rate")]}
    path = write(tmp_path, "/**:\n  ros__parameters:\n    rate_hz: 30.0\n")
    with pytest.raises(ConfigError) as err:
        load_params_file(path, declared)
    assert err.value.key == "/**.ros__parameters.rate_hz"
    assert "unknown parameter" in err.value.reason


def test_markdown_table_lists_ranges_and_choices():
    table = markdown_table("planner", DECLARED["planner"])
    assert "| `rate_hz` | `10.0` | [1.0, 50.0] | planning rate |" in table
    assert "normal, cautious" in table


def test_the_parameter_reference_in_docs_is_what_the_code_declares(capsys):
    from pathlib import Path

    from robovan_autonomy.cli import main

    assert main(["params", "--markdown"]) == 0
    generated = capsys.readouterr().out
    committed = (Path(__file__).resolve().parents[2] / "docs" / "PARAMETERS.md").read_text()
    assert generated == committed, "docs/PARAMETERS.md is stale: run `make docs`"
