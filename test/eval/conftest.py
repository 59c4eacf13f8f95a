"""Runs as `robovan eval` records them (the fixture `run`, as test modules cannot import each
other)."""

import pytest


def _run(
    scenario="crosswalk",
    variation=None,
    passed=True,
    score=100.0,
    collisions=0,
    mrm=0,
    aeb=0,
    km=1.0,
    error=None,
):
    return {
        "run": scenario if variation is None else f"{scenario}@{variation}",
        "scenario": scenario,
        "variation": variation,
        "values": {},
        "passed": passed and error is None,
        "error": error,
        "outcome": None if error else "completed",
        "driving_score": None if error else score,
        "collisions": None if error else collisions,
        "mrm_stops": None if error else mrm,
        "aeb_activations": None if error else aeb,
        "distance_m": None if error else 1000.0 * km,
        "failed_criteria": [] if passed else ["something"],
        "rerun": f"robovan sim --scenario {scenario}",
    }


@pytest.fixture
def run():
    """A factory of summary rows: run(scenario, variation, passed=..., score=..., ...)."""
    return _run
