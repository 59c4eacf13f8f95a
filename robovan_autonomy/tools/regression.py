"""Replay regression cases: short bags recorded from shipped scenarios, replayed deterministically
and compared with stored reference outputs within stated tolerances.

A case lives in test/data/replay/<name>/: `input/` (a snippet of a `robovan sim` recording, every
topic, MCAP with zstd chunks) and `reference/` (the outputs a deterministic replay of it gave when
the reference was last refreshed). The cases are listed in test/data/replay/cases.yaml.

    python -m robovan_autonomy.tools.regression make [CASE ...]  # re-record inputs and references
    robovan replay --check-reference [--case NAME]                # what CI does (test/replay)
    robovan replay --update-reference [--case NAME]               # after a deliberate change
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import yaml
from rclpy.serialization import deserialize_message

from robovan_autonomy import interfaces as itf
from robovan_autonomy.config_errors import ConfigError
from robovan_autonomy.tools.bag_reader import BagReader
from robovan_autonomy.tools.bag_writer import BagWriter
from robovan_autonomy.tools.lockstep import sealed_graph
from robovan_autonomy.tools.replay import (
    DETERMINISTIC_OUTPUTS,
    OUTPUT_DIR_NAME,
    ReplayOptions,
    message_class,
    run_replay,
)

REGRESSION_DIR = Path(__file__).resolve().parents[2] / "test" / "data" / "replay"
CASES_FILE = REGRESSION_DIR / "cases.yaml"
SNIPPET_KEY = "robovan.snippet"  # custom data of an input bag: where in which run it was cut
SIM_TAIL_S = 0.1  # simulate a little past the snippet so its last tick is recorded

# Tolerances of the comparison with a reference. A replay on one machine is bit-identical
# (test_replay_determinism); these absorb what differs between machines (SIMD width and BLAS
# builds change the last bits of the MPC's and estimators' arithmetic), and sit far below any
# change of behaviour worth noticing: a centimetre, a twentieth of a degree, a centimetre per
# second.
POSITION_TOLERANCE_M = 0.01
ANGLE_TOLERANCE_RAD = 1e-3
ANGLE_RATE_TOLERANCE_RADPS = 1e-3
SPEED_TOLERANCE_MPS = 0.01
ACCEL_TOLERANCE_MPS2 = 0.01
SCORE_TOLERANCE = 1e-3  # detection confidence, 0..1
TIME_TOLERANCE_S = 1e-6  # plan knot times are computed, not read: rounding only
MAX_MISMATCHES_LISTED = 5  # per topic; the count says how many more


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    scenario: str
    ground_truth: tuple[str, ...]
    start_s: float
    duration_s: float
    why: str

    @property
    def folder(self) -> Path:
        return REGRESSION_DIR / self.name

    @property
    def input_bag(self) -> Path:
        return self.folder / "input"

    @property
    def reference_bag(self) -> Path:
        return self.folder / "reference"


def load_cases() -> dict[str, Case]:
    if not CASES_FILE.is_file():
        raise ConfigError(
            CASES_FILE,
            "",
            "no regression case list (the cases ship with the source tree, "
            "not with an installed package)",
        )
    try:
        doc = yaml.safe_load(CASES_FILE.read_text())
        cases = [
            Case(
                str(c["name"]),
                str(c["scenario"]),
                tuple(c.get("ground_truth", ())),
                float(c["start_s"]),
                float(c["duration_s"]),
                str(c["why"]),
            )
            for c in doc["cases"]
        ]
    except (yaml.YAMLError, KeyError, TypeError, ValueError) as err:
        raise ConfigError(CASES_FILE, "cases", f"malformed: {err!r}") from None
    return {case.name: case for case in cases}


def select_cases(names: list[str] | None) -> list[Case]:
    cases = load_cases()
    unknown = sorted(set(names or ()) - set(cases))
    if unknown:
        raise ConfigError(CASES_FILE, "cases", f"no case(s) {unknown}; cases: {sorted(cases)}")
    return [cases[n] for n in names] if names else list(cases.values())


# ---------------------------------------------------------------------------------------------
# Making a case
# ---------------------------------------------------------------------------------------------
def copy_bag(
    source: Path,
    target: Path,
    start_s: float = 0.0,
    duration_s: float | None = None,
    custom_data: dict[str, str] | None = None,
) -> int:
    """The topics of `source` logged in [start, start + duration) s from its start (all of it by
    default) into a new MCAP bag with zstd chunks, keeping the offered QoS and custom data (plus
    `custom_data`); returns the message count."""
    with BagReader(source) as reader:
        start_ns = reader.start_ns + round(start_s * 1e9)
        stop_ns = None if duration_s is None else start_ns + round(duration_s * 1e9)
        writer = BagWriter(target, custom_data={**reader.custom_data, **(custom_data or {})})
        try:
            for topic, info in reader.topics.items():
                writer.add_topic(topic, info.msgtype, list(info.offered_qos))
            for topic, stamp_ns, data in reader.messages(sorted(reader.topics)):
                if stamp_ns >= start_ns and (stop_ns is None or stamp_ns < stop_ns):
                    writer.write(topic, stamp_ns, data)
        finally:
            writer.close()
    return writer.message_count


def make_case(case: Case) -> None:
    """Record the case's scenario with `robovan sim`, cut the snippet, refresh the reference."""
    from robovan_autonomy.tools.simulation import SimOptions, run_simulation

    with tempfile.TemporaryDirectory(prefix=f"robovan_case_{case.name}_") as tmp:
        with sealed_graph():
            run_simulation(
                SimOptions(
                    scenario=case.scenario,
                    out_dir=Path(tmp),
                    ground_truth=case.ground_truth,
                    time_limit_s=case.start_s + case.duration_s + SIM_TAIL_S,
                    progress=False,
                    record_lidar="full",
                )
            )
        if case.input_bag.exists():
            shutil.rmtree(case.input_bag)
        case.folder.mkdir(parents=True, exist_ok=True)
        snippet = json.dumps({"scenario_start_s": case.start_s, "duration_s": case.duration_s})
        copy_bag(
            Path(tmp) / "run", case.input_bag, case.start_s, case.duration_s, {SNIPPET_KEY: snippet}
        )
    update_reference(case)


