"""A CARLA server held for one run: the connection, synchronous mode with one ticking client,
and the server left as found. Besides world.py the one module that touches libcarla, imported
where it is used: everything else runs, and is tested, where the carla wheel is not installed."""

from __future__ import annotations

import importlib

from robovan_autonomy.carla_sim.control import CarlaConfig
from robovan_autonomy.carla_sim.convert import location_from_ros, rotation_from_ros
from robovan_autonomy.config_errors import StartupError

CARLA_WHEEL = "carla==0.9.16"  # the client must match the server's version (0.9.16)
CONNECT_TIMEOUT_S = 2.0  # a local server answers in milliseconds; a missing one never does


def carla_api():
    """The carla module (the client wheel); StartupError (one line) where it is not installed."""
    try:
        return importlib.import_module("carla")
    except ImportError as err:
        raise StartupError(
            f"the carla package is not installed: pip install {CARLA_WHEEL}"
        ) from err


def connect(host: str, port: int, timeout_s: float = CONNECT_TIMEOUT_S):
    """A carla.Client that has had an answer from the server at host:port, its timeout left at
    `timeout_s`. StartupError (one line) when the wheel is missing or nothing answers in time."""
    carla = carla_api()
    client = carla.Client(host, port)
    client.set_timeout(timeout_s)
    try:
        client.get_server_version()
    except RuntimeError as err:  # libcarla's time-out (and refused connections) surface as this
        raise StartupError(f"no CARLA server answered at {host}:{port}") from err
    return client


class CarlaSession:
    """`with CarlaSession(client, config) as session:` sets synchronous mode with a fixed
    `delta_seconds` (this client is the only one that ticks), spawns actors through `spawn`, and
    on exit, normal or not (an exception, Ctrl-C), stops every sensor, destroys every actor it
    spawned, newest first, and restores the world's settings."""

    def __init__(self, client, config: CarlaConfig, api=None):
        self.client, self.config = client, config
        self.api = api or carla_api()
        self.actors: list = []

    def __enter__(self) -> CarlaSession:
        self.world = self.client.get_world()
        self._original_settings = self.world.get_settings()
        settings = self.world.get_settings()
        settings.synchronous_mode = True
        settings.fixed_delta_seconds = self.config.delta_seconds
        settings.substepping = True
        settings.max_substep_delta_time = self.config.max_substep_delta_time_s
        settings.max_substeps = self.config.max_substeps
        self.world.apply_settings(settings)
        return self

    def __exit__(self, *exc) -> None:
        try:
            for actor in reversed(self.actors):
                if getattr(actor, "is_listening", False):
                    actor.stop()
                actor.destroy()
            self.actors.clear()
        finally:
            self.world.apply_settings(self._original_settings)

    def transform(self, x_m, y_m, z_m, roll_rad=0.0, pitch_rad=0.0, yaw_rad=0.0):
        """A carla.Transform from a ROS pose (map frame, or relative to a parent)."""
        api = self.api
        x, y, z = location_from_ros((x_m, y_m, z_m))
        roll, pitch, yaw = rotation_from_ros(roll_rad, pitch_rad, yaw_rad)
        return api.Transform(
            api.Location(x=x, y=y, z=z), api.Rotation(pitch=pitch, yaw=yaw, roll=roll)
        )

    def spawn(self, blueprint_id: str, transform, attributes: dict | None = None, parent=None):
        """Spawn an actor (a sensor, attached to parent) that the session will destroy."""
        blueprint = self.world.get_blueprint_library().find(blueprint_id)
        for name, value in (attributes or {}).items():
            blueprint.set_attribute(name, str(value))
        actor = self.world.spawn_actor(blueprint, transform, attach_to=parent)
        self.actors.append(actor)
        return actor

    def tick(self) -> int:
        """Advance the server one fixed step; the frame number of the new step."""
        return self.world.tick(max(self.config.sensor_timeout_s, 1.0))
