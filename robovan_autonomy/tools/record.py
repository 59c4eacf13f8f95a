"""`robovan record`: chosen topics of a live graph to a rosbag2 bag, as `ros2 bag record` does.

Topics are found by graph discovery (they may appear after recording starts); each is subscribed
raw with a QoS every publisher of it matches, and the bag stores the publishers' offered QoS.
Stamps are the recorder's clock: wall time, or /clock with `use_sim_time`.
"""

from __future__ import annotations

import dataclasses
import signal
import threading
import time
from pathlib import Path

import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rosbags.typesys import TypesysError

from robovan_autonomy.tools.bag_writer import BagWriter
from robovan_autonomy.tools.recorder_node import RecorderNode
from robovan_autonomy.tools.replay import message_class

DISCOVERY_PERIOD_S = 0.5  # how often the graph is searched for topics not yet recorded
SPIN_PERIOD_S = 0.05  # executor wait: bounds how late a stop request is noticed
RECORD_DEPTH = 100  # per-topic queue: bursts of small messages must not be dropped by us
NODE_CHATTER = frozenset({"/rosout", "/parameter_events"})  # every node's; `--all` leaves them out


@dataclasses.dataclass
class RecordOptions:
    out: Path  # the bag folder to create
    topics: tuple[str, ...] = ()  # exact names; empty with all_topics for everything
    all_topics: bool = False
    storage: str = "mcap"
    duration_s: float | None = None
    use_sim_time: bool = False


@dataclasses.dataclass
class RecordSummary:
    bag: Path
    messages: dict[str, int]
    skipped: dict[str, str]  # topic → why it was not recorded
    never_seen: list[str]


def subscription_qos(offered: list[QoSProfile]) -> QoSProfile:
    """Reliable / transient-local only where all publishers offer it (else some would not match)."""
    reliable = bool(offered) and all(p.reliability == ReliabilityPolicy.RELIABLE for p in offered)
    durable = bool(offered) and all(
        p.durability == DurabilityPolicy.TRANSIENT_LOCAL for p in offered
    )
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=RECORD_DEPTH,
        reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT,
        durability=DurabilityPolicy.TRANSIENT_LOCAL if durable else DurabilityPolicy.VOLATILE,
    )


class LiveRecorder:
    def __init__(self, options: RecordOptions, context: rclpy.Context):
        self.options = options
        self.writer = BagWriter(options.out, options.storage)
        overrides = [Parameter("use_sim_time", value=options.use_sim_time)]
        self.node = RecorderNode(self.writer, {}, context=context, parameter_overrides=overrides)
        self.recorded: set[str] = set()
        self.skipped: dict[str, str] = {}

    def discover(self) -> None:
        """Start recording every wanted topic that now has publishers."""
        for topic, types in self.node.get_topic_names_and_types():
            if topic in self.recorded or topic in self.skipped:
                continue
            if topic not in self.options.topics and not (
                self.options.all_topics and topic not in NODE_CHATTER
            ):
                continue
            publishers = self.node.get_publishers_info_by_topic(topic)
            if not publishers:
                continue
            msg_class = message_class(types[0]) if len(types) == 1 else None
            if msg_class is None:
                self.skipped[topic] = (
                    f"published with several types {types}"
                    if len(types) > 1
                    else f"type {types[0]} is not installed here"
                )
                continue
            offered = [info.qos_profile for info in publishers]
            try:
                self.node.record_topic(topic, msg_class, subscription_qos(offered), offered)
            except TypesysError as err:  # installed for rclpy, but rosbags has no definition of it
                self.skipped[topic] = f"cannot be stored: {err}"
                continue
            self.recorded.add(topic)

    def close(self) -> RecordSummary:
        self.node.destroy_node()
        self.writer.close()
        wanted = set(self.options.topics)
        return RecordSummary(
            self.options.out,
            self.writer.topic_counts(),
            dict(self.skipped),
            sorted(wanted - self.recorded - set(self.skipped)),
        )


def record(
    options: RecordOptions, context: rclpy.Context | None = None, stop=None
) -> RecordSummary:
    """Record until duration_s has passed, SIGINT, or `stop()` returns True."""
    if not options.topics and not options.all_topics:
        raise ValueError("name the topics to record, or record all of them")
    own_context = context is None
    if own_context:
        context = rclpy.Context()
        rclpy.init(context=context, args=[])
    recorder = LiveRecorder(options, context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(recorder.node)
    interrupted = []
    on_main_thread = threading.current_thread() is threading.main_thread()
    previous = (
        signal.signal(signal.SIGINT, lambda *_: interrupted.append(True))
        if on_main_thread
        else None
    )
    started = next_discovery = time.monotonic()
    try:
        while not interrupted and not (stop and stop()):
            now = time.monotonic()
            if options.duration_s is not None and now - started >= options.duration_s:
                break
            if now >= next_discovery:
                recorder.discover()
                next_discovery = now + DISCOVERY_PERIOD_S
            executor.spin_once(timeout_sec=SPIN_PERIOD_S)
    finally:
        if on_main_thread:
            signal.signal(signal.SIGINT, previous)
        executor.shutdown()
        summary = recorder.close()
        if own_context:
            rclpy.try_shutdown(context=context)
    return summary
