"""`robovan sim` and `robovan eval` as a person runs them: what they refuse before running."""

import json

import pytest
import yaml

from robovan_autonomy.cli import build_parser, main
from robovan_autonomy.config_errors import config_path

NOT_IN_THE_MAP = [
    ({"mission": [{"bay": "bay_Z"}]}, "mission[0].bay", "unknown bay name 'bay_Z'"),
    ({"start_pose": {"bay": "depot"}}, "start_pose.bay", "unknown bay name 'depot'"),
    ({"start_pose": {"lanelet": 999999, "s": 0.0}}, "start_pose.lanelet", "no road lanelet 999999"),
    (
        {"start_pose": {"lanelet": 13, "s": 80.0}},
        "start_pose.s",
        "80.0 m is beyond the end of lanelet 13",
    ),
]


def scenario_file(tmp_path, **changes):
    """corridor_cruise, renamed `probe` and cut to a few seconds, with `changes` applied."""
    doc = yaml.safe_load(config_path("scenarios", "corridor_cruise.yaml").read_text())
    doc.update(name="probe", time_limit_s=3.0, actors=[], **changes)
    path = tmp_path / "probe.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.mark.parametrize("command", ["sim", "eval"])
@pytest.mark.parametrize("changes, key, reason", NOT_IN_THE_MAP)
def test_a_scenario_whose_names_are_not_in_the_map_is_refused_before_running(
    tmp_path, capsys, command, changes, key, reason
):
    path = scenario_file(tmp_path, **changes)
    assert main([command, "--scenario", str(path), "--out", str(tmp_path / "out")]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"robovan {command}: {path} at '{key}': {reason}"), line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "value, reason",
    [
        ("nan", "expected a finite number, got nan"),
        ("inf", "expected a finite number, got inf"),
        ("0", "0.0 is out of range, allowed (0, 600]"),
        ("-5", "-5.0 is out of range, allowed (0, 600]"),
        ("600.5", "600.5 is out of range, allowed (0, 600]"),
    ],
)
def test_a_time_limit_outside_the_scenario_schema_is_refused_before_running(
    tmp_path, capsys, value, reason
):
    with pytest.raises(SystemExit) as exit_info:
        main(["sim", f"--time-limit={value}", "--out", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == f"robovan sim: error: argument --time-limit: {reason}"
    assert "Traceback" not in err and not (tmp_path / "out").exists()


def test_the_schema_maximum_time_limit_is_accepted():
    assert build_parser().parse_args(["sim", "--time-limit", "600"]).time_limit == 600.0


def test_eval_of_a_scenario_given_by_path_writes_its_run_under_the_file_name(tmp_path):
    path = scenario_file(tmp_path)
    out = tmp_path / "out"
    main(
        [
            "eval",
            "--scenario",
            str(path),
            "--out",
            str(out),
            "--time-limit",
            "1",
            "--ground-truth",
            "localization,perception",
        ]
    )
    assert (out / "probe" / "report.json").is_file()


def varied_scenario_file(tmp_path):
    """scenario_file with two seeds as its variants."""
    return scenario_file(
        tmp_path,
        variations={
            "sampler": "grid",
            "parameters": [{"name": "seed", "target": "seed", "choices": [5, 6]}],
        },
    )


def test_sim_of_an_unknown_variant_is_refused_naming_the_known_ones(tmp_path, capsys):
    path = varied_scenario_file(tmp_path)
    assert (
        main(
            ["sim", "--scenario", str(path), "--variation", "nope", "--out", str(tmp_path / "out")]
        )
        == 2
    )
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(
        f"robovan sim: {path} at 'variations': no variant 'nope' (its 2 variants: "
    ), line
    assert not (tmp_path / "out").exists()


def test_eval_list_names_every_run_with_its_rerun_command_and_runs_nothing(tmp_path, capsys):
    path = varied_scenario_file(tmp_path)
    assert (
        main(
            [
                "eval",
                "--scenario",
                str(path),
                "--variations",
                "--list",
                "--out",
                str(tmp_path / "out"),
            ]
        )
        == 0
    )
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[::2]][0] == "probe"
    assert [line.split()[1] for line in lines[2::2]] == ["seed=5", "seed=6"]
    assert lines[3].split()[-2:] == ["--variation", lines[2].split()[0].split("@")[1]]
    assert not (tmp_path / "out").exists()


def test_eval_without_variations_runs_the_base_scenarios_only(tmp_path, capsys):
    path = varied_scenario_file(tmp_path)
    main(["eval", "--scenario", str(path), "--list", "--out", str(tmp_path / "out")])
    assert capsys.readouterr().out.split() == [
        "probe",
        "base",
        "robovan",
        "sim",
        "--scenario",
        str(path),
    ]


def test_eval_runs_a_variant_into_its_own_folder_and_its_report_names_it(tmp_path):
    path = varied_scenario_file(tmp_path)
    out = tmp_path / "out"
    main(
        [
            "eval",
            "--scenario",
            str(path),
            "--variations",
            "--out",
            str(out),
            "--time-limit",
            "0.5",
            "--ground-truth",
            "localization,perception",
        ]
    )
    folders = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert folders[0] == "probe" and len(folders) == 3
    report = json.loads((out / folders[1] / "report.json").read_text())
    assert report["variation"] == {
        "id": folders[1].split("@")[1],
        "values": {"seed": report["seed"]},
    }


def test_eval_writes_the_summary_with_statistics_beside_the_runs(tmp_path):
    out = tmp_path / "out"
    main(
        [
            "eval",
            "--scenario",
            str(scenario_file(tmp_path)),
            "--out",
            str(out),
            "--time-limit",
            "0.5",
            "--ground-truth",
            "localization,perception",
        ]
    )
    summary = json.loads((out / "summary.json").read_text())
    assert [run["run"] for run in summary["runs"]] == ["probe"]
    assert summary["families"]["probe"]["runs"] == 1
    assert {"summary.html", "summary.png"} <= {p.name for p in out.iterdir()}


def test_eval_refuses_a_worker_count_below_one(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["eval", "--workers", "0"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "robovan eval: error: argument --workers: expected a whole number of at least 1, got '0'"
    )


def test_eval_refuses_a_scenario_given_twice_before_running(tmp_path, capsys):
    path = scenario_file(tmp_path)
    assert (
        main(
            [
                "eval",
                "--scenario",
                str(path),
                "--scenario",
                str(path),
                "--out",
                str(tmp_path / "out"),
            ]
        )
        == 2
    )
    [line] = capsys.readouterr().err.splitlines()
    assert line == (
        f"robovan eval: {path} at 'name': 'probe' is in this eval twice; its runs "
        "would share their folders"
    )
    assert not (tmp_path / "out").exists()
