"""Who may command the van: the command gate alone, on ROS and on the CAN bus. Pure: no rclpy.

/control/command has exactly one legitimate writer. The bridge checks three things:
- the graph: one publisher on the topic, and it is the gate (DDS tells the bridge who publishes);
- each command: from the gate's publisher (its DDS identity, where the middleware reports one),
  and carrying a sequence number higher than the last one taken, as the gate numbers them (a
  second writer or a replay either carries none or repeats one);
- the bus: command frames (DBW_*_CMD) the bridge did not send itself are a second transmitter.
A refused command is never followed. Each finding stays a fault for HOLD_S after it was last
seen, so the supervisor latches a minimal-risk stop and a person must clear it.
"""

from __future__ import annotations

import dataclasses
import math

# A refused command or a foreign command frame stays a fault this long, s.
HOLD_S = 1.0


@dataclasses.dataclass(frozen=True)
class Writer:
    """A publisher of /control/command, as the graph reports it."""

    node_name: str
    gid: bytes


class CommandAuthority:
    def __init__(self, writer_name: str):
        self.writer_name = writer_name
        self.writers: tuple[Writer, ...] = ()
        self.refused = 0
        self.foreign_frames = 0
        self.last_sequence: int | None = None
        self._refusal = ""
        self._refused_at_s = -math.inf
        self._foreign = ""
        self._foreign_at_s = -math.inf

    @property
    def gate_gids(self) -> frozenset[bytes]:
        return frozenset(w.gid for w in self.writers if w.node_name == self.writer_name)

    def on_graph(self, writers: list[Writer]) -> None:
        self.writers = tuple(writers)

    def admit(self, sequence: int | None, gid: bytes | None, now_s: float) -> str:
        """'' when a command may be followed, else why it is refused (and counted)."""
        if gid is not None and gid not in self.gate_gids:
            return self._refuse(f"command from a writer other than {self.writer_name}", now_s)
        if sequence is None:
            return self._refuse("command without the gate's sequence number", now_s)
        if self.last_sequence is not None and sequence <= self.last_sequence:
            return self._refuse(
                f"command sequence {sequence} not after {self.last_sequence}: "
                "a second writer or a replay",
                now_s,
            )
        self.last_sequence = sequence
        return ""

    def on_foreign_frame(self, frame_name: str, now_s: float) -> None:
        """A command frame on the bus that the bridge did not send."""
        self.foreign_frames += 1
        self._foreign, self._foreign_at_s = (
            f"a second transmitter sends {frame_name} on the CAN bus",
            now_s,
        )

    def resync(self) -> None:
        """A person asked to engage: take the gate's numbering afresh (it may have restarted)."""
        self.last_sequence = None

    def problem(self, now_s: float) -> str:
        """The current command-authority fault, '' when there is none."""
        others = [w.node_name for w in self.writers if w.node_name != self.writer_name]
        if others:
            names = ", ".join(w.node_name or "?" for w in self.writers)
            return (
                f"{len(self.writers)} writers of the command topic ({names}), "
                f"only {self.writer_name} may"
            )
        if now_s - self._foreign_at_s < HOLD_S:
            return self._foreign
        if now_s - self._refused_at_s < HOLD_S:
            return f"refused commands: {self._refusal}"
        return ""

    def _refuse(self, reason: str, now_s: float) -> str:
        self.refused += 1
        self._refusal, self._refused_at_s = reason, now_s
        return reason
