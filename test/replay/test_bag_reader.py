"""BagReader: every way a bag can be unreadable is one BagError naming the bag (and topic)."""

import os

import numpy as np
import pytest
from rclpy.serialization import serialize_message
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

from robovan_autonomy import core_types as ct
from robovan_autonomy import interfaces as itf
from robovan_autonomy.tools.bag_reader import BagError, BagReader, resolve_bag_path
from robovan_autonomy.tools.bag_writer import BagWriter


def _small_bag(path, storage="mcap", compress=False):
    """Two topics, three messages each, 0.1 s apart."""
    writer = BagWriter(path, storage, custom_data={"k": "v"}, compress=compress)
    writer.add_topic(itf.IMU_DATA, "sensor_msgs/msg/Imu", itf.SENSOR_QOS)
    writer.add_topic(itf.CLOCK, "rosgraph_msgs/msg/Clock", itf.CLOCK_QOS)
    for k in range(3):
        t_s = 0.1 * k
        writer.write(
            itf.IMU_DATA,
            round(t_s * 1e9),
            serialize_message(
                itf.encode_imu(ct.ImuSample(t_s, np.zeros(3), np.array([0.0, 0.0, 9.81])))
            ),
        )
        writer.write(itf.CLOCK, round(t_s * 1e9), serialize_message(itf.encode_clock(t_s)))
    writer.close()
    return path


def test_folder_bare_file_and_sim_hard_link_read_as_the_same_bag(tmp_path):
    bag = _small_bag(tmp_path / "run")
    os.link(bag / "run.mcap", tmp_path / "run.mcap")
    assert resolve_bag_path(bag / "run.mcap") == bag
    assert resolve_bag_path(tmp_path / "run.mcap") == bag
    with BagReader(tmp_path / "run.mcap") as reader:
        assert reader.custom_data == {"k": "v"}
        assert reader.topics[itf.IMU_DATA].message_count == 3


def test_messages_come_in_log_time_order_with_their_topic(tmp_path):
    with BagReader(_small_bag(tmp_path / "b")) as reader:
        stamps = [(topic, t) for topic, t, _ in reader.messages([itf.IMU_DATA, itf.CLOCK])]
    assert [t for _, t in stamps] == sorted(t for _, t in stamps)
    assert {topic for topic, _ in stamps} == {itf.IMU_DATA, itf.CLOCK}


def test_sqlite3_bag_reads_like_mcap(tmp_path):
    with BagReader(_small_bag(tmp_path / "b", "sqlite3")) as reader:
        assert reader.storage == "sqlite3"
        assert len(list(reader.messages([itf.IMU_DATA]))) == 3


def test_offered_qos_is_kept(tmp_path):
    with BagReader(_small_bag(tmp_path / "b")) as reader:
        (qos,) = reader.topics[itf.IMU_DATA].offered_qos
    assert qos.reliability.name == "BEST_EFFORT" and qos.depth == itf.SENSOR_QOS.depth


def test_missing_path_names_the_bag(tmp_path):
    with pytest.raises(BagError, match="no such file") as err:
        BagReader(tmp_path / "nope")
    assert err.value.bag == tmp_path / "nope"


def test_folder_without_metadata_is_not_a_bag(tmp_path):
    with pytest.raises(BagError, match="no metadata.yaml"):
        BagReader(tmp_path)


def test_truncated_mcap_fails_cleanly_naming_the_bag(tmp_path):
    bag = _small_bag(tmp_path / "b")
    mcap = bag / "b.mcap"
    os.truncate(mcap, mcap.stat().st_size // 2)
    with pytest.raises(BagError, match="truncated or corrupt") as err:
        BagReader(bag)
    assert str(bag) in str(err.value)


def test_sqlite3_file_that_is_not_a_database_fails_cleanly(tmp_path):
    bag = _small_bag(tmp_path / "b", "sqlite3")
    (bag / "b.db3").write_bytes(b"\x00" * 8192)
    with pytest.raises(BagError, match="truncated or corrupt"):
        BagReader(bag)


def test_corrupt_chunk_mid_bag_fails_while_reading_naming_the_last_good_topic(tmp_path):
    bag = _small_bag(tmp_path / "b", compress=True)
    with BagReader(bag) as reader:
        before = list(reader.messages([itf.IMU_DATA]))
    mcap = bag / "b.mcap"
    data = bytearray(mcap.read_bytes())
    start = data.index(b"\x28\xb5\x2f\xfd")  # the zstd frame of the (only) chunk
    data[start : start + 4] = b"\x00\x00\x00\x00"
    mcap.write_bytes(bytes(data))
    with BagReader(bag) as reader, pytest.raises(BagError, match="corrupt or truncated"):
        list(reader.messages([itf.IMU_DATA]))
    assert len(before) == 3


def test_remap_renames_a_topic(tmp_path):
    with BagReader(_small_bag(tmp_path / "b"), remap={itf.IMU_DATA: "/imu"}) as reader:
        assert "/imu" in reader.topics and itf.IMU_DATA not in reader.topics
        assert {topic for topic, _, _ in reader.messages(["/imu"])} == {"/imu"}


def test_remap_of_a_topic_the_bag_lacks_is_an_error(tmp_path):
    with pytest.raises(BagError, match="does not have"):
        BagReader(_small_bag(tmp_path / "b"), remap={"/nope": "/imu"})


def test_required_topic_that_is_absent_names_it_and_why(tmp_path):
    with BagReader(_small_bag(tmp_path / "b")) as reader, pytest.raises(BagError) as err:
        reader.require(itf.VEHICLE_STATUS, "read by planner")
    assert err.value.topic == itf.VEHICLE_STATUS and "read by planner" in str(err.value)


def test_a_topic_recorded_with_two_types_is_an_error_only_where_it_is_needed(tmp_path):
    typestore = get_typestore(Stores.ROS2_KILTED)
    imu = serialize_message(itf.encode_imu(ct.ImuSample(0.0, np.zeros(3), np.zeros(3))))
    with Writer(tmp_path / "mixed", version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        writer.add_connection("/mixed", "sensor_msgs/msg/Imu", typestore=typestore)
        writer.add_connection("/mixed", "rosgraph_msgs/msg/Clock", typestore=typestore)
        writer.write(
            writer.add_connection(itf.IMU_DATA, "sensor_msgs/msg/Imu", typestore=typestore), 0, imu
        )
    with BagReader(tmp_path / "mixed") as reader:
        assert reader.has_messages(itf.IMU_DATA)
        with pytest.raises(BagError, match="two types") as err:
            reader.require("/mixed", "read by planner")
    assert err.value.topic == "/mixed"
