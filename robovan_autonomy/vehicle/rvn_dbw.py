"""RVN-DBW v1 codec: the one place CAN bytes become typed values and back.

Pure Python on purpose (no python-can): the DBW bridge, the simulated van ECU and offline tools
all speak through this module, so both ends of the bus share one implementation of the contract
(docs/RVN_DBW.md, generated from the DBC and this module). Frame layout (ids, bit positions,
scales, ranges, periods, enum tables) is read from config/vehicle/robovan_dbw.dbc through
cantools; this module adds the field names, the end-to-end protection and the ECU's behaviour
numbers, and refuses to load a DBC that disagrees with it.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import math
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import cantools

from robovan_autonomy.config_errors import ConfigError, config_path

DBC_PATH = config_path("vehicle", "robovan_dbw.dbc")

# The ECU's behaviour numbers, shared by the van ECU (simulated) and the autonomy bridge.
COMMAND_TIMEOUT_S = 0.100  # a command identifier silent longer than this faults an engaged van
OVERRIDE_TORQUE_NM = 3.0  # |DRIVER_TORQUE| above this is the driver taking the wheel
E2E_FAULT_STREAK = 3  # consecutive CRC/counter failures of one identifier that fault the van
# A repeated counter sooner than this many periods after the last is a second sender, not a
# stuck one (which repeats a whole period later).
DUPLICATE_WITHIN_PERIODS = 0.75
SAFE_STOP_ACCEL_MPS2 = -3.0  # the van's own deceleration in FAULT_SAFE_STOP
REARM_CLEAR_S = 1.0  # both ENABLE bits must stay clear this long before a faulted van re-arms

# CRC-8/SAE-J1850 as the protocol defines it (no reflection); check value of b"123456789" is 0x4B.
CRC_POLY = 0x1D
CRC_INIT = 0xFF
CRC_XOROUT = 0xFF
FRAME_LENGTH = 8  # classic CAN, every RVN-DBW frame carries 8 data bytes
_CHECKSUM_START_BIT = 56  # the CRC covers data bytes 0..6, so it must sit alone in byte 7


class FrameError(ValueError):
    """A frame this protocol cannot decode: wrong length, unknown id, a value outside its table."""


class MsgId(enum.IntEnum):
    STEER_CMD = 0x110
    ACCEL_CMD = 0x111
    BODY_CMD = 0x112
    MOTION_REPORT = 0x210
    STEER_REPORT = 0x211
    DBW_STATUS = 0x212
    WHEEL_SPEED_REPORT = 0x213


COMMAND_IDS = (MsgId.STEER_CMD, MsgId.ACCEL_CMD, MsgId.BODY_CMD)
REPORT_IDS = (MsgId.MOTION_REPORT, MsgId.STEER_REPORT, MsgId.DBW_STATUS, MsgId.WHEEL_SPEED_REPORT)


class Gear(enum.IntEnum):
    NONE = 0
    PARK = 1
    REVERSE = 2
    NEUTRAL = 3
    DRIVE = 4


class DbwState(enum.IntEnum):
    MANUAL = 0
    READY = 1
    ENGAGED = 2
    FAULT_SAFE_STOP = 3


class FaultCode(enum.IntEnum):
    NONE = 0
    COMMAND_TIMEOUT = 1
    CHECKSUM_COUNTER = 2
    ACTUATOR = 3
    ESTOP = 4


class TurnSignal(enum.IntEnum):
    OFF = 0
    LEFT = 1
    RIGHT = 2


@dataclasses.dataclass(frozen=True, slots=True)
class Frame:
    """A classic CAN data frame, free of any bus library."""

    can_id: int
    data: bytes


@dataclasses.dataclass(frozen=True, slots=True)
class SteerCommand:
    angle_rad: float
    rate_limit_radps: float  # 0 asks for the ECU default
    enable: bool
    counter: int


@dataclasses.dataclass(frozen=True, slots=True)
class AccelCommand:
    accel_mps2: float
    gear: Gear
    enable: bool
    counter: int


@dataclasses.dataclass(frozen=True, slots=True)
class BodyCommand:
    turn_signal: TurnSignal
    hazard: bool
    horn: bool
    cargo_door_unlock: bool
    counter: int


@dataclasses.dataclass(frozen=True, slots=True)
class MotionReport:
    speed_mps: float
    yaw_rate_radps: float
    accel_mps2: float
    counter: int


@dataclasses.dataclass(frozen=True, slots=True)
class SteerReport:
    angle_rad: float
    rate_radps: float
    driver_torque_nm: float
    counter: int


@dataclasses.dataclass(frozen=True, slots=True)
class DbwStatus:
    state: DbwState
    steer_override: bool
    brake_override: bool
    throttle_override: bool
    estop_pressed: bool
    gear: Gear
    fault: FaultCode
    counter: int


@dataclasses.dataclass(frozen=True, slots=True)
class WheelSpeedReport:
    fl_mps: float
    fr_mps: float
    rl_mps: float
    rr_mps: float
    counter: int


Message = (
    SteerCommand
    | AccelCommand
    | BodyCommand
    | MotionReport
    | SteerReport
    | DbwStatus
    | WheelSpeedReport
)

# Field ↔ DBC signal names per message; everything else about the layout comes from the DBC.
_FIELDS: dict[type, tuple[MsgId, str, dict[str, str]]] = {
    SteerCommand: (
        MsgId.STEER_CMD,
        "DBW_STEER_CMD",
        {
            "angle_rad": "STEER_ANGLE_CMD",
            "rate_limit_radps": "STEER_RATE_LIMIT",
            "enable": "STEER_ENABLE",
        },
    ),
    AccelCommand: (
        MsgId.ACCEL_CMD,
        "DBW_ACCEL_CMD",
        {"accel_mps2": "ACCEL_CMD", "gear": "GEAR_CMD", "enable": "ACCEL_ENABLE"},
    ),
    BodyCommand: (
        MsgId.BODY_CMD,
        "DBW_BODY_CMD",
        {
            "turn_signal": "TURN_SIGNAL",
            "hazard": "HAZARD",
            "horn": "HORN",
            "cargo_door_unlock": "CARGO_DOOR_UNLOCK",
        },
    ),
    MotionReport: (
        MsgId.MOTION_REPORT,
        "VEH_MOTION_REPORT",
        {"speed_mps": "VEH_SPEED", "yaw_rate_radps": "YAW_RATE", "accel_mps2": "LONG_ACCEL"},
    ),
    SteerReport: (
        MsgId.STEER_REPORT,
        "STEER_REPORT",
        {
            "angle_rad": "STEER_ANGLE",
            "rate_radps": "STEER_RATE",
            "driver_torque_nm": "DRIVER_TORQUE",
        },
    ),
    DbwStatus: (
        MsgId.DBW_STATUS,
        "DBW_STATUS",
        {
            "state": "DBW_STATE",
            "steer_override": "STEER_OVERRIDE",
            "brake_override": "BRAKE_OVERRIDE",
            "throttle_override": "THROTTLE_OVERRIDE",
            "estop_pressed": "ESTOP_PRESSED",
            "gear": "GEAR",
            "fault": "FAULT_CODE",
        },
    ),
    WheelSpeedReport: (
        MsgId.WHEEL_SPEED_REPORT,
        "WHEEL_SPEED_REPORT",
        {
            "fl_mps": "WHEEL_SPEED_FL",
            "fr_mps": "WHEEL_SPEED_FR",
            "rl_mps": "WHEEL_SPEED_RL",
            "rr_mps": "WHEEL_SPEED_RR",
        },
    ),
}


def _make_crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = ((crc << 1) ^ CRC_POLY) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
        table.append(crc)
    return tuple(table)


_CRC_TABLE = _make_crc_table()


def crc8_j1850(payload: Iterable[int]) -> int:
    """Plain CRC-8/SAE-J1850 of a byte sequence (the building block of `checksum`)."""
    crc = CRC_INIT
    for byte in payload:
        crc = _CRC_TABLE[crc ^ byte]
    return crc ^ CRC_XOROUT


def checksum(can_id: int, data: bytes) -> int:
    """The CHECKSUM byte of a frame: CRC over id low byte, id high byte, data bytes 0..6."""
    return crc8_j1850((can_id & 0xFF, (can_id >> 8) & 0xFF, *data[: _CHECKSUM_START_BIT // 8]))


@dataclasses.dataclass(frozen=True)
class _Field:
    attr: str
    signal: str
    kind: type  # float, bool or an IntEnum class
    minimum: float
    maximum: float


@dataclasses.dataclass(frozen=True)
class _Layout:
    msg_id: MsgId
    cls: type
    message: cantools.database.can.Message
    fields: tuple[_Field, ...]
    period_s: float


@dataclasses.dataclass(frozen=True)
class _Codec:
    database: cantools.database.can.Database
    by_id: dict[int, _Layout]
    by_cls: dict[type, _Layout]
    counter_start: int
    counter_modulo: int


_ENUMS = {
    "GEAR_CMD": Gear,
    "GEAR": Gear,
    "DBW_STATE": DbwState,
    "FAULT_CODE": FaultCode,
    "TURN_SIGNAL": TurnSignal,
}


def _field(path: Path, message, attr: str, signal) -> _Field:
    where = f"{message.name}.{signal.name}"
    if signal.byte_order != "little_endian" or signal.is_float:
        raise ConfigError(path, where, "RVN-DBW signals are little-endian integers")
    if signal.minimum is None or signal.maximum is None:
        raise ConfigError(path, where, "a range [min|max] is needed to saturate encodes")
    kind = _ENUMS.get(signal.name)
    if kind is not None:
        table = {int(k): str(v) for k, v in (signal.choices or {}).items()}
        if table != {m.value: m.name for m in kind}:
            raise ConfigError(path, where, f"value table {table} does not match {kind.__name__}")
    elif signal.length == 1:
        kind = bool
    else:
        kind = float
    return _Field(attr, signal.name, kind, float(signal.minimum), float(signal.maximum))


@lru_cache(maxsize=4)
def _codec(path: Path = DBC_PATH) -> _Codec:
    try:
        database = cantools.database.load_file(str(path), database_format="dbc", strict=True)
    except (OSError, cantools.database.Error) as err:
        raise ConfigError(path, "", f"cannot load the DBW DBC: {err}") from err
    by_id, counter = {}, set()
    for cls, (msg_id, name, attrs) in _FIELDS.items():
        try:
            message = database.get_message_by_frame_id(msg_id)
        except KeyError:
            raise ConfigError(path, name, f"frame 0x{msg_id:03X} is missing") from None
        if message.name != name or message.length != FRAME_LENGTH or not message.cycle_time:
            raise ConfigError(
                path,
                name,
                f"0x{msg_id:03X} must be {name}, {FRAME_LENGTH} bytes, with a GenMsgCycleTime",
            )
        signals = {s.name: s for s in message.signals}
        if set(signals) != set(attrs.values()) | {"COUNTER", "CHECKSUM"}:
            raise ConfigError(path, name, f"signals {sorted(signals)} do not match the codec")
        crc_signal, counter_signal = signals["CHECKSUM"], signals["COUNTER"]
        if (crc_signal.start, crc_signal.length) != (_CHECKSUM_START_BIT, 8):
            raise ConfigError(path, f"{name}.CHECKSUM", "must occupy bits 56-63")
        counter.add((counter_signal.start, counter_signal.length, counter_signal.byte_order))
        fields = tuple(_field(path, message, attr, signals[sig]) for attr, sig in attrs.items())
        by_id[msg_id] = _Layout(msg_id, cls, message, fields, message.cycle_time / 1000.0)
    if len(counter) != 1 or next(iter(counter))[2] != "little_endian":
        raise ConfigError(path, "COUNTER", "every frame needs the same little-endian COUNTER")
    counter_start, counter_length, _ = counter.pop()
    return _Codec(
        database,
        by_id,
        {layout.cls: layout for layout in by_id.values()},
        counter_start,
        1 << counter_length,
    )


def dbc_database(path: Path = DBC_PATH) -> cantools.database.can.Database:
    """The loaded and checked DBC, for tools that want names and comments (candump, docs).
    Raises ConfigError when the file disagrees with this codec."""
    return _codec(Path(path)).database


def period_s(msg_id: int) -> float:
    """Transmit period of a frame, from its GenMsgCycleTime."""
    return _codec().by_id[msg_id].period_s


def counter_modulo() -> int:
    return _codec().counter_modulo


def frame_counter(data: bytes) -> int:
    """The COUNTER of an 8-byte payload, without decoding the rest."""
    codec = _codec()
    return (int.from_bytes(data, "little") >> codec.counter_start) % codec.counter_modulo


def _saturate(value: float, field: _Field) -> float:
    if math.isnan(value):
        raise ValueError(f"{field.signal}: cannot encode NaN")
    return (
        field.minimum
        if value < field.minimum
        else field.maximum
        if value > field.maximum
        else value
    )


def encode(msg: Message) -> Frame:
    """Frame for a typed message, counter and checksum filled; physical values saturate at the
    signal's range (an out-of-range command must never wrap to the opposite sign)."""
    codec = _codec()
    layout = codec.by_cls[type(msg)]
    if not 0 <= msg.counter < codec.counter_modulo:
        raise ValueError(f"counter {msg.counter} outside 0..{codec.counter_modulo - 1}")
    values = {"COUNTER": msg.counter, "CHECKSUM": 0}
    for field in layout.fields:
        value = getattr(msg, field.attr)
        if field.kind is float:
            values[field.signal] = _saturate(float(value), field)
        elif field.kind is bool:
            values[field.signal] = 1 if value else 0
        else:
            values[field.signal] = int(field.kind(value))
    payload = layout.message.encode(values, strict=False)
    crc = checksum(layout.msg_id, payload)
    return Frame(int(layout.msg_id), payload[:-1] + bytes((crc,)))


