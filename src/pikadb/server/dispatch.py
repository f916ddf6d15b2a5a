"""The dispatcher: every command passes here and every policy is applied here, in one order.

    lookup -> auth -> arity -> no_multi -> RESP2 subscribed context -> MULTI queueing
    -> read-only replica / stale data (replica) -> routing to the worker owning the keys
    (several workers: server/routing.py) -> execute

Handlers never re-check these. A command refused while its client is in MULTI dooms the
transaction; a refused EXEC aborts it (commands.transactions.rejected). EXEC runs its queue
through execute(), so each queued command is timed, counted and MONITORed on its own.

The reply comes back encoded for the client's protocol; errors raised by handlers become
'-<text>' replies and are counted for INFO errorstats. Timing per command feeds INFO
commandstats and SLOWLOG; MONITOR clients see each command.
"""

from __future__ import annotations

import time
import traceback
from typing import TYPE_CHECKING

from pikadb import errors
from pikadb.commands.table import Command, lookup
from pikadb.commands.transactions import queue, rejected
from pikadb.errors import CommandError
from pikadb.log import log
from pikadb.protocol import encode, error_reply
from pikadb.server.syncmode import LATEST

if TYPE_CHECKING:
    from pikadb.server.client import Client
    from pikadb.server.server import Server

_perf_ns = time.perf_counter_ns
_time_ns = time.time_ns


class CommandStats:
    """INFO commandstats counters for one command (kept beside, not inside, the table)."""

    __slots__ = ("calls", "failed", "rejected", "usec")

    def __init__(self) -> None:
        self.calls = 0
        self.usec = 0
        self.rejected = 0
        self.failed = 0


BINLOG_ARG_MAX = 128


def shorten_args(argv: list[bytes]) -> list[bytes]:
    """Arguments past BINLOG_ARG_MAX bytes cut as SLOWLOG cuts them."""
    return [
        a
        if len(a) <= BINLOG_ARG_MAX
        else a[:BINLOG_ARG_MAX] + b"... (%d more bytes)" % (len(a) - BINLOG_ARG_MAX)
        for a in argv
    ]


