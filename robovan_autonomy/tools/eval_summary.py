"""An eval's summary files: summary.json (every run and the statistics per family), summary.png,
summary.html (one self-contained page, the PNG inlined) and status.md (where the stack stands,
for the repository's docs/STATUS.md)."""

from __future__ import annotations

import base64
import html
import io
import json
import time
from pathlib import Path

from robovan_autonomy.tools.eval_stats import CONFIDENCE, event_rates, summarize


def load_runs(path: str | Path) -> list[dict]:
    """The runs of a summary.json; the list an eval wrote before statistics existed is one."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: not a readable summary.json ({err})") from None
    runs = doc if isinstance(doc, list) else doc.get("runs") if isinstance(doc, dict) else None
    if not isinstance(runs, list) or not all(
        isinstance(r, dict) and "scenario" in r and "passed" in r for r in runs
    ):
        raise ValueError(f"{path}: no list of runs with 'scenario' and 'passed' in it")
    return runs


def write_summary(out: Path, rows: list[dict], command: str, not_run: list[str]) -> dict:
    """summary.json, summary.png and summary.html in `out`; returns what summary.json holds."""
    summary = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": command,
        "interrupted": bool(not_run),
        "not_run": not_run,
        "confidence": CONFIDENCE,
        **summarize(rows),
        "runs": rows,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    png = summary_png(summary)
    (out / "summary.png").write_bytes(png)
    (out / "summary.html").write_text(summary_html(summary, png))
    (out / "status.md").write_text(status_markdown(summary))
    return summary


def _fmt(value, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _rate_cells(rate: dict) -> str:
    return (
        f"<td>{rate['count']}</td><td>{_fmt(rate['per_100_runs'])}</td>"
        f"<td>{_fmt(rate['per_1000_km'])}</td>"
    )


def _family_row(name: str, stats: dict) -> str:
    low, high = stats["pass_rate_ci95"]
    score = stats["driving_score"] or {"min": None, "median": None, "max": None}
    rate = 100 * (stats["pass_rate"] or 0)
    return (
        f"<tr><th>{html.escape(name)}</th><td>{stats['runs']}</td><td>{stats['errors']}</td>"
        f"<td>{stats['passed']}/{stats['runs']} = {_fmt(rate, 0)} % [{_fmt(100 * low, 0)}, "
        f"{_fmt(100 * high, 0)}]</td><td>{_fmt(stats['distance_km'], 2)}</td>"
        f"{_rate_cells(stats['collisions'])}{_rate_cells(stats['mrm_stops'])}"
        f"{_rate_cells(stats['aeb_activations'])}<td>{_fmt(score['min'])} / "
        f"{_fmt(score['median'])} / {_fmt(score['max'])}</td></tr>"
    )


def summary_html(summary: dict, png: bytes) -> str:
    head = (
        "<tr><th rowspan=2>family</th><th rowspan=2>runs</th><th rowspan=2>errors</th>"
        f"<th rowspan=2>passed [{CONFIDENCE:.0%} Clopper–Pearson]</th><th rowspan=2>km</th>"
        "<th colspan=3>collisions</th><th colspan=3>minimal-risk stops</th>"
        "<th colspan=3>AEB activations</th><th rowspan=2>driving score min / median / max"
        "</th></tr><tr>" + "<th>all</th><th>/100 runs</th><th>/1000 km</th>" * 3 + "</tr>"
    )
    families = "".join(_family_row(name, stats) for name, stats in summary["families"].items())
    worst = "".join(
        f"<tr><th>{html.escape(name)}</th><td>{html.escape(run['run'])}</td>"
        f"<td>{'pass' if run['passed'] else 'FAIL'}</td><td>{_fmt(run['driving_score'])}</td>"
        f"<td>{html.escape(run['error'] or '; '.join(run['failed_criteria'] or []))}</td>"
        f"<td><code>{html.escape(run['rerun'] or '')}</code></td></tr>"
        for name, stats in summary["families"].items()
        for run in stats["worst"]
        if not run["passed"] or (run["driving_score"] or 0) < 100
    )
    image = base64.b64encode(png).decode()
    status = (
        f"<p><b>Interrupted</b>: {len(summary['not_run'])} run(s) not run.</p>"
        if summary["interrupted"]
        else ""
    )
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>robovan eval summary</title><style>
body {{ font: 14px sans-serif; margin: 2em; }} table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #bbb; padding: 3px 6px; text-align: right; }}
th {{ background: #f3f3f3; }} td:last-child {{ text-align: left; }}
</style></head><body>
<h1>robovan eval</h1>
<p><code>{html.escape(summary["command"])}</code>, {html.escape(summary["created"])}:
{summary["overall"]["runs"]} runs.</p>{status}
<h2>Per family (a base scenario and its variants)</h2>
<table>{head}{families}{_family_row("all runs", summary["overall"])}</table>
<img alt="pass rates and driving scores" src="data:image/png;base64,{image}">
<h2>Worst runs (failed or below 100)</h2>
<table><tr><th>family</th><th>run</th><th>verdict</th><th>score</th><th>why</th>
<th>rerun</th></tr>{worst}</table>
</body></html>
"""


