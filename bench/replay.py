"""Replay throughput on the shipped regression bags (test/data/replay): deterministic replays of
each into the full replay node set, as `robovan replay --deterministic` runs them.

Reported: messages played per second of wall time and bag seconds per wall second (× real time),
per case and over all, from the first tick to the last (building the nodes is `startup_s`);
p50/p99/max_ms are the wall time the stack took per 10 ms tick (what bounds the replay's speed),
the first tick of each bag apart (first_tick_ms: nodes warming up).
Baseline measured in the same run: reading and validating the same messages without a stack
(`read_messages_per_s`), the ceiling the player itself allows.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
from rclpy.serialization import deserialize_message

from robovan_autonomy.tools.bag_reader import BagReader
from robovan_autonomy.tools.regression import load_cases
from robovan_autonomy.tools.replay import Replay, ReplayOptions, message_class

QUICK_CASES = 1


def _read_and_validate(bag: Path) -> tuple[int, float]:
    """(messages, wall s) to read every message and deserialize it, as the player validates."""
    started = time.perf_counter()
    count = 0
    with BagReader(bag) as reader:
        classes = {t: message_class(info.msgtype) for t, info in reader.topics.items()}
        for topic, _, data in reader.messages(sorted(reader.topics)):
            deserialize_message(data, classes[topic])
            count += 1
    return count, time.perf_counter() - started


def run(quick: bool = False) -> dict:
    cases = list(load_cases().values())[: QUICK_CASES if quick else None]
    per_case, ticks_ms, first_ticks_ms = {}, [], []
    played = wall_s = bag_s = read_count = read_s = 0.0
    for case in cases:
        count, seconds = _read_and_validate(case.input_bag)
        read_count, read_s = read_count + count, read_s + seconds
        with tempfile.TemporaryDirectory(prefix="robovan_bench_replay_") as tmp:
            started = time.perf_counter()
            replay = Replay(
                ReplayOptions(bag=case.input_bag, out_dir=Path(tmp), deterministic=True)
            )
            report = replay.run()
            elapsed = time.perf_counter() - started
        ticks, loop_s = report["latency"]["stack_ms_per_tick"], report["wall_time_s"]
        per_case[case.name] = {
            "messages_played": report["messages_played"],
            "bag_s": report["replayed_s"],
            "wall_s": loop_s,
            "startup_s": elapsed - loop_s,
            "messages_per_s": report["messages_played"] / loop_s,
            "realtime_factor": report["replayed_s"] / loop_s,
            "stack_ms_per_tick_p99": ticks["p99"],
            "nodes": report["nodes"],
        }
        played, wall_s, bag_s = (
            played + report["messages_played"],
            wall_s + loop_s,
            bag_s + report["replayed_s"],
        )
        first_ticks_ms.append(replay.tick_wall_ms[0])
        ticks_ms += replay.tick_wall_ms[1:]
    samples = np.array(ticks_ms)
    return {
        "p50_ms": float(np.percentile(samples, 50)),
        "p99_ms": float(np.percentile(samples, 99)),
        "max_ms": float(np.max(samples)),
        "messages_per_s": played / wall_s,
        "first_tick_ms": max(first_ticks_ms),
        "realtime_factor": bag_s / wall_s,
        "read_messages_per_s": read_count / read_s,
        "cases": per_case,
    }


if __name__ == "__main__":
    print(run())
