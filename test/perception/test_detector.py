"""The ONNX detector: letterbox, YOLO decode, class-aware NMS, model checks, and the shipped model
through onnxruntime on a frame the simulator renders."""

import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from robovan_autonomy.camera_model import CameraIntrinsics
from robovan_autonomy.perception.classes import ObjectClass
from robovan_autonomy.perception.detector import (
    Detector,
    Letterbox,
    ModelError,
    box_iou,
    decode_yolo,
    letterbox,
    nms,
)
from robovan_autonomy.perception.perception_node import DEFAULT_MODEL
from robovan_autonomy.sim.camera import CameraRenderer
from robovan_autonomy.sim.scene import Box, GroundPolygon, Pose3, Scene
from robovan_autonomy.vehicle_params import load_vehicle_params

TINY = Path(__file__).parent / "data" / "tiny_two_class.onnx"


@given(st.integers(1, 1200), st.integers(1, 900))
@settings(max_examples=30, deadline=None)
def test_letterbox_fills_the_input_exactly_and_maps_boxes_back(width, height):
    image = np.full((height, width, 3), 40, np.uint8)
    out, fit = letterbox(image, (224, 416))
    assert out.shape == (224, 416, 3)
    box = np.array([[0.0, 0.0, width * 0.5, height * 0.25]])
    assert np.allclose(fit.to_image(fit.to_input(box)), box)
    # The image sits centred with grey borders only where it does not reach.
    assert fit.pad_x >= 0.0 and fit.pad_y >= 0.0
    assert fit.pad_x < 1.0 or fit.pad_y < 1.0


def test_decode_reads_the_ultralytics_layout():
    output = np.zeros((1, 4 + 3, 5), np.float32)
    output[0, :4, 2] = (100.0, 50.0, 20.0, 10.0)  # cx, cy, w, h
    output[0, 4 + 1, 2] = 0.9
    output[0, 4 + 0, 4] = 0.1  # below the threshold
    boxes, scores, classes = decode_yolo(output, 3, 0.25)
    assert np.allclose(boxes, [[90.0, 45.0, 110.0, 55.0]])
    assert np.allclose(scores, [0.9]) and classes.tolist() == [1]


def test_nms_suppresses_same_class_duplicates_but_keeps_other_classes():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [0, 0, 10, 10], [50, 50, 60, 60]], float)
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    classes = np.array([0, 0, 3, 0])
    assert sorted(nms(boxes, scores, classes, 0.5).tolist()) == [0, 2, 3]


@given(
    st.lists(
        st.tuples(
            st.floats(0, 200),
            st.floats(0, 200),
            st.floats(1, 80),
            st.floats(1, 80),
            st.floats(0.01, 1.0),
            st.integers(0, 2),
        ),
        min_size=1,
        max_size=25,
    )
)
@settings(max_examples=40, deadline=None)
def test_nms_output_never_holds_two_overlapping_boxes_of_one_class(rows):
    data = np.array(rows)
    boxes = np.column_stack(
        [data[:, 0], data[:, 1], data[:, 0] + data[:, 2], data[:, 1] + data[:, 3]]
    )
    kept = nms(boxes, data[:, 4], data[:, 5].astype(int), 0.5)
    iou = box_iou(boxes[kept], boxes[kept])
    same = data[kept, 5][:, None] == data[kept, 5][None, :]
    np.fill_diagonal(same, False)
    assert not np.any((iou > 0.5) & same)
    assert data[kept[0], 4] == data[:, 4].max()


def test_a_missing_model_fails_at_start_up_naming_the_file(tmp_path):
    with pytest.raises(ModelError, match="no such model file"):
        Detector(tmp_path / "absent.onnx")


def test_a_corrupt_model_file_fails_at_start_up(tmp_path):
    path = tmp_path / "broken.onnx"
    path.write_bytes(b"definitely not a protobuf" * 10)
    with pytest.raises(ModelError, match="cannot load"):
        Detector(path)


def test_a_model_without_names_or_sidecar_is_refused(tmp_path):
    path = shutil.copy(TINY, tmp_path / "tiny.onnx")
    with pytest.raises(ModelError, match="names"):
        Detector(path)


