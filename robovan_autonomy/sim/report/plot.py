"""report.png: the run on the map beside its time series, drawn from the report dict alone (and
the map's features, when given), so a report.json can be drawn again later.

matplotlib is imported only when a figure is drawn, so recording and judging runs never load it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from robovan_autonomy.geometry import box_corners
from robovan_autonomy.sim.report.inputs import MapFeatures

ERROR_LINEAR_BELOW_M = 0.1  # error axis: linear to 10 cm, logarithmic above (drifting baselines)
MAP_MARGIN_M = 30.0  # the map plot shows the driven path and the route with this much around them
_MODE_COLOURS = ("#4c72b0", "#55a868", "#c44e52", "#8172b2", "#ccb974", "#64b5cd", "#dd8452")


def write_report_png(
    report_data: dict, path: str | Path, features: MapFeatures | None = None
) -> Path:
    """report.png: map with planned and driven paths (lanes, curbs, buildings, bays when
    `features` is given), speed, lateral and localization error, solver times, mode timeline."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    series = report_data.get("series", {})
    fig = Figure(figsize=(16, 10), dpi=100)  # no pyplot: no global backend or figure state
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(4, 2, width_ratios=(1.1, 1.0), height_ratios=(1, 1, 1, 0.45))
    ax_map = fig.add_subplot(grid[:, 0])
    _draw_map(ax_map, report_data, series, features)
    ax_speed = fig.add_subplot(grid[0, 1])
    ax_err = fig.add_subplot(grid[1, 1], sharex=ax_speed)
    ax_mpc = fig.add_subplot(grid[2, 1], sharex=ax_speed)
    ax_mode = fig.add_subplot(grid[3, 1], sharex=ax_speed)
    t = np.asarray(series.get("t_s", []), dtype=float)
    ax_speed.plot(t, series.get("speed_mps", []), label="speed m/s")
    ax_speed.plot(t, series.get("accel_mps2", []), label="accel m/s²", alpha=0.6)
    for lo, hi in report_data.get("comfort", {}).get("emergency_braking_windows", []):
        ax_speed.axvspan(lo, hi, color="red", alpha=0.15)
    ax_speed.legend(loc="upper right")
    ax_speed.set_title(
        f"{report_data.get('scenario')}: {report_data.get('outcome')}, "
        f"score {report_data.get('driving_score', 0):.1f}"
    )
    ax_err.plot(t, _nan(series.get("lateral_error_m", [])), label="lateral error m")
    ax_err.plot(t, _nan(series.get("localization_error_m", [])), label="localization error m")
    for name, baseline in series.get("baselines", {}).items():
        ax_err.plot(
            t,
            _nan(baseline["error_m"]),
            linewidth=0.8,
            alpha=0.7,
            label=f"{name.replace('_', '-')} localization error m",
        )
    ax_err.set_yscale("symlog", linthresh=ERROR_LINEAR_BELOW_M)
    ax_err.legend(loc="upper right", fontsize=8)
    solves = np.asarray(series.get("mpc_solve", []), dtype=float).reshape(-1, 2)
    ax_mpc.plot(solves[:, 0], solves[:, 1], ".", markersize=2, label="MPC solve ms")
    for t_miss in series.get("deadline_miss_t_s", []):
        ax_mpc.axvline(t_miss, color="red", alpha=0.4)
    ax_mpc.legend(loc="upper right")
    _draw_modes(ax_mode, report_data.get("mode", {}).get("history", []), series.get("t_end_s"))
    ax_mode.set_xlabel("time s")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    return path


