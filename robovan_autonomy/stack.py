"""The stack's node set and its wiring, defined once: launch files, the `robovan` CLI, the
simulator and replay all build from it.

A vehicle with ROS 2 starts it with `ros2 launch`; a machine with only the PyPI wheels (no
launch_ros) starts the very same set through `robovan run` / `robovan sim`. A stage fed from
ground truth is wired here too, so every way of running wires it alike.
"""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path

from robovan_autonomy import interfaces as itf
from robovan_autonomy.config_errors import config_path
from robovan_autonomy.parameters import Param

MODES = ("vehicle", "sim", "replay")


@dataclasses.dataclass(frozen=True)
class Stage:
    """A stage the simulator's ground truth can stand in for: its node is then left out, and every
    reader of `output` reads `ground_truth` instead. An optional stage's readers take no message
    as no information, so a replay of a bag that has neither topic runs without it."""

    output: str
    ground_truth: str
    optional: bool = False

    @property
    def remapping(self) -> tuple[str, str]:
        return self.output, self.ground_truth

    def topic(self, from_ground_truth: bool) -> str:
        """Where the stage's output is read in a run that feeds it from ground truth or not."""
        return self.ground_truth if from_ground_truth else self.output


STAGES: dict[str, Stage] = {
    "localization": Stage(itf.ODOMETRY, itf.GROUND_TRUTH_ODOMETRY),
    "perception": Stage(itf.OBJECTS, itf.GROUND_TRUTH_OBJECTS),
    # No node yet (a camera classifier is later work): a simulation always feeds it from ground
    # truth; on a vehicle nothing publishes it and the planner treats every signal as dark.
    "traffic_lights": Stage(itf.TRAFFIC_LIGHTS, itf.GROUND_TRUTH_TRAFFIC_LIGHTS, optional=True),
}


@dataclasses.dataclass(frozen=True)
class NodeSpec:
    name: str
    entry: str
    modes: tuple[str, ...]
    stage: str | None = None
    remappings: tuple[tuple[str, str], ...] = ()

    @property
    def module(self) -> str:
        return self.entry.split(":")[0]

    def node_class(self):
        module_name, class_name = self.entry.split(":")
        return getattr(importlib.import_module(module_name), class_name)

    def parameters(self) -> list[Param]:
        return importlib.import_module(self.module).PARAMETERS


STACK: tuple[NodeSpec, ...] = (
    NodeSpec(
        "dbw_bridge", "robovan_autonomy.vehicle.dbw_bridge_node:DbwBridgeNode", ("vehicle", "sim")
    ),
    NodeSpec(
        "localization",
        "robovan_autonomy.localization.localization_node:LocalizationNode",
        ("vehicle", "sim", "replay"),
        stage="localization",
    ),
    NodeSpec(
        "perception",
        "robovan_autonomy.perception.perception_node:PerceptionNode",
        ("vehicle", "sim", "replay"),
        stage="perception",
    ),
    NodeSpec(
        "planner",
        "robovan_autonomy.planning.planner_node:PlannerNode",
        ("vehicle", "sim", "replay"),
    ),
    NodeSpec(
        "command_gate",
        "robovan_autonomy.system.command_gate_node:CommandGateNode",
        ("vehicle", "sim"),
    ),
    NodeSpec(
        "supervisor", "robovan_autonomy.system.supervisor_node:SupervisorNode", ("vehicle", "sim")
    ),
    # Not in replay: a bag holds the map its run drew, and `ros2 bag play` re-latches it.
    NodeSpec(
        "map_visualizer",
        "robovan_autonomy.mapping.map_visualizer_node:MapVisualizerNode",
        ("vehicle", "sim"),
    ),
)


def check_stages(ground_truth) -> None:
    unknown = set(ground_truth) - set(STAGES)
    if unknown:
        raise ValueError(
            f"unknown ground-truth stage(s) {sorted(unknown)}; stages: {tuple(STAGES)}"
        )


def node_set(mode: str, ground_truth: tuple[str, ...] = ()) -> list[NodeSpec]:
    """The nodes a way of running starts, wired for it: a stage fed from ground truth is left out
    and its readers remapped onto the ground truth."""
    if mode not in MODES:
        raise ValueError(f"unknown mode '{mode}'; modes: {MODES}")
    check_stages(ground_truth)
    remaps = tuple(STAGES[stage].remapping for stage in STAGES if stage in ground_truth)
    return [
        dataclasses.replace(spec, remappings=spec.remappings + remaps)
        for spec in STACK
        if mode in spec.modes and spec.stage not in ground_truth
    ]


