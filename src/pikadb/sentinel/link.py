"""Connections from the sentinel to the instances it watches.

Every master and replica gets two TCP connections, as in Redis Sentinel: a command link (PING,
INFO, PUBLISH of hello messages, SLAVEOF transactions) and a pub/sub link subscribed to
`__sentinel__:hello`, where the sentinels watching the same master meet. Another sentinel gets
the command link only (hello messages are PUBLISHed to it directly).

Connection is a minimal async Redis client, written here rather than borrowed because the
sentinel needs hiredis-async semantics: commands may be queued before the TCP connect
finishes (they go out the moment it does), replies are matched to callbacks in order, a
closed connection drops its pending callbacks without calling them, and nothing ever blocks
the event loop. Replies are parsed by pikadb.replies.ReplyReader (pikadb.protocol parses
requests, not replies).

InstanceLink holds the two connections and the timestamps failure detection works from
(Redis's instanceLink): act_ping_time is when the oldest unanswered PING was sent (0 when
none is pending), last_avail_time the last valid PING reply, last_pong_time the last reply of
any kind. The link reconnects at most once per ping period; the monitoring loop drives it.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from collections import deque
from collections.abc import Callable
from typing import Any

from pikadb.log import log
from pikadb.protocol import encode_command
from pikadb.replies import ReplyReader

Callback = Callable[[Any], None]


def mstime() -> int:
    """Wall-clock milliseconds, like Redis's mstime(): a jump of the clock is what TILT catches."""
    return int(time.time() * 1000)


# ---- replies: pikadb.replies ----


# ---- one connection ----


class Connection(asyncio.Protocol):
    """One client connection. send() may be called before the connect completes; replies are
    delivered to the callbacks in order, or all to on_message for a pub/sub connection."""

    def __init__(
        self,
        on_close: Callable[[Connection], None],
        on_message: Callback | None = None,
    ) -> None:
        self._on_close = on_close
        self._on_message = on_message
        self._callbacks: deque[Callback | None] = deque()
        self._out: list[bytes] = []
        self._reader = ReplyReader()
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.local_ip: str | None = None
        self._task: asyncio.Task | None = None

    def start(self, host: str, port: int, timeout: float) -> None:
        self._task = asyncio.get_running_loop().create_task(self._connect(host, port, timeout))

    async def _connect(self, host: str, port: int, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        try:
            await asyncio.wait_for(
                loop.create_connection(lambda: self, host, port), timeout=timeout
            )
        except (TimeoutError, OSError):
            self.close()

    # -- asyncio.Protocol --

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self.closed:
            transport.close()
            return
        self.transport = transport  # type: ignore[assignment]
        sockname = transport.get_extra_info("sockname")
        if sockname:
            self.local_ip = sockname[0]
        if self._out:
            transport.write(b"".join(self._out))  # type: ignore[attr-defined]
            self._out.clear()

    def data_received(self, data: bytes) -> None:
        reader = self._reader
        reader.feed(data)
        while not self.closed:
            try:
                reply = reader.gets()
            except ValueError:
                self.close()
                return
            if reply is ReplyReader.NOT_READY:
                return
            if self._on_message is not None:
                callback: Callback | None = self._on_message
            else:
                callback = self._callbacks.popleft() if self._callbacks else None
            if callback is None:
                continue
            try:
                callback(reply)
            except Exception:
                # A bug in one reply handler must not stop the link (nor the sentinel).
                log.warning(f"Error handling a reply: {traceback.format_exc()}")

    def connection_lost(self, exc: Exception | None) -> None:
        self.close()

    # -- use --

    @property
    def connected(self) -> bool:
        return self.transport is not None and not self.closed

    def send(self, args: list[bytes | str | int], callback: Callback | None = None) -> None:
        if self.closed:
            return
        data = encode_command(args)
        if self._on_message is None:
            self._callbacks.append(callback)
        if self.transport is not None:
            self.transport.write(data)
        else:
            self._out.append(data)

    def close(self) -> None:
        """Close now; pending callbacks are dropped, on_close runs once."""
        if self.closed:
            return
        self.closed = True
        self._callbacks.clear()
        if self.transport is not None:
            self.transport.close()
        elif self._task is not None and not self._task.done():
            self._task.cancel()
        self._on_close(self)


# ---- the link of one instance ----


class InstanceLink:
    """Command + pub/sub connections of one instance and the timings failure detection uses."""

    def __init__(self) -> None:
        now = mstime()
        self.refcount = 1
        self.disconnected = True
        self.pending_commands = 0
        self.cc: Connection | None = None
        self.pc: Connection | None = None
        self.cc_conn_time = 0
        self.pc_conn_time = 0
        self.pc_last_activity = 0
        # "now" before any connection: an instance we never reach times out from creation.
        self.last_avail_time = now
        self.act_ping_time = now
        self.last_ping_time = 0
        self.last_pong_time = now
        self.last_reconn_time = 0

    def reset_times(self) -> None:
        """The instance starts anew (a reset, a new address): down-after counts from now,
        and the link connects at the next tick. Redis keeps the reconnection throttle of the
        old address, so after a +switch-master it may first try the new master up to a ping
        period later, when down-after (1000 ms) has already run out: +sdown of a healthy new
        master in the very tick that connects to it, and a second failover."""
        now = mstime()
        self.act_ping_time = now
        self.last_ping_time = 0
        self.last_avail_time = now
        self.last_pong_time = now
        self.last_reconn_time = 0

    def _lost(self, conn: Connection) -> None:
        if conn is self.cc:
            self.cc = None
            self.pending_commands = 0
        if conn is self.pc:
            self.pc = None
        self.disconnected = True

    def open_cc(self, host: str, port: int, timeout: float) -> Connection:
        conn = Connection(self._lost)
        self.cc = conn
        self.pending_commands = 0
        self.cc_conn_time = mstime()
        conn.start(host, port, timeout)
        return conn

    def open_pc(self, host: str, port: int, timeout: float, on_message: Callback) -> Connection:
        conn = Connection(self._lost, on_message)
        self.pc = conn
        self.pc_conn_time = mstime()
        conn.start(host, port, timeout)
        return conn

    def close_cc(self) -> None:
        if self.cc is not None:
            self.cc.close()

    def close_pc(self) -> None:
        if self.pc is not None:
            self.pc.close()

    def close(self) -> None:
        self.close_cc()
        self.close_pc()

    def command(self, args: list[bytes | str | int], callback: Callback | None = None) -> bool:
        """Queue a command on the command connection, counting it as pending until its reply.
        False when there is no command connection."""
        cc = self.cc
        if cc is None or cc.closed:
            return False

        def done(reply: Any) -> None:
            if self.cc is cc:
                self.pending_commands -= 1
            if callback is not None:
                callback(reply)

        cc.send(args, done)
        self.pending_commands += 1
        return True
