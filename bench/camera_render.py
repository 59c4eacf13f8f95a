"""Camera model: one 960 × 540 bgr8 frame with 2D ground truth in a district of 100 buildings
and 20 moving actors (target ≤ 25 ms on one core)."""

from __future__ import annotations

import numpy as np
from _sensor_scene import front_camera_drive, summary, timed

ACTORS = 20


def run(quick: bool = False) -> dict:
    renderer, extrinsic, district, frames = front_camera_drive(ACTORS, quick)
    scene = district.scene
    renderer.render(scene, frames[0][0].compose(extrinsic))  # warm-up
    samples, boxes_in_view = [], []
    for base, boxes in frames:
        scene.set_boxes(boxes)
        elapsed, frame = timed(lambda: renderer.render(scene, base.compose(extrinsic)))
        samples.append(elapsed)
        boxes_in_view.append(len(frame.boxes))
    return {
        **summary(samples),
        "frames": len(frames),
        "mean_boxes_in_view": float(np.mean(boxes_in_view)),
        "actors": ACTORS,
        "buildings": len(scene.prisms),
    }


if __name__ == "__main__":
    print(run())