def declared_parameters() -> dict[str, list[Param]]:
    return {spec.name: spec.parameters() for spec in STACK}


def params_files(mode: str) -> list[Path]:
    """config/robovan.yaml, then the mode's overlay (config/robovan_<mode>.yaml) if one exists."""
    files = [config_path("robovan.yaml")]
    overlay = config_path(f"robovan_{mode}.yaml")
    if overlay.exists():
        files.append(overlay)
    return files


@dataclasses.dataclass(frozen=True)
class LaunchArgument:
    name: str
    default: str
    description: str


def launch_arguments(mode: str) -> tuple[LaunchArgument, ...]:
    """The arguments `ros2 launch` takes for a mode (`ros2 launch ... --show-args` lists them)."""
    files = params_files(mode)
    return (
        LaunchArgument(
            "use_sim_time",
            "false" if mode == "vehicle" else "true",
            "run on /clock (a simulator or a bag) instead of the wall clock",
        ),
        LaunchArgument(
            "params_file",
            str(files[-1]),
            "the params file read after "
            + (", ".join(path.name for path in files[:-1]) or "the declared defaults")
            + f" (default: {files[-1].name})",
        ),
        LaunchArgument(
            "namespace",
            "",
            "namespace of every node (names, parameters, private topics); the topic contract's "
            "topics are absolute and stay as they are",
        ),
    )


# Beside the CARLA ROS bridge (launch/carla.launch.py): our sensor topics -> the bridge's, for the
# ego vehicle's role name and the sensor ids its objects.json gives them; the overlay aliases
# their frames (<role name>/<sensor id>) to ours.
CARLA_ROS_BRIDGE_ROLE = "/carla/ego_vehicle"
CARLA_ROS_BRIDGE_TOPICS = (
    (itf.CAMERA_IMAGE, f"{CARLA_ROS_BRIDGE_ROLE}/rgb_front/image"),
    (itf.CAMERA_INFO, f"{CARLA_ROS_BRIDGE_ROLE}/rgb_front/camera_info"),
    (itf.LIDAR_POINTS, f"{CARLA_ROS_BRIDGE_ROLE}/lidar"),
    (itf.IMU_DATA, f"{CARLA_ROS_BRIDGE_ROLE}/imu"),
    (itf.GNSS_FIX, f"{CARLA_ROS_BRIDGE_ROLE}/gnss"),
)
CARLA_ROS_BRIDGE_OVERLAY = config_path("robovan_carla_ros_bridge.yaml")


def launch_nodes(
    mode: str,
    ground_truth: tuple[str, ...] = (),
    remappings: tuple[tuple[str, str], ...] = (),
    overlays: tuple[Path, ...] = (),
) -> list:
    """launch_ros actions for `ros2 launch` on a machine with ROS 2 installed: the arguments of
    `launch_arguments`, then the mode's node set wired as `node_set` says, every node also
    remapped by `remappings` and given the params files `overlays` after the mode's own (how
    another simulator's topic and frame names are met)."""
    from launch.actions import DeclareLaunchArgument
    from launch.substitutions import LaunchConfiguration
    from launch_ros.actions import Node
    from launch_ros.parameter_descriptions import ParameterValue

    arguments = launch_arguments(mode)
    files = [str(path) for path in params_files(mode)[:-1]]
    use_sim_time = ParameterValue(LaunchConfiguration("use_sim_time"), value_type=bool)
    declared = [
        DeclareLaunchArgument(a.name, default_value=a.default, description=a.description)
        for a in arguments
    ]
    return declared + [
        Node(
            package="robovan_autonomy",
            executable=spec.name,
            name=spec.name,
            namespace=LaunchConfiguration("namespace"),
            parameters=[
                *files,
                LaunchConfiguration("params_file"),
                *(str(path) for path in overlays),
                {"use_sim_time": use_sim_time},
            ],
            remappings=[*spec.remappings, *remappings],
            output="screen",
            emulate_tty=True,
        )
        for spec in node_set(mode, ground_truth)
    ]