def _nan(values: Sequence) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _draw_map(ax, report: dict, series: dict, features: MapFeatures | None) -> None:
    if features is not None:
        for poly in features.buildings:
            ax.fill(*np.asarray(poly).T, color="0.8", zorder=0)
        for lane in features.lanes:
            ax.plot(*np.asarray(lane).T, color="0.75", linewidth=0.6, zorder=1)
        for curb in features.curbs:
            ax.plot(*np.asarray(curb).T, color="0.35", linewidth=1.0, zorder=1)
        cars = features.parked_cars
        if len(cars):
            for corners in box_corners(cars[:, 0], cars[:, 1], cars[:, 2], cars[:, 3], cars[:, 4]):
                ax.fill(*corners.T, color="0.55", zorder=1)
        for line in features.stop_lines:
            ax.plot(*np.asarray(line).T, color="red", linewidth=2.0, zorder=2)
        for _, line in features.traffic_lights.values():
            ax.plot(*np.asarray(line).T, color="darkorange", linewidth=2.0, zorder=2)
        if features.route_xy is not None:
            ax.plot(*np.asarray(features.route_xy).T, color="0.6", linestyle="--", label="route")
        for name, (bx, by, _) in features.bays.items():
            ax.plot(bx, by, "s", color="orange", markersize=5)
            ax.annotate(name, (bx, by), fontsize=7)
    for n, plan in enumerate(series.get("plans", [])):
        ax.plot(
            *np.asarray(plan["xy"]).T,
            color="tab:green",
            linewidth=0.8,
            alpha=0.6,
            label="planned" if n == 0 else None,
        )
    ax.plot(
        series.get("x", []), series.get("y", []), color="tab:blue", linewidth=1.8, label="driven"
    )
    ax.plot(
        _nan(series.get("est_x", [])),
        _nan(series.get("est_y", [])),
        color="tab:purple",
        linewidth=0.8,
        linestyle=":",
        label="estimated",
    )
    for name, baseline in series.get("baselines", {}).items():
        ax.plot(
            _nan(baseline["x"]),
            _nan(baseline["y"]),
            linewidth=0.6,
            linestyle=":",
            label=f"{name.replace('_', '-')} estimate",
        )
    for name, track in series.get("actors", {}).items():
        xy = np.asarray(track["xy"]).reshape(-1, 2)
        if len(xy):
            ax.plot(xy[:, 0], xy[:, 1], color="tab:brown", linewidth=0.8)
            ax.annotate(name, xy[-1], fontsize=7, color="tab:brown")
    for event in report.get("collisions", []):
        ax.plot(event["x"], event["y"], "x", color="red", markersize=12, markeredgewidth=3)
    focus = [np.column_stack([series.get("x", []), series.get("y", [])])]
    if features is not None and features.route_xy is not None:
        focus.append(np.asarray(features.route_xy, dtype=float))
    focus = np.vstack([f.reshape(-1, 2) for f in focus])
    ax.set_aspect("equal", adjustable="box")
    if len(focus):
        (x0, y0), (x1, y1) = focus.min(axis=0) - MAP_MARGIN_M, focus.max(axis=0) + MAP_MARGIN_M
        half = 0.5 * max(x1 - x0, y1 - y0)  # a square window keeps the box-adjusted axes large
        cx, cy = 0.5 * (x0 + x1), 0.5 * (y0 + y1)
        ax.set_xlim(cx - half, cx + half)
        ax.set_ylim(cy - half, cy + half)
    ax.legend(loc="upper right", fontsize=8)
    ax.set_xlabel("x m")
    ax.set_ylabel("y m")


def _draw_modes(ax, history: list, t_end: float | None) -> None:
    colours = {}
    for n, (t0, mode) in enumerate(history):
        t1 = history[n + 1][0] if n + 1 < len(history) else (t_end if t_end is not None else t0)
        colour = colours.setdefault(mode, _MODE_COLOURS[len(colours) % len(_MODE_COLOURS)])
        ax.broken_barh([(t0, max(t1 - t0, 1e-3))], (0, 1), color=colour)
        ax.text(t0, 0.5, f" {mode}", va="center", fontsize=8)
    ax.set_yticks([])
    ax.set_ylabel("mode")