def test_a_sidecar_supplies_names_and_input_size(tmp_path):
    path = Path(shutil.copy(TINY, tmp_path / "tiny.onnx"))
    path.with_suffix(".yaml").write_text(
        yaml.safe_dump({"names": {0: "person", 1: "cup"}, "imgsz": [32, 64]})
    )
    detector = Detector(path, score_threshold=0.5)
    assert detector.input_hw == (32, 64)
    assert detector.class_map.tolist() == [
        int(ObjectClass.PEDESTRIAN),
        -1,
    ]  # a cup is nothing to us
    found = detector.detect(np.full((540, 960, 3), 128, np.uint8))
    assert set(found.class_id.tolist()) <= {int(ObjectClass.PEDESTRIAN)}


def test_a_model_whose_output_does_not_match_its_class_count_is_refused(tmp_path):
    path = Path(shutil.copy(TINY, tmp_path / "tiny.onnx"))
    path.with_suffix(".yaml").write_text(
        yaml.safe_dump({"names": ["car", "van", "person"], "imgsz": [32, 64]})
    )
    with pytest.raises(ModelError, match=r"output shape \[1, 6, 32\], expected \[1, 7, anchors\]"):
        Detector(path)


def test_a_model_whose_input_does_not_match_its_imgsz_is_refused(tmp_path):
    path = Path(shutil.copy(TINY, tmp_path / "tiny.onnx"))
    path.with_suffix(".yaml").write_text(
        yaml.safe_dump({"names": ["car", "person"], "imgsz": [64, 64]})
    )
    with pytest.raises(ModelError, match="imgsz"):
        Detector(path)


def test_an_unavailable_execution_provider_is_refused():
    with pytest.raises(ModelError, match="TensorrtExecutionProvider"):
        Detector(DEFAULT_MODEL, providers=["TensorrtExecutionProvider"])


def test_the_shipped_model_meets_its_size_limit_and_carries_its_metadata():
    assert DEFAULT_MODEL.stat().st_size <= 10 * 1024 * 1024
    detector = Detector(DEFAULT_MODEL)
    assert [n for n in detector.info.names] == [
        "car",
        "van_truck",
        "pedestrian",
        "cyclist",
        "static",
    ]
    assert detector.class_map.tolist() == [0, 1, 2, 3, 4]


def _street_frame():
    """A rendered frame: a car 12 m ahead and a pedestrian 10 m ahead to the right, on a road."""
    params = load_vehicle_params()
    road = np.array([[-50.0, -8.0], [200.0, -8.0], [200.0, 8.0], [-50.0, 8.0]])
    scene = Scene(roads=[GroundPolygon(road, (78, 76, 74), 0.1)])
    car = Box(14.3, 0.0, 0.0, 0.0, 4.5, 1.8, 1.5, None, int(ObjectClass.CAR), 1)
    walker = Box(12.3, -3.5, 0.0, 1.6, 0.6, 0.6, 1.75, None, int(ObjectClass.PEDESTRIAN), 2)
    scene.set_boxes([car, walker])
    renderer = CameraRenderer(CameraIntrinsics.from_vehicle_params(params))
    return renderer.render(
        scene, Pose3.from_xyz_ypr(0, 0, 0, 0).compose(params.sensor_pose("camera_front"))
    )


def test_the_shipped_model_finds_a_car_and_a_pedestrian_in_a_rendered_frame():
    frame = _street_frame()
    found = Detector(DEFAULT_MODEL).detect(frame.image)
    for truth in frame.boxes:
        iou = box_iou(np.array([[truth.x1, truth.y1, truth.x2, truth.y2]]), found.boxes_xyxy)[0]
        hits = (iou >= 0.5) & (found.class_id == truth.class_id)
        assert hits.any(), f"class {truth.class_id} not found: {found}"


def test_letterbox_record_maps_input_pixels_to_image_pixels():
    fit = Letterbox(scale=0.5, pad_x=10.0, pad_y=4.0)
    assert np.allclose(
        fit.to_image(np.array([[10.0, 4.0, 60.0, 54.0]])), [[0.0, 0.0, 100.0, 100.0]]
    )
