"""The simulator's ROS shell: publishes /clock, sensors and ground truth, and listens to the stack.

It holds no loop of its own: the simulation runner (tools/simulation.py) advances the world and
calls `publish_*`, in lockstep with the stack or paced to the wall clock.
"""

from __future__ import annotations

from diagnostic_msgs.msg import DiagnosticArray
from nav_msgs.msg import Odometry, Path
from rclpy.node import Node
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import (
    CameraInfo,
    CompressedImage,
    Image,
    Imu,
    JointState,
    NavSatFix,
    PointCloud2,
)
from std_srvs.srv import SetBool
from trajectory_msgs.msg import JointTrajectory

from robovan_autonomy import core_types as ct
from robovan_autonomy import interfaces as itf
from robovan_autonomy.core_types import GnssFix, ImuSample, PoseEstimate, TrafficLightStates
from robovan_autonomy.sim.world import CameraReading, LidarReading
from robovan_autonomy.sim.world_interface import World


def stamped(decode):
    """A decoder that keeps the message's stamp beside what decode makes of it: an object table is
    judged against the truth at its stamp, not at its arrival."""
    return lambda msg: (itf.from_stamp(msg.header.stamp), decode(msg))


class SimulatorNode(Node):
    def __init__(self, world: World, record_camera_jpeg: bool = True, **node_kwargs):
        super().__init__("simulator", **node_kwargs)
        self.world = world
        self.record_camera_jpeg = record_camera_jpeg
        qos = itf.SENSOR_DRIVER_QOS  # as drivers offer sensor data (REP-2003)
        self.clock_pub = self.create_publisher(Clock, itf.CLOCK, itf.CLOCK_QOS)
        self.image_pub = self.create_publisher(Image, itf.CAMERA_IMAGE, qos)
        self.jpeg_pub = self.create_publisher(CompressedImage, itf.CAMERA_COMPRESSED, qos)
        self.info_pub = self.create_publisher(CameraInfo, itf.CAMERA_INFO, qos)
        self.lidar_pub = self.create_publisher(PointCloud2, itf.LIDAR_POINTS, qos)
        self.gnss_pub = self.create_publisher(NavSatFix, itf.GNSS_FIX, qos)
        self.imu_pub = self.create_publisher(Imu, itf.IMU_DATA, qos)
        self.gt_odometry_pub = self.create_publisher(
            Odometry, itf.GROUND_TRUTH_ODOMETRY, itf.RELIABLE_QOS
        )
        self.gt_objects_pub = self.create_publisher(
            PointCloud2, itf.GROUND_TRUTH_OBJECTS, itf.RELIABLE_QOS
        )
        self.gt_traffic_lights_pub = self.create_publisher(
            DiagnosticArray, itf.GROUND_TRUTH_TRAFFIC_LIGHTS, itf.RELIABLE_QOS
        )
        self.engage_client = self.create_client(SetBool, itf.VEHICLE_ENGAGE)

        self.latest: dict[str, object] = {}
        self.new_plans: list = []
        self.new_diagnostics: list[ct.Diagnostic] = []
        self.decode_errors: dict[str, int] = {}
        for topic, msg_class, decode in (
            (itf.CONTROL_COMMAND, JointTrajectory, itf.decode_control_command),
            (itf.TRAJECTORY, Path, itf.decode_path),
            (itf.ODOMETRY, Odometry, itf.decode_odometry),
            (itf.LOCALIZATION_DEBUG_GNSS_ONLY, Odometry, itf.decode_odometry),
            (itf.LOCALIZATION_DEBUG_ODOMETRY_ONLY, Odometry, itf.decode_odometry),
            (itf.OBJECTS, PointCloud2, stamped(itf.decode_objects)),
            (itf.VEHICLE_STATUS, JointState, itf.decode_vehicle_status),
        ):
            self.create_subscription(msg_class, topic, self._keep(topic, decode), itf.RELIABLE_QOS)
        self.create_subscription(
            DiagnosticArray, itf.DIAGNOSTICS, self._on_diagnostics, itf.RELIABLE_QOS
        )

    def _keep(self, topic: str, decode):
        def callback(msg) -> None:
            try:
                value = decode(msg)
            except itf.InterfaceError:
                self.decode_errors[topic] = self.decode_errors.get(topic, 0) + 1
                return
            self.latest[topic] = value
            if topic == itf.CONTROL_COMMAND:
                self.new_plans.append(value)

        return callback

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        self.new_diagnostics.extend(itf.decode_diagnostics(msg))

    def publish_clock(self, t_s: float) -> None:
        self.clock_pub.publish(itf.encode_clock(t_s))

    def publish_output(self, name: str, reading) -> None:
        world = self.world
        if name == "imu":
            self.imu_pub.publish(
                itf.encode_imu(
                    ImuSample(
                        reading.stamp_s,
                        reading.angular_velocity_radps,
                        reading.linear_acceleration_mps2,
                    )
                )
            )
        elif name == "gnss":
            self.gnss_pub.publish(
                itf.encode_gnss_fix(
                    GnssFix(
                        reading.stamp_s,
                        reading.latitude_deg,
                        reading.longitude_deg,
                        reading.altitude_m,
                        reading.has_fix,
                        reading.position_covariance,
                    )
                )
            )
        elif name == "lidar":
            assert isinstance(reading, LidarReading)
            self.lidar_pub.publish(itf.encode_points(reading.stamp_s, reading.points))
        elif name == "camera":
            assert isinstance(reading, CameraReading)
            self.info_pub.publish(itf.encode_camera_info(reading.stamp_s, world.intrinsics))
            # Image messages cost about 0.5 ms (raw) and 0.9 ms (JPEG) a frame: only for readers.
            if self.image_pub.get_subscription_count() > 0:
                self.image_pub.publish(itf.encode_image(reading.stamp_s, reading.image))
            if self.record_camera_jpeg and self.jpeg_pub.get_subscription_count() > 0:
                self.jpeg_pub.publish(itf.encode_compressed_image(reading.stamp_s, reading.image))
        elif name == "ground_truth_odometry":
            van = world.van
            self.gt_odometry_pub.publish(
                itf.encode_odometry(
                    PoseEstimate(
                        stamp_s=reading,
                        x_m=van.x_m,
                        y_m=van.y_m,
                        yaw_rad=van.yaw_rad,
                        speed_mps=van.speed_mps,
                        yaw_rate_radps=van.yaw_rate_radps,
                    )
                )
            )
        elif name == "ground_truth_objects":
            self.gt_objects_pub.publish(itf.encode_objects(reading, world.ground_truth_objects()))
        elif name == "ground_truth_traffic_lights":
            names = {i: tl.name for i, tl in world.district.traffic_lights.items()}
            self.gt_traffic_lights_pub.publish(
                itf.encode_traffic_lights(
                    TrafficLightStates(reading, world.signals.states(reading)), names
                )
            )
        else:
            raise ValueError(f"unknown simulator output '{name}'")

    def request_engage(self) -> None:
        self.engage_client.call_async(SetBool.Request(data=True))
