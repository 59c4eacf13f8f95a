"""Bad input: a clear message naming the bag and the topic, a non-zero exit, nothing else lost."""

import json
import os
import shutil

import pytest
import yaml

from robovan_autonomy import cli
from robovan_autonomy import interfaces as itf
from robovan_autonomy.config_errors import ConfigError, config_path
from robovan_autonomy.stack import STAGES
from robovan_autonomy.tools.bag_reader import BagError, BagReader
from robovan_autonomy.tools.replay import ReplayOptions, run_replay

ALL_STAGES = tuple(STAGES)
VAN_STATUS_TYPE = ("acme_msgs/msg/VanStatus", "float64 speed_mps\nfloat64 steer_rad\n")
CORRUPT_FROM_S = 1.5


def _replay(bag, out, **kwargs):
    return run_replay(
        ReplayOptions(bag=bag, out_dir=out, deterministic=True, ground_truth=ALL_STAGES, **kwargs)
    )


def test_missing_topic_fails_before_anything_is_written(sim_run, rewrite, tmp_path):
    bag = rewrite(
        sim_run / "run",
        tmp_path / "bag",
        keep={itf.GROUND_TRUTH_ODOMETRY, itf.GROUND_TRUTH_OBJECTS},
    )
    with pytest.raises(BagError) as err:
        _replay(bag, tmp_path / "out")
    assert err.value.topic == itf.VEHICLE_STATUS and err.value.bag == bag
    assert "read by planner" in str(err.value)
    assert not (tmp_path / "out").exists()


def test_a_bag_without_traffic_lights_replays_without_that_stage_and_says_so(
    sim_run, rewrite, tmp_path
):
    with BagReader(sim_run / "run") as reader:
        kept = set(reader.topics) - {itf.GROUND_TRUTH_TRAFFIC_LIGHTS}
    bag = rewrite(sim_run / "run", tmp_path / "bag", keep=kept)
    report = run_replay(
        ReplayOptions(
            bag=bag,
            out_dir=tmp_path / "out",
            deterministic=True,
            ground_truth=("localization", "perception"),
        )
    )
    assert report["complete"] and report["stage_sources"]["traffic_lights"] == "missing"
    assert any("planner run without the traffic_lights stage" in w for w in report["warnings"])


def test_unknown_type_on_a_topic_the_stack_reads_names_bag_topic_and_type(
    sim_run, rewrite, tmp_path
):
    bag = rewrite(sim_run / "run", tmp_path / "bag", retype={itf.VEHICLE_STATUS: VAN_STATUS_TYPE})
    with pytest.raises(BagError) as err:
        _replay(bag, tmp_path / "out")
    assert err.value.topic == itf.VEHICLE_STATUS
    assert "acme_msgs/msg/VanStatus (a type this installation does not know)" in str(err.value)
    assert "sensor_msgs/msg/JointState" in str(err.value)


def test_unknown_type_on_a_topic_nobody_reads_is_listed_not_fatal(sim_run, rewrite, tmp_path):
    bag = rewrite(sim_run / "run", tmp_path / "bag", retype={itf.DIAGNOSTICS: VAN_STATUS_TYPE})
    report = _replay(bag, tmp_path / "out")
    assert report["complete"] and itf.DIAGNOSTICS in report["unused_topics"]


def test_corrupt_message_mid_bag_keeps_the_outputs_so_far_and_says_where(
    sim_run, rewrite, tmp_path
):
    with BagReader(sim_run / "run") as reader:
        corrupt_ns = reader.start_ns + round(CORRUPT_FROM_S * 1e9)
    bag = rewrite(sim_run / "run", tmp_path / "bag", corrupt={itf.VEHICLE_STATUS: corrupt_ns})
    with pytest.raises(BagError) as err:
        _replay(bag, tmp_path / "out")
    assert err.value.topic == itf.VEHICLE_STATUS and f"{CORRUPT_FROM_S:.3f} s" in str(err.value)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert not report["complete"] and itf.VEHICLE_STATUS in report["error"]
    assert abs(report["replayed_s"] - CORRUPT_FROM_S) < 0.02
    with BagReader(
        tmp_path / "out" / "run"
    ) as outputs:  # the outputs up to the failure are a valid bag
        assert (
            outputs.topics[itf.PLANNING_COMMAND].message_count
            == report["outputs"][itf.PLANNING_COMMAND]
            > 0
        )


def test_cli_names_a_truncated_bag_and_exits_non_zero(sim_run, tmp_path, capsys):
    bag = tmp_path / "run"
    shutil.copytree(sim_run / "run", bag)
    os.truncate(bag / "run.mcap", (bag / "run.mcap").stat().st_size // 2)
    assert cli.main(["replay", str(bag), "--out", str(tmp_path / "out"), "--deterministic"]) == 2
    message = capsys.readouterr().err
    assert str(bag) in message and "truncated or corrupt" in message


def test_out_folder_that_holds_the_bag_is_refused_and_the_bag_kept(sim_run, tmp_path):
    shutil.copytree(sim_run, tmp_path / "sim")
    with pytest.raises(BagError, match="holds the bag"):
        _replay(tmp_path / "sim" / "run.mcap", tmp_path / "sim")
    with BagReader(tmp_path / "sim" / "run") as reader:
        assert reader.has_messages(itf.VEHICLE_STATUS)


def test_a_scenario_bay_not_in_the_map_is_refused_before_anything_is_written(sim_run, tmp_path):
    doc = yaml.safe_load(config_path("scenarios", "corridor_cruise.yaml").read_text())
    doc.update(name="probe", mission=[{"bay": "bay_Z"}])
    scenario = tmp_path / "probe.yaml"
    scenario.write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError) as err:
        _replay(sim_run / "run", tmp_path / "out", scenario=str(scenario))
    assert (err.value.path, err.value.key) == (scenario, "mission[0].bay")
    assert "unknown bay name 'bay_Z'" in err.value.reason
    assert not (tmp_path / "out").exists()
