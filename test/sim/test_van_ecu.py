"""The simulated van ECU against RVN-DBW v1 section 2.3."""

import dataclasses

import pytest

from robovan_autonomy.sim.van_ecu import VanEcu
from robovan_autonomy.sim.van_plant import VanPlant
from robovan_autonomy.vehicle.rvn_dbw import (
    REPORT_IDS,
    AccelCommand,
    BodyCommand,
    CounterGenerator,
    DbwState,
    E2EChecker,
    FaultCode,
    Frame,
    Gear,
    MsgId,
    SteerCommand,
    TurnSignal,
    decode,
    encode,
)
from robovan_autonomy.vehicle_params import load_vehicle_params

P = load_vehicle_params()
TICK_S = 0.005
COMMAND_EVERY = 4  # ticks: the 20 ms command period


class Autonomy:
    """Drives the ECU the way the bridge would: commands every 20 ms, ECU stepped every 5 ms."""

    def __init__(self, speed_mps=0.0, gear=Gear.DRIVE):
        self.transitions = []
        self.ecu = VanEcu(
            VanPlant(speed_mps=speed_mps, gear=gear),
            on_transition=lambda t, old, new, fault: self.transitions.append((t, new, fault)),
        )
        self.counters = CounterGenerator()
        self.steer = SteerCommand(0.0, 0.0, True, 0)
        self.accel = AccelCommand(0.0, Gear.DRIVE, True, 0)
        self.sending = True
        self.sending_accel = True
        self.tick = 0
        self.reports: list[Frame] = []
        self.corrupt_next = 0

    @property
    def t_s(self):
        return self.tick * TICK_S

    def frame(self, msg):
        msg_id = MsgId.STEER_CMD if isinstance(msg, SteerCommand) else MsgId.ACCEL_CMD
        frame = encode(dataclasses.replace(msg, counter=self.counters.next(msg_id)))
        if self.corrupt_next:
            self.corrupt_next -= 1
            frame = Frame(frame.can_id, frame.data[:7] + bytes([frame.data[7] ^ 0xFF]))
        return frame

    def run(self, duration_s):
        samples = []
        for _ in range(round(duration_s / TICK_S)):
            self.tick += 1
            if self.sending and self.tick % COMMAND_EVERY == 0:
                self.ecu.receive(self.frame(self.steer), self.t_s)
                if self.sending_accel:
                    self.ecu.receive(self.frame(self.accel), self.t_s)
            self.reports += self.ecu.step(self.t_s)
            samples.append(self.ecu.plant.state)
        return samples

    def engage(self, speed_mps=None):
        self.ecu.arm()
        self.run(0.05)
        assert self.ecu.state is DbwState.ENGAGED
        if speed_mps is not None:
            self.accel = dataclasses.replace(self.accel, accel_mps2=2.0)
            while self.ecu.plant.speed_mps < speed_mps:
                self.run(0.02)
            self.accel = dataclasses.replace(self.accel, accel_mps2=0.0)

    def set_enable(self, steer=True, accel=True):
        self.steer = dataclasses.replace(self.steer, enable=steer)
        self.accel = dataclasses.replace(self.accel, enable=accel)


def test_van_starts_in_manual():
    assert VanEcu().state is DbwState.MANUAL


def test_arm_moves_manual_to_ready():
    ecu = VanEcu()
    assert ecu.arm() and ecu.state is DbwState.READY


def test_commands_do_not_engage_an_unarmed_van():
    a = Autonomy()
    a.run(0.5)
    assert a.ecu.state is DbwState.MANUAL


def test_ready_engages_when_both_commands_arrive_enabled():
    a = Autonomy()
    a.ecu.arm()
    a.run(0.05)
    assert a.ecu.state is DbwState.ENGAGED


@pytest.mark.parametrize(("steer", "accel"), [(True, False), (False, True)])
def test_ready_stays_ready_unless_both_enable_bits_are_set(steer, accel):
    a = Autonomy()
    a.set_enable(steer, accel)
    a.ecu.arm()
    a.run(0.5)
    assert a.ecu.state is DbwState.READY


def test_ready_does_not_engage_while_the_driver_brakes():
    a = Autonomy()
    a.ecu.set_driver(brake_pedal=True)
    a.ecu.arm()
    a.run(0.2)
    assert a.ecu.state is DbwState.READY


