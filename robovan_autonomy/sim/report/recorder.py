"""The run recorder: `RunRecorder.record_step` only stores; `finalize` has the metrics computed
from the whole log at once, judges the run and returns the report dict.

The recorder's lists are the log that `metrics.RunLog` reads. The keys of the dict `finalize`
returns are a contract with the evaluation tooling (report.json); extra keys may be added, none
renamed.
"""

from __future__ import annotations

import bisect
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from robovan_autonomy.sim.actors import ActorState
from robovan_autonomy.sim.report.inputs import MapFeatures, VanTruth
from robovan_autonomy.sim.report.judge import PENALTIES, driving_score, judge
from robovan_autonomy.sim.report.metrics import RunLog
from robovan_autonomy.sim.scenario import Scenario
from robovan_autonomy.vehicle_params import VehicleParams, load_vehicle_params


def _objects_xyv(objects: Any) -> np.ndarray:
    """(N, 5) x, y, vx, vy, class_id from a structured array, dicts or objects with attributes."""
    keys = ("x", "y", "vx", "vy", "class_id")
    if isinstance(objects, np.ndarray) and objects.dtype.names:
        return np.stack([objects[k].astype(float) for k in keys], axis=-1).reshape(-1, 5)
    rows = [[float(o[k] if isinstance(o, dict) else getattr(o, k)) for k in keys] for o in objects]
    return np.array(rows, dtype=float).reshape(-1, 5)


