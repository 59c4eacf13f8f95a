"""The few things every node shell does the same way: parameters, diagnostics, clocks."""

from __future__ import annotations

import contextlib
import gc
import sys
from pathlib import Path
from types import SimpleNamespace

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.node import Node

from robovan_autonomy import interfaces
from robovan_autonomy.config_errors import ConfigError, StartupError
from robovan_autonomy.core_types import FrameTransform
from robovan_autonomy.parameters import Param, node_parameters, read_params_file


class ParameterError(StartupError):
    """A bad parameter value at start-up: the node must not run with it."""


def declare_parameters(node: Node, params: list[Param]) -> SimpleNamespace:
    """Declare every parameter with its descriptor and range, then validate the values in force.

    Validation is ours rather than rclpy's range check so the message names the key and reason
    the same way for overrides from a launch file, the CLI or a params file.
    """
    values = {}
    for p in params:
        descriptor = ParameterDescriptor(description=p.description)
        if isinstance(p.default, float) and (p.min is not None or p.max is not None):
            descriptor.floating_point_range = [
                FloatingPointRange(
                    from_value=float(-1e300 if p.min is None else p.min),
                    to_value=float(1e300 if p.max is None else p.max),
                )
            ]
        elif (
            isinstance(p.default, int)
            and not isinstance(p.default, bool)
            and (p.min is not None or p.max is not None)
        ):
            descriptor.integer_range = [
                IntegerRange(
                    from_value=int(-(2**62) if p.min is None else p.min),
                    to_value=int(2**62 if p.max is None else p.max),
                )
            ]
        if p.choices:
            descriptor.additional_constraints = f"one of {list(p.choices)}"
        if isinstance(p.default, list) and not p.default:
            descriptor.dynamic_typing = True  # rclpy types [] as bytes; p.check types the items
        try:
            value = node.declare_parameter(p.name, p.default, descriptor).value
        except Exception as err:  # rclpy raises several types for bad overrides
            raise ParameterError(f"{node.get_name()}.ros__parameters.{p.name}: {err}") from err
        if isinstance(p.default, float) and isinstance(value, int):
            value = float(value)
        if isinstance(p.default, list):
            value = list(value)
        reason = p.check(value)
        if reason:
            raise ParameterError(f"{node.get_name()}.ros__parameters.{p.name}: {reason}")
        values[p.name] = value
    return SimpleNamespace(**values)


FRAME_ALIASES = Param(
    "frame_aliases",
    [],
    "foreign frame_ids read as our sensor frames, each 'OURS=THEIRS' (e.g. "
    f"'lidar_top=velodyne_top'; OURS one of {', '.join(interfaces.SENSOR_FRAMES)})",
    item_type=str,
)


def sensor_frame_ids(node: Node, aliases: list[str]) -> dict[str, tuple[str, ...]]:
    """The frame ids each sensor frame's decoders accept on this node (FRAME_ALIASES)."""
    try:
        return interfaces.sensor_frame_ids(aliases)
    except ValueError as err:
        raise ParameterError(
            f"{node.get_name()}.ros__parameters.{FRAME_ALIASES.name}: {err}"
        ) from None


def start_node(node_class, **node_kwargs) -> Node:
    """Construct a node; when its constructor fails (a StartupError naming a parameter or a device
    it cannot open, or a bug), what rclpy built of it is destroyed before the error goes on."""
    node = node_class.__new__(node_class)  # held, so a failed constructor can be undone
    try:
        node.__init__(**node_kwargs)
    except BaseException:
        try:
            # rclpy's part only: the node's own destroy_node expects a whole node, and the
            # context would call it at shutdown. An AttributeError: rclpy built nothing.
            Node.destroy_node(node)
        except AttributeError:
            pass
        raise
    return node


@contextlib.contextmanager
def startup_heap_frozen():
    """Hide what start-up built (map, models, solvers, nodes) from the cyclic garbage collector
    while the graph runs. A full collection that scans it all takes 65-100 ms, longer than a
    planning cycle's 50 ms budget, and comes every ~40 s of driving; what lives for the whole run
    never needs scanning. Unfrozen on the way out, so a process that builds graph after graph
    (tests, evals) still collects each one's garbage."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def ros_params_files(argv: list[str]) -> list[Path]:
    """The files that `--params-file` names in the ROS arguments of a command line."""
    files, in_ros_args = [], False
    for arg, following in zip(argv, argv[1:]):
        if arg == "--ros-args":
            in_ros_args = True
        elif arg == "--":
            in_ros_args = False
        elif in_ros_args and arg == "--params-file":
            files.append(Path(following))
    return files


def spin_node(node_class, args=None) -> None:
    """A node's console-script entry: init, spin until Ctrl-C or shutdown, clean up.

    rclpy reads `--params-file` files itself, ignoring unknown keys and keeping the last of
    duplicate ones, so they are checked here as `robovan run` checks them. A start-up failure
    (a bad params file or parameter, a device that will not open) is one line on stderr and
    exit status 2, not a traceback.
    """
    import rclpy
    from rclpy.executors import ExternalShutdownException

    node = None
    try:
        files = {path: read_params_file(path) for path in ros_params_files(args or sys.argv)}
        rclpy.init(args=args)
        node = start_node(node_class)
        declared = sys.modules[node_class.__module__].PARAMETERS  # as stack.NodeSpec reads them
        for path, blocks in files.items():
            node_parameters(path, blocks, node.get_fully_qualified_name(), declared)
    except (ConfigError, StartupError) as err:
        print(f"{Path(sys.argv[0]).name}: {' '.join(str(err).split())}", file=sys.stderr)
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
        raise SystemExit(2) from None
    try:
        with startup_heap_frozen():
            rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


def now_s(node: Node) -> float:
    return node.get_clock().now().nanoseconds * 1e-9


class TfBroadcaster:
    """/tf_static (latched, once) and /tf, live, where tf2_msgs is importable (a ROS install);
    under the rclpy wheels, which have no tf2_msgs, it publishes nothing (`live` is False) and
    bags get their TF from the recorder instead."""

    def __init__(self, node: Node, static: list[FrameTransform]):
        self._node = node
        self._message = interfaces.live_tf_message_class()
        self.live = self._message is not None
        if not self.live:
            return
        self._tf_pub = node.create_publisher(self._message, interfaces.TF, interfaces.RELIABLE_QOS)
        static_pub = node.create_publisher(
            self._message, interfaces.TF_STATIC, interfaces.LATCHED_QOS
        )
        static_pub.publish(
            self._message(transforms=interfaces.encode_transforms(now_s(node), static))
        )

    def send(self, stamp_s: float, transforms: list[FrameTransform]) -> None:
        if self.live:
            self._tf_pub.publish(
                self._message(transforms=interfaces.encode_transforms(stamp_s, transforms))
            )


class DiagnosticsPublisher:
    """Publishes a node's diagnostics on /diagnostics, prefixed with the node name."""

    def __init__(self, node: Node):
        from diagnostic_msgs.msg import DiagnosticArray

        self._node = node
        self._publisher = node.create_publisher(
            DiagnosticArray, interfaces.DIAGNOSTICS, interfaces.RELIABLE_QOS
        )

    def publish(self, diagnostics: list[interfaces.Diagnostic]) -> None:
        prefix = self._node.get_name()
        for d in diagnostics:
            if not d.name.startswith(prefix):
                d.name = f"{prefix}: {d.name}" if d.name else prefix
        self._publisher.publish(interfaces.encode_diagnostics(now_s(self._node), diagnostics))
