"""Starting a node: params files are checked on every start path, and a node that cannot start
says why in one line and exits non-zero. Each test runs the real console script or CLI."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from robovan_autonomy.cli import main
from robovan_autonomy.config_errors import config_path

BIN = Path(sys.executable).parent
START_TIMEOUT_S = 60.0  # guard against a hung process, never a timing assertion
MISSING_DEVICE = "can_interface 'socketcan', can_channel 'can9'"  # no such SocketCAN device here


def node(name: str, *ros_args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / name), "--ros-args", *ros_args],
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_S,
    )


def write(tmp_path, text, name="params.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def assert_one_line(result, *expected):
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    for text in expected:
        assert text in lines[0], lines[0]


def test_a_node_started_with_a_params_file_refuses_a_key_it_does_not_declare(tmp_path):
    path = write(
        tmp_path,
        "planner:\n  ros__parameters:\n    rate_hz: 5.0\n"
        "command_gate:\n  ros__parameters:\n"
        "    tick_hz: 50.0\n    tick_rate: 5.0\n",
    )
    result = node("command_gate", "--params-file", str(path))
    assert_one_line(
        result,
        f"command_gate: {path} at 'command_gate.ros__parameters.tick_rate': unknown parameter",
    )


def test_a_node_started_with_a_params_file_refuses_a_key_given_twice(tmp_path):
    path = write(
        tmp_path, "command_gate:\n  ros__parameters:\n    tick_hz: 50.0\n    tick_hz: 20.0\n"
    )
    result = node("command_gate", "--params-file", str(path))
    assert_one_line(result, f"command_gate: {path} at 'tick_hz': duplicate key on line 4")


def test_a_node_started_with_a_binary_params_file_names_the_file(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_bytes(b"\x1f\x8b\x08\x00" + bytes(range(128, 256)))
    result = node("command_gate", "--params-file", str(path))
    assert_one_line(result, f"command_gate: {path}: not UTF-8 text")


def test_a_node_starts_on_the_params_files_ros2_launch_gives_it(tmp_path):
    """The shared file with every node's blocks, and the /** file launch_ros writes for dicts."""
    import rclpy

    wildcard = write(tmp_path, "/**:\n  ros__parameters:\n    use_sim_time: true\n")
    process = subprocess.Popen(
        [
            str(BIN / "command_gate"),
            "--ros-args",
            "-r",
            "__node:=command_gate",
            "--params-file",
            str(config_path("robovan.yaml")),
            "--params-file",
            str(wildcard),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    context = rclpy.Context()
    rclpy.init(context=context)
    probe = rclpy.create_node("startup_probe", context=context)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while "command_gate" not in probe.get_node_names():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "command_gate never joined the graph"
            time.sleep(0.1)
    finally:
        probe.destroy_node()
        rclpy.try_shutdown(context=context)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=START_TIMEOUT_S)
    assert process.returncode == 0, stderr


def test_a_node_with_a_bad_parameter_value_exits_with_one_line_naming_it():
    result = node("command_gate", "-p", "tick_hz:=5000.0")
    assert_one_line(result, "command_gate: command_gate.ros__parameters.tick_hz: ", "out of range")


def test_a_node_given_a_bad_frame_alias_exits_with_one_line_naming_the_entry():
    result = node("localization", "-p", "frame_aliases:=[lidar_top=velodyne_top, lidar=x]")
    assert_one_line(
        result,
        "localization: localization.ros__parameters.frame_aliases: 'lidar=x': 'lidar' is not one "
        "of our sensor frames",
    )


def test_the_bridge_without_its_socketcan_device_exits_with_one_line_naming_it():
    result = node("dbw_bridge", "-p", "can_interface:=socketcan", "-p", "can_channel:=can9")
    assert_one_line(result, f"dbw_bridge: cannot open {MISSING_DEVICE}: ")


def test_robovan_run_without_the_socketcan_device_exits_with_one_line_naming_it(tmp_path):
    path = write(
        tmp_path,
        "dbw_bridge:\n  ros__parameters:\n    can_interface: socketcan\n    can_channel: can9\n",
    )
    result = subprocess.run(
        [str(BIN / "robovan"), "run", "--params", str(path)],
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_S,
    )
    assert_one_line(result, f"robovan run: cannot open {MISSING_DEVICE}: ")


@pytest.mark.parametrize(
    "text, reason",
    [
        (
            "planner:\n  ros__parameters:\n    rate_hz: 5.0\n    rate_hz: 6.0\n",
            "duplicate key on line 4",
        ),
        ("planner:\n  ros__parameters:\n    rate: 5.0\n", "unknown parameter"),
    ],
)
def test_robovan_run_refuses_a_params_file_before_starting_anything(tmp_path, capsys, text, reason):
    path = write(tmp_path, text)
    assert main(["run", "--params", str(path)]) == 2
    assert_one_line(
        subprocess.CompletedProcess([], 2, "", capsys.readouterr().err),
        f"robovan run: {path} at ",
        reason,
    )
