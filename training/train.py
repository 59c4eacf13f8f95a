"""Train the camera detector on rendered frames and export it as a YOLOv8-layout ONNX model.

    python training/train.py --data DATASET_DIR --minutes 35 --out models/robovan_det.onnx
    # a Python with torch, numpy and onnx; DATASET_DIR from make_dataset.py (models/README.md)

A small anchor-free YOLO-style network written here: a 5-stage conv backbone, an FPN neck and a
decoupled head on strides 8, 16 and 32. Each anchor point predicts distances to the box sides
(in strides) and one sigmoid score per class. Training targets are static: a ground-truth box
belongs to the levels whose size range holds it and to the anchor points inside it near its
centre (FCOS centre sampling), the smallest box winning a shared point; boxes too occluded or
too small to learn from are ignored rather than taught as background. Losses: GIoU on the boxes
of assigned points, quality focal loss (target = IoU of the predicted box) on the scores.

The exported graph decodes in-graph to Ultralytics' layout, [1, 4 + C, anchors] with (cx, cy,
w, h) in input pixels and sigmoid class scores, and carries `names` and `imgsz` metadata, so the
stack's detector (and any Ultralytics-compatible runtime) reads it as it would a YOLOv8 export.
Needs only torch, numpy and onnx: PyTorch is for training, never at run time.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

# Before torch starts OpenMP: spinning workers on a CPU shared with other jobs wait on each other
# at every barrier (measured 15× slower than one sleeping thread on a busy 2-core machine).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

STRIDES = (8, 16, 32)
# Ground-truth sizes (longer side, input px) each level learns; neighbours overlap by design.
LEVEL_RANGES_PX = ((0.0, 64.0), (32.0, 128.0), (96.0, 1e9))
CENTRE_RADIUS_STRIDES = 2.5  # FCOS centre sampling radius
MIN_VISIBLE_FRACTION = 0.30  # less visible boxes are ignored (neither object nor background)
MIN_BOX_PX = (2.0, 4.0)  # width, height in input px below which a box is ignored
PRIOR_PROBABILITY = 0.01  # initial class score: the focal-loss bias initialisation
QFL_GAMMA = 2.0
MIN_QUALITY_TARGET = 0.1  # floor of the IoU score target while boxes are still poor
BOX_LOSS_WEIGHT = 2.0
LR = 3e-3
WEIGHT_DECAY = 5e-4
WARMUP_ITERS = 300
OPSET = 17


# ---------------------------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------------------------
def conv(c_in: int, c_out: int, k: int = 3, s: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, k, s, k // 2, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class CspBlock(nn.Module):
    """YOLOv8's C2f in small: split, a chain of 3×3 convs on one half, concat every stage."""

    def __init__(self, channels: int, depth: int = 1):
        super().__init__()
        half = channels // 2
        self.split = conv(channels, 2 * half, 1)
        self.chain = nn.ModuleList(conv(half, half) for _ in range(depth))
        self.merge = conv(half * (2 + depth), channels, 1)

    def forward(self, x):
        a, b = self.split(x).chunk(2, 1)
        outs = [a, b]
        for layer in self.chain:
            b = layer(b) + b
            outs.append(b)
        return self.merge(torch.cat(outs, 1))


