"""Records topics of a live graph to a rosbag2 bag, stamped with the node's clock (sim time in sim).

Subscriptions are raw (serialized CDR), so recording costs no decode and stores what was sent.
"""

from __future__ import annotations

from nav_msgs.msg import Odometry
from rclpy.node import Node
from rclpy.qos import QoSProfile
from rclpy.serialization import serialize_message
from sensor_msgs.msg import PointCloud2

from robovan_autonomy import interfaces as itf
from robovan_autonomy.core_types import FrameTransform
from robovan_autonomy.tf_tree import map_to_base_link
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

    def record_thinned_points(self, topic: str, qos: QoSProfile, keep_every: int) -> None:
        """Record one point in keep_every of each cloud on topic, in its stamp and frame (a cloud
        that does not decode is recorded as sent)."""
        msgtype = msgtype_name(PointCloud2)
        self.writer.add_topic(topic, msgtype, qos)

        def write(msg: PointCloud2) -> None:
            try:
                rows = itf.decode_point_rows(msg, msg.header.frame_id)
                thinned = itf.encode_points(0.0, rows[::keep_every], msg.header.frame_id)
                thinned.header = msg.header
                msg = thinned
            except itf.InterfaceError:
                pass
            data = itf.canonical_cdr(serialize_message(msg), msgtype)
            self.writer.write(topic, self.get_clock().now().nanoseconds, data)

        self.create_subscription(PointCloud2, topic, write, qos)

    def record_tf(self, static: list[FrameTransform], odometry_topic: str) -> None:
        """/tf_static now, once; on /tf, map → base_link from every estimate on odometry_topic
        (one that does not decode is left out: the bag keeps the odometry message as sent)."""
        self.writer.add_topic(itf.TF_STATIC, itf.TF_MSGTYPE, itf.LATCHED_QOS)
        self.writer.add_topic(itf.TF, itf.TF_MSGTYPE, itf.RELIABLE_QOS)
        now_ns = self.get_clock().now().nanoseconds
        self.writer.write(itf.TF_STATIC, now_ns, itf.encode_tf_cdr(now_ns * 1e-9, static))
        self.create_subscription(Odometry, odometry_topic, self._write_tf, itf.RELIABLE_QOS)

    def _write_tf(self, msg: Odometry) -> None:
        try:
            estimate = itf.decode_odometry(msg)
        except itf.InterfaceError:
            return
        transform = itf.encode_tf_cdr(estimate.stamp_s, [map_to_base_link(estimate)])
        self.writer.write(itf.TF, self.get_clock().now().nanoseconds, transform)
