"""ros2 launch robovan_autonomy replay.launch.py — the node set for mode 'replay', on /clock from
`ros2 bag play --clock` (arguments as robovan.launch.py)."""

from launch import LaunchDescription
from robovan_autonomy.stack import launch_nodes


def generate_launch_description():
    return LaunchDescription(launch_nodes("replay"))
