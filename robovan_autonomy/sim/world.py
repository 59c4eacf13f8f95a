"""The embedded simulator's world: van, actors, sensors and faults, advanced in fixed steps.

Pure: no ROS and no CAN bus. The van is driven only through its ECU (`self.ecu`), which the
simulator's runner puts on the CAN bus, so every run exercises the real bridge and RVN-DBW.
Sensor outputs are plain readings stamped in simulated time; the simulator node turns them into
messages. Every random stream has its own generator spawned from the scenario seed, so a run is
reproducible and one sensor's draws never shift another's.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from robovan_autonomy.camera_model import CameraIntrinsics
from robovan_autonomy.core_types import OBJECT_DTYPE
from robovan_autonomy.mapping.lanelet_map import DistrictMap
from robovan_autonomy.sim.actors import ActorState, ScriptedActors
from robovan_autonomy.sim.camera import CameraFrame, CameraRenderer
from robovan_autonomy.sim.district_scene import build_scene
from robovan_autonomy.sim.faults import Delivery, FaultInjector, FaultKind, SensorFault
from robovan_autonomy.sim.gnss_imu import (
    GnssConditions,
    GnssModel,
    GnssNoise,
    ImuModel,
    ImuNoise,
    MotionState,
)
from robovan_autonomy.sim.lidar import LidarConfig, LidarModel
from robovan_autonomy.sim.scenario import Scenario, signal_plans, start_pose_in_map
from robovan_autonomy.sim.scene import Box, Pose3
from robovan_autonomy.sim.traffic_lights import TrafficSignals
from robovan_autonomy.sim.van_ecu import VanEcu
from robovan_autonomy.sim.van_plant import PlantState, VanPlant
from robovan_autonomy.vehicle_params import VehicleParams

STEP_S = 0.01  # lockstep tick: divides every sensor period but the camera's, and the CAN periods
SENSORS = ("imu", "gnss", "lidar", "camera")
SENSOR_FAULT_TARGETS = {"imu": "imu", "gnss": "gnss", "lidar": "lidar", "camera": "camera"}
GROUND_TRUTH_ODOMETRY_HZ = 50.0
GROUND_TRUTH_OBJECTS_HZ = 10.0
GROUND_TRUTH_TRAFFIC_LIGHTS_HZ = (
    10.0  # what a camera classifier would manage, and the planner's rate
)
GROUND_TRUTH_OUTPUTS = (
    "ground_truth_odometry",
    "ground_truth_objects",
    "ground_truth_traffic_lights",
)
SENSOR_RANGE_M = 110.0  # the LiDAR's 100 m plus the largest actor's half length


@dataclasses.dataclass(frozen=True)
class LidarReading:
    stamp_s: float
    points: np.ndarray  # (N, 4) float32 in lidar_top


@dataclasses.dataclass(frozen=True)
class CameraReading:
    stamp_s: float
    image: np.ndarray
    frame: CameraFrame


class Schedule:
    """Which periodic outputs fall due at a tick: output k of a rate is due at the first tick at
    or after k/rate, so 15 Hz on a 10 ms tick is stamped at the tick, never drifts and never
    doubles."""

    def __init__(self, rates_hz: dict[str, float]):
        self.rates_hz = rates_hz
        self._next = dict.fromkeys(rates_hz, 0)

    def due(self, t_s: float) -> list[str]:
        names = []
        for name, rate in self.rates_hz.items():
            if t_s + 1e-9 >= self._next[name] / rate:
                names.append(name)
                self._next[name] = math.floor(t_s * rate + 1e-9) + 1
        return names


def sensor_rates(vehicle: VehicleParams) -> dict[str, float]:
    """Every periodic output of a world and its rate: the datasheet's sensors, the ground truth."""
    rates = {
        name: float(vehicle.sensors[frame]["rate_hz"])
        for name, frame in (
            ("imu", "imu"),
            ("gnss", "gnss"),
            ("lidar", "lidar_top"),
            ("camera", "camera_front"),
        )
    }
    rates["ground_truth_odometry"] = GROUND_TRUTH_ODOMETRY_HZ
    rates["ground_truth_objects"] = GROUND_TRUTH_OBJECTS_HZ
    rates["ground_truth_traffic_lights"] = GROUND_TRUTH_TRAFFIC_LIGHTS_HZ
    return rates


def sensor_faults(scenario: Scenario, sensor: str) -> list[SensorFault]:
    """A sensor's faults for its injector. A killed device sends nothing, as a dropped stream; a
    GNSS jump moves what the receiver measures (gnss_jump_m), so it is not the injector's."""
    return [
        SensorFault(
            FaultKind.DROP if f.kind == "kill" else FaultKind(f.kind),
            f.start_s,
            f.end_s,
            f.value or 0.0,
        )
        for f in scenario.faults
        if f.target == SENSOR_FAULT_TARGETS[sensor] and not (sensor == "gnss" and f.kind == "jump")
    ]


