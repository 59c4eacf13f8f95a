"""The figures of a replay report, from plain arrays (the replay decodes the bags).

Localization and perception are judged against the bag's recorded ground truth with the
simulator report's rules (sim/report/metrics.py: match distance, perception range), so a replay
and the run it came from give comparable numbers. Planner and latency figures need only the
stack's outputs, so every bag gets them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from robovan_autonomy.geometry import wrap_angle
from robovan_autonomy.sim.report.metrics import MATCH_DISTANCE_M, PERCEPTION_RANGE_M

MAX_TRUTH_OFFSET_S = 0.05  # ground-truth objects come at 10 Hz: half a period is "the same instant"
STAMP_MATCH_S = 1e-6  # commands of the replay and of the recording match when stamped alike
TIMING_SUFFIX = "_ms"  # diagnostics values with this suffix are durations to summarise
WARN_LEVEL = 1  # diagnostic_msgs levels (interfaces.OK, WARN, ERROR)
MAX_MESSAGES_LISTED = 20  # distinct diagnostic messages kept per name; the rest count as "(other)"


def stats(values: Iterable[float]) -> dict | None:
    """count, mean, p50, p99, max and rms of a sample; None when it is empty."""
    data = np.asarray(list(values), dtype=float)
    data = data[np.isfinite(data)]
    if data.size == 0:
        return None
    return {
        "count": int(data.size),
        "mean": float(np.mean(data)),
        "p50": float(np.percentile(data, 50)),
        "p99": float(np.percentile(data, 99)),
        "max": float(np.max(data)),
        "rms": float(np.sqrt(np.mean(data**2))),
    }


def localization_errors(estimates: np.ndarray, truth: np.ndarray) -> dict | None:
    """Errors of (N, 5) estimates [t_s, x_m, y_m, yaw_rad, speed_mps] against truth rows of the
    same layout, interpolated at each estimate's stamp; estimates outside the truth span are not
    judged. None when nothing can be judged."""
    estimates, truth = (
        np.asarray(estimates, float).reshape(-1, 5),
        np.asarray(truth, float).reshape(-1, 5),
    )
    if len(truth) < 2:
        return None
    inside = estimates[(estimates[:, 0] >= truth[0, 0]) & (estimates[:, 0] <= truth[-1, 0])]
    if not len(inside):
        return None
    t = inside[:, 0]
    true_x, true_y = np.interp(t, truth[:, 0], truth[:, 1]), np.interp(t, truth[:, 0], truth[:, 2])
    true_yaw = np.interp(t, truth[:, 0], np.unwrap(truth[:, 3]))
    true_speed = np.interp(t, truth[:, 0], truth[:, 4])
    return {
        "estimates": int(len(inside)),
        "position_error_m": stats(np.hypot(inside[:, 1] - true_x, inside[:, 2] - true_y)),
        "heading_error_rad": stats(np.abs(wrap_angle(inside[:, 3] - true_yaw))),
        "speed_error_mps": stats(np.abs(inside[:, 4] - true_speed)),
    }


def match_objects(
    found: np.ndarray, truth: np.ndarray, gate_m: float = MATCH_DISTANCE_M
) -> list[tuple[int, int]]:
    """Greedy centre-distance matching (closest pair first) of (N, 2+) against (M, 2+) x, y rows."""
    found, truth = np.asarray(found, float), np.asarray(truth, float)
    if not len(found) or not len(truth):
        return []
    dist = np.hypot(found[:, None, 0] - truth[None, :, 0], found[:, None, 1] - truth[None, :, 1])
    pairs = []
    while dist.min() <= gate_m:
        i, j = np.unravel_index(np.argmin(dist), dist.shape)
        pairs.append((int(i), int(j)))
        dist[i, :], dist[:, j] = np.inf, np.inf
    return pairs


def _xyvc(table: np.ndarray) -> np.ndarray:
    """(N, 5) x, y, vx, vy, class_id from an object table (interfaces.OBJECT_DTYPE)."""
    return np.stack(
        [table[k].astype(float) for k in ("x", "y", "vx", "vy", "class_id")], -1
    ).reshape(-1, 5)


def perception_scores(
    found: Sequence[tuple[float, np.ndarray]],
    truth: Sequence[tuple[float, np.ndarray]],
    van_truth: np.ndarray,
) -> dict | None:
    """Precision / recall / errors of object tables [(t_s, table)] against ground-truth tables,
    within PERCEPTION_RANGE_M of the van (van_truth rows [t_s, x_m, y_m, ...]). None when no
    found table has a ground-truth table within MAX_TRUTH_OFFSET_S."""
    if not len(truth) or len(van_truth) < 1:
        return None
    truth_t = np.array([t for t, _ in truth])
    tp = fp = fn = class_hits = frames = 0
    position_errors, velocity_sq = [], []
    for t_s, table in found:
        k = int(np.argmin(np.abs(truth_t - t_s)))
        if abs(truth_t[k] - t_s) > MAX_TRUTH_OFFSET_S:
            continue
        frames += 1
        van = np.array(
            [
                np.interp(t_s, van_truth[:, 0], van_truth[:, 1]),
                np.interp(t_s, van_truth[:, 0], van_truth[:, 2]),
            ]
        )
        seen, real = _xyvc(table), _xyvc(truth[k][1])
        seen = seen[np.hypot(*(seen[:, :2] - van).T) <= PERCEPTION_RANGE_M]
        real = real[np.hypot(*(real[:, :2] - van).T) <= PERCEPTION_RANGE_M]
        pairs = match_objects(seen, real)
        for i, j in pairs:
            position_errors.append(float(np.hypot(*(seen[i, :2] - real[j, :2]))))
            velocity_sq.append(float(np.sum((seen[i, 2:4] - real[j, 2:4]) ** 2)))
            class_hits += int(seen[i, 4] == real[j, 4])
        tp, fp, fn = tp + len(pairs), fp + len(seen) - len(pairs), fn + len(real) - len(pairs)
    if not frames:
        return None
    return {
        "frames": frames,
        "precision": tp / (tp + fp) if tp + fp else None,
        "recall": tp / (tp + fn) if tp + fn else None,
        "position_error_m": stats(position_errors),
        "velocity_rmse_mps": math.sqrt(np.mean(velocity_sq)) if velocity_sq else None,
        "class_accuracy": class_hits / tp if tp else None,
    }


def command_figures(commands: np.ndarray) -> dict | None:
    """(N, 4) rows [stamp_s, steer_rad, speed_mps, accel_mps2] of each command's point 0."""
    commands = np.asarray(commands, float).reshape(-1, 4)
    if not len(commands):
        return None
    periods = np.diff(commands[:, 0])
    return {
        "commands": int(len(commands)),
        "rate_hz": float(1.0 / np.median(periods))
        if len(periods) and np.median(periods) > 0
        else None,
        "speed_mps": stats(commands[:, 2]),
        "accel_mps2": stats(commands[:, 3]),
        "abs_steer_rad": stats(np.abs(commands[:, 1])),
    }


