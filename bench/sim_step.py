"""Embedded simulator: one 10 ms lockstep tick of the world (actors, the van's ECU) and every
sensor due at it, all on (LiDAR 10 Hz, camera 15 Hz, IMU 100 Hz, GNSS 10 Hz), with the van on
Market Street among the map's parked cars, as `robovan sim` runs it (its malloc tuning included).
No ROS: publishing and the stack are not timed. The van stands still (nothing drives it), so the
scene is the worst case of its street. Target: cpu_s_per_sim_s ≤ 0.35 on one core."""

from __future__ import annotations

import time

from _sensor_scene import summary

from robovan_autonomy.config_errors import config_path
from robovan_autonomy.mapping.lanelet_map import load_map
from robovan_autonomy.sim.scenario import load_scenario
from robovan_autonomy.sim.world import STEP_S, SimWorld
from robovan_autonomy.tools.simulation import keep_heap_resident
from robovan_autonomy.vehicle_params import load_vehicle_params

SCENARIO = "jaywalker_between_parked_cars.yaml"  # starts on Market Street beside the parked cars
SIM_S = 10.0
QUICK_SIM_S = 1.0


def run(quick: bool = False) -> dict:
    keep_heap_resident()
    scenario = load_scenario(config_path("scenarios", SCENARIO))
    world = SimWorld(scenario, load_map(scenario.map_path), load_vehicle_params())
    ticks = round((QUICK_SIM_S if quick else SIM_S) / STEP_S)
    samples, outputs = [], {}
    cpu_start = time.process_time()
    for tick in range(1, ticks + 1):
        t_s = round(tick * STEP_S, 9)
        start = time.perf_counter()
        world.advance_actors(t_s)
        world.ecu.step(t_s)
        for name, _ in world.sensor_outputs(t_s):
            outputs[name] = outputs.get(name, 0) + 1
        samples.append((time.perf_counter() - start) * 1e3)
    cpu_s = time.process_time() - cpu_start
    sim_s = ticks * STEP_S
    return {
        **summary(samples),
        "realtime_factor": sim_s / (sum(samples) / 1e3),
        "cpu_s_per_sim_s": cpu_s / sim_s,
        "ticks": ticks,
        "outputs": outputs,
        "parked_cars": len(world.scene.static_boxes),
    }


if __name__ == "__main__":
    print(run())