@pytest.mark.parametrize(
    "driver",
    [
        dict(steering_torque_nm=3.5),
        dict(steering_torque_nm=-3.5),
        dict(brake_pedal=True),
        dict(throttle_pedal=True),
    ],
)
def test_driver_override_drops_engaged_to_manual_at_once(driver):
    a = Autonomy()
    a.engage()
    a.ecu.set_driver(**driver)
    assert a.ecu.state is DbwState.MANUAL and a.ecu.fault is FaultCode.NONE


def test_steering_torque_up_to_3nm_is_not_an_override():
    a = Autonomy()
    a.engage()
    a.ecu.set_driver(steering_torque_nm=2.9)
    a.run(0.2)
    assert a.ecu.state is DbwState.ENGAGED


@pytest.mark.parametrize(("steer", "accel"), [(False, True), (True, False)])
def test_clearing_an_enable_bit_drops_engaged_to_manual(steer, accel):
    a = Autonomy()
    a.engage()
    a.set_enable(steer, accel)
    a.run(0.05)
    assert a.ecu.state is DbwState.MANUAL


def test_reengaging_after_an_override_needs_arming_again():
    a = Autonomy()
    a.engage()
    a.ecu.set_driver(brake_pedal=True)
    a.ecu.set_driver(brake_pedal=False)
    a.run(0.5)
    assert a.ecu.state is DbwState.MANUAL
    a.ecu.arm()
    a.run(0.05)
    assert a.ecu.state is DbwState.ENGAGED


def test_missing_command_for_over_100ms_faults_to_safe_stop():
    a = Autonomy()
    a.engage(speed_mps=5.0)
    a.sending = False
    last_command_s = a.t_s - (a.tick % COMMAND_EVERY) * TICK_S
    a.run(0.3)
    ((t_s, state, fault),) = a.transitions[-1:]
    assert (state, fault) == (DbwState.FAULT_SAFE_STOP, FaultCode.COMMAND_TIMEOUT)
    assert 0.100 < t_s - last_command_s <= 0.100 + TICK_S + 1e-9


def test_one_command_id_going_silent_is_a_timeout():
    a = Autonomy()
    a.engage()
    a.sending_accel = False
    a.run(0.2)
    assert (a.ecu.state, a.ecu.fault) == (DbwState.FAULT_SAFE_STOP, FaultCode.COMMAND_TIMEOUT)


def test_safe_stop_brakes_at_3mps2_to_standstill_and_holds():
    a = Autonomy()
    a.engage(speed_mps=8.0)
    a.sending = False
    samples = a.run(6.0)
    fault_s = a.transitions[-1][0]
    settled = [s for s in samples if s.time_s > fault_s + 2.0 and s.speed_mps > 0.5]
    assert settled and all(s.accel_mps2 == pytest.approx(-3.0, abs=0.01) for s in settled)
    assert [s.speed_mps for s in samples[-200:]] == [0.0] * 200
    assert a.ecu.hazard_on


def test_safe_stop_ignores_commands():
    a = Autonomy()
    a.engage(speed_mps=5.0)
    a.sending = False
    a.run(0.2)
    a.sending = True
    a.accel = dataclasses.replace(a.accel, accel_mps2=2.0)
    a.steer = dataclasses.replace(a.steer, angle_rad=0.3)
    samples = a.run(3.0)
    assert samples[-1].speed_mps == 0.0 and abs(samples[-1].steer_rad) < 1e-6
    assert a.ecu.state is DbwState.FAULT_SAFE_STOP


def test_three_consecutive_bad_crc_frames_of_one_id_fault():
    a = Autonomy()
    a.engage()
    a.corrupt_next = 6  # three steer and three accel frames in a row
    a.run(0.06)
    assert (a.ecu.state, a.ecu.fault) == (DbwState.FAULT_SAFE_STOP, FaultCode.CHECKSUM_COUNTER)


def test_two_bad_frames_then_a_good_one_do_not_fault():
    a = Autonomy()
    a.engage()
    a.ecu.receive(Frame(MsgId.STEER_CMD, bytes(8)), a.t_s)
    a.ecu.receive(Frame(MsgId.STEER_CMD, bytes(8)), a.t_s)
    a.run(0.5)
    assert a.ecu.state is DbwState.ENGAGED


