"""rosbag2 writing through rosbags, so bags are made without a ROS 2 install.

Messages arrive as serialized CDR (raw subscriptions), so recording costs no decode/encode.
The offered QoS of each topic is stored with its connection, as `ros2 bag record` does.
"""
from __future__ import annotations

from pathlib import Path

from rosbags.interfaces import (Qos, QosDurability, QosHistory, QosLiveliness, QosReliability,
                                QosTime)
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

STORAGES = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}
_INFINITE = QosTime(sec=0x7FFFFFFF, nsec=0xFFFFFFFF)


def msgtype_name(msg_class) -> str:
    """'sensor_msgs/msg/Image' for the rclpy class sensor_msgs.msg.Image."""
    return f"{msg_class.__module__.split('.')[0]}/msg/{msg_class.__name__}"


def to_bag_qos(profile) -> Qos:
    """An rclpy QoSProfile as rosbag2's offered-QoS record."""
    return Qos(history=QosHistory(int(profile.history)), depth=int(profile.depth),
               reliability=QosReliability(int(profile.reliability)),
               durability=QosDurability(int(profile.durability)),
               deadline=_INFINITE, lifespan=_INFINITE, liveliness=QosLiveliness.AUTOMATIC,
               liveliness_lease_duration=_INFINITE, avoid_ros_namespace_conventions=False)


class BagWriter:
    """Writes serialized messages to a new rosbag2 folder (MCAP by default)."""

    def __init__(self, path: str | Path, storage: str = "mcap"):
        if storage not in STORAGES:
            raise ValueError(f"unknown bag storage '{storage}'; use one of {sorted(STORAGES)}")
        self.path = Path(path)
        self._typestore = get_typestore(Stores.ROS2_KILTED)
        self._writer = Writer(self.path, version=9, storage_plugin=STORAGES[storage])
        self._writer.open()
        self._connections: dict[str, object] = {}
        self.message_count = 0

    def add_topic(self, topic: str, msgtype: str, qos_profile=None) -> None:
        if topic in self._connections:
            return
        offered = (to_bag_qos(qos_profile),) if qos_profile is not None else ()
        self._connections[topic] = self._writer.add_connection(
            topic, msgtype, typestore=self._typestore, offered_qos_profiles=offered)

    def write(self, topic: str, stamp_ns: int, data: bytes) -> None:
        self._writer.write(self._connections[topic], int(stamp_ns), data)
        self.message_count += 1

    def close(self) -> None:
        self._writer.close()
