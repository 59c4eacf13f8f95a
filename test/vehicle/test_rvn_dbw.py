import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robovan_autonomy.config_errors import ConfigError
from robovan_autonomy.vehicle.rvn_dbw import (
    DBC_PATH,
    AccelCommand,
    BodyCommand,
    CounterGenerator,
    DbwState,
    DbwStatus,
    E2EChecker,
    E2EVerdict,
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
    checksum,
    crc8_j1850,
    dbc_database,
    decode,
    encode,
    frame_counter,
    period_s,
)


def reference_crc8_j1850(payload):
    """Bitwise CRC-8/SAE-J1850 straight from its definition: poly 0x1D, init 0xFF, xorout 0xFF."""
    crc = 0xFF
    for byte in payload:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1D) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc ^ 0xFF


SAMPLES = [
    SteerCommand(angle_rad=-0.1234, rate_limit_radps=0.35, enable=True, counter=5),
    AccelCommand(accel_mps2=-2.345, gear=Gear.REVERSE, enable=True, counter=15),
    BodyCommand(
        turn_signal=TurnSignal.RIGHT, hazard=True, horn=False, cargo_door_unlock=True, counter=0
    ),
    MotionReport(speed_mps=-1.5, yaw_rate_radps=0.0123, accel_mps2=0.75, counter=9),
    SteerReport(angle_rad=0.5999, rate_radps=-0.6, driver_torque_nm=-3.2, counter=1),
    DbwStatus(
        state=DbwState.FAULT_SAFE_STOP,
        steer_override=True,
        brake_override=False,
        throttle_override=True,
        estop_pressed=True,
        gear=Gear.DRIVE,
        fault=FaultCode.ESTOP,
        counter=7,
    ),
    WheelSpeedReport(fl_mps=12.34, fr_mps=0.0, rl_mps=40.95, rr_mps=3.21, counter=3),
]


def approx_equal(a, b):
    return type(a) is type(b) and all(
        getattr(a, f) == pytest.approx(getattr(b, f), abs=1e-9) for f in a.__dataclass_fields__
    )


def test_crc_matches_the_catalogue_check_value():
    assert crc8_j1850(b"123456789") == reference_crc8_j1850(b"123456789") == 0x4B


def test_checksum_covers_id_low_byte_then_high_byte_then_data_0_to_6():
    data = bytes([0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0xEE])
    assert checksum(0x110, data) == reference_crc8_j1850([0x10, 0x01, 1, 2, 3, 4, 5, 6, 7])


@given(st.integers(0, 0x7FF), st.binary(min_size=8, max_size=8))
def test_checksum_agrees_with_bitwise_reference(can_id, data):
    assert checksum(can_id, data) == reference_crc8_j1850([can_id & 0xFF, can_id >> 8, *data[:7]])


@pytest.mark.parametrize("msg", SAMPLES, ids=lambda m: type(m).__name__)
def test_encoded_frame_carries_counter_and_valid_checksum(msg):
    frame = encode(msg)
    assert len(frame.data) == 8
    assert frame.data[7] == reference_crc8_j1850(
        [frame.can_id & 0xFF, frame.can_id >> 8, *frame.data[:7]]
    )
    assert frame.data[6] & 0x0F == msg.counter == frame_counter(frame.data)


@pytest.mark.parametrize("msg", SAMPLES, ids=lambda m: type(m).__name__)
def test_quantized_message_round_trips(msg):
    assert approx_equal(decode(encode(msg)), msg)


def test_steer_command_lands_on_spec_bits():
    frame = encode(SteerCommand(angle_rad=-0.0001, rate_limit_radps=0.6, enable=True, counter=0xA))
    assert (frame.can_id, frame.data[:7]) == (0x110, bytes([0xFF, 0xFF, 60, 0x01, 0, 0, 0x0A]))


def test_wheel_speed_report_lands_on_12_bit_fields():
    frame = encode(WheelSpeedReport(fl_mps=0.01, fr_mps=0.02, rl_mps=0.03, rr_mps=0.04, counter=0))
    word = int.from_bytes(frame.data, "little")
    assert [(word >> shift) & 0xFFF for shift in (0, 12, 24, 36)] == [1, 2, 3, 4]


@settings(max_examples=200)
@given(st.floats(-3.2768, 3.2767), st.floats(-32.768, 32.767))
def test_round_trip_error_is_within_half_a_scale_step(angle_rad, accel_mps2):
    steer = decode(encode(SteerCommand(angle_rad, 0.0, True, 0)))
    accel = decode(encode(AccelCommand(accel_mps2, Gear.DRIVE, True, 0)))
    assert abs(steer.angle_rad - angle_rad) <= 0.00005 + 1e-12
    assert abs(accel.accel_mps2 - accel_mps2) <= 0.0005 + 1e-12