def test_three_consecutive_counter_failures_fault():
    a = Autonomy()
    a.engage()
    replay = a.frame(a.steer)
    for _ in range(4):  # first copy is in sequence, the next three repeat its counter
        a.ecu.receive(replay, a.t_s)
    assert (a.ecu.state, a.ecu.fault) == (DbwState.FAULT_SAFE_STOP, FaultCode.CHECKSUM_COUNTER)
    assert a.ecu.e2e.drop_count() == 3


def test_estop_faults_with_code_4():
    a = Autonomy()
    a.engage()
    a.ecu.set_driver(estop=True)
    assert (a.ecu.state, a.ecu.fault) == (DbwState.FAULT_SAFE_STOP, FaultCode.ESTOP)


def test_actuator_fault_faults_with_code_3():
    a = Autonomy()
    a.engage()
    a.ecu.inject_actuator_fault()
    assert (a.ecu.state, a.ecu.fault) == (DbwState.FAULT_SAFE_STOP, FaultCode.ACTUATOR)


def faulted_and_stopped():
    """Faulted at standstill while autonomy keeps sending with both ENABLE bits set."""
    a = Autonomy()
    a.engage()
    a.ecu.inject_actuator_fault()
    a.run(0.5)
    assert a.ecu.state is DbwState.FAULT_SAFE_STOP
    return a


def test_rearm_is_refused_until_both_enables_were_clear_for_1s():
    a = faulted_and_stopped()
    a.set_enable(False, False)
    a.run(0.9)
    assert not a.ecu.arm()
    a.run(0.15)
    assert a.ecu.arm() and a.ecu.state is DbwState.READY and a.ecu.fault is FaultCode.NONE


def test_silent_autonomy_counts_as_both_enables_clear():
    a = faulted_and_stopped()
    a.sending = False
    a.run(1.2)
    assert a.ecu.arm()


def test_rearm_is_refused_while_an_enable_bit_stays_set():
    a = faulted_and_stopped()
    a.set_enable(True, False)
    a.run(2.0)
    assert not a.ecu.arm()


def test_rearm_is_refused_while_the_safe_stop_is_still_braking():
    a = Autonomy()
    a.engage(speed_mps=12.0)
    a.sending = False
    a.run(1.5)
    assert a.ecu.plant.speed_mps > 1.0 and not a.ecu.arm()


def test_rearm_is_refused_while_the_estop_is_pressed():
    a = faulted_and_stopped()
    a.ecu.set_driver(estop=True)
    a.sending = False
    a.run(1.5)
    assert not a.ecu.arm()


def test_rearmed_van_turns_hazards_off_and_engages_again():
    a = faulted_and_stopped()
    a.set_enable(False, False)
    a.run(1.1)
    a.ecu.arm()
    assert not a.ecu.hazard_on
    a.set_enable(True, True)
    a.run(0.05)
    assert a.ecu.state is DbwState.ENGAGED


def test_steer_command_beyond_060_rad_is_held_at_060():
    a = Autonomy()
    a.engage()
    a.steer = dataclasses.replace(a.steer, angle_rad=1.0)
    samples = a.run(3.0)
    assert max(s.steer_rad for s in samples) == pytest.approx(P.max_steer_rad)


def test_steer_rate_is_held_at_060_radps():
    a = Autonomy()
    a.engage()
    a.steer = dataclasses.replace(a.steer, angle_rad=-0.5)
    samples = a.run(2.0)
    rates = [s.steer_rate_radps for s in samples]
    assert min(rates) == pytest.approx(-P.max_steer_rate_radps, abs=0.01)
    assert all(abs(r) <= P.max_steer_rate_radps + 1e-9 for r in rates)


def test_lower_steer_rate_limit_is_obeyed():
    a = Autonomy()
    a.engage()
    a.steer = SteerCommand(0.5, rate_limit_radps=0.2, enable=True, counter=0)
    samples = a.run(3.0)
    assert max(s.steer_rate_radps for s in samples) == pytest.approx(0.2, rel=1e-3)


