"""Command authority: only the command gate's numbered commands are followed."""

from robovan_autonomy.vehicle.command_authority import HOLD_S, CommandAuthority, Writer

GATE = Writer("command_gate", b"\x01" * 16)
ROGUE = Writer("rogue_commander", b"\x02" * 16)


def authority(*writers) -> CommandAuthority:
    a = CommandAuthority("command_gate")
    a.on_graph(list(writers))
    return a


def test_the_gates_commands_in_sequence_are_admitted():
    a = authority(GATE)
    assert [a.admit(n, GATE.gid, 0.01 * n) for n in (1, 2, 3)] == ["", "", ""]
    assert a.problem(0.05) == ""


def test_a_gap_in_the_gates_sequence_is_admitted():
    a = authority(GATE)
    a.admit(1, GATE.gid, 0.0)
    assert a.admit(5, GATE.gid, 0.01) == ""


def test_a_command_from_another_publisher_is_refused_and_held_as_a_fault():
    a = authority(GATE)
    assert "other than command_gate" in a.admit(7, ROGUE.gid, 1.0)
    assert "refused commands" in a.problem(1.0 + HOLD_S / 2)
    assert a.problem(1.0 + HOLD_S) == ""


def test_a_command_without_a_sequence_is_refused():
    assert "without the gate's sequence" in authority(GATE).admit(None, GATE.gid, 0.0)


def test_a_repeated_or_older_sequence_is_refused():
    a = authority(GATE)
    a.admit(4, GATE.gid, 0.0)
    assert "not after 4" in a.admit(4, GATE.gid, 0.01)
    assert "not after 4" in a.admit(2, GATE.gid, 0.02)
    assert a.admit(5, GATE.gid, 0.03) == ""


def test_without_a_publisher_identity_the_sequence_still_tells_a_second_writer():
    a = authority()
    assert a.admit(1, None, 0.0) == ""
    assert "not after" in a.admit(1, None, 0.01)


def test_a_second_writer_in_the_graph_is_a_fault_while_it_is_there():
    a = authority(GATE, ROGUE)
    assert "2 writers" in a.problem(0.0) and "rogue_commander" in a.problem(0.0)
    a.on_graph([GATE])
    assert a.problem(0.0) == ""


def test_a_single_writer_that_is_not_the_gate_is_a_fault():
    assert "rogue_commander" in authority(ROGUE).problem(0.0)


def test_a_foreign_command_frame_on_the_bus_is_a_fault_for_a_while():
    a = authority(GATE)
    a.on_foreign_frame("ACCEL_CMD", 2.0)
    assert "second transmitter" in a.problem(2.5) and a.foreign_frames == 1
    assert a.problem(2.0 + HOLD_S) == ""


def test_resync_takes_a_restarted_gates_numbering():
    a = authority(GATE)
    a.admit(100, GATE.gid, 0.0)
    a.resync()
    assert a.admit(1, GATE.gid, 0.01) == ""
