"""Duck-typed stand-ins for the carla client API, enough for `CarlaWorld` and `CarlaSession`:
a world that ticks frame numbers and moves the van from its control, sensors that deliver data
carrying `.frame` (on time, late from another thread, or never), and records of what was set,
spawned and destroyed. Not a simulator: the van's body is a crude point-mass bicycle."""

from __future__ import annotations

import itertools
import math
import threading
import types

import numpy as np


def _vector(**kw):
    return types.SimpleNamespace(**{k: float(kw.get(k, 0.0)) for k in ("x", "y", "z")})


def _rotation(pitch=0.0, yaw=0.0, roll=0.0):
    return types.SimpleNamespace(pitch=pitch, yaw=yaw, roll=roll)


API = types.SimpleNamespace(
    Location=_vector,
    Rotation=_rotation,
    Transform=lambda location, rotation: types.SimpleNamespace(
        location=location, rotation=rotation
    ),
    VehicleControl=lambda **kw: types.SimpleNamespace(**kw),
)


class FakeBlueprint:
    def __init__(self, blueprint_id):
        self.id, self.attributes = blueprint_id, {}

    def set_attribute(self, name, value):
        self.attributes[name] = value


ACTOR_IDS = itertools.count(1)


class FakeActor:
    def __init__(self, world, blueprint, transform, parent):
        self.world, self.blueprint, self.transform, self.parent = (
            world,
            blueprint,
            transform,
            parent,
        )
        self.destroyed = False
        self.physics = True
        self.id = next(ACTOR_IDS)
        self.type_id = blueprint.id

    def set_simulate_physics(self, enabled):
        self.physics = enabled

    def set_transform(self, transform):
        self.transform = transform

    def get_transform(self):
        return self.transform

    def destroy(self):
        self.destroyed = True


class FakeVehicle(FakeActor):
    WHEELBASE_M, MAX_STEER_RAD = 3.0, 1.22

    def __init__(self, *args):
        super().__init__(*args)
        self.control = API.VehicleControl(
            throttle=0.0, steer=0.0, brake=0.0, hand_brake=True, reverse=False
        )
        self.speed_mps = self.yaw_rate_degps = 0.0

    def apply_control(self, control):
        self.control = control

    def advance(self, dt_s):
        c = self.control
        accel = 4.0 * c.throttle - 9.0 * c.brake - (0.15 if self.speed_mps > 0 else 0.0)
        if c.hand_brake:
            accel = -9.0
        self.speed_mps = max(self.speed_mps + accel * dt_s, 0.0)
        # CARLA: steer > 0 turns right, yaw grows clockwise (degrees).
        self.yaw_rate_degps = math.degrees(
            self.speed_mps * math.tan(c.steer * self.MAX_STEER_RAD) / self.WHEELBASE_M
        )
        rotation = self.transform.rotation
        rotation.yaw += self.yaw_rate_degps * dt_s
        heading = math.radians(rotation.yaw)
        self.transform.location.x += self.speed_mps * math.cos(heading) * dt_s
        self.transform.location.y += self.speed_mps * math.sin(heading) * dt_s

    def get_velocity(self):
        heading = math.radians(self.transform.rotation.yaw)
        return _vector(x=self.speed_mps * math.cos(heading), y=self.speed_mps * math.sin(heading))

    def get_angular_velocity(self):
        return _vector(z=self.yaw_rate_degps)


class FakeSensor(FakeActor):
    def __init__(self, *args):
        super().__init__(*args)
        self.callback = None
        self.skip_frames: set[int] = set()  # frames this sensor never delivers
        self.late_s = 0.0  # deliver this long after the tick, from another thread

    @property
    def is_listening(self):
        return self.callback is not None

    def listen(self, callback):
        self.callback = callback

    def stop(self):
        self.callback = None

    def produce(self, frame):
        if self.callback is None or frame in self.skip_frames:
            return
        data = self._data(frame)
        if data is None:
            return
        if self.late_s > 0.0:
            threading.Timer(self.late_s, self.callback, [data]).start()
        else:
            self.callback(data)

    def _data(self, frame):
        kind, attrs = self.blueprint.id, self.blueprint.attributes
        if kind == "sensor.camera.rgb":
            width, height = int(attrs["image_size_x"]), int(attrs["image_size_y"])
            # A lit, textured frame that changes every tick (not black, not frozen).
            rows = (np.arange(height)[:, None] + np.arange(width)[None, :] + frame) % 200 + 30
            raw = np.repeat(rows.astype(np.uint8)[:, :, None], 4, axis=2).tobytes()
            return types.SimpleNamespace(frame=frame, raw_data=raw, width=width, height=height)
        if kind == "sensor.lidar.ray_cast":
            # One tenth of a revolution of the 32 beams hitting the ground 20 m out.
            columns = int(attrs["points_per_second"]) // int(attrs["channels"]) // 100
            azimuth = np.linspace(0.0, 2 * np.pi / 10, columns) + 2 * np.pi / 10 * (frame % 10)
            azimuth = np.repeat(azimuth, int(attrs["channels"]))
            # Range noise (seeded by frame), as a live sensor's: no two turns are identical.
            range_m = 20.0 + np.random.default_rng(frame).normal(0.0, 0.02, azimuth.shape)
            points = np.stack(
                [
                    range_m * np.cos(azimuth),
                    range_m * np.sin(azimuth),
                    np.full_like(azimuth, -2.4),
                    np.ones_like(azimuth),
                ],
                axis=1,
            ).astype(np.float32)
            return types.SimpleNamespace(frame=frame, raw_data=points.tobytes())
        if kind == "sensor.other.imu":
            return types.SimpleNamespace(
                frame=frame,
                accelerometer=_vector(x=0.01 * (frame % 7), z=9.81),  # a live sensor's jitter
                gyroscope=_vector(z=0.001 * (frame % 5)),
            )
        return None  # collision, lane invasion: events only when they happen


class FakeWorld:
    def __init__(self):
        self.settings = types.SimpleNamespace(
            synchronous_mode=False,
            fixed_delta_seconds=None,
            substepping=True,
            max_substep_delta_time=0.01,
            max_substeps=10,
        )
        self.applied = []
        self.frame = 100
        self.actors: list[FakeActor] = []

    def get_settings(self):
        return types.SimpleNamespace(**vars(self.settings))

    def apply_settings(self, settings):
        self.settings = types.SimpleNamespace(**vars(settings))
        self.applied.append(self.settings)

    def get_blueprint_library(self):
        return types.SimpleNamespace(find=FakeBlueprint)

    def spawn_actor(self, blueprint, transform, attach_to=None):
        kind = (
            FakeSensor
            if blueprint.id.startswith("sensor.")
            else FakeVehicle
            if attach_to is None and not self.actors
            else FakeActor
        )
        actor = kind(self, blueprint, transform, attach_to)
        self.actors.append(actor)
        return actor

    def tick(self, timeout):
        assert self.settings.synchronous_mode, "tick outside synchronous mode"
        self.frame += 1
        for actor in self.actors:
            if isinstance(actor, FakeVehicle):
                actor.advance(self.settings.fixed_delta_seconds)
        for actor in self.actors:
            if isinstance(actor, FakeSensor):
                actor.produce(self.frame)
        return self.frame

    def sensor(self, blueprint_id):
        return next(a for a in self.actors if a.blueprint.id == blueprint_id)

    @property
    def van(self):
        return next(a for a in self.actors if isinstance(a, FakeVehicle))


class FakeClient:
    def __init__(self):
        self.world = FakeWorld()

    def get_world(self):
        return self.world
