"""GNSS fixes into the map frame through the map's own projector, and refusal of fixes that
carry no usable position."""

import math

import numpy as np
import pytest

from robovan_autonomy.core_types import GnssFix
from robovan_autonomy.localization.geodesy import MIN_SIGMA_M, FixProjector, FixRejected
from robovan_autonomy.mapping.lanelet_map import load_map

UNKNOWN_SIGMA_M = 1.5


@pytest.fixture(scope="module")
def district():
    return load_map()


@pytest.fixture(scope="module")
def projector(district):
    return FixProjector(district, 1000.0, UNKNOWN_SIGMA_M)


def fix_at(district, x, y, has_fix=True, sigma=0.03, t=1.0):
    lat, lon, alt = district.to_geodetic(x, y, 2.3)
    return GnssFix(t, lat, lon, alt, has_fix, np.diag([sigma**2, sigma**2, (2 * sigma) ** 2]))


@pytest.mark.parametrize("x, y", [(0.0, 0.0), (221.75, 250.0), (440.0, 360.0), (-20.0, 380.0)])
def test_fix_lands_where_the_map_put_it(district, projector, x, y):
    result = projector.to_map(fix_at(district, x, y))
    np.testing.assert_allclose(result.xy_m, [x, y], atol=1e-3)
    assert result.t_s == 1.0


def test_fix_covariance_keeps_the_receiver_sigma_plus_a_floor(district, projector):
    result = projector.to_map(fix_at(district, 10.0, 10.0, sigma=0.03))
    np.testing.assert_allclose(result.covariance, np.eye(2) * (0.03**2 + MIN_SIGMA_M**2))


def test_fix_without_covariance_gets_the_unknown_sigma(district, projector):
    lat, lon, alt = district.to_geodetic(5.0, 5.0)
    result = projector.to_map(GnssFix(0.0, lat, lon, alt, True, np.zeros((3, 3))))
    assert result.covariance[0, 0] == pytest.approx(UNKNOWN_SIGMA_M**2 + MIN_SIGMA_M**2)


def test_no_fix_status_is_refused_as_no_fix(district, projector):
    with pytest.raises(FixRejected) as err:
        projector.to_map(fix_at(district, 10.0, 10.0, has_fix=False))
    assert err.value.reason == "gnss_no_fix"


def test_nan_position_is_refused_as_nan(projector):
    with pytest.raises(FixRejected) as err:
        projector.to_map(GnssFix(0.0, math.nan, math.nan, math.nan, False, np.zeros((3, 3))))
    assert err.value.reason == "gnss_nan"


def test_fix_kilometres_away_is_refused_as_off_map(district, projector):
    with pytest.raises(FixRejected) as err:
        projector.to_map(fix_at(district, 5000.0, -3000.0))
    assert err.value.reason == "gnss_off_map"


def test_fix_with_a_negative_variance_is_refused(district, projector):
    good = fix_at(district, 10.0, 10.0)
    bad = GnssFix(
        good.stamp_s,
        good.latitude_deg,
        good.longitude_deg,
        good.altitude_m,
        True,
        np.diag([-1.0, 0.01, 0.01]),
    )
    with pytest.raises(FixRejected) as err:
        projector.to_map(bad)
    assert err.value.reason == "gnss_bad_covariance"
