"""The bridge's part in minimal-risk stops: hazards on while the supervisor stops the van, and an
engaged van is never released to coast when its reports go silent."""

import uuid

import can
import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from std_srvs.srv import SetBool

from robovan_autonomy import core_types as ct
from robovan_autonomy import interfaces as itf
from robovan_autonomy.sim.van_ecu_bus import VanEcuBus
from robovan_autonomy.system.modes import OperatingMode
from robovan_autonomy.vehicle import rvn_dbw
from robovan_autonomy.vehicle.dbw_bridge_node import DbwBridgeNode
from robovan_autonomy.vehicle.rvn_dbw import DbwState, MsgId

WAIT_STEPS = 300  # sim-time steps a service call or engagement may take: a hung graph, not timing


class MutableBus:
    """The van's side of the bus; muted, its report frames never reach the bridge."""

    def __init__(self, bus):
        self.bus, self.muted = bus, False

    def recv(self, timeout=None):
        return self.bus.recv(timeout=timeout)

    def send(self, message):
        if not self.muted:
            self.bus.send(message)


class Rig:
    def __init__(self, graph):
        self.graph = graph
        channel = f"dbw_safety_{uuid.uuid4().hex}"
        self.bridge = graph.add(DbwBridgeNode, can_channel=channel)
        self.buses = [can.Bus(interface="virtual", channel=channel) for _ in range(2)]
        self.van_side = MutableBus(self.buses[0])
        self.van = VanEcuBus(self.van_side)
        self.sniffer = self.buses[1]
        self.gate = graph.command_gate()
        self.modes = graph.publisher(DiagnosticArray, itf.SYSTEM_MODE)
        self.engage_client = graph.probe.create_client(SetBool, itf.VEHICLE_ENGAGE)
        self.frames: list[tuple[float, rvn_dbw.Message]] = []
        self.mode = OperatingMode.AUTONOMOUS
        self.delivered = 0

    def close(self):
        for bus in self.buses:
            bus.shutdown()

    def step(self):
        graph = self.graph
        t = round(graph.t_s + 0.01, 9)
        t_plan = np.arange(0.0, 1.01, 0.1)
        self.gate.publish(
            itf.ControlPlan(
                t,
                t_plan,
                np.zeros_like(t_plan),
                np.zeros_like(t_plan),
                np.ones_like(t_plan),
                np.zeros_like(t_plan),
            )
        )
        if round(t * 100) % 5 == 0:
            self.modes.publish(itf.encode_system_mode(ct.SystemMode(t, self.mode)))
        graph.step()
        sent = self.van.poll(graph.t_s)
        if not self.van_side.muted:
            self.delivered += len(sent)
            graph.wait_for(lambda: self.bridge.frames_received >= self.delivered)
        while (message := self.sniffer.recv(timeout=0.0)) is not None:
            if message.arbitration_id in rvn_dbw.COMMAND_IDS:
                self.frames.append(
                    (
                        graph.t_s,
                        rvn_dbw.decode(rvn_dbw.Frame(message.arbitration_id, bytes(message.data))),
                    )
                )

    def run(self, duration_s):
        for _ in range(int(round(duration_s / 0.01))):
            self.step()

    def engage(self):
        self.run(0.1)
        assert self.van.arm()
        future = self.engage_client.call_async(SetBool.Request(data=True))
        for _ in range(WAIT_STEPS):
            if future.done() and self.van.ecu.state is DbwState.ENGAGED:
                return
            self.step()
        raise AssertionError(f"van stuck in {self.van.ecu.state.name}")

    def since(self, t_s, can_id):
        kind = {
            MsgId.BODY_CMD: rvn_dbw.BodyCommand,
            MsgId.STEER_CMD: rvn_dbw.SteerCommand,
            MsgId.ACCEL_CMD: rvn_dbw.AccelCommand,
        }[can_id]
        return [m for t, m in self.frames if t > t_s and isinstance(m, kind)]


def test_hazards_go_on_while_the_supervisor_reports_a_minimal_risk_stop(sim_graph):
    rig = Rig(sim_graph)
    try:
        rig.engage()
        rig.run(0.3)
        before = rig.since(sim_graph.t_s - 0.2, MsgId.BODY_CMD)
        assert before and not any(m.hazard for m in before)
        rig.mode = OperatingMode.MRM_COMFORTABLE_STOP
        rig.run(0.1)
        since = sim_graph.t_s
        rig.run(0.3)
        during = rig.since(since, MsgId.BODY_CMD)
        assert len(during) >= 2 and all(m.hazard for m in during)
    finally:
        rig.close()


def test_engaged_van_stays_enabled_when_its_reports_go_silent(sim_graph):
    rig = Rig(sim_graph)
    try:
        rig.engage()
        rig.run(0.2)
        rig.van_side.muted = True
        since = sim_graph.t_s
        rig.run(0.5)
        commands = rig.since(since, MsgId.STEER_CMD) + rig.since(since, MsgId.ACCEL_CMD)
        assert len(commands) >= 40 and all(m.enable for m in commands)
        assert rig.van.ecu.state is DbwState.ENGAGED
    finally:
        rig.close()
