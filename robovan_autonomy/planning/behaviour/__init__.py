"""The delivery behaviour: what the van should do now, said as limits the MPC can take.

`BehaviourPlanner.step` (planner.py) returns a BehaviourDecision: a state for people, and for the
MPC a stop point for the front bumper, speed limits with their reasons, a lateral offset profile
and the predicted objects. Each rule set is a small state machine in its own module, the only
owner of its state. How a step decides, the arc lengths, the hysteresis and who owns what:
docs/ARCHITECTURE.md#behaviour.
"""

from robovan_autonomy.planning.behaviour.decision import (
    BehaviourDecision,
    BehaviourEvent,
    EventKind,
    LateralOffsetProfile,
    OffsetPlateau,
    State,
    mpc_limits,
    mpc_obstacles,
    mpc_reference_path,
)
from robovan_autonomy.planning.behaviour.mission import MissionProgress, MissionStop
from robovan_autonomy.planning.behaviour.planner import BehaviourPlanner

__all__ = [
    "BehaviourDecision",
    "BehaviourEvent",
    "BehaviourPlanner",
    "EventKind",
    "LateralOffsetProfile",
    "MissionProgress",
    "MissionStop",
    "OffsetPlateau",
    "State",
    "mpc_limits",
    "mpc_obstacles",
    "mpc_reference_path",
]
