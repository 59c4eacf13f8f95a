"""Speed limits: how fast the van may go where, and why (the one speed channel to the MPC)."""

import math

import numpy as np
import pytest

from robovan_autonomy.planning.speed_limits import (
    OCCLUSION_DECEL_MPS2,
    OCCLUSION_FLOOR_MPS,
    OCCLUSION_REACTION_S,
    SpeedLimit,
    SpeedProfile,
    occlusion_limits,
)

DECEL_MPS2 = 1.5
FRONT_M = 3.9


def test_a_limit_holds_over_its_stretch_and_is_reached_braking_gently_before_it():
    limit = SpeedLimit(50.0, 60.0, 3.0, "ramp into bay_A")
    cap = limit.cap_mps(np.array([20.0, 50.0, 55.0, 70.0]), DECEL_MPS2)
    assert cap[0] == pytest.approx(math.sqrt(3.0**2 + 2.0 * DECEL_MPS2 * 30.0))
    assert cap[1] == cap[2] == 3.0 and math.isinf(cap[3])


def test_the_lowest_limit_binds_and_names_itself():
    profile = SpeedProfile(
        (
            SpeedLimit(0.0, 100.0, 6.0, "person 7 beside the path"),
            SpeedLimit(-math.inf, math.inf, 8.0, "following 3"),
        )
    )
    assert profile.binding(10.0, DECEL_MPS2) == (6.0, "person 7 beside the path")
    assert profile.binding(150.0, DECEL_MPS2) == (8.0, "following 3")


def test_no_limit_binds_nothing():
    assert SpeedProfile().binding(0.0, DECEL_MPS2) == (math.inf, "")


def test_an_occluders_ends_are_approached_so_the_van_can_stop_short_of_them():
    profile = occlusion_limits(
        np.array([40.0]),
        np.array([45.4]),
        np.array([11]),
        s_front_van_m=10.0,
        front_bumper_m=FRONT_M,
    )
    s_van = np.linspace(0.0, 40.0 - FRONT_M, 50)
    cap = profile.cap_mps(s_van, DECEL_MPS2)
    room = 40.0 - (s_van + FRONT_M)
    stopping = cap * OCCLUSION_REACTION_S + cap**2 / (2.0 * OCCLUSION_DECEL_MPS2)
    assert np.all((stopping <= room + 1e-9) | (cap == OCCLUSION_FLOOR_MPS))
    assert cap[-1] == OCCLUSION_FLOOR_MPS and cap[0] > 8.0


def test_an_occluders_end_behind_the_front_bumper_no_longer_limits():
    profile = occlusion_limits(
        np.array([40.0]),
        np.array([45.4]),
        np.array([11]),
        s_front_van_m=42.0,
        front_bumper_m=FRONT_M,
    )
    assert [limit.reason for limit in profile.limits] == ["view blocked by 11 (its far end)"]
