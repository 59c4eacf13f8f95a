"""What a recorded run was asked to do, kept in its bag so a replay sets the stack up the same way.

`robovan sim` writes it into the bag's rosbag2 custom data (metadata.yaml `custom_data`, key
RUN_INFO_KEY, a JSON object); `robovan replay` reads it back to give the planner the run's map and
mission. Bags from elsewhere have none: the replay then takes `--scenario`.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from robovan_autonomy.config_errors import config_path

RUN_INFO_KEY = "robovan.run"


@dataclasses.dataclass(frozen=True)
class RunInfo:
    scenario: str
    map: str  # file name under config/maps
    mission: tuple[tuple[str, float], ...]  # (bay, dwell_s) in order
    ground_truth: tuple[str, ...] = ()  # stages the recorded run fed from ground truth
    seed: int | None = None

    @classmethod
    def from_scenario(
        cls, scenario, ground_truth: tuple[str, ...] = (), seed: int | None = None
    ) -> RunInfo:
        return cls(
            scenario.name,
            scenario.map,
            tuple((s.bay, float(s.dwell_s)) for s in scenario.mission),
            tuple(ground_truth),
            seed,
        )

    def custom_data(self) -> dict[str, str]:
        doc = {
            "scenario": self.scenario,
            "map": self.map,
            "mission": [{"bay": bay, "dwell_s": dwell} for bay, dwell in self.mission],
            "ground_truth": list(self.ground_truth),
            "seed": self.seed,
        }
        return {RUN_INFO_KEY: json.dumps(doc, sort_keys=True)}

    @classmethod
    def from_custom_data(cls, custom_data: dict[str, str]) -> RunInfo | None:
        """None when the bag has no run info; ValueError naming the problem if it is malformed."""
        text = custom_data.get(RUN_INFO_KEY)
        if text is None:
            return None
        try:
            doc = json.loads(text)
            mission = tuple((str(stop["bay"]), float(stop["dwell_s"])) for stop in doc["mission"])
            seed = doc.get("seed")
            return cls(
                str(doc["scenario"]),
                str(doc["map"]),
                mission,
                tuple(str(s) for s in doc.get("ground_truth", ())),
                None if seed is None else int(seed),
            )
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(
                f"custom data '{RUN_INFO_KEY}' is malformed ({err!r}): {text[:200]}"
            ) from None

    @property
    def map_path(self) -> Path:
        return config_path("maps", self.map)

    def node_parameters(self) -> dict[str, dict]:
        """Parameter overrides that give the stack this run's map and mission."""
        return {
            "planner": {
                "map_file": str(self.map_path),
                "mission_bays": [bay for bay, _ in self.mission] or [""],
                "mission_dwell_s": [dwell for _, dwell in self.mission] or [0.0],
            }
        }
