"""Handing a connection to the worker that owns what it asks for (workers > 1).

A replica's PIKASYNC must be served by the worker owning the shards it asks for (only that
process can read their binlogs and checkpoint their RocksDB), but the kernel gives a new
connection to any worker. The worker that got it passes the socket itself to the owner
(SCM_RIGHTS over a unix datagram socket in the abstract namespace, one per worker) with the
connection's handshake state; the owner adopts it as its own client and runs the PIKASYNC
there. The replica sees one connection answering throughout.
"""

from __future__ import annotations

import array
import asyncio
import os
import socket
import time
from typing import TYPE_CHECKING

import msgpack

from pikadb.log import log
from pikadb.protocol import encode_command
from pikadb.server.client import Client
from pikadb.server.peers import socket_name

if TYPE_CHECKING:
    from pikadb.server.server import Server

FLUSH_PATIENCE_S = 2.0  # the replies before the handoff must have left first
_MAX_MESSAGE = 1 << 20


def _name(server: Server, index: int) -> str:
    w = server.worker
    assert w is not None
    return socket_name(w.coordinator_pid, server.config.get_int("port"), index) + ".fd"


def hand_off(c: Client, worker: int, argv: list[bytes]) -> None:
    """Give c's connection to worker, which runs argv for it. c stops reading now."""
    c.awaiting = True  # the rest of its input (if any) is the new owner's
    if c.transport is not None:
        c.transport.pause_reading()
    deadline = time.monotonic() + FLUSH_PATIENCE_S
    asyncio.get_running_loop().call_soon(_send, c, worker, argv, deadline)


def _send(c: Client, worker: int, argv: list[bytes], deadline: float) -> None:
    transport = c.transport
    if c.closed or transport is None or transport.is_closing():
        return
    if c.deferred or transport.get_write_buffer_size():
        # Replies to the handshake before this command have not left yet: they must reach
        # the peer before anything the new owner writes.
        if time.monotonic() > deadline:
            log.warning(f"Cannot hand {c.peer} over to worker {worker}: its output is stuck")
            transport.abort()
            return
        asyncio.get_running_loop().call_later(0.005, _send, c, worker, argv, deadline)
        return
    state = [
        list(argv),
        c.announced.port,
        c.announced.ip,
        c.user,
        c.name or b"",
        c.dbindex,
    ]
    sock = transport.get_extra_info("socket")
    fd = os.dup(sock.fileno())
    out = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        # sendmsg itself: socket.send_fds drops its address argument (Python 3.11).
        rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))]
        out.sendmsg([msgpack.packb(state, use_bin_type=True)], rights, 0, _name(c.server, worker))
    except OSError as e:
        log.warning(f"Cannot hand {c.peer} over to worker {worker}: {e}")
    finally:
        out.close()
        os.close(fd)
    # The socket lives on in the owner: closing our descriptor does not end the connection.
    transport.abort()


class HandoffReceiver:
    """This worker's end: connections other workers pass here."""

    def __init__(self, server: Server, index: int) -> None:
        self.server = server
        self.index = index
        self.sock: socket.socket | None = None
        self._tasks: set[asyncio.Task] = set()

    def start(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(_name(self.server, self.index))
        sock.setblocking(False)
        self.sock = sock
        asyncio.get_running_loop().add_reader(sock.fileno(), self._read)

    def close(self) -> None:
        if self.sock is not None:
            try:
                asyncio.get_running_loop().remove_reader(self.sock.fileno())
            except RuntimeError:
                pass
            self.sock.close()
            self.sock = None

    def _read(self) -> None:
        while self.sock is not None:
            try:
                msg, fds, _flags, _addr = socket.recv_fds(self.sock, _MAX_MESSAGE, 1)
            except (BlockingIOError, InterruptedError):
                return
            if not fds:
                continue
            try:
                state = msgpack.unpackb(msg, raw=False)
            except Exception as e:  # a garbled message: nothing to adopt
                log.warning(f"Bad connection handoff message: {e}")
                for fd in fds:
                    os.close(fd)
                continue
            task = asyncio.get_running_loop().create_task(self._adopt(fds[0], state))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _adopt(self, fd: int, state: list) -> None:
        argv, listening_port, announce_ip, user, name, db = state
        sock = socket.socket(fileno=fd)
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        server = self.server
        try:
            _t, c = await loop.connect_accepted_socket(lambda: Client(server), sock=sock)
        except OSError as e:
            log.warning(f"Cannot adopt a connection handed over: {e}")
            sock.close()
            return
        if c.closed:
            return
        c.authenticated = True  # the worker that accepted it checked AUTH
        c.user = user
        c.name = name or None
        c.announced.port = listening_port
        c.announced.ip = announce_ip
        if db:
            c.dbindex = db
            c.db = server.database(db)
        log.verbose(f"Connection {c.peer} handed over by another worker")
        c.data_received(encode_command(argv))