def decode(frame: Frame) -> Message:
    """Typed message of a frame. Checks layout only; run E2EChecker first to trust the values.
    Raises FrameError, and nothing else, for any payload."""
    layout = _codec().by_id.get(frame.can_id)
    if layout is None:
        raise FrameError(f"unknown identifier 0x{frame.can_id:X}")
    if len(frame.data) != FRAME_LENGTH:
        raise FrameError(
            f"0x{frame.can_id:03X}: {len(frame.data)} data bytes, expected {FRAME_LENGTH}"
        )
    raw = layout.message.decode(bytes(frame.data), decode_choices=False)
    kwargs = {"counter": int(raw["COUNTER"])}
    for field in layout.fields:
        value = raw[field.signal]
        if field.kind is float:
            kwargs[field.attr] = float(value)
        elif field.kind is bool:
            kwargs[field.attr] = bool(value)
        else:
            try:
                kwargs[field.attr] = field.kind(value)
            except ValueError:
                raise FrameError(
                    f"0x{frame.can_id:03X}: {field.signal}={value} is not in its table"
                ) from None
    return layout.cls(**kwargs)


class CounterGenerator:
    """Per-identifier COUNTER source for a transmitter: 0, 1, …, 15, 0, …"""

    def __init__(self):
        self._next: dict[int, int] = {}

    def next(self, can_id: int) -> int:
        value = self._next.get(can_id, 0)
        self._next[can_id] = (value + 1) % counter_modulo()
        return value


