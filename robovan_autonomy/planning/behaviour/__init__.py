"""The delivery behaviour: what the van should do now, said as limits the MPC can take.

`BehaviourPlanner.step` runs at 10 Hz with the van's pose and arc length on the route's
ReferencePath, the object table and the mission progress. It returns a BehaviourDecision: a state
name for people and logs, and for the MPC a stop point, speed limits along the path (each with its
reason: speed_limits.py), a lateral offset profile d(s) (for passing and for pulling into and out
of a bay), the corridor that profile may use, the predicted objects, and events for the mission
layer (arrived, dwell finished, mission complete, reroute request).

Arc lengths. `s_van_m` is the arc length of base_link (the rear-axle centre), as the MPC tracks it.
The front bumper is front_bumper_m = wheelbase + front overhang ahead of it. Every stop limit in
here is the arc length the FRONT BUMPER must not pass, which is what MpcPlanner.solve(s_stop_m=…)
takes; BehaviourDecision also gives it for the rear axle.

How one step decides, top to bottom:
1. Mission: at a bay the van dwells and holds; after the last stop it holds for good.
2. Objects are predicted (CV / CTRV) and put in the path frame; each is judged, with hysteresis,
   in the van's path or not, a lead moving along it or not, a static blockage (still > 3 s) or not.
3. Passing: a static blockage in the own lane is passed inside the corridor; the oncoming lane is
   used only when no one will be in it over the pass. Otherwise the van waits, and after a long
   wait asks for a reroute.
4. Limits: every reason to stop (bay, stop line, crosswalk, obstacle, lead, a pedestrian or
   cyclist heading into the path, end of the route) gives a front-bumper arc length; the nearest
   one binds and names the state. Speed limits: bay ramps and passes are driven slowly, people
   close beside the path ahead and a view blocked by something standing in the roadway cap the
   speed where the van passes them, a lead caps it to keep the time gap.
5. Standstill: a stopped van's stop point does not creep forward on perception jitter.

Hysteresis, everywhere: a reason to stop or slow acts at once; it is dropped only after its release
condition has held for RELEASE_HOLD_S, and thresholds have separate enter and leave values. Going
(at a stop line, or into a pass) likewise needs its condition to hold for a confirmation time.

Who owns what. Each rule set is a small state machine in its own module, and the only owner of
its state; BehaviourPlanner (planner.py) asks them in the order above:
  dwell.py        Dwell: the dwell under way and the hold after the last stop
  bays.py         Bays: the ramp into the next bay, arriving there, the ramp back onto the lane
  stop_lines.py   StopLines: the full stop and the clear intersection at the next stop line
  crosswalks.py   Crosswalks: yielding at crosswalks
  blockages.py    Blockages: how long each object has stood; the speed for the view past them
  passing.py      Passing: the pass under way and its confirmation; Reroute: the long wait
  objects.py      ObjectLimits: in the path, leads, obstacles, people heading in or at the kerb
  mirrors.py      Mirrors: letting someone coming up behind by before moving into their line
  arbitration.py  Arbitration: the binding limit, the state, the stop point held at standstill
and what they share: mission.py (the mission), decision.py (states, events, the offset profile,
the decision and its hand-over to the MPC), common.py (latches, timers, limits, path objects).
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
