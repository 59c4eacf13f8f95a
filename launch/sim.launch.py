"""ros2 launch robovan_autonomy sim.launch.py — the node set for mode 'sim' on /clock, against an
external simulator: it publishes /clock and the sensor topics, and a van ECU answers on the CAN
bus the bridge is given (params_file; `robovan van-ecu` plays one). The embedded simulator needs
no launch file: `robovan sim`."""

from launch import LaunchDescription
from robovan_autonomy.stack import launch_nodes


def generate_launch_description():
    return LaunchDescription(launch_nodes("sim"))
