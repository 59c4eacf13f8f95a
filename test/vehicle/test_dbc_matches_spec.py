"""The DBC against RVN-DBW v1 as the van maker's protocol document writes it (section 2), retyped on
purpose: this table is the independent reading of the document that the DBC must agree with."""

import cantools
import pytest

from robovan_autonomy.vehicle.rvn_dbw import DBC_PATH

E2E = [("COUNTER", 48, 4, False, 1), ("CHECKSUM", 56, 8, False, 1)]

# id: (name, period ms, sender, [(signal, start bit, length, signed, scale)])
SPEC = {
    0x110: (
        "DBW_STEER_CMD",
        20,
        "AUTONOMY",
        [
            ("STEER_ANGLE_CMD", 0, 16, True, 0.0001),
            ("STEER_RATE_LIMIT", 16, 8, False, 0.01),
            ("STEER_ENABLE", 24, 1, False, 1),
        ],
    ),
    0x111: (
        "DBW_ACCEL_CMD",
        20,
        "AUTONOMY",
        [
            ("ACCEL_CMD", 0, 16, True, 0.001),
            ("GEAR_CMD", 16, 3, False, 1),
            ("ACCEL_ENABLE", 24, 1, False, 1),
        ],
    ),
    0x112: (
        "DBW_BODY_CMD",
        100,
        "AUTONOMY",
        [
            ("TURN_SIGNAL", 0, 2, False, 1),
            ("HAZARD", 2, 1, False, 1),
            ("HORN", 3, 1, False, 1),
            ("CARGO_DOOR_UNLOCK", 4, 1, False, 1),
        ],
    ),
    0x210: (
        "VEH_MOTION_REPORT",
        10,
        "VAN_ECU",
        [
            ("VEH_SPEED", 0, 16, True, 0.001),
            ("YAW_RATE", 16, 16, True, 0.0001),
            ("LONG_ACCEL", 32, 16, True, 0.001),
        ],
    ),
    0x211: (
        "STEER_REPORT",
        10,
        "VAN_ECU",
        [
            ("STEER_ANGLE", 0, 16, True, 0.0001),
            ("STEER_RATE", 16, 16, True, 0.0001),
            ("DRIVER_TORQUE", 32, 8, True, 0.1),
        ],
    ),
    0x212: (
        "DBW_STATUS",
        20,
        "VAN_ECU",
        [
            ("DBW_STATE", 0, 3, False, 1),
            ("STEER_OVERRIDE", 3, 1, False, 1),
            ("BRAKE_OVERRIDE", 4, 1, False, 1),
            ("THROTTLE_OVERRIDE", 5, 1, False, 1),
            ("ESTOP_PRESSED", 6, 1, False, 1),
            ("GEAR", 8, 3, False, 1),
            ("FAULT_CODE", 16, 8, False, 1),
        ],
    ),
    0x213: (
        "WHEEL_SPEED_REPORT",
        20,
        "VAN_ECU",
        [
            ("WHEEL_SPEED_FL", 0, 12, False, 0.01),
            ("WHEEL_SPEED_FR", 12, 12, False, 0.01),
            ("WHEEL_SPEED_RL", 24, 12, False, 0.01),
            ("WHEEL_SPEED_RR", 36, 12, False, 0.01),
        ],
    ),
}

GEAR_TABLE = {0: "NONE", 1: "PARK", 2: "REVERSE", 3: "NEUTRAL", 4: "DRIVE"}
VALUE_TABLES = {
    (0x111, "GEAR_CMD"): GEAR_TABLE,
    (0x212, "GEAR"): GEAR_TABLE,
    (0x212, "DBW_STATE"): {0: "MANUAL", 1: "READY", 2: "ENGAGED", 3: "FAULT_SAFE_STOP"},
    (0x212, "FAULT_CODE"): {
        0: "NONE",
        1: "COMMAND_TIMEOUT",
        2: "CHECKSUM_COUNTER",
        3: "ACTUATOR",
        4: "ESTOP",
    },
    (0x112, "TURN_SIGNAL"): {0: "OFF", 1: "LEFT", 2: "RIGHT"},
}


