"""`robovan`: the one command line for people. Nodes have their own console scripts for launch."""

from __future__ import annotations

import argparse
import importlib.util
import json
import shlex
import sys
import time
from pathlib import Path

from robovan_autonomy.config_errors import ConfigError, OutputError, StartupError, share_dir


def _cmd_run(args) -> int:
    import rclpy
    from rclpy.executors import MultiThreadedExecutor

    from robovan_autonomy.node_utils import startup_heap_frozen
    from robovan_autonomy.stack import node_set, params_files
    from robovan_autonomy.tools.node_runner import (
        create_nodes,
        merged_parameters,
        spawn_processes,
        stop_processes,
    )

    files = params_files(args.mode) + [Path(p) for p in args.params]
    specs = node_set(args.mode, tuple(args.ground_truth))
    parameters = merged_parameters(files)
    use_sim_time = args.mode != "vehicle"
    if args.processes:
        processes = spawn_processes(specs, files, use_sim_time)
        try:
            for process in processes:
                process.wait()
        except KeyboardInterrupt:
            pass
        finally:
            stop_processes(processes)
        return max((p.returncode or 0) for p in processes)
    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        nodes = create_nodes(specs, parameters, context, use_sim_time)
    except BaseException:
        rclpy.try_shutdown(context=context)
        raise
    executor = MultiThreadedExecutor(context=context)
    for node in nodes:
        executor.add_node(node)
    try:
        with startup_heap_frozen():
            executor.spin()
    except KeyboardInterrupt:
        pass
    finally:
        executor.shutdown()
        for node in nodes:
            node.destroy_node()
        rclpy.try_shutdown(context=context)
    return 0


def _cmd_sim(args) -> int:
    from robovan_autonomy.tools.simulation import SimOptions, Simulation

    options = SimOptions(
        scenario=args.scenario,
        out_dir=Path(args.out),
        seed=args.seed,
        realtime=args.realtime,
        ground_truth=tuple(args.ground_truth),
        record=not args.no_record,
        record_lidar=args.record_lidar,
        time_limit_s=args.time_limit,
        discoverable=args.discoverable,
        variation=args.variation,
    )
    if args.backend == "carla":
        simulation = Simulation(options, make_world=_carla_world(args))
    else:
        simulation = Simulation(options)
    for stage in simulation.stages_without_node:
        print(
            f"robovan sim: no {stage} node in the stack yet: ground truth stands in for it",
            file=sys.stderr,
        )
    report = simulation.run()
    judgement = report["judgement"]
    variant = report["variation"]
    name = report["scenario"] + ("" if variant is None else f"@{variant['id']}")
    print(
        f"{name}: outcome {report['outcome']}, driving score "
        f"{report['driving_score']:.1f}, route completion {report['route_completion']:.2f}, "
        f"collisions {len(report['collisions'])}, {report['sim_time_s']:.1f} s simulated at "
        f"{report['realtime_factor']:.2f}x real time -> {args.out}/report.json"
    )
    for reason in judgement["failed_criteria"]:
        print(f"  failed: {reason}")
    return 0 if judgement["passed"] else 1


def _carla_world(args):
    """The world factory of a run on the CARLA server at --host:--port, its world rebuilt from
    the scenario's map exported to OpenDRIVE. Fails in about 2 s, in one line, where no server
    answers."""
    import functools

    from robovan_autonomy.carla_sim.control import load_carla_config
    from robovan_autonomy.carla_sim.session import connect
    from robovan_autonomy.carla_sim.world import CarlaWorld
    from robovan_autonomy.mapping.lanelet_map import load_map
    from robovan_autonomy.mapping.opendrive import export_xodr
    from robovan_autonomy.sim.scenario import load_scenario

    client = connect(args.host, args.port)
    scenario = load_scenario(args.scenario, variation=args.variation)
    client.generate_opendrive_world(export_xodr(load_map(scenario.map_path)).xodr)
    return functools.partial(CarlaWorld, client=client, config=load_carla_config())


