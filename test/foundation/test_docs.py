"""The hand-written docs say what the code does: docs/ARCHITECTURE.md's topic contract is the graph
the nodes build, and every link in the README and docs/ leads to a file of this repository."""

import re
import subprocess
from pathlib import Path

import rclpy

from robovan_autonomy import interfaces as itf
from robovan_autonomy.sim.simulator_node import SimulatorNode
from robovan_autonomy.stack import node_set
from robovan_autonomy.tools.node_runner import create_nodes

ROOT = Path(__file__).resolve().parents[2]
ARCHITECTURE = ROOT / "docs" / "ARCHITECTURE.md"
QOS_NAMES = {
    "SENSOR_QOS": itf.SENSOR_QOS,
    "SENSOR_DRIVER_QOS": itf.SENSOR_DRIVER_QOS,
    "LATCHED_QOS": itf.LATCHED_QOS,
    "RELIABLE_QOS": itf.RELIABLE_QOS,
    "CLOCK_QOS": itf.CLOCK_QOS,
}
NOT_THE_CONTRACT = ("/parameter_events", "/rosout")  # rclpy's own, on every node


def _type_name(cls) -> str:
    return f"{cls.__module__.split('.')[0]}/{cls.__name__}"


def _qos_name(profile) -> str:
    return next((name for name, known in QOS_NAMES.items() if known == profile), str(profile))


def _live_graph():
    """{topic: (type, QoS names, publishers, subscribers)}, {service: (type, servers, clients)} of
    the vehicle node set and the simulator node, as their endpoints say."""
    context = rclpy.Context()
    rclpy.init(context=context, args=[])
    try:
        bus = {"dbw_bridge": {"can_interface": "virtual", "can_channel": "docs_test"}}
        nodes = create_nodes(node_set("vehicle"), bus, context, use_sim_time=False)
        nodes.append(SimulatorNode(None, context=context))  # its world is only used when stepped
        topics, services = {}, {}
        for node in nodes:
            name = node.get_name()
            for kind, endpoints in ((2, node.publishers), (3, node.subscriptions)):
                for endpoint in endpoints:
                    if endpoint.topic_name in NOT_THE_CONTRACT:
                        continue
                    row = topics.setdefault(endpoint.topic_name, (set(), set(), set(), set()))
                    row[0].add(_type_name(endpoint.msg_type))
                    row[1].add(_qos_name(endpoint.qos_profile))
                    row[kind].add(name)
            # A node's own /NAME/* services are rclpy's parameter services, not the contract.
            ends = [
                (service.service_name, service.srv_type, 1)
                for service in node.services
                if not service.service_name.startswith(f"/{name}/")
            ]
            ends += [(client.srv_name, client.srv_type, 2) for client in node.clients]
            for service, srv_type, kind in ends:
                row = services.setdefault(service, (set(), set(), set()))
                row[0].add(_type_name(srv_type))
                row[kind].add(name)
        for node in nodes:
            node.destroy_node()
        return topics, services
    finally:
        rclpy.try_shutdown(context=context)


def _documented(first_header: str):
    """The rows of the ARCHITECTURE.md table whose header starts with first_header: {name: cells},
    each cell a set of the backticked words in it."""
    lines = ARCHITECTURE.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    rows = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        words = [set(re.findall(r"`([^`]+)`", cell)) for cell in cells]
        (name,) = words[0]
        rows[name] = words[1:]
    return rows


def test_the_topic_contract_in_architecture_md_is_the_graph_the_nodes_build():
    topics, services = _live_graph()
    node_names = {name for _, _, pubs, subs in topics.values() for name in pubs | subs}
    documented_topics = _documented("topic")
    assert set(documented_topics) == set(topics), "docs/ARCHITECTURE.md: not the graph's topics"
    for topic, (types, qos, publishers, subscribers) in topics.items():
        doc_type, doc_qos, doc_publishers, doc_subscribers, _ = documented_topics[topic]
        assert doc_type == types and doc_qos == qos, topic
        assert doc_publishers & node_names == publishers, f"{topic}: publishers"
        assert doc_subscribers & node_names == subscribers, f"{topic}: subscribers"
    documented_services = _documented("service")
    assert set(documented_services) == set(services)
    for service, (types, servers, clients) in services.items():
        doc_type, doc_servers, doc_clients, _ = documented_services[service]
        assert doc_type == types, service
        assert doc_servers & node_names == servers and doc_clients & node_names == clients, service


def test_every_topic_and_service_interfaces_py_names_is_in_the_contract():
    named = {
        value
        for key, value in vars(itf).items()
        if key.isupper() and isinstance(value, str) and value.startswith("/")
    }
    documented = (
        set(_documented("topic")) | set(_documented("service")) | set(_documented("recorded topic"))
    )
    assert named - documented == set()


def _slug(heading: str) -> str:
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    return {_slug(h) for h in re.findall(r"^#+\s+(.*)$", path.read_text(), re.MULTILINE)}


def test_every_link_in_the_readme_and_docs_leads_into_the_repository():
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    broken = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)\s]+)\)", doc.read_text()):
            path, _, anchor = target.partition("#")
            resolved = (doc.parent / path).resolve() if path else doc
            if not resolved.exists() or not resolved.is_relative_to(ROOT):
                broken.append(f"{doc.name}: {target}")
            elif resolved.is_file() and str(resolved.relative_to(ROOT)) not in tracked:
                broken.append(f"{doc.name}: {target} (not in the repository)")
            elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
                broken.append(f"{doc.name}: {target} (no such section)")
    assert broken == []


def test_every_architecture_section_a_module_cites_exists():
    anchors = _anchors(ARCHITECTURE)
    cited = {
        (path.name, anchor)
        for path in (ROOT / "robovan_autonomy").rglob("*.py")
        for anchor in re.findall(r"docs/ARCHITECTURE\.md#([\w-]+)", path.read_text())
    }
    assert cited and {c for c in cited if c[1] not in anchors} == set()