class E2EVerdict(enum.Enum):
    OK = "ok"
    UNKNOWN_ID = "unknown_id"
    BAD_LENGTH = "bad_length"
    BAD_CHECKSUM = "bad_checksum"
    BAD_COUNTER = "bad_counter"
    DUPLICATE_COUNTER = (
        "duplicate_counter"  # a good frame repeating the last counter within a period
    )

    @property
    def ok(self) -> bool:
        return self is E2EVerdict.OK


class E2EChecker:
    """Receiver-side end-to-end check per identifier: CRC, then COUNTER == previous + 1.

    The first frame of an identifier (or the first after `reset`) accepts any counter. A frame
    with a good CRC but a skipped counter is dropped and its counter becomes the new reference,
    so one lost frame costs exactly one more drop; a frame with a bad CRC leaves the reference
    alone, since its counter cannot be trusted. Given arrival times, a good frame that repeats
    the last counter sooner than DUPLICATE_WITHIN_PERIODS periods after it is a duplicate: one
    sender never does that, so a second sender (a forger) is on the bus. `streak` counts each
    identifier's failures in a row, the measure both ends escalate on (E2E_FAULT_STREAK).
    """

    def __init__(self, can_ids: Iterable[int] = tuple(MsgId)):
        self._ids = frozenset(int(i) for i in can_ids)
        self._last: dict[int, tuple[int, float | None]] = {}  # id -> (counter, arrival time)
        self.accepted: collections.Counter[int] = collections.Counter()
        self.drops: collections.Counter[tuple[int, E2EVerdict]] = collections.Counter()
        self.streak: collections.Counter[int] = collections.Counter()

    def check(self, frame: Frame, t_s: float | None = None) -> E2EVerdict:
        """The verdict on a frame; t_s (its arrival time) enables the duplicate check."""
        verdict = self._verdict(frame, t_s)
        if verdict.ok:
            self.accepted[frame.can_id] += 1
            self.streak[frame.can_id] = 0
        else:
            self.drops[(frame.can_id, verdict)] += 1
            self.streak[frame.can_id] += 1
        return verdict

    def _verdict(self, frame: Frame, t_s: float | None) -> E2EVerdict:
        can_id, data = frame.can_id, frame.data
        if can_id not in self._ids:
            return E2EVerdict.UNKNOWN_ID
        if len(data) != FRAME_LENGTH:
            return E2EVerdict.BAD_LENGTH
        if checksum(can_id, data) != data[-1]:
            return E2EVerdict.BAD_CHECKSUM
        counter = frame_counter(data)
        previous, previous_s = self._last.get(can_id, (None, None))
        self._last[can_id] = (counter, t_s)
        if previous is None or counter == (previous + 1) % counter_modulo():
            return E2EVerdict.OK
        if (
            counter == previous
            and t_s is not None
            and previous_s is not None
            and t_s - previous_s < DUPLICATE_WITHIN_PERIODS * period_s(can_id)
        ):
            return E2EVerdict.DUPLICATE_COUNTER
        return E2EVerdict.BAD_COUNTER

    def reset(self, can_id: int | None = None) -> None:
        """Forget the counter reference (all ids, or one), e.g. after the sender went silent."""
        if can_id is None:
            self._last.clear()
        else:
            self._last.pop(can_id, None)

    def drop_count(self, reason: E2EVerdict | None = None, can_id: int | None = None) -> int:
        return sum(
            n
            for (i, r), n in self.drops.items()
            if (reason is None or r is reason) and (can_id is None or i == can_id)
        )
