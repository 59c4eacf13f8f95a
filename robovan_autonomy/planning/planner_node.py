"""The planner node: a 10 Hz timer around planning.planner.Planner.

Inputs are the latest odometry, vehicle status, object table and traffic-light states (a report
older than traffic_lights_timeout_s counts as none: every signal unread, so each is an all-way
stop); every cycle publishes a full /planning/command plan (to the command gate) and
/planning/trajectory, plus diagnostics. Both are stamped with the oldest input they were planned
from (latency is judged from the sensor data on);
the plan's points keep the MPC's time base through time_from_start. Inputs stamped in the future
or older than the newest already taken are rejected and counted. With record_mpc_problems set,
the MPC problems solved are written to that .npz at shutdown (bench/mpc.py replays them).
"""

from __future__ import annotations

import math
import time

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from nav_msgs.msg import Odometry, Path
from rclpy.node import Node
from sensor_msgs.msg import JointState, PointCloud2
from trajectory_msgs.msg import JointTrajectory

from robovan_autonomy import core_types as ct
from robovan_autonomy import interfaces as itf
from robovan_autonomy.config_errors import config_path
from robovan_autonomy.mapping.lanelet_map import load_map
from robovan_autonomy.node_utils import (
    DiagnosticsPublisher,
    ParameterError,
    declare_parameters,
    now_s,
    spin_node,
)
from robovan_autonomy.parameters import Param
from robovan_autonomy.planning.mpc import MpcProblem, save_problems
from robovan_autonomy.planning.planner import Planner, PlannerInput, PlanOutput
from robovan_autonomy.planning.route import RouteError
from robovan_autonomy.vehicle.command_follower import MAX_FUTURE_STAMP_S
from robovan_autonomy.vehicle_params import load_vehicle_params

MISSION_COMPLETE_MESSAGE = "mission complete"

PARAMETERS = [
    Param("map_file", "", "Lanelet2 map (OSM with a .yaml sidecar); empty: the shipped district"),
    Param(
        "mission_bays",
        [""],
        "delivery stops to serve, in order: bay names, or lane positions LANELET_ID@S_M on a map "
        "without bays (empty: none)",
    ),
    Param("mission_dwell_s", [0.0], "dwell time at each bay, s (same length as mission_bays)"),
    Param("rate_hz", 10.0, "planning rate", min=5.0, max=50.0),
    Param("odometry_timeout_s", 0.3, "older odometry stops the van", min=0.05, max=2.0),
    Param("objects_timeout_s", 0.5, "an older object table stops the van", min=0.05, max=5.0),
    Param(
        "traffic_lights_timeout_s",
        0.5,
        "an older traffic-light report counts as none (every signal unread: an all-way stop)",
        min=0.05,
        max=5.0,
    ),
    Param(
        "deadline_ms",
        50.0,
        "a cycle slower than this counts as a deadline miss",
        min=1.0,
        max=1000.0,
    ),
    Param(
        "record_mpc_problems",
        "",
        "write every record_mpc_every-th MPC problem of the run to this .npz "
        "when the node shuts down, for bench/mpc.py (empty: record nothing)",
    ),
    Param("record_mpc_every", 1, "cycles between recorded MPC problems", min=1, max=1000),
]


