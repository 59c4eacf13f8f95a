"""The lockstep graph starts with every writer matched, runs a tick to its end in one drain,
records after the stack, waits for what was latched before the recorder joined, and tears down
once."""

import pytest
import rclpy
from rclpy.qos import QoSProfile, ReliabilityPolicy
from std_msgs.msg import String

from robovan_autonomy.interfaces import LATCHED_QOS as LATCHED
from robovan_autonomy.tools.lockstep import LockstepGraph, unmatched


def chatter(graph: LockstepGraph, readers: int, recorder: bool = False):
    writer = graph.add(rclpy.create_node("writer", context=graph.context))
    received = []
    for i in range(readers):
        node = graph.add(rclpy.create_node(f"reader_{i}", context=graph.context))
        node.create_subscription(
            String, "/chatter", lambda m: received.append(("stack", m.data)), 10
        )
    if recorder:
        node = graph.add(rclpy.create_node("recorder", context=graph.context), recorder=True)
        node.create_subscription(
            String, "/chatter", lambda m: received.append(("recorder", m.data)), 10
        )
    return writer.create_publisher(String, "/chatter", 10), received


def test_the_first_message_after_matching_reaches_every_reader():
    with LockstepGraph() as graph:
        publisher, received = chatter(graph, readers=5)
        graph.wait_until_matched()
        assert unmatched(graph.nodes) == [] and publisher.get_subscription_count() == 5
        publisher.publish(String(data="first"))
        graph.drain()
        assert received == [("stack", "first")] * 5


def test_what_a_callback_publishes_is_delivered_within_the_same_drain():
    with LockstepGraph() as graph:
        _, received = chatter(graph, readers=1)
        relay = graph.add(rclpy.create_node("relay", context=graph.context))
        echo = relay.create_publisher(String, "/chatter", 10)
        relay.create_subscription(String, "/ping", lambda m: echo.publish(String(data=m.data)), 10)
        ping = graph.add(rclpy.create_node("pinger", context=graph.context)).create_publisher(
            String, "/ping", 10
        )
        graph.wait_until_matched()
        ping.publish(String(data="pong"))
        graph.drain()
        assert ("stack", "pong") in received


def test_the_recorder_runs_after_the_stack_in_a_tick():
    with LockstepGraph() as graph:
        publisher, received = chatter(graph, readers=2, recorder=True)
        graph.wait_until_matched()
        publisher.publish(String(data="tick"))
        graph.drain()
        assert received == [("stack", "tick"), ("stack", "tick"), ("recorder", "tick")]


def test_a_removed_node_no_longer_receives():
    with LockstepGraph() as graph:
        publisher, received = chatter(graph, readers=2)
        graph.wait_until_matched()
        graph.remove(next(n for n in graph.nodes if n.get_name() == "reader_1"))
        publisher.publish(String(data="after"))
        graph.drain()
        assert received == [("stack", "after")]


def test_closing_twice_is_harmless():
    graph = LockstepGraph()
    chatter(graph, readers=1)
    graph.close()
    graph.close()
    assert graph.nodes == [] and not rclpy.ok(context=graph.context)


def test_a_reader_the_writer_can_never_match_is_not_waited_for():
    with LockstepGraph() as graph:
        node = graph.add(rclpy.create_node("mixed", context=graph.context))
        node.create_publisher(
            String, "/chatter", QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT)
        )
        node.create_subscription(
            String,
            "/chatter",
            lambda msg: None,
            QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE),
        )
        graph.wait_until_matched(timeout_s=2.0)


def test_callbacks_ready_together_run_in_the_order_their_nodes_joined():
    with LockstepGraph() as graph:
        order = []
        writer = graph.add(rclpy.create_node("writer", context=graph.context))
        for name in ("zeta", "alpha", "mu", "beta"):
            node = graph.add(rclpy.create_node(name, context=graph.context))
            node.create_subscription(String, "/chatter", lambda m, n=name: order.append(n), 10)
        publisher = writer.create_publisher(String, "/chatter", 10)
        graph.wait_until_matched()
        publisher.publish(String(data="now"))
        graph.drain()
        assert order == ["zeta", "alpha", "mu", "beta"]


def test_qos_event_handlers_are_left_out_of_the_lockstep_waits():
    with LockstepGraph() as graph:
        publisher, received = chatter(graph, readers=1)
        handlers = [w for node in graph.nodes for w in node.waitables]
        graph.wait_until_matched()
        publisher.publish(String(data="tick"))
        graph.drain()
        assert handlers
        assert not any(graph.executor.can_execute(handler) for handler in handlers)
        assert received == [("stack", "tick")]


def test_a_sealed_graph_does_not_serve_the_parameter_services_nothing_can_reach():
    with LockstepGraph(sealed=True) as graph:
        node = graph.add(rclpy.create_node("node", context=graph.context))
        services = list(node.services)
        assert services
        assert not any(graph.executor.can_execute(service) for service in services)


def test_an_open_graph_serves_the_parameter_services():
    with LockstepGraph(sealed=False) as graph:
        node = graph.add(rclpy.create_node("node", context=graph.context))
        assert all(graph.executor.can_execute(service) for service in node.services)


def test_a_service_of_our_own_is_served_in_a_sealed_graph():
    from std_srvs.srv import Trigger

    with LockstepGraph(sealed=True) as graph:
        node = graph.add(rclpy.create_node("node", context=graph.context))
        service = node.create_service(Trigger, "/clear", lambda request, response: response)
        assert graph.executor.can_execute(service)


def latched_before_the_recorder(graph: LockstepGraph, publish: bool) -> list:
    """A latched writer (publishing once, or not at all) and a recorder that joins after it."""
    writer = graph.add(rclpy.create_node("latcher", context=graph.context))
    publisher = writer.create_publisher(String, "/latched", LATCHED)
    if publish:
        publisher.publish(String(data="map"))
    received = []
    recorder = graph.add(rclpy.create_node("recorder", context=graph.context), recorder=True)
    recorder.create_subscription(String, "/latched", lambda m: received.append(m.data), LATCHED)
    graph.wait_until_matched()
    return received


def test_the_recorder_is_drained_until_a_message_latched_before_it_joined_arrives():
    with LockstepGraph() as graph:
        received = latched_before_the_recorder(graph, publish=True)
        graph.drain_recorder_until(lambda: received, "/latched")
        assert received == ["map"]


def test_waiting_for_a_latched_message_that_never_comes_fails_naming_it():
    with LockstepGraph() as graph:
        received = latched_before_the_recorder(graph, publish=False)
        with pytest.raises(RuntimeError, match="/latched never reached the recorder"):
            graph.drain_recorder_until(lambda: received, "/latched", timeout_s=0.05)
