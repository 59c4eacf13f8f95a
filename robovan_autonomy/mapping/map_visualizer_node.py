"""The map visualizer node: the district map drawn for viewers (RViz, Foxglove) and bags.

At start it loads the map and publishes it once on /map/markers, latched (LATCHED_QOS): a viewer
or recorder that joins later still gets it. The drawing is mapping/map_markers.py's; nothing in
the stack reads it.
"""

from __future__ import annotations

from rclpy.node import Node
from visualization_msgs.msg import MarkerArray

from robovan_autonomy import interfaces as itf
from robovan_autonomy.mapping.lanelet_map import DEFAULT_MAP_FILE, load_map
from robovan_autonomy.mapping.map_markers import map_layers
from robovan_autonomy.node_utils import declare_parameters, now_s, spin_node
from robovan_autonomy.parameters import Param

NODE_NAME = "map_visualizer"

PARAMETERS = [
    Param("map_file", str(DEFAULT_MAP_FILE), "Lanelet2 map (OSM with a .yaml sidecar) to draw"),
]


class MapVisualizerNode(Node):
    def __init__(self, **node_kwargs):
        super().__init__(NODE_NAME, **node_kwargs)
        self.params = p = declare_parameters(self, PARAMETERS)
        self.layers = map_layers(load_map(p.map_file))
        self.markers_pub = self.create_publisher(MarkerArray, itf.MAP_MARKERS, itf.LATCHED_QOS)
        self.markers_pub.publish(itf.encode_map_markers(now_s(self), self.layers))


def main(args=None):
    spin_node(MapVisualizerNode, args)
