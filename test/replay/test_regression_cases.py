"""The replay regression suite: shipped cases against their references, and the comparison's
tolerances (test/data/replay, robovan_autonomy/tools/regression.py)."""

import shutil

import pytest
from rclpy.serialization import deserialize_message, serialize_message
from trajectory_msgs.msg import JointTrajectory

from robovan_autonomy import interfaces as itf
from robovan_autonomy.tools import regression
from robovan_autonomy.tools.bag_reader import BagReader
from robovan_autonomy.tools.bag_writer import BagWriter
from robovan_autonomy.tools.replay import message_class

CASES = sorted(regression.load_cases())
SHIFTED_COMMAND = 3  # which command of a reference the tolerance tests alter


@pytest.mark.parametrize("name", CASES)
def test_shipped_case_replays_within_tolerance_of_its_reference(name, tmp_path):
    assert regression.check_case(regression.load_cases()[name], tmp_path) == []


def test_shipped_cases_are_small():
    for case in regression.load_cases().values():
        size_mb = sum(f.stat().st_size for f in case.folder.rglob("*") if f.is_file()) / 1e6
        assert size_mb < 10.0, f"{case.name}: {size_mb:.1f} MB"


def _altered(source, target, change):
    """A copy of an output bag with change(topic, index, message) applied (None drops it)."""
    with BagReader(source) as reader:
        writer = BagWriter(target)
        counts = {}
        for topic, info in reader.topics.items():
            writer.add_topic(topic, info.msgtype, list(info.offered_qos))
        for topic, stamp_ns, data in reader.messages(sorted(reader.topics)):
            index = counts[topic] = counts.get(topic, -1) + 1
            msg = change(
                topic, index, deserialize_message(data, message_class(reader.topics[topic].msgtype))
            )
            if msg is not None:
                writer.write(topic, stamp_ns, serialize_message(msg))
        writer.close()
    return target


def _speed_shift(delta_mps):
    def change(topic, index, msg: JointTrajectory):
        if topic == itf.PLANNING_COMMAND and index == SHIFTED_COMMAND:
            velocities = list(msg.points[5].velocities)
            velocities[1] += delta_mps
            msg.points[5].velocities = velocities
        return msg

    return change


@pytest.fixture
def reference():
    return regression.load_cases()[CASES[0]].reference_bag


def test_a_deviation_beyond_tolerance_is_reported_with_topic_message_and_field(reference, tmp_path):
    altered = _altered(
        reference, tmp_path / "altered", _speed_shift(2 * regression.SPEED_TOLERANCE_MPS)
    )
    problems = regression.compare_outputs(altered, reference)
    assert problems[0].startswith(f"{itf.PLANNING_COMMAND} message {SHIFTED_COMMAND} ")
    assert "speed_mps deviates by 0.02" in problems[0]
    assert problems[-1] == regression.REFRESH_HINT


def test_a_deviation_within_tolerance_passes(reference, tmp_path):
    altered = _altered(
        reference, tmp_path / "altered", _speed_shift(regression.SPEED_TOLERANCE_MPS / 2)
    )
    assert regression.compare_outputs(altered, reference) == []


def test_a_missing_output_message_is_reported(reference, tmp_path):
    altered = _altered(
        reference,
        tmp_path / "altered",
        lambda topic, index, msg: None if (topic, index) == (itf.TRAJECTORY, 0) else msg,
    )
    assert regression.compare_outputs(altered, reference)[0].startswith(f"{itf.TRAJECTORY}: ")


def test_update_reference_stores_what_the_next_check_compares_with(tmp_path, monkeypatch):
    case = regression.load_cases()[CASES[0]]
    shutil.copytree(case.input_bag, tmp_path / case.name / "input")
    monkeypatch.setattr(regression, "REGRESSION_DIR", tmp_path)
    regression.update_reference(case)
    assert (tmp_path / case.name / "reference" / "metadata.yaml").is_file()
    assert regression.check_case(case, tmp_path / "check") == []