def _cmd_eval(args) -> int:
    from robovan_autonomy.sim.scenario import list_scenarios
    from robovan_autonomy.tools import evaluation
    from robovan_autonomy.tools.eval_summary import load_runs, write_summary

    if args.compare and len(args.compare) > 2:
        print("robovan eval: --compare takes OLD_SUMMARY [NEW_SUMMARY]", file=sys.stderr)
        return 2
    try:
        old_runs = load_runs(args.compare[0]) if args.compare else None
        if args.compare and len(args.compare) == 2:
            return _print_comparison(args.compare[0], old_runs, load_runs(args.compare[1]))
    except ValueError as err:
        print(f"robovan eval: {err}", file=sys.stderr)
        return 2
    out = Path(args.out)
    jobs = evaluation.plan_jobs(
        args.scenario or list_scenarios(),
        out,
        args.variations,
        tuple(args.ground_truth),
        args.time_limit,
        args.run_timeout,
    )
    if args.list:
        for job in jobs:
            values = ", ".join(f"{name}={value}" for name, value in job.values)
            print(f"{job.run:<44} {values or 'base'}\n    {job.rerun()}")
        return 0
    out.mkdir(parents=True, exist_ok=True)
    rows, interrupted = _run_jobs(jobs, args.workers, args.address)
    not_run = [job.run for job in jobs if job.run not in {row["run"] for row in rows}]
    summary = write_summary(out, rows, shlex.join(["robovan", *args.argv]), not_run)
    if args.status:
        Path(args.status).write_text((out / "status.md").read_text())
    for line in _family_lines(summary):
        print(line)
    passed = sum(row["passed"] for row in rows)
    print(
        f"{passed}/{len(rows)} runs passed"
        f"{f' ({len(not_run)} not run: interrupted)' if not_run else ''} -> "
        f"{out}/summary.json, summary.html, summary.png"
    )
    worse = _print_comparison(args.compare[0], old_runs, rows) if args.compare else 0
    if interrupted:
        return 130
    return 0 if passed == len(rows) and not worse else 1


def _run_jobs(jobs: list, workers: int | None, address: str | None) -> tuple[list[dict], bool]:
    """The rows of the runs that finished, in the jobs' order, and whether Ctrl-C stopped them."""
    from robovan_autonomy.tools import evaluation

    rows: list[dict] = []
    progress = evaluation.Progress(len(jobs))

    def finished(row: dict) -> None:
        rows.append(row)
        progress(row)

    if address is None and (workers or 1) == 1:
        interrupted = evaluation.run_in_process(jobs, finished)
    else:
        interrupted = evaluation.run_on_ray(jobs, workers, address, finished)
    order = {job.run: i for i, job in enumerate(jobs)}
    return sorted(rows, key=lambda row: order[row["run"]]), interrupted


def _family_lines(summary: dict) -> list[str]:
    """One line per family with more than one run (a single run's line is above already)."""
    lines = []
    for name, stats in {**summary["families"], "all runs": summary["overall"]}.items():
        if stats["runs"] < 2:
            continue
        low, high = stats["pass_rate_ci95"]
        score = stats["driving_score"] or {"min": float("nan"), "median": float("nan")}
        lines.append(
            f"{name:<40} passed {stats['passed']:>3}/{stats['runs']:<3} "
            f"[{100 * low:3.0f}, {100 * high:3.0f}] %  collisions "
            f"{stats['collisions']['count']}  MRM {stats['mrm_stops']['count']}  AEB "
            f"{stats['aeb_activations']['count']}  score min {score['min']:.0f} median "
            f"{score['median']:.0f}"
        )
    return lines


def _print_comparison(old: str, old_runs: list[dict], new_runs: list[dict]) -> int:
    """Print what got better and worse since OLD; 1 when something got significantly worse."""
    from robovan_autonomy.tools.eval_stats import compare, comparison_lines

    result = compare(old_runs, new_runs)
    print(f"compared with {old}:")
    for line in comparison_lines(result):
        print(f"  {line}")
    return int(any(c["significant"] and c["direction"] == "worse" for c in result["changes"]))


