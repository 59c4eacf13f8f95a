"""The node set is declared once; modes, ground-truth stages and shipped params files match it."""

import subprocess
import sys
from pathlib import Path

import pytest

from robovan_autonomy.parameters import load_params_file
from robovan_autonomy.stack import MODES, STACK, STAGES, declared_parameters, node_set, params_files


def test_every_node_declares_parameters_and_a_node_class():
    for spec in STACK:
        assert spec.parameters(), spec.name
        assert spec.node_class().__name__.endswith("Node")


def test_vehicle_mode_runs_the_can_bridge_and_replay_does_not():
    assert "dbw_bridge" in [s.name for s in node_set("vehicle")]
    assert "dbw_bridge" not in [s.name for s in node_set("replay")]


def test_a_stage_fed_from_ground_truth_is_left_out():
    for stage in ("localization", "perception"):
        assert all(s.stage != stage for s in node_set("sim", (stage,)))


@pytest.mark.parametrize("mode", MODES)
def test_readers_of_a_ground_truth_stage_are_remapped_onto_its_ground_truth(mode):
    stage = STAGES["localization"]
    for spec in node_set(mode, ("localization",)):
        assert (stage.output, stage.ground_truth) in spec.remappings, spec.name
    assert all(not spec.remappings for spec in node_set(mode))


def test_unknown_mode_or_stage_is_refused():
    with pytest.raises(ValueError, match="mode"):
        node_set("race")
    with pytest.raises(ValueError, match="stage"):
        node_set("sim", ("planning",))


@pytest.mark.parametrize("mode", MODES)
def test_shipped_params_files_are_valid_for_every_mode(mode):
    declared = declared_parameters()
    for path in params_files(mode):
        load_params_file(path, declared)


def test_every_node_has_a_console_script_in_setup_py():
    text = (Path(__file__).resolve().parents[2] / "setup.py").read_text()
    for spec in STACK:
        assert f'"{spec.name}": "{spec.module}:main"' in text


def test_robovan_params_check_names_a_bad_file_and_exits_non_zero(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("planner:\n  ros__parameters:\n    rate_hz: 500.0\n")
    result = subprocess.run(
        [sys.executable, "-m", "robovan_autonomy.cli", "params", "--check", str(bad)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert str(bad) in result.stderr and "rate_hz" in result.stderr


def test_robovan_params_check_names_a_binary_file_in_one_line(tmp_path):
    binary = tmp_path / "params.yaml"
    binary.write_bytes(bytes(range(256)))
    result = subprocess.run(
        [sys.executable, "-m", "robovan_autonomy.cli", "params", "--check", str(binary)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"robovan params: {binary}: not UTF-8 text (byte 0x80 at offset 128); is it a binary file?"
    ]
