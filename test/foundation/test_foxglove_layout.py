"""config/foxglove/robovan.json, the Foxglove layout for our bags: every topic it shows is one a
`robovan sim` bag holds, and its plots read the fields they are labelled with."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from robovan_autonomy import interfaces as itf
from robovan_autonomy.control_plan import ControlPlan
from robovan_autonomy.core_types import SystemMode, VehicleStatus
from robovan_autonomy.system.modes import OperatingMode
from robovan_autonomy.tools.simulation import recorded_topics

LAYOUT = Path(__file__).resolve().parents[2] / "config" / "foxglove" / "robovan.json"


@pytest.fixture(scope="module")
def layout() -> dict:
    return json.loads(LAYOUT.read_text())


def _panels(layout: dict, kind: str) -> list[dict]:
    return [
        config for panel, config in layout["configById"].items() if panel.startswith(kind + "!")
    ]


def _placed(node) -> list[str]:
    """The panel ids of a layout tree (a panel id, or a split of two subtrees)."""
    if isinstance(node, str):
        return [node]
    return _placed(node["first"]) + _placed(node["second"])


def _value(message_path: str, msg):
    """What Foxglove reads at a message path such as /topic.points[0].velocities[1]."""
    value = msg
    for field, index in re.findall(r"(\w+)(?:\[(\d+)\])?", message_path.partition(".")[2]):
        value = getattr(value, field)
        value = value[int(index)] if index else value
    return value


def test_every_panel_is_placed_in_the_layout_once(layout):
    placed = _placed(layout["layout"])
    assert sorted(placed) == sorted(layout["configById"]) and len(set(placed)) == len(placed)


def test_every_topic_the_layout_shows_is_recorded_in_a_sim_bag(layout):
    shown = set()
    for config in layout["configById"].values():
        shown |= set(config.get("topics", {}))
        shown |= {t for k, t in config.get("imageMode", {}).items() if k.endswith("Topic")}
        shown |= {path["value"].partition(".")[0] for path in config.get("paths", [])}
    assert {itf.MAP_MARKERS, itf.OBJECT_MARKERS, itf.TRAJECTORY, itf.LIDAR_POINTS} <= shown
    assert shown <= set(recorded_topics()) | {itf.TF, itf.TF_STATIC}


def test_the_speed_plot_reads_the_vans_speed_and_the_commanded_speed(layout):
    [plot] = _panels(layout, "Plot")
    status = itf.encode_vehicle_status(VehicleStatus(1.0, 0.1, 0.0, 4.2, 0.3))
    command = itf.encode_control_command(
        ControlPlan(
            1.0,
            np.array([0.0, 0.1]),
            np.zeros(2),
            np.zeros(2),
            np.array([5.5, 5.6]),
            np.zeros(2),
            sequence=7,
        )
    )
    messages = {itf.VEHICLE_STATUS: status, itf.CONTROL_COMMAND: command}
    values = [_value(p["value"], messages[p["value"].partition(".")[0]]) for p in plot["paths"]]
    assert values == [4.2, 5.5] and all(p["enabled"] for p in plot["paths"])


def test_the_mode_panel_reads_the_supervisors_mode(layout):
    [panel] = _panels(layout, "StateTransitions")
    [path] = panel["paths"]
    mode = itf.encode_system_mode(SystemMode(1.0, OperatingMode.MRM_COMFORTABLE_STOP, "lost"))
    assert path["value"].startswith(itf.SYSTEM_MODE + ".")
    assert _value(path["value"], mode) == "MRM_COMFORTABLE_STOP"
