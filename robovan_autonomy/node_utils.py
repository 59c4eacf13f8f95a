"""The few things every node shell does the same way: parameters, diagnostics, clocks."""
from __future__ import annotations

from types import SimpleNamespace

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.node import Node

from robovan_autonomy import interfaces
from robovan_autonomy.parameters import Param


class ParameterError(RuntimeError):
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
            descriptor.floating_point_range = [FloatingPointRange(
                from_value=float(-1e300 if p.min is None else p.min),
                to_value=float(1e300 if p.max is None else p.max))]
        elif isinstance(p.default, int) and not isinstance(p.default, bool) and (
                p.min is not None or p.max is not None):
            descriptor.integer_range = [IntegerRange(
                from_value=int(-2**62 if p.min is None else p.min),
                to_value=int(2**62 if p.max is None else p.max))]
        if p.choices:
            descriptor.additional_constraints = f"one of {list(p.choices)}"
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


def spin_node(node_class, args=None) -> None:
    """A node's console-script entry: init, spin until Ctrl-C or shutdown, clean up."""
    import rclpy
    from rclpy.executors import ExternalShutdownException

    rclpy.init(args=args)
    node = node_class()
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


def now_s(node: Node) -> float:
    return node.get_clock().now().nanoseconds * 1e-9


class DiagnosticsPublisher:
    """Publishes a node's diagnostics on /diagnostics, prefixed with the node name."""

    def __init__(self, node: Node):
        from diagnostic_msgs.msg import DiagnosticArray
        self._node = node
        self._publisher = node.create_publisher(DiagnosticArray, interfaces.DIAGNOSTICS,
                                                interfaces.RELIABLE_QOS)

    def publish(self, diagnostics: list[interfaces.Diagnostic]) -> None:
        prefix = self._node.get_name()
        for d in diagnostics:
            if not d.name.startswith(prefix):
                d.name = f"{prefix}: {d.name}" if d.name else prefix
        self._publisher.publish(interfaces.encode_diagnostics(now_s(self._node), diagnostics))
