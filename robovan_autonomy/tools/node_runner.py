"""Starts the stack's node set without launch_ros: in one process or one process per node."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from robovan_autonomy.parameters import load_params_file
from robovan_autonomy.stack import NodeSpec, declared_parameters


def merged_parameters(files: list[Path], extra: dict[str, dict] | None = None) -> dict[str, dict]:
    """Validated parameters per node from params files (later files win), then `extra`."""
    declared = declared_parameters()
    merged: dict[str, dict] = {}
    for path in files:
        for node, values in load_params_file(path, declared).items():
            merged.setdefault(node, {}).update(values)
    for node, values in (extra or {}).items():
        merged.setdefault(node, {}).update(values)
    return merged


def create_nodes(
    specs: list[NodeSpec],
    parameters: dict[str, dict],
    context,
    use_sim_time: bool,
    node_remappings: dict[str, list[tuple[str, str]]] | None = None,
):
    """The nodes of `specs`, remapped as their specs say and, by name, as node_remappings say;
    when one cannot start, those already built are destroyed."""
    from rclpy.parameter import Parameter

    from robovan_autonomy.node_utils import start_node

    nodes = []
    try:
        for spec in specs:
            values = dict(parameters.get(spec.name, {}))
            overrides = [Parameter(key, value=value) for key, value in values.items()]
            overrides.append(Parameter("use_sim_time", value=use_sim_time))
            remaps = [*spec.remappings, *(node_remappings or {}).get(spec.name, ())]
            remap_args = ["--ros-args", *_remap_args(remaps)]
            nodes.append(
                start_node(
                    spec.node_class(),
                    context=context,
                    parameter_overrides=overrides,
                    cli_args=remap_args if remaps else None,
                )
            )
    except BaseException:
        for node in nodes:
            node.destroy_node()
        raise
    return nodes


def _remap_args(remaps) -> list[str]:
    return [arg for source, target in remaps for arg in ("-r", f"{source}:={target}")]


def spawn_processes(
    specs: list[NodeSpec], files: list[Path], use_sim_time: bool
) -> list[subprocess.Popen]:
    """One OS process per node through its console script, as `ros2 launch` would."""
    processes = []
    bin_dir = Path(sys.executable).parent
    for spec in specs:
        args = [
            str(bin_dir / spec.name),
            "--ros-args",
            "-r",
            f"__node:={spec.name}",
            *_remap_args(spec.remappings),
        ]
        for path in files:
            args += ["--params-file", str(path)]
        args += ["-p", f"use_sim_time:={'true' if use_sim_time else 'false'}"]
        processes.append(subprocess.Popen(args, env=os.environ.copy()))
    return processes


def stop_processes(processes: list[subprocess.Popen], timeout_s: float = 5.0) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    for process in processes:
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
