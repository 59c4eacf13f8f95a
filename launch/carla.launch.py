"""ros2 launch robovan_autonomy carla.launch.py — the node set for mode 'sim' beside the CARLA ROS
bridge (carla-simulator/ros-bridge) in synchronous mode: the bridge publishes /clock and the ego
vehicle's sensors under /carla/ego_vehicle/<sensor id>, read here as the stack's topics and
frames (stack.CARLA_ROS_BRIDGE_TOPICS, config/robovan_carla_ros_bridge.yaml). The CARLA ROS
bridge does not speak RVN-DBW: the van's CAN side is whatever the params_file gives the bridge.
A closed loop in CARLA with the van ECU on CAN is `robovan sim --backend carla`
(docs/CARLA.md)."""

from launch import LaunchDescription
from robovan_autonomy.stack import CARLA_ROS_BRIDGE_OVERLAY, CARLA_ROS_BRIDGE_TOPICS, launch_nodes


def generate_launch_description():
    return LaunchDescription(
        launch_nodes(
            "sim", remappings=CARLA_ROS_BRIDGE_TOPICS, overlays=(CARLA_ROS_BRIDGE_OVERLAY,)
        )
    )