class PlannerNode(Node):
    def __init__(self, **node_kwargs):
        super().__init__("planner", **node_kwargs)
        self.params = p = declare_parameters(self, PARAMETERS)
        bays = [b for b in p.mission_bays if b]
        dwell = list(p.mission_dwell_s) if bays else []
        if len(dwell) != len(bays):
            raise ParameterError(
                f"planner.ros__parameters.mission_dwell_s: {len(p.mission_dwell_s)} "
                f"dwell times for {len(bays)} bays"
            )
        district = load_map(p.map_file or config_path("maps", "delivery_district.osm"))
        self.planner = Planner(district, load_vehicle_params(), list(zip(bays, dwell)))
        self.odometry: ct.PoseEstimate | None = None
        self.status: ct.VehicleStatus | None = None
        self.objects: tuple[float, np.ndarray] | None = None
        self.traffic_lights: ct.TrafficLightStates | None = None
        self.rejected = {"odometry": 0, "vehicle_status": 0, "objects": 0, "traffic_lights": 0}
        self.last_problem = ""
        self.deadline_misses = 0
        self.recorded_problems: list[MpcProblem] = []
        self._problems_seen = 0
        self._last_problem: MpcProblem | None = None
        self.command_pub = self.create_publisher(
            JointTrajectory, itf.PLANNING_COMMAND, itf.RELIABLE_QOS
        )
        self.path_pub = self.create_publisher(Path, itf.TRAJECTORY, itf.RELIABLE_QOS)
        self.diagnostics = DiagnosticsPublisher(self)
        self.create_subscription(Odometry, itf.ODOMETRY, self._on_odometry, itf.RELIABLE_QOS)
        self.create_subscription(JointState, itf.VEHICLE_STATUS, self._on_status, itf.RELIABLE_QOS)
        self.create_subscription(PointCloud2, itf.OBJECTS, self._on_objects, itf.RELIABLE_QOS)
        self.create_subscription(
            DiagnosticArray, itf.TRAFFIC_LIGHTS, self._on_traffic_lights, itf.RELIABLE_QOS
        )
        self.create_timer(1.0 / p.rate_hz, self._cycle)

    def _decode(self, kind: str, decode, msg, last_stamp_s: float | None, refined: bool = False):
        """The decoded message, or None (counted) when it breaks the contract, is stamped in the
        future or is not newer than the last one taken (refined: or as new, a second look at the
        same instant, as system/stream_monitor.py StreamSpec.refined says)."""
        stamp, now = itf.from_stamp(msg.header.stamp), now_s(self)
        try:
            if stamp > now + MAX_FUTURE_STAMP_S:
                raise itf.InterfaceError(f"stamped {stamp - now:.3f} s in the future")
            repeated = stamp == last_stamp_s and not refined
            if last_stamp_s is not None and (stamp < last_stamp_s or repeated):
                raise itf.InterfaceError(
                    f"stamp {stamp:.3f} s not after the last one {last_stamp_s:.3f} s"
                )
            return decode(msg)
        except itf.InterfaceError as err:
            self.rejected[kind] += 1
            self.last_problem = f"{kind}: {err}"
            return None

    def _on_odometry(self, msg: Odometry) -> None:
        last = self.odometry.stamp_s if self.odometry else None
        self.odometry = self._decode("odometry", itf.decode_odometry, msg, last) or self.odometry

    def _on_status(self, msg: JointState) -> None:
        last = self.status.stamp_s if self.status else None
        self.status = (
            self._decode("vehicle_status", itf.decode_vehicle_status, msg, last) or self.status
        )

    def _on_objects(self, msg: PointCloud2) -> None:
        last = self.objects[0] if self.objects else None
        table = self._decode("objects", itf.decode_objects, msg, last, refined=True)
        if table is not None:
            self.objects = (itf.from_stamp(msg.header.stamp), table)

    def _on_traffic_lights(self, msg: DiagnosticArray) -> None:
        last = self.traffic_lights.stamp_s if self.traffic_lights else None
        self.traffic_lights = (
            self._decode("traffic_lights", itf.decode_traffic_lights, msg, last)
            or self.traffic_lights
        )

    def _signals(self, now: float) -> tuple[dict, str]:
        """The signal states to plan with, and how recent they are (for diagnostics)."""
        lights = self.traffic_lights
        if lights is None:
            return {}, "none received"
        age = now - lights.stamp_s
        if age > self.params.traffic_lights_timeout_s:
            return {}, f"stale ({age:.2f} s old): every signal unread"
        return dict(lights.states), f"{len(lights.states)} signals, {age:.2f} s old"

    def _inputs(self, now: float, signals: dict) -> tuple[PlannerInput, str]:
        """The cycle's inputs, and why they cannot be planned with ('' when they can)."""
        odo, status = self.odometry, self.status
        steer = status.steer_rad if status else 0.0
        accel = status.accel_mps2 if status else 0.0
        if odo is None:
            return PlannerInput(
                now, math.nan, math.nan, math.nan, 0.0, steer, accel, ct.empty_objects()
            ), "waiting for odometry"
        inputs = PlannerInput(
            odo.stamp_s,
            odo.x_m,
            odo.y_m,
            odo.yaw_rad,
            odo.speed_mps,
            steer,
            accel,
            self.objects[1] if self.objects else ct.empty_objects(),
            signals,
        )
        age = now - odo.stamp_s
        if not -self.params.odometry_timeout_s <= age <= self.params.odometry_timeout_s:
            return inputs, f"odometry is {age:.2f} s old"
        if self.objects is None or now - self.objects[0] > self.params.objects_timeout_s:
            return inputs, "no recent object table"
        return inputs, ""

    def _cycle(self) -> None:
        started = time.perf_counter()
        now = now_s(self)
        signals, signals_note = self._signals(now)
        inputs, problem = self._inputs(now, signals)
        if problem:
            output = self.planner.stop(inputs, problem)
        else:
            try:
                output = self.planner.step(inputs)
                self._record_problem()
            except RouteError as err:
                output = self.planner.stop(inputs, f"no route: {err}")
            except Exception as err:  # a planning bug must end in a stop plan, never in silence
                self.get_logger().error(f"planning cycle failed: {err!r}")
                output = self.planner.stop(inputs, f"internal error: {err!r}")
        self._publish(now if problem else inputs.stamp_s, output)
        cycle_ms = (time.perf_counter() - started) * 1e3
        if cycle_ms > self.params.deadline_ms:
            self.deadline_misses += 1
        self._report(output, cycle_ms, signals_note)

    def _record_problem(self) -> None:
        """Keep the MPC problem this cycle solved (a cycle that stopped before the MPC solved
        none), every record_mpc_every-th one."""
        problem = self.planner.mpc.last_problem
        if not self.params.record_mpc_problems or problem is None or problem is self._last_problem:
            return
        self._last_problem = problem
        self._problems_seen += 1
        if (self._problems_seen - 1) % self.params.record_mpc_every == 0:
            self.recorded_problems.append(problem)

    def destroy_node(self):
        if self.params.record_mpc_problems and self.recorded_problems:
            save_problems(self.params.record_mpc_problems, self.recorded_problems)
        super().destroy_node()

    def _source_stamp(self, base_s: float) -> float:
        """The oldest input behind a plan whose schedule starts at base_s."""
        stamps = [base_s] + [
            s
            for s in (
                self.odometry.stamp_s if self.odometry else None,
                self.objects[0] if self.objects else None,
            )
            if s is not None
        ]
        return min(stamps)

    def _publish(self, base_s: float, output: PlanOutput) -> None:
        """The schedule starts at base_s (the odometry stamp the MPC planned from, or now
        for a stop)."""
        schedule = output.schedule
        stamp = self._source_stamp(base_s)
        self.command_pub.publish(
            itf.encode_control_command(
                itf.ControlPlan(
                    stamp_s=stamp,
                    time_from_start_s=schedule.time_from_start_s + (base_s - stamp),
                    steer_rad=schedule.steer_rad,
                    steer_rate_radps=schedule.steer_rate_radps,
                    speed_mps=schedule.speed_mps,
                    accel_mps2=schedule.accel_mps2,
                )
            )
        )
        self.path_pub.publish(itf.encode_path(stamp, output.poses))

    def _report(self, output: PlanOutput, cycle_ms: float, signals: str) -> None:
        if output.mission_complete:
            level, message = ct.OK, MISSION_COMPLETE_MESSAGE
        elif output.request_mrm:
            level, message = ct.ERROR, "repeated MPC failures: minimal-risk stop requested"
        elif not output.ok:
            level, message = ct.WARN, f"controlled stop: {output.state}"
        else:
            level, message = ct.OK, output.state
        limit_mps, limit_reason = output.speed_limit
        values = {
            "state": output.state,
            "reason": output.reason,
            "mpc_solve_ms": f"{output.solve_time_ms:.3f}",
            "speed_limit_mps": f"{limit_mps:.2f}" if math.isfinite(limit_mps) else "",
            "speed_limit_reason": limit_reason,
            "solver_ok": output.solver_ok,
            "cycle_ms": f"{cycle_ms:.3f}",
            "deadline_misses": self.deadline_misses,
            "served_stops": self.planner.progress.served,
            "traffic_lights": signals,
            "events": "; ".join(output.events),
            "last_input_problem": self.last_problem,
            **{f"rejected_{k}": v for k, v in self.rejected.items()},
        }
        self.diagnostics.publish([ct.Diagnostic("", level, message, values)])


def main(args=None):
    spin_node(PlannerNode, args)
