"""What the lockstep runner (tools/simulation.py) and the simulator node need of a world.

The embedded simulator (`sim.world.SimWorld`) and CARLA (`carla_sim.world.CarlaWorld`) both
provide it, so the runner, the node set, the scenario files, the judge and the report are the
same whichever world moves the van. Pure: no ROS.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from robovan_autonomy.camera_model import CameraIntrinsics
from robovan_autonomy.mapping.lanelet_map import DistrictMap
from robovan_autonomy.sim.actors import ActorState
from robovan_autonomy.sim.scenario import Scenario
from robovan_autonomy.sim.traffic_lights import TrafficSignals
from robovan_autonomy.sim.van_ecu import VanEcu
from robovan_autonomy.sim.van_plant import PlantState
from robovan_autonomy.vehicle_params import VehicleParams


class World(Protocol):
    seed: int
    ecu: VanEcu  # the van, driven only through its ECU (the runner puts it on the CAN bus)
    intrinsics: CameraIntrinsics  # the camera's, for /camera_info
    actor_states: list[ActorState]  # the scenario's actors now, for the report
    district: DistrictMap  # the map the world was built on (its signals' names)
    signals: TrafficSignals  # the scenario's signal plans, whose states are the ground truth

    @property
    def van(self) -> PlantState:
        """The van's true state now."""

    def advance_actors(self, t_s: float) -> None:
        """Move the world's actors to t_s, before the van's ECU steps to t_s."""

    def sensor_outputs(
        self, t_s: float, wanted: set[str] | None = None
    ) -> list[tuple[str, object]]:
        """(name, reading) pairs to deliver at t_s, as `SensorStreams.outputs`."""

    def ground_truth_objects(self) -> np.ndarray:
        """The true object table (core_types.OBJECT_DTYPE rows) now."""

    def infractions(self) -> list[tuple[float, str, dict]]:
        """(t_s, kind, detail) the world's own sensors judged (CARLA's collision sensor), beyond
        what the report judges from the true poses and boxes."""

    def report_extras(self) -> dict:
        """What the world adds to the run's report (top-level keys), beyond the shared metrics."""

    def close(self) -> None:
        """Release what the world holds outside this process (a simulator's actors, settings)."""


# How the runner makes its world: (scenario, map, vehicle, seed or None) -> World.
WorldFactory = Callable[[Scenario, DistrictMap, VehicleParams, "int | None"], World]
