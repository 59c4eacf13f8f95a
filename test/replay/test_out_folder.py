"""`robovan sim --out DIR` and `robovan replay --out DIR` replace the bag a previous run left in
DIR/run, and never delete anything else there."""

import os
import shutil

import pytest

from robovan_autonomy import cli
from robovan_autonomy import interfaces as itf
from robovan_autonomy.config_errors import OutputError
from robovan_autonomy.stack import STAGES
from robovan_autonomy.tools.bag_reader import BagReader
from robovan_autonomy.tools.bag_writer import check_replaceable
from robovan_autonomy.tools.lockstep import sealed_graph
from robovan_autonomy.tools.replay import ReplayOptions, run_replay
from robovan_autonomy.tools.simulation import SimOptions, run_simulation

ALL_STAGES = tuple(STAGES)


def previous_run(sim_run, tmp_path):
    """DIR as a `robovan sim` run left it."""
    shutil.copytree(sim_run, tmp_path / "out")
    return tmp_path / "out"


FOREIGN = {
    "a file beside the bag": ("notes.txt", "mine"),
    "a metadata.yaml that is not rosbag2's": ("metadata.yaml", "owner: me\n"),
    "a storage file without metadata": ("run.mcap", "not a bag"),
}


@pytest.mark.parametrize("what", sorted(FOREIGN))
def test_a_run_folder_holding_what_no_run_wrote_is_refused(tmp_path, what):
    name, text = FOREIGN[what]
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / name).write_text(text)
    with pytest.raises(OutputError, match="move it away"):
        check_replaceable(tmp_path / "run")


@pytest.mark.parametrize(
    "make",
    [
        lambda run, elsewhere: run.write_text("mine"),
        lambda run, elsewhere: run.symlink_to(elsewhere),
    ],
    ids=["a file", "a link to a folder"],
)
def test_a_run_that_is_not_a_folder_is_refused(tmp_path, make):
    (tmp_path / "elsewhere").mkdir()
    make(tmp_path / "run", tmp_path / "elsewhere")
    with pytest.raises(OutputError, match="is not a bag folder"):
        check_replaceable(tmp_path / "run")


def test_sim_refuses_an_out_folder_whose_run_holds_other_files_and_keeps_them(
    sim_run, tmp_path, capsys
):
    out = previous_run(sim_run, tmp_path)
    (out / "run" / "notes.txt").write_text("mine")
    assert (
        cli.main(["sim", "--scenario", "corridor_cruise", "--time-limit", "0.5", "--out", str(out)])
        == 2
    )
    # The last line: before it the run says which stages ground truth stands in for.
    line = capsys.readouterr().err.splitlines()[-1]
    assert line.startswith(f"robovan sim: {out / 'run'} holds notes.txt, which no run wrote")
    assert (out / "run" / "notes.txt").read_text() == "mine"
    with BagReader(out / "run") as reader:
        assert reader.duration_s > 2.0  # still the previous run's


def test_replay_refuses_an_out_folder_whose_run_holds_other_files_and_keeps_them(
    sim_run, tmp_path, capsys
):
    out = tmp_path / "out"
    (out / "run").mkdir(parents=True)
    (out / "run" / "notes.txt").write_text("mine")
    assert cli.main(["replay", str(sim_run / "run"), "--out", str(out), "--deterministic"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"robovan replay: {out / 'run'} holds notes.txt, which no run wrote")
    assert os.listdir(out) == ["run"] and os.listdir(out / "run") == ["notes.txt"]


def test_sim_into_the_folder_of_a_previous_run_replaces_its_bag(sim_run, tmp_path):
    out = previous_run(sim_run, tmp_path)
    with sealed_graph():
        run_simulation(
            SimOptions(
                scenario="corridor_cruise",
                out_dir=out,
                ground_truth=ALL_STAGES,
                time_limit_s=0.5,
                progress=False,
            )
        )
    with BagReader(out / "run") as reader:
        assert reader.duration_s < 1.0


def test_replay_into_the_folder_of_a_previous_replay_replaces_its_outputs(sim_run, tmp_path):
    out = tmp_path / "out"
    options = ReplayOptions(
        bag=sim_run / "run", out_dir=out, deterministic=True, ground_truth=ALL_STAGES
    )
    first = run_replay(options)
    (out / "run" / "run.mcap").write_bytes(b"a stale output")  # the second replay must replace it
    second = run_replay(options)
    assert second["outputs"] == first["outputs"]
    with BagReader(out / "run") as reader:
        recorded = reader.topics[itf.PLANNING_COMMAND].message_count
    assert recorded == first["outputs"][itf.PLANNING_COMMAND] > 0