def _cmd_record(args) -> int:
    from robovan_autonomy.tools.record import RecordOptions, record

    out = Path(args.out or f"runs/record_{time.strftime('%Y%m%d_%H%M%S')}")
    if out.exists():
        print(f"robovan record: {out} exists; rosbag2 bags are never overwritten", file=sys.stderr)
        return 2
    summary = record(
        RecordOptions(
            out=out,
            topics=tuple(args.topics),
            all_topics=args.all,
            storage=args.storage,
            duration_s=args.duration,
            use_sim_time=args.use_sim_time,
        )
    )
    for topic, count in sorted(summary.messages.items()):
        print(f"  {topic}: {count} messages")
    for topic, why in sorted(summary.skipped.items()):
        print(f"  {topic}: not recorded, {why}", file=sys.stderr)
    for topic in summary.never_seen:
        print(f"  {topic}: never published while recording", file=sys.stderr)
    print(f"wrote {summary.bag} ({args.storage})")
    return 0


def _cmd_replay(args) -> int:
    from robovan_autonomy.tools.bag_reader import BagError

    try:
        if args.update_reference or args.check_reference:
            return _replay_regression(args)
        if args.bag is None:
            print(
                "robovan replay: give a BAG, or --check-reference / --update-reference",
                file=sys.stderr,
            )
            return 2
        return _replay_bag(args)
    except BagError as err:
        print(f"robovan replay: {err}", file=sys.stderr)
        if args.bag is not None and (Path(args.out) / "report.json").exists():
            print(
                f"  outputs up to the failure kept in {args.out} "
                "(report.json says where it stopped)",
                file=sys.stderr,
            )
        return 2


def _replay_bag(args) -> int:
    from robovan_autonomy.tools.replay import ReplayOptions, run_replay

    report = run_replay(
        ReplayOptions(
            bag=Path(args.bag),
            out_dir=Path(args.out),
            deterministic=args.deterministic,
            rate=args.rate,
            remap=dict(args.remap),
            frame_aliases=tuple(args.frame_alias),
            ground_truth=args.ground_truth,
            scenario=args.scenario,
            storage=args.storage,
            progress=True,
        )
    )
    outputs = ", ".join(f"{topic} {count}" for topic, count in report["outputs"].items())
    print(
        f"replayed {report['replayed_s']:.1f} s of {report['bag']} "
        f"in {report['wall_time_s']:.1f} s "
        f"({report['realtime_factor']:.2f}x real time, {report['messages_played']} messages, "
        f"{report['mode']}); outputs: {outputs or 'none'} -> {args.out}/report.json"
    )
    if report["unused_topics"]:
        print(
            "  bag topics not played (no node of the replay reads them; --remap THEIRS:=OURS "
            f"plays one under a name the stack reads): {', '.join(report['unused_topics'])}"
        )
    for warning in report["warnings"]:
        print(f"  warning: {warning}", file=sys.stderr)
    return 0


def _replay_regression(args) -> int:
    import tempfile

    from robovan_autonomy.tools import regression

    failed = 0
    for case in regression.select_cases(args.case):
        if args.update_reference:
            regression.update_reference(case)
            print(f"{case.name}: reference refreshed -> {case.reference_bag}")
            continue
        with tempfile.TemporaryDirectory(prefix=f"robovan_check_{case.name}_") as tmp:
            problems = regression.check_case(case, Path(tmp))
        failed += bool(problems)
        print(f"{case.name}: {'FAILED' if problems else 'ok'}")
        for problem in problems:
            print(f"  {problem}")
    return 1 if failed else 0


def _remap(text: str) -> tuple[str, str]:
    source, sep, target = text.partition(":=")
    if not sep or not source.startswith("/") or not target.startswith("/"):
        raise argparse.ArgumentTypeError(f"expected /bag_topic:=/played_topic, got {text!r}")
    return source, target


def _frame_alias(text: str) -> str:
    from robovan_autonomy.interfaces import parse_frame_alias

    try:
        parse_frame_alias(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return text


def _replay_ground_truth(text: str) -> tuple[str, ...]:
    return () if text == "none" else tuple(_ground_truth_stages(text))


def _ground_truth_stages(text: str) -> list[str]:
    from robovan_autonomy.stack import STAGES

    stages = [s for s in text.split(",") if s]
    unknown = sorted(set(stages) - set(STAGES))
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown stage(s) {unknown}; use {','.join(STAGES)}")
    return stages


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"expected a TCP port 1 .. 65535, got {text!r}")
    return int(text)


