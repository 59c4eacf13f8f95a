"""The mission as the caller hands it to the behaviour: the ordered delivery stops and how many
are served. Plain data; each decision hands it back, advanced when a dwell ends."""

from __future__ import annotations

import dataclasses
import math

from robovan_autonomy.planning.route import Pose2D
from robovan_autonomy.vehicle_params import VehicleParams


@dataclasses.dataclass(frozen=True)
class MissionStop:
    """A delivery stop: where base_link must stand (map frame) and for how long."""

    name: str
    dwell_s: float
    stop_pose: Pose2D

    @classmethod
    def at_bay(
        cls, name: str, dwell_s: float, bay_pose: Pose2D, vehicle: VehicleParams
    ) -> MissionStop:
        """From where the van's footprint centre stands at the stop (a bay's bay_pose, or the lane
        pose of a lane position: route.stop_pose) to the base_link pose, half a body length minus
        the rear overhang behind it."""
        x, y, yaw = bay_pose
        back = vehicle.length_m / 2.0 - vehicle.rear_overhang_m
        return cls(name, dwell_s, (x - back * math.cos(yaw), y - back * math.sin(yaw), yaw))


@dataclasses.dataclass(frozen=True)
class MissionProgress:
    """The ordered stops and how many are served. Feed each decision's `progress` to the next
    step."""

    stops: tuple[MissionStop, ...]
    served: int = 0

    @property
    def complete(self) -> bool:
        """Every stop served. An empty mission is never complete: the van drives its route to the
        end."""
        return bool(self.stops) and self.served >= len(self.stops)

    @property
    def next_stop(self) -> MissionStop | None:
        return self.stops[self.served] if self.served < len(self.stops) else None

    def advanced(self) -> MissionProgress:
        return dataclasses.replace(self, served=self.served + 1)
