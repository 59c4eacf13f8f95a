"""ros2 launch robovan_autonomy sim.launch.py — the stack's node set for mode 'sim'."""

from launch import LaunchDescription
from robovan_autonomy.stack import launch_nodes


def generate_launch_description():
    return LaunchDescription(launch_nodes("sim"))
