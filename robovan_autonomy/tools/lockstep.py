"""The lockstep graph: one process's nodes in one context, stepped tick by tick.

The simulator, replay and the node tests all run their graph through `LockstepGraph`: a context
of its own (sealed: discovery off, so no graph beside it on the domain leaks in), every writer
matched with its readers before the first tick, and a drain per tick. DDS matches writers and
readers asynchronously, on its own threads, even inside one process: a message published before
its reader is matched is lost (volatile durability), so without the wait which of the first
messages arrive would depend on thread timing, and a lost first plan or status changes the whole
run.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time

import rclpy
from rcl_interfaces.srv import (
    DescribeParameters,
    GetParameters,
    GetParameterTypes,
    ListParameters,
    SetParameters,
    SetParametersAtomically,
)
from rclpy.event_handler import EventHandler
from rclpy.executors import (
    Executor,
    MultiThreadedExecutor,
    SingleThreadedExecutor,
    TimeoutException,
)
from rclpy.node import Node
from rclpy.qos import QoSCompatibility, qos_check_compatible
from rclpy.service import Service
from type_description_interfaces.srv import GetTypeDescription

# Wall time matching may take, s: in-process matching takes milliseconds; longer is a broken graph.
MATCH_TIMEOUT_S = 10.0
# A node that keeps re-triggering itself must not hang the loop.
MAX_CALLBACKS_PER_DRAIN = 10_000
DISCOVERY_RANGE_ENV = "ROS_AUTOMATIC_DISCOVERY_RANGE"
# The services rclpy gives every node for tools outside the process (`ros2 param`, …).
INTROSPECTION_SERVICE_TYPES = (
    DescribeParameters,
    GetParameters,
    GetParameterTypes,
    ListParameters,
    SetParameters,
    SetParametersAtomically,
    GetTypeDescription,
)


@contextlib.contextmanager
def sealed_graph(sealed: bool = True):
    """Within this block rclpy.init gives contexts whose participant discovers nothing outside
    this process (ROS_AUTOMATIC_DISCOVERY_RANGE=OFF, read once by rcl_init): in-process nodes
    still talk, and no graph running beside them on the same domain can leak in."""
    saved = os.environ.get(DISCOVERY_RANGE_ENV)
    if sealed:
        os.environ[DISCOVERY_RANGE_ENV] = "OFF"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(DISCOVERY_RANGE_ENV, None)
        else:
            os.environ[DISCOVERY_RANGE_ENV] = saved


class OrderedExecutor(SingleThreadedExecutor):
    """rclpy keeps an executor's nodes in a set, so callbacks ready in the same wait ran in an
    order set by the nodes' memory addresses, different from run to run (two lockstep runs then
    recorded one tick's /diagnostics in different orders). Here they run in the order the nodes
    joined.

    It does not wait on QoS event handlers (the incompatible-QoS and incompatible-type warnings
    rclpy gives every endpoint): `wait_until_matched` has checked the whole graph before the first
    tick, no node of ours handles QoS events, and the ~150 handlers of the stack more than doubled
    the cost of every wait, paid several times a tick. In a sealed graph it does not serve the
    parameter and type-description services either: nothing outside the process can reach them,
    nothing inside calls them, and the 7 a node has were most of what every wait went through.
    """

    def __init__(self, context: rclpy.Context, serve_introspection: bool = True):
        super().__init__(context=context)
        self._joined: list[Node] = []
        self._serve_introspection = serve_introspection

    def add_node(self, node: Node) -> bool:
        added = super().add_node(node)
        if added:
            self._joined.append(node)
        return added

    def remove_node(self, node: Node) -> None:
        super().remove_node(node)
        if node in self._joined:
            self._joined.remove(node)

    def get_nodes(self) -> list[Node]:
        return list(self._joined)

    def can_execute(self, entity) -> bool:
        if isinstance(entity, EventHandler):
            return False
        if isinstance(entity, Service) and entity.srv_type in INTROSPECTION_SERVICE_TYPES:
            return self._serve_introspection and super().can_execute(entity)
        return super().can_execute(entity)


class LockstepGraph:
    """Nodes in a context of their own, run tick by tick by `drain`: the stack's executor first,
    then the recorder's, so that recording a run does not change the order in which the stack's
    callbacks run within a tick (a recorded run is the same run)."""

    def __init__(self, sealed: bool = True):
        self.context = rclpy.Context()
        with sealed_graph(sealed):
            rclpy.init(context=self.context, args=[])
        self.executor = OrderedExecutor(self.context, serve_introspection=not sealed)
        self.recorder_executor = OrderedExecutor(self.context, serve_introspection=not sealed)
        self.nodes: list[Node] = []
        self._spinner: threading.Thread | None = None

    def __enter__(self) -> LockstepGraph:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def add(self, node: Node, recorder: bool = False) -> Node:
        (self.recorder_executor if recorder else self.executor).add_node(node)
        self.nodes.append(node)
        return node

    def remove(self, node: Node) -> None:
        """Take a node out mid-run and destroy it (a killed node)."""
        node.executor = None
        node.destroy_node()
        self.nodes.remove(node)

    def wait_until_matched(self, timeout_s: float = MATCH_TIMEOUT_S) -> None:
        wait_until_matched(self.nodes, timeout_s)

    def drain_recorder_until(self, done, what: str, timeout_s: float = MATCH_TIMEOUT_S) -> None:
        """Drain the recorder until done() holds. What a latched (transient-local) writer sent
        before a reader matched reaches that reader later, on DDS's own threads, so a recording
        waits for it to hold it at the same place every run."""
        deadline = time.monotonic() + timeout_s
        drain(self.recorder_executor)
        while not done():
            if time.monotonic() > deadline:
                raise RuntimeError(f"lockstep: {what} never reached the recorder in {timeout_s} s")
            time.sleep(0.001)
            drain(self.recorder_executor)

    def drain(self) -> None:
        """The lockstep barrier: every ready callback of the stack, then of the recorder."""
        drain(self.executor)
        drain(self.recorder_executor)

    def spin_paced(self) -> None:
        """Leave lockstep: every node spins on threads of its own from now on, as on a vehicle."""
        self.executor = MultiThreadedExecutor(context=self.context)
        for node in self.nodes:
            self.executor.add_node(node)
        self._spinner = threading.Thread(target=self.executor.spin, name="paced_graph", daemon=True)
        self._spinner.start()

    def close(self) -> None:
        """Stop the executors, destroy every node, shut the context down; again: nothing."""
        if not rclpy.ok(context=self.context):
            return
        self.executor.shutdown()
        self.recorder_executor.shutdown()
        if self._spinner is not None:
            self._spinner.join()
        for node in self.nodes:
            node.destroy_node()
        self.nodes.clear()
        rclpy.try_shutdown(context=self.context)


def unmatched(nodes: list[Node]) -> list[str]:
    """'topic: who (matched of expected)' for every publisher and subscription of `nodes` not yet
    matched with every compatible endpoint on its topic among `nodes`, and every client of a
    service some node of `nodes` offers that does not see it yet. Both sides must know each
    other: a reader drops samples from a writer it has not matched."""
    publishers = [p for node in nodes for p in node.publishers]
    subscriptions = [s for node in nodes for s in node.subscriptions]

    def compatible(publisher, subscription) -> bool:
        return (
            publisher.topic_name == subscription.topic_name
            and publisher.msg_type is subscription.msg_type
            and qos_check_compatible(publisher.qos_profile, subscription.qos_profile)[0]
            != QoSCompatibility.ERROR
        )

    missing = []
    for publisher in publishers:
        expected = sum(compatible(publisher, s) for s in subscriptions)
        if publisher.get_subscription_count() < expected:
            missing.append(
                f"{publisher.topic_name}: writer "
                f"({publisher.get_subscription_count()} of {expected})"
            )
    for subscription in subscriptions:
        expected = sum(compatible(p, subscription) for p in publishers)
        if subscription.get_publisher_count() < expected:
            missing.append(
                f"{subscription.topic_name}: reader "
                f"({subscription.get_publisher_count()} of {expected})"
            )
    served = {service.service_name for node in nodes for service in node.services}
    missing += [
        f"{client.service_name}: client"
        for node in nodes
        for client in node.clients
        if client.service_name in served and not client.service_is_ready()
    ]
    return missing


def wait_until_matched(nodes: list[Node], timeout_s: float = MATCH_TIMEOUT_S) -> None:
    """Block until every publisher of `nodes` reaches every compatible subscription of `nodes`."""
    deadline = time.monotonic() + timeout_s
    while missing := unmatched(nodes):
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"lockstep: endpoints still unmatched after {timeout_s} s: {missing}"
            )
        time.sleep(0.001)


def drain(executor: Executor, max_callbacks: int = MAX_CALLBACKS_PER_DRAIN) -> None:
    """Run every ready callback until none is left and no timer is due: the lockstep barrier.

    In-process DDS delivers inside publish(), so what a callback publishes is ready at once; but
    rclpy's executor hands out one wait's batch of ready callbacks and then reports a timeout,
    whatever those callbacks published. After a batch that ran anything, another wait is made,
    so a chain of callbacks (a scan, its objects, the plan they change) runs to its end in this
    tick. A timer that fell due when its node's /clock callback ran may be missing from the wait
    that ends the batch; it is waited for too, so it runs in this tick, not a random later one."""
    ran = False
    for _ in range(max_callbacks):
        try:
            handler, _, _ = executor.wait_for_ready_callbacks(timeout_sec=0.0)
        except TimeoutException:
            if not ran and not any(
                _due(timer) for node in executor.get_nodes() for timer in node.timers
            ):
                return
            ran = False
            continue
        handler()
        ran = True
        if handler.exception() is not None:
            raise handler.exception()


def _due(timer) -> bool:
    until = timer.time_until_next_call()
    return until is not None and until <= 0 and not timer.is_canceled()
