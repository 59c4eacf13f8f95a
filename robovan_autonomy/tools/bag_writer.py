"""rosbag2 writing through rosbags, so bags are made without a ROS 2 install.

Messages arrive as serialized CDR (raw subscriptions), so recording costs no decode/encode.
The offered QoS of each topic is stored with its connection, as `ros2 bag record` does.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from rosbags.interfaces import (
    Qos,
    QosDurability,
    QosHistory,
    QosLiveliness,
    QosReliability,
    QosTime,
)
from rosbags.rosbag2 import CompressionFormat, CompressionMode, StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

from robovan_autonomy.config_errors import ConfigError, OutputError, load_yaml

STORAGES = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}
_INFINITE = QosTime(sec=0x7FFFFFFF, nsec=0xFFFFFFFF)  # how rosbag2 writes "no limit"
_INFINITE_NS = 2**63 - 1  # rclpy's Infinite duration
BAG_METADATA = "metadata.yaml"
_MOVE_IT = "choose another --out, or move it away"


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
    return Qos(
        history=QosHistory(int(profile.history)),
        depth=int(profile.depth),
        reliability=QosReliability(int(profile.reliability)),
        durability=QosDurability(int(profile.durability)),
        deadline=_bag_time(profile.deadline),
        lifespan=_bag_time(profile.lifespan),
        liveliness=QosLiveliness(int(profile.liveliness)),
        liveliness_lease_duration=_bag_time(profile.liveliness_lease_duration),
        avoid_ros_namespace_conventions=bool(profile.avoid_ros_namespace_conventions),
    )


class BagWriter:
    """Writes serialized messages to a new rosbag2 folder (MCAP by default).

    `custom_data` lands in metadata.yaml (rosbag2 custom data); MCAP chunks are zstd-compressed
    unless `compress` is False (storage-level compression, read by every MCAP reader; LiDAR
    shrinks by about a quarter for a few per cent of one core). sqlite3 bags are written plain.
    """

    def __init__(
        self,
        path: str | Path,
        storage: str = "mcap",
        custom_data: dict[str, str] | None = None,
        compress: bool = True,
    ):
        if storage not in STORAGES:
            raise ValueError(f"unknown bag storage '{storage}'; use one of {sorted(STORAGES)}")
        self.path = Path(path)
        self._typestore = get_typestore(Stores.ROS2_KILTED)
        self._writer = Writer(self.path, version=9, storage_plugin=STORAGES[storage])
        if compress and storage == "mcap":
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
        offered = tuple(
            p if isinstance(p, Qos) else to_bag_qos(p) for p in profiles if p is not None
        )
        self._connections[topic] = self._writer.add_connection(
            topic, msgtype, typestore=self._typestore, offered_qos_profiles=offered
        )
        self._counts[topic] = 0

    def write(self, topic: str, stamp_ns: int, data: bytes) -> None:
        self._writer.write(self._connections[topic], int(stamp_ns), data)
        self._counts[topic] += 1
        self.message_count += 1

    def topic_counts(self) -> dict[str, int]:
        return dict(self._counts)

    def close(self) -> None:
        self._writer.close()


def check_replaceable(path: str | Path) -> None:
    """OutputError unless `path` is free or holds only a bag a run wrote there (its rosbag2
    metadata and the storage file named after the folder), which a re-run may replace."""
    path = Path(path)
    if not os.path.lexists(path):
        return
    if path.is_symlink() or not path.is_dir():
        raise OutputError(f"{path} is not a bag folder a run wrote; {_MOVE_IT}")
    own = {BAG_METADATA, f"{path.name}.mcap", f"{path.name}.db3"}
    foreign = sorted(
        entry.name
        for entry in path.iterdir()
        if entry.name not in own or entry.is_symlink() or not entry.is_file()
    )
    if foreign:
        more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        raise OutputError(
            f"{path} holds {', '.join(foreign[:3])}{more}, which no run wrote; {_MOVE_IT}"
        )
    if any(path.iterdir()) and not _is_bag_metadata(path / BAG_METADATA):
        raise OutputError(f"{path} holds no rosbag2 {BAG_METADATA}, so no run wrote it; {_MOVE_IT}")


def remove_previous_bag(path: str | Path) -> None:
    """Make room for a new bag at `path` by removing the one a previous run wrote there; anything
    else there is an OutputError (check_replaceable), never deleted."""
    check_replaceable(path)
    if os.path.lexists(path):
        shutil.rmtree(path)


def _is_bag_metadata(path: Path) -> bool:
    try:
        doc = load_yaml(path)
    except ConfigError:
        return False
    return isinstance(doc, dict) and "rosbag2_bagfile_information" in doc