def _time_limit(text: str) -> float:
    from robovan_autonomy.sim.scenario import check_time_limit

    try:
        return check_time_limit(float(text))
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def bench_dir() -> Path:
    return share_dir() / "bench"


def available_benchmarks() -> list[str]:
    return sorted(
        p.stem
        for p in bench_dir().glob("*.py")
        if not p.stem.startswith("_") and not p.stem.endswith("_baseline")
    )


def _load_benchmark(name: str):
    path = bench_dir() / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"robovan_bench_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(bench_dir()))
    spec.loader.exec_module(module)
    return module


def _cmd_bench(args) -> int:
    names = available_benchmarks() if args.name == "all" else [args.name]
    unknown = [n for n in names if n not in available_benchmarks()]
    if unknown:
        print(
            f"robovan bench: unknown benchmark {unknown[0]!r}; available: "
            f"{', '.join(available_benchmarks()) or 'none'} (looked in {bench_dir()})",
            file=sys.stderr,
        )
        return 2
    results = {}
    for name in names:
        print(f"== {name}", flush=True)
        results[name] = _load_benchmark(name).run(quick=args.quick)
        rows = {k: v for k, v in results[name].items() if isinstance(v, (int, float, str))}
        width = max(map(len, rows), default=0)
        for key, value in rows.items():
            print(
                f"  {key:<{width}}  {value:.3f}"
                if isinstance(value, float)
                else f"  {key:<{width}}  {value}"
            )
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        existing = json.loads(path.read_text()) if path.exists() else {}
        existing.update(results)
        path.write_text(json.dumps(existing, indent=2, sort_keys=True) + "\n")
        print(f"wrote {path}")
    return 0


def _cmd_protocol(args) -> int:
    from robovan_autonomy.vehicle.protocol_doc import protocol_markdown
    from robovan_autonomy.vehicle_params import load_vehicle_params

    print(protocol_markdown(load_vehicle_params()), end="")
    return 0


def _cmd_params(args) -> int:
    from robovan_autonomy.config_errors import share_dir
    from robovan_autonomy.parameters import load_params_file, markdown_table
    from robovan_autonomy.stack import MODES, declared_parameters, params_files

    declared = declared_parameters()
    if args.markdown:
        print(
            "# Node parameters\n\nGenerated by `robovan params --markdown` from the declarations "
            "in code; config/*.yaml only override. `<share>` is the package's share directory "
            "(the source checkout when run from it).\n"
        )
        for name, params in declared.items():
            print(markdown_table(name, params, str(share_dir())))
        return 0
    defaults = sorted({path for mode in MODES for path in params_files(mode)})
    for path in [Path(p) for p in args.check] or defaults:
        load_params_file(path, declared)
        print(f"{path}: ok")
    return 0


def _load_map_arg(args):
    from robovan_autonomy.mapping.lanelet_map import load_map

    return load_map(args.map, args.origin)


def _cmd_map_check(args) -> int:
    from robovan_autonomy.mapping import map_check
    from robovan_autonomy.vehicle_params import load_vehicle_params

    dmap = _load_map_arg(args)
    origin = dmap.origin
    source = "--origin" if args.origin else dmap.path.with_suffix(".yaml").name
    print(
        f"map {dmap.name} ({dmap.path}): origin {origin.lat_deg}, {origin.lon_deg}, "
        f"{origin.alt_m} m from {source}, {dmap.projector_name} projector"
    )
    for line in map_check.report(dmap):
        print(line)
    found = map_check.problems(dmap, load_vehicle_params().width_m)
    print(f"problems: {len(found) or 'none'}")
    for problem in found:
        print(f"  {problem}")
    return 1 if found else 0


