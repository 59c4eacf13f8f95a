"""`robovan replay`: a rosbag2 bag's sensor and vehicle topics and /clock into the stack, open loop.

The stack is the replay node set, `stack.node_set("replay", ground_truth)`, in this process; a
node that registers for mode "replay" joins without a change here. What to play follows from the
nodes: every topic a node subscribes to and no node publishes is an input, taken from the bag
(the JPEG camera stream is decoded for nodes that read raw images); every topic a node publishes
is an output, recorded to DIR/run/ (plus the hard link DIR/run.mcap for MCAP, as `robovan sim`
leaves it). DIR/report.json holds the figures the bag allows (tools/replay_metrics.py).

A stage (localization, perception) without a node in the replay set is fed from the bag: its
recorded output where the bag has one, else the simulator's ground truth, the way `robovan sim
--ground-truth` feeds it. `ground_truth` forces stages onto ground truth (their nodes stay out).

Time: the bag's log times on a 10 ms grid (the simulator's tick). Each tick publishes the bag's
messages that fall due, then /clock. Deterministic mode then runs every ready callback until
none is left, on one thread, before the next tick: Fast DDS delivers inside publish() within a
process, so two replays of one bag give bit-identical outputs. The graph is sealed then (no
discovery beyond this process), so nothing running beside it on the same domain can leak in.
Otherwise the stack spins on its own threads while the ticks are paced to the wall clock at
`rate`, as on a vehicle: a stack too slow for the data drops messages as it would there.
"""

from __future__ import annotations

import collections
import dataclasses
import importlib
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import rclpy
from builtin_interfaces.msg import Time
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.serialization import deserialize_message
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CompressedImage

from robovan_autonomy import interfaces as itf
from robovan_autonomy.node_utils import FRAME_ALIASES, startup_heap_frozen
from robovan_autonomy.sim.world import STEP_S
from robovan_autonomy.stack import STAGES, check_stages, node_set, params_files
from robovan_autonomy.tools import replay_metrics as metrics
from robovan_autonomy.tools.bag_reader import BagError, BagReader
from robovan_autonomy.tools.bag_writer import (
    STORAGES,
    BagWriter,
    check_replaceable,
    msgtype_name,
    remove_previous_bag,
)
from robovan_autonomy.tools.lockstep import LockstepGraph
from robovan_autonomy.tools.node_runner import create_nodes, merged_parameters
from robovan_autonomy.tools.recorder_node import RecorderNode
from robovan_autonomy.tools.run_info import RUN_INFO_KEY, RunInfo

TICK_NS = round(STEP_S * 1e9)  # the simulator's lockstep tick: the /clock granularity of a replay
PACED_END_GRACE_S = 0.5  # wall time the stack gets after the last tick to finish its work
PROGRESS_EVERY_TICKS = 100  # one progress line per second of bag time
GRAPH_TOPICS = frozenset({itf.CLOCK, "/rosout", "/parameter_events"})  # never played nor recorded
# The outputs that must be bit-identical between two deterministic replays of one bag
# (/diagnostics carries wall-clock timings, so it is recorded but not compared).
DETERMINISTIC_OUTPUTS = (
    itf.ODOMETRY,
    itf.OBJECTS,
    itf.PLANNING_COMMAND,
    itf.CONTROL_COMMAND,
    itf.TRAJECTORY,
)
# Command plans, the planner's first: its data age is the stack's input-to-command latency.
COMMAND_TOPICS = (itf.PLANNING_COMMAND, itf.CONTROL_COMMAND)
# Inputs a bag may carry in another form: the topic nodes read ← the topic a recording holds.
DERIVED_INPUTS = {itf.CAMERA_IMAGE: itf.CAMERA_COMPRESSED}
OUTPUT_DIR_NAME = "run"