@pytest.mark.parametrize(
    ("value", "expected"),
    [(10.0, 3.2767), (-10.0, -3.2768), (math.inf, 3.2767), (-math.inf, -3.2768)],
)
def test_out_of_range_steer_angle_saturates_instead_of_wrapping(value, expected):
    assert decode(encode(SteerCommand(value, 0.0, True, 0))).angle_rad == pytest.approx(expected)


def test_unsigned_signals_saturate_at_zero_and_their_maximum():
    report = decode(
        encode(WheelSpeedReport(fl_mps=-1.0, fr_mps=99.0, rl_mps=0.0, rr_mps=0.0, counter=0))
    )
    steer = decode(encode(SteerCommand(0.0, rate_limit_radps=-0.5, enable=True, counter=0)))
    assert (report.fl_mps, report.fr_mps, steer.rate_limit_radps) == pytest.approx(
        (0.0, 40.95, 0.0)
    )


def test_driver_torque_saturates_at_its_8_bit_range():
    high = decode(encode(SteerReport(0.0, 0.0, driver_torque_nm=50.0, counter=0)))
    low = decode(encode(SteerReport(0.0, 0.0, driver_torque_nm=-50.0, counter=0)))
    assert (high.driver_torque_nm, low.driver_torque_nm) == pytest.approx((12.7, -12.8))


def test_nan_command_is_refused():
    with pytest.raises(ValueError):
        encode(AccelCommand(math.nan, Gear.DRIVE, True, 0))


@pytest.mark.parametrize("counter", [-1, 16])
def test_counter_outside_4_bits_is_refused(counter):
    with pytest.raises(ValueError):
        encode(MotionReport(0.0, 0.0, 0.0, counter))


def test_counter_generator_counts_each_identifier_and_wraps_after_15():
    counters = CounterGenerator()
    steer = [counters.next(MsgId.STEER_CMD) for _ in range(18)]
    assert steer == list(range(16)) + [0, 1]
    assert counters.next(MsgId.ACCEL_CMD) == 0


def test_period_comes_from_the_dbc_cycle_time():
    assert [period_s(i) for i in MsgId] == pytest.approx([0.02, 0.02, 0.1, 0.01, 0.01, 0.02, 0.02])


@pytest.mark.parametrize("data", [b"", bytes(7), bytes(9)])
def test_wrong_length_raises_frame_error(data):
    with pytest.raises(FrameError):
        decode(Frame(MsgId.MOTION_REPORT, data))


def test_unknown_identifier_raises_frame_error():
    with pytest.raises(FrameError):
        decode(Frame(0x123, bytes(8)))


def test_enum_value_outside_its_table_raises_frame_error():
    with pytest.raises(FrameError):
        decode(Frame(MsgId.ACCEL_CMD, bytes([0, 0, 7, 1, 0, 0, 0, 0])))


@settings(max_examples=300)
@given(st.sampled_from(list(MsgId)), st.binary(min_size=8, max_size=8))
def test_decoding_random_payloads_never_raises_anything_but_frame_error(can_id, data):
    try:
        message = decode(Frame(can_id, data))
    except FrameError:
        return
    assert message.counter == data[6] & 0x0F


@given(st.integers(0, 0x7FF), st.binary(max_size=16))
def test_decoding_random_frames_never_raises_anything_but_frame_error(can_id, data):
    try:
        decode(Frame(can_id, data))
    except FrameError:
        pass


def test_dbc_that_disagrees_with_the_codec_is_refused(tmp_path):
    bad = tmp_path / "bad.dbc"
    bad.write_text(DBC_PATH.read_text().replace("SG_ HORN :", "SG_ HONK :"))
    with pytest.raises(ConfigError):
        dbc_database(bad)


def frames(msg_type=MotionReport, counters=range(16)):
    return [encode(msg_type(1.0, 0.0, 0.0, c)) for c in counters]


def corrupt(frame):
    return Frame(frame.can_id, frame.data[:7] + bytes([frame.data[7] ^ 0x01]))


def test_in_sequence_frames_are_accepted():
    checker = E2EChecker()
    assert all(checker.check(f) is E2EVerdict.OK for f in frames(counters=[*range(16), 0, 1]))
    assert checker.accepted[MsgId.MOTION_REPORT] == 18


def test_first_frame_of_an_identifier_accepts_any_counter():
    assert E2EChecker().check(frames(counters=[11])[0]) is E2EVerdict.OK