class Dispatcher:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.stats = server.stats
        self.cmdstats: dict[str, CommandStats] = {}

    def stats_for(self, cmd: Command) -> CommandStats:
        st = self.cmdstats.get(cmd.name)
        if st is None:
            st = self.cmdstats[cmd.name] = CommandStats()
        return st

    def reject(
        self,
        err: CommandError,
        cmd: Command | None,
        c: Client | None = None,
        argv: list[bytes] | None = None,
    ) -> bytes:
        if c is not None and (c.multi is not None or (cmd is not None and cmd.name == "exec")):
            err = rejected(c, err, cmd, argv or [])
        self._count_error(err.text)
        if cmd is not None:
            self.stats_for(cmd).rejected += 1
        return error_reply(err.text)

    def _count_error(self, text: str) -> None:
        self.stats.total_error_replies += 1
        prefix = text.split(" ", 1)[0]
        self.stats.errors[prefix] += 1

    def call(self, c: Client, argv: list[bytes]) -> bytes:
        """Run one command for client c; return the encoded reply."""
        server = self.server
        core = server.core
        if core is not None:
            # The command may change what the core checks (CONFIG SET, MONITOR, CLIENT
            # PAUSE, ...), or read the figures of the commands it ran (INFO).
            core.sync()
        cmd = lookup(argv)
        c.cmd = cmd  # CLIENT LIST's cmd= (Redis lastcmd): what was asked, queued or refused
        if cmd is None:
            return self.reject(errors.unknown_command(argv[0], argv[1:]), None, c, argv)
        # Redis's authRequired(): only while a password is set; clearing requirepass at
        # runtime lets every connection in, as the default user becomes nopass again.
        if server.requirepass and not c.authenticated and not cmd.no_auth:
            return self.reject(CommandError(errors.NOAUTH), cmd, c, argv)
        if cmd.subcommands and len(argv) > 1:
            # lookup() found no such subcommand of this container.
            return self.reject(errors.unknown_subcommand(argv[1], cmd.name), cmd, c, argv)
        if cmd.handler is None:
            return self.reject(errors.wrong_arity(cmd.name), cmd, c, argv)
        if not cmd.arity_ok(len(argv)):
            if cmd.parent is not None:
                parent, sub = cmd.name.split("|", 1)
                return self.reject(errors.wrong_arity_sub(parent, sub), cmd, c, argv)
            return self.reject(errors.wrong_arity(cmd.name), cmd, c, argv)
        syncmode = server.syncmode
        if syncmode.quorum_check:  # min-replicas-to-write: -NOREPLICAS
            err = syncmode.refuse_write(c, cmd)
            if err is not None:
                return self.reject(err, cmd, c, argv)
        if server.replica_of is not None:  # READONLY / MASTERDOWN (replication/replica.py)
            err = server.replica_of.refuse(cmd.is_write, "stale" in cmd.flags)
            if err is not None:
                return self.reject(err, cmd, c, argv)
        if c.multi is not None or c.subscribed:
            if c.multi is not None and "no_multi" in cmd.flags:
                return self.reject(CommandError(errors.NO_MULTI), cmd, c, argv)
            if c.subscribed and c.proto == 2 and not cmd.allowed_in_subscribe:
                return self.reject(errors.pubsub_context(cmd.name), cmd, c, argv)
        if syncmode.pause_kind and syncmode.postpones(c, cmd):
            # CLIENT PAUSE: the command waits, with the input behind it (syncmode.py).
            syncmode.postpone(c, argv)
            return b""
        router = server.router
        # Several workers: maybe not here. A proxy's command was routed by its own worker,
        # except a PUBLISH sent to worker 0 to be ordered (routing.py).
        if router is not None and (not c.is_proxy or (cmd.route == "publish" and not c.quiet)):
            try:
                reply = router.route(c, cmd, argv)
            except CommandError as e:
                return self.reject(e, cmd, c, argv)
            except Exception as e:  # a routing bug must not take the connection down
                log.warning(f"Internal error routing '{cmd.name}': {traceback.format_exc()}")
                c.awaiting = False
                return self.reject(
                    CommandError(f"ERR internal error in '{cmd.name}': {type(e).__name__}: {e}"),
                    cmd,
                    c,
                    argv,
                )
            if reply is not None:
                return reply
        if c.multi is not None and "not-queued" not in cmd.traits:
            return queue(c, cmd, argv)
        if not (cmd.is_write or cmd.name == "exec"):
            return self.execute(c, cmd, argv)
        # A write: remember where it left the binlogs (WAIT), and in sync mode hold its
        # reply until enough replicas acknowledged that position.
        if syncmode.sync and not syncmode.degraded and server.replica_of is None:
            before = c.woff = syncmode.positions()
            reply = self.execute(c, cmd, argv)
            c.woff = syncmode.positions()
            if c.woff != before:
                return syncmode.hold(c, reply)
            return reply
        reply = self.execute(c, cmd, argv)
        c.woff = LATEST  # WAIT reads the positions when it starts (syncmode.py)
        return reply

    def execute(self, c: Client, cmd: Command, argv: list[bytes]) -> bytes:
        """Run a command that passed every policy (or was queued by MULTI); stats, SLOWLOG
        and MONITOR follow, unless c.quiet: one piece of a command split over the workers,
        which the worker the client is on accounts for once (server/routing.py).
        Returns the encoded reply."""
        server = self.server
        c.argv = argv
        if not c.in_exec:
            # The command's clock, read once (expiry, TTLs, LRU): inside EXEC every queued
            # command sees EXEC's time, as in Redis.
            c.now = _time_ns() // 1_000_000
        # Binlog records carry the command for people and tools; the data travels in the
        # record's ops, so a big argument is shortened instead of being written twice.
        if cmd.is_write and max(map(len, argv)) > BINLOG_ARG_MAX:
            server.engine.current_command = (c.dbindex, shorten_args(argv))
        else:
            server.engine.current_command = (c.dbindex, argv)
        start = _perf_ns()
        reply, failed = self.run_handler(c, cmd, argv)
        if not c.quiet:
            self.account(c, cmd, argv, (_perf_ns() - start) // 1000, failed)
        return reply

    def run_handler(self, c: Client, cmd: Command, argv: list[bytes]) -> tuple[bytes, str | None]:
        """The handler's reply, encoded for the client, and the error text if it failed
        (execute(), and the command core for the commands it hands to their handlers)."""
        try:
            return encode(cmd.handler(c, argv), c.proto), None  # type: ignore[misc]
        except CommandError as e:
            return error_reply(e.text), e.text
        except Exception as e:
            # A bug in one handler must not take the connection or the server down.
            log.warning(f"Internal error in '{cmd.name}': {traceback.format_exc()}")
            failed = f"ERR internal error in '{cmd.name}': {type(e).__name__}: {e}"
            return error_reply(failed), failed

    def count_failure(self, cmd: Command, text: str) -> None:
        self._count_error(text)
        self.stats_for(cmd).failed += 1

    def account(
        self, c: Client, cmd: Command, argv: list[bytes], duration_us: int, failed: str | None
    ) -> None:
        """One executed command in INFO commandstats/errorstats, SLOWLOG and MONITOR."""
        server = self.server
        if failed is not None:
            self.count_failure(cmd, failed)
        if server.monitored and "admin" not in cmd.flags and "skip_monitor" not in cmd.flags:
            # After execution, as Redis 7 does: MONITOR shows the db the command left selected.
            server.feed_monitors(c, argv)
        st = self.cmdstats.get(cmd.name)
        if st is None:
            st = self.stats_for(cmd)
        st.calls += 1
        st.usec += duration_us
        self.stats.total_commands_processed += 1
        latency = server.latency
        if latency.threshold_ms and duration_us >= latency.threshold_ms * 1000:
            event = "fast-command" if "fast" in cmd.flags else "command"
            latency.add(event, duration_us // 1000)
        if duration_us >= server.slowlog_threshold_us >= 0 and "skip_slowlog" not in cmd.flags:
            server.slowlog.add(
                argv, duration_us, c.peer.encode(), c.name or b"", server.slowlog_max_len
            )
