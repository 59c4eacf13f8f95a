"""The map visualizer node on a real rclpy graph: the map, latched, for whoever joins later."""

import pytest
from rclpy.parameter import Parameter
from rclpy.serialization import serialize_message
from visualization_msgs.msg import Marker, MarkerArray

from robovan_autonomy import interfaces as itf
from robovan_autonomy.config_errors import ConfigError
from robovan_autonomy.core_types import MAP_FRAME
from robovan_autonomy.mapping.map_visualizer_node import MapVisualizerNode
from robovan_autonomy.node_utils import start_node

MAP_MESSAGE_BUDGET_BYTES = 200_000  # the shipped district, sent once at the start of every bag


@pytest.fixture
def published(sim_graph):
    """The node, and what a viewer that subscribes after it started receives."""
    node = sim_graph.add(MapVisualizerNode)
    received = sim_graph.collect(MarkerArray, itf.MAP_MARKERS, qos=itf.LATCHED_QOS)
    sim_graph.wait_for(lambda: received)
    sim_graph.step()
    return node, received


def test_a_viewer_that_joins_after_the_start_still_gets_the_map_once(published):
    node, received = published
    [msg] = received
    assert [m.ns for m in msg.markers] == [layer.name for layer in node.layers]
    assert {m.header.frame_id for m in msg.markers} == {MAP_FRAME}
    assert {m.type for m in msg.markers} == {Marker.LINE_LIST, Marker.TRIANGLE_LIST}
    for marker, layer in zip(msg.markers, node.layers):
        assert len(marker.points) == len(layer.points)
        assert marker.color.a == pytest.approx(layer.rgba[3])


def test_lines_are_as_wide_as_their_layer_says_and_triangles_are_not_scaled(published):
    node, [msg] = published
    for marker, layer in zip(msg.markers, node.layers):
        width = layer.line_width_m if marker.type == Marker.LINE_LIST else 1.0
        assert (marker.scale.x, marker.scale.y, marker.scale.z) == (width, 1.0, 1.0)


def test_the_drawn_district_stays_within_its_byte_budget(published):
    _, [msg] = published
    assert len(serialize_message(msg)) < MAP_MESSAGE_BUDGET_BYTES


def test_a_map_that_does_not_load_stops_the_node_naming_the_file(sim_graph, tmp_path):
    missing = tmp_path / "nowhere.osm"
    with pytest.raises(ConfigError, match="nowhere.osm"):
        start_node(
            MapVisualizerNode,
            context=sim_graph.context,
            parameter_overrides=[Parameter("map_file", value=str(missing))],
        )
