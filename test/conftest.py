"""Test-wide isolation: each pytest run talks DDS on its own domain and on this host only."""

import os
import random

os.environ.setdefault("ROS_DOMAIN_ID", str(random.Random(os.getpid()).randint(1, 100)))
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")


import time  # noqa: E402  (after the environment above: DDS reads it when a context starts)

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

# Property tests draw the same examples every run: CI verdicts do not depend on the dice.
settings.register_profile("deterministic", derandomize=True)
settings.load_profile("deterministic")

WAIT_WALL_S = 5.0  # guard against a hung graph, never a timing assertion


class SimClockGraph:
    """Nodes under test on sim time in one context, clocked by the test in 10 ms steps.

    `step` publishes /clock, then runs every ready callback until none is left (in-process DDS
    delivers inside publish()), so a test sees exactly what the nodes did up to that sim time.
    """

    def __init__(self):
        import rclpy
        from rosgraph_msgs.msg import Clock

        from robovan_autonomy import interfaces
        from robovan_autonomy.tools.lockstep import LockstepGraph

        self._rclpy, self._itf = rclpy, interfaces
        self.graph = LockstepGraph()
        self.context = self.graph.context
        self.probe = self.graph.add(rclpy.create_node("test_probe", context=self.context))
        self.clock_pub = self.probe.create_publisher(Clock, interfaces.CLOCK, interfaces.CLOCK_QOS)
        self.t_s = 0.0

    def add(self, node_class, **parameters):
        from rclpy.parameter import Parameter

        overrides = [Parameter("use_sim_time", value=True)]
        overrides += [Parameter(name, value=value) for name, value in parameters.items()]
        return self.graph.add(node_class(context=self.context, parameter_overrides=overrides))

    def add_node(self, node):
        return self.graph.add(node)

    def remove(self, node) -> None:
        """Take a node out and destroy it, as a crash or shutdown would."""
        self.graph.remove(node)

    def publisher(self, msg_type, topic, qos=None):
        return self.probe.create_publisher(msg_type, topic, qos or self._itf.RELIABLE_QOS)

    def command_gate(self):
        """A stand-in for the command gate: publish(plan) sends it on /control/command from a node
        named command_gate, numbered as the gate numbers its commands (the bridge follows nothing
        else)."""
        import dataclasses
        import itertools

        from trajectory_msgs.msg import JointTrajectory

        node = self.add_node(self._rclpy.create_node("command_gate", context=self.context))
        publisher = node.create_publisher(
            JointTrajectory, self._itf.CONTROL_COMMAND, self._itf.RELIABLE_QOS
        )
        sequence = itertools.count(1)
        itf = self._itf

        class Gate:
            def publish(self, plan, tamper=None):
                msg = itf.encode_control_command(dataclasses.replace(plan, sequence=next(sequence)))
                if tamper is not None:
                    tamper(msg)
                publisher.publish(msg)

        return Gate()

    def collect(self, msg_type, topic, decode=None, qos=None) -> list:
        """Every message on topic from now on (decoded when `decode` is given)."""
        received = []
        self.probe.create_subscription(
            msg_type,
            topic,
            lambda msg: received.append(decode(msg) if decode else msg),
            qos or self._itf.RELIABLE_QOS,
        )
        return received

    def drain(self) -> None:
        self.graph.drain()

    def wait_for(self, condition) -> None:
        """Run callbacks (sim time standing still) until condition() holds: DDS may hand a message
        published inside a callback to its reader a moment later."""
        deadline = time.monotonic() + WAIT_WALL_S
        while not condition():
            self.graph.executor.spin_once(timeout_sec=0.01)
            assert time.monotonic() < deadline, "the graph stopped answering"

    def step(self, dt_s: float = 0.01) -> None:
        self.t_s = round(self.t_s + dt_s, 9)
        self.clock_pub.publish(self._itf.encode_clock(self.t_s))
        self.drain()

    def run(self, duration_s: float, each_step=None) -> None:
        for _ in range(int(round(duration_s / 0.01))):
            if each_step is not None:
                each_step(self.t_s + 0.01)
            self.step()

    def close(self) -> None:
        self.graph.close()


