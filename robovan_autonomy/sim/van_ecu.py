"""The van side of RVN-DBW v1 (docs/RVN_DBW.md, what the van ECU does) as a pure core.

The simulator must hold the autonomy stack to the same rules the real van does (engagement,
overrides, timeouts, end-to-end checks, the ECU's own limits), so the ECU is written from the
protocol document, independently of the autonomy-side bridge, and only shares the codec with it.
It is clocked from outside: `receive` and `step` take the time, so lockstep simulation and a
realtime process use the same code.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from robovan_autonomy.sim.van_plant import VanPlant
from robovan_autonomy.vehicle.rvn_dbw import (
    COMMAND_IDS,
    COMMAND_TIMEOUT_S,
    E2E_FAULT_STREAK,
    OVERRIDE_TORQUE_NM,
    REARM_CLEAR_S,
    REPORT_IDS,
    SAFE_STOP_ACCEL_MPS2,
    AccelCommand,
    BodyCommand,
    CounterGenerator,
    DbwState,
    DbwStatus,
    E2EChecker,
    FaultCode,
    Frame,
    FrameError,
    Gear,
    MotionReport,
    MsgId,
    SteerCommand,
    SteerReport,
    TurnSignal,
    WheelSpeedReport,
    decode,
    encode,
    period_s,
)

PLANT_STEP_S = 0.005  # divides the 10/20 ms report periods and both actuator dead times
STANDSTILL_MPS = 0.01  # slower than this the van counts as stopped (gear changes, re-arming)
DRIVER_BRAKE_MPS2 = -2.0  # the simulated driver's firm-but-comfortable pedal braking
DRIVER_THROTTLE_MPS2 = 1.0  # the simulated driver's gentle throttle
_TIME_EPS_S = 1e-9  # float slack when comparing accumulated times

TransitionCallback = Callable[[float, DbwState, DbwState, FaultCode], None]


@dataclasses.dataclass(frozen=True, slots=True)
class DriverInputs:
    """What a person in the cab (or the scenario standing in for one) is doing."""

    steering_torque_nm: float = 0.0
    brake_pedal: bool = False
    throttle_pedal: bool = False
    estop: bool = False

    @property
    def steer_override(self) -> bool:
        return abs(self.steering_torque_nm) > OVERRIDE_TORQUE_NM

    @property
    def any_override(self) -> bool:
        return self.steer_override or self.brake_pedal or self.throttle_pedal


class VanEcu:
    """DBW state machine MANUAL / READY / ENGAGED / FAULT_SAFE_STOP driving a VanPlant.

    Where the protocol is silent: re-arming from FAULT_SAFE_STOP also waits for standstill (a
    person cannot cut the van's own safe stop short); a silent command id counts as ENABLE clear;
    READY does not engage while the driver overrides or an e-stop is pressed, and nothing arms
    while an e-stop is pressed; gears change only while ENGAGED and at standstill. Outside
    ENGAGED and FAULT_SAFE_STOP a simulated driver has the van: the wheel holds, the pedals give
    DRIVER_BRAKE_MPS2 / DRIVER_THROTTLE_MPS2, otherwise it coasts.
    """

    def __init__(
        self,
        plant: VanPlant | None = None,
        *,
        on_transition: TransitionCallback | None = None,
        step_s: float = PLANT_STEP_S,
    ):
        self.plant = plant or VanPlant()
        self._limits = self.plant.params
        self._step_s = step_s
        self._on_transition = on_transition
        self._t_s = self.plant.time_s
        self.state, self.fault = DbwState.MANUAL, FaultCode.NONE
        self.driver = DriverInputs()
        self.body = BodyCommand(
            TurnSignal.OFF, hazard=False, horn=False, cargo_door_unlock=False, counter=0
        )
        self.e2e = E2EChecker(COMMAND_IDS)
        self._latest: dict[int, tuple[float, object]] = {}  # id -> (receive time, valid command)
        self._ready_since_s = self._t_s
        self._enables_clear_since_s: float | None = None
        self._steer_setpoint_rad = self.plant.steer_rad
        self._counters = CounterGenerator()
        self._periods_s = {msg_id: period_s(msg_id) for msg_id in REPORT_IDS}
        self._report_index = dict.fromkeys(REPORT_IDS, 0)  # due times as start + n·period: no drift
        self._next_report_s = dict.fromkeys(REPORT_IDS, self._t_s)
        self._start_s = self._t_s
        self._reports = {
            MsgId.MOTION_REPORT: self._motion_report,
            MsgId.STEER_REPORT: self._steer_report,
            MsgId.DBW_STATUS: self._status_report,
            MsgId.WHEEL_SPEED_REPORT: self._wheel_speed_report,
        }

    @property
    def time_s(self) -> float:
        return self._t_s

    @property
    def hazard_on(self) -> bool:
        return self.state is DbwState.FAULT_SAFE_STOP or self.body.hazard

    # --- inputs -------------------------------------------------------------------------------

    def arm(self) -> bool:
        """A person arms autonomy on the dashboard. True when the van is now armed."""
        if self.driver.estop:
            return False
        if self.state is DbwState.MANUAL:
            self._enter(DbwState.READY, self._t_s)
        elif self.state is DbwState.FAULT_SAFE_STOP and self._may_rearm():
            self.body = dataclasses.replace(self.body, hazard=False)
            self._enter(DbwState.READY, self._t_s)
        return self.state in (DbwState.READY, DbwState.ENGAGED)

    def set_driver(
        self,
        *,
        steering_torque_nm: float | None = None,
        brake_pedal: bool | None = None,
        throttle_pedal: bool | None = None,
        estop: bool | None = None,
    ) -> None:
        """Change what the driver does (None leaves an input as it is); overrides act at once."""
        changes = {
            name: value
            for name, value in (
                ("steering_torque_nm", steering_torque_nm),
                ("brake_pedal", brake_pedal),
                ("throttle_pedal", throttle_pedal),
                ("estop", estop),
            )
            if value is not None
        }
        self.driver = dataclasses.replace(self.driver, **changes)
        self._watch_driver(self._t_s)

    def inject_actuator_fault(self) -> None:
        """Scenario hook: an actuator reports a failure (FAULT_CODE 3)."""
        if self.state is DbwState.ENGAGED:
            self._enter(DbwState.FAULT_SAFE_STOP, self._t_s, FaultCode.ACTUATOR)

    def receive(self, frame: Frame, t_s: float) -> None:
        """A bus frame at time t_s; frames other than commands are none of the ECU's business."""
        if frame.can_id not in COMMAND_IDS:
            return
        if not self.e2e.check(frame).ok:
            if self.e2e.streak[frame.can_id] >= E2E_FAULT_STREAK and self.state is DbwState.ENGAGED:
                self._enter(DbwState.FAULT_SAFE_STOP, t_s, FaultCode.CHECKSUM_COUNTER)
            return
        try:
            command = decode(frame)
        except FrameError:
            return
        self._latest[frame.can_id] = (t_s, command)
        if self.state is DbwState.ENGAGED:
            if isinstance(command, BodyCommand):
                self.body = command
            elif not command.enable:
                self._enter(DbwState.MANUAL, t_s)
        elif self.state is DbwState.READY and self._both_enabled(t_s, self._ready_since_s):
            if not (self.driver.any_override or self.driver.estop):
                self._enter(DbwState.ENGAGED, t_s)

    # --- time ---------------------------------------------------------------------------------

    def step(self, t_s: float) -> list[Frame]:
        """Run the van up to t_s; returns the report frames that fell due, in time order."""
        frames: list[Frame] = []
        while True:
            self._supervise(self._t_s)
            self._emit_due_reports(frames)
            if self._t_s >= t_s - _TIME_EPS_S:
                return frames
            next_t_s = min(self._t_s + self._step_s, t_s, min(self._next_report_s.values()))
            self._actuate(next_t_s - self._t_s)
            self._t_s = next_t_s

    def _supervise(self, t_s: float) -> None:
        self._watch_driver(t_s)
        if self.state is DbwState.ENGAGED:
            for msg_id in (MsgId.STEER_CMD, MsgId.ACCEL_CMD):
                if t_s - self._latest[msg_id][0] > COMMAND_TIMEOUT_S + _TIME_EPS_S:
                    self._enter(DbwState.FAULT_SAFE_STOP, t_s, FaultCode.COMMAND_TIMEOUT)
                    break
        elif self.state is DbwState.FAULT_SAFE_STOP:
            if self._enabled(MsgId.STEER_CMD, t_s) or self._enabled(MsgId.ACCEL_CMD, t_s):
                self._enables_clear_since_s = None
            elif self._enables_clear_since_s is None:
                self._enables_clear_since_s = t_s

    def _watch_driver(self, t_s: float) -> None:
        if self.state is not DbwState.ENGAGED:
            return
        if self.driver.estop:
            self._enter(DbwState.FAULT_SAFE_STOP, t_s, FaultCode.ESTOP)
        elif self.driver.any_override:
            self._enter(DbwState.MANUAL, t_s)

    def _actuate(self, dt_s: float) -> None:
        """Setpoints for the plant under the ECU's own hard limits, then one plant step."""
        limits, plant = self._limits, self.plant
        if self.state is DbwState.ENGAGED:
            steer: SteerCommand = self._latest[MsgId.STEER_CMD][1]
            accel: AccelCommand = self._latest[MsgId.ACCEL_CMD][1]
            target_rad = min(max(steer.angle_rad, -limits.max_steer_rad), limits.max_steer_rad)
            rate_radps = limits.max_steer_rate_radps
            if steer.rate_limit_radps > 0.0:
                rate_radps = min(rate_radps, steer.rate_limit_radps)
            move_rad = min(
                max(target_rad - self._steer_setpoint_rad, -rate_radps * dt_s), rate_radps * dt_s
            )
            self._steer_setpoint_rad += move_rad
            accel_mps2 = min(max(accel.accel_mps2, limits.min_accel_mps2), limits.max_accel_mps2)
            if accel.gear is not Gear.NONE and accel.gear is not plant.gear and self.standstill:
                plant.set_gear(accel.gear)
        elif self.state is DbwState.FAULT_SAFE_STOP:
            accel_mps2 = SAFE_STOP_ACCEL_MPS2
        elif self.driver.brake_pedal:
            accel_mps2 = DRIVER_BRAKE_MPS2
        elif self.driver.throttle_pedal:
            accel_mps2 = DRIVER_THROTTLE_MPS2
        else:
            accel_mps2 = 0.0
        plant.command(self._steer_setpoint_rad, accel_mps2)
        plant.step(dt_s)

    @property
    def standstill(self) -> bool:
        return abs(self.plant.speed_mps) < STANDSTILL_MPS

    # --- state machine helpers -------------------------------------------------------------------

    def _enter(self, state: DbwState, t_s: float, fault: FaultCode = FaultCode.NONE) -> None:
        old = self.state
        self.state, self.fault = state, fault
        if state is DbwState.READY:
            self._ready_since_s = t_s
        elif state is DbwState.FAULT_SAFE_STOP:
            self._enables_clear_since_s = None
        if self._on_transition is not None:
            self._on_transition(t_s, old, state, fault)

    def _enabled(self, msg_id: int, t_s: float, since_s: float = -float("inf")) -> bool:
        """Whether the latest valid frame of a command id, fresh and received after since_s,
        sets ENABLE."""
        latest = self._latest.get(msg_id)
        return (
            latest is not None
            and latest[1].enable
            and latest[0] >= since_s
            and t_s - latest[0] <= COMMAND_TIMEOUT_S
        )

    def _both_enabled(self, t_s: float, since_s: float) -> bool:
        return self._enabled(MsgId.STEER_CMD, t_s, since_s) and self._enabled(
            MsgId.ACCEL_CMD, t_s, since_s
        )

    def _may_rearm(self) -> bool:
        clear_since = self._enables_clear_since_s
        return (
            clear_since is not None
            and self._t_s - clear_since >= REARM_CLEAR_S - _TIME_EPS_S
            and self.standstill
        )

    # --- reports --------------------------------------------------------------------------------

    def _emit_due_reports(self, frames: list[Frame]) -> None:
        for msg_id, due_s in self._next_report_s.items():
            if due_s <= self._t_s + _TIME_EPS_S:
                frames.append(encode(self._reports[msg_id](self._counters.next(msg_id))))
                self._report_index[msg_id] += 1
                self._next_report_s[msg_id] = (
                    self._start_s + self._report_index[msg_id] * self._periods_s[msg_id]
                )

    def _motion_report(self, counter: int) -> MotionReport:
        p = self.plant
        return MotionReport(p.speed_mps, p.yaw_rate_radps, p.accel_mps2, counter)

    def _steer_report(self, counter: int) -> SteerReport:
        p = self.plant
        return SteerReport(p.steer_rad, p.steer_rate_radps, self.driver.steering_torque_nm, counter)

    def _status_report(self, counter: int) -> DbwStatus:
        d = self.driver
        return DbwStatus(
            self.state,
            d.steer_override,
            d.brake_pedal,
            d.throttle_pedal,
            d.estop,
            self.plant.gear,
            self.fault,
            counter,
        )

    def _wheel_speed_report(self, counter: int) -> WheelSpeedReport:
        return WheelSpeedReport(*self.plant.wheel_speeds_mps(), counter)