def gnss_jump_m(scenario: Scenario, t_s: float) -> float:
    """How far east of the truth the scenario's GNSS jump faults put the antenna at t_s."""
    return sum(
        f.value
        for f in scenario.faults
        if f.target == "gnss" and f.kind == "jump" and f.start_s <= t_s < f.end_s
    )


def gnss_conditions(scenario: Scenario) -> GnssConditions:
    """The scenario's GNSS outages, as time windows and map zones."""
    windows, zones = [], []
    for outage in scenario.gnss_outages:
        if outage.zone is not None:
            z = outage.zone
            zones.append(
                np.array(
                    [[z.x_min, z.y_min], [z.x_max, z.y_min], [z.x_max, z.y_max], [z.x_min, z.y_max]]
                )
            )
        else:
            windows.append((outage.start_s, outage.start_s + outage.duration_s))
    return GnssConditions(outage_windows=tuple(windows), outage_zones=tuple(zones))


class SensorStreams:
    """What a world delivers at a tick: the outputs due (`Schedule`), measured, then through the
    scenario's sensor faults (drops, freezes, NaNs, delays). Every world (embedded or CARLA)
    delivers through one, so a scenario's schedule and faults mean the same in each."""

    def __init__(self, scenario: Scenario, vehicle: VehicleParams):
        self.schedule = Schedule(sensor_rates(vehicle))
        self.faults = {name: FaultInjector(sensor_faults(scenario, name)) for name in SENSORS}
        self._pending: list[tuple[str, Delivery]] = []

    def outputs(
        self, t_s: float, measure, wanted: set[str] | None = None
    ) -> list[tuple[str, object]]:
        """(sensor, reading) pairs to deliver at t_s; `measure(sensor, t_s)` gives a reading, or
        None where the sensor has none (delivered as a drop). Ground-truth outputs come as
        (name, t_s).

        `wanted` skips sensors nobody listens to; their schedule still advances so the output
        is the same function of time whatever is wanted.
        """
        due = self.schedule.due(t_s)
        for sensor in (name for name in SENSORS if name in due):
            if wanted is not None and sensor not in wanted:
                continue
            reading, injector = measure(sensor, t_s), self.faults[sensor]
            if reading is None:
                continue
            # A stream without faults is delivered as is: the injector would only copy it.
            delivery = (
                injector.apply(t_s, reading) if injector.faults else Delivery(t_s, t_s, reading)
            )
            if delivery is not None:
                self._pending.append((sensor, delivery))
        ready = [(s, d.payload) for s, d in self._pending if d.deliver_at_s <= t_s + 1e-9]
        self._pending = [(s, d) for s, d in self._pending if d.deliver_at_s > t_s + 1e-9]
        outputs = ready
        for name in GROUND_TRUTH_OUTPUTS:
            if name in due:
                outputs.append((name, t_s))
        return outputs