def summary_png(summary: dict) -> bytes:
    """Pass rate with its interval and the driving-score range, one line per family."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(summary["families"])[::-1]
    stats = [summary["families"][name] for name in names]
    fig, (rates, scores) = plt.subplots(
        1, 2, sharey=True, figsize=(11, 1.0 + 0.28 * max(len(names), 1))
    )
    for y, s in enumerate(stats):
        low, high = s["pass_rate_ci95"]
        rates.plot([100 * low, 100 * high], [y, y], color="tab:blue")
        rates.plot([100 * s["pass_rate"]], [y], "o", color="tab:blue")
        if s["driving_score"] is not None:
            score = s["driving_score"]
            scores.plot([score["min"], score["max"]], [y, y], color="tab:green")
            scores.plot([score["median"]], [y], "o", color="tab:green")
    rates.set_yticks(range(len(names)), names, fontsize=8)
    rates.set_xlim(-2, 102)
    rates.set_xlabel(f"pass rate, % ({CONFIDENCE:.0%} Clopper–Pearson interval)")
    scores.set_xlim(-2, 102)
    scores.set_xlabel("driving score (min, median, max)")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return buffer.getvalue()


def _md_family_row(name: str, stats: dict, rows: list[dict]) -> str:
    low, high = stats["pass_rate_ci95"]
    score = stats["driving_score"] or {"min": None, "median": None, "max": None}
    counts = " | ".join(
        str(stats[key]["count"]) for key in ("collisions", "mrm_stops", "aeb_activations")
    )
    phantoms = event_rates(rows, "phantom_brakes")["count"]
    return (
        f"| {name} | {stats['passed']}/{stats['runs']} | {_fmt(100 * low, 0)}–"
        f"{_fmt(100 * high, 0)} % | {_fmt(stats['distance_km'], 2)} | {counts} | {phantoms} | "
        f"{_fmt(score['min'])} / {_fmt(score['median'])} / {_fmt(score['max'])} |"
    )


def status_markdown(summary: dict) -> str:
    """Where the stack stands, as one eval measured it: written by the eval, never by hand."""
    runs = summary["runs"]
    by_family: dict[str, list[dict]] = {}
    for row in runs:
        by_family.setdefault(row["scenario"], []).append(row)
    lines = [
        "# Status",
        "",
        f"Generated by `{summary['command']}` on {summary['created']}: "
        f"{summary['overall']['runs']} runs, {summary['overall']['passed']} passed"
        f"{' (interrupted)' if summary['interrupted'] else ''}. Each run is judged by its "
        "scenario's criteria (`config/scenarios/README.md`); pass rates carry their "
        f"{CONFIDENCE:.0%} Clopper–Pearson interval.",
        "",
        "| family | passed | interval | km | collisions | minimal-risk stops | AEB "
        "| phantom brakes | score min / median / max |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        *(
            _md_family_row(name, stats, by_family[name])
            for name, stats in summary["families"].items()
        ),
        _md_family_row("**all runs**", summary["overall"], runs),
        "",
    ]
    failed = [row for row in runs if not row["passed"]]
    lines += ["## Runs that did not pass", ""] + (
        [
            f"- `{row['run']}`: {row['error'] or '; '.join(row['failed_criteria'] or [])}. "
            f"Rerun: `{row['rerun']}`"
            for row in failed
        ]
        or ["None."]
    )
    return "\n".join(lines) + "\n"
