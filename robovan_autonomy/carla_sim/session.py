"""The connection to a CARLA server. The only module of the package besides the adapters that
touches libcarla, and it imports it where it is used: everything else runs, and is tested, where
the carla wheel is not installed."""

from __future__ import annotations

from robovan_autonomy.config_errors import StartupError

CARLA_WHEEL = "carla==0.9.16"  # the client must match the server's version (0.9.16)
CONNECT_TIMEOUT_S = 2.0  # a local server answers in milliseconds; a missing one never does


def connect(host: str, port: int, timeout_s: float = CONNECT_TIMEOUT_S):
    """A carla.Client that has had an answer from the server at host:port, its timeout left at
    `timeout_s`. StartupError (one line) when the wheel is missing or nothing answers in time."""
    try:
        import carla
    except ImportError as err:
        raise StartupError(
            f"the carla package is not installed: pip install {CARLA_WHEEL}"
        ) from err
    client = carla.Client(host, port)
    client.set_timeout(timeout_s)
    try:
        client.get_server_version()
    except RuntimeError as err:  # libcarla's time-out (and refused connections) surface as this
        raise StartupError(f"no CARLA server answered at {host}:{port}") from err
    return client