class SimWorld:
    def __init__(
        self,
        scenario: Scenario,
        district: DistrictMap,
        vehicle: VehicleParams,
        seed: int | None = None,
    ):
        self.scenario, self.district, self.vehicle = scenario, district, vehicle
        self.seed = scenario.seed if seed is None else seed
        x, y, yaw = start_pose_in_map(scenario, district, vehicle)
        self.plant = VanPlant(vehicle, x_m=x, y_m=y, yaw_rad=yaw)
        self.ecu = VanEcu(self.plant)
        self.t_s = 0.0
        self.actors = ScriptedActors(scenario.actors)
        self.actor_states: list[ActorState] = self.actors.states()
        self.signals = TrafficSignals(signal_plans(scenario, district))
        self.scene = build_scene(district, palette_seed=self.seed)
        self.parked = list(self.scene.static_boxes)
        self._parked_objects = object_table(self.parked)
        streams = np.random.SeedSequence(self.seed).spawn(len(SENSORS))
        rng = {name: np.random.default_rng(s) for name, s in zip(SENSORS, streams)}
        self._rng = rng
        self.lidar = LidarModel(LidarConfig.from_vehicle_params(vehicle))
        self.intrinsics = CameraIntrinsics.from_vehicle_params(vehicle)
        self.camera = CameraRenderer(self.intrinsics)
        self.gnss = GnssModel(
            GnssNoise.from_vehicle_params(vehicle),
            district.to_geodetic,
            rng["gnss"],
            gnss_conditions(scenario),
        )
        self.imu = ImuModel(
            ImuNoise.from_vehicle_params(vehicle), vehicle.sensor_pose("imu"), rng["imu"]
        )
        self.streams = SensorStreams(scenario, vehicle)
        self._extrinsics = {
            name: vehicle.sensor_pose(name) for name in ("lidar_top", "camera_front")
        }
        self._gnss_antenna = vehicle.sensor_pose("gnss").translation()[None]
        self._previous_yaw_rate = 0.0
        self._scene_boxes_at_s: float | None = None

    # -- state --------------------------------------------------------------------------------
    @property
    def van(self) -> PlantState:
        return self.plant.state

    def base_link_pose(self) -> Pose3:
        van = self.van
        return Pose3.from_xyz_ypr(van.x_m, van.y_m, 0.0, van.yaw_rad)

    def advance_actors(self, t_s: float) -> None:
        """Move the actors to t_s (the van is advanced by its ECU, on the bus)."""
        van = self.van
        self.actor_states = self.actors.update(t_s, (van.x_m, van.y_m, van.yaw_rad), t_s - self.t_s)
        self.t_s = t_s

    def actor_boxes(self) -> list[Box]:
        """The scenario's moving actors now."""
        return actor_boxes(self.actor_states)

    def boxes(self) -> list[Box]:
        """Every object a sensor can see: scenario actors and parked cars."""
        return self.actor_boxes() + self.parked

    def actor_boxes_within(self, radius_m: float) -> list[Box]:
        """Actors a sensor on the van can reach: rebuilding far ones each frame is wasted time
        (parked cars are the scene's static boxes, built once)."""
        van = self.van
        return [
            b
            for b in self.actor_boxes()
            if math.hypot(b.x_m - van.x_m, b.y_m - van.y_m) <= radius_m
        ]

    def ground_truth_objects(self) -> np.ndarray:
        """Actors (with their velocities), then parked cars (at rest)."""
        return np.concatenate([actor_objects(self.actor_states), self._parked_objects])

    # -- sensors ------------------------------------------------------------------------------
    def _motion(self) -> MotionState:
        van = self.van
        yaw_accel = (van.yaw_rate_radps - self._previous_yaw_rate) / STEP_S
        self._previous_yaw_rate = van.yaw_rate_radps
        return MotionState.planar(
            van.yaw_rad, van.yaw_rate_radps, van.speed_mps, van.accel_mps2, yaw_accel
        )

    def _measure(self, sensor: str, t_s: float):
        if sensor == "imu":
            return self.imu.measure(t_s, self._motion())
        base = self.base_link_pose()
        if sensor == "gnss":
            antenna = base.to_map(self._gnss_antenna)[0] + np.array(
                [gnss_jump_m(self.scenario, t_s), 0.0, 0.0]
            )
            return self.gnss.measure(t_s, antenna)
        if self._scene_boxes_at_s != t_s:
            self.scene.set_boxes(self.actor_boxes_within(SENSOR_RANGE_M))
            self._scene_boxes_at_s = t_s
        if sensor == "lidar":
            scan = self.lidar.scan(
                self.scene, base.compose(self._extrinsics["lidar_top"]), self._rng["lidar"]
            )
            return LidarReading(t_s, scan.points)
        frame = self.camera.render(self.scene, base.compose(self._extrinsics["camera_front"]))
        return CameraReading(t_s, frame.image, frame)

    def sensor_outputs(
        self, t_s: float, wanted: set[str] | None = None
    ) -> list[tuple[str, object]]:
        """(sensor, reading) pairs to deliver at t_s (SensorStreams.outputs)."""
        return self.streams.outputs(t_s, self._measure, wanted)

    def infractions(self) -> list[tuple[float, str, dict]]:
        """None of its own: the report judges every contact from the true poses and boxes."""
        return []

    def report_extras(self) -> dict:
        """Nothing beyond the report's own: the embedded world loses no sensor data."""
        return {}

    def close(self) -> None:
        """Nothing to release: the embedded world holds no outside resources."""


def actor_boxes(states: list[ActorState]) -> list[Box]:
    """Actors as boxes standing on z = 0."""
    return [
        Box(a.x, a.y, 0.0, a.yaw, a.length, a.width, a.height, None, a.class_id, a.track_id)
        for a in states
    ]


def actor_objects(states: list[ActorState]) -> np.ndarray:
    """Actors as ground-truth object rows, with their velocities."""
    return object_table(actor_boxes(states), [a.vx for a in states], [a.vy for a in states])


def object_table(boxes: list[Box], vx_mps=0.0, vy_mps=0.0) -> np.ndarray:
    """The ground-truth object rows of boxes standing on z = 0, built column by column."""
    table = np.zeros(len(boxes), dtype=OBJECT_DTYPE)
    if boxes:
        columns = np.array(
            [(b.x_m, b.y_m, b.yaw_rad, b.length_m, b.width_m, b.height_m) for b in boxes]
        )
        for name, column in zip(("x", "y", "yaw", "length", "width", "height"), columns.T):
            table[name] = column
        table["class_id"] = [b.class_id for b in boxes]
        table["track_id"] = [b.object_id for b in boxes]
    table["vx"], table["vy"], table["score"] = vx_mps, vy_mps, 1.0
    return table
