"""What a lockstep graph needs: every writer matched with its readers first, and a drain per tick.

DDS matches writers and readers asynchronously, on its own threads, even inside one process: a
message published before its reader is matched is lost (volatile durability). In a graph built
and started at once, which of the first messages arrive then depends on thread timing, and a lost
first plan or status changes the whole run. Waiting until every publisher of the graph is matched
with every compatible subscription of the graph makes the first tick the same every time.
"""
from __future__ import annotations

import time

from rclpy.executors import Executor, TimeoutException
from rclpy.node import Node
from rclpy.qos import QoSCompatibility, qos_check_compatible

# Wall time matching may take, s: in-process matching takes milliseconds; longer is a broken graph.
MATCH_TIMEOUT_S = 10.0
# A node that keeps re-triggering itself must not hang the loop.
MAX_CALLBACKS_PER_DRAIN = 10_000


def unmatched(nodes: list[Node]) -> list[str]:
    """'topic: who (matched of expected)' for every publisher and subscription of `nodes` not yet
    matched with every compatible endpoint on its topic among `nodes`, and every client of a
    service some node of `nodes` offers that does not see it yet. Both sides must know each
    other: a reader drops samples from a writer it has not matched."""
    publishers = [p for node in nodes for p in node.publishers]
    subscriptions = [s for node in nodes for s in node.subscriptions]

    def compatible(publisher, subscription) -> bool:
        return (publisher.topic_name == subscription.topic_name
                and publisher.msg_type is subscription.msg_type
                and qos_check_compatible(publisher.qos_profile, subscription.qos_profile)[0]
                != QoSCompatibility.ERROR)

    missing = []
    for publisher in publishers:
        expected = sum(compatible(publisher, s) for s in subscriptions)
        if publisher.get_subscription_count() < expected:
            missing.append(f"{publisher.topic_name}: writer ({publisher.get_subscription_count()} of {expected})")
    for subscription in subscriptions:
        expected = sum(compatible(p, subscription) for p in publishers)
        if subscription.get_publisher_count() < expected:
            missing.append(f"{subscription.topic_name}: reader ({subscription.get_publisher_count()} of {expected})")
    served = {service.service_name for node in nodes for service in node.services}
    missing += [f"{client.service_name}: client" for node in nodes for client in node.clients
                if client.service_name in served and not client.service_is_ready()]
    return missing


def wait_until_matched(nodes: list[Node], timeout_s: float = MATCH_TIMEOUT_S) -> None:
    """Block until every publisher of `nodes` reaches every compatible subscription of `nodes`."""
    deadline = time.monotonic() + timeout_s
    while missing := unmatched(nodes):
        if time.monotonic() > deadline:
            raise RuntimeError(f"lockstep: endpoints still unmatched after {timeout_s} s: {missing}")
        time.sleep(0.001)



def drain(executor: Executor, max_callbacks: int = MAX_CALLBACKS_PER_DRAIN) -> None:
    """Run every ready callback until none is left and no timer is due: the lockstep barrier.
    In-process DDS delivers inside publish(), so what a callback publishes is ready before this
    returns. A timer that fell due when its node's /clock callback ran may be missing from the
    wait that ends the batch; it is waited for, so it runs in this tick, not a random later one."""
    for _ in range(max_callbacks):
        try:
            handler, _, _ = executor.wait_for_ready_callbacks(timeout_sec=0.0)
        except TimeoutException:
            if not any(_due(timer) for node in executor.get_nodes() for timer in node.timers):
                return
            continue
        handler()
        if handler.exception() is not None:
            raise handler.exception()


def _due(timer) -> bool:
    until = timer.time_until_next_call()
    return until is not None and until <= 0 and not timer.is_canceled()
