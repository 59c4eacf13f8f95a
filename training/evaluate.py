r"""mAP@0.5 of an ONNX detector on held-out rendered frames, through the stack's own Detector.

    PYTHONPATH=. python training/evaluate.py --model models/robovan_det.onnx \
        --frames 300 --seed 1001

Frames are rendered at the camera's full 960 × 540 from scenes the training set never saw (another
seed: other van poses, actors, sizes and colours) and go through exactly what runs on the van:
letterbox, ONNX Runtime, decode, class-aware NMS. Difficulties after KITTI's, with its minimum box
heights scaled from its 375 image rows to our 540 (× 1.44): "easy" counts objects at least 58 px
tall and 85 % visible, "moderate" 36 px and half visible (a car within ~20 m, a pedestrian within
~23 m), and "hard", beyond KITTI, 16 px and 30 % visible (~45 m). A detection of a box that does
not count is neither a hit nor a false alarm (KITTI's "don't care" rule). AP is the area under
the all-point interpolated precision-recall curve (VOC 2010+), per class; mAP their mean.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scenes import SceneSampler  # noqa: E402

from robovan_autonomy.perception.classes import ObjectClass  # noqa: E402
from robovan_autonomy.perception.detector import Detector, box_iou  # noqa: E402

# min box height px, min visible fraction
DIFFICULTIES = {"easy": (58.0, 0.85), "moderate": (36.0, 0.5), "hard": (16.0, 0.3)}
IOU_THRESHOLD = 0.5
EVAL_SCORE_THRESHOLD = 0.05  # low, so the precision-recall curve reaches its end


def average_precision(scores: np.ndarray, hits: np.ndarray, positives: int) -> float:
    if positives == 0:
        return float("nan")
    order = np.argsort(-scores, kind="stable")
    tp = np.cumsum(hits[order])
    fp = np.cumsum(~hits[order])
    recall = tp / positives
    precision = tp / np.maximum(tp + fp, 1)
    r = np.concatenate([[0.0], recall, [1.0]])
    p = np.concatenate([[1.0], precision, [0.0]])
    p = np.maximum.accumulate(p[::-1])[::-1]
    return float(np.sum((r[1:] - r[:-1]) * p[1:]))


def evaluate(model: Path, frames: int, seed: int) -> dict:
    detector = Detector(model, score_threshold=EVAL_SCORE_THRESHOLD)
    sampler = SceneSampler(seed)
    classes = [int(c) for c in ObjectClass if c != ObjectClass.UNKNOWN]
    records = {(d, c): ([], []) for d in DIFFICULTIES for c in classes}  # scores, hit flags
    positives = dict.fromkeys(records, 0)
    latency = []
    for _ in range(frames):
        rendered = sampler.frame()
        started = time.perf_counter()
        found = detector.detect(rendered.image)
        latency.append((time.perf_counter() - started) * 1e3)
        for difficulty, (min_height, min_visible) in DIFFICULTIES.items():
            score_frame(
                rendered.frame.boxes,
                found,
                classes,
                min_height,
                min_visible,
                {c: records[difficulty, c] for c in classes},
                positives,
                difficulty,
            )
    result = {
        "model": str(model),
        "frames": frames,
        "seed": seed,
        "input_hw": list(detector.input_hw),
        "latency_ms": {
            "p50": float(np.percentile(latency, 50)),
            "p99": float(np.percentile(latency, 99)),
        },
    }
    for difficulty in DIFFICULTIES:
        ap = {
            ObjectClass(c).name.lower(): average_precision(
                np.array(records[difficulty, c][0]),
                np.array(records[difficulty, c][1], bool),
                positives[difficulty, c],
            )
            for c in classes
        }
        valid = [v for v in ap.values() if np.isfinite(v)]
        result[difficulty] = {
            "map50": float(np.mean(valid)),
            "ap50": ap,
            "objects": {ObjectClass(c).name.lower(): positives[difficulty, c] for c in classes},
        }
    return result


def score_frame(
    truth, found, classes, min_height, min_visible, records, positives, difficulty
) -> None:
    gt_boxes = np.array([[b.x1 - 0.5, b.y1 - 0.5, b.x2 + 0.5, b.y2 + 0.5] for b in truth]).reshape(
        -1, 4
    )
    gt_class = np.array([b.class_id for b in truth], int)
    counts = np.array(
        [b.visible_fraction >= min_visible and b.y2 - b.y1 + 1.0 >= min_height for b in truth], bool
    )
    for c in classes:
        mine = gt_class == c
        positives[difficulty, c] += int(np.sum(mine & counts))
        det = found.class_id == c
        boxes, scores = found.boxes_xyxy[det], found.scores[det]
        order = np.argsort(-scores, kind="stable")
        iou = box_iou(boxes[order], gt_boxes[mine])
        taken = np.zeros(int(mine.sum()), bool)
        counted = counts[mine]
        for k, i in enumerate(order):
            j = int(np.argmax(iou[k])) if iou.shape[1] else -1
            if j < 0 or iou[k, j] < IOU_THRESHOLD:
                records[c][0].append(scores[i])
                records[c][1].append(False)
                continue
            if not counted[j]:
                continue  # a "don't care" object: neither hit nor false alarm
            records[c][0].append(scores[i])
            records[c][1].append(not taken[j])
            taken[j] = True


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/robovan_det.onnx"))
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1001)
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args(argv)
    result = evaluate(args.model, args.frames, args.seed)
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
