"""Validated rosbag2 reading (MCAP or sqlite3) through rosbags, without a ROS 2 install.

Every way a bag can be bad (missing, not a bag, truncated, corrupt, a topic recorded with two
types, a topic that is not there) ends in one BagError that names the bag, the topic where one is
known, and why: the replay turns it into a message for a person and a non-zero exit.

A bag is a rosbag2 folder (metadata.yaml beside the storage files) or a bare storage file
(`.mcap`, `.db3`). A bare file that belongs to a folder bag is read as that folder, so its
metadata (custom data, offered QoS) is not lost: `bag/bag.mcap` inside its folder, and the hard
link `DIR/run.mcap` that `robovan sim` leaves beside its bag folder `DIR/run/`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from pathlib import Path

import yaml
from rosbags.rosbag2 import Reader

STORAGE_SUFFIXES = {".mcap": "mcap", ".db3": "sqlite3"}


class BagError(RuntimeError):
    """A bag that cannot be replayed: which bag, which topic (None: the bag as a whole), why."""

    def __init__(self, bag: str | Path, reason: str, topic: str | None = None):
        self.bag, self.reason, self.topic = Path(bag), reason, topic
        where = f" topic {topic}:" if topic else ""
        super().__init__(f"bag {bag}:{where} {reason}")


@dataclasses.dataclass(frozen=True)
class TopicInfo:
    name: str  # as the replay sees it (after --remap)
    recorded_as: str  # as stored in the bag
    msgtype: str  # 'sensor_msgs/msg/Imu'
    message_count: int
    offered_qos: tuple  # rosbags Qos records of the recording's publishers


def resolve_bag_path(path: str | Path) -> Path:
    """The folder bag a bare storage file belongs to, else the path itself."""
    path = Path(path)
    if not path.is_file() or path.suffix not in STORAGE_SUFFIXES:
        return path
    for folder in (path.parent, path.with_suffix("")):
        if _lists_file(folder / "metadata.yaml", path.name):
            return folder
    return path


def _lists_file(metadata: Path, name: str) -> bool:
    try:
        info = yaml.safe_load(metadata.read_text())["rosbag2_bagfile_information"]
        return name in info.get("relative_file_paths", [])
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return False


def _storage_and_custom_data(path: Path) -> tuple[str, dict[str, str]]:
    """A bare storage file carries no custom data that rosbags reads; a folder's metadata does."""
    if path.is_file():
        return STORAGE_SUFFIXES[path.suffix], {}
    info = yaml.safe_load((path / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    return str(info["storage_identifier"]), dict(info.get("custom_data") or {})


class BagReader:
    """An open bag: its topics (renamed by `remap`), custom data, time span and messages."""

    def __init__(self, path: str | Path, remap: dict[str, str] | None = None):
        self.requested = Path(path)
        self.path = resolve_bag_path(path)
        if not self.path.exists():
            raise BagError(self.requested, "no such file or folder")
        if self.path.is_dir() and not (self.path / "metadata.yaml").is_file():
            raise BagError(self.requested, "not a rosbag2 bag: the folder has no metadata.yaml")
        if self.path.is_file() and self.path.suffix not in STORAGE_SUFFIXES:
            raise BagError(
                self.requested,
                f"not a rosbag2 storage file (expected one of {sorted(STORAGE_SUFFIXES)})",
            )
        self._reader = None
        self.unusable: dict[
            str, str
        ] = {}  # topic → why it cannot be read (fatal only where needed)
        try:
            self._reader = Reader(self.path)
            self._reader.open()
            self.storage, self.custom_data = _storage_and_custom_data(self.path)
            self.topics = self._topics(remap or {})
            self.start_ns, self.end_ns = self._reader.start_time, self._reader.end_time
        except BagError:
            self.close()
            raise
        except Exception as err:  # rosbags, sqlite3, yaml, struct: all mean "unreadable bag"
            self.close()
            raise BagError(
                self.requested, f"cannot be opened, truncated or corrupt: {err}"
            ) from err
        self._connections = {
            topic: [c for c in self._reader.connections if c.topic == info.recorded_as]
            for topic, info in self.topics.items()
        }

    def _topics(self, remap: dict[str, str]) -> dict[str, TopicInfo]:
        unknown = sorted(set(remap) - {c.topic for c in self._reader.connections})
        if unknown:
            raise BagError(
                self.requested, f"--remap names topic(s) the bag does not have: {unknown}"
            )
        topics: dict[str, TopicInfo] = {}
        for connection in self._reader.connections:
            name = remap.get(connection.topic, connection.topic)
            known = topics.get(name)
            if known is not None and known.recorded_as != connection.topic:
                raise BagError(
                    self.requested,
                    f"--remap maps both {known.recorded_as} and {connection.topic} onto it",
                    name,
                )
            if known is not None and known.msgtype != connection.msgtype:
                self.unusable[name] = (
                    f"recorded with two types, {known.msgtype} and {connection.msgtype}"
                )
            offered = tuple(getattr(connection.ext, "offered_qos_profiles", ()) or ())
            count = connection.msgcount + (known.message_count if known else 0)
            topics[name] = TopicInfo(
                name,
                connection.topic,
                connection.msgtype,
                count,
                (known.offered_qos if known else ()) + offered,
            )
        return {name: info for name, info in topics.items() if name not in self.unusable}

    @property
    def duration_s(self) -> float:
        return max(self.end_ns - self.start_ns, 0) * 1e-9

    def has_messages(self, topic: str) -> bool:
        return topic in self.topics and self.topics[topic].message_count > 0

    def require(self, topic: str, why: str) -> TopicInfo:
        """The topic's info, or BagError saying what needed it."""
        if topic in self.unusable:
            raise BagError(self.requested, f"{self.unusable[topic]} ({why})", topic)
        if not self.has_messages(topic):
            state = "has no messages" if topic in self.topics else "is not in the bag"
            raise BagError(self.requested, f"{state} ({why})", topic)
        return self.topics[topic]

    def messages(self, topics: Iterable[str]) -> Iterator[tuple[str, int, bytes]]:
        """(topic, log time ns, serialized CDR) in log-time order; a read failure raises BagError
        naming the last topic read successfully, since the failure itself has none."""
        wanted = {c.id: topic for topic in topics for c in self._connections[topic]}
        connections = [c for topic in topics for c in self._connections[topic]]
        if not connections:
            return
        last = None
        try:
            for connection, stamp_ns, data in self._reader.messages(connections=connections):
                last = (wanted[connection.id], stamp_ns)
                yield last[0], stamp_ns, bytes(data)
        except Exception as err:  # rosbags, sqlite3, zstd, lz4 all raise their own types
            after = (
                f" after {last[0]} at {last[1] * 1e-9:.3f} s" if last else " at the first message"
            )
            raise BagError(
                self.requested, f"corrupt or truncated{after}: {err}", last[0] if last else None
            ) from err

    def close(self) -> None:
        if self._reader is not None and self._reader.is_open:
            self._reader.close()

    def __enter__(self) -> BagReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
