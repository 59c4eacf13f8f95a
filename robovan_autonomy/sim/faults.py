"""Injectable faults of a stream, applied alike to every sensor and to the nodes' outputs.

Each fault is active in a window [start_s, end_s). For each message the simulator produces (or a
node publishes) it asks `FaultInjector.apply(t_s, payload)` what to deliver instead: nothing
(drop), the last good payload again with a fresh stamp (freeze), the payload with every float NaN
(nan), with no rows in its arrays (empty: a LiDAR that returns nothing), with every integer sample
zero (black: a camera that sees nothing), moved `value` metres east (jump), or delivered late
(delay) or stamped in the past (stamp_lag). Payloads are anything: numpy arrays, numbers,
dataclasses (the sensor models' readings, the stack's plans and estimates), tuples, lists and
dicts of those. A dataclass payload with a `stamp_s` field is restamped to match the delivery, so
the simulator can take the stamp from either.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Sequence
from typing import Any

import numpy as np


class FaultKind(str, enum.Enum):
    DROP = "drop"  # no message at all
    FREEZE = "freeze"  # the last good payload again; stamps advance, content does not
    NAN = "nan"  # every floating-point value is NaN (stamps stay valid)
    DELAY = "delay"  # delivered `value` seconds late, with its true stamp
    STAMP_LAG = "stamp_lag"  # delivered on time, stamped `value` seconds in the past
    EMPTY = "empty"  # arrays have no rows (stamps stay valid)
    BLACK = "black"  # integer samples (image pixels) are zero
    JUMP = "jump"  # positions (x_m) moved `value` metres east


@dataclasses.dataclass(frozen=True)
class SensorFault:
    kind: FaultKind
    start_s: float
    end_s: float = math.inf
    value: float = 0.0  # DELAY, STAMP_LAG: seconds; JUMP: metres

    def active(self, t_s: float) -> bool:
        return self.start_s <= t_s < self.end_s


@dataclasses.dataclass(frozen=True)
class Delivery:
    deliver_at_s: float  # when the message reaches its subscribers
    stamp_s: float  # the header stamp it carries
    payload: Any


def _map_fields(payload: Any, change) -> Any:
    """payload with change() applied to each array and float inside it; fields named stamp* stay."""
    if isinstance(payload, (np.ndarray, float)):
        return change(payload)
    if dataclasses.is_dataclass(payload) and not isinstance(payload, type):
        changes = {
            f.name: _map_fields(getattr(payload, f.name), change)
            for f in dataclasses.fields(payload)
            if not f.name.startswith("stamp")
        }
        return dataclasses.replace(payload, **changes)
    if isinstance(payload, (tuple, list)):
        return type(payload)(_map_fields(item, change) for item in payload)
    if isinstance(payload, dict):
        return {key: _map_fields(value, change) for key, value in payload.items()}
    return payload


def nan_like(payload: Any) -> Any:
    """A copy of payload with every float (scalar or array element) NaN. Integer data (images,
    ids, flags) cannot hold NaN and stays; stamps stay so the message is still well-formed, as a
    sensor driver emitting garbage would leave its header intact."""

    def change(value):
        if isinstance(value, float):
            return math.nan
        return (
            np.full_like(value, np.nan) if np.issubdtype(value.dtype, np.floating) else value.copy()
        )

    return _map_fields(payload, change)


def empty_like(payload: Any) -> Any:
    """A copy of payload whose arrays have no rows (a cloud with no returns)."""
    return _map_fields(
        payload, lambda v: v[:0].copy() if isinstance(v, np.ndarray) and v.ndim else v
    )


def black_like(payload: Any) -> Any:
    """A copy of payload whose integer arrays (image pixels) are all zero."""
    return _map_fields(
        payload,
        lambda v: (
            np.zeros_like(v)
            if isinstance(v, np.ndarray) and np.issubdtype(v.dtype, np.integer)
            else v
        ),
    )


def jumped(payload: Any, east_m: float) -> Any:
    """payload moved east_m metres east: a dataclass's x_m (a pose estimate)."""
    if dataclasses.is_dataclass(payload) and any(
        f.name == "x_m" for f in dataclasses.fields(payload)
    ):
        return dataclasses.replace(payload, x_m=payload.x_m + east_m)
    raise TypeError(f"a jump fault needs a payload with x_m, got {type(payload).__name__}")


class FaultInjector:
    """The faults of one sensor stream. Holds only the last good payload, for freeze."""

    def __init__(self, faults: Sequence[SensorFault] = ()):
        self.faults = tuple(faults)
        self._last_good: Any = None

    def apply(self, t_s: float, payload: Any) -> Delivery | None:
        """What to deliver for a payload produced (and truly stamped) at t_s; None: nothing."""
        active = {f.kind: f for f in self.faults if f.active(t_s)}
        if FaultKind.DROP in active:
            return None
        if FaultKind.FREEZE in active:
            if self._last_good is None:
                return None
            payload = self._last_good
        else:
            self._last_good = payload
        if FaultKind.NAN in active:
            payload = nan_like(payload)
        if FaultKind.EMPTY in active:
            payload = empty_like(payload)
        if FaultKind.BLACK in active:
            payload = black_like(payload)
        if FaultKind.JUMP in active:
            payload = jumped(payload, active[FaultKind.JUMP].value)
        delay = active[FaultKind.DELAY].value if FaultKind.DELAY in active else 0.0
        lag = active[FaultKind.STAMP_LAG].value if FaultKind.STAMP_LAG in active else 0.0
        return Delivery(t_s + delay, t_s - lag, _restamp(payload, t_s - lag))


def _restamp(payload: Any, stamp_s: float) -> Any:
    if dataclasses.is_dataclass(payload) and any(
        f.name == "stamp_s" for f in dataclasses.fields(payload)
    ):
        return dataclasses.replace(payload, stamp_s=stamp_s)
    return payload
