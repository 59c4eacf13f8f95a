"""Puts the simulated van (VanEcu + VanPlant) on a python-can bus.

Only I/O lives here: frames in and out, a clock, a console. Lockstep simulation calls `poll`
with simulated time; a realtime van (`start`, or `main` as a separate process playing the van)
polls from a thread with wall time. Either way the autonomy stack sees nothing but CAN frames.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time

import can

from robovan_autonomy.sim.van_ecu import PLANT_STEP_S, VanEcu
from robovan_autonomy.vehicle.rvn_dbw import DbwState, FaultCode, Frame


def _to_message(frame: Frame) -> can.Message:
    return can.Message(arbitration_id=frame.can_id, data=frame.data, is_extended_id=False)


class VanEcuBus:
    """One van on one bus. The caller owns the bus (creates and shuts it down)."""

    def __init__(self, bus: can.BusABC, ecu: VanEcu | None = None):
        self.bus = bus
        self.ecu = ecu or VanEcu()
        self.send_errors = 0
        self._lock = threading.Lock()  # the realtime thread and the console share the ECU
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll(self, t_s: float) -> list[Frame]:
        """Deliver every frame waiting on the bus at t_s, run the van to t_s, send its reports."""
        with self._lock:
            while (message := self.bus.recv(timeout=0.0)) is not None:
                if not (
                    message.is_extended_id or message.is_remote_frame or message.is_error_frame
                ):
                    self.ecu.receive(Frame(message.arbitration_id, bytes(message.data)), t_s)
            frames = self.ecu.step(t_s)
        for frame in frames:
            try:
                self.bus.send(_to_message(frame))
            except can.CanError:
                self.send_errors += 1
        return frames

    def arm(self) -> bool:
        with self._lock:
            return self.ecu.arm()

    def set_driver(self, **inputs) -> None:
        """As VanEcu.set_driver, safe to call while the realtime thread runs."""
        with self._lock:
            self.ecu.set_driver(**inputs)

    def start(self, period_s: float = PLANT_STEP_S) -> None:
        """Run in realtime from a background thread; the van's clock continues from its own time."""
        if self._thread is not None:
            raise RuntimeError("the van is already running")
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, args=(period_s,), name="van_ecu", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None

    def _run(self, period_s: float) -> None:
        start_wall_s, start_sim_s = time.monotonic(), self.ecu.time_s
        next_wall_s = start_wall_s
        while not self._stop.is_set():
            self.poll(start_sim_s + time.monotonic() - start_wall_s)
            next_wall_s = max(next_wall_s + period_s, time.monotonic())
            self._stop.wait(next_wall_s - time.monotonic())

    def __enter__(self) -> VanEcuBus:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


_CONSOLE_HELP = (
    "commands: arm | estop on|off | brake on|off | throttle on|off | torque <N·m> | status | quit"
)


def _console_command(van: VanEcuBus, line: str) -> str | None:
    """Apply one console line; returns a reply to print, or None to quit."""
    words = line.split()
    if not words:
        return ""
    switches = {"estop": "estop", "brake": "brake_pedal", "throttle": "throttle_pedal"}
    if words == ["quit"]:
        return None
    if words == ["arm"]:
        return "armed" if van.arm() else "arming refused"
    if words == ["status"]:
        ecu = van.ecu
        return (
            f"{ecu.state.name} fault={ecu.fault.name} "
            f"speed={ecu.plant.speed_mps:.2f} m/s {ecu.driver}"
        )
    if len(words) == 2 and words[0] in switches and words[1] in ("on", "off"):
        van.set_driver(**{switches[words[0]]: words[1] == "on"})
        return f"{words[0]} {words[1]}"
    if len(words) == 2 and words[0] == "torque":
        try:
            van.set_driver(steering_torque_nm=float(words[1]))
        except ValueError:
            return _CONSOLE_HELP
        return f"torque {float(words[1])} N·m"
    return _CONSOLE_HELP


def _print_transition(t_s: float, old: DbwState, new: DbwState, fault: FaultCode) -> None:
    reason = f" ({fault.name})" if fault is not FaultCode.NONE else ""
    print(f"{t_s:10.3f} s  {old.name} -> {new.name}{reason}", flush=True)


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=prog, description="Play the robovan's drive-by-wire ECU on a CAN bus, in realtime."
    )
    parser.add_argument("--interface", default="udp_multicast", help="python-can interface")
    parser.add_argument(
        "--channel", required=True, help="python-can channel (udp_multicast: the group)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=43113,
        help="udp_multicast: UDP port (the bridge's can_udp_port)",
    )
    parser.add_argument(
        "--hop-limit",
        type=int,
        default=0,
        help="udp_multicast: multicast TTL; 0 keeps the frames on this host",
    )
    parser.add_argument(
        "--arm", action="store_true", help="arm autonomy at start, as a person would"
    )
    parser.add_argument(
        "--duration-s", type=float, default=None, help="stop after this long (default: run)"
    )
    args = parser.parse_args(argv)

    quit_event = threading.Event()
    options = (
        {"port": args.port, "hop_limit": args.hop_limit}
        if args.interface == "udp_multicast"
        else {}
    )
    with can.Bus(interface=args.interface, channel=args.channel, **options) as bus:
        van = VanEcuBus(bus, VanEcu(on_transition=_print_transition))
        print(
            f"van ECU on {args.interface}:{args.channel}, {van.ecu.state.name}; {_CONSOLE_HELP}",
            flush=True,
        )
        if args.arm:
            van.arm()

        def console() -> None:
            for line in sys.stdin:
                reply = _console_command(van, line)
                if reply is None:
                    quit_event.set()
                    return
                if reply:
                    print(reply, flush=True)

        threading.Thread(target=console, name="van_console", daemon=True).start()
        with van:
            van.start()
            try:
                quit_event.wait(args.duration_s)
            except KeyboardInterrupt:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
