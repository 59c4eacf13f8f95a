"""The world of a CARLA run, behind the same seam as the embedded one (sim/world_interface.py).

CARLA only moves the van's body and makes its sensors: the van is still driven through its ECU
(sim/van_ecu.py, on the runner's CAN bus, to the real dbw_bridge), whose plant is `CarlaPlant`;
the scenario's actors are the embedded simulator's `ScriptedActors`, their CARLA stand-ins moved
kinematically each tick. One CARLA tick per lockstep tick: `advance_actors(t)` applies the van's
pedals and wheel, places the actors, ticks, reads the van's body back and collects the tick's
IMU and LiDAR sweep (matched by frame number); `sensor_outputs(t)` delivers through the same
`SensorStreams` (schedule, faults) as the embedded world: the camera frame of the tick, the
LiDAR scan stitched from its partial sweeps, the IMU, and GNSS synthesised from the true pose
with the map's projector.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np

from robovan_autonomy.camera_model import CameraIntrinsics
from robovan_autonomy.carla_sim.control import CarlaConfig
from robovan_autonomy.carla_sim.convert import (
    PartialSweeps,
    bgra_to_bgr,
    imu_to_ros,
    lidar_to_points,
    location_to_ros,
    rotation_to_ros,
    velocity_to_ros,
)
from robovan_autonomy.carla_sim.plant import CarlaPlant
from robovan_autonomy.carla_sim.sensors import FrameMatcher
from robovan_autonomy.carla_sim.session import CarlaSession
from robovan_autonomy.mapping.lanelet_map import DistrictMap
from robovan_autonomy.sim.actors import ScriptedActors
from robovan_autonomy.sim.gnss_imu import GnssModel, GnssNoise, ImuReading
from robovan_autonomy.sim.scenario import Scenario, signal_plans, start_pose_in_map
from robovan_autonomy.sim.scene import Pose3
from robovan_autonomy.sim.traffic_lights import TrafficSignals
from robovan_autonomy.sim.van_ecu import VanEcu
from robovan_autonomy.sim.van_plant import PlantState
from robovan_autonomy.sim.world import (
    CameraReading,
    LidarReading,
    SensorStreams,
    actor_objects,
    gnss_conditions,
    gnss_jump_m,
)
from robovan_autonomy.vehicle_params import SensorPose, VehicleParams

STREAMS = ("imu", "lidar", "camera")  # matched to ticks by frame; events come as they happen
EVERY_TICK = ("imu", "lidar")  # collected at every tick (the LiDAR's sweeps make its scans)
SPAWN_HEIGHT_M = 0.3  # the van is dropped onto the road from this high
# What a collision was with, by the CARLA blueprint of the other actor (anything else is static).
COLLISION_KINDS = (("walker.", "collision_pedestrian"), ("vehicle.", "collision_vehicle"))


class CarlaWorld:
    def __init__(
        self,
        scenario: Scenario,
        district: DistrictMap,
        vehicle: VehicleParams,
        seed: int | None,
        *,
        client,
        config: CarlaConfig,
        api=None,
    ):
        self.scenario, self.vehicle, self.config = scenario, vehicle, config
        self.seed = scenario.seed if seed is None else seed
        self.t_s = 0.0
        x, y, yaw = start_pose_in_map(scenario, district, vehicle)
        self.plant = CarlaPlant(vehicle, config.control, x_m=x, y_m=y, yaw_rad=yaw)
        self.ecu = VanEcu(self.plant)
        self.actors = ScriptedActors(scenario.actors)
        self.actor_states = self.actors.states()
        self.district = district
        # CARLA's own lights are not driven: the scenario's plans are the signals' truth.
        self.signals = TrafficSignals(signal_plans(scenario, district))
        self.intrinsics = CameraIntrinsics.from_vehicle_params(vehicle)
        self.streams = SensorStreams(scenario, vehicle)
        self.matcher = FrameMatcher(STREAMS)
        gnss_rng, self._imu_rng = (
            np.random.default_rng(s) for s in np.random.SeedSequence(self.seed).spawn(2)
        )
        self.gnss = GnssModel(
            GnssNoise.from_vehicle_params(vehicle),
            district.to_geodetic,
            gnss_rng,
            gnss_conditions(scenario),
        )
        self._gnss_antenna = vehicle.sensor_pose("gnss").translation()[None]
        lidar = vehicle.sensors["lidar_top"]
        self.sweeps = PartialSweeps(float(lidar["rate_hz"]), config.delta_seconds)
        self.events: dict[str, list[float]] = {"collision": [], "lane_invasion": []}
        self._collisions: list[tuple[float, str, dict]] = []
        self._frame = -1
        self._tick_data: dict[str, object] = {}
        self._scan: np.ndarray | None = None
        self._exit = contextlib.ExitStack()
        try:
            self.session = self._exit.enter_context(CarlaSession(client, config, api))
            self._spawn(x, y, yaw)
        except BaseException:
            self._exit.close()
            raise

    # -- set-up ---------------------------------------------------------------------------------
    def _spawn(self, x_m: float, y_m: float, yaw_rad: float) -> None:
        session, config, ahead = self.session, self.config, self.config.van_origin_ahead_m
        self.van_actor = session.spawn(
            config.van_blueprint,
            session.transform(
                x_m + ahead * math.cos(yaw_rad),
                y_m + ahead * math.sin(yaw_rad),
                SPAWN_HEIGHT_M,
                yaw_rad=yaw_rad,
            ),
        )
        sensors = self.vehicle.sensors
        camera, lidar, imu = sensors["camera_front"], sensors["lidar_top"], sensors["imu"]
        every_tick = {"sensor_tick": 0.0}
        specs = {
            "camera": (
                "sensor.camera.rgb",
                "camera_front",
                {
                    "image_size_x": int(camera["width_px"]),
                    "image_size_y": int(camera["height_px"]),
                    "fov": math.degrees(float(camera["hfov_rad"])),
                    **every_tick,
                },
            ),
            "lidar": (
                "sensor.lidar.ray_cast",
                "lidar_top",
                {
                    "channels": int(lidar["beams"]),
                    "range": float(lidar["max_range_m"]),
                    "rotation_frequency": float(lidar["rate_hz"]),
                    "points_per_second": int(lidar["beams"] * lidar["columns"] * lidar["rate_hz"]),
                    "upper_fov": math.degrees(float(lidar["max_elevation_rad"])),
                    "lower_fov": math.degrees(float(lidar["min_elevation_rad"])),
                    **every_tick,
                },
            ),
            "imu": (
                "sensor.other.imu",
                "imu",
                {
                    "noise_accel_stddev_x": imu["accel_noise_mps2"],
                    "noise_accel_stddev_y": imu["accel_noise_mps2"],
                    "noise_accel_stddev_z": imu["accel_noise_mps2"],
                    "noise_gyro_stddev_x": imu["gyro_noise_radps"],
                    "noise_gyro_stddev_y": imu["gyro_noise_radps"],
                    "noise_gyro_stddev_z": imu["gyro_noise_radps"],
                    "noise_seed": int(self._imu_rng.integers(2**31)),
                    **every_tick,
                },
            ),
        }
        for name, (blueprint, frame, attributes) in specs.items():
            pose = self._relative_to_body(self.vehicle.sensor_pose(frame))
            sensor = session.spawn(blueprint, pose, attributes, parent=self.van_actor)
            sensor.listen(self.matcher.callback(name))
        for name, blueprint in (
            ("collision", "sensor.other.collision"),
            ("lane_invasion", "sensor.other.lane_invasion"),
        ):
            sensor = session.spawn(
                blueprint, session.transform(0.0, 0.0, 0.0), parent=self.van_actor
            )
            sensor.listen(self._collision if name == "collision" else self._event(name))
        self._actor_bodies = {}
        for state in self.actor_states:
            body = session.spawn(
                self.config.actor_blueprints[state.type],
                session.transform(state.x, state.y, 0.0, yaw_rad=state.yaw),
            )
            body.set_simulate_physics(False)
            self._actor_bodies[state.track_id] = body

    def _relative_to_body(self, pose: SensorPose):
        return self.session.transform(
            pose.x_m - self.config.van_origin_ahead_m,
            pose.y_m,
            pose.z_m,
            pose.roll_rad,
            pose.pitch_rad,
            pose.yaw_rad,
        )

    def _event(self, name: str):
        """Collisions and lane invasions come only when they happen: kept with their sim time."""

        def record(event) -> None:
            self.events[name].append(self.t_s)

        return record

    def _collision(self, event) -> None:
        """A collision CARLA's sensor reported, as the report's infraction for what was hit. The
        scenario's own actors are left to the report, which judges their contact from their true
        boxes, as in the embedded world; this catches what only CARLA has (the town's poles,
        walls, props and traffic)."""
        self.events["collision"].append(self.t_s)
        other = event.other_actor
        if other.id in {body.id for body in self._actor_bodies.values()}:
            return
        kind = next(
            (kind for prefix, kind in COLLISION_KINDS if other.type_id.startswith(prefix)),
            "collision_static",
        )
        self._collisions.append((self.t_s, kind, {"with": other.type_id, "source": "carla"}))

    # -- the seam -------------------------------------------------------------------------------
    def infractions(self) -> list[tuple[float, str, dict]]:
        """Collisions CARLA's sensor reported with what the scenario did not put there."""
        return list(self._collisions)

    @property
    def van(self) -> PlantState:
        return self.plant.state

    def advance_actors(self, t_s: float) -> None:
        """Pedals and wheel for the tick, the actors at t_s, one CARLA tick, the van's body and
        the tick's every-tick sensor data read back."""
        dt_s, van = t_s - self.t_s, self.plant
        command = van.vehicle_command(dt_s)
        api = self.session.api
        self.van_actor.apply_control(
            api.VehicleControl(
                throttle=command.throttle,
                steer=command.steer,
                brake=command.brake,
                hand_brake=command.hand_brake,
                reverse=command.reverse,
            )
        )
        self.actor_states = self.actors.update(t_s, (van.x_m, van.y_m, van.yaw_rad), dt_s)
        for state in self.actor_states:
            self._actor_bodies[state.track_id].set_transform(
                self.session.transform(state.x, state.y, 0.0, yaw_rad=state.yaw)
            )
        self.matcher.discard_through(self._frame)
        self.t_s = t_s
        self._frame = self.session.tick()
        self._observe_van(t_s)
        self._tick_data = self.matcher.collect(
            self._frame, EVERY_TICK, self.config.sensor_timeout_s
        )
        sweep = self._tick_data["lidar"]
        points = lidar_to_points(sweep.raw_data) if sweep is not None else None
        self.sweeps.add(self._frame, points if points is not None else np.zeros((0, 4), np.float32))
        self._scan = self.sweeps.full()

    def _observe_van(self, t_s: float) -> None:
        transform = self.van_actor.get_transform()
        location, rotation = transform.location, transform.rotation
        _, _, yaw = rotation_to_ros(rotation.roll, rotation.pitch, rotation.yaw)
        origin = location_to_ros((location.x, location.y, location.z))
        heading = np.array([math.cos(yaw), math.sin(yaw)])
        x, y = origin[:2] - self.config.van_origin_ahead_m * heading
        velocity = self.van_actor.get_velocity()
        speed = float(velocity_to_ros((velocity.x, velocity.y, velocity.z))[:2] @ heading)
        # CARLA's angular velocity is in degrees per second, about its left-handed z.
        yaw_rate = -math.radians(self.van_actor.get_angular_velocity().z)
        self.plant.observe(t_s, float(x), float(y), yaw, speed, yaw_rate)

    def sensor_outputs(
        self, t_s: float, wanted: set[str] | None = None
    ) -> list[tuple[str, object]]:
        return self.streams.outputs(t_s, self._measure, wanted)

    def _measure(self, sensor: str, t_s: float):
        if sensor == "imu":
            data = self._tick_data["imu"]
            if data is None:
                return None
            accel, gyro = imu_to_ros(
                (data.accelerometer.x, data.accelerometer.y, data.accelerometer.z),
                (data.gyroscope.x, data.gyroscope.y, data.gyroscope.z),
            )
            return ImuReading(t_s, gyro, accel)
        if sensor == "gnss":
            van = self.van
            base = Pose3.from_xyz_ypr(van.x_m, van.y_m, 0.0, van.yaw_rad)
            antenna = base.to_map(self._gnss_antenna)[0]
            return self.gnss.measure(
                t_s, antenna + np.array([gnss_jump_m(self.scenario, t_s), 0, 0])
            )
        if sensor == "lidar":
            return None if self._scan is None else LidarReading(t_s, self._scan)
        image = self.matcher.collect(self._frame, ("camera",), self.config.sensor_timeout_s)
        data = image["camera"]
        if data is None:
            return None
        return CameraReading(t_s, bgra_to_bgr(data.raw_data, data.width, data.height), None)

    def ground_truth_objects(self) -> np.ndarray:
        """The scenario's actors (the town's own parked cars are not in the table)."""
        return actor_objects(self.actor_states)

    def report_extras(self) -> dict:
        """Sensor data missing (not there within the timeout) and stale (came too late), per
        stream, and the times of the collisions and lane invasions CARLA's sensors reported."""
        return {
            "carla": {
                "missing_frames": dict(self.matcher.missing),
                "stale_frames": dict(self.matcher.stale),
                "collision_times_s": list(self.events["collision"]),
                "lane_invasion_times_s": list(self.events["lane_invasion"]),
            }
        }

    def close(self) -> None:
        """Destroy every actor this run spawned and restore the server's settings."""
        self._exit.close()
