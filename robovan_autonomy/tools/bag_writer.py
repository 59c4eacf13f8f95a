"""rosbag2 writing through rosbags, so bags are made without a ROS 2 install.

Messages arrive as serialized CDR (raw subscriptions), so recording costs no decode/encode.
The offered QoS of each topic is stored with its connection, as `ros2 bag record` does.
"""
from __future__ import annotations

from pathlib import Path

from rosbags.interfaces import (Qos, QosDurability, QosHistory, QosLiveliness, QosReliability,
                                QosTime)
from rosbags.rosbag2 import CompressionFormat, CompressionMode, StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

STORAGES = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}
_INFINITE = QosTime(sec=0x7FFFFFFF, nsec=0xFFFFFFFF)  # how rosbag2 writes "no limit"
_INFINITE_NS = 2**63 - 1                              # rclpy's Infinite duration


def msgtype_name(msg_class) -> str:
    """'sensor_msgs/msg/Image' for the rclpy class sensor_msgs.msg.Image."""
    return f"{msg_class.__module__.split('.')[0]}/msg/{msg_class.__name__}"


def _bag_time(duration) -> QosTime:
    """An rclpy Duration as rosbag2 stores it; unset (0) and infinite both mean "no limit"."""
    nanoseconds = int(duration.nanoseconds)
    if nanoseconds <= 0 or nanoseconds >= _INFINITE_NS:
        return _INFINITE
    return QosTime(sec=nanoseconds // 1_000_000_000, nsec=nanoseconds % 1_000_000_000)


def to_bag_qos(profile) -> Qos:
    """An rclpy QoSProfile (ours, or a publisher's from graph introspection) as rosbag2's
    offered-QoS record."""
    return Qos(history=QosHistory(int(profile.history)), depth=int(profile.depth),
               reliability=QosReliability(int(profile.reliability)),
               durability=QosDurability(int(profile.durability)),
               deadline=_bag_time(profile.deadline), lifespan=_bag_time(profile.lifespan),
               liveliness=QosLiveliness(int(profile.liveliness)),
               liveliness_lease_duration=_bag_time(profile.liveliness_lease_duration),
               avoid_ros_namespace_conventions=bool(profile.avoid_ros_namespace_conventions))


class BagWriter:
    """Writes serialized messages to a new rosbag2 folder (MCAP by default).

    `custom_data` lands in metadata.yaml (rosbag2 custom data); `compress` zstd-compresses MCAP
    chunks (storage-level compression, read by every MCAP reader; LiDAR shrinks by about a quarter).
    """

    def __init__(self, path: str | Path, storage: str = "mcap", custom_data: dict[str, str] | None = None,
                 compress: bool = False):
        if storage not in STORAGES:
            raise ValueError(f"unknown bag storage '{storage}'; use one of {sorted(STORAGES)}")
        if compress and storage != "mcap":
            raise ValueError("chunk compression needs MCAP storage")
        self.path = Path(path)
        self._typestore = get_typestore(Stores.ROS2_KILTED)
        self._writer = Writer(self.path, version=9, storage_plugin=STORAGES[storage])
        if compress:
            self._writer.set_compression(CompressionMode.STORAGE, CompressionFormat.ZSTD)
        for key, value in (custom_data or {}).items():
            self._writer.set_custom_data(key, value)
        self._writer.open()
        self._connections: dict[str, object] = {}
        self._counts: dict[str, int] = {}
        self.message_count = 0

    def add_topic(self, topic: str, msgtype: str, qos_profile=None) -> None:
        """`qos_profile`: the offered QoS, one profile or a list (one per publisher); rclpy
        profiles, or rosbags Qos records as another bag stores them."""
        if topic in self._connections:
            return
        profiles = qos_profile if isinstance(qos_profile, list) else [qos_profile]
        offered = tuple(p if isinstance(p, Qos) else to_bag_qos(p) for p in profiles if p is not None)
        self._connections[topic] = self._writer.add_connection(
            topic, msgtype, typestore=self._typestore, offered_qos_profiles=offered)
        self._counts[topic] = 0

    def write(self, topic: str, stamp_ns: int, data: bytes) -> None:
        self._writer.write(self._connections[topic], int(stamp_ns), data)
        self._counts[topic] += 1
        self.message_count += 1

    def topic_counts(self) -> dict[str, int]:
        return dict(self._counts)

    def close(self) -> None:
        self._writer.close()
