"""Mirrors: before the van's band moves sideways into the line of someone coming up behind or
alongside, the van lets them by."""

from __future__ import annotations

import numpy as np

from robovan_autonomy.planning import mpc
from robovan_autonomy.planning.behaviour.common import (
    IN_PATH_ENTER_M,
    RELEASE_HOLD_S,
    Body,
    Latch,
    Limit,
    PathObjects,
)
from robovan_autonomy.planning.behaviour.decision import LateralOffsetProfile, State
from robovan_autonomy.planning.speed_limits import SpeedProfile

# Mirrors: before its band moves sideways into the line of someone coming up behind or alongside
# (a cyclist overtaking on the right as the van turns into a bay, a car in the lane the van pulls
# out into), the van lets them by: it stops short of where its band would first meet their line.
# Looked at this far behind its rear bumper, m, for road users this fast along the path, m/s, who
# would reach that point no later than MIRROR_CLEAR_S after the van (at its speed now or its speed
# limit there, whichever is lower, at least MIRROR_MIN_SPEED_MPS): the time to finish the move (a
# bay's ramp at its 3 m/s). Their line is their box now, widened by IN_PATH_ENTER_M each side.
MIRROR_LOOKBACK_M = 50.0
MIRROR_MIN_SPEED_MPS = 1.0
MIRROR_CLEAR_S = 5.0
MIRROR_STEP_M = 0.5  # the band is looked at this finely ahead of the front bumper, m
MIRROR_LOOKAHEAD_M = 40.0


class Mirrors:
    """Owns the let-by latch per track and the stop point it last let each one by at."""

    def __init__(self, body: Body):
        self.body = body
        self._latch = Latch(RELEASE_HOLD_S)
        self._mirror_s: dict[int, float] = {}  # track → last point let by at (while latched)

    def sweep(self, t_s: float) -> None:
        self._latch.sweep(t_s)
        self._mirror_s = {k: s for k, s in self._mirror_s.items() if self._latch.on(("mirror", k))}

    def limits(
        self,
        t_s: float,
        objs: PathObjects,
        offset: LateralOffsetProfile,
        s_front: float,
        speed_mps: float,
        speed: SpeedProfile,
    ) -> list[Limit]:
        """Let road users coming up behind or alongside go by before the van's band moves into
        their line (MIRROR_*). Not those already in its band (they follow the van) nor those
        whose line it already blocks (stopping would not clear it)."""
        if len(objs.prediction) == 0:
            return []
        s_rear = s_front - self.body.front_bumper_m - self.body.rear_overhang_m
        along = objs.speed_along_mps
        candidates = np.nonzero(
            (objs.s_front_m[:, 0] <= s_front)
            & (objs.s_front_m[:, 0] >= s_rear - MIRROR_LOOKBACK_M)
            & (along >= MIRROR_MIN_SPEED_MPS)
        )[0]
        if len(candidates) == 0:
            return []
        s_body = np.arange(s_rear, s_front, MIRROR_STEP_M)
        s_ahead = s_front + np.arange(0.0, MIRROR_LOOKAHEAD_M, MIRROR_STEP_M)
        d_body, d_ahead = offset.offset_m(s_body), offset.offset_m(s_ahead)
        limits = []
        for i in candidates.tolist():
            line = (objs.d_min_m[i, 0] - IN_PATH_ENTER_M, objs.d_max_m[i, 0] + IN_PATH_ENTER_M)
            meets_body = self._band_meets(d_body, line)
            meets_ahead = self._band_meets(d_ahead, line)
            first = int(np.argmax(meets_ahead))
            arrives_s = (s_ahead[first] - float(objs.s_front_m[i, 0])) / float(along[i])
            # The van gets there at its speed now, or slower where the profile slows it (a bay's
            # ramp), which it is about to do.
            cap = float(
                speed.cap_mps(
                    np.array([s_ahead[first] - self.body.front_bumper_m]),
                    mpc.STOP_PROFILE_DECEL_MPS2,
                )[0]
            )
            van_speed = max(min(speed_mps, cap), MIRROR_MIN_SPEED_MPS)
            van_arrives_s = (s_ahead[first] - s_front) / van_speed
            track = int(objs.prediction.track_id[i])
            key = ("mirror", track)
            coming = (
                not meets_body.any()
                and bool(meets_ahead.any())
                and arrives_s <= van_arrives_s + MIRROR_CLEAR_S
            )
            if coming:
                self._mirror_s[track] = float(s_ahead[first])
            if self._latch.update(t_s, key, coming, coming):
                side = "left" if objs.d_m[i, 0] > 0.0 else "right"
                limits.append(
                    Limit(
                        key,
                        State.STOP_FOR_OBSTACLE,
                        f"letting {track} by on the {side}",
                        self._mirror_s[track],
                    )
                )
        return limits

    def _band_meets(self, d_m: np.ndarray, line: tuple[float, float]) -> np.ndarray:
        """Where the van's band d(s) ± half width overlaps the lateral interval line."""
        return (d_m + self.body.half_width_m > line[0]) & (d_m - self.body.half_width_m < line[1])
