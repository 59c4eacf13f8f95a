"""The van's actuator outputs as CARLA's pedals and wheel (carla_sim/control.py, plant.py)."""

import pytest

from robovan_autonomy.carla_sim.control import LongitudinalControl, carla_steer, load_carla_config
from robovan_autonomy.carla_sim.plant import CarlaPlant
from robovan_autonomy.sim.van_ecu import PLANT_STEP_S
from robovan_autonomy.vehicle.rvn_dbw import Gear
from robovan_autonomy.vehicle_params import load_vehicle_params

CONTROL = load_carla_config().control


def test_a_left_road_wheel_angle_is_a_negative_carla_steer():
    assert carla_steer(0.3, CONTROL) == pytest.approx(-0.3 / CONTROL.max_steer_angle_rad)
    assert carla_steer(-0.3, CONTROL) > 0.0


def test_carla_steer_is_clamped_to_full_lock():
    assert carla_steer(10.0, CONTROL) == -1.0


def test_a_positive_acceleration_is_throttle_and_no_brake():
    throttle, brake = LongitudinalControl(CONTROL).pedals(1.0, 5.0, 1.0, 0.01)
    assert throttle > 0.0 and brake == 0.0


def test_a_negative_acceleration_beyond_coasting_is_brake_and_no_throttle():
    throttle, brake = LongitudinalControl(CONTROL).pedals(-3.0, 5.0, -3.0, 0.01)
    assert throttle == 0.0 and brake == pytest.approx(
        (3.0 - CONTROL.resistance_mps2(5.0)) / CONTROL.brake_decel_mps2
    )


def test_holding_speed_takes_throttle_against_resistance():
    throttle, brake = LongitudinalControl(CONTROL).pedals(0.0, 10.0, 0.0, 0.01)
    assert throttle == pytest.approx(CONTROL.resistance_mps2(10.0) / CONTROL.throttle_accel_mps2)


def test_the_integrator_adds_throttle_while_the_van_accelerates_less_than_wanted():
    control = LongitudinalControl(CONTROL)
    first, _ = control.pedals(1.0, 5.0, 0.0, 0.01)
    for _ in range(200):
        later, _ = control.pedals(1.0, 5.0, 0.0, 0.01)
    assert later > first


def plant(gear):
    return CarlaPlant(load_vehicle_params(), CONTROL, gear=gear)


def test_the_carla_plant_lags_its_commands_like_the_van():
    van = plant(Gear.DRIVE)
    van.command(0.2, 1.0)
    van.step(PLANT_STEP_S)  # within the dead times nothing moves
    assert van.steer_rad == 0.0 and van.actuator_accel_mps2 == 0.0
    for _ in range(100):
        van.step(PLANT_STEP_S)
    assert van.steer_rad == pytest.approx(0.2, abs=0.01)
    command = van.vehicle_command(0.01)
    assert command.throttle > 0.0 and command.steer < 0.0 and not command.reverse


def test_reverse_gear_drives_with_carlas_reverse_flag():
    assert plant(Gear.REVERSE).vehicle_command(0.01).reverse


def test_park_holds_the_van_on_the_hand_brake():
    command = plant(Gear.PARK).vehicle_command(0.01)
    assert command.hand_brake and command.throttle == 0.0


def test_the_body_acceleration_is_the_observed_speeds_change():
    van = plant(Gear.DRIVE)
    van.observe(0.01, 1.0, 2.0, 0.1, 0.05, 0.0)
    assert van.accel_mps2 == pytest.approx(5.0)
    assert van.state.x_m == 1.0