@dataclasses.dataclass
class ReplayOptions:
    bag: Path
    out_dir: Path
    deterministic: bool = False
    rate: float | None = None  # pace to rate × real time; None: 1.0, or unpaced when deterministic
    remap: dict[str, str] = dataclasses.field(default_factory=dict)  # bag topic → topic played
    # 'OURS=THEIRS': the bag's sensor frame_id THEIRS read as our frame OURS by every node that
    # takes frame aliases (a bag of another driver: lidar_top=velodyne_top).
    frame_aliases: tuple[str, ...] = ()
    ground_truth: tuple[str, ...] | None = None  # stages forced onto ground truth; None: automatic
    scenario: str | None = None  # map and mission from this scenario instead of the bag's
    storage: str = "mcap"  # of the output bag
    progress: bool = False
    # Extra nodes built in the replay's context beside the stack (probes in tests, viewers):
    # their subscriptions are inputs like the stack's.
    extra_nodes: tuple[Callable[[rclpy.Context], object], ...] = ()

    def __post_init__(self):
        self.bag, self.out_dir = Path(self.bag), Path(self.out_dir)
        if self.rate is not None and not self.rate > 0.0:
            raise ValueError(f"rate must be > 0, got {self.rate}")
        if self.storage not in STORAGES:
            raise ValueError(f"unknown storage '{self.storage}'; use one of {sorted(STORAGES)}")
        check_stages(self.ground_truth or ())
        for entry in self.frame_aliases:
            itf.parse_frame_alias(entry)

    @property
    def pace_rate(self) -> float | None:
        return self.rate if self.deterministic else (self.rate or 1.0)


@dataclasses.dataclass
class Feed:
    """One input: bag topic `source` (of class `source_class`) played as `topic`."""

    topic: str
    source: str
    source_class: type
    publisher: object
    convert: Callable | None = None
    played: int = 0


def message_class(msgtype: str) -> type | None:
    """The rclpy class for 'pkg/msg/Name', None when that package is not installed."""
    package, _, name = msgtype.partition("/msg/")
    try:
        return getattr(importlib.import_module(f"{package}.msg"), name)
    except (ImportError, AttributeError, ValueError):
        return None


def decode_to_raw_image(msg: CompressedImage):
    """JPEG → bgr8 Image with the recorded header (stamp to the nanosecond, frame)."""
    image = itf.encode_image(0.0, itf.decode_compressed_image(msg, msg.header.frame_id))
    image.header = msg.header
    return image


def stage_sources(reader: BagReader, forced: tuple[str, ...] | None) -> dict[str, str]:
    """Where each stage's output comes from: 'node', 'recorded', 'ground_truth' or 'missing'."""
    served = {spec.stage for spec in node_set("replay") if spec.stage}
    sources = {}
    for stage, wiring in STAGES.items():
        if stage in (forced or ()):
            sources[stage] = "ground_truth"
        elif stage in served:
            sources[stage] = "node"
        elif reader.has_messages(wiring.output):
            sources[stage] = "recorded"
        elif reader.has_messages(wiring.ground_truth):  # a stage no node of the set serves
            sources[stage] = "ground_truth"
        else:
            sources[stage] = "missing"
    return sources


def _combined_qos(profiles: list[QoSProfile]) -> QoSProfile:
    """A publisher profile every one of these subscriptions matches."""
    reliable = any(p.reliability == ReliabilityPolicy.RELIABLE for p in profiles)
    durable = any(p.durability == DurabilityPolicy.TRANSIENT_LOCAL for p in profiles)
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=max(max(p.depth for p in profiles), 1),
        reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT,
        durability=DurabilityPolicy.TRANSIENT_LOCAL if durable else DurabilityPolicy.VOLATILE,
    )


class _WriteHandOff:
    """The recorder's writes, queued for the thread that owns the output bag: the stack's
    threads record in paced mode, and an sqlite3 connection refuses every thread but its own."""

    def __init__(self, writer: BagWriter):
        self.writer = writer
        self.pending: collections.deque = collections.deque()

    def add_topic(self, topic: str, msgtype: str, qos_profile=None) -> None:
        self.writer.add_topic(topic, msgtype, qos_profile)

    def write(self, topic: str, stamp_ns: int, data: bytes) -> None:
        self.pending.append((topic, stamp_ns, data))

    def flush(self) -> None:
        while self.pending:
            self.writer.write(*self.pending.popleft())


