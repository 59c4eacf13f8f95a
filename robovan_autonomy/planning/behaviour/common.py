"""What the rule sets share: standstill and hysteresis (Latch, Timer), the van's body, one reason
to stop (Limit), and the objects in the path frame with the thresholds that put them in the path
or make them a lead. Each rule set keeps its own latches and timers of these types."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Hashable

import numpy as np

from robovan_autonomy.planning.behaviour.decision import LateralOffsetProfile, State
from robovan_autonomy.planning.prediction import PathCoordinates, Prediction, project_to_path
from robovan_autonomy.planning.route import ReferencePath
from robovan_autonomy.vehicle_params import VehicleParams

# --- hysteresis ----------------------------------------------------------------------------------
# A reason to stop must be gone this long before it is dropped, s: ten object tables, so one
# missed detection or a jittering box never releases the van, and no state chatters.
RELEASE_HOLD_S = 1.0

# --- objects in the path, leads -----------------------------------------------------------------
# An object whose box comes laterally closer than this to the van's swept band is in its path, m;
# it leaves the path only beyond IN_PATH_LEAVE_M. Both exceed the MPC's 0.3 m clearance, so the
# behaviour never waits for something the MPC would squeeze past, nor the other way round.
IN_PATH_ENTER_M = 0.5
IN_PATH_LEAVE_M = 0.8
# Along-path speed that makes an in-path object a lead (FOLLOW), and below which it stops being
# one, m/s; between the two it keeps its role.
LEAD_ENTER_SPEED_MPS = 1.0
LEAD_LEAVE_SPEED_MPS = 0.5
# Objects are put in the path frame over this window around base_link, m: behind, the mirrors'
# reach (MIRROR_LOOKBACK_M behind the rear bumper).
OBJECT_WINDOW_BEHIND_M = 55.0
OBJECT_WINDOW_AHEAD_M = 150.0


# --- hysteresis -----------------------------------------------------------------------------------
class Latch:
    """Conditions that switch on at once and off only after their release held for hold_s."""

    def __init__(self, hold_s: float):
        self.hold_s = hold_s
        self._on: dict[Hashable, float | None] = {}  # key → when its release began (None: held)
        self._seen: set[Hashable] = set()

    def update(self, t_s: float, key: Hashable, enter: bool, stay: bool) -> bool:
        self._seen.add(key)
        if enter or (key in self._on and stay):
            self._on[key] = None
            return True
        if key not in self._on:
            return False
        released_at = t_s if self._on[key] is None else self._on[key]
        if t_s - released_at >= self.hold_s:
            del self._on[key]
            return False
        self._on[key] = released_at
        return True

    def on(self, key: Hashable) -> bool:
        return key in self._on

    def releasing(self, key: Hashable) -> bool:
        """On only because its release has not held long enough yet."""
        return self._on.get(key) is not None

    def sweep(self, t_s: float) -> None:
        """Release keys nobody asked about this step (an object that vanished)."""
        for key in [k for k in self._on if k not in self._seen]:
            self.update(t_s, key, False, False)
        self._seen.clear()


class Timer:
    """How long a condition has held without a break."""

    def __init__(self) -> None:
        self.since: float | None = None

    def update(self, t_s: float, condition: bool) -> float:
        if not condition:
            self.since = None
            return 0.0
        self.since = t_s if self.since is None else self.since
        return t_s - self.since


# --- the van and its limits ----------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Body:
    """The van's extent around base_link that every rule set measures with, m."""

    front_bumper_m: float
    rear_overhang_m: float
    half_width_m: float

    @classmethod
    def of(cls, vehicle: VehicleParams) -> Body:
        return cls(
            vehicle.wheelbase_m + vehicle.front_overhang_m,
            vehicle.rear_overhang_m,
            vehicle.width_m / 2.0,
        )


@dataclasses.dataclass(frozen=True)
class Limit:
    """One reason to stop: the front-bumper arc length it allows, per stage when it moves."""

    key: Hashable
    state: State
    reason: str
    s_front_m: float
    per_stage_m: np.ndarray | None = None
    speed_cap_mps: float = math.inf
    gentle: bool = False  # a yield that never calls for more than comfort braking


# --- objects in the path frame ------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class PathObjects:
    """Predicted boxes in the path frame, per object and stage (M, N + 1), and each object's
    speed along the path now (M,)."""

    prediction: Prediction
    s_m: np.ndarray
    d_m: np.ndarray
    s_rear_m: np.ndarray
    s_front_m: np.ndarray
    d_min_m: np.ndarray
    d_max_m: np.ndarray
    speed_along_mps: np.ndarray

    @classmethod
    def build(cls, prediction: Prediction, path: ReferencePath, s_van_m: float) -> PathObjects:
        # Objects standing still (the parked cars of a street) are projected once, not per stage:
        # they are most of the table, and the projection is most of a behaviour step's time.
        window = (s_van_m - OBJECT_WINDOW_BEHIND_M, s_van_m + OBJECT_WINDOW_AHEAD_M)
        x, y = prediction.x_m, prediction.y_m
        still = np.all(x == x[:, :1], axis=1) & np.all(y == y[:, :1], axis=1)
        fields = [np.empty_like(x) for _ in range(3)]
        for rows, columns in ((still, slice(0, 1)), (~still, slice(None))):
            if np.any(rows):
                part = project_to_path(
                    path.x_m, path.y_m, path.s_m, x[rows, columns], y[rows, columns], *window
                )
                for out, value in zip(fields, (part.s_m, part.d_m, part.heading_rad)):
                    out[rows] = value
        coords = PathCoordinates(*fields)
        relative = prediction.yaw_rad - coords.heading_rad
        half_length = prediction.length_m[:, None] / 2.0
        half_width = prediction.width_m[:, None] / 2.0
        along = np.abs(np.cos(relative)) * half_length + np.abs(np.sin(relative)) * half_width
        across = np.abs(np.sin(relative)) * half_length + np.abs(np.cos(relative)) * half_width
        heading = coords.heading_rad[:, 0] if len(prediction) else np.zeros(0)
        return cls(
            prediction,
            coords.s_m,
            coords.d_m,
            coords.s_m - along,
            coords.s_m + along,
            coords.d_m - across,
            coords.d_m + across,
            prediction.vx_mps * np.cos(heading) + prediction.vy_mps * np.sin(heading),
        )

    def lateral_gap_m(self, offset: LateralOffsetProfile, half_width_m: float) -> np.ndarray:
        """Free lateral space between each box and the van's band d(s) ± half width, m (negative:
        overlap); the band is taken at the box's rear, centre and front, the worst counts."""
        gaps = []
        for s in (self.s_rear_m, self.s_m, self.s_front_m):
            d = offset.offset_m(s)
            gaps.append(
                np.maximum(self.d_min_m - (d + half_width_m), (d - half_width_m) - self.d_max_m)
            )
        return np.minimum.reduce(gaps)
