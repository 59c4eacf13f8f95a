"""Arbitration between the rule sets' limits: the nearest binds and names the state (with
hysteresis), the tightest per stage is the stop point, and a standing van's stop point does not
creep forward on perception jitter."""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np

from robovan_autonomy.planning import mpc
from robovan_autonomy.planning.behaviour.common import RELEASE_HOLD_S, Latch, Limit
from robovan_autonomy.planning.behaviour.decision import State
from robovan_autonomy.planning.behaviour.stop_lines import STOP_LINE_REACHED_M
from robovan_autonomy.planning.prediction import Horizon

# At standstill the stop point moves forward only by more than this, m: a lead or obstacle whose
# box jitters by decimetres must not make the van creep, and a creeping queue is followed in
# steps no shorter than this.
RESUME_DEADBAND_M = 1.0
# A limit names the state once it is within braking distance (at the MPC's stop-profile decel)
# plus this margin, m; it stops naming it beyond APPROACH_LEAVE_MARGIN_M.
APPROACH_MARGIN_M = 20.0
APPROACH_LEAVE_MARGIN_M = 25.0
# Another limit takes over the state only when it is nearer by more than this, m.
BINDING_SWITCH_MARGIN_M = 0.5
# What a van standing at a line waits in, by the kind of limit the line is.
WAIT_STATES = {"stop_line": State.STOP_LINE_WAIT, "traffic_light": State.TRAFFIC_LIGHT_WAIT}


class Arbitration:
    """Owns the limit that bound last, the stop point held last, and the latch that says whether
    the binding limit is near enough to name the state."""

    def __init__(self, horizon: Horizon):
        self.horizon = horizon
        self._latch = Latch(RELEASE_HOLD_S)
        self._binding: Hashable = None
        self._held_front_m: float | None = None

    def forget_path(self) -> None:
        self._binding = self._held_front_m = None

    def sweep(self, t_s: float) -> None:
        self._latch.sweep(t_s)

    def hold(self, hold_front_m: float) -> None:
        """The van holds with its stop point here (a dwell, the mission done)."""
        self._held_front_m = hold_front_m

    def arbitrate(
        self,
        t_s: float,
        limits: list[Limit],
        s_front: float,
        speed_mps: float,
        standing: bool,
        passing: str | None,
    ) -> tuple[Limit, float, np.ndarray, State, str]:
        """The binding limit, the stop point and its value per stage, the state and why
        (passing: what a pass under way passes, if any)."""
        binding = self._choose(limits)
        s_stop, per_stage = self._combine(limits, s_front, standing)
        state, reason = self._name_state(t_s, binding, s_front, speed_mps, standing, passing)
        return binding, s_stop, per_stage, state, reason

    def _choose(self, limits: list[Limit]) -> Limit:
        """The nearest limit, unless the one that bound before is within the switch margin."""
        nearest = min(limits, key=lambda lim: lim.s_front_m)
        previous = next((lim for lim in limits if lim.key == self._binding), None)
        if (
            previous is not None
            and previous.s_front_m <= nearest.s_front_m + BINDING_SWITCH_MARGIN_M
        ):
            nearest = previous
        self._binding = nearest.key
        return nearest

    def _combine(
        self, limits: list[Limit], s_front: float, standing: bool
    ) -> tuple[float, np.ndarray]:
        """The tightest limit per stage; never behind the bumper; held at standstill (no creep)."""
        n1 = self.horizon.n_stages + 1
        per_stage = np.minimum.reduce(
            [
                np.full(n1, lim.s_front_m)
                if lim.per_stage_m is None
                else np.minimum(lim.per_stage_m, lim.s_front_m)
                for lim in limits
            ]
        )
        s_stop = float(per_stage[-1])
        held = self._held_front_m
        if (
            standing
            and held is not None
            and held - s_front < RESUME_DEADBAND_M
            and held < s_stop < held + RESUME_DEADBAND_M
        ):
            s_stop = held
        per_stage = np.maximum(np.minimum(per_stage, s_stop), s_front)
        s_stop = max(s_stop, s_front)
        self._held_front_m = s_stop
        return s_stop, per_stage

    def _name_state(
        self,
        t_s: float,
        binding: Limit,
        s_front: float,
        speed_mps: float,
        standing: bool,
        passing: str | None,
    ) -> tuple[State, str]:
        # A lead is near by where it is now, not by where it will be at the end of the horizon.
        now = binding.s_front_m if binding.per_stage_m is None else binding.per_stage_m[0]
        distance = min(now, binding.s_front_m) - s_front
        braking = speed_mps**2 / (2.0 * mpc.STOP_PROFILE_DECEL_MPS2)
        near = self._latch.update(
            t_s,
            ("near", binding.key),
            distance < braking + APPROACH_MARGIN_M,
            distance < braking + APPROACH_LEAVE_MARGIN_M,
        )
        if near:
            if binding.key[0] in WAIT_STATES and standing and distance <= STOP_LINE_REACHED_M:
                return WAIT_STATES[binding.key[0]], binding.reason
            return binding.state, binding.reason
        if passing is not None:
            return State.PASS_OBSTACLE, passing
        return State.CRUISE, "lane clear"
