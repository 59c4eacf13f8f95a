"""Where the van may go how fast, and why: the one speed channel from behaviour to the MPC.

Every reason behaviour has to hold the van below the route's limit over a stretch of the path is
a SpeedLimit: a bay ramp, a pass, a person at the kerb, a lead to follow, a stop-line wait, a
view blocked by something standing in the roadway. The MPC gets their minimum per path sample as
its speed bound (a constraint with a high price), each reached from before its start braking
gently; nothing else caps its speed. Pure: no rclpy.

Speed for the view (occlusion_limits): someone may step out from behind anything standing in the
roadway (a double-parked van, a bus stopped in the oncoming lane). Between such an occluder and
the van's band there is at most a metre or so, which a child running at 2.5 m/s crosses in the
time the stack takes to react: by then they are in the van's path at the occluder's end. So the
van keeps a speed from which, after its reaction time, it brakes to a crawl before each end of
such an occluder: "drive at a speed you can stop within the distance you can see".
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

# Someone stepping out from behind an occluder is seen this late by the stack and the van starts
# braking this much later again: perception's confirmation, a planning cycle, the actuator, s.
OCCLUSION_REACTION_S = 0.6
# Braking the van can count on for someone stepping out: firm, short of the AEB's, m/s².
OCCLUSION_DECEL_MPS2 = 4.0
# At an occluder's end the van creeps: at this speed it stops within a metre and a half, m/s.
OCCLUSION_FLOOR_MPS = 2.0


@dataclasses.dataclass(frozen=True)
class SpeedLimit:
    """At most speed_mps while base_link is in [s0_m, s1_m]. Before s0_m it is reached braking at
    decel_mps2 (None: the profile's); with a reaction time, the van must instead be able to stop
    by s0_m braking at decel_mps2 after driving on for reaction_s, but never slower than
    speed_mps (the crawl it may pass s0_m at)."""

    s0_m: float
    s1_m: float
    speed_mps: float
    reason: str
    decel_mps2: float | None = None
    reaction_s: float = 0.0

    def cap_mps(self, s_m: np.ndarray, decel_mps2: float) -> np.ndarray:
        s = np.asarray(s_m, dtype=float)
        cap = np.full(s.shape, np.inf)
        cap[(s >= self.s0_m) & (s <= self.s1_m)] = self.speed_mps
        before = s < self.s0_m
        a = self.decel_mps2 or decel_mps2
        room = self.s0_m - s[before]
        if self.reaction_s > 0.0:
            reach = a * self.reaction_s
            cap[before] = np.maximum(self.speed_mps, -reach + np.sqrt(reach**2 + 2.0 * a * room))
        else:
            cap[before] = np.sqrt(self.speed_mps**2 + 2.0 * a * room)
        return cap


@dataclasses.dataclass(frozen=True)
class SpeedProfile:
    limits: tuple[SpeedLimit, ...] = ()

    def cap_mps(self, s_m: np.ndarray, decel_mps2: float) -> np.ndarray:
        """The lowest limit per sample (inf where nothing caps)."""
        s = np.asarray(s_m, dtype=float)
        cap = np.full(s.shape, np.inf)
        for limit in self.limits:
            cap = np.minimum(cap, limit.cap_mps(s, decel_mps2))
        return cap

    def binding(self, s_m: float, decel_mps2: float) -> tuple[float, str]:
        """The cap at base_link arc length s_m and the reason for it (inf, '' when none)."""
        if not self.limits:
            return math.inf, ""
        caps = [float(limit.cap_mps(np.array([s_m]), decel_mps2)[0]) for limit in self.limits]
        i = int(np.argmin(caps))
        return (caps[i], self.limits[i].reason) if math.isfinite(caps[i]) else (math.inf, "")

    def __add__(self, other: SpeedProfile) -> SpeedProfile:
        return SpeedProfile(self.limits + other.limits)


def occlusion_limits(
    s_rear_m: np.ndarray,
    s_front_m: np.ndarray,
    track_ids: np.ndarray,
    s_front_van_m: float,
    front_bumper_m: float,
) -> SpeedProfile:
    """The limits for occluders standing in the roadway whose path-frame extent along the path
    is [s_rear, s_front] (arc lengths of their ends): at each end still ahead of the front bumper
    someone may step out, so the van reaches it at OCCLUSION_FLOOR_MPS at most."""
    limits = []
    for s_rear, s_front, track in zip(s_rear_m.tolist(), s_front_m.tolist(), track_ids.tolist()):
        for end, which in ((s_rear, "near"), (s_front, "far")):
            if end > s_front_van_m:
                s0 = end - front_bumper_m  # base_link where the front bumper reaches the end
                limits.append(
                    SpeedLimit(
                        s0,
                        s0,
                        OCCLUSION_FLOOR_MPS,
                        f"view blocked by {track} (its {which} end)",
                        OCCLUSION_DECEL_MPS2,
                        OCCLUSION_REACTION_S,
                    )
                )
    return SpeedProfile(tuple(limits))