def _cmd_map_route(args) -> int:
    from robovan_autonomy.mapping import map_check
    from robovan_autonomy.planning.route import RouteError, plan_route

    dmap = _load_map_arg(args)
    start, goal = args.from_lane, args.to_lane
    why = next(
        (map_check.why_not_a_lane(dmap, lane) for lane in (start, goal) if lane not in dmap.lanes),
        None,
    ) or map_check.why_no_path(dmap, start, goal)
    if why is None:
        try:
            path = plan_route(dmap, f"{start}@0", [f"{goal}@{dmap.lanes[goal].length_m}"])
        except RouteError as err:
            why = f"Lanelet2 finds a path, but the van cannot drive it: {err}"
    if why is not None:
        print(
            f"robovan map route: no route from lane {start} to lane {goal}: {why}", file=sys.stderr
        )
        return 1
    print(
        f"route from lane {start} to lane {goal} on {dmap.name}: {path.length_m:.1f} m "
        f"through {len(path.lanelet_ids)} lanelets"
    )
    for line in map_check.route_lines(dmap, path):
        print(line)
    return 0


def _cmd_map_export_xodr(args) -> int:
    from robovan_autonomy.mapping.opendrive import export_xodr

    export = export_xodr(_load_map_arg(args))
    out = Path(args.out)
    try:
        out.write_text(export.xodr)
    except OSError as err:
        print(f"robovan map export-xodr: cannot write {out}: {err.strerror}", file=sys.stderr)
        return 2
    print(
        f"{out}: {len(export.road_of_lane)} roads, {len(export.junction_of_intersection)} "
        f"junctions, {len(export.unlinked)} links OpenDRIVE cannot express"
    )
    for lane, successor in export.unlinked:
        print(f"  unlinked: lane {lane} -> lane {successor} (a fork or merge outside a junction)")
    return 0


def _origin(text: str):
    from robovan_autonomy.mapping.lanelet_map import GeodeticOrigin

    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) not in (2, 3) or abs(values[0]) > 90.0 or abs(values[1]) > 180.0:
        raise argparse.ArgumentTypeError(
            f"expected LAT,LON or LAT,LON,ALT in degrees (and metres), got {text!r}"
        )
    return GeodeticOrigin(*values, *([0.0] if len(values) == 2 else []))


