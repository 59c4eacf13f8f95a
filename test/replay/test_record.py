"""`robovan record`: chosen topics of a live graph into a rosbag2 bag, with the offered QoS."""

import numpy as np
import rclpy
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Imu, JointState
from std_msgs.msg import String

from robovan_autonomy import cli
from robovan_autonomy import core_types as ct
from robovan_autonomy import interfaces as itf
from robovan_autonomy.tools.bag_reader import BagReader
from robovan_autonomy.tools.lockstep import sealed_graph
from robovan_autonomy.tools.record import RecordOptions, record, subscription_qos

MESSAGES_PER_TOPIC = 20


def _record_talker(tmp_path, **options):
    """Record while a node in this process publishes IMU (sensor QoS), vehicle status (reliable)
    and a chatter topic nobody asked for."""
    context = rclpy.Context()
    with sealed_graph():
        rclpy.init(context=context, args=[])
    talker = rclpy.create_node("talker", context=context)
    publishers = [
        (
            talker.create_publisher(Imu, itf.IMU_DATA, itf.SENSOR_QOS),
            itf.encode_imu(ct.ImuSample(0.0, np.zeros(3), np.zeros(3))),
        ),
        (
            talker.create_publisher(JointState, itf.VEHICLE_STATUS, itf.RELIABLE_QOS),
            itf.encode_vehicle_status(ct.VehicleStatus(0.0, 0.0, 0.0, 1.0, 0.0)),
        ),
        (talker.create_publisher(String, "/chatter", 10), String(data="hi")),
    ]
    sent = []

    def stop():
        for publisher, msg in publishers:
            publisher.publish(msg)
        sent.append(1)
        return len(sent) > MESSAGES_PER_TOPIC

    try:
        return record(RecordOptions(out=tmp_path / "bag", **options), context=context, stop=stop)
    finally:
        talker.destroy_node()
        rclpy.try_shutdown(context=context)


def test_record_writes_the_chosen_topics_with_their_offered_qos(tmp_path):
    summary = _record_talker(tmp_path, topics=(itf.IMU_DATA, itf.VEHICLE_STATUS))
    assert set(summary.messages) == {itf.IMU_DATA, itf.VEHICLE_STATUS}
    with BagReader(tmp_path / "bag") as reader:
        assert reader.storage == "mcap" and "/chatter" not in reader.topics
        assert reader.has_messages(itf.IMU_DATA) and reader.has_messages(itf.VEHICLE_STATUS)
        assert reader.topics[itf.IMU_DATA].offered_qos[0].reliability.name == "BEST_EFFORT"
        assert reader.topics[itf.VEHICLE_STATUS].offered_qos[0].reliability.name == "RELIABLE"


def test_record_to_sqlite3_and_report_topics_never_published(tmp_path):
    summary = _record_talker(tmp_path, topics=(itf.IMU_DATA, "/never"), storage="sqlite3")
    assert summary.never_seen == ["/never"]
    with BagReader(tmp_path / "bag") as reader:
        assert reader.storage == "sqlite3" and reader.has_messages(itf.IMU_DATA)


def test_recording_subscribes_reliably_only_when_every_publisher_is_reliable():
    reliable = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)
    best_effort = QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT)
    assert subscription_qos([reliable]).reliability == ReliabilityPolicy.RELIABLE
    assert subscription_qos([reliable, best_effort]).reliability == ReliabilityPolicy.BEST_EFFORT
    assert subscription_qos([reliable]).durability == DurabilityPolicy.VOLATILE


def test_cli_record_for_a_duration_writes_a_bag(tmp_path, capsys):
    assert (
        cli.main(["record", "/nothing_here", "--duration", "0.3", "--out", str(tmp_path / "bag")])
        == 0
    )
    assert (tmp_path / "bag" / "metadata.yaml").is_file()
    assert "never published" in capsys.readouterr().err


def test_record_all_takes_every_data_topic_but_not_node_chatter(tmp_path):
    summary = _record_talker(tmp_path, all_topics=True)
    assert {itf.IMU_DATA, itf.VEHICLE_STATUS, "/chatter"} <= set(summary.messages)
    assert not {"/rosout", "/parameter_events"} & set(summary.messages)
