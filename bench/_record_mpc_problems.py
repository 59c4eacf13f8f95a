"""Record the MPC problems the planner solves in the shipped scenarios into bench/data/mpc/.

    python bench/_record_mpc_problems.py [SCENARIO ...]

Each scenario runs closed loop as `robovan sim --ground-truth localization,perception` does, with
the planner node's record_mpc_problems parameter set, so the node writes every problem it solved
when it shuts down. CHUNKS runs of CHUNK_LENGTH consecutive cycles, spread evenly over the run,
are kept per scenario (consecutive, so bench/mpc.py replays them warm-started as live; a few
hundred instances in all, small files).

`robovan sim` takes no params file, so the sim's params files are given one more here: an
overlay that sets the two recording parameters.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import yaml

from robovan_autonomy.planning.mpc import load_problems, save_problems
from robovan_autonomy.sim.scenario import list_scenarios
from robovan_autonomy.tools import simulation

OUT_DIR = Path(__file__).resolve().parent / "data" / "mpc"
GROUND_TRUTH = ("localization", "perception")
CHUNKS = 5  # runs of consecutive cycles kept per scenario
CHUNK_LENGTH = 10  # cycles per run: 1 s of planning


def chunk_starts(count: int) -> list[int]:
    """Starts of CHUNKS runs of CHUNK_LENGTH spread evenly over `count` problems."""
    last = max(count - CHUNK_LENGTH, 0)
    return sorted({int(round(x)) for x in np.linspace(0, last, CHUNKS)})


def record(scenario: str, work_dir: Path) -> Path:
    everything = work_dir / f"{scenario}_all.npz"
    overlay = work_dir / "record.yaml"
    overlay.write_text(
        yaml.safe_dump(
            {
                "planner": {
                    "ros__parameters": {
                        "record_mpc_problems": str(everything),
                        "record_mpc_every": 1,
                    }
                }
            }
        )
    )
    sim_files = simulation.params_files
    simulation.params_files = lambda mode: sim_files(mode) + [overlay]
    try:
        simulation.run_simulation(
            simulation.SimOptions(
                scenario,
                work_dir / scenario,
                ground_truth=GROUND_TRUTH,
                record=False,
                progress=False,
            )
        )
    finally:
        simulation.params_files = sim_files
    problems = load_problems(everything)
    kept = [
        p for start in chunk_starts(len(problems)) for p in problems[start : start + CHUNK_LENGTH]
    ]
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    out = OUT_DIR / f"{scenario}.npz"
    save_problems(out, kept)
    return out


def main(argv: list[str]) -> int:
    scenarios = argv or list_scenarios()
    with tempfile.TemporaryDirectory() as tmp:
        for name in scenarios:
            out = record(name, Path(tmp))
            print(f"{name}: {len(load_problems(out))} problems -> {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