class RunRecorder:
    """Collects one run, step by step; `finalize` turns it into the report dict."""

    def __init__(
        self,
        scenario: Scenario,
        features: MapFeatures = MapFeatures(),
        vehicle: VehicleParams | None = None,
    ):
        self.scenario = scenario
        self.features = features
        self.vehicle = vehicle or load_vehicle_params()
        self._wall_start_s = time.monotonic()
        self._t: list[float] = []
        self._van: list[tuple] = []
        self._est: list[tuple] = []  # (step, stamp_s, x, y, yaw)
        self._baselines: dict[str, list[tuple]] = {}  # name → rows as _est
        self._plans: list[np.ndarray | None] = []
        self._solves: list[tuple[float, float]] = []
        self._misses: list[float] = []
        # (step, track_id, class_id, x, y, yaw, length, width, vx, vy)
        self._actor_rows: list[tuple] = []
        self._actor_names: dict[int, tuple[str, str]] = {}
        self._perceived: list[tuple[int, np.ndarray]] = []
        self._modes: list[tuple[float, str]] = []
        self._supervisor_modes: list[tuple[float, str, str]] = []  # (t, the supervisor's mode, why)
        # (t, the supervisor's findings) when they change
        self._findings: list[tuple[float, str]] = []
        self._latencies: list[float] = []
        self._declared_stops: list[tuple[float, str]] = []
        self._signals: list[tuple[int, dict[int, str]]] = []  # (step, every state) on a change
        self._external: list[tuple[float, str, dict]] = []

    def record_step(
        self,
        t_s: float,
        van: VanTruth,
        *,
        estimated_pose: Sequence[float] | None = None,
        estimate_stamp_s: float | None = None,
        planned_path: np.ndarray | None = None,
        mpc_solve_ms: float | None = None,
        deadline_miss: bool = False,
        actors: Sequence[ActorState] = (),
        perceived: Any = None,
        perceived_stamp_s: float | None = None,
        mode: str | None = None,
        supervisor_mode: tuple[str, str] | None = None,
        supervisor_findings: str | None = None,
        e2e_latency_ms: Sequence[float] = (),
        stop_events: Sequence[str] = (),
        baseline_poses: Mapping[str, Sequence[float]] | None = None,
        traffic_lights: Mapping[int, Any] | None = None,
    ) -> None:
        """One simulation step. Give each input on the step it is new and leave it None otherwise:
        estimated_pose (x, y, yaw) with its stamp (default t_s); planned_path (M, ≥2) poses of
        base_link (the latest plan; the same array may be passed again); mpc_solve_ms of a solve
        that finished this step; perceived objects of a list that arrived this step (structured
        array / dicts / objects with x, y, vx, vy, class_id) with their stamp (default t_s: they are
        judged against the truth of the step nearest it, as the replay judges them); mode when it
        is known (the van's state, or while it is engaged the stack's); supervisor_mode: (mode,
        reason) as the supervisor reports it, whatever the van does, and supervisor_findings its
        health findings (every stream's problem, '' when none); stop_events: bays the stack
        declared reached; baseline_poses: name → (stamp, x, y, yaw) of single-source estimates
        (GNSS only, odometry only) published beside the stack's own, for comparison;
        traffic_lights: signal id → what it shows (a core_types.TrafficLightState or its value),
        the simulator's truth, which may be given every step (only changes are kept)."""
        step = len(self._t)
        self._t.append(float(t_s))
        self._van.append(
            (
                van.x_m,
                van.y_m,
                van.yaw_rad,
                van.speed_mps,
                van.accel_mps2,
                van.steer_rad,
                van.lat_accel_mps2,
            )
        )
        if estimated_pose is not None:
            stamp = t_s if estimate_stamp_s is None else estimate_stamp_s
            self._est.append((step, float(stamp), *map(float, estimated_pose[:3])))
        for name, (stamp, *pose) in (baseline_poses or {}).items():
            self._baselines.setdefault(name, []).append((step, float(stamp), *map(float, pose[:3])))
        self._plans.append(None if planned_path is None else np.asarray(planned_path, dtype=float))
        if mpc_solve_ms is not None:
            self._solves.append((float(t_s), float(mpc_solve_ms)))
        if deadline_miss:
            self._misses.append(float(t_s))
        for a in actors:
            self._actor_names[a.track_id] = (a.id, a.type)
            self._actor_rows.append(
                (step, a.track_id, a.class_id, a.x, a.y, a.yaw, a.length, a.width, a.vx, a.vy)
            )
        if perceived is not None:
            stamp = t_s if perceived_stamp_s is None else perceived_stamp_s
            self._perceived.append((self._step_at(stamp), _objects_xyv(perceived)))
        if mode is not None and (not self._modes or self._modes[-1][1] != mode):
            self._modes.append((float(t_s), mode))
        if supervisor_mode is not None and (
            not self._supervisor_modes or self._supervisor_modes[-1][1] != supervisor_mode[0]
        ):
            self._supervisor_modes.append((float(t_s), *supervisor_mode))
        last_findings = self._findings[-1][1] if self._findings else ""
        if supervisor_findings is not None and supervisor_findings != last_findings:
            self._findings.append((float(t_s), supervisor_findings))
        self._latencies.extend(float(v) for v in e2e_latency_ms)
        self._declared_stops.extend((float(t_s), name) for name in stop_events)
        if traffic_lights is not None:
            states = {int(i): str(getattr(s, "value", s)) for i, s in traffic_lights.items()}
            if not self._signals or self._signals[-1][1] != states:
                self._signals.append((step, states))

    def _step_at(self, stamp_s: float) -> int:
        """The recorded step nearest stamp_s (the latest one for a stamp beyond it)."""
        k = bisect.bisect_left(self._t, stamp_s)
        if k == len(self._t):
            return k - 1
        return k - 1 if k > 0 and stamp_s - self._t[k - 1] < self._t[k] - stamp_s else k

    def record_infraction(self, t_s: float, kind: str, **detail: Any) -> None:
        """An infraction judged outside the recorder, e.g. a red light by the simulator's lights."""
        if kind not in PENALTIES:
            raise ValueError(f"unknown infraction {kind!r}, expected one of {', '.join(PENALTIES)}")
        self._external.append((float(t_s), kind, detail))

    # ------------------------------------------------------------------------------------------

    def finalize(self, wall_time_s: float | None = None) -> dict:
        """The report dict (report.json). wall_time_s defaults to the time since construction."""
        if not self._t:
            raise ValueError("no steps were recorded")
        wall = time.monotonic() - self._wall_start_s if wall_time_s is None else wall_time_s
        log = RunLog(self)
        collisions = log.collisions()
        stops, missed = log.stops()
        infractions = {kind: [] for kind in PENALTIES}
        for event in collisions:
            infractions[event["kind"]].append(event)
        infractions["curb_strike"] = log.curb_strikes()
        infractions["stop_line"] = log.stop_line_infractions()
        infractions["red_light"] = log.red_light_infractions()
        infractions["missed_stop"] = missed
        for t_s, kind, detail in self._external:
            infractions[kind].append({"t_s": t_s, **detail})
        completion = 1.0 if all(s["served"] for s in stops) else log.route_completion(stops)
        score = driving_score(completion, {k: len(v) for k, v in infractions.items()})
        ttc = log.min_ttc()
        outcome = log.outcome(collisions, stops)
        comfort = log.comfort()
        report = {
            "scenario": self.scenario.name,
            "seed": self.scenario.seed,
            "sim_time_s": log.t[-1],
            "wall_time_s": wall,
            "realtime_factor": log.t[-1] / wall if wall > 0 else None,
            "outcome": outcome,
            "route_completion": completion,
            "distance_m": float(np.hypot(np.diff(log.x), np.diff(log.y)).sum()),  # driven, truth
            "collisions": collisions,
            "infractions": infractions,
            "driving_score": score,
            "stops": stops,
            "lateral_error_m": log.lateral_error(),
            "localization_error_m": log.localization_error(),
            "heading_error_rad": log.heading_error(),
            "localization_baselines": log.localization_baselines(),
            "comfort": comfort,
            "hard_brakes": log.hard_brakes(comfort["emergency_braking_windows"]),
            "emergency_stops": log.emergency_stops(),
            "stalls": log.stalls(),
            "traffic_lights": log.traffic_light_passages(),
            "min_ttc_s": ttc["min_ttc_s"],
            "min_ttc": ttc,
            "mpc_solve_ms": log.mpc_solve_ms(),
            "deadline_misses": len(self._misses),
            "e2e_latency_ms": log.e2e_latency_ms(),
            "perception": log.perception(),
            "mode": {
                "final": self._modes[-1][1] if self._modes else None,
                "history": [[t, m] for t, m in self._modes],
            },
            "supervisor": {
                "modes": [[t, m, why] for t, m, why in self._supervisor_modes],
                "findings": [[t, f] for t, f in self._findings],
            },
            "fault_response": log.fault_response(),
            "series": log.series(),
        }
        report.update(judge(report, self.scenario))
        return _jsonable(report)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.integer, bool, np.bool_)):
        return value.item() if isinstance(value, np.generic) else value
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value
