"""Records topics of a live graph to a rosbag2 bag, stamped with the node's clock (sim time in sim).

Subscriptions are raw (serialized CDR), so recording costs no decode and stores what was sent.
"""

from __future__ import annotations

from rclpy.node import Node
from rclpy.qos import QoSProfile

from robovan_autonomy.tools.bag_writer import BagWriter, msgtype_name


class RecorderNode(Node):
    def __init__(
        self, writer: BagWriter, topics: dict[str, tuple[type, QoSProfile]], **node_kwargs
    ):
        super().__init__("recorder", **node_kwargs)
        self.writer = writer
        for topic, (msg_class, qos) in topics.items():
            self.record_topic(topic, msg_class, qos)

    def record_topic(self, topic: str, msg_class: type, qos: QoSProfile, offered_qos=None) -> None:
        """Subscribe with `qos`; the bag stores `offered_qos` (the publishers' profiles) where
        known, else `qos`."""
        self.writer.add_topic(
            topic, msgtype_name(msg_class), qos if offered_qos is None else offered_qos
        )
        self.create_subscription(msg_class, topic, self._writer_for(topic), qos, raw=True)

    def _writer_for(self, topic: str):
        def write(data: bytes) -> None:
            self.writer.write(topic, self.get_clock().now().nanoseconds, data)

        return write
