"""ros2 launch robovan_autonomy robovan.launch.py [use_sim_time:=… params_file:=… namespace:=…]
— the stack's node set for mode 'vehicle' (`ros2 launch … --show-args` lists the arguments)."""

from launch import LaunchDescription
from robovan_autonomy.stack import launch_nodes


def generate_launch_description():
    return LaunchDescription(launch_nodes("vehicle"))
