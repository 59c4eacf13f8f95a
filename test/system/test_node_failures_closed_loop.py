"""Closed loop at 40 km/h on Harbour Road: a node of the stack dies and the van ends at rest,
never driving on a frozen command."""

import pytest

from robovan_autonomy.sim.scenario import Fault
from robovan_autonomy.system import mrm
from robovan_autonomy.tools.simulation import SimOptions, Simulation

pytestmark = pytest.mark.slow  # closed-loop runs of the whole stack

GROUND_TRUTH = ("localization", "perception")
FAULT_AT_S = 14.0  # the van cruises at the limit by then
END_S = 24.0  # a comfortable stop from 40 km/h needs ~6.5 s
AT_REST_MPS = 0.05
DECEL_TOLERANCE_MPS2 = 0.05  # the plant's lag overshoots a commanded ramp by a few cm/s²
# The stop's 2.5 m/s³ command ramps as the van feels them: the actuator's lag and the moment it
# comes to rest add a little.
COMFORT_JERK_BOUND_MPS3 = 3.0


def run(tmp_path, scenario: str, kill: str | None = None):
    simulation = Simulation(
        SimOptions(
            scenario,
            tmp_path,
            ground_truth=GROUND_TRUTH,
            record=False,
            progress=False,
            time_limit_s=END_S,
        )
    )
    if kill is not None:
        simulation.stack_faults.append(Fault(kill, "kill", FAULT_AT_S, None, None))
    return simulation, simulation.run()


def test_killed_planner_ends_in_a_latched_comfortable_stop_in_lane(tmp_path):
    simulation, report = run(tmp_path, "fault_planner_killed")
    assert report["collisions"] == [] and abs(simulation.world.van.speed_mps) < AT_REST_MPS
    assert report["mode"]["final"] == "MRM_COMFORTABLE_STOP"
    response = report["fault_response"][0]
    assert response["mode_at_standstill"] == "MRM_COMFORTABLE_STOP"
    assert response["fault_to_standstill_s"] < END_S - FAULT_AT_S
    assert report["comfort"]["max_decel_mps2"] <= mrm.COMFORTABLE_DECEL_MPS2 + DECEL_TOLERANCE_MPS2
    assert report["comfort"]["max_abs_jerk_mps3"] <= COMFORT_JERK_BOUND_MPS3
    assert report["lateral_error_m"]["max"] < 0.5


@pytest.mark.parametrize("node", ["command_gate", "supervisor"])
def test_killed_safety_node_ends_in_a_stop(tmp_path, node):
    simulation, report = run(tmp_path, "corridor_cruise", kill=node)
    assert report["collisions"] == []
    assert abs(simulation.world.van.speed_mps) < AT_REST_MPS
    assert (
        simulation.world.ecu.state.name == "ENGAGED"
    )  # stopped under control, not by the van's timeout
