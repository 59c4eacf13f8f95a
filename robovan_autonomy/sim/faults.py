"""Injectable sensor faults, applied by the simulator to every sensor stream alike.

Each fault is active in a window [start_s, end_s). For each message the simulator produces it
asks `FaultInjector.apply(t_s, payload)` what to deliver instead: nothing (drop), the last good
payload again with a fresh stamp (freeze), the payload with every float NaN (nan), or the payload
delivered late (delay) or stamped in the past (stamp_lag). Payloads are anything: numpy arrays,
numbers, dataclasses (the sensor models' readings), tuples, lists and dicts of those. A
dataclass payload with a `stamp_s` field is restamped to match the delivery, so the simulator
can take the stamp from either.
"""
from __future__ import annotations

import dataclasses
import enum
import math
from typing import Any, Sequence

import numpy as np


class FaultKind(str, enum.Enum):
    DROP = "drop"            # no message at all
    FREEZE = "freeze"        # the last good payload again; stamps advance, content does not
    NAN = "nan"              # every floating-point value is NaN (stamps stay valid)
    DELAY = "delay"          # delivered delay_s late, with its true stamp
    STAMP_LAG = "stamp_lag"  # delivered on time, stamped delay_s in the past


@dataclasses.dataclass(frozen=True)
class SensorFault:
    kind: FaultKind
    start_s: float
    end_s: float = math.inf
    delay_s: float = 0.0     # for DELAY and STAMP_LAG

    def active(self, t_s: float) -> bool:
        return self.start_s <= t_s < self.end_s


@dataclasses.dataclass(frozen=True)
class Delivery:
    deliver_at_s: float   # when the message reaches its subscribers
    stamp_s: float        # the header stamp it carries
    payload: Any


def nan_like(payload: Any) -> Any:
    """A copy of payload with every float (scalar or array element) NaN. Integer data (images,
    ids, flags) cannot hold NaN and stays; fields named stamp* stay so the message is still
    well-formed, as a sensor driver emitting garbage would leave its header intact."""
    if isinstance(payload, np.ndarray):
        return np.full_like(payload, np.nan) if np.issubdtype(payload.dtype, np.floating) else payload.copy()
    if isinstance(payload, float):
        return math.nan
    if dataclasses.is_dataclass(payload) and not isinstance(payload, type):
        changes = {f.name: nan_like(getattr(payload, f.name)) for f in dataclasses.fields(payload)
                   if not f.name.startswith("stamp")}
        return dataclasses.replace(payload, **changes)
    if isinstance(payload, (tuple, list)):
        return type(payload)(nan_like(item) for item in payload)
    if isinstance(payload, dict):
        return {key: nan_like(value) for key, value in payload.items()}
    return payload


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
        delay = active[FaultKind.DELAY].delay_s if FaultKind.DELAY in active else 0.0
        lag = active[FaultKind.STAMP_LAG].delay_s if FaultKind.STAMP_LAG in active else 0.0
        return Delivery(t_s + delay, t_s - lag, _restamp(payload, t_s - lag))


def _restamp(payload: Any, stamp_s: float) -> Any:
    if dataclasses.is_dataclass(payload) and any(f.name == "stamp_s" for f in dataclasses.fields(payload)):
        return dataclasses.replace(payload, stamp_s=stamp_s)
    return payload