def _clock(t_ns: int) -> Clock:
    return Clock(clock=Time(sec=t_ns // 1_000_000_000, nanosec=t_ns % 1_000_000_000))


class Replay:
    def __init__(self, options: ReplayOptions):
        self.options = options
        self.reader = BagReader(options.bag, options.remap)
        self.graph: LockstepGraph | None = None
        try:
            if not any(info.message_count for info in self.reader.topics.values()):
                raise BagError(self.reader.requested, "has no messages")
            self._check_out_dir()
            self.run_info = self._run_info()
            self.sources = stage_sources(self.reader, options.ground_truth)
            self.ground_truth = tuple(
                s for s, where in self.sources.items() if where == "ground_truth"
            )
            self.specs = node_set("replay", self.ground_truth)
        except BaseException:
            self.reader.close()
            raise
        self.feeds: dict[str, list[Feed]] = {}
        self.outputs: dict[str, tuple[type, QoSProfile]] = {}
        self.played = 0
        self.last_tick_ns = self.reader.start_ns
        self.wall_time_s = 0.0
        self.tick_wall_ms: list[float] = []
        self.schedule_lag_ms: list[float] = []
        self.warnings: list[str] = []

    def _check_out_dir(self) -> None:
        out, bag = self.options.out_dir.resolve(), self.reader.path.resolve()
        if bag == out or out in bag.parents:
            raise BagError(
                self.reader.requested,
                f"--out {self.options.out_dir} holds the bag being replayed; choose another folder",
            )
        check_replaceable(self.options.out_dir / OUTPUT_DIR_NAME)

    def _run_info(self) -> RunInfo | None:
        if self.options.scenario:
            from robovan_autonomy.mapping.lanelet_map import load_map
            from robovan_autonomy.sim.scenario import check_against_map, load_scenario

            scenario = load_scenario(self.options.scenario)
            check_against_map(scenario, load_map(scenario.map_path))
            return RunInfo.from_scenario(scenario)
        try:
            info = RunInfo.from_custom_data(self.reader.custom_data)
        except ValueError as err:
            raise BagError(self.reader.requested, str(err)) from None
        if info is not None and not info.map_path.is_file():
            raise BagError(
                self.reader.requested,
                f"custom data '{RUN_INFO_KEY}' names map '{info.map}', "
                f"which is not in {info.map_path.parent}",
            )
        return info

    # -- graph --------------------------------------------------------------------------------
    def _build_graph(self) -> None:
        """The stack, extra nodes and the player, with inputs and outputs planned; a bag that
        cannot feed them fails here, before anything is written."""
        self.graph = LockstepGraph(sealed=self.options.deterministic)
        self.context = self.graph.context
        extra = self.run_info.node_parameters() if self.run_info else None
        if self.run_info is None:
            self.warnings.append("no mission: the bag has no run info and no --scenario was given")
        parameters = merged_parameters(params_files("replay"), extra)
        for spec in self.specs:
            if self.options.frame_aliases and FRAME_ALIASES in spec.parameters():
                values = parameters.setdefault(spec.name, {})
                values[FRAME_ALIASES.name] = [
                    *values.get(FRAME_ALIASES.name, []),
                    *self.options.frame_aliases,
                ]
        self.stack_nodes = create_nodes(self.specs, parameters, self.context, use_sim_time=True)
        self.extra_nodes = [factory(self.context) for factory in self.options.extra_nodes]
        self.player = rclpy.create_node("replay_player", context=self.context)
        for node in [*self.stack_nodes, *self.extra_nodes, self.player]:
            self.graph.add(node)
        self.clock_pub = self.player.create_publisher(Clock, itf.CLOCK, itf.CLOCK_QOS)
        self._plan_feeds()

    def _add_recorder(self, writer: BagWriter) -> None:
        self.recording = _WriteHandOff(writer)
        sim_time = [Parameter("use_sim_time", value=True)]
        self.graph.add(
            RecorderNode(
                self.recording, self.outputs, context=self.context, parameter_overrides=sim_time
            ),
            recorder=True,
        )

    def _destroy_graph(self) -> None:
        if self.graph is not None:
            self.graph.close()

    def _plan_feeds(self) -> None:
        """Inputs and outputs from what the nodes subscribe to and publish."""
        readers: dict[str, list] = {}
        for node in [*self.stack_nodes, *self.extra_nodes]:
            for sub in node.subscriptions:
                readers.setdefault(sub.topic_name, []).append(
                    (node.get_name(), sub.msg_type, sub.qos_profile)
                )
            for pub in node.publishers:
                if pub.topic_name not in GRAPH_TOPICS:
                    self.outputs.setdefault(pub.topic_name, (pub.msg_type, pub.qos_profile))
        for topic in sorted(set(readers) - set(self.outputs) - GRAPH_TOPICS):
            names = sorted({name for name, _, _ in readers[topic]})
            msg_class = readers[topic][0][1]
            source = self._source_of(topic, names)
            if source is None:
                continue
            source_class = msg_class if source == topic else CompressedImage
            self._check_type(source, source_class)
            publisher = self.player.create_publisher(
                msg_class, topic, _combined_qos([q for _, _, q in readers[topic]])
            )
            self.feeds.setdefault(source, []).append(
                Feed(
                    topic,
                    source,
                    source_class,
                    publisher,
                    None if source == topic else decode_to_raw_image,
                )
            )

    def _source_of(self, topic: str, readers: list[str]) -> str | None:
        """The bag topic that feeds `topic`; None for an optional stage's output the bag has no
        source for (noted in the warnings)."""
        if self.reader.has_messages(topic):
            return topic
        derived = DERIVED_INPUTS.get(topic)
        if derived is not None and self.reader.has_messages(derived):
            return derived
        for stage, wiring in STAGES.items():
            if wiring.optional and topic in wiring.remapping:
                self.warnings.append(
                    f"the bag has neither {wiring.output} nor {wiring.ground_truth}: "
                    f"{', '.join(readers)} run without the {stage} stage"
                )
                return None
        why = f"read by {', '.join(readers)}; no node of the replay set publishes it"
        for stage, wiring in STAGES.items():
            if topic in wiring.remapping:
                why += (
                    f"; the {stage} stage has no node here, so the bag must carry its recorded "
                    f"output {wiring.output} or the ground truth {wiring.ground_truth}"
                )
        if derived is not None:
            why += f"; nor does the bag have {derived} to decode it from"
        self.reader.require(topic, why)
        return topic

    def _check_type(self, topic: str, expected: type) -> None:
        recorded = self.reader.topics[topic].msgtype
        if recorded != msgtype_name(expected):
            known = "" if message_class(recorded) else " (a type this installation does not know)"
            raise BagError(
                self.reader.requested,
                f"recorded as {recorded}{known}; the stack reads {msgtype_name(expected)}",
                topic,
            )

    # -- the loop -----------------------------------------------------------------------------
    def run(self) -> dict:
        """Replay, record, report. A bag that cannot feed the stack fails before DIR is touched;
        one that turns bad mid-way leaves the outputs recorded so far and a report saying where
        it stopped. Either way the BagError is raised at the end."""
        try:
            self._build_graph()
        except BaseException:
            self._destroy_graph()
            self.reader.close()
            raise
        out = self.options.out_dir
        out.mkdir(parents=True, exist_ok=True)
        bag_dir = out / OUTPUT_DIR_NAME
        remove_previous_bag(bag_dir)
        (out / "report.json").unlink(missing_ok=True)
        writer = BagWriter(bag_dir, self.options.storage, custom_data=self.reader.custom_data)
        error: BagError | None = None
        wall_start = time.monotonic()
        try:
            self._add_recorder(writer)
            self.graph.wait_until_matched()
            if not self.options.deterministic:
                self.graph.spin_paced()
            try:
                with startup_heap_frozen():
                    self._play_all(wall_start)
            except BagError as err:
                error = err
            finally:
                if not self.options.deterministic:
                    time.sleep(PACED_END_GRACE_S)
                self.graph.close()
                self.recording.flush()
        finally:
            self._destroy_graph()
            writer.close()
            self.wall_time_s = time.monotonic() - wall_start
        try:
            report = build_report(self, bag_dir, error)
            _link_mcap(bag_dir)
            (out / "report.json").write_text(json.dumps(report, indent=2, default=float) + "\n")
        finally:
            self.reader.close()
        if error is not None:
            raise error
        return report

    def _ticks(self):
        """(tick time ns, [(topic, log ns, data)]) on the TICK_NS grid from the bag's start; a
        message goes out at the first tick at or after its log time."""
        start = self.reader.start_ns
        tick, batch = 0, []
        for topic, stamp_ns, data in self.reader.messages(sorted(self.feeds)):
            due = max(0, -(-(stamp_ns - start) // TICK_NS))
            while due > tick:
                yield start + tick * TICK_NS, batch
                tick, batch = tick + 1, []
            batch.append((topic, stamp_ns, data))
        yield start + tick * TICK_NS, batch

    def _play_all(self, wall_start: float) -> None:
        rate = self.options.pace_rate
        for count, (t_ns, batch) in enumerate(self._ticks()):
            self.last_tick_ns = t_ns
            for topic, stamp_ns, data in batch:
                self._play(topic, stamp_ns, data)
            self.clock_pub.publish(_clock(t_ns))
            if self.options.deterministic:
                started = time.perf_counter()
                self.graph.drain()
                self.tick_wall_ms.append((time.perf_counter() - started) * 1e3)
            self.recording.flush()
            if rate is not None:
                due = wall_start + (t_ns - self.reader.start_ns) * 1e-9 / rate
                lag = time.monotonic() - due
                self.schedule_lag_ms.append(max(lag, 0.0) * 1e3)
                if lag < 0.0:
                    time.sleep(-lag)
            if self.options.progress and count % PROGRESS_EVERY_TICKS == 0:
                bag_s = (t_ns - self.reader.start_ns) * 1e-9
                print(
                    f"\r[replay] {bag_s:7.1f}/{self.reader.duration_s:.0f} s  "
                    f"{self.played} messages  "
                    f"x{bag_s / max(time.monotonic() - wall_start, 1e-9):4.1f} real time",
                    end="",
                    file=sys.stderr,
                    flush=True,
                )
        if self.options.progress:
            print(file=sys.stderr)

    def _play(self, source: str, stamp_ns: int, data: bytes) -> None:
        """Validate the recorded message, then publish it as recorded (or converted)."""
        feeds = self.feeds[source]
        try:
            msg = deserialize_message(data, feeds[0].source_class)
        except Exception as err:  # rclpy raises RMWError and others for malformed CDR
            raise BagError(
                self.reader.requested,
                f"message at {stamp_ns * 1e-9:.3f} s is not a valid "
                f"{msgtype_name(feeds[0].source_class)}: {err}",
                source,
            ) from err
        for feed in feeds:
            if feed.convert is None:
                feed.publisher.publish(data)
            else:
                try:
                    feed.publisher.publish(feed.convert(msg))
                except itf.InterfaceError as err:
                    raise BagError(
                        self.reader.requested,
                        f"message at {stamp_ns * 1e-9:.3f} s cannot "
                        f"be played as {feed.topic}: {err}",
                        source,
                    ) from err
            feed.played += 1
        self.played += 1


def _link_mcap(bag_dir: Path) -> None:
    """DIR/run.mcap beside DIR/run/, as `robovan sim` leaves it (MCAP output only)."""
    mcap = bag_dir / f"{bag_dir.name}.mcap"
    link = bag_dir.parent / mcap.name
    link.unlink(missing_ok=True)
    if mcap.exists():
        os.link(mcap, link)


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------
class _Decoded:
    """Messages of some topics of one bag, each deserialized once; a message that is not valid
    CDR or breaks the contract when decoded through interfaces is counted, not fatal."""

    def __init__(self, reader: BagReader, topics: list[str], classes: dict[str, type]):
        self.messages: dict[str, list[tuple[float, object]]] = {t: [] for t in topics}
        self._not_cdr: collections.Counter = collections.Counter()
        self._breaks_contract: set[tuple[str, int]] = (
            set()
        )  # (topic, index): decoded more than once
        present = [t for t in topics if reader.has_messages(t) and t in classes]
        for topic, stamp_ns, data in reader.messages(present):
            try:
                self.messages[topic].append(
                    (stamp_ns * 1e-9, deserialize_message(data, classes[topic]))
                )
            except Exception:  # rclpy raises RMWError and others for malformed CDR
                self._not_cdr[topic] += 1

    @property
    def violations(self) -> dict[str, int]:
        counts = collections.Counter(self._not_cdr)
        counts.update(topic for topic, _ in self._breaks_contract)
        return dict(counts)

    def decoded(self, topic: str, decode) -> list[tuple[float, object, object]]:
        """(log time s, ROS message, decoded value) of each message that decodes."""
        rows = []
        for index, (log_s, msg) in enumerate(self.messages.get(topic, [])):
            try:
                rows.append((log_s, msg, decode(msg)))
            except itf.InterfaceError:
                self._breaks_contract.add((topic, index))
        return rows

    def poses(self, topic: str) -> np.ndarray:
        return np.array(
            [
                (p.stamp_s, p.x_m, p.y_m, p.yaw_rad, p.speed_mps)
                for _, _, p in self.decoded(topic, itf.decode_odometry)
            ],
            dtype=float,
        ).reshape(-1, 5)

    def objects(self, topic: str) -> list[tuple[float, np.ndarray]]:
        return [
            (itf.from_stamp(msg.header.stamp), table)
            for _, msg, table in self.decoded(topic, itf.decode_objects)
        ]

    def commands(self, topic: str) -> np.ndarray:
        return np.array(
            [
                (c.stamp_s, c.steer_rad[0], c.speed_mps[0], c.accel_mps2[0])
                for _, _, c in self.decoded(topic, itf.decode_control_command)
            ],
            dtype=float,
        ).reshape(-1, 4)

    def stamps(self, topic: str) -> np.ndarray:
        return np.array(
            [
                itf.from_stamp(msg.header.stamp)
                for _, msg, _ in self.decoded(topic, lambda m: None)
                if hasattr(msg, "header")
            ],
            dtype=float,
        )

    def ages(self, topic: str) -> dict | None:
        """Log time minus header stamp: how late, in the replay's time, an output went out."""
        return metrics.stats(
            [
                log_s - itf.from_stamp(msg.header.stamp)
                for log_s, msg, _ in self.decoded(topic, lambda m: None)
                if hasattr(msg, "header")
            ]
        )


def build_report(replay: Replay, bag_dir: Path, error: BagError | None) -> dict:
    options, reader = replay.options, replay.reader
    with BagReader(bag_dir) as output_bag:
        out = _Decoded(
            output_bag, sorted(replay.outputs), {t: c for t, (c, _) in replay.outputs.items()}
        )
    truth_topics = (itf.GROUND_TRUTH_ODOMETRY, itf.GROUND_TRUTH_OBJECTS)
    consumed = {
        stage: STAGES[stage].topic(where == "ground_truth")
        for stage, where in replay.sources.items()
    }
    from_bag = sorted(
        {*truth_topics, *COMMAND_TOPICS} | (set(consumed.values()) - set(replay.outputs))
    )
    classes = {
        t: c
        for t in from_bag
        if t in reader.topics and (c := message_class(reader.topics[t].msgtype))
    }
    warnings = list(replay.warnings)
    try:
        recorded = _Decoded(reader, from_bag, classes)
    except BagError as err:
        recorded = _Decoded(reader, [], {})
        warnings.append(f"recorded ground truth and commands not read: {err}")
    truth_poses = recorded.poses(itf.GROUND_TRUTH_ODOMETRY)
    commands = {topic: out.commands(topic) for topic in COMMAND_TOPICS if topic in replay.outputs}
    first_commands = next(iter(commands.values()), np.empty((0, 4)))

    def stamps(topic: str) -> np.ndarray:
        return (out if topic in replay.outputs else recorded).stamps(topic)

    bag_span_s = (replay.last_tick_ns - reader.start_ns) * 1e-9
    report = {
        "bag": str(reader.requested),
        "bag_storage": reader.storage,
        "bag_duration_s": reader.duration_s,
        "out": str(bag_dir),
        "complete": error is None,
        "replayed_s": bag_span_s,
        "error": None if error is None else str(error),
        "mode": "deterministic" if options.deterministic else "paced",
        "rate": options.pace_rate,
        "run_info": None if replay.run_info is None else dataclasses.asdict(replay.run_info),
        "stage_sources": replay.sources,
        "nodes": [spec.name for spec in replay.specs],
        "inputs": {
            f.topic: {"from": f.source, "type": msgtype_name(f.source_class), "played": f.played}
            for feeds in replay.feeds.values()
            for f in feeds
        },
        "unused_topics": sorted(set(reader.topics) - set(replay.feeds)),
        "outputs": {topic: len(out.messages[topic]) for topic in sorted(replay.outputs)},
        "wall_time_s": replay.wall_time_s,
        "messages_played": replay.played,
        "throughput_msgs_per_s": replay.played / replay.wall_time_s
        if replay.wall_time_s > 0
        else None,
        "realtime_factor": bag_span_s / replay.wall_time_s if replay.wall_time_s > 0 else None,
        "localization": _judged(
            metrics.localization_errors(out.poses(itf.ODOMETRY), truth_poses),
            replay.sources["localization"],
            itf.GROUND_TRUTH_ODOMETRY,
        ),
        "perception": _judged(
            metrics.perception_scores(
                out.objects(itf.OBJECTS), recorded.objects(itf.GROUND_TRUTH_OBJECTS), truth_poses
            ),
            replay.sources["perception"],
            itf.GROUND_TRUTH_OBJECTS,
        ),
        "commands": {topic: metrics.command_figures(plans) for topic, plans in commands.items()},
        "commands_vs_recorded": {
            topic: metrics.command_divergence(plans, recorded.commands(topic))
            for topic, plans in commands.items()
        },
        "diagnostics": metrics.diagnostics_figures(
            [
                (log_s, d.name, d.level, d.message, d.values)
                for log_s, _, ds in out.decoded(itf.DIAGNOSTICS, itf.decode_diagnostics)
                for d in ds
            ]
        ),
        "latency": {
            "stack_ms_per_tick": metrics.stats(replay.tick_wall_ms),
            "schedule_lag_ms": metrics.stats(replay.schedule_lag_ms),
            "output_age_s": {t: out.ages(t) for t in sorted(replay.outputs)},
            "command_input_age_s": {
                topic: metrics.input_age(first_commands[:, 0], stamps(topic))
                for topic in consumed.values()
            },
        },
        "contract_violations": {**recorded.violations, **out.violations},
        "warnings": warnings,
    }
    return report


def _judged(figures: dict | None, source: str, truth_topic: str) -> dict:
    if figures is not None:
        return figures
    if source != "node":
        return {
            "skipped": f"the stage ran from {source.replace('_', ' ')}, "
            "not from a node of the stack"
        }
    return {"skipped": f"no output of the stage to judge, or no {truth_topic} in the bag"}


def run_replay(options: ReplayOptions) -> dict:
    return Replay(options).run()
