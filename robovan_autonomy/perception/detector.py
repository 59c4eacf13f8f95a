"""Camera object detector on ONNX Runtime: letterbox, a forward pass, YOLO decode, class-aware NMS.

The model contract is the one Ultralytics exports for YOLOv8 / YOLO11 detection: one float input
[1, 3, H, W] (RGB, 0…1, letterboxed with grey 114 borders) and one output [1, 4 + C, A]: for
each of A anchor points a box (cx, cy, w, h) in input pixels and C class scores (sigmoid already
applied, no objectness). Class names and the input size come from the model's metadata
(`names`, `imgsz`, as Ultralytics writes them) or from a sidecar YAML beside the model with the
same keys, so a model exported by Ultralytics can be dropped in as it is. Names map to the stack's
ObjectClass through CLASS_ALIASES; classes with no alias (a COCO model's "cup") are ignored.

Anything wrong with the model file is a ModelError at construction, never a failure mid-run.
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import cv2
import numpy as np
import yaml

from robovan_autonomy.perception.classes import ObjectClass

LETTERBOX_FILL = 114  # Ultralytics' border grey: the model saw it in training
MAX_INPUT_SIDE_PX = 4096  # larger inputs are a broken metadata entry, not a real model
DEFAULT_SCORE_THRESHOLD = 0.30
DEFAULT_IOU_THRESHOLD = 0.50  # YOLO's NMS default: boxes overlapping more are duplicates
MAX_DETECTIONS = 100  # per frame: a street scene has far fewer objects in view
MAX_CANDIDATES = 1000  # boxes entering NMS, best scores first (bounds its quadratic cost)

# Lower-case class names (ours, Ultralytics' COCO names, common driving data sets) → ObjectClass.
CLASS_ALIASES = {
    "car": ObjectClass.CAR,
    "van_truck": ObjectClass.VAN_TRUCK,
    "van": ObjectClass.VAN_TRUCK,
    "truck": ObjectClass.VAN_TRUCK,
    "bus": ObjectClass.VAN_TRUCK,
    "pedestrian": ObjectClass.PEDESTRIAN,
    "person": ObjectClass.PEDESTRIAN,
    "cyclist": ObjectClass.CYCLIST,
    "bicycle": ObjectClass.CYCLIST,
    "motorcycle": ObjectClass.CYCLIST,
    "rider": ObjectClass.CYCLIST,
    "static": ObjectClass.STATIC,
    "static_obstacle": ObjectClass.STATIC,
}


class ModelError(RuntimeError):
    """The model cannot be used: the text names the file and what is wrong with it."""


@dataclasses.dataclass(frozen=True)
class Letterbox:
    """How an image was fitted into the model input: input = image · scale + (pad_x, pad_y)."""

    scale: float
    pad_x: float
    pad_y: float

    def to_image(self, boxes_xyxy: np.ndarray) -> np.ndarray:
        """(N, 4) boxes in input pixels → original image pixels."""
        offset = np.array([self.pad_x, self.pad_y, self.pad_x, self.pad_y])
        return (np.asarray(boxes_xyxy, float) - offset) / self.scale

    def to_input(self, boxes_xyxy: np.ndarray) -> np.ndarray:
        offset = np.array([self.pad_x, self.pad_y, self.pad_x, self.pad_y])
        return np.asarray(boxes_xyxy, float) * self.scale + offset


def letterbox(image_bgr: np.ndarray, input_hw: tuple[int, int]) -> tuple[np.ndarray, Letterbox]:
    """Resize keeping the aspect ratio and pad to input_hw, centred (Ultralytics' layout)."""
    height, width = image_bgr.shape[:2]
    in_h, in_w = input_hw
    scale = min(in_w / width, in_h / height)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    interpolation = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
    resized = cv2.resize(image_bgr, (new_w, new_h), interpolation=interpolation)
    pad_x, pad_y = (in_w - new_w) / 2.0, (in_h - new_h) / 2.0
    top, left = int(round(pad_y - 0.1)), int(round(pad_x - 0.1))
    out = cv2.copyMakeBorder(
        resized,
        top,
        in_h - new_h - top,
        left,
        in_w - new_w - left,
        cv2.BORDER_CONSTANT,
        value=(LETTERBOX_FILL,) * 3,
    )
    return out, Letterbox(scale, float(left), float(top))


def to_input_tensor(letterboxed_bgr: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 BGR → (1, 3, H, W) float32 RGB in 0…1 (one OpenCV call)."""
    return cv2.dnn.blobFromImage(letterboxed_bgr, 1.0 / 255.0, swapRB=True)


@dataclasses.dataclass(frozen=True)
class Detections:
    """One frame's detections in original image pixels; class_id are ObjectClass values."""

    boxes_xyxy: np.ndarray  # (N, 4) float
    scores: np.ndarray  # (N,)
    class_id: np.ndarray  # (N,) int

    def __len__(self) -> int:
        return len(self.scores)

    @staticmethod
    def empty() -> Detections:
        return Detections(np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64))


def decode_yolo(
    output: np.ndarray, num_classes: int, score_threshold: float
) -> tuple[np.ndarray, ...]:
    """[1, 4 + C, A] → (boxes xyxy (K, 4), best score (K,), model class index (K,)) above the
    threshold, best first, at most MAX_CANDIDATES."""
    table = output[0]
    scores_all = table[4 : 4 + num_classes]
    best = scores_all.argmax(axis=0)
    score = scores_all[best, np.arange(table.shape[1])]
    keep = np.nonzero(score >= score_threshold)[0]
    keep = keep[np.argsort(-score[keep], kind="stable")][:MAX_CANDIDATES]
    cx, cy, w, h = table[:4, keep]
    boxes = np.stack([cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0], axis=1)
    return boxes.astype(float), score[keep].astype(float), best[keep]


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of (N, 4) and (M, 4) xyxy boxes → (N, M)."""
    a, b = np.asarray(a, float).reshape(-1, 4), np.asarray(b, float).reshape(-1, 4)
    lo = np.maximum(a[:, None, :2], b[None, :, :2])
    hi = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(hi - lo, 0.0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0.0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0.0, None), axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0.0, inter / np.maximum(union, 1e-12), 0.0)


def nms(
    boxes_xyxy: np.ndarray,
    scores: np.ndarray,
    classes: np.ndarray,
    iou_threshold: float,
    max_detections: int = MAX_DETECTIONS,
) -> np.ndarray:
    """Class-aware greedy NMS: indices kept, best score first. A box suppresses only boxes of its
    own class, so a cyclist's box survives inside a car's."""
    order = np.argsort(-np.asarray(scores), kind="stable")
    boxes, classes = np.asarray(boxes_xyxy, float)[order], np.asarray(classes)[order]
    overlap = box_iou(boxes, boxes) > iou_threshold
    overlap &= classes[:, None] == classes[None, :]
    suppressed = np.zeros(len(order), bool)
    kept = []
    for i in range(len(order)):
        if suppressed[i]:
            continue
        kept.append(i)
        if len(kept) == max_detections:
            break
        suppressed |= overlap[i]
    return order[np.array(kept, np.int64)] if kept else np.zeros(0, np.int64)


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    names: tuple[str, ...]
    input_hw: tuple[int, int]


def _parse_names(value, where: str) -> tuple[str, ...]:
    names = ast.literal_eval(value) if isinstance(value, str) else value
    if isinstance(names, dict):
        keys = sorted(names)
        if keys != list(range(len(keys))):
            raise ModelError(f"{where}: class indices {keys} are not 0…{len(keys) - 1}")
        names = [names[k] for k in keys]
    if (
        not isinstance(names, (list, tuple))
        or not names
        or not all(isinstance(n, str) for n in names)
    ):
        raise ModelError(f"{where}: 'names' must be a non-empty list or {{index: name}} mapping")
    return tuple(names)


def _parse_imgsz(value, where: str) -> tuple[int, int]:
    size = ast.literal_eval(value) if isinstance(value, str) else value
    if isinstance(size, int):
        size = [size, size]
    if (
        not isinstance(size, (list, tuple))
        or len(size) != 2
        or not all(isinstance(s, int) and 0 < s <= MAX_INPUT_SIDE_PX for s in size)
    ):
        raise ModelError(f"{where}: 'imgsz' must be [height, width] in pixels, got {value!r}")
    return int(size[0]), int(size[1])


def read_model_info(metadata: dict, model_path: Path) -> ModelInfo:
    """Names and input size from the model's metadata, else from `<model>.yaml` beside it."""
    sidecar = model_path.with_suffix(".yaml")
    source, where = metadata, f"{model_path} metadata"
    if "names" not in metadata and sidecar.exists():
        try:
            source = yaml.safe_load(sidecar.read_text()) or {}
        except (OSError, yaml.YAMLError) as err:
            raise ModelError(f"{sidecar}: cannot read the sidecar: {err}") from err
        where = str(sidecar)
    if not isinstance(source, dict) or "names" not in source or "imgsz" not in source:
        raise ModelError(
            f"{model_path}: no class names and input size: the model's metadata and "
            f"the sidecar {sidecar.name} need 'names' and 'imgsz'"
        )
    try:
        return ModelInfo(_parse_names(source["names"], where), _parse_imgsz(source["imgsz"], where))
    except (ValueError, SyntaxError) as err:
        raise ModelError(f"{where}: unreadable 'names' or 'imgsz': {err}") from err


class Detector:
    """One ONNX YOLO model; `detect` takes a BGR frame of any size."""

    def __init__(
        self,
        model_path: str | Path,
        providers: list[str] | tuple[str, ...] = ("CPUExecutionProvider",),
        score_threshold: float = DEFAULT_SCORE_THRESHOLD,
        iou_threshold: float = DEFAULT_IOU_THRESHOLD,
        intra_op_threads: int = 1,
    ):
        import onnxruntime as ort

        path = Path(model_path)
        if not path.is_file():
            raise ModelError(f"{path}: no such model file")
        unknown = [p for p in providers if p not in ort.get_available_providers()]
        if unknown or not providers:
            raise ModelError(
                f"execution providers {list(unknown) or list(providers)} are not available; "
                f"this onnxruntime has {ort.get_available_providers()}"
            )
        options = ort.SessionOptions()
        options.intra_op_num_threads = intra_op_threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self.session = ort.InferenceSession(str(path), options, providers=list(providers))
        except Exception as err:  # onnxruntime raises its own types for a corrupt or foreign file
            raise ModelError(f"{path}: onnxruntime cannot load it: {err}") from err
        self.path = path
        self.info = read_model_info(dict(self.session.get_modelmeta().custom_metadata_map), path)
        self.score_threshold, self.iou_threshold = score_threshold, iou_threshold
        self._check_io()
        self.class_map = np.array([int(CLASS_ALIASES.get(n.lower(), -1)) for n in self.info.names])
        if not np.any(self.class_map >= 0):
            raise ModelError(
                f"{path}: none of the classes {list(self.info.names)} is one the stack "
                f"knows ({sorted(CLASS_ALIASES)})"
            )

    def _check_io(self) -> None:
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if len(inputs) != 1 or len(outputs) < 1:
            raise ModelError(
                f"{self.path}: expected one input and one output, got {len(inputs)} and "
                f"{len(outputs)}"
            )
        shape, (in_h, in_w) = inputs[0].shape, self.info.input_hw
        static = [d if isinstance(d, int) else None for d in shape]
        if (
            len(shape) != 4
            or static[1] not in (3, None)
            or static[2] not in (in_h, None)
            or static[3] not in (in_w, None)
            or inputs[0].type != "tensor(float)"
        ):
            raise ModelError(
                f"{self.path}: input {inputs[0].name} is {inputs[0].type} {shape}, expected "
                f"float [1, 3, {in_h}, {in_w}] (imgsz from the metadata)"
            )
        self.input_name = inputs[0].name
        probe = self.session.run(None, {self.input_name: np.zeros((1, 3, in_h, in_w), np.float32)})[
            0
        ]
        expected_rows = 4 + len(self.info.names)
        if probe.ndim != 3 or probe.shape[0] != 1 or probe.shape[1] != expected_rows:
            raise ModelError(
                f"{self.path}: output shape {list(probe.shape)}, expected [1, {expected_rows}, "
                f"anchors] (4 box values + {len(self.info.names)} classes: the YOLOv8/YOLO11 "
                "export layout)"
            )

    @property
    def input_hw(self) -> tuple[int, int]:
        return self.info.input_hw

    def detect(self, image_bgr: np.ndarray) -> Detections:
        boxed, fit = letterbox(image_bgr, self.info.input_hw)
        output = self.session.run(None, {self.input_name: to_input_tensor(boxed)})[0]
        return self.postprocess(output, fit, image_bgr.shape[:2])

    def postprocess(
        self, output: np.ndarray, fit: Letterbox, image_hw: tuple[int, int]
    ) -> Detections:
        """Decode, keep the classes the stack knows, NMS, back to image pixels (clipped)."""
        boxes, scores, index = decode_yolo(output, len(self.info.names), self.score_threshold)
        classes = self.class_map[index]
        known = classes >= 0
        boxes, scores, classes = boxes[known], scores[known], classes[known]
        keep = nms(boxes, scores, classes, self.iou_threshold)
        h, w = image_hw
        image_boxes = fit.to_image(boxes[keep]).reshape(-1, 4)
        image_boxes[:, [0, 2]] = np.clip(image_boxes[:, [0, 2]], -0.5, w - 0.5)
        image_boxes[:, [1, 3]] = np.clip(image_boxes[:, [1, 3]], -0.5, h - 0.5)
        return Detections(image_boxes, scores[keep], classes[keep].astype(np.int64))
