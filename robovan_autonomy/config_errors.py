"""The errors a person fixes by changing what they asked for: a bad configuration file
(ConfigError: which file, where and why), a node that cannot start as configured, an output
folder that holds what the tool did not write."""

from __future__ import annotations

from collections.abc import Hashable
from pathlib import Path
from typing import Any

import yaml

PACKAGE_NAME = "robovan_autonomy"


class ConfigError(ValueError):
    def __init__(self, path: str | Path, key: str, reason: str):
        self.path, self.key, self.reason = Path(path), key, reason
        where = f" at '{key}'" if key else ""
        super().__init__(f"{path}{where}: {reason}")


class StartupError(RuntimeError):
    """A node cannot start as configured (a bad parameter, a device that will not open); the
    message is one line naming the parameter or the device and the reason."""


class OutputError(RuntimeError):
    """An output folder holds what the tool did not write: it is never deleted to make room."""


class _DuplicateKey(Exception):
    def __init__(self, key: str, line: int):
        super().__init__(key, line)
        self.key, self.line = key, line


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects a key given twice in one mapping (PyYAML keeps the last silently)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, Hashable):
            continue  # SafeLoader refuses it below, naming the line
        if key in seen:
            raise _DuplicateKey(str(key), key_node.start_mark.line + 1)
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(path: str | Path) -> Any:
    """A configuration file parsed strictly: unreadable, not UTF-8, not YAML or a key given twice
    is a ConfigError naming the file, never a traceback."""
    path = Path(path)
    try:
        return yaml.load(path.read_bytes().decode("utf-8"), Loader=_StrictLoader)
    except OSError as err:
        raise ConfigError(path, "", f"cannot read: {err.strerror or err}") from None
    except UnicodeDecodeError as err:
        raise ConfigError(
            path,
            "",
            f"not UTF-8 text (byte 0x{err.object[err.start]:02x} at offset "
            f"{err.start}); is it a binary file?",
        ) from None
    except _DuplicateKey as err:
        raise ConfigError(path, err.key, f"duplicate key on line {err.line}") from None
    except yaml.YAMLError as err:
        raise ConfigError(path, "", f"not valid YAML: {_yaml_problem(err)}") from None


def _yaml_problem(err: yaml.YAMLError) -> str:
    """PyYAML's message on one line: what is wrong and where."""
    mark = getattr(err, "problem_mark", None)
    if mark is None:
        return " ".join(str(err).split())
    return f"{err.problem} (line {mark.line + 1}, column {mark.column + 1})"


def share_dir() -> Path:
    """Where launch/, config/ and models/ live: the installed share directory on a colcon
    install, else the source checkout (editable pip installs and running from the tree)."""
    source_root = Path(__file__).resolve().parent.parent
    if (source_root / "config").is_dir():
        return source_root
    try:
        from ament_index_python.packages import get_package_share_directory
    except ImportError:
        return source_root
    return Path(get_package_share_directory(PACKAGE_NAME))


def config_path(*parts: str) -> Path:
    return share_dir().joinpath("config", *parts)
