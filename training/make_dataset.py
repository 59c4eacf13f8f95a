"""Render a detector training set: letterboxed frames and their 2D ground truth.

    PYTHONPATH=. python training/make_dataset.py --frames 4000 --seed 1 --out DATASET_DIR

Writes images.npy ((N, H, W, 3) uint8 BGR, already letterboxed to the model input, as the
detector's pre-processing would), boxes.npy ((M, 8) float32: frame index, class index, x1, y1,
x2, y2 in input pixels, visible fraction) and meta.json (class names, input size, seed).
Runs in the stack's environment (no PyTorch needed).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scenes import SceneSampler  # noqa: E402  (a script beside its helper module)

from robovan_autonomy.perception.classes import ObjectClass  # noqa: E402
from robovan_autonomy.perception.detector import letterbox  # noqa: E402

CLASS_NAMES = tuple(c.name.lower() for c in ObjectClass if c != ObjectClass.UNKNOWN)
DEFAULT_IMGSZ = (224, 416)  # height, width: 960 × 540 scaled by 0.415 (398 × 224) and padded


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--imgsz", type=int, nargs=2, default=DEFAULT_IMGSZ, metavar=("H", "W"))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    sampler = SceneSampler(args.seed)
    h, w = args.imgsz
    images = np.lib.format.open_memmap(
        args.out / "images.npy", mode="w+", dtype=np.uint8, shape=(args.frames, h, w, 3)
    )
    rows, started = [], time.monotonic()
    for i in range(args.frames):
        rendered = sampler.frame()
        images[i], fit = letterbox(rendered.image, (h, w))
        for box in rendered.frame.boxes:
            x1, y1, x2, y2 = fit.to_input(
                np.array([[box.x1 - 0.5, box.y1 - 0.5, box.x2 + 0.5, box.y2 + 0.5]])
            )[0]
            rows.append((i, box.class_id, x1, y1, x2, y2, box.visible_fraction, box.truncation))
        if (i + 1) % 200 == 0:
            print(
                f"{i + 1}/{args.frames} frames, {len(rows)} boxes, "
                f"{time.monotonic() - started:.0f} s",
                flush=True,
            )
    images.flush()
    np.save(args.out / "boxes.npy", np.array(rows, np.float32).reshape(-1, 8))
    (args.out / "meta.json").write_text(
        json.dumps(
            {"names": CLASS_NAMES, "imgsz": [h, w], "seed": args.seed, "frames": args.frames},
            indent=1,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
