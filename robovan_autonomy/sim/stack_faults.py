"""Faults the simulation runner injects into the stack itself, beside the world's sensor faults.

- A node's output going bad (planner, localization: drop, freeze, nan, delay, jump): the node
  publishes on a private topic and a `FaultRelayNode` passes its messages on through a
  FaultInjector, as a broken process or a lossy link would deliver them.
- A second writer of commands: `RogueCommandNode` publishes /control/command beside the command
  gate; `RogueCanTransmitter` sends DBW_STEER_CMD and DBW_ACCEL_CMD beside the bridge.
- The van's CAN reports going bad (`VanReportBus`: drop, kill, freeze, delay).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import can
import numpy as np
from nav_msgs.msg import Odometry
from rclpy.node import Node
from trajectory_msgs.msg import JointTrajectory

from robovan_autonomy import interfaces as itf
from robovan_autonomy.node_utils import now_s
from robovan_autonomy.sim.faults import FaultInjector, FaultKind, SensorFault
from robovan_autonomy.sim.scenario import Fault
from robovan_autonomy.vehicle import rvn_dbw
from robovan_autonomy.vehicle.rvn_dbw import Gear, MsgId

# Where a node whose output is faulted publishes instead; the relay republishes on the real topic.
FAULTED_PREFIX = "/sim/faulted"
RELAY_PERIOD_S = 0.01  # how often delayed messages are let through (the lockstep tick)
ROGUE_PERIOD_S = 0.02  # a rogue node publishing at 50 Hz, a rogue transmitter every 20 ms
ROGUE_PLAN_HORIZON_S = 1.0


@dataclasses.dataclass(frozen=True)
class RelayedTopic:
    topic: str
    msg_type: type
    decode: Callable
    encode: Callable


def relayed_topics() -> dict[str, RelayedTopic]:
    """The node outputs a relay can fault, by fault target."""
    return {
        "planner": RelayedTopic(
            itf.PLANNING_COMMAND,
            JointTrajectory,
            itf.decode_control_command,
            itf.encode_control_command,
        ),
        "localization": RelayedTopic(
            itf.ODOMETRY, Odometry, itf.decode_odometry, itf.encode_odometry
        ),
    }


def sensor_faults(faults: list[Fault]) -> list[SensorFault]:
    return [SensorFault(FaultKind(f.kind), f.start_s, f.end_s, f.value or 0.0) for f in faults]


def nan_message(msg):
    """msg with every floating-point field NaN, as a node emitting garbage would send it (stamps
    and durations are integers and stay: the message is still well-formed)."""
    for name, kind in msg.get_fields_and_field_types().items():
        value = getattr(msg, name)
        if kind in ("double", "float"):
            setattr(msg, name, math.nan)
        elif kind.startswith(("double[", "float[", "sequence<double", "sequence<float")):
            setattr(msg, name, [math.nan] * len(value))
        elif kind.startswith("sequence<"):
            for item in value:
                if hasattr(item, "get_fields_and_field_types"):
                    nan_message(item)
        elif hasattr(value, "get_fields_and_field_types"):
            nan_message(value)
    return msg


class FaultRelayNode(Node):
    """Passes one node's output from its private topic to the real one through a FaultInjector.

    Faults are judged at each message's stamp; a frozen message carries the stamp its fresh
    replacement had (a planner repeating its last plan under fresh stamps); a NaN fault is applied
    to the message's float fields (a plan's times are durations and cannot be NaN). Messages due
    now go out at once; delayed ones from the relay's timer.
    """

    def __init__(self, target: str, faults: list[Fault], **node_kwargs):
        super().__init__(f"fault_relay_{target}", **node_kwargs)
        self.relayed = relayed_topics()[target]
        self.nan_faults = [f for f in faults if f.kind == "nan"]
        self.injector = FaultInjector(sensor_faults([f for f in faults if f.kind != "nan"]))
        self._late: list[tuple[float, object]] = []
        self._pub = self.create_publisher(
            self.relayed.msg_type, self.relayed.topic, itf.RELIABLE_QOS
        )
        self.create_subscription(
            self.relayed.msg_type,
            FAULTED_PREFIX + self.relayed.topic,
            self._on_message,
            itf.RELIABLE_QOS,
        )
        self.create_timer(RELAY_PERIOD_S, self._flush)

    def _on_message(self, msg) -> None:
        payload = self.relayed.decode(msg)
        delivery = self.injector.apply(payload.stamp_s, payload)
        if delivery is None:
            return
        self._late.append((now_s(self) + delivery.deliver_at_s - payload.stamp_s, delivery.payload))
        self._flush()

    def _flush(self) -> None:
        now = now_s(self)
        due = [payload for at, payload in self._late if at <= now + 1e-9]
        self._late = [(at, payload) for at, payload in self._late if at > now + 1e-9]
        for payload in due:
            msg = self.relayed.encode(payload)
            if any(f.start_s <= payload.stamp_s < f.end_s for f in self.nan_faults):
                msg = nan_message(msg)
            self._pub.publish(msg)


class RogueCommandNode(Node):
    """A second node writing /control/command, as a stray test tool or a compromised process
    would: a plan asking accel_mps2 from now on, at 50 Hz, stamped fresh."""

    def __init__(self, accel_mps2: float, **node_kwargs):
        super().__init__("rogue_commander", **node_kwargs)
        self.accel_mps2 = accel_mps2
        self._pub = self.create_publisher(JointTrajectory, itf.CONTROL_COMMAND, itf.RELIABLE_QOS)
        self.create_timer(ROGUE_PERIOD_S, self._publish)

    def _publish(self) -> None:
        t = np.array([0.0, ROGUE_PLAN_HORIZON_S])
        self._pub.publish(
            itf.encode_control_command(
                itf.ControlPlan(
                    stamp_s=now_s(self),
                    time_from_start_s=t,
                    steer_rad=np.zeros(2),
                    steer_rate_radps=np.zeros(2),
                    speed_mps=np.maximum(self.accel_mps2 * t, 0.0),
                    accel_mps2=np.full(2, self.accel_mps2),
                )
            )
        )


class RogueCanTransmitter:
    """A second transmitter of command frames on the van's bus, asking accel_mps2 with its own
    valid counters and checksums, every 20 ms of simulated time."""

    def __init__(self, channel: str, accel_mps2: float):
        self.bus = can.Bus(interface="virtual", channel=channel, receive_own_messages=False)
        self.accel_mps2 = accel_mps2
        self._counters = rvn_dbw.CounterGenerator()
        self._next_s: float | None = None

    def poll(self, t_s: float) -> int:
        """Send what is due at t_s; how many frames."""
        if self._next_s is not None and t_s + 1e-9 < self._next_s:
            return 0
        self._next_s = t_s + ROGUE_PERIOD_S
        for message in (
            rvn_dbw.SteerCommand(0.0, 0.0, True, self._counters.next(MsgId.STEER_CMD)),
            rvn_dbw.AccelCommand(
                self.accel_mps2, Gear.DRIVE, True, self._counters.next(MsgId.ACCEL_CMD)
            ),
        ):
            frame = rvn_dbw.encode(message)
            self.bus.send(
                can.Message(arbitration_id=frame.can_id, data=frame.data, is_extended_id=False)
            )
        return 2

    def shutdown(self) -> None:
        self.bus.shutdown()


class VanReportBus:
    """The van's side of the bus, through which can_reports faults reach the bridge: drop and kill
    swallow the reports, freeze repeats each identifier's last frame before the fault (counter and
    checksum unchanged, as a stuck transmit buffer does), delay sends them `value` s late."""

    def __init__(self, bus: can.BusABC, faults: list[Fault]):
        self.bus = bus
        self.faults = faults
        self.sent = 0  # frames put on the bus, for the lockstep's delivery barrier
        self._t_s = 0.0
        self._last: dict[int, can.Message] = {}
        self._late: list[tuple[float, can.Message]] = []

    def advance(self, t_s: float) -> None:
        """Move to t_s and send the delayed frames now due."""
        self._t_s = t_s
        due = [message for at, message in self._late if at <= t_s + 1e-9]
        self._late = [(at, message) for at, message in self._late if at > t_s + 1e-9]
        for message in due:
            self._transmit(message)

    def recv(self, timeout: float | None = None) -> can.Message | None:
        return self.bus.recv(timeout=timeout)

    def send(self, message: can.Message) -> None:
        fault = next((f for f in self.faults if f.start_s <= self._t_s < f.end_s), None)
        kind = fault.kind if fault is not None else None
        if kind in ("drop", "kill"):
            return
        if kind == "freeze":
            message = self._last.get(message.arbitration_id)
            if message is None:
                return
        else:
            self._last[message.arbitration_id] = message
        if kind == "delay":
            self._late.append((self._t_s + fault.value, message))
        else:
            self._transmit(message)

    def _transmit(self, message: can.Message) -> None:
        self.bus.send(message)
        self.sent += 1
