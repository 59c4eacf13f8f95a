"""One error type for every bad configuration file, so a person is told which file, where and why."""
from __future__ import annotations

from pathlib import Path

PACKAGE_NAME = "robovan_autonomy"


class ConfigError(ValueError):
    def __init__(self, path: str | Path, key: str, reason: str):
        self.path, self.key, self.reason = Path(path), key, reason
        where = f" at '{key}'" if key else ""
        super().__init__(f"{path}{where}: {reason}")


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
