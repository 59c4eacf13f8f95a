"""`robovan sim --backend carla`: the libcarla client against a port where nothing listens, and
against a server that answers."""

import socket
import sys
import threading
import time

import pytest

from robovan_autonomy import cli
from robovan_autonomy.carla_sim import session
from robovan_autonomy.config_errors import StartupError

pytest.importorskip("carla")
CARLA_VERSION = b"0.9.16"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class VersionServer:
    """A TCP server that answers libcarla's `version` calls as a CARLA server does: a
    msgpack-RPC response [1, msgid, nil, result] whose result is CARLA's rpc::Response, an array
    around a variant packed as [index, value] (index 1: the value, not an error)."""

    def __init__(self):
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        threading.Thread(target=self._answer, daemon=True).start()

    def _answer(self):
        connection, _ = self._socket.accept()
        with connection:
            # Each request [0, msgid, "version", [...]] arrives whole; msgid is a small fixint.
            while (request := connection.recv(4096)).startswith(b"\x94\x00"):
                assert b"version" in request
                reply = bytes([0x94, 0x01, request[2], 0xC0, 0x91, 0x92, 0x01, 0xA0 | 6])
                connection.sendall(reply + CARLA_VERSION)

    def close(self):
        self._socket.close()


def test_sim_on_carla_with_no_server_exits_non_zero_within_about_two_seconds(capsys):
    port = free_port()
    start = time.monotonic()
    assert cli.main(["sim", "--backend", "carla", "--host", "127.0.0.1", "--port", str(port)]) == 2
    assert time.monotonic() - start < 3.0
    err = capsys.readouterr().err
    assert err == f"robovan sim: no CARLA server answered at 127.0.0.1:{port}\n"


def test_connect_returns_a_client_that_the_server_answered():
    server = VersionServer()
    try:
        client = session.connect("127.0.0.1", server.port)
        assert client.get_client_version() == "0.9.16"
    finally:
        server.close()


def test_connect_without_the_carla_wheel_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "carla", None)  # import carla raises ImportError
    with pytest.raises(
        StartupError, match=r"^the carla package is not installed: pip install carla==0.9.16$"
    ):
        session.connect("127.0.0.1", free_port())


def test_a_port_out_of_range_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["sim", "--backend", "carla", "--port", "70000"])
    assert "expected a TCP port 1 .. 65535, got '70000'" in capsys.readouterr().err