def _cmd_van_ecu(args) -> int:
    from robovan_autonomy.sim.van_ecu_bus import main as van_ecu_main

    return van_ecu_main(args.rest, prog="robovan van-ecu")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="robovan", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="start the stack's node set (no launch_ros needed)")
    run.add_argument("--mode", choices=("vehicle", "sim", "replay"), default="vehicle")
    run.add_argument("--params", action="append", default=[], help="extra params file (repeatable)")
    run.add_argument(
        "--ground-truth",
        type=_ground_truth_stages,
        default=[],
        help="stages whose readers are remapped onto ground truth (the simulator "
        "publishes it), e.g. localization,perception",
    )
    run.add_argument(
        "--processes", action="store_true", help="one process per node, as ros2 launch does"
    )
    run.set_defaults(func=_cmd_run)

    sim = sub.add_parser(
        "sim", help="run the stack closed loop against the embedded simulator (or CARLA)"
    )
    sim.add_argument("--scenario", default="delivery_loop", help="scenario name or YAML path")
    sim.add_argument(
        "--backend",
        choices=("embedded", "carla"),
        default="embedded",
        help="the world the stack drives in: the embedded simulator, or a CARLA server",
    )
    sim.add_argument(
        "--host", default="localhost", help="the CARLA server's host (--backend carla)"
    )
    sim.add_argument(
        "--port", type=_port, default=2000, help="the CARLA server's RPC port (--backend carla)"
    )
    sim.add_argument(
        "--out", default="runs/latest", help="folder for report.json, report.png, run.mcap"
    )
    sim.add_argument("--seed", type=int, help="override the scenario's seed")
    sim.add_argument(
        "--variation",
        metavar="ID",
        help="run this variant of the scenario (an id from `robovan eval "
        "--variations`, or `robovan eval --list`)",
    )
    sim.add_argument(
        "--realtime", action="store_true", help="pace to the wall clock (default: lockstep)"
    )
    sim.add_argument(
        "--ground-truth",
        type=_ground_truth_stages,
        default=[],
        help="stages fed from ground truth, e.g. localization,perception",
    )
    sim.add_argument(
        "--time-limit",
        type=_time_limit,
        help="override the scenario's time limit (s), within the range of its time_limit_s",
    )
    sim.add_argument("--no-record", action="store_true", help="skip run.mcap")
    sim.add_argument(
        "--record-lidar",
        choices=("full", "downsampled", "none"),
        default="downsampled",
        help="LiDAR in run.mcap: every point (to replay perception as it ran), one point in "
        "eight (default: a bag under 60 MB per minute of driving), or none",
    )
    sim.add_argument(
        "--discoverable",
        action="store_true",
        help="let other processes (RViz, Foxglove, ros2 topic) see the run's graph; "
        "off by default so nothing else on the host can disturb the lockstep",
    )
    sim.set_defaults(func=_cmd_sim)

    evaluate = sub.add_parser("eval", help="run the scenario catalogue and summarise the verdicts")
    evaluate.add_argument(
        "--scenario", action="append", help="only this scenario, a name or YAML path (repeatable)"
    )
    evaluate.add_argument("--out", default="runs/eval")
    evaluate.add_argument(
        "--variations",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="also run every variant the scenarios declare (default: the base scenarios only)",
    )
    evaluate.add_argument(
        "--list",
        action="store_true",
        help="list the runs (with variant ids and rerun commands), run nothing",
    )
    evaluate.add_argument(
        "--workers",
        type=_positive_int,
        metavar="N",
        help="run N simulations at a time on a local Ray instance this command "
        "starts and stops (default 1: one after the other in this process, "
        "without Ray); with --address, N at a time on that cluster "
        "(default: its CPUs)",
    )
    evaluate.add_argument(
        "--address",
        metavar="ray://HOST:PORT",
        help="run on this existing Ray cluster (robovan_autonomy installed on "
        "its nodes; run folders land there, the summary here)",
    )
    evaluate.add_argument(
        "--run-timeout",
        type=_positive_int,
        metavar="S",
        help="on Ray: a run with no result after S s of wall time is killed and "
        "recorded as an error (default: 4 s per simulated second + 120 s)",
    )
    evaluate.add_argument(
        "--compare",
        nargs="+",
        metavar="SUMMARY",
        help="OLD_SUMMARY: after the eval, say what got better and worse since "
        "that summary.json, and whether significantly; OLD NEW: compare "
        "two summaries, run nothing",
    )
    evaluate.add_argument("--ground-truth", type=_ground_truth_stages, default=[])
    evaluate.add_argument(
        "--time-limit",
        type=_time_limit,
        help="override every scenario's time limit (s), e.g. for a smoke run",
    )
    evaluate.add_argument(
        "--status",
        metavar="PATH",
        help="also write the status page (OUT/status.md) here: `make eval` keeps docs/STATUS.md so",
    )
    evaluate.set_defaults(func=_cmd_eval)

    rec = sub.add_parser("record", help="record topics of a live graph to a rosbag2 bag")
    rec.add_argument("topics", nargs="*", help="topic names")
    rec.add_argument("--all", action="store_true", help="every topic that appears")
    rec.add_argument("--out", help="the bag folder to create (default: runs/record_<time>)")
    rec.add_argument("--storage", choices=("mcap", "sqlite3"), default="mcap")
    rec.add_argument(
        "--duration", type=float, help="stop after this many seconds (default: Ctrl-C)"
    )
    rec.add_argument(
        "--use-sim-time", action="store_true", help="stamp with /clock instead of wall time"
    )
    rec.set_defaults(func=_cmd_record)

    replay = sub.add_parser(
        "replay", help="play a bag into the stack (open loop) and record its outputs"
    )
    replay.add_argument("bag", nargs="?", help="rosbag2 folder, or a .mcap / .db3 file")
    replay.add_argument(
        "--out", default="runs/replay", help="folder for run/ (outputs) and report.json"
    )
    replay.add_argument(
        "--deterministic",
        action="store_true",
        help="lockstep: bit-identical outputs on every replay, as fast as the stack allows",
    )
    replay.add_argument(
        "--rate",
        type=float,
        help="pace to this many times real time (default 1; with --deterministic: unpaced)",
    )
    replay.add_argument(
        "--remap",
        type=_remap,
        action="append",
        default=[],
        metavar="A:=B",
        help="play bag topic A as topic B (repeatable)",
    )
    replay.add_argument(
        "--frame-alias",
        type=_frame_alias,
        action="append",
        default=[],
        metavar="OURS=THEIRS",
        help="read the bag's sensor frame_id THEIRS as our frame OURS (camera_front, lidar_top, "
        "gnss or imu; repeatable), e.g. lidar_top=velodyne_top",
    )
    replay.add_argument(
        "--ground-truth",
        type=_replay_ground_truth,
        default=None,
        help="stages fed from the bag's ground truth, e.g. localization,perception, or "
        "'none' (default: stages without a node, from the bag)",
    )
    replay.add_argument(
        "--scenario", help="map and mission from this scenario (bags without run info)"
    )
    replay.add_argument(
        "--storage", choices=("mcap", "sqlite3"), default="mcap", help="of the output bag"
    )
    replay.add_argument(
        "--check-reference",
        action="store_true",
        help="replay the regression cases (test/data/replay) and compare with their references",
    )
    replay.add_argument(
        "--update-reference",
        action="store_true",
        help="replay the regression cases and store their outputs as the new references",
    )
    replay.add_argument(
        "--case", action="append", help="with --check/--update-reference: only this case"
    )
    replay.set_defaults(func=_cmd_replay)

    bench = sub.add_parser("bench", help="run a benchmark from bench/ ('all' for every one)")
    bench.add_argument("name")
    bench.add_argument("--json", help="merge results into this JSON file")
    bench.add_argument("--quick", action="store_true", help="fewer samples, for a smoke run")
    bench.set_defaults(func=_cmd_bench)

    params = sub.add_parser("params", help="validate params files or print the parameter reference")
    params.add_argument("--check", action="append", default=[], help="params file to validate")
    params.add_argument("--markdown", action="store_true")
    params.set_defaults(func=_cmd_params)

    protocol = sub.add_parser(
        "protocol",
        help="print the van's CAN protocol reference (markdown, from the DBC and the codec)",
    )
    protocol.set_defaults(func=_cmd_protocol)

    maps = sub.add_parser("map", help="look into a Lanelet2 map: what the stack reads, routes")
    map_sub = maps.add_subparsers(dest="map_command", required=True)
    for name, help_text, func in (
        (
            "check",
            "load a map and print what it holds and what the stack cannot use (exit 1 on "
            "problems, 2 when it does not load)",
            _cmd_map_check,
        ),
        (
            "route",
            "plan a route from the start of one lanelet to the end of another (exit 1: none)",
            _cmd_map_route,
        ),
        (
            "export-xodr",
            "write the map's lanes as an OpenDRIVE road network (a CARLA town's roads)",
            _cmd_map_export_xodr,
        ),
    ):
        cmd = map_sub.add_parser(name, help=help_text)
        cmd.add_argument("map", metavar="MAP.osm", help="Lanelet2 OSM map")
        cmd.add_argument(
            "--origin",
            type=_origin,
            metavar="LAT,LON[,ALT]",
            help="the geodetic origin the map was projected from (LocalCartesian); "
            "default: its sidecar MAP.yaml",
        )
        if name == "export-xodr":
            cmd.add_argument("--out", required=True, metavar="FILE.xodr", help="file to write")
        if name == "route":
            for flag, dest in (("--from", "from_lane"), ("--to", "to_lane")):
                cmd.add_argument(
                    flag,
                    dest=dest,
                    type=int,
                    required=True,
                    metavar="LANELET_ID",
                    help="a lanelet id; -N drives two-way lanelet N against its drawn direction",
                )
        cmd.set_defaults(func=func)

    # Everything after van-ecu goes to the van's own parser (sim/van_ecu_bus.py). With no option
    # of its own here ('-' is no prefix), a leading --interface is not taken for one.
    van = sub.add_parser(
        "van-ecu",
        help="play the van's ECU on a CAN bus (a separate process)",
        add_help=False,
        prefix_chars="+",
    )
    van.add_argument("rest", nargs=argparse.REMAINDER)
    van.set_defaults(func=_cmd_van_ecu)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else list(argv)  # for the record in summaries
    try:
        return args.func(args)
    except (ConfigError, OutputError, StartupError) as err:
        print(f"robovan {args.command}: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
