"""`robovan sim`: the whole stack, closed loop, against the embedded simulator.

Lockstep (the default) runs the simulator and every node of the stack in this process on one
single-threaded executor. Fast DDS delivers between readers and writers of one process inside
`publish()`, so each tick is: advance the world, deliver the van's CAN reports, publish the
sensors stamped now, publish /clock, then run every callback that is ready until none is. The
same seed then gives the same run, and the stack gets all the time it needs (as fast as it keeps
up). `--realtime` paces the same loop to the wall clock.

Sensor faults are the world's (sim/world.py); the runner injects the others, as they would happen
to the stack (sim/stack_faults.py): a killed node (planner, localization) leaves the executor and
is destroyed mid-run, and with a duration a fresh one starts after it (with ground-truth
localization, the ground-truth odometry stops instead); a node's output going bad (drop, freeze,
nan, delay, jump) passes through a relay; the van's CAN reports are dropped, frozen or delayed on
their way to the bridge; a clock jump steps /clock away from the sensors' stamps by `value`
seconds (back, when negative); a rogue writer publishes /control/command beside the command gate,
or sends command frames on the CAN bus beside the bridge.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

import can
from rclpy.parameter import Parameter

from robovan_autonomy import interfaces as itf
from robovan_autonomy.mapping.lanelet_map import load_map
from robovan_autonomy.node_utils import startup_heap_frozen
from robovan_autonomy.planning.planner_node import MISSION_COMPLETE_MESSAGE
from robovan_autonomy.sim.report.inputs import MapFeatures, VanTruth
from robovan_autonomy.sim.report.judge import judge
from robovan_autonomy.sim.report.plot import write_report_png
from robovan_autonomy.sim.report.recorder import RunRecorder
from robovan_autonomy.sim.scenario import Scenario, check_against_map, load_scenario
from robovan_autonomy.sim.simulator_node import SimulatorNode
from robovan_autonomy.sim.stack_faults import (
    FAULTED_PREFIX,
    FaultRelayNode,
    RogueCanTransmitter,
    RogueCommandNode,
    VanReportBus,
    relayed_topics,
)
from robovan_autonomy.sim.van_ecu_bus import VanEcuBus
from robovan_autonomy.sim.world import STEP_S, SimWorld
from robovan_autonomy.sim.world_interface import WorldFactory
from robovan_autonomy.stack import STAGES, node_set, params_files
from robovan_autonomy.tf_tree import static_transforms
from robovan_autonomy.tools.bag_writer import BagWriter, remove_previous_bag
from robovan_autonomy.tools.lockstep import LockstepGraph
from robovan_autonomy.tools.node_runner import create_nodes, merged_parameters
from robovan_autonomy.tools.recorder_node import RecorderNode
from robovan_autonomy.tools.run_info import RunInfo
from robovan_autonomy.vehicle.rvn_dbw import DbwState
from robovan_autonomy.vehicle_params import load_vehicle_params

# Single-source estimates the localization node publishes beside its own, for the report.
LOCALIZATION_BASELINES = {
    "gnss_only": itf.LOCALIZATION_DEBUG_GNSS_ONLY,
    "odometry_only": itf.LOCALIZATION_DEBUG_ODOMETRY_ONLY,
}
SETTLE_AFTER_COMPLETE_S = 1.0  # keep simulating briefly so the report sees the van at rest
# glibc malloc: the sensor models allocate numpy temporaries of a few MB every frame. By default
# glibc serves those with fresh mmaps or trims them off the heap when freed, so every frame faults
# their pages in again (about 40 % of the LiDAR's and camera's time). Arrays below the mmap
# threshold come from the heap, and the heap keeps up to the trim threshold of free memory.
MALLOC_MMAP_THRESHOLD_BYTES = 32 << 20  # older glibc refuses more on 64-bit
MALLOC_TRIM_THRESHOLD_BYTES = 256 << 20  # a few frames' temporaries of every sensor
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters (malloc.h)
# How the LiDAR goes into run.mcap: every point of every scan (replay perception as it ran), one
# point in LIDAR_DOWNSAMPLE_KEEP_EVERY (enough to see the scene: a run's bag stays under 60 MB
# per minute of driving, where full scans take about 230), or none.
LIDAR_RECORDINGS = ("full", "downsampled", "none")
LIDAR_DOWNSAMPLE_KEEP_EVERY = 8
REPORT_DELIVERY_TIMEOUT_S = 5.0  # wall time; a bridge this slow is broken, not busy
# The fault targets the runner injects (sensor faults are the world's).
STACK_FAULT_TARGETS = (
    "planner",
    "localization",
    "can_reports",
    "clock",
    "control_command",
    "can_commands",
)


@dataclasses.dataclass
class SimOptions:
    scenario: str
    out_dir: Path
    seed: int | None = None
    realtime: bool = False
    ground_truth: tuple[str, ...] = ()
    record: bool = True
    progress: bool = True
    time_limit_s: float | None = None
    discoverable: bool = False
    variation: str | None = None  # a variant's id: run that concrete variant of the scenario
    record_lidar: str = "downsampled"  # one of LIDAR_RECORDINGS

    def __post_init__(self):
        if self.record_lidar not in LIDAR_RECORDINGS:
            raise ValueError(f"record_lidar '{self.record_lidar}': one of {LIDAR_RECORDINGS}")


def keep_heap_resident() -> bool:
    """Tune glibc malloc for per-frame sensor buffers (see MALLOC_MMAP_THRESHOLD_BYTES); a
    no-op returning False where the C library is not glibc."""
    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    if libc is None or not hasattr(libc, "mallopt"):
        return False
    return bool(
        libc.mallopt(_M_MMAP_THRESHOLD, MALLOC_MMAP_THRESHOLD_BYTES)
        and libc.mallopt(_M_TRIM_THRESHOLD, MALLOC_TRIM_THRESHOLD_BYTES)
    )


def recorded_topics() -> dict:
    from diagnostic_msgs.msg import DiagnosticArray
    from nav_msgs.msg import Odometry
    from nav_msgs.msg import Path as PathMsg
    from rosgraph_msgs.msg import Clock
    from sensor_msgs.msg import CameraInfo, CompressedImage, Imu, JointState, NavSatFix, PointCloud2
    from trajectory_msgs.msg import JointTrajectory
    from visualization_msgs.msg import MarkerArray

    sensor, reliable = itf.SENSOR_DRIVER_QOS, itf.RELIABLE_QOS
    return {
        itf.CLOCK: (Clock, itf.CLOCK_QOS),
        itf.CAMERA_COMPRESSED: (CompressedImage, sensor),
        itf.CAMERA_INFO: (CameraInfo, sensor),
        itf.LIDAR_POINTS: (PointCloud2, sensor),
        itf.GNSS_FIX: (NavSatFix, sensor),
        itf.IMU_DATA: (Imu, sensor),
        itf.VEHICLE_STATUS: (JointState, reliable),
        itf.ODOMETRY: (Odometry, reliable),
        itf.OBJECTS: (PointCloud2, reliable),
        itf.OBJECT_MARKERS: (MarkerArray, reliable),
        itf.MAP_MARKERS: (MarkerArray, itf.LATCHED_QOS),
        itf.TRAJECTORY: (PathMsg, reliable),
        itf.CONTROL_COMMAND: (JointTrajectory, reliable),
        itf.DIAGNOSTICS: (DiagnosticArray, reliable),
        itf.PLANNING_COMMAND: (JointTrajectory, reliable),
        itf.SYSTEM_MODE: (DiagnosticArray, reliable),
        itf.GROUND_TRUTH_ODOMETRY: (Odometry, reliable),
        itf.GROUND_TRUTH_OBJECTS: (PointCloud2, reliable),
        itf.GROUND_TRUTH_TRAFFIC_LIGHTS: (DiagnosticArray, reliable),
    }


class Simulation:
    def __init__(self, options: SimOptions, make_world: WorldFactory = SimWorld):
        """`make_world` makes the world the stack drives in: the embedded simulator by default,
        or CARLA (`carla_sim.world.CarlaWorld`); the lockstep loop is the same."""
        missing = tuple(
            stage
            for stage in STAGES
            if stage not in options.ground_truth
            and not any(spec.stage == stage for spec in node_set("sim"))
        )
        if missing:
            options = dataclasses.replace(options, ground_truth=options.ground_truth + missing)
        self.stages_without_node = missing
        self.options = options
        self.scenario: Scenario = load_scenario(options.scenario, variation=options.variation)
        self.vehicle = load_vehicle_params()
        self.district = load_map(self.scenario.map_path)
        check_against_map(self.scenario, self.district)
        self.world = make_world(self.scenario, self.district, self.vehicle, options.seed)
        self.time_limit_s = options.time_limit_s or self.scenario.time_limit_s
        self.features = MapFeatures.from_map(self.district, self.scenario, self.vehicle)
        self.recorder = RunRecorder(self.scenario, self.features, self.vehicle)
        self.mission_complete_at_s: float | None = None
        self._deadline_misses = 0
        self.mode = "MANUAL"
        self.supervisor_mode: str | None = None  # the supervisor's operating mode, once it reports
        self.supervisor_reason = ""
        self.supervisor_findings: str | None = None
        self.stack_faults = [f for f in self.scenario.faults if f.target in STACK_FAULT_TARGETS]
        self.relayed = {
            target: [f for f in self.stack_faults if f.target == target and f.kind != "kill"]
            for target in relayed_topics()
        }
        self.relayed = {target: faults for target, faults in self.relayed.items() if faults}
        if "localization" in self.relayed and "localization" in options.ground_truth:
            raise ValueError(
                f"scenario {self.scenario.name}: a localization "
                f"{self.relayed['localization'][0].kind} fault needs the localization node; "
                "it cannot run with ground-truth localization"
            )
        self._killed: set[str] = set()
        self._rogue_node: RogueCommandNode | None = None
        self._rogue_can: RogueCanTransmitter | None = None
        self._rogue_frames_sent = 0

    # -- graph --------------------------------------------------------------------------------
    def _build_graph(self, bag: BagWriter | None) -> None:
        # Every node lives in this process and one sealed context: no other graph on the host
        # (another simulation, a test run) can cross-talk on /clock or any topic.
        self.graph = LockstepGraph(sealed=not self.options.discoverable)
        self.context = self.graph.context
        channel = f"robovan_sim_{os.getpid()}_{id(self)}"
        self.can_channel = channel
        self.van_bus = can.Bus(interface="virtual", channel=channel, receive_own_messages=False)
        self.van_reports = VanReportBus(
            self.van_bus, [f for f in self.stack_faults if f.target == "can_reports"]
        )
        self.van = VanEcuBus(self.van_reports, self.world.ecu)
        specs = node_set("sim", self.options.ground_truth)
        mission = self.scenario.mission
        parameters = merged_parameters(
            params_files("sim"),
            {
                "dbw_bridge": {"can_interface": "virtual", "can_channel": channel},
                "localization": {"map_file": str(self.scenario.map_path)},
                "map_visualizer": {"map_file": str(self.scenario.map_path)},
                "planner": {
                    "map_file": str(self.scenario.map_path),
                    "mission_bays": [stop.bay for stop in mission] or [""],
                    "mission_dwell_s": [float(stop.dwell_s) for stop in mission] or [0.0],
                },
            },
        )
        self.parameters = parameters
        topics = relayed_topics()
        self.node_remaps = {
            target: [(topics[target].topic, FAULTED_PREFIX + topics[target].topic)]
            for target in self.relayed
        }
        self.stack_nodes = create_nodes(
            specs, parameters, self.context, use_sim_time=True, node_remappings=self.node_remaps
        )
        sim_time = [Parameter("use_sim_time", value=True)]
        self.sim_time = sim_time
        self.sim_node = SimulatorNode(
            self.world,
            record_camera_jpeg=bag is not None,
            context=self.context,
            parameter_overrides=sim_time,
        )
        for node in [self.sim_node, *self.stack_nodes]:
            self.graph.add(node)
        for target, faults in self.relayed.items():
            self.graph.add(
                FaultRelayNode(target, faults, context=self.context, parameter_overrides=sim_time)
            )
        if bag is not None:
            topics = recorded_topics()
            lidar = topics.pop(itf.LIDAR_POINTS)
            recorder = RecorderNode(bag, topics, context=self.context, parameter_overrides=sim_time)
            if self.options.record_lidar == "full":
                recorder.record_topic(itf.LIDAR_POINTS, *lidar)
            elif self.options.record_lidar == "downsampled":
                recorder.record_thinned_points(
                    itf.LIDAR_POINTS, lidar[1], LIDAR_DOWNSAMPLE_KEEP_EVERY
                )
            estimate = STAGES["localization"].topic("localization" in self.options.ground_truth)
            recorder.record_tf(static_transforms(self.vehicle), estimate)
            self.graph.add(recorder, recorder=True)
        self.graph.wait_until_matched()
        if bag is not None:  # the map, latched before the recorder joined, opens the bag
            self.graph.drain_recorder_until(
                lambda: bag.topic_counts()[itf.MAP_MARKERS] > 0, itf.MAP_MARKERS
            )
        self.bridge = next((n for n in self.stack_nodes if hasattr(n, "frames_received")), None)
        self._reports_sent = 0

    def _teardown(self) -> None:
        self.graph.close()
        if self._rogue_can is not None:
            self._rogue_can.shutdown()
        self.van_bus.shutdown()

    # -- the loop -----------------------------------------------------------------------------
    def run(self) -> dict:
        out = self.options.out_dir
        out.mkdir(parents=True, exist_ok=True)
        bag_dir = out / "run"
        remove_previous_bag(bag_dir)
        run_info = RunInfo.from_scenario(self.scenario, self.options.ground_truth, self.world.seed)
        bag = (
            BagWriter(bag_dir, custom_data=run_info.custom_data()) if self.options.record else None
        )
        self._build_graph(bag)
        wall_start = time.monotonic()
        wanted = (
            None if (bag is not None or not self.options.ground_truth) else self._wanted_sensors()
        )
        try:
            self._drive(wanted, wall_start)
        finally:
            self._teardown()
            self.world.close()
            if bag is not None:
                bag.close()
        wall_time_s = time.monotonic() - wall_start
        return self._write_outputs(wall_time_s)

    def _drive(self, wanted, wall_start: float) -> None:
        with startup_heap_frozen():
            self.sim_node.publish_clock(0.0)
            self.graph.drain()
            tick = 0
            armed = False
            while True:
                tick += 1
                t = round(tick * STEP_S, 9)
                if t > self.time_limit_s or self._finished(t):
                    break
                if not armed and t >= self.scenario.arm_autonomy_at_s:
                    armed = self.van.arm()
                    if armed:
                        self.sim_node.request_engage()
                self.world.advance_actors(t)
                self._inject_stack_faults(t)
                self.van_reports.advance(t)
                self.van.poll(t)
                self._deliver_reports()
                for name, reading in self.world.sensor_outputs(t, wanted):
                    if not (name == "ground_truth_odometry" and "localization" in self._killed):
                        self.sim_node.publish_output(name, reading)
                self.sim_node.publish_clock(t + self._clock_offset_s(t))
                self.graph.drain()
                self._record_step(t)
                if self.options.realtime:
                    time.sleep(max(0.0, wall_start + t - time.monotonic()))
                if self.options.progress and tick % 100 == 0:
                    self._print_progress(t, time.monotonic() - wall_start)

    def _deliver_reports(self) -> None:
        """Wait until the bridge's CAN reader has taken every frame sent to it so far off the bus.

        The bridge reads CAN on its own thread (as on the van); waiting for it here keeps the
        lockstep deterministic.
        """
        expected = self.van_reports.sent + self._rogue_frames_sent
        if self.bridge is None or expected == self._reports_sent:
            return
        self._reports_sent = expected
        deadline = time.monotonic() + REPORT_DELIVERY_TIMEOUT_S
        while self.bridge.frames_received < expected:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"lockstep: the bridge took {self.bridge.frames_received} of "
                    f"{expected} report frames within {REPORT_DELIVERY_TIMEOUT_S} s"
                )
            time.sleep(0.0001)

    def _wanted_sensors(self) -> set[str]:
        """The sensors some node of the graph reads (the supervisor watches them all)."""
        node = self.sim_node
        publishers = {
            "imu": (node.imu_pub,),
            "gnss": (node.gnss_pub,),
            "lidar": (node.lidar_pub,),
            "camera": (node.image_pub, node.info_pub),
        }
        return {
            name
            for name, pubs in publishers.items()
            if any(p.get_subscription_count() for p in pubs)
        }

    def _inject_stack_faults(self, t_s: float) -> None:
        """Kill and restart nodes and start and stop rogue writers as the stack faults say at t_s
        (the van's reports and the relays judge their own faults)."""
        active = [f for f in self.stack_faults if f.start_s <= t_s < f.end_s]
        killed = {f.target for f in active if f.kind == "kill"}
        for target in killed - self._killed:
            node = next((n for n in self.stack_nodes if n.get_name() == target), None)
            if node is not None:
                self.graph.remove(node)
                self.stack_nodes.remove(node)
                self.bridge = None if node is self.bridge else self.bridge
        for target in self._killed - killed:
            spec = next(
                (
                    spec
                    for spec in node_set("sim", self.options.ground_truth)
                    if spec.name == target
                ),
                None,
            )
            if spec is not None:
                node = create_nodes(
                    [spec],
                    self.parameters,
                    self.context,
                    use_sim_time=True,
                    node_remappings=self.node_remaps,
                )[0]
                self.stack_nodes.append(node)
                self._add(node)
        self._killed = killed
        rogue = next((f for f in active if f.target == "control_command"), None)
        if rogue is not None and self._rogue_node is None:
            self._rogue_node = RogueCommandNode(
                rogue.value, context=self.context, parameter_overrides=self.sim_time
            )
            self._add(self._rogue_node)
        elif rogue is None and self._rogue_node is not None:
            self.graph.remove(self._rogue_node)
            self._rogue_node = None
        rogue_can = next((f for f in active if f.target == "can_commands"), None)
        if rogue_can is not None and self._rogue_can is None:
            self._rogue_can = RogueCanTransmitter(self.can_channel, rogue_can.value)
        if self._rogue_can is not None:
            if rogue_can is None:
                self._rogue_can.shutdown()
                self._rogue_can = None
            else:
                self._rogue_frames_sent += self._rogue_can.poll(t_s)

    def _add(self, node) -> None:
        self.graph.add(node)
        self.graph.wait_until_matched()

    def _clock_offset_s(self, t_s: float) -> float:
        return sum(
            f.value for f in self.stack_faults if f.target == "clock" and f.start_s <= t_s < f.end_s
        )

    def _finished(self, t_s: float) -> bool:
        return (
            self.mission_complete_at_s is not None
            and t_s >= self.mission_complete_at_s + SETTLE_AFTER_COMPLETE_S
        )

    def _record_step(self, t_s: float) -> None:
        node = self.sim_node
        solve_ms, deadline_miss = None, False
        latencies = []
        for diagnostic in node.new_diagnostics:
            latencies += [
                float(ms) for ms in diagnostic.values.get("e2e_latency_ms", "").split(",") if ms
            ]
            if diagnostic.name.startswith("planner"):
                if (
                    diagnostic.message == MISSION_COMPLETE_MESSAGE
                    and self.mission_complete_at_s is None
                ):
                    self.mission_complete_at_s = t_s
                solve_ms = float(diagnostic.values.get("mpc_solve_ms", "nan"))
                misses = int(diagnostic.values.get("deadline_misses", "0"))
                deadline_miss, self._deadline_misses = misses > self._deadline_misses, misses
            if "mode" in diagnostic.values:
                self.supervisor_mode = diagnostic.values["mode"]
                self.supervisor_reason = diagnostic.values.get("reason", "")
                self.supervisor_findings = diagnostic.values.get("findings", "")
        node.new_diagnostics.clear()
        state = self.world.ecu.state
        # The van's own state unless it is engaged;
        # engaged, the supervisor's mode (without one, autonomy).
        self.mode = (
            state.name if state is not DbwState.ENGAGED else (self.supervisor_mode or "AUTONOMOUS")
        )
        odometry = node.latest.pop(itf.ODOMETRY, None)
        path = node.latest.pop(itf.TRAJECTORY, None)
        objects = node.latest.pop(itf.OBJECTS, None)
        baselines = {
            name: (estimate.stamp_s, estimate.x_m, estimate.y_m, estimate.yaw_rad)
            for name, topic in LOCALIZATION_BASELINES.items()
            if (estimate := node.latest.pop(topic, None)) is not None
        }
        self.recorder.record_step(
            t_s,
            VanTruth.from_plant(self.world.van),
            estimated_pose=None
            if odometry is None
            else (odometry.x_m, odometry.y_m, odometry.yaw_rad),
            estimate_stamp_s=None if odometry is None else odometry.stamp_s,
            planned_path=path,
            mpc_solve_ms=solve_ms,
            deadline_miss=deadline_miss,
            actors=self.world.actor_states,
            perceived=None if objects is None else objects[1],
            perceived_stamp_s=None if objects is None else objects[0],
            mode=self.mode,
            supervisor_mode=None
            if self.supervisor_mode is None
            else (self.supervisor_mode, self.supervisor_reason),
            supervisor_findings=self.supervisor_findings,
            e2e_latency_ms=latencies,
            baseline_poses=baselines,
            traffic_lights=self.world.signals.states(t_s),
        )

    def _print_progress(self, t_s: float, wall_s: float) -> None:
        van = self.world.van
        print(
            f"\r[{self.scenario.name}] t={t_s:7.1f}/{self.time_limit_s:.0f} s  "
            f"speed={van.speed_mps:5.2f} m/s  mode={self.mode:<14} "
            f"x{t_s / max(wall_s, 1e-9):4.1f} real time",
            end="",
            file=sys.stderr,
            flush=True,
        )

    def _write_outputs(self, wall_time_s: float) -> dict:
        if self.options.progress:
            print(file=sys.stderr)
        out = self.options.out_dir
        for t_s, kind, detail in self.world.infractions():
            self.recorder.record_infraction(t_s, kind, **detail)
        report = self.recorder.finalize(wall_time_s)
        report["seed"] = self.world.seed
        variant = self.scenario.variation
        report["variation"] = (
            None if variant is None else {"id": variant.id, "values": variant.as_dict()}
        )
        report["judgement"] = judge(report, self.scenario)
        report["ground_truth_stages"] = list(self.options.ground_truth)
        report["stages_without_node"] = list(self.stages_without_node)
        report.update(self.world.report_extras())
        (out / "report.json").write_text(json.dumps(report, indent=2, default=float) + "\n")
        write_report_png(report, out / "report.png", self.features)
        mcap = out / "run" / "run.mcap"
        link = out / "run.mcap"
        if mcap.exists():
            link.unlink(missing_ok=True)
            os.link(mcap, link)
        return report


def run_simulation(options: SimOptions) -> dict:
    keep_heap_resident()
    return Simulation(options).run()
