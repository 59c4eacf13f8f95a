"""The fault catalogue closed loop: a lying sensor, a stepped clock, a frozen planner, a second
writer of commands. Each ends in a latched minimal-risk stop, detected within half a second, with
no collision with the van double-parked ahead.

Localization and perception come from ground truth here, to keep CI short; the supervisor, gate
and bridge are real, and the supervisor watches the real sensor streams. `make eval` runs the
same scenarios with the whole stack.
"""

import pytest

from robovan_autonomy.tools.simulation import SimOptions, Simulation

pytestmark = pytest.mark.slow  # closed-loop runs of the whole stack

GROUND_TRUTH = ("localization", "perception")
END_S = 21.0  # a comfortable stop from 40 km/h, begun at 14 s, ends by 20.5 s
MAX_DETECTION_S = 0.5
AT_REST_MPS = 0.05
CATALOGUE = (
    "fault_lidar_nan",
    "fault_lidar_freeze",
    "fault_lidar_empty",
    "fault_camera_freeze",
    "fault_camera_black",
    "fault_gnss_nan",
    "fault_clock_backwards",
    "fault_planner_freeze",
    "fault_rogue_command",
    "fault_can_rogue_command",
    "fault_can_report_freeze",
)


@pytest.mark.parametrize("name", CATALOGUE)
def test_a_lying_input_ends_in_a_latched_stop_short_of_the_obstacle(tmp_path, name):
    simulation = Simulation(
        SimOptions(
            name,
            tmp_path,
            ground_truth=GROUND_TRUTH,
            record=False,
            progress=False,
            time_limit_s=END_S,
        )
    )
    report = simulation.run()
    response = report["fault_response"][0]
    assert report["collisions"] == []
    assert response["fault_to_detection_s"] is not None
    assert response["fault_to_detection_s"] <= MAX_DETECTION_S, response["detection_reason"]
    assert abs(simulation.world.van.speed_mps) < AT_REST_MPS
    assert simulation.supervisor_mode.startswith("MRM_")
