"""DBW bridge timing in realtime: command-to-frame latency and the 50 Hz frame period's jitter.

Latency: from publishing a /control/command with a new steering value to the first
DBW_STEER_CMD on the bus carrying it (python-can `virtual` bus timestamps, taken when the frame
is sent). The bridge sends on its own 20 ms timer, so the latency is DDS delivery plus the wait
for the next tick: about half a period on average, a period at most when the graph keeps up.
Period: intervals between consecutive DBW_STEER_CMD frames over the whole run.
The van is the simulated ECU running in realtime on the same bus, armed and engaged.
"""

from __future__ import annotations

import random
import threading
import time
import uuid

import can
import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from std_srvs.srv import SetBool
from trajectory_msgs.msg import JointTrajectory

from robovan_autonomy import interfaces
from robovan_autonomy.interfaces import ControlPlan
from robovan_autonomy.node_utils import now_s
from robovan_autonomy.sim.van_ecu_bus import VanEcuBus
from robovan_autonomy.vehicle import rvn_dbw
from robovan_autonomy.vehicle.dbw_bridge_node import DbwBridgeNode
from robovan_autonomy.vehicle.rvn_dbw import DbwState, MsgId

STEER_STEP_RAD = 0.005  # alternating ± this: inside one tick's steering-rate allowance (0.012 rad)
MATCH_TOLERANCE_RAD = 5e-5  # half an LSB of STEER_ANGLE_CMD
WAIT_S = 5.0


class _SteerFrames:
    """Collects (bus timestamp, angle) of every DBW_STEER_CMD from a reader thread."""

    def __init__(self, bus: can.BusABC):
        self.frames: list[tuple[float, float]] = []
        self._lock = threading.Lock()
        self._notifier = can.Notifier(bus, [self._on_message], timeout=0.05)

    def _on_message(self, message: can.Message) -> None:
        if message.arbitration_id == MsgId.STEER_CMD:
            steer = rvn_dbw.decode(rvn_dbw.Frame(message.arbitration_id, bytes(message.data)))
            with self._lock:
                self.frames.append((message.timestamp, steer.angle_rad))

    def first_with(self, angle_rad: float, after_s: float) -> float | None:
        with self._lock:
            return next(
                (
                    t
                    for t, a in self.frames
                    if t >= after_s and abs(a - angle_rad) < MATCH_TOLERANCE_RAD
                ),
                None,
            )

    def stop(self) -> None:
        self._notifier.stop()


def _plan(stamp_s: float, steer_rad: float) -> JointTrajectory:
    t = np.arange(0.0, 1.0 + 1e-9, 0.1)
    return interfaces.encode_control_command(
        ControlPlan(
            stamp_s=stamp_s,
            time_from_start_s=t,
            steer_rad=np.full_like(t, steer_rad),
            steer_rate_radps=np.zeros_like(t),
            speed_mps=np.zeros_like(t),
            accel_mps2=np.zeros_like(t),
        )
    )


def _wait(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"bench setup: {what}")
        time.sleep(0.002)


def _percentiles(values_s: list[float]) -> tuple[float, float, float]:
    ms = np.asarray(values_s) * 1e3
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99)), float(ms.max())


def run(quick: bool = False) -> dict:
    samples = 30 if quick else 300
    rng = random.Random(0)
    channel = f"bench_{uuid.uuid4().hex}"
    context = rclpy.Context()
    rclpy.init(context=context)
    van_bus = can.Bus(interface="virtual", channel=channel)
    sniffer_bus = can.Bus(interface="virtual", channel=channel)
    van = VanEcuBus(van_bus)
    bridge = DbwBridgeNode(
        context=context, parameter_overrides=[Parameter("can_channel", value=channel)]
    )
    probe = rclpy.create_node("bridge_latency_bench", context=context)
    publisher = probe.create_publisher(
        JointTrajectory, interfaces.CONTROL_COMMAND, interfaces.RELIABLE_QOS
    )
    client = probe.create_client(SetBool, interfaces.VEHICLE_ENGAGE)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(bridge)
    executor.add_node(probe)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    steer = _SteerFrames(sniffer_bus)
    latencies = []
    try:
        spinner.start()
        van.start()
        van.arm()
        _wait(client.service_is_ready, "engage service")
        _wait(lambda: publisher.get_subscription_count() > 0, "bridge subscription")
        future = client.call_async(SetBool.Request(data=True))
        _wait(future.done, "engage answer")
        while van.ecu.state is not DbwState.ENGAGED:
            publisher.publish(_plan(now_s(probe), 0.0))
            time.sleep(0.02)
            if van.ecu.state is DbwState.FAULT_SAFE_STOP:
                raise RuntimeError("bench setup: van faulted while engaging")
        frames_from = len(steer.frames)
        for i in range(samples):
            angle = STEER_STEP_RAD if i % 2 == 0 else -STEER_STEP_RAD
            sent_s = time.time()
            publisher.publish(_plan(now_s(probe), angle))
            _wait(lambda: steer.first_with(angle, sent_s) is not None, "frame with the new value")
            latencies.append(steer.first_with(angle, sent_s) - sent_s)
            time.sleep(rng.uniform(0.0, 0.02))  # publish at every phase of the bridge's tick
        stamps = [t for t, _ in steer.frames[frames_from:]]
    finally:
        steer.stop()
        van.stop()
        executor.shutdown()
        spinner.join(timeout=2.0)
        bridge.destroy_node()
        probe.destroy_node()
        rclpy.shutdown(context=context)
        van_bus.shutdown()
        sniffer_bus.shutdown()
    periods = np.diff(stamps)
    p50, p99, worst = _percentiles(latencies)
    period_p50, period_p99, _ = _percentiles(list(periods))
    jitter_p99 = float(np.percentile(np.abs(periods - rvn_dbw.period_s(MsgId.STEER_CMD)) * 1e3, 99))
    return {
        "p50_ms": p50,
        "p99_ms": p99,
        "max_ms": worst,
        "period_p50_ms": period_p50,
        "period_p99_ms": period_p99,
        "period_max_ms": float(periods.max() * 1e3),
        "jitter_p99_ms": jitter_p99,
        "samples": samples,
        "frames": len(stamps),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(quick=True), indent=2))