class TinyYolo(nn.Module):
    def __init__(self, num_classes: int, widths=(8, 16, 32, 64, 96), neck: int = 40):
        super().__init__()
        w = widths
        self.num_classes = num_classes
        self.stem = nn.Sequential(conv(3, w[0], 3, 2), conv(w[0], w[1], 3, 2), CspBlock(w[1]))
        self.stage3 = nn.Sequential(conv(w[1], w[2], 3, 2), CspBlock(w[2], 2))
        self.stage4 = nn.Sequential(conv(w[2], w[3], 3, 2), CspBlock(w[3], 2))
        self.stage5 = nn.Sequential(conv(w[3], w[4], 3, 2), CspBlock(w[4]))
        self.lat5, self.lat4, self.lat3 = (
            conv(w[4], neck, 1),
            conv(w[3], neck, 1),
            conv(w[2], neck, 1),
        )
        self.fuse4, self.fuse3 = CspBlock(neck), CspBlock(neck)
        self.down3, self.down4 = conv(neck, neck, 3, 2), conv(neck, neck, 3, 2)
        self.pan4, self.pan5 = CspBlock(neck), CspBlock(neck)
        self.head = nn.ModuleList(conv(neck, neck) for _ in STRIDES)
        self.box_out = nn.ModuleList(nn.Conv2d(neck, 4, 1) for _ in STRIDES)
        self.cls_out = nn.ModuleList(nn.Conv2d(neck, num_classes, 1) for _ in STRIDES)
        for layer in self.cls_out:
            nn.init.constant_(layer.bias, -math.log((1.0 - PRIOR_PROBABILITY) / PRIOR_PROBABILITY))
        for layer in self.box_out:
            nn.init.constant_(layer.bias, 1.0)

    def forward(self, x):
        """Per level: (box distances raw (B, 4, H, W), class logits (B, C, H, W))."""
        c3 = self.stage3(self.stem(x))
        c4 = self.stage4(c3)
        c5 = self.stage5(c4)
        p5 = self.lat5(c5)
        p4 = self.fuse4(self.lat4(c4) + F.interpolate(p5, size=c4.shape[2:], mode="nearest"))
        p3 = self.fuse3(self.lat3(c3) + F.interpolate(p4, size=c3.shape[2:], mode="nearest"))
        n4 = self.pan4(p4 + self.down3(p3))
        n5 = self.pan5(p5 + self.down4(n4))
        heads = [h(f) for f, h in zip((p3, n4, n5), self.head)]
        return [(b(h), c(h)) for h, b, c in zip(heads, self.box_out, self.cls_out)]


