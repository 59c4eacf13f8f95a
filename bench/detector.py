"""Camera detector: letterbox + ONNX Runtime (CPU, one thread) + YOLO decode + NMS on 960 × 540
frames of a district with 20 actors, with the shipped model at its own input size (target p99
≤ 40 ms here). `inference_*` is the onnxruntime call alone, `postprocess_*` decode and NMS."""

from __future__ import annotations

import time

import numpy as np
from _sensor_scene import front_camera_drive, summary, timed

from robovan_autonomy.perception.detector import Detector, letterbox, to_input_tensor
from robovan_autonomy.perception.perception_node import DEFAULT_MODEL

ACTORS = 20


def run(quick: bool = False) -> dict:
    renderer, extrinsic, district, frames = front_camera_drive(ACTORS, quick)
    images = []
    for base, boxes in frames:
        district.scene.set_boxes(boxes)
        images.append(renderer.render(district.scene, base.compose(extrinsic)).image)
    detector = Detector(DEFAULT_MODEL)
    detector.detect(images[0])  # warm-up: onnxruntime plans its kernels on the first run
    total, inference, post, counts = [], [], [], []
    for image in images:
        elapsed, found = timed(lambda: detector.detect(image))
        total.append(elapsed)
        counts.append(len(found))
        boxed, fit = letterbox(image, detector.input_hw)
        tensor = to_input_tensor(boxed)
        started = time.perf_counter()
        output = detector.session.run(None, {detector.input_name: tensor})[0]
        inference.append((time.perf_counter() - started) * 1e3)
        elapsed, _ = timed(lambda: detector.postprocess(output, fit, image.shape[:2]))
        post.append(elapsed)
    return {
        **summary(total),
        **summary(inference, "inference_"),
        **summary(post, "postprocess_"),
        "frames": len(images),
        "input_hw": list(detector.input_hw),
        "mean_detections": float(np.mean(counts)),
        "model_bytes": DEFAULT_MODEL.stat().st_size,
    }


if __name__ == "__main__":
    print(run())