def command_divergence(replayed: np.ndarray, recorded: np.ndarray) -> dict | None:
    """How far the replay's commands are from the recording's at the same stamps (open loop, so
    they drift as the replayed stack's state departs from the recorded one)."""
    replayed, recorded = (
        np.asarray(replayed, float).reshape(-1, 4),
        np.asarray(recorded, float).reshape(-1, 4),
    )
    if not len(replayed) or not len(recorded):
        return None
    k = np.clip(np.searchsorted(recorded[:, 0], replayed[:, 0]), 0, len(recorded) - 1)
    k = np.where(
        (k > 0)
        & (np.abs(recorded[k - 1, 0] - replayed[:, 0]) < np.abs(recorded[k, 0] - replayed[:, 0])),
        k - 1,
        k,
    )
    same = np.abs(recorded[k, 0] - replayed[:, 0]) <= STAMP_MATCH_S
    if not same.any():
        return None
    a, b = replayed[same], recorded[k[same]]
    return {
        "matched_commands": int(same.sum()),
        "steer_diff_rad": stats(np.abs(a[:, 1] - b[:, 1])),
        "speed_diff_mps": stats(np.abs(a[:, 2] - b[:, 2])),
        "accel_diff_mps2": stats(np.abs(a[:, 3] - b[:, 3])),
    }


def input_age(output_stamps_s: np.ndarray, input_stamps_s: np.ndarray) -> dict | None:
    """Age of the newest input (e.g. odometry) at each output (e.g. command) stamp: the data age
    the stage worked from. Outputs before the first input are not counted."""
    inputs = np.sort(np.asarray(input_stamps_s, float))
    outputs = np.asarray(output_stamps_s, float)
    if not len(inputs) or not len(outputs):
        return None
    k = np.searchsorted(inputs, outputs, side="right") - 1
    return stats((outputs - inputs[np.maximum(k, 0)])[k >= 0])


def diagnostics_figures(diagnostics: Sequence[tuple[float, str, int, str, dict]]) -> dict:
    """Per diagnostic name: message counts by level, the last values, and statistics of every
    value named *_ms (cycle and solve times), from (t_s, name, level, message, values) rows."""
    out: dict[str, dict] = {}
    for _, name, level, message, values in diagnostics:
        entry = out.setdefault(
            name, {"reports": 0, "not_ok": 0, "messages": {}, "timings_ms": {}, "last": {}}
        )
        entry["reports"] += 1
        entry["not_ok"] += int(level >= WARN_LEVEL)
        entry["messages"][message] = entry["messages"].get(message, 0) + 1
        entry["last"] = dict(values)
        for key, value in values.items():
            if key.endswith(TIMING_SUFFIX):
                try:
                    entry["timings_ms"].setdefault(key[: -len(TIMING_SUFFIX)], []).append(
                        float(value)
                    )
                except ValueError:
                    continue
    for entry in out.values():
        entry["timings_ms"] = {key: stats(v) for key, v in entry["timings_ms"].items()}
        ranked = sorted(entry["messages"].items(), key=lambda kv: -kv[1])
        entry["messages"] = dict(ranked[:MAX_MESSAGES_LISTED])
        if len(ranked) > MAX_MESSAGES_LISTED:
            entry["messages"]["(other)"] = sum(count for _, count in ranked[MAX_MESSAGES_LISTED:])
    return out