def anchor_points(input_hw: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(A, 2) anchor centres in input px and (A,) their strides, level by level, row-major."""
    points, strides = [], []
    for s in STRIDES:
        h, w = math.ceil(input_hw[0] / s), math.ceil(input_hw[1] / s)
        ys, xs = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
        points.append(np.stack([xs.ravel() + 0.5, ys.ravel() + 0.5], 1) * s)
        strides.append(np.full(h * w, s))
    return np.concatenate(points).astype(np.float32), np.concatenate(strides).astype(np.float32)


def flatten(levels, num_classes: int):
    """Levels → (B, A, 4) raw distances and (B, A, C) logits."""
    box = torch.cat([b.flatten(2) for b, _ in levels], 2).transpose(1, 2)
    cls = torch.cat([c.flatten(2) for _, c in levels], 2).transpose(1, 2)
    return box, cls


def decode_xyxy(raw_box: torch.Tensor, points: torch.Tensor, strides: torch.Tensor) -> torch.Tensor:
    ltrb = F.softplus(raw_box) * strides[:, None]
    return torch.cat([points - ltrb[..., :2], points + ltrb[..., 2:]], -1)


class ExportWrapper(nn.Module):
    """The deployed graph: image in, Ultralytics' [1, 4 + C, A] out."""

    def __init__(self, model: TinyYolo, input_hw: tuple[int, int]):
        super().__init__()
        self.model = model
        points, strides = anchor_points(input_hw)
        self.register_buffer("points", torch.from_numpy(points))
        self.register_buffer("strides", torch.from_numpy(strides))

    def forward(self, x):
        raw_box, logits = flatten(self.model(x), self.model.num_classes)
        xyxy = decode_xyxy(raw_box, self.points, self.strides)
        cxcywh = torch.cat(
            [(xyxy[..., :2] + xyxy[..., 2:]) / 2.0, xyxy[..., 2:] - xyxy[..., :2]], -1
        )
        return torch.cat([cxcywh, logits.sigmoid()], -1).transpose(1, 2)


# ---------------------------------------------------------------------------------------------
# Data and targets
# ---------------------------------------------------------------------------------------------
class RenderedSet:
    def __init__(self, folder: Path):
        self.images = np.load(folder / "images.npy", mmap_mode="r")
        self.meta = json.loads((folder / "meta.json").read_text())
        boxes = np.load(folder / "boxes.npy")
        order = np.argsort(boxes[:, 0], kind="stable")
        boxes = boxes[order]
        starts = np.searchsorted(boxes[:, 0], np.arange(len(self.images) + 1))
        self.boxes = [boxes[a:b, 1:] for a, b in zip(starts[:-1], starts[1:])]

    def __len__(self) -> int:
        return len(self.images)


def split_boxes(rows: np.ndarray):
    """(class, x1, y1, x2, y2, visible, truncation) rows → learnable (class, xyxy), ignored xyxy."""
    w, h = rows[:, 3] - rows[:, 1], rows[:, 4] - rows[:, 2]
    good = (rows[:, 5] >= MIN_VISIBLE_FRACTION) & (w >= MIN_BOX_PX[0]) & (h >= MIN_BOX_PX[1])
    return rows[good, :5], rows[~good, 1:5]


def assign(gt: np.ndarray, ignore: np.ndarray, points: np.ndarray, strides: np.ndarray):
    """Static targets for one image: class per anchor (-1 background, -2 ignored) and the box."""
    count = len(points)
    labels = np.full(count, -1, np.int64)
    targets = np.zeros((count, 4), np.float32)
    if len(ignore):
        inside = (
            (points[:, None, 0] >= ignore[None, :, 0])
            & (points[:, None, 0] <= ignore[None, :, 2])
            & (points[:, None, 1] >= ignore[None, :, 1])
            & (points[:, None, 1] <= ignore[None, :, 3])
        )
        labels[inside.any(1)] = -2
    if not len(gt):
        return labels, targets
    box = gt[:, 1:5]
    size = np.maximum(box[:, 2] - box[:, 0], box[:, 3] - box[:, 1])
    centre = (box[:, :2] + box[:, 2:]) / 2.0
    level_of = np.searchsorted(np.array(STRIDES), strides)
    lo = np.array([r[0] for r in LEVEL_RANGES_PX])[level_of]
    hi = np.array([r[1] for r in LEVEL_RANGES_PX])[level_of]
    in_range = (size[None, :] >= lo[:, None]) & (size[None, :] <= hi[:, None])
    inside = (
        (points[:, None, 0] >= box[None, :, 0])
        & (points[:, None, 0] <= box[None, :, 2])
        & (points[:, None, 1] >= box[None, :, 1])
        & (points[:, None, 1] <= box[None, :, 3])
    )
    radius = CENTRE_RADIUS_STRIDES * strides[:, None]
    near = np.all(np.abs(points[:, None, :] - centre[None]) <= radius[..., None], axis=2)
    candidate = in_range & inside & near
    # A box no anchor point falls in gets the nearest point of the finest level it belongs to.
    for j in np.nonzero(~candidate.any(0))[0]:
        level = int(np.argmax([lo_ <= size[j] <= hi_ for lo_, hi_ in LEVEL_RANGES_PX]))
        mine = np.nonzero(level_of == level)[0]
        candidate[mine[np.argmin(np.sum((points[mine] - centre[j]) ** 2, 1))], j] = True
    area = np.where(candidate, ((box[:, 2] - box[:, 0]) * (box[:, 3] - box[:, 1]))[None, :], np.inf)
    owner = area.argmin(1)
    positive = np.isfinite(area.min(1))
    labels[positive] = gt[owner[positive], 0].astype(np.int64)
    targets[positive] = box[owner[positive]]
    return labels, targets


def batch(
    data: RenderedSet, index: np.ndarray, points, strides, rng: np.random.Generator, augment: bool
):
    images = np.ascontiguousarray(data.images[np.sort(index)], dtype=np.float32)
    index = np.sort(index)
    width = images.shape[2]
    labels, targets = [], []
    for k, i in enumerate(index):
        gt, ignore = split_boxes(data.boxes[i])
        if augment and rng.random() < 0.5:
            images[k] = images[k, :, ::-1]
            gt = gt.copy()
            gt[:, [1, 3]] = width - gt[:, [3, 1]]
            ignore = ignore.copy()
            ignore[:, [0, 2]] = width - ignore[:, [2, 0]]
        if augment:  # exposure and white balance: the renderer's sun never changes, cameras do
            images[k] = images[k] * rng.uniform(0.75, 1.25) * rng.uniform(
                0.9, 1.1, 3
            ) + rng.uniform(-20, 20)
        lab, tgt = assign(gt, ignore, points, strides)
        labels.append(lab)
        targets.append(tgt)
    x = torch.from_numpy(np.clip(images, 0, 255)[..., ::-1].transpose(0, 3, 1, 2) / 255.0).float()
    return x.contiguous(), torch.from_numpy(np.stack(labels)), torch.from_numpy(np.stack(targets))


# ---------------------------------------------------------------------------------------------
# Loss
# ---------------------------------------------------------------------------------------------
def giou(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, 4) xyxy pairs → (IoU, GIoU)."""
    lo, hi = torch.maximum(a[:, :2], b[:, :2]), torch.minimum(a[:, 2:], b[:, 2:])
    inter = (hi - lo).clamp(min=0).prod(1)
    area_a, area_b = (a[:, 2:] - a[:, :2]).prod(1), (b[:, 2:] - b[:, :2]).prod(1)
    union = area_a + area_b - inter + 1e-9
    iou = inter / union
    hull = (torch.maximum(a[:, 2:], b[:, 2:]) - torch.minimum(a[:, :2], b[:, :2])).prod(1) + 1e-9
    return iou, iou - (hull - union) / hull


def loss_fn(levels, labels, targets, points, strides, num_classes):
    raw_box, logits = flatten(levels, num_classes)
    positive = labels >= 0
    valid = labels != -2
    count = max(int(positive.sum()), 1)
    quality = torch.zeros_like(logits)
    box_loss = logits.sum() * 0.0
    if positive.any():
        pred = decode_xyxy(
            raw_box[positive],
            points.expand(len(labels), -1, -1)[positive],
            strides.expand(len(labels), -1)[positive],
        )
        iou, g = giou(pred, targets[positive])
        box_loss = (1.0 - g).sum() / count
        quality[positive, labels[positive]] = iou.detach().clamp(min=MIN_QUALITY_TARGET)
    p = logits.sigmoid()
    qfl = (
        F.binary_cross_entropy_with_logits(logits, quality, reduction="none")
        * (p - quality).abs() ** QFL_GAMMA
    )
    cls_loss = (qfl.sum(-1) * valid).sum() / count
    return cls_loss + BOX_LOSS_WEIGHT * box_loss, cls_loss.detach(), box_loss.detach()


# ---------------------------------------------------------------------------------------------
# Export, and back
# ---------------------------------------------------------------------------------------------
def module_path(node_name: str) -> str:
    """'/model/stem/stem.2/chain.0/chain.0.0/Conv' → 'stem.2.chain.0.0' (the exporter's scopes)."""
    parts, previous = [], ""
    for scope in node_name.split("/")[2:-1]:
        parts.append(
            scope[len(previous) + 1 :] if previous and scope.startswith(previous + ".") else scope
        )
        previous = scope
    return ".".join(parts)


def load_onnx_weights(model: TinyYolo, path: Path) -> None:
    """Start from an exported model. The exporter folded each BatchNorm into its convolution, so
    the BatchNorm layers come back as identities (and must stay frozen: see `freeze_batchnorm`)."""
    proto = onnx.load(str(path))
    weights = {
        i.name: torch.from_numpy(onnx.numpy_helper.to_array(i).copy())
        for i in proto.graph.initializer
    }
    modules = dict(model.named_modules())
    loaded = set()
    for node in proto.graph.node:
        if node.op_type != "Conv":
            continue
        name = module_path(node.name)
        conv, weight, bias = modules[name], weights[node.input[1]], weights[node.input[2]]
        if conv.weight.shape != weight.shape:
            raise ValueError(
                f"{path}: {name} has weights {tuple(weight.shape)}, this network "
                f"{tuple(conv.weight.shape)}"
            )
        conv.weight.data.copy_(weight)
        parent, index = name.rsplit(".", 1)
        norm = modules.get(f"{parent}.{int(index) + 1}")
        if conv.bias is not None:
            conv.bias.data.copy_(bias)
        else:
            norm.weight.data.fill_(1.0)
            norm.bias.data.copy_(bias)
            norm.running_mean.zero_()
            norm.running_var.fill_(1.0 - norm.eps)
        loaded.add(name)
    missing = {n for n, m in modules.items() if isinstance(m, nn.Conv2d)} - loaded
    if missing:
        raise ValueError(f"{path}: no weights for {sorted(missing)}")


def freeze_batchnorm(model: TinyYolo) -> None:
    """Keep the running statistics (eval mode) while the rest trains."""
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.eval()


def export(
    model: TinyYolo, input_hw: tuple[int, int], names: list[str], out: Path, extra: dict
) -> None:
    wrapper = ExportWrapper(model, input_hw).eval()
    out.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(
            wrapper,
            (torch.zeros(1, 3, *input_hw),),
            str(out),
            dynamo=False,
            opset_version=OPSET,
            input_names=["images"],
            output_names=["output0"],
        )
    proto = onnx.load(str(out))
    metadata = {
        "names": str(dict(enumerate(names))),
        "imgsz": str(list(input_hw)),
        "task": "detect",
        "stride": str(max(STRIDES)),
        "batch": "1",
        "author": "robovan_autonomy training/train.py",
        "description": "robovan TinyYolo: YOLOv8 layout [1, 4 + C, anchors]",
        **extra,
    }
    del proto.metadata_props[:]
    for key, value in metadata.items():
        proto.metadata_props.add(key=key, value=str(value))
    onnx.save(proto, str(out))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="make_dataset.py output folder")
    parser.add_argument("--out", type=Path, default=Path("models/robovan_det.onnx"))
    parser.add_argument("--minutes", type=float, default=35.0, help="training time budget")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (1 is fastest on a shared CPU)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=LR, help="peak learning rate")
    parser.add_argument(
        "--checkpoint",
        type=Path,
        default=None,
        help="resume from these weights (.pt; every epoch saves DATA/checkpoint.pt)",
    )
    parser.add_argument(
        "--init-onnx",
        type=Path,
        default=None,
        help="start from an exported model "
        "(its BatchNorm is folded away, so BatchNorm stays frozen while fine-tuning)",
    )
    args = parser.parse_args(argv)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    data = RenderedSet(args.data)
    names, input_hw = list(data.meta["names"]), tuple(data.meta["imgsz"])
    points_np, strides_np = anchor_points(input_hw)
    points, strides = torch.from_numpy(points_np), torch.from_numpy(strides_np)
    model = TinyYolo(len(names))
    if args.checkpoint:
        model.load_state_dict(torch.load(args.checkpoint))
    if args.init_onnx:
        load_onnx_weights(model, args.init_onnx)
    model = model.to(memory_format=torch.channels_last)  # about twice as fast on CPU here
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1]
    optimiser = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": WEIGHT_DECAY},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=args.lr,
    )
    budget_s, started = args.minutes * 60.0, time.monotonic()
    it, epoch, done = 0, 0, False
    print(
        f"{len(data)} frames, classes {names}, input {input_hw}, "
        f"{sum(p.numel() for p in model.parameters())} parameters",
        flush=True,
    )
    while not done:
        epoch += 1
        order = rng.permutation(len(data))
        sums = np.zeros(3)
        model.train()
        if args.init_onnx:
            freeze_batchnorm(model)
        for first in range(0, len(order) - args.batch + 1, args.batch):
            x, labels, targets = batch(
                data, order[first : first + args.batch], points_np, strides_np, rng, True
            )
            x = x.to(memory_format=torch.channels_last)
            # Cosine decay over the time budget, not an iteration count: the speed of a shared
            # CPU varies too much to fix the schedule's length in advance.
            progress = (time.monotonic() - started) / budget_s
            lr = (
                args.lr
                * min(1.0, (it + 1) / WARMUP_ITERS)
                * max(0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0))), 0.01)
            )
            for group in optimiser.param_groups:
                group["lr"] = lr
            loss, cls_loss, box_loss = loss_fn(
                model(x), labels, targets, points, strides, len(names)
            )
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            optimiser.step()
            sums += (float(loss.detach()), float(cls_loss), float(box_loss))
            it += 1
            if it % 50 == 0:
                print(
                    f"epoch {epoch} iter {it} loss {sums[0] / 50:.3f} (cls {sums[1] / 50:.3f}, "
                    f"box {sums[2] / 50:.3f}) lr {lr:.2e} {progress * args.minutes:.1f} min",
                    flush=True,
                )
                sums[:] = 0
            if progress >= 1.0:
                done = True
                break
        model.eval()
        torch.save(model.state_dict(), args.data / "checkpoint.pt")
        export(
            model,
            input_hw,
            names,
            args.out,
            {
                "epochs": epoch,
                "iterations": it,
                "train_frames": len(data),
                "train_seed": data.meta["seed"],
            },
        )
        print(f"epoch {epoch} done, exported {args.out}", flush=True)


if __name__ == "__main__":
    main()
