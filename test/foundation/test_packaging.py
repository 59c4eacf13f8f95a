"""package.xml declares what the package imports, and only that, with keys rosdep can resolve;
the launch files take the arguments a ROS user expects."""

import ast
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import yaml

from robovan_autonomy import interfaces as itf
from robovan_autonomy.parameters import load_params_file
from robovan_autonomy.stack import (
    CARLA_ROS_BRIDGE_TOPICS,
    MODES,
    declared_parameters,
    launch_arguments,
)

ROOT = Path(__file__).resolve().parents[2]
# The package.xml key for each third-party module the package imports.
DEPENDENCY_OF_MODULE = {
    "ament_index_python": "ament_index_python",
    "builtin_interfaces": "builtin_interfaces",
    "can": "python3-can",
    "cantools": "python3-cantools-pip",
    "casadi": "casadi-pip",
    "cv2": "python3-opencv",
    "diagnostic_msgs": "diagnostic_msgs",
    "geometry_msgs": "geometry_msgs",
    "lanelet2": "lanelet2_python",
    "launch": "launch",
    "launch_ros": "launch_ros",
    "matplotlib": "python3-matplotlib",
    "nav_msgs": "nav_msgs",
    "numpy": "python3-numpy",
    "onnxruntime": "python3-onnxruntime-pip",
    "rcl_interfaces": "rcl_interfaces",
    "rclpy": "rclpy",
    "rosbags": "python3-rosbags-pip",
    "rosgraph_msgs": "rosgraph_msgs",
    "scipy": "python3-scipy",
    "sensor_msgs": "sensor_msgs",
    "small_gicp": "python3-small-gicp-pip",
    "std_msgs": "std_msgs",
    "std_srvs": "std_srvs",
    "tf2_msgs": "tf2_msgs",
    "trajectory_msgs": "trajectory_msgs",
    "type_description_interfaces": "type_description_interfaces",
    "visualization_msgs": "visualization_msgs",
    "yaml": "python3-yaml",
}
# Imported, deliberately not onboard dependencies, pip-only: the eval runner's engine (ray), and
# the CARLA client (carla), which only the CARLA simulation adapters import, inside the functions
# that talk to a CARLA server; a vehicle never does.
OFF_BOARD_MODULES = {"ray", "carla"}


def imported_modules(folders: list[Path]) -> set[str]:
    modules = set()
    for folder in folders:
        for path in folder.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    modules.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules.add(node.module.split(".")[0])
    return modules - set(sys.stdlib_module_names) - {"robovan_autonomy"}


def declared(kind: str) -> set[str]:
    root = ElementTree.parse(ROOT / "package.xml").getroot()
    return {element.text.strip() for element in root.iter(kind)}


def test_every_imported_module_has_a_dependency_entry():
    third_party = imported_modules([ROOT / "robovan_autonomy", ROOT / "launch"])
    unknown = third_party - set(DEPENDENCY_OF_MODULE) - OFF_BOARD_MODULES
    assert not unknown, f"imported, with no package.xml key known for it: {sorted(unknown)}"
    missing = {DEPENDENCY_OF_MODULE[m] for m in third_party - OFF_BOARD_MODULES} - declared(
        "exec_depend"
    )
    assert not missing, f"imported but not in package.xml: {sorted(missing)}"


def test_no_dependency_is_declared_that_nothing_imports():
    third_party = imported_modules([ROOT / "robovan_autonomy", ROOT / "launch"])
    used = {DEPENDENCY_OF_MODULE[m] for m in third_party if m in DEPENDENCY_OF_MODULE}
    assert declared("exec_depend") - used == set()


def test_the_keys_missing_from_rosdistro_are_defined_in_the_shipped_rosdep_source():
    ours = yaml.safe_load((ROOT / "config" / "rosdep.yaml").read_text())
    assert "python3-small-gicp-pip" in declared("exec_depend")
    for key, rules in ours.items():
        assert key in declared("exec_depend")
        assert rules["ubuntu"]["pip"]["packages"]


def test_the_test_dependencies_are_an_extra_colcon_test_can_install():
    setup = (ROOT / "setup.py").read_text()
    assert 'extras_require={"test": ["pytest", "pytest-timeout", "hypothesis"]}' in setup
    assert {"python3-pytest", "python3-pytest-timeout", "python3-hypothesis"} <= declared(
        "test_depend"
    )


def test_every_mode_launches_with_use_sim_time_params_file_and_namespace():
    for mode in MODES:
        arguments = {a.name: a for a in launch_arguments(mode)}
        assert set(arguments) == {"use_sim_time", "params_file", "namespace"}
        assert arguments["use_sim_time"].default == ("false" if mode == "vehicle" else "true")
        assert Path(arguments["params_file"].default).is_file()


def test_the_carla_launch_reads_every_sensor_topic_from_the_carla_ros_bridge():
    remapped = dict(CARLA_ROS_BRIDGE_TOPICS)
    assert set(remapped) == {
        itf.CAMERA_IMAGE,
        itf.CAMERA_INFO,
        itf.LIDAR_POINTS,
        itf.IMU_DATA,
        itf.GNSS_FIX,
    }
    assert all(topic.startswith("/carla/ego_vehicle/") for topic in remapped.values())


def test_the_carla_overlay_aliases_only_our_sensor_frames_and_passes_validation():
    overlay = load_params_file(ROOT / "config/robovan_carla_ros_bridge.yaml", declared_parameters())
    for values in overlay.values():
        assert itf.sensor_frame_ids(values["frame_aliases"])
