"""Node parameters declared in code, with descriptions and ranges; YAML files only override.

The same declarations validate a ROS 2 params file before anything starts (so a person is told
the file, the key and the reason) and generate the parameter reference in docs/PARAMETERS.md.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

from robovan_autonomy.config_errors import ConfigError, load_yaml


@dataclasses.dataclass(frozen=True)
class Param:
    name: str
    default: object
    description: str
    min: float | None = None
    max: float | None = None
    choices: tuple = ()
    item_type: type | None = None  # a list's items when its default is empty (else the default's)

    def check(self, value) -> str | None:
        """Why `value` is unacceptable for this parameter, or None when it is fine."""
        expected = type(self.default)
        if expected is list:
            if not isinstance(value, (list, tuple)) and type(value).__name__ != "array":
                return f"expected a list, got {type(value).__name__} {value!r}"
            item_type = type(self.default[0]) if self.default else self.item_type
            for item in value:
                if item_type is float and isinstance(item, int) and not isinstance(item, bool):
                    item = float(item)
                if item_type is not None and type(item) is not item_type:
                    return f"expected a list of {item_type.__name__}, got {item!r}"
                if isinstance(item, float) and not math.isfinite(item):
                    return f"list items must be finite, got {item}"
            return None
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) is not expected:
            return f"expected {expected.__name__}, got {type(value).__name__} {value!r}"
        if isinstance(value, float) and not math.isfinite(value):
            return f"must be finite, got {value}"
        if self.min is not None and value < self.min:
            return f"{value} is below the minimum {self.min}"
        if self.max is not None and value > self.max:
            return f"{value} is above the maximum {self.max}"
        if self.choices and value not in self.choices:
            return f"{value!r} is not one of {list(self.choices)}"
        return None


BUILTIN_PARAMETERS = (Param("use_sim_time", False, "follow /clock instead of the wall clock"),)


WILDCARD = "/**"  # a params-file block every node reads (launch_ros writes dict parameters so)


def read_params_file(path: str | Path) -> dict[str, dict]:
    """A ROS 2 params file as {node key: its ros__parameters mapping}, read strictly (a key
    given twice, a binary file: ConfigError) and its shape checked."""
    path = Path(path)
    doc = load_yaml(path)
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ConfigError(path, "", "expected a mapping of node names")
    blocks = {}
    for node_key, block in doc.items():
        if not isinstance(block, dict) or set(block) != {"ros__parameters"}:
            raise ConfigError(path, str(node_key), "expected exactly one key 'ros__parameters'")
        values = block["ros__parameters"] or {}
        if not isinstance(values, dict):
            raise ConfigError(path, f"{node_key}.ros__parameters", "expected a mapping")
        blocks[str(node_key)] = values
    return blocks


def _reads_block(node_key: str, node_name: str) -> bool:
    """Whether node `node_name` (fully qualified: '/planner') reads this block, as rclpy does."""
    return node_key == WILDCARD or "/" + node_key.lstrip("/") == node_name


def node_parameters(
    path: str | Path, blocks: dict[str, dict], node_name: str, params: list[Param]
) -> dict:
    """The values the blocks of params file `path` give node `node_name` (fully qualified): the
    wildcard block, then its own. A key the node does not declare is an error: a typo in a
    params file must not silently leave a default in force on a vehicle."""
    by_name = {p.name: p for p in [*params, *BUILTIN_PARAMETERS]}
    result = {}
    for node_key, values in sorted(blocks.items(), key=lambda item: item[0] != WILDCARD):
        if not _reads_block(node_key, node_name):
            continue
        for key, value in values.items():
            where = f"{node_key}.ros__parameters.{key}"
            if key not in by_name:
                raise ConfigError(path, where, f"unknown parameter; known: {sorted(by_name)}")
            reason = by_name[key].check(value)
            if reason:
                raise ConfigError(path, where, reason)
            result[key] = float(value) if isinstance(by_name[key].default, float) else value
    return result


def load_params_file(path: str | Path, declared: dict[str, list[Param]]) -> dict[str, dict]:
    """Read and validate a ROS 2 params file against the declarations of each node.

    Returns {node_name: {param: value}}. Unknown nodes or keys are errors.
    """
    blocks = read_params_file(path)
    for node_key in blocks:
        if not any(_reads_block(node_key, f"/{name}") for name in declared):
            raise ConfigError(path, node_key, f"unknown node; known: {sorted(declared)}")
    result = {}
    for name, params in declared.items():
        values = node_parameters(path, blocks, f"/{name}", params)
        if values:
            result[name] = values
    return result


def markdown_table(node_name: str, params: list[Param], share: str = "") -> str:
    """share: the package share directory, written as <share> so the table reads the same on
    every machine."""
    lines = [
        f"### {node_name}",
        "",
        "| parameter | default | range | description |",
        "| --- | --- | --- | --- |",
    ]
    for p in params:
        default = (
            p.default.replace(share, "<share>")
            if share and isinstance(p.default, str)
            else p.default
        )
        if p.choices:
            valid = ", ".join(map(str, p.choices))
        elif p.min is not None or p.max is not None:
            valid = f"[{'' if p.min is None else p.min}, {'' if p.max is None else p.max}]"
        else:
            valid = ""
        lines.append(f"| `{p.name}` | `{default!r}` | {valid} | {p.description} |")
    return "\n".join(lines) + "\n"
