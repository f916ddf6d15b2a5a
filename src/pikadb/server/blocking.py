"""Clients blocked on keys (BLPOP, BLMOVE, BLMPOP, ... and any later blocking family).

The model is Redis's blocked.c, kept generic: a blocked client holds the keys it waits on,
an optional deadline and a `serve(key)` callable that tries to complete its command now that
`key` may have data. serve returns the reply, None when the client still cannot be served
(the list is empty or the key holds another type: it stays blocked), or raises CommandError
to unblock it with an error reply (BLMOVE to a key of the wrong type).

    handler:  if nothing to pop now and c may block:
                  return server.blocking.block(c, keys, timeout_ms, serve)   # no reply yet

Flow, as in Redis 7.0:

* block() parks the client: the connection stops processing its input (pipelined commands
  wait in the parser), it is appended to the FIFO of every key it waits on, and the keys are
  registered in the engine's watch registry (storage.watch) so the write path reports them.
* A committed write to such a key calls our listener, which only records the key as ready
  (signalKeyAsReady), once, in signal order.
* After each command a connection runs, serve_ready() (handleClientsBlockedOnKeys) takes
  the ready keys in order and, for each, offers it to its blocked clients first come first
  served; one that gets a reply is unblocked everywhere. Serving may make other keys ready
  (BLMOVE pushes): those are handled in the next pass of the same call. So the pushing
  command's effects are served before that connection's next pipelined command runs, and
  a MULTI/EXEC is served only once it completed. Writes not made by a client command (expiry,
  replication) are served at the end of the turn (Server.end_turn, step 3).
* The timeout (0 = forever) replies the command's timeout reply (a null array for the list
  family: RESP2 *-1, RESP3 _). Disconnecting or CLIENT KILL removes the client cleanly;
  CLIENT UNBLOCK answers it with the timeout reply or an -UNBLOCKED error.
* An unblocked client's waiting input is processed on the next loop turn.

Inside MULTI/EXEC a blocking command must not block: handlers ask may_block(c) and then act
as their non-blocking form.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pikadb.errors import CommandError
from pikadb.keycodec import meta_key
from pikadb.log import log
from pikadb.protocol import NULL_ARRAY, ErrorReply, RawReply, encode
from pikadb.storage.watch import add_listener, unwatch_key, watch_key

if TYPE_CHECKING:
    from pikadb.server.client import Client
    from pikadb.server.server import Server
    from pikadb.storage.database import Database

Serve = Callable[[bytes], Any]

# What a handler returns when it blocked the client: nothing is written now.
BLOCKED = RawReply(b"")

UNBLOCKED_ERROR = "UNBLOCKED client unblocked via CLIENT UNBLOCK"

# A timeout further away than this never fires in practice; no timer is armed (Redis keeps
# such deadlines too: an overflowing timeout there is effectively infinite).
_MAX_TIMER_S = 100 * 365 * 86400


class BlockedClient:
    """One blocked client: what it waits for and how to complete its command."""

    __slots__ = ("client", "db", "keys", "serve", "timeout_reply", "timer")

    def __init__(
        self, client: Client, db: Database, keys: list[tuple[bytes, bytes]], serve: Serve
    ) -> None:
        self.client = client
        self.db = db
        self.keys = keys  # (key, meta key), distinct, in command order
        self.serve = serve
        self.timeout_reply: Any = NULL_ARRAY
        self.timer: asyncio.TimerHandle | None = None


class _Waitlist:
    """The clients blocked on one key, oldest first."""

    __slots__ = ("key", "queue")

    def __init__(self, key: bytes) -> None:
        self.key = key
        self.queue: deque[BlockedClient] = deque()


class Blocking:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.waiters: dict[bytes, _Waitlist] = {}  # meta key -> clients blocked on it
        self.clients: dict[int, BlockedClient] = {}  # client id -> its state
        self.ready: list[bytes] = []  # meta keys signaled since the last serve, in order
        self._ready_set: set[bytes] = set()
        self._listening = False
        self.timeouts = 0  # blocked clients with a deadline (INFO clients_in_timeout_table)

    # ---- what handlers use ----

    @staticmethod
    def may_block(c: Any) -> bool:
        """False while EXEC runs the client's transaction (Redis's CLIENT_DENY_BLOCKING):
        the command then answers as if it timed out at once."""
        return not c.in_exec

    def block(
        self,
        c: Client,
        keys: list[bytes],
        timeout_ms: int,
        serve: Serve,
        timeout_reply: Any = NULL_ARRAY,
    ) -> RawReply:
        """Park client c until serve(key) gives a reply for one of keys, or timeout_ms
        (0: forever) passes. Returns the handler's reply: nothing, for now."""
        engine = self.server.engine
        assert engine is not None
        if not self._listening:
            add_listener(engine, self._on_modified)
            self._listening = True
        db = c.db
        pairs: list[tuple[bytes, bytes]] = []
        seen: set[bytes] = set()
        for key in keys:
            mk = meta_key(db.pdb, key)
            if mk in seen:
                continue  # BLPOP a a 0 waits once on a
            seen.add(mk)
            pairs.append((key, mk))
        b = BlockedClient(c, db, pairs, serve)
        b.timeout_reply = timeout_reply
        for key, mk in pairs:
            wl = self.waiters.get(mk)
            if wl is None:
                wl = self.waiters[mk] = _Waitlist(key)
            wl.queue.append(b)
            watch_key(engine, mk)
        if 0 < timeout_ms / 1000 < _MAX_TIMER_S:
            loop = asyncio.get_running_loop()
            b.timer = loop.call_later(timeout_ms / 1000, self._timed_out, b)
            self.timeouts += 1
        self.clients[c.id] = b
        c.blocked = b
        return BLOCKED

    # ---- leaving the blocked state ----

    def _unblock(self, b: BlockedClient) -> None:
        engine = self.server.engine
        for _key, mk in b.keys:
            wl = self.waiters.get(mk)
            if wl is not None:
                try:
                    wl.queue.remove(b)
                except ValueError:
                    pass
                if not wl.queue:
                    del self.waiters[mk]
            if engine is not None:
                unwatch_key(engine, mk)
        if b.timer is not None:
            b.timer.cancel()
            b.timer = None
            self.timeouts -= 1
        self.clients.pop(b.client.id, None)
        if b.client.blocked is b:
            b.client.blocked = None

    def _reply_and_resume(self, b: BlockedClient, reply: Any) -> None:
        c = b.client
        self._unblock(b)
        if c.closed:
            return
        c.write(encode(reply, c.proto))
        # Its pipelined input waited; run it on the next loop turn (processUnblockedClients).
        asyncio.get_running_loop().call_soon(c.resume)

    def _timed_out(self, b: BlockedClient) -> None:
        b.timer = None
        self.timeouts -= 1
        if b.client.blocked is b:
            self._reply_and_resume(b, b.timeout_reply)

    def client_gone(self, c: Client) -> None:
        """The connection closed (or was killed) while blocked: forget it, reply nothing."""
        b = self.clients.get(c.id)
        if b is not None:
            self._unblock(b)

    def unblock(self, c: Client, error: bool) -> bool:
        """CLIENT UNBLOCK: answer c with its timeout reply (or the UNBLOCKED error)."""
        b = self.clients.get(c.id)
        if b is None:
            return False
        self._reply_and_resume(b, ErrorReply(UNBLOCKED_ERROR) if error else b.timeout_reply)
        return True

    def after_swapdb(self, a: int, b: int) -> None:
        """SWAPDB a b: blocked clients stay with their logical db (Redis does not swap
        blocking_keys), whose physical db changed under them: re-key them, and the keys
        that hold something now are ready (scanDatabaseForReadyKeys)."""
        engine = self.server.engine
        moved = [bc for bc in self.clients.values() if bc.db.index in (a, b)]
        if a == b or not moved or engine is None:
            return
        for bc in moved:
            for _key, mk in bc.keys:
                wl = self.waiters.get(mk)
                if wl is not None:
                    wl.queue.remove(bc)
                    if not wl.queue:
                        del self.waiters[mk]
                unwatch_key(engine, mk)
        # In blocking order, so each key's queue keeps its FIFO order.
        for bc in moved:
            db = bc.db
            bc.keys = [(key, meta_key(db.pdb, key)) for key, _mk in bc.keys]
            for key, mk in bc.keys:
                wl = self.waiters.get(mk)
                if wl is None:
                    wl = self.waiters[mk] = _Waitlist(key)
                wl.queue.append(bc)
                watch_key(engine, mk)
                if db.shard_for(key).get(mk) is not None:
                    self._on_modified(mk)

    # ---- keys becoming ready ----

    def _on_modified(self, mk: bytes) -> None:
        if mk in self.waiters and mk not in self._ready_set:
            self._ready_set.add(mk)
            self.ready.append(mk)
            # Served right after the command by the connection's loop; the end of the
            # turn (Server.end_turn) serves the keys that no client command readied.
            self.server.begin_turn()

    def serve_ready(self) -> None:
        """Offer every ready key to its blocked clients, in signal order, FIFO per key."""
        while self.ready:
            batch = self.ready
            self.ready = []
            for mk in batch:
                self._ready_set.discard(mk)
                wl = self.waiters.get(mk)
                if wl is None:
                    continue
                for b in list(wl.queue):
                    if b.client.blocked is not b:
                        continue  # served through another key meanwhile
                    reply = self._try_serve(b, wl.key)
                    if reply is not None:
                        self._reply_and_resume(b, reply)

    def _try_serve(self, b: BlockedClient, key: bytes) -> Any:
        b.client.now = time.time_ns() // 1_000_000  # served now, not when it blocked
        try:
            return b.serve(key)
        except CommandError as e:
            return ErrorReply(e.text)
        except Exception as e:  # a bug in one serve must not take the server down
            name = b.client.cmd.name if b.client.cmd is not None else "?"
            log.warning(f"Internal error serving blocked '{name}': {traceback.format_exc()}")
            return ErrorReply(f"ERR internal error in '{name}': {type(e).__name__}: {e}")