# ---------------------------------------------------------------------------------------------
# Replaying and comparing
# ---------------------------------------------------------------------------------------------
def replay_case(case: Case, out_dir: Path) -> Path:
    """Deterministic replay of the case's input; returns the output bag."""
    run_replay(ReplayOptions(bag=case.input_bag, out_dir=out_dir, deterministic=True))
    return out_dir / OUTPUT_DIR_NAME


def update_reference(case: Case) -> None:
    with tempfile.TemporaryDirectory(prefix=f"robovan_ref_{case.name}_") as tmp:
        output = replay_case(case, Path(tmp))
        if case.reference_bag.exists():
            shutil.rmtree(case.reference_bag)
        copy_bag(output, case.reference_bag)


def check_case(case: Case, out_dir: Path) -> list[str]:
    """Differences of a fresh replay from the reference beyond tolerance ([] when it passes)."""
    return compare_outputs(replay_case(case, out_dir), case.reference_bag)


def _command_fields(msg) -> dict[str, tuple[np.ndarray, float]]:
    plan = itf.decode_control_command(msg)
    return {
        "time_from_start_s": (plan.time_from_start_s, TIME_TOLERANCE_S),
        "steer_rad": (plan.steer_rad, ANGLE_TOLERANCE_RAD),
        "steer_rate_radps": (plan.steer_rate_radps, ANGLE_RATE_TOLERANCE_RADPS),
        "speed_mps": (plan.speed_mps, SPEED_TOLERANCE_MPS),
        "accel_mps2": (plan.accel_mps2, ACCEL_TOLERANCE_MPS2),
        "distance_m": (plan.distance_m, POSITION_TOLERANCE_M),
    }


def _path_fields(msg) -> dict[str, tuple[np.ndarray, float]]:
    poses = itf.decode_path(msg)
    return {
        "xy_m": (poses[:, :2], POSITION_TOLERANCE_M),
        "yaw_rad": (poses[:, 2], ANGLE_TOLERANCE_RAD),
    }


def _odometry_fields(msg) -> dict[str, tuple[np.ndarray, float]]:
    p = itf.decode_odometry(msg)
    return {
        "xyz_m": (np.array([p.x_m, p.y_m, p.z_m]), POSITION_TOLERANCE_M),
        "yaw_rad": (np.array([p.yaw_rad]), ANGLE_TOLERANCE_RAD),
        "speed_mps": (np.array([p.speed_mps, p.lateral_speed_mps]), SPEED_TOLERANCE_MPS),
        "yaw_rate_radps": (np.array([p.yaw_rate_radps]), ANGLE_RATE_TOLERANCE_RADPS),
    }


