"""The lockstep graph starts with every writer matched: no first message is lost to DDS timing."""
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import QoSProfile, ReliabilityPolicy
from std_msgs.msg import String

from robovan_autonomy.tools.lockstep import unmatched, wait_until_matched


def test_the_first_message_after_matching_reaches_every_reader():
    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        writer = rclpy.create_node("writer", context=context)
        readers = [rclpy.create_node(f"reader_{i}", context=context) for i in range(5)]
        received = []
        for reader in readers:
            reader.create_subscription(String, "/chatter", received.append, 10)
        publisher = writer.create_publisher(String, "/chatter", 10)
        nodes = [writer, *readers]
        wait_until_matched(nodes)
        assert unmatched(nodes) == [] and publisher.get_subscription_count() == 5
        publisher.publish(String(data="first"))
        executor = SingleThreadedExecutor(context=context)
        for node in nodes:
            executor.add_node(node)
        for _ in range(10):
            executor.spin_once(timeout_sec=0.0)
        assert [m.data for m in received] == ["first"] * 5
    finally:
        rclpy.try_shutdown(context=context)


def test_a_reader_the_writer_can_never_match_is_not_waited_for():
    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        node = rclpy.create_node("mixed", context=context)
        node.create_publisher(String, "/chatter", QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT))
        node.create_subscription(String, "/chatter", lambda msg: None,
                                 QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE))
        wait_until_matched([node], timeout_s=2.0)
    finally:
        rclpy.try_shutdown(context=context)
