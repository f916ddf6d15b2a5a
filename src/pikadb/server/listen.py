"""The listening TCP sockets of `bind` and `port`, as Redis opens them: every address of
`bind` ("*" for all IPv4, "-addr" for one that may be missing), SO_REUSEADDR, backlog 511.

With several workers each gets its own socket in an SO_REUSEPORT group so that the kernel
spreads connections over them. A pikad whose port is already taken must fail as Redis does,
not join another server's group: a plain bind is tried first, for each address.
"""

from __future__ import annotations

import socket

from pikadb.log import log

BACKLOG = 511


def _open(host: str, port: int, reuse_port: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def listen_sockets(
    binds: list[str], port: int, reuse_port: bool, copies: int = 1
) -> list[list[socket.socket]]:
    """-> one list of sockets (an entry per usable bind address) per copy. Logs Redis's
    warning and raises OSError when a mandatory address cannot be bound."""
    out: list[list[socket.socket]] = [[] for _ in range(copies)]
    try:
        for addr in binds:
            optional = addr.startswith("-")
            host = addr.lstrip("-")
            if host == "*":
                host = "0.0.0.0"
            try:
                if reuse_port:
                    _open(host, port, reuse_port=False).close()  # free, not another's group
                for i in range(copies):
                    out[i].append(_open(host, port, reuse_port))
            except OSError as e:
                if optional:
                    continue
                log.warning(
                    f"Warning: Could not create server TCP listening socket {host}:{port}: {e}"
                )
                raise
    except OSError:
        for socks in out:
            for s in socks:
                s.close()
        raise
    return out