def test_corrupt_crc_frame_is_dropped_and_counted():
    checker = E2EChecker()
    checker.check(frames(counters=[0])[0])
    assert checker.check(corrupt(frames(counters=[1])[0])) is E2EVerdict.BAD_CHECKSUM
    assert checker.drop_count(E2EVerdict.BAD_CHECKSUM, MsgId.MOTION_REPORT) == 1


def test_single_flipped_data_bit_fails_the_checksum():
    frame = frames(counters=[0])[0]
    flipped = Frame(frame.can_id, bytes([frame.data[0] ^ 0x04]) + frame.data[1:])
    assert E2EChecker().check(flipped) is E2EVerdict.BAD_CHECKSUM


def test_frame_replayed_on_another_identifier_fails_the_checksum():
    frame = frames(counters=[0])[0]
    assert E2EChecker().check(Frame(MsgId.STEER_REPORT, frame.data)) is E2EVerdict.BAD_CHECKSUM


def test_skipped_counter_is_dropped_and_counted():
    checker = E2EChecker()
    verdicts = [checker.check(f) for f in frames(counters=[3, 5])]
    assert verdicts == [E2EVerdict.OK, E2EVerdict.BAD_COUNTER]
    assert checker.drop_count(E2EVerdict.BAD_COUNTER) == 1


def test_repeated_counter_is_dropped():
    checker = E2EChecker()
    assert [checker.check(f) for f in frames(counters=[4, 4])][1] is E2EVerdict.BAD_COUNTER


def test_a_repeated_counter_within_a_period_is_a_second_senders_duplicate():
    checker = E2EChecker()
    first, forged = frames(counters=[4, 4])
    checker.check(first, t_s=1.000)
    assert checker.check(forged, t_s=1.004) is E2EVerdict.DUPLICATE_COUNTER  # period 10 ms


def test_a_repeated_counter_a_whole_period_later_is_a_stuck_sender_not_a_duplicate():
    checker = E2EChecker()
    first, again = frames(counters=[4, 4])
    checker.check(first, t_s=1.00)
    assert checker.check(again, t_s=1.01) is E2EVerdict.BAD_COUNTER


def test_failures_in_a_row_are_counted_per_identifier_until_a_good_frame():
    checker = E2EChecker()
    stuck = frames(counters=[4, 4, 4, 4])
    for frame in stuck:
        checker.check(frame)
    assert checker.streak[MsgId.MOTION_REPORT] == 3
    checker.check(frames(counters=[5])[0])
    assert checker.streak[MsgId.MOTION_REPORT] == 0


def test_checker_resyncs_on_the_frame_after_a_counter_jump():
    checker = E2EChecker()
    verdicts = [checker.check(f) for f in frames(counters=[0, 1, 9, 10])]
    assert verdicts == [E2EVerdict.OK, E2EVerdict.OK, E2EVerdict.BAD_COUNTER, E2EVerdict.OK]


def test_bad_crc_frame_does_not_move_the_counter_reference():
    checker = E2EChecker()
    seq = frames(counters=[0, 1, 2])
    verdicts = [checker.check(seq[0]), checker.check(corrupt(seq[1])), checker.check(seq[1])]
    assert verdicts == [E2EVerdict.OK, E2EVerdict.BAD_CHECKSUM, E2EVerdict.OK]


def test_counters_are_checked_per_identifier():
    checker = E2EChecker()
    motion = frames(counters=[0, 1])
    steer = [encode(SteerReport(0.0, 0.0, 0.0, c)) for c in (7, 8)]
    verdicts = [checker.check(f) for f in (motion[0], steer[0], motion[1], steer[1])]
    assert all(v is E2EVerdict.OK for v in verdicts)


def test_reset_lets_the_next_frame_take_any_counter():
    checker = E2EChecker()
    checker.check(frames(counters=[0])[0])
    checker.reset(MsgId.MOTION_REPORT)
    assert checker.check(frames(counters=[9])[0]) is E2EVerdict.OK


def test_identifier_outside_the_checked_set_is_reported_not_raised():
    checker = E2EChecker([MsgId.STEER_CMD])
    assert checker.check(frames(counters=[0])[0]) is E2EVerdict.UNKNOWN_ID
    assert checker.drop_count(E2EVerdict.UNKNOWN_ID) == 1


def test_short_frame_is_reported_not_raised():
    assert E2EChecker().check(Frame(MsgId.MOTION_REPORT, b"\x00\x01")) is E2EVerdict.BAD_LENGTH


@given(st.integers(0, 0x7FF), st.binary(max_size=16))
def test_checker_never_raises_on_random_frames(can_id, data):
    assert isinstance(E2EChecker().check(Frame(can_id, data)), E2EVerdict)
