"""The listening side: client connections to the sentinel, RESP in and out.

Each connection is an asyncio Protocol around pikadb's sans-IO RESP request parser: every
complete command of one read is dispatched (api.dispatch), and the replies of that read go
out in one write. Pub/sub messages published while a command runs are queued in order with
its reply; messages published between reads go out at once. A protocol error answers
'-ERR Protocol error: ...' and closes that connection only, as Redis does.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from typing import TYPE_CHECKING, Any

from pikadb.log import log
from pikadb.protocol import ErrorReply, Parser, ProtocolError, Push, encode

if TYPE_CHECKING:
    from pikadb.sentinel.api import Api


class Client(asyncio.Protocol):
    def __init__(self, server: SentinelServer) -> None:
        self.server = server
        self.id = server.next_client_id()
        self.parser = Parser()
        self.proto = 2
        self.name: bytes | None = None
        self.authenticated = not server.api.sentinel.requirepass
        self.parser.auth_required = not self.authenticated
        self.channels: set[bytes] = set()
        self.patterns: set[bytes] = set()
        self.reply_mode = "on"  # on | off | skip | skip_next (CLIENT REPLY)
        self.close_after_reply = False
        self.closed = False
        self.created = time.time()
        self.last_interaction = time.monotonic()
        self.last_cmd = "NULL"
        self.peer = "?:0"
        self.local = "?:0"
        self.fd = -1
        self.transport: asyncio.Transport | None = None
        self._out: list[bytes] | None = None  # set while a read is being processed

    # ---- asyncio.Protocol ----

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.peer = _addr(transport.get_extra_info("peername"))
        self.local = _addr(transport.get_extra_info("sockname"))
        sock = transport.get_extra_info("socket")
        self.fd = sock.fileno() if sock is not None else -1
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.clients[self.id] = self
        self.server.stats_connections += 1

    def data_received(self, data: bytes) -> None:
        self.last_interaction = time.monotonic()
        self.parser.feed(data)
        out: list[bytes] = []
        self._out = out
        try:
            while not self.closed and not self.close_after_reply:
                try:
                    argv = self.parser.gets()
                except ProtocolError as e:
                    out.append(encode(ErrorReply(f"ERR Protocol error: {e}")))
                    self.close_after_reply = True
                    break
                if argv is None:
                    break
                reply = self.server.api.dispatch(self, argv)
                self.server.stats_commands += 1
                # CLIENT REPLY: "skip" drops this reply only; "skip_next" is set by CLIENT
                # REPLY SKIP itself (which has no reply) and arms "skip" for the next one.
                if self.reply_mode == "skip":
                    self.reply_mode = "on"
                elif self.reply_mode == "on" and reply is not None:
                    out.append(reply)
                if self.reply_mode == "skip_next":
                    self.reply_mode = "skip"
        finally:
            self._out = None
        if out and self.transport is not None:
            self.transport.write(b"".join(out))
        if self.close_after_reply:
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.server.forget(self)

    # ---- output ----

    def push(self, message: Push) -> None:
        data = encode(message, self.proto)
        if self._out is not None:
            self._out.append(data)
        elif self.transport is not None and not self.closed:
            self.transport.write(data)

    def reply_bytes(self, value: Any) -> bytes:
        return encode(value, self.proto)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.transport is not None:
            self.transport.close()
        self.server.forget(self)

    # ---- CLIENT LIST ----

    def kind(self) -> str:
        return "pubsub" if self.channels or self.patterns else "normal"

    def describe(self) -> str:
        idle = int(time.monotonic() - self.last_interaction)
        flags = "P" if self.channels or self.patterns else "N"
        name = self.name.decode("utf-8", "replace") if self.name else ""
        qbuf = self.parser.buffered()
        return (
            f"id={self.id} addr={self.peer} laddr={self.local} fd={self.fd} name={name} "
            f"age={int(time.time() - self.created)} idle={idle} flags={flags} db=0 "
            f"sub={len(self.channels)} psub={len(self.patterns)} ssub=0 multi=-1 "
            f"qbuf={qbuf} qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 "
            f"tot-mem=0 events=r cmd={self.last_cmd} user=default redir=-1 resp={self.proto}"
        )


def _addr(info: Any) -> str:
    if not info:
        return "?:0"
    host, port = info[0], info[1]
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


class SentinelServer:
    """Accepts client connections on the configured addresses."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.clients: dict[int, Client] = {}
        self._next_id = 0
        self._servers: list[asyncio.AbstractServer] = []
        self.stats_connections = 0
        self.stats_commands = 0

    def next_client_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def forget(self, client: Client) -> None:
        self.clients.pop(client.id, None)
        self.api.pubsub.drop(client)

    async def listen(self, bind: list[str], port: int) -> None:
        loop = asyncio.get_running_loop()
        for spec in bind:
            optional = spec.startswith("-")
            host = spec[1:] if optional else spec
            if host == "*":
                host = "0.0.0.0"
            elif host == "::*":
                host = "::"
            try:
                server = await loop.create_server(
                    lambda: Client(self), host, port, reuse_address=True
                )
            except OSError as e:
                if optional:
                    continue
                log.warning(f"Could not create server TCP listening socket {host}:{port}: {e}")
                raise
            self._servers.append(server)

    def close(self) -> None:
        for server in self._servers:
            server.close()
        for client in list(self.clients.values()):
            client.close()
