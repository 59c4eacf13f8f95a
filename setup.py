from glob import glob
from pathlib import Path

from setuptools import find_packages, setup

PACKAGE = "robovan_autonomy"

# One console script per node, for launch files and `ros2 run`; `robovan` is for people.
NODE_SCRIPTS = {
    "dbw_bridge": "robovan_autonomy.vehicle.dbw_bridge_node:main",
    "localization": "robovan_autonomy.localization.localization_node:main",
    "perception": "robovan_autonomy.perception.perception_node:main",
    "planner": "robovan_autonomy.planning.planner_node:main",
    "command_gate": "robovan_autonomy.system.command_gate_node:main",
    "supervisor": "robovan_autonomy.system.supervisor_node:main",
    "map_visualizer": "robovan_autonomy.mapping.map_visualizer_node:main",
}


def tree(folder: str) -> list[tuple[str, list[str]]]:
    """data_files entries that install `folder` with its sub-folders under share/PACKAGE."""
    entries = {}
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file():
            entries.setdefault(str(path.parent), []).append(str(path))
    return [(f"share/{PACKAGE}/{parent}", files) for parent, files in entries.items()]


setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test", "test.*", "bench", "bench.*"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.py")),
        *tree("config"),
        *tree("models"),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="robovan_autonomy developers",
    maintainer_email="dev@robovan.invalid",
    description="Onboard L4 autonomy stack for urban last-mile delivery robovans.",
    license="Apache-2.0",
    extras_require={"test": ["pytest", "pytest-timeout", "hypothesis"]},
    entry_points={
        "console_scripts": [f"{name} = {target}" for name, target in NODE_SCRIPTS.items()]
        + ["robovan = robovan_autonomy.cli:main"],
    },
)