@pytest.fixture(scope="module")
def db():
    return cantools.database.load_file(str(DBC_PATH), database_format="dbc", strict=True)


def test_dbc_holds_exactly_the_spec_frames(db):
    assert {m.frame_id: m.name for m in db.messages} == {i: s[0] for i, s in SPEC.items()}


def test_dbc_declares_autonomy_and_van_ecu_nodes(db):
    assert {node.name for node in db.nodes} == {"AUTONOMY", "VAN_ECU"}


@pytest.mark.parametrize("frame_id", sorted(SPEC))
def test_frame_is_classic_8_byte_standard_id(db, frame_id):
    message = db.get_message_by_frame_id(frame_id)
    assert (message.length, message.is_extended_frame, frame_id <= 0x7FF) == (8, False, True)


@pytest.mark.parametrize("frame_id", sorted(SPEC))
def test_frame_cycle_time_matches_spec_period(db, frame_id):
    assert db.get_message_by_frame_id(frame_id).cycle_time == SPEC[frame_id][1]


@pytest.mark.parametrize("frame_id", sorted(SPEC))
def test_frame_sender_and_receiver_match_direction(db, frame_id):
    message = db.get_message_by_frame_id(frame_id)
    sender = SPEC[frame_id][2]
    receiver = {"AUTONOMY": "VAN_ECU", "VAN_ECU": "AUTONOMY"}[sender]
    assert message.senders == [sender]
    assert all(signal.receivers == [receiver] for signal in message.signals)


@pytest.mark.parametrize("frame_id", sorted(SPEC))
def test_frame_signals_match_spec_layout(db, frame_id):
    message = db.get_message_by_frame_id(frame_id)
    actual = {
        s.name: (s.start, s.length, s.is_signed, s.scale, s.offset, s.byte_order, s.is_float)
        for s in message.signals
    }
    expected = {
        name: (start, length, signed, scale, 0, "little_endian", False)
        for name, start, length, signed, scale in SPEC[frame_id][3] + E2E
    }
    assert actual == expected


@pytest.mark.parametrize("frame_id", sorted(SPEC))
def test_frame_signals_do_not_overlap(db, frame_id):
    bits = [
        bit
        for s in db.get_message_by_frame_id(frame_id).signals
        for bit in range(s.start, s.start + s.length)
    ]
    assert len(bits) == len(set(bits)) and max(bits) <= 63


@pytest.mark.parametrize("frame_id", sorted(SPEC))
def test_scaled_signal_range_is_the_full_raw_range(db, frame_id):
    """Encoders saturate at [min|max]; it must be exactly what the bits can carry."""
    for s in db.get_message_by_frame_id(frame_id).signals:
        if s.choices:
            continue
        half = 1 << (s.length - 1)
        raw_min, raw_max = (-half, half - 1) if s.is_signed else (0, 2 * half - 1)
        assert (s.minimum, s.maximum) == pytest.approx((raw_min * s.scale, raw_max * s.scale)), (
            s.name
        )


@pytest.mark.parametrize(("frame_id", "signal"), sorted(VALUE_TABLES))
def test_enum_signal_value_table_matches_spec(db, frame_id, signal):
    choices = db.get_message_by_frame_id(frame_id).get_signal_by_name(signal).choices
    assert {int(k): str(v) for k, v in choices.items()} == VALUE_TABLES[(frame_id, signal)]


def test_physical_signals_carry_si_units(db):
    units = {s.name: s.unit for m in db.messages for s in m.signals if s.scale != 1}
    assert units == {
        "STEER_ANGLE_CMD": "rad",
        "STEER_RATE_LIMIT": "rad/s",
        "ACCEL_CMD": "m/s^2",
        "VEH_SPEED": "m/s",
        "YAW_RATE": "rad/s",
        "LONG_ACCEL": "m/s^2",
        "STEER_ANGLE": "rad",
        "STEER_RATE": "rad/s",
        "DRIVER_TORQUE": "N.m",
        "WHEEL_SPEED_FL": "m/s",
        "WHEEL_SPEED_FR": "m/s",
        "WHEEL_SPEED_RL": "m/s",
        "WHEEL_SPEED_RR": "m/s",
    }
