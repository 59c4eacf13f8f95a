"""The mission's clock: a dwell at a bay under way, and the hold for good after the last stop.
The step asks it first; while it holds the van, no other rule set is asked."""

from __future__ import annotations

import dataclasses

from robovan_autonomy.planning.behaviour.decision import (
    BehaviourEvent,
    EventKind,
    LateralOffsetProfile,
    State,
)
from robovan_autonomy.planning.behaviour.mission import MissionProgress, MissionStop


@dataclasses.dataclass(frozen=True)
class Hold:
    """Stand where the van is: the state, why, the front bumper's stop point and the offset."""

    state: State
    reason: str
    front_m: float
    offset: LateralOffsetProfile


class Dwell:
    """Owns the dwell under way (name, until, hold point, offset) and the final hold."""

    def __init__(self) -> None:
        self._dwell: tuple[str, float, float, LateralOffsetProfile] | None = None
        self._final_hold: tuple[float, LateralOffsetProfile] | None = None

    def hold(
        self, t_s: float, s_front: float, progress: MissionProgress, events: list[BehaviourEvent]
    ) -> tuple[MissionProgress, Hold | None]:
        """Dwelling, or the mission done: the hold (None: drive on), and the progress, advanced
        when a dwell has just finished."""
        if self._dwell is not None:
            name, until, hold, offset = self._dwell
            if t_s < until:
                return progress, Hold(State.DWELL_AT_BAY, f"dwelling at {name}", hold, offset)
            self._dwell = None
            progress = progress.advanced()
            events.append(BehaviourEvent(EventKind.DWELL_FINISHED, t_s, name))
            if progress.complete:
                events.append(BehaviourEvent(EventKind.MISSION_COMPLETE, t_s))
                self._final_hold = (hold, offset)
        if progress.complete:
            if self._final_hold is None:  # handed a finished mission: hold where the van is
                self._final_hold = (s_front, LateralOffsetProfile())
            hold, offset = self._final_hold
            return progress, Hold(State.MISSION_COMPLETE, "mission complete", hold, offset)
        self._final_hold = None  # a new mission
        return progress, None

    def start(
        self, t_s: float, stop: MissionStop, s_front: float, offset: LateralOffsetProfile
    ) -> Hold:
        """Arrived at the stop's bay: dwell there, the front bumper held where it stands."""
        self._dwell = (stop.name, t_s + stop.dwell_s, s_front, offset)
        return Hold(State.DWELL_AT_BAY, f"arrived at {stop.name}", s_front, offset)
