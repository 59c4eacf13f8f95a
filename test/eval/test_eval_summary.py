"""The eval's summary files, and `robovan eval --compare` on two of them."""
import json
import re

import pytest

from robovan_autonomy.cli import main
from robovan_autonomy.tools.eval_summary import load_runs, write_summary


@pytest.fixture
def summary_dir(tmp_path, run):
    rows = [run("a"), run("a", "v1", passed=False, score=60.0), run("b", error="worker died")]
    write_summary(tmp_path, rows, "robovan eval --variations", not_run=["b@v2"])
    return tmp_path


def test_the_summary_json_holds_every_run_and_the_statistics_per_family(summary_dir):
    summary = json.loads((summary_dir / "summary.json").read_text())
    assert [r["run"] for r in summary["runs"]] == ["a", "a@v1", "b"]
    assert summary["families"]["a"]["pass_rate_ci95"][1] < 1.0
    assert summary["overall"]["errors"] == 1
    assert (summary["interrupted"], summary["not_run"]) == (True, ["b@v2"])


def test_the_summary_page_stands_alone_with_the_chart_inlined(summary_dir):
    page = (summary_dir / "summary.html").read_text()
    assert re.findall(r'(?:src|href)="([^"]*)"', page) == [
        m for m in re.findall(r'src="([^"]*)"', page) if m.startswith("data:image/png;base64,")]
    assert "robovan sim --scenario a" in page and "worker died" in page
    assert (summary_dir / "summary.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_runs_of_a_summary_are_read_back(summary_dir):
    assert [r["run"] for r in load_runs(summary_dir / "summary.json")] == ["a", "a@v1", "b"]


def test_the_plain_list_an_older_eval_wrote_is_read_as_its_runs(tmp_path):
    path = tmp_path / "summary.json"
    path.write_text(json.dumps([{"scenario": "a", "passed": True, "outcome": "completed",
                                 "driving_score": 100.0, "collisions": 0}]))
    assert load_runs(path)[0]["scenario"] == "a"


def summary_file(tmp_path, name, rows):
    path = tmp_path / name
    path.write_text(json.dumps({"runs": rows}))
    return path


def test_compare_of_two_summaries_prints_what_changed_and_fails_on_a_significant_regression(
        tmp_path, capsys, run):
    old = summary_file(tmp_path, "old.json", [run("a") for _ in range(20)])
    new = summary_file(tmp_path, "new.json", [run("a", passed=i < 5) for i in range(20)])
    assert main(["eval", "--compare", str(old), str(new)]) == 1
    out = capsys.readouterr().out
    assert f"compared with {old}:" in out and "worse  a " in out and "significant)" in out
    assert main(["eval", "--compare", str(new), str(old)]) == 0


@pytest.mark.parametrize("content, reason", [
    ("{not json", "not a readable summary.json"),
    ('{"runs": [{"passed": true}]}', "no list of runs with 'scenario' and 'passed'"),
])
def test_a_summary_that_is_not_one_is_refused_naming_it_before_anything_runs(
        tmp_path, capsys, content, reason):
    bad = tmp_path / "old.json"
    bad.write_text(content)
    assert main(["eval", "--compare", str(bad), "--out", str(tmp_path / "out")]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"robovan eval: {bad}: {reason}"), line
    assert not (tmp_path / "out").exists()
