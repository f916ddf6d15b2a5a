"""What a master's clients wait for: CLIENT PAUSE, WAIT, min-replicas-to-write, sync mode.

CLIENT PAUSE <ms> [WRITE|ALL] (Redis 7.0): a command that the pause covers is postponed, not
refused. The dispatcher parks the client with the command it read (Client.postponed; its
pipelined input waits in the parser) and, once the pause ends (its deadline, checked lazily
and by a timer, or CLIENT UNPAUSE), the postponed clients run their command and the rest of
their input in the order they were postponed, on the next loop turn (Redis's
unblockPostponedClients). WRITE covers write commands and those Redis flags may_replicate
(PUBLISH, PFCOUNT, EVAL...), and an EXEC whose queue holds one; ALL covers every command of
every client but replica links. A second PAUSE keeps the later deadline and the stricter
mode. While paused, active expiry stops (Redis keeps the data set static for a failover).

Replica positions: a replica acknowledges per shard the last binlog id it applied
(REPLCONF ACK, ReplicaLink.ack calls on_ack). A client's write position (Client.woff, set
by the dispatcher after each write command) is the binlog id of every shard after it; a
replica "has" the write when each of its acked ids reaches it. Outside sync mode the
dispatcher only marks that the client wrote (LATEST: one store per write, no tuple), and
WAIT takes the positions at its own start: they include the client's writes, so the
answer never counts a replica that lacks one.

WAIT numreplicas timeout: the number of replicas that have the client's last write, blocking
(server/blocking.py, no keys) until enough do or the timeout passes.

min-replicas-to-write N / min-replicas-max-lag S: while fewer than N replicas acked within
S seconds, write commands get -NOREPLICAS (Redis's check; 0 for either disables it).

Sync mode (replication-mode sync): the reply of each write command is held until
min-replicas-to-ack replicas have its write position. The client is parked like a blocked
one (its pipelined input waits), so replies stay in order and one write at a time per
client is outstanding. After replication-timeout-ms, sync-timeout-action decides:
  fail     the reply becomes -NOREPLICAS sync replication timed out: <n> of <N> replicas
           acknowledged  (the write itself stays applied, as with Redis's WAIT: it only
           was not confirmed replicated);
  degrade  the held replies go out and the master runs as async (logged, INFO
           replication_mode_effective:async) until enough replicas caught up with every
           write again, then it returns to sync (logged).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from pikadb.errors import CommandError
from pikadb.log import log
from pikadb.protocol import ErrorReply, RawReply

if TYPE_CHECKING:
    from pikadb.commands.table import Command
    from pikadb.server.blocking import BlockedClient
    from pikadb.server.client import Client
    from pikadb.server.server import Server

PAUSE_NONE, PAUSE_WRITE, PAUSE_ALL = 0, 1, 2

NOREPLICAS = "NOREPLICAS Not enough good replicas to write."


# Client.woff of a client that wrote outside sync mode: "up to the positions of now".
LATEST: tuple[int, ...] = (-1,)


def _never(_key: bytes) -> None:
    return None  # no key wakes a WAIT or a held sync-mode reply: acks do


def may_replicate(c: Client, cmd: Command) -> bool:
    """Redis's is_may_replicate_command for the client's command."""
    # Redis 7.0's CMD_MAY_REPLICATE commands without CMD_WRITE carry the may-replicate trait.
    if cmd.is_write or "may-replicate" in cmd.traits:
        return True
    if cmd.name == "exec" and c.multi is not None:
        return any(q.is_write or "may-replicate" in q.traits for q, _argv in c.multi.commands)
    return False


class SyncMode:
    """Per server: the client pause, WAIT waiters, the write quorum and sync mode."""

    def __init__(self, server: Server) -> None:
        self.server = server
        # CLIENT PAUSE
        self.pause_kind = PAUSE_NONE
        self.pause_end = 0.0  # time.monotonic()
        self.postponed: dict[int, Client] = {}  # in postponing order
        self._pause_timer: asyncio.TimerHandle | None = None
        # WAIT and held sync-mode replies: client id -> (blocked state, write position,
        # replicas needed, sync hold?)
        self.waiters: dict[int, tuple[BlockedClient, tuple[int, ...] | None, int, bool]] = {}
        self.degraded = False
        self.sync_timeouts = 0
        self.callbacks: list[tuple[tuple[int, ...] | None, int, Callable[[int], None]]] = []
        self.acks_arrived = False  # REPLCONF ACKs came in this turn: its end calls on_ack
        cfg = server.config
        for name in (
            "min-replicas-to-write",
            "min-replicas-max-lag",
            "replication-mode",
            "min-replicas-to-ack",
            "replication-timeout-ms",
            "sync-timeout-action",
        ):
            cfg.on_change(name, lambda _v: self._apply_config())
        self._apply_config()

    def _apply_config(self) -> None:
        cfg = self.server.config
        self.min_to_write = cfg.get_int("min-replicas-to-write")
        self.max_lag = cfg.get_int("min-replicas-max-lag")
        # The dispatcher's hot path reads only this: is there a quorum to check at all.
        self.quorum_check = bool(self.min_to_write and self.max_lag)
        self.sync = cfg.get("replication-mode") == "sync"
        self.min_to_ack = cfg.get_int("min-replicas-to-ack")
        self.timeout_ms = cfg.get_int("replication-timeout-ms")
        self.degrade = cfg.get("sync-timeout-action") == "degrade"
        if not self.sync:
            self.degraded = False

    # ---- positions ----

    def positions(self) -> tuple[int, ...]:
        return tuple(s.binlog.last_id for s in self.server.engine.shards)

    def acked(self, woff: tuple[int, ...] | None) -> int:
        """How many replicas acknowledged every shard's records up to woff."""
        replicas = self.server.repl_master.replicas()
        if woff is None:
            return len(replicas)
        shards = self.server.engine.shards
        n = 0
        for r in replicas:
            ids = r.acked_ids
            if all(ids.get(s.index, -1) >= w for s, w in zip(shards, woff, strict=False)):
                n += 1
        return n

    def good_replicas(self) -> int:
        """Replicas that acked within min-replicas-max-lag seconds (repl_good_slaves_count)."""
        now = time.monotonic()
        return sum(
            1 for r in self.server.repl_master.replicas() if now - r.last_ack <= self.max_lag
        )

    # ---- min-replicas-to-write (dispatcher) ----

    def refuse_write(self, c: Client, cmd: Command) -> CommandError | None:
        if self.server.replica_of is not None or not may_write(c, cmd):
            return None
        if self.good_replicas() < self.min_to_write:
            return CommandError(NOREPLICAS)
        return None

    # ---- CLIENT PAUSE ----

    @property
    def paused(self) -> bool:
        if self.pause_kind and time.monotonic() >= self.pause_end:
            self.unpause()
        return self.pause_kind != PAUSE_NONE

    def pause(self, ms: int, mode: str) -> None:
        """CLIENT PAUSE ms WRITE|ALL (mode "write" or "all")."""
        kind = PAUSE_ALL if mode == "all" else PAUSE_WRITE
        self.pause_kind = max(self.pause_kind, kind)
        self.pause_end = max(self.pause_end, time.monotonic() + ms / 1000)
        if self._pause_timer is not None:
            self._pause_timer.cancel()
        loop = asyncio.get_running_loop()
        delay = min(self.pause_end - time.monotonic(), 100 * 365 * 86400)
        self._pause_timer = loop.call_later(max(0.0, delay), self._pause_expired)

    def _pause_expired(self) -> None:
        self._pause_timer = None
        if self.pause_kind and time.monotonic() >= self.pause_end:
            self.unpause()
        elif self.pause_kind:  # woken early (timer rounding): look again at the deadline
            delay = max(0.0, self.pause_end - time.monotonic())
            self._pause_timer = asyncio.get_running_loop().call_later(delay, self._pause_expired)

    def unpause(self) -> None:
        self.pause_kind = PAUSE_NONE
        self.pause_end = 0.0
        if self._pause_timer is not None:
            self._pause_timer.cancel()
            self._pause_timer = None
        if self.postponed:
            asyncio.get_running_loop().call_soon(self._run_postponed)

    def postpones(self, c: Client, cmd: Command) -> bool:
        """Does the pause cover this command of c? (replica links are never paused)"""
        if not self.paused or c.repl_link is not None:
            return False
        return self.pause_kind == PAUSE_ALL or may_replicate(c, cmd)

    def postpone(self, c: Client, argv: list[bytes]) -> None:
        c.postponed = argv
        self.postponed[c.id] = c

    def _run_postponed(self) -> None:
        clients = list(self.postponed.values())
        self.postponed.clear()
        dispatcher = self.server.dispatcher
        blocking = self.server.blocking
        for c in clients:
            argv = c.postponed
            if argv is None or c.closed:
                continue
            if self.paused:  # paused again by a client resumed before this one
                self.postponed[c.id] = c
                continue
            c.postponed = None
            out: list[bytes] = []
            c.out_batch = out
            try:
                out.append(dispatcher.call(c, argv))
                if blocking.ready:
                    blocking.serve_ready()
            finally:
                c.out_batch = None
            c.emit(out)  # the reply may still be on another worker (a Slot)
            if c.close_after_reply:
                c.close()
                continue
            c.resume()  # the input that waited behind the command

    def client_gone(self, c: Client) -> None:
        self.postponed.pop(c.id, None)
        self.waiters.pop(c.id, None)

    # ---- WAIT and sync-mode holds ----

    def wait(self, c: Client, numreplicas: int, timeout_ms: int) -> object:
        woff = self.positions() if c.woff is LATEST else c.woff
        count = self.acked(woff)
        blocking = self.server.blocking
        if count >= numreplicas or not blocking.may_block(c):
            return count
        reply = blocking.block(c, [], timeout_ms, _never, timeout_reply=count)
        self.waiters[c.id] = (blocking.clients[c.id], woff, numreplicas, False)
        return reply

    def wait_then(
        self, woff: tuple[int, ...] | None, need: int, timeout_ms: int, done: Callable[[int], None]
    ) -> None:
        """WAIT's count for a client of several workers (server/routing.py): done(count)
        once need replicas acknowledged woff, or at the timeout (0: none)."""
        if woff is LATEST:
            woff = self.positions()
        count = self.acked(woff)
        if count >= need:
            done(count)
            return
        entry = (woff, need, done)
        self.callbacks.append(entry)
        if timeout_ms > 0:
            loop = asyncio.get_running_loop()
            loop.call_later(timeout_ms / 1000, self._callback_timed_out, entry)

    def _callback_timed_out(self, entry: tuple) -> None:
        if entry in self.callbacks:
            self.callbacks.remove(entry)
            entry[2](self.acked(entry[0]))

    def hold(self, c: Client, reply: bytes) -> bytes:
        """Sync mode: keep the (encoded) reply of c's write until enough replicas have it."""
        woff = c.woff
        need = self.min_to_ack
        if self.acked(woff) >= need:
            return reply
        blocking = self.server.blocking
        blocking.block(c, [], 0, _never, timeout_reply=RawReply(reply))
        b = blocking.clients[c.id]
        self.waiters[c.id] = (b, woff, need, True)
        loop = asyncio.get_running_loop()
        loop.call_later(self.timeout_ms / 1000, self._sync_timed_out, c, b)
        return b""

    def holds(self, c: Client, cmd: Command, before: tuple[int, ...]) -> bool:
        """After a command in sync mode: did it write (so its reply must be held)?"""
        return self.sync and not self.degraded and c.woff != before and c.woff is not None

    def on_ack(self) -> None:
        """Replicas acknowledged new positions (in this turn: Server.end_turn calls this
        once): answer the waiters that have enough."""
        self.acks_arrived = False
        if self.degraded:
            self._maybe_restore()
        for entry in list(self.callbacks):
            count = self.acked(entry[0])
            if count >= entry[1]:
                self.callbacks.remove(entry)
                entry[2](count)
        if not self.waiters:
            return
        blocking = self.server.blocking
        for cid, (b, woff, need, _sync) in list(self.waiters.items()):
            c = b.client
            if c.blocked is not b:  # timed out, unblocked or gone
                del self.waiters[cid]
                continue
            count = self.acked(woff)
            if not _sync:
                b.timeout_reply = count  # what a timeout or CLIENT UNBLOCK replies
            if count >= need:
                del self.waiters[cid]
                blocking.unblock(c, error=False)

    def _sync_timed_out(self, c: Client, b: BlockedClient) -> None:
        entry = self.waiters.get(c.id)
        if entry is None or entry[0] is not b or c.blocked is not b:
            return
        woff, need = entry[1], entry[2]
        count = self.acked(woff)
        self.sync_timeouts += 1
        if self.degrade:
            if not self.degraded:
                self.degraded = True
                log.warning(
                    f"Sync replication timed out ({count} of {need} replicas acknowledged "
                    f"within {self.timeout_ms} ms): degrading to async replication"
                )
                hub = self.server.hub
                if hub is not None:  # the server degrades, not one worker's shards
                    for w in range(hub.count):
                        if w != hub.index:
                            hub.notify(w, "degrade", None)
            self._release_all()
            return
        del self.waiters[c.id]
        b.timeout_reply = ErrorReply(
            f"NOREPLICAS sync replication timed out: {count} of {need} replicas acknowledged"
        )
        self.server.blocking.unblock(c, error=False)

    def degrade_from_peer(self, _payload: object = None) -> None:
        """Another worker's sync replication timed out (server/peers.py NOTIFY)."""
        if self.sync and self.degrade and not self.degraded:
            self.degraded = True
            log.warning("Sync replication timed out on another worker: degrading to async")
            self._release_all()

    def _release_all(self) -> None:
        """Degraded: every held sync reply goes out now."""
        blocking = self.server.blocking
        for cid, (b, _woff, _need, sync) in list(self.waiters.items()):
            if not sync:
                continue
            del self.waiters[cid]
            if b.client.blocked is b:
                blocking.unblock(b.client, error=False)

    def _maybe_restore(self) -> None:
        if self.acked(self.positions()) >= self.min_to_ack:
            self.degraded = False
            log.notice("Replicas caught up: sync replication restored")

    # ---- INFO ----

    def info_lines(self) -> list[str]:
        """pikadb's sync-mode fields, only in sync mode: in async mode INFO replication
        carries exactly Redis's fields (tools compare them)."""
        if not self.sync:
            return []
        effective = "sync" if self.sync and not self.degraded else "async"
        held = sum(1 for e in self.waiters.values() if e[3])
        return [
            f"replication_mode:{'sync' if self.sync else 'async'}",
            f"replication_mode_effective:{effective}",
            f"min_replicas_to_ack:{self.min_to_ack}",
            f"sync_replies_waiting:{held}",
            f"sync_timeouts:{self.sync_timeouts}",
            f"acked_replicas:{self.acked(self.positions())}",
        ]


def may_write(c: Client, cmd: Command) -> bool:
    """Redis's is_write_command for -NOREPLICAS (EXEC counts its queue's writes)."""
    if cmd.is_write:
        return True
    if cmd.name == "exec" and c.multi is not None:
        return any(q.is_write for q, _argv in c.multi.commands)
    return False
