"""Shared inputs of the replay tests: one short `robovan sim` recording, and a second writer.

The recording is made once per session (a few seconds of corridor_cruise with localization and
perception from ground truth, as the regression cases are). `rewrite_bag` rewrites a bag with
rosbags' own Writer, not ours: another writer, another storage, optionally with topics renamed,
dropped, retyped or corrupted, to make the bad inputs the replay must refuse.
"""

from pathlib import Path

import pytest
from rosbags.rosbag2 import Reader, StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

from robovan_autonomy.stack import STAGES
from robovan_autonomy.tools.lockstep import sealed_graph
from robovan_autonomy.tools.simulation import SimOptions, run_simulation

SIM_SCENARIO = "corridor_cruise"
SIM_SECONDS = 3.0  # the van is armed at 2 s and pulls away: commands change within the run
ALL_STAGES = tuple(STAGES)


@pytest.fixture(scope="session")
def sim_run(tmp_path_factory) -> Path:
    """DIR of a `robovan sim` run: DIR/run/ (rosbag2 MCAP) and the hard link DIR/run.mcap."""
    out = tmp_path_factory.mktemp("sim_run")
    with sealed_graph():
        run_simulation(
            SimOptions(
                scenario=SIM_SCENARIO,
                out_dir=out,
                ground_truth=ALL_STAGES,
                time_limit_s=SIM_SECONDS,
                progress=False,
            )
        )
    return out


def rewrite_bag(
    source: Path,
    target: Path,
    *,
    storage: str = "sqlite3",
    keep=None,
    rename=None,
    retype=None,
    corrupt=None,
    convert=None,
) -> Path:
    """Rewrite with rosbags' Writer (rosbag2 version 8, no offered QoS, no custom data).

    keep: topics to keep (default all); rename: {old: new}; retype: {topic: (msgtype, msgdef)}
    for a type this installation lacks; corrupt: {topic: log time ns from which its messages
    are replaced by bytes that are not CDR}; convert: {topic: (msgtype, change)}, each message
    replaced by change(CDR bytes) → CDR bytes of msgtype (a type rosbags knows), as another
    driver would have recorded it.
    """
    typestore = get_typestore(Stores.ROS2_KILTED)
    rename, retype, corrupt = rename or {}, retype or {}, corrupt or {}
    convert = convert or {}
    plugin = {"sqlite3": StoragePlugin.SQLITE3, "mcap": StoragePlugin.MCAP}[storage]
    with Reader(source) as reader, Writer(target, version=8, storage_plugin=plugin) as writer:
        wanted = [c for c in reader.connections if keep is None or c.topic in keep]
        connections = {}
        for c in wanted:
            topic = rename.get(c.topic, c.topic)
            if c.topic in retype:
                msgtype, msgdef = retype[c.topic]
                connections[c.id] = writer.add_connection(
                    topic, msgtype, msgdef=msgdef, rihs01="RIHS01_" + "0" * 64
                )
            else:
                msgtype = convert[c.topic][0] if c.topic in convert else c.msgtype
                connections[c.id] = writer.add_connection(topic, msgtype, typestore=typestore)
        for c, stamp_ns, data in reader.messages(wanted):
            if c.topic in corrupt and stamp_ns >= corrupt[c.topic]:
                data = b"\x00\x01\x00\x00" + b"\xff" * 12
            if c.topic in convert:
                data = convert[c.topic][1](bytes(data))
            writer.write(connections[c.id], stamp_ns, data)
    return target


@pytest.fixture(scope="session")
def rewrite():
    return rewrite_bag
