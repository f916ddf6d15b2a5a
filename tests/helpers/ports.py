"""Free TCP ports on 127.0.0.1 for servers started by the tests.

A port is found by binding to port 0 and closing the socket; the kernel does not hand the same
ephemeral port out again right away, but another process could still take it before our server
binds. Server starters therefore retry with a new port when a start fails with "address in use"
(see helpers.servers). Ports handed out in this process are remembered so two servers of one
test run never get the same number.
"""

from __future__ import annotations

import socket

_handed_out: set[int] = set()


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now, not handed out before in this process."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port
    raise RuntimeError("no free port found after 100 tries")


def port_is_open(port: int, host: str = "127.0.0.1", timeout: float = 0.2) -> bool:
    """True if something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