def _object_fields(msg) -> dict[str, tuple[np.ndarray, float]]:
    t = itf.decode_objects(msg)
    return {
        "position_size_m": (
            np.stack([t[k] for k in ("x", "y", "z", "length", "width", "height")], -1),
            POSITION_TOLERANCE_M,
        ),
        "yaw_rad": (t["yaw"], ANGLE_TOLERANCE_RAD),
        "velocity_mps": (np.stack([t["vx"], t["vy"]], -1), SPEED_TOLERANCE_MPS),
        "score": (t["score"], SCORE_TOLERANCE),
        "class_and_track": (np.stack([t["class_id"], t["track_id"]], -1).astype(float), 0.0),
    }


FIELDS = {
    itf.PLANNING_COMMAND: _command_fields,
    itf.CONTROL_COMMAND: _command_fields,
    itf.TRAJECTORY: _path_fields,
    itf.ODOMETRY: _odometry_fields,
    itf.OBJECTS: _object_fields,
}
REFRESH_HINT = "if the change is intended, refresh with `robovan replay --update-reference`"


def _messages(path: Path) -> dict[str, list[tuple[int, object]]]:
    with BagReader(path) as reader:
        classes = {
            t: message_class(reader.topics[t].msgtype)
            for t in DETERMINISTIC_OUTPUTS
            if reader.has_messages(t)
        }
        out: dict[str, list] = {t: [] for t in DETERMINISTIC_OUTPUTS}
        for topic, stamp_ns, data in reader.messages(sorted(classes)):
            out[topic].append((stamp_ns, deserialize_message(data, classes[topic])))
    return out


def compare_outputs(output: Path, reference: Path) -> list[str]:
    """Each compared topic must have the reference's messages at the same log times with the
    same header stamps, and every decoded field within its tolerance."""
    got, want = _messages(output), _messages(reference)
    problems = []
    for topic in DETERMINISTIC_OUTPUTS:
        found = _compare_topic(topic, got[topic], want[topic])
        problems += found[:MAX_MISMATCHES_LISTED]
        if len(found) > MAX_MISMATCHES_LISTED:
            problems.append(f"{topic}: {len(found) - MAX_MISMATCHES_LISTED} more differences")
    return problems + ([REFRESH_HINT] if problems else [])


def _compare_topic(topic: str, got: list, want: list) -> list[str]:
    if len(got) != len(want):
        return [f"{topic}: {len(got)} messages, reference has {len(want)}"]
    problems = []
    for k, ((got_ns, got_msg), (want_ns, want_msg)) in enumerate(zip(got, want)):
        where = f"{topic} message {k} (logged at {want_ns * 1e-9:.3f} s)"
        if got_ns != want_ns or got_msg.header.stamp != want_msg.header.stamp:
            problems.append(
                f"{where}: logged at {got_ns * 1e-9:.3f} s, stamped "
                f"{itf.from_stamp(got_msg.header.stamp):.3f} s; reference stamped "
                f"{itf.from_stamp(want_msg.header.stamp):.3f} s"
            )
            continue
        try:
            got_fields, want_fields = FIELDS[topic](got_msg), FIELDS[topic](want_msg)
        except itf.InterfaceError as err:
            problems.append(f"{where}: {err}")
            continue
        for name, (want_values, tolerance) in want_fields.items():
            got_values = got_fields[name][0]
            if np.shape(got_values) != np.shape(want_values):
                problems.append(
                    f"{where}: {name} has shape {np.shape(got_values)}, reference "
                    f"{np.shape(want_values)}"
                )
                continue
            deviation = float(
                np.max(
                    np.abs(np.asarray(got_values, float) - np.asarray(want_values, float)),
                    initial=0.0,
                )
            )
            if not deviation <= tolerance:
                problems.append(
                    f"{where}: {name} deviates by {deviation:.3g} (tolerance {tolerance:g})"
                )
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="make replay regression cases from shipped scenarios"
    )
    parser.add_argument("action", choices=("make",))
    parser.add_argument("cases", nargs="*", help="case names (default: all)")
    args = parser.parse_args(argv)
    for case in select_cases(args.cases):
        print(
            f"making {case.name}: {case.scenario} "
            f"[{case.start_s}, {case.start_s + case.duration_s}) s",
            flush=True,
        )
        make_case(case)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
