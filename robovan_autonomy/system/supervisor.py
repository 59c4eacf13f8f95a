"""The supervisor's state machine: the operating mode from the van's DBW state and stack health.

MANUAL and READY follow the van; AUTONOMOUS while it is engaged and the stack healthy. A fault
while autonomous latches MRM_COMFORTABLE_STOP; an AEB, or a comfortable stop that cannot stop in
time, latches MRM_EMERGENCY_STOP; a person clears a latch with the van at rest. Every transition
and its rules: docs/ARCHITECTURE.md#supervisor-modes.
Pure: no rclpy.
"""

from __future__ import annotations

import dataclasses
import math

from robovan_autonomy.system.modes import OperatingMode
from robovan_autonomy.vehicle_params import STANDSTILL_SPEED_MPS

OK, WARN, ERROR = 0, 1, 2  # diagnostic_msgs levels
# How far short of the first obstacle a comfortable stop must end to be enough, m.
ESCALATION_MARGIN_M = 2.0
# How many fault messages the mode's reason lists.
MAX_REASONS = 3


@dataclasses.dataclass(frozen=True)
class Finding:
    """One health check's verdict."""

    source: str
    level: int
    message: str


@dataclasses.dataclass(frozen=True)
class Latch:
    mode: OperatingMode
    reason: str
    since_s: float


@dataclasses.dataclass(frozen=True)
class StopCheck:
    """Whether a comfortable stop fits: the distance it needs now and the free distance ahead."""

    comfortable_stop_m: float = 0.0
    free_distance_m: float = math.inf

    def fits(self, margin_m: float = ESCALATION_MARGIN_M) -> bool:
        return not self.comfortable_stop_m + margin_m > self.free_distance_m


def faults(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.level >= ERROR]


def summary(findings: list[Finding]) -> str:
    messages = [f.message for f in findings]
    extra = f" (+{len(messages) - MAX_REASONS} more)" if len(messages) > MAX_REASONS else ""
    return "; ".join(messages[:MAX_REASONS]) + extra


class Supervisor:
    def __init__(self):
        self.mode = OperatingMode.MANUAL
        self.reason = "van not armed"
        self.latch: Latch | None = None
        self._dbw_state = "UNKNOWN"

    def step(
        self,
        now_s: float,
        dbw_state: str,
        findings: list[Finding],
        stop_check: StopCheck = StopCheck(),
    ) -> OperatingMode:
        """The mode at now_s, given the van's DBW state name and the health findings."""
        self._dbw_state = dbw_state
        errors = faults(findings)
        if self.mode is OperatingMode.AUTONOMOUS and errors and self.latch is None:
            self._latch(OperatingMode.MRM_COMFORTABLE_STOP, summary(errors), now_s)
        if (
            self.latch is not None
            and self.latch.mode is OperatingMode.MRM_COMFORTABLE_STOP
            and not stop_check.fits()
        ):
            self._latch(
                OperatingMode.MRM_EMERGENCY_STOP,
                "comfortable stop cannot stop in time: "
                f"needs {stop_check.comfortable_stop_m:.1f} m, "
                f"{stop_check.free_distance_m:.1f} m free ({self.latch.reason})",
                now_s,
            )
        if self.latch is not None:
            if dbw_state == "MANUAL":
                self.mode, self.reason = (
                    OperatingMode.MANUAL,
                    f"driver has the van; latched: {self.latch.reason}",
                )
            else:
                self.mode, self.reason = self.latch.mode, self.latch.reason
        elif dbw_state == "ENGAGED":
            self.mode, self.reason = (
                (OperatingMode.READY, f"holding: {summary(errors)}")
                if errors
                else (OperatingMode.AUTONOMOUS, "all healthy")
            )
        elif dbw_state == "READY":
            self.mode, self.reason = (
                OperatingMode.READY,
                (f"van armed; holding: {summary(errors)}" if errors else "van armed"),
            )
        else:
            self.mode, self.reason = OperatingMode.MANUAL, f"van {dbw_state}"
        return self.mode

    def emergency(self, now_s: float, reason: str) -> bool:
        """The AEB asks for an emergency stop; True when it is now latched (only while autonomy
        has the van: engaged or already stopping)."""
        engaged = self._dbw_state == "ENGAGED" or self.latch is not None
        if not engaged or (
            self.latch is not None and self.latch.mode is OperatingMode.MRM_EMERGENCY_STOP
        ):
            return False
        self._latch(OperatingMode.MRM_EMERGENCY_STOP, reason, now_s)
        if self.mode is not OperatingMode.MANUAL:
            self.mode, self.reason = OperatingMode.MRM_EMERGENCY_STOP, reason
        return True

    def clear(self, speed_mps: float, findings: list[Finding]) -> tuple[bool, str]:
        """A person clears a latched stop: only at rest and with no fault left."""
        if self.latch is None:
            return False, "no minimal-risk stop is latched"
        if not (math.isfinite(speed_mps) and abs(speed_mps) < STANDSTILL_SPEED_MPS):
            return False, f"the van is not at rest (speed {speed_mps:.2f} m/s)"
        errors = faults(findings)
        if errors:
            return False, f"faults still present: {summary(errors)}"
        cleared = self.latch
        self.latch = None
        return True, f"cleared {cleared.mode.value} ({cleared.reason})"

    def _latch(self, mode: OperatingMode, reason: str, now_s: float) -> None:
        self.latch = Latch(mode, reason, now_s)