# Autoware's LiDAR drivers' point: x, y, z float32, intensity uint8, return_type uint8, channel
# uint16, here padded to 24 bytes.
AUTOWARE_POINT = np.dtype(
    {
        "names": ["x", "y", "z", "intensity", "return_type", "channel"],
        "formats": ["<f4", "<f4", "<f4", "u1", "u1", "<u2"],
        "offsets": [0, 4, 8, 12, 13, 14],
        "itemsize": 24,
    }
)


def _foreign_cloud(
    points, layout=AUTOWARE_POINT, *, frame_id="lidar_top", stamp_s=0.0, height=1, row_step=None
):
    """A PointCloud2 as another driver lays it out: (N, 4) x, y, z, intensity in the fields of
    `layout` that hold them (its types, its byte order), every other byte (other fields, padding)
    0xAB; `height` rows, each padded to `row_step` bytes."""
    from sensor_msgs.msg import PointCloud2, PointField

    from robovan_autonomy import interfaces

    width = len(points) // height
    row_step = row_step or layout.itemsize * width
    data = np.full(height * row_step, 0xAB, np.uint8)
    for row in range(height):
        table = np.ndarray(width, layout, data, row * row_step)
        for column, name in enumerate(["x", "y", "z", "intensity"]):
            if name in layout.names:
                table[name] = points[row * width : (row + 1) * width, column]
    datatypes = {
        "f4": PointField.FLOAT32,
        "f8": PointField.FLOAT64,
        "u1": PointField.UINT8,
        "u2": PointField.UINT16,
    }
    return PointCloud2(
        header=interfaces.header(stamp_s, frame_id),
        height=height,
        width=width,
        fields=[
            PointField(
                name=name, offset=offset, datatype=datatypes[f"{kind.kind}{kind.itemsize}"], count=1
            )
            for name, (kind, offset) in layout.fields.items()
        ],
        is_bigendian=layout["x"].byteorder == ">",
        point_step=layout.itemsize,
        row_step=row_step,
        data=data.tobytes(),
        is_dense=False,
    )


@pytest.fixture(scope="session")
def foreign_cloud():
    return _foreign_cloud


def pytest_collection_modifyitems(items):
    """A test that reads a closed-loop recording (the `sim_run` fixture) is as slow as the run."""
    for item in items:
        if "sim_run" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def sim_graph():
    graph = SimClockGraph()
    yield graph
    graph.close()


# --- foreign Lanelet2 maps (test/data/maps; the scripts there write them) ------------------------

FOREIGN_MAPS = os.path.join(os.path.dirname(__file__), "data", "maps")


@pytest.fixture(scope="module")
def junction_map():
    """Hand-written OSM XML: a signalised T-junction, lane changes, two-way side street; origin
    in its sidecar."""
    from robovan_autonomy.mapping.lanelet_map import load_map

    return load_map(os.path.join(FOREIGN_MAPS, "hand_junction.osm"))


@pytest.fixture(scope="module")
def ring_map():
    """Written with Lanelet2's Python API: a two-lane ring with coarse bends, a two-way side road;
    no sidecar, the origin is given."""
    from robovan_autonomy.mapping.lanelet_map import GeodeticOrigin, load_map

    origin = GeodeticOrigin(52.5163, 13.3777, 34.0)
    return load_map(os.path.join(FOREIGN_MAPS, "lanelet2_ring.osm"), origin)


@pytest.fixture
def junction_copy(tmp_path):
    """A private copy of the hand-written junction and its sidecar, for breaking."""
    import shutil

    for name in ("hand_junction.osm", "hand_junction.yaml"):
        shutil.copy(os.path.join(FOREIGN_MAPS, name), tmp_path / name)
    return tmp_path / "hand_junction.osm"
