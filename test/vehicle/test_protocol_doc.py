"""docs/RVN_DBW.md is the protocol the codec and the DBC implement, not a hand-kept copy."""

from pathlib import Path

from robovan_autonomy.cli import main
from robovan_autonomy.vehicle import rvn_dbw
from robovan_autonomy.vehicle.protocol_doc import protocol_markdown
from robovan_autonomy.vehicle_params import load_vehicle_params

DOC = Path(__file__).resolve().parents[2] / "docs" / "RVN_DBW.md"


def test_the_protocol_reference_in_docs_is_what_the_dbc_and_the_codec_say(capsys):
    assert main(["protocol"]) == 0
    assert capsys.readouterr().out == DOC.read_text(), "docs/RVN_DBW.md is stale: run `make docs`"


def test_the_protocol_reference_lists_every_frame_and_signal_of_the_dbc():
    text = protocol_markdown(load_vehicle_params())
    database = rvn_dbw.dbc_database()
    for message in database.messages:
        assert f"0x{message.frame_id:03X} | {message.name} | {message.cycle_time} ms" in text
        for signal in message.signals:
            assert signal.name in text
