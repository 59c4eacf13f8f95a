"""The datasheet lives in one file and reaches code only through load_vehicle_params()."""

import numpy as np
import pytest

from robovan_autonomy.config_errors import ConfigError
from robovan_autonomy.vehicle_params import load_vehicle_params


def test_shipped_vehicle_file_matches_the_datasheet():
    params = load_vehicle_params()
    assert (
        params.wheelbase_m,
        params.max_steer_rad,
        params.min_accel_mps2,
        params.max_accel_mps2,
    ) == (3.0, 0.6, -6.0, 2.5)


def test_footprint_spans_the_body_around_the_rear_axle():
    footprint = load_vehicle_params().footprint()
    assert footprint[:, 0].min() == pytest.approx(-0.8)
    assert footprint[:, 0].max() == pytest.approx(3.9)
    assert np.ptp(footprint[:, 1]) == pytest.approx(1.8)


def test_sensor_extrinsic_moves_a_point_into_base_link():
    camera = load_vehicle_params().sensor_pose("camera_front")
    origin = camera.to_base_link(np.zeros((1, 3)))
    np.testing.assert_allclose(origin, [[2.30, 0.0, 2.00]])
    np.testing.assert_allclose(camera.from_base_link(origin), np.zeros((1, 3)), atol=1e-12)


def test_camera_pitch_points_the_optical_axis_down():
    forward = load_vehicle_params().sensor_pose("camera_front").rotation() @ np.array(
        [1.0, 0.0, 0.0]
    )
    assert forward[2] < 0.0


def test_missing_value_names_file_and_key(tmp_path):
    text = (
        (load_vehicle_params.__wrapped__.__defaults__[0])
        .read_text()
        .replace("wheelbase_m: 3.00", "wheelbase_m: .nan")
    )
    path = tmp_path / "vehicle.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_vehicle_params(path)
    assert err.value.key == "geometry.wheelbase_m"
