"""The algorithm cores are plain Python and numpy: no ROS (and no CARLA client) is loaded by
importing any of them, so they run, and are tested, where ROS is not (a notebook, a Ray worker, a
CARLA client) and where the carla wheel is not installed."""

import pathlib
import subprocess
import sys

import robovan_autonomy

PACKAGE = pathlib.Path(robovan_autonomy.__file__).parent
# The I/O shells: the nodes, the message conversions, the stack's wiring (topics, node classes)
# and the tools that run nodes.
ROS_SHELLS = {
    "interfaces",
    "node_utils",
    "stack",
    "sim.stack_faults",
    "tools.lockstep",
    "tools.node_runner",
    "tools.record",
    "tools.recorder_node",
    "tools.regression",
    "tools.replay",
    "tools.simulation",
}


def core_modules() -> list[str]:
    names = (
        ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "__init__.py"
    )
    return [n for n in names if n not in ROS_SHELLS and not n.endswith("_node")]


def test_no_core_module_loads_rclpy_a_message_package_or_carla():
    # Imports are cumulative: where importing every core in turn into one fresh interpreter loads
    # no ROS, none of them does; the first that does is named.
    script = (
        "import importlib, sys\n"
        "for name in sys.argv[1:]:\n"
        "    importlib.import_module('robovan_autonomy.' + name)\n"
        "    ros = sorted(m for m in sys.modules "
        "if m in ('rclpy', 'carla') or m.split('.')[0].endswith('_msgs'))\n"
        "    if ros:\n"
        "        sys.exit(f'{name} loads {ros[:3]}')\n"
    )
    cores = core_modules()
    assert len(cores) > 40 and {"perception.tracker", "carla_sim.convert"} <= set(cores)
    result = subprocess.run([sys.executable, "-c", script, *cores], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