def test_rate_limit_above_the_hardware_rate_does_not_raise_it():
    a = Autonomy()
    a.engage()
    a.steer = SteerCommand(0.5, rate_limit_radps=2.0, enable=True, counter=0)
    samples = a.run(2.0)
    assert max(s.steer_rate_radps for s in samples) <= P.max_steer_rate_radps + 1e-9


@pytest.mark.parametrize(
    ("command_mps2", "limit_mps2"), [(10.0, P.max_accel_mps2), (-10.0, P.min_accel_mps2)]
)
def test_accel_command_is_held_in_the_hard_range(command_mps2, limit_mps2):
    a = Autonomy()
    a.engage(speed_mps=10.0)
    a.accel = dataclasses.replace(a.accel, accel_mps2=command_mps2)
    samples = a.run(2.0)
    assert samples[-1].actuator_accel_mps2 == pytest.approx(limit_mps2, abs=0.05)
    assert all(
        P.min_accel_mps2 - 1e-9 <= s.actuator_accel_mps2 <= P.max_accel_mps2 + 1e-9 for s in samples
    )


def test_gear_change_is_refused_while_moving():
    a = Autonomy()
    a.engage(speed_mps=3.0)
    a.accel = dataclasses.replace(a.accel, gear=Gear.REVERSE)
    a.run(0.2)
    assert a.ecu.plant.gear is Gear.DRIVE


def test_gear_change_is_made_at_standstill():
    a = Autonomy(gear=Gear.PARK)
    a.engage()
    a.run(0.1)
    assert a.ecu.plant.gear is Gear.DRIVE


def test_body_command_is_applied_while_engaged():
    a = Autonomy()
    a.engage()
    a.ecu.receive(
        encode(
            BodyCommand(
                TurnSignal.LEFT, hazard=True, horn=False, cargo_door_unlock=False, counter=0
            )
        ),
        a.t_s,
    )
    assert a.ecu.body.turn_signal is TurnSignal.LEFT and a.ecu.hazard_on


def test_reports_are_sent_at_their_periods_with_valid_e2e():
    a = Autonomy()
    a.run(1.0)
    checker = E2EChecker(REPORT_IDS)
    assert all(checker.check(f).ok for f in a.reports)
    counts = {i: sum(f.can_id == i for f in a.reports) for i in REPORT_IDS}
    # t = 0.005 … 1.000 s: the first step also sends the t = 0 reports
    assert counts == {
        MsgId.MOTION_REPORT: 101,
        MsgId.STEER_REPORT: 101,
        MsgId.DBW_STATUS: 51,
        MsgId.WHEEL_SPEED_REPORT: 51,
    }


def test_coarse_steps_still_send_every_report():
    ecu = VanEcu()
    frames = [f for k in range(1, 21) for f in ecu.step(k * 0.05)]
    assert sum(f.can_id == MsgId.MOTION_REPORT for f in frames) == 101


def test_status_report_shows_state_overrides_gear_and_fault():
    a = Autonomy()
    a.engage()
    a.ecu.set_driver(estop=True, steering_torque_nm=5.0)
    a.run(0.05)
    status = [decode(f) for f in a.reports if f.can_id == MsgId.DBW_STATUS][-1]
    assert (status.state, status.fault, status.gear) == (
        DbwState.FAULT_SAFE_STOP,
        FaultCode.ESTOP,
        Gear.DRIVE,
    )
    assert status.estop_pressed and status.steer_override and not status.brake_override


def test_motion_and_steer_reports_carry_the_plant_state():
    a = Autonomy()
    a.engage(speed_mps=4.0)
    a.steer = dataclasses.replace(a.steer, angle_rad=0.1)
    a.run(1.0)
    motion = [decode(f) for f in a.reports if f.can_id == MsgId.MOTION_REPORT][-1]
    steer = [decode(f) for f in a.reports if f.can_id == MsgId.STEER_REPORT][-1]
    plant = a.ecu.plant
    assert motion.speed_mps == pytest.approx(plant.speed_mps, abs=1e-3)
    assert motion.yaw_rate_radps == pytest.approx(plant.yaw_rate_radps, abs=1e-4)
    assert steer.angle_rad == pytest.approx(plant.steer_rad, abs=1e-4)
