"""The server state of one pikad process and its lifecycle.

Owns the configuration, the storage engine, the connected clients, stats, SLOWLOG and
MONITOR fan-out, and the cron (Redis's serverCron: active expiry, idle-client timeouts,
instantaneous metrics) that runs `hz` times a second on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from pikadb._core import CommandCore
from pikadb.commands import registry  # noqa: F401  (fills the command table)
from pikadb.commands.table import COMMANDS
from pikadb.config import Config
from pikadb.log import log
from pikadb.replication.master import MasterSide
from pikadb.replication.replica import ReplicaSide
from pikadb.server.blocking import Blocking
from pikadb.server.client import Client
from pikadb.server.dispatch import Dispatcher, shorten_args
from pikadb.server.latency import LatencyMonitor
from pikadb.server.listen import listen_sockets
from pikadb.server.loopstats import LoopStats, Watchdog
from pikadb.server.multi import Watches
from pikadb.server.pubsub import PubSub
from pikadb.server.roles import become_master, become_replica
from pikadb.server.slowlog import SlowLog
from pikadb.server.stats import Stats
from pikadb.server.syncmode import LATEST, SyncMode
from pikadb.storage.encoding import counters_key, encode_counters
from pikadb.storage.engine import Database, Engine

if TYPE_CHECKING:
    from pikadb.replication.replica import MasterLink
    from pikadb.server.handoff import HandoffReceiver
    from pikadb.server.peers import PeerHub
    from pikadb.server.routing import Router
    from pikadb.server.workers import WorkerRole


# The encoding limits the command core's SADD/HSET/ZADD apply (as the handlers' limits do).
_CORE_LIMITS = {
    "set-max-intset-entries": "max_intset",
    "hash-max-listpack-entries": "hash_max_entries",
    "hash-max-listpack-value": "hash_max_value",
    "zset-max-listpack-entries": "zset_max_entries",
    "zset-max-listpack-value": "zset_max_value",
}


def _repr_arg(a: bytes) -> str:
    """sdscatrepr: quote and escape an argument for MONITOR output."""
    out = ['"']
    for ch in a:
        if ch in (0x22, 0x5C):
            out.append("\\" + chr(ch))
        elif ch == 0x0A:
            out.append("\\n")
        elif ch == 0x0D:
            out.append("\\r")
        elif ch == 0x09:
            out.append("\\t")
        elif ch == 0x07:
            out.append("\\a")
        elif ch == 0x08:
            out.append("\\b")
        elif 0x20 <= ch < 0x7F:
            out.append(chr(ch))
        else:
            out.append(f"\\x{ch:02x}")
    out.append('"')
    return "".join(out)


class Server:
    def __init__(self, config: Config, worker: WorkerRole | None = None) -> None:
        self.config = config
        # Several workers (server/workers.py): this process's place among them, the channel
        # to the others and the router deciding where each command runs. One worker: None.
        self.worker = worker
        self.hub: PeerHub | None = None
        self.router: Router | None = None
        self.handoff: HandoffReceiver | None = None
        self.stats = Stats()
        # Event-loop turns (server/loopstats.py): INFO stats eventloop_*, LATENCY's
        # 'eventloop' event, the watchdog that logs where a stalled loop is.
        self.loopstats = LoopStats()
        self.latency = LatencyMonitor()
        self.loopstats.on_turn = self._turn_latency
        self._turn_start = 0.0
        self._tick_due = 0.0
        self.watchdog = Watchdog(lambda: self._turn_start, lambda: self._tick_due)
        self.slowlog = SlowLog(worker.count, worker.index) if worker else SlowLog()
        self.dispatcher = Dispatcher(self)
        self.core: CommandCore | None = None  # made with the storage (open_storage)
        self.blocking = Blocking(self)  # clients blocked on keys (BLPOP & co)
        self.watches = Watches(self)  # WATCHed keys (MULTI/EXEC)
        self.pubsub = PubSub(self)  # channels, patterns and their subscribers
        self.clients: dict[int, Client] = {}
        self.monitors: list[Client] = []
        # Workers with MONITOR clients of their own (several workers: each command is
        # shown there too); monitored: is anyone watching at all (the dispatcher's check).
        self.remote_monitors: set[int] = set()
        self.monitored = False
        self.start_time = time.time()
        self.run_id = worker.run_id if worker and worker.run_id else secrets.token_hex(20)
        self.replid = worker.replid if worker and worker.replid else secrets.token_hex(20)
        # Replication (pikadb.replication): the links to our replicas, and the link to our
        # master while this server is a replica (REPLICAOF); replid2 / second_repl_offset
        # as in Redis's PSYNC2 after a promotion.
        self.repl_master = MasterSide(self)
        self.syncmode = SyncMode(self)  # CLIENT PAUSE, WAIT, min-replicas, sync mode
        self.replica_of: ReplicaSide | None = None
        self.replid2 = "0" * 40
        self.second_repl_offset = -1
        self.lastsave = int(time.time())
        self._stop_event = asyncio.Event()
        self.engine: Engine | None = None
        self._next_client_id = 0
        self._servers: list[asyncio.base_events.Server] = []
        self._cron_task: asyncio.Task | None = None
        self._exit_code = 0
        self._stopping = False
        self._dbs: list[Database] = []
        self._deferred: list[tuple[Client, bytes]] = []
        self._ready: list[Client] = []  # clients with replies back from other workers
        self._link_views: dict[MasterLink, Client] = {}  # link_opened
        self._apply_config()
        for name in (
            "requirepass",
            "maxclients",
            "slowlog-log-slower-than",
            "slowlog-max-len",
            "client-query-buffer-limit",
            "timeout",
            "hz",
            "protected-mode",
            "latency-monitor-threshold",
        ):
            config.on_change(name, lambda _v: self._apply_config())
        config.on_change("watchdog-period", lambda v: self.watchdog.set_period(int(v)))
        if config.get_int("watchdog-period"):
            self.watchdog.set_period(config.get_int("watchdog-period"))
        config.on_change("loglevel", lambda v: log.configure(v, config.get("logfile")))
        config.on_change("sync-writes", self._set_sync_writes)
        config.on_change("group-commit", self._set_group_commit)
        config.on_change("proto-max-bulk-len", self._set_max_bulk)

    # ---- configuration that the hot path reads as plain attributes ----

    def _apply_config(self) -> None:
        c = self.config
        self.requirepass = c.get("requirepass")
        self.maxclients = c.get_int("maxclients")
        self.slowlog_threshold_us = c.get_int("slowlog-log-slower-than")
        self.slowlog_max_len = c.get_int("slowlog-max-len")
        self.query_buffer_limit = c.get_int("client-query-buffer-limit")
        self.idle_timeout = c.get_int("timeout")
        self.hz = max(1, min(500, c.get_int("hz")))
        self.protected_mode = c.get_bool("protected-mode")
        self.latency.threshold_ms = c.get_int("latency-monitor-threshold")

    def _set_sync_writes(self, value: str) -> None:
        if self.engine is not None:
            self.engine.sync_writes = value == "yes"

    def _set_group_commit(self, value: str) -> None:
        if self.engine is not None:
            self.engine.set_group_commit(value == "yes")

    # ---- the event-loop turn ----

    def begin_turn(self) -> None:
        """Work of ours starts running: open a turn unless one is open. Its end runs once
        the loop has run every callback already due (call_soon), then the loop waits."""
        if not self._turn_start:
            self._turn_start = time.perf_counter()
            self._loop.call_soon(self.end_turn)

    def end_turn(self) -> None:
        """The one end of every turn, as Redis's beforeSleep. In this order:
        1. write each shard's batch of the turn (binlog records + one RocksDB write);
        2. push the records that became durable to every replica link, from memory;
        3. serve the keys that became ready for blocked clients (their writes: 1 and 2
           again, so their records too leave before their replies);
        4. release the replies that waited: those held for this turn's writes, and in
           sync mode those whose acks arrived in the turn;
        5. flush them to the clients' sockets (and close what asked to close after), the
           replies that came back from other workers in the turn (one write per client),
           and the frames queued for the other workers, one write per link.
        So an async replica has a write's record on its socket before the client has the
        reply, and a reply never acknowledges a write that is not in RocksDB."""
        engine = self.engine
        if engine is not None:
            ok = True
            blocking = self.blocking
            while True:
                if engine.pending:
                    ok = engine.flush_groups() and ok  # 1
                if engine.fresh:
                    fresh = engine.take_fresh()
                    if self.repl_master.links:
                        self.repl_master.push_turn(fresh)  # 2
                if not blocking.ready:
                    break
                blocking.serve_ready()  # 3
            if self.syncmode.acks_arrived:
                self.syncmode.on_ack()  # 4 (sync mode, WAIT)
            if self._deferred:
                self._release_deferred(ok)  # 4, 5
        if self._ready:
            ready, self._ready = self._ready, []
            for c in ready:
                c.send_ready()  # 5: replies that came back from other workers
        hub = self.hub
        if hub is not None and hub.dirty:
            hub.flush()  # 5: what goes to the other workers (requests, replies), per link
        if self.core is not None:
            self.core.sync()  # timers and closed connections may change its state
        start, self._turn_start = self._turn_start, 0.0
        self.loopstats.record(time.perf_counter() - start)

    def next_turn(self, callback: Callable[..., object], *args: object) -> None:
        """Go on with work that spans turns (a command's next slice) after the other
        clients: callback(*args) runs in a turn of its own."""

        def run() -> None:
            self.begin_turn()
            callback(*args)

        self._loop.call_soon(run)

    def replicas_acked(self) -> None:
        """REPLCONF ACKs arrived (replication/master.py): the end of this turn answers the
        WAITs and sync-mode replies that have enough replicas now."""
        self.syncmode.acks_arrived = True

    def _turn_latency(self, ms: float) -> None:
        if self.latency.threshold_ms:
            self.latency.add_if_needed("eventloop", ms)

    # ---- replies held until the end of the turn (Client._write_now) ----

    def send_ready_soon(self, c: Client) -> None:
        """c has replies from other workers ready: the end of the turn writes them."""
        if not c.ready_queued:
            c.ready_queued = True
            self._ready.append(c)
            self.begin_turn()

    def defer_output(self, c: Client, data: bytes) -> None:
        c.deferred = True
        self._deferred.append((c, data))

    def _schedule_flush(self) -> None:
        # The first write of this turn: its end writes the batches.
        self.begin_turn()

    def _release_deferred(self, ok: bool) -> None:
        outputs, self._deferred = self._deferred, []
        if ok and self.core is not None:
            self.core.release(outputs)  # the loops below, in C
            return
        for c, _ in outputs:
            c.deferred = False
        if not ok:
            # Nothing of this turn's writes reached RocksDB: no reply of the turn may go
            # out (some acknowledge those writes, some read them). Closing the connections
            # tells those clients their commands' outcome is unknown.
            for c, _ in outputs:
                if c.transport is not None:
                    c.transport.abort()
            return
        for c, data in outputs:
            c.send(data)
        for c, _ in outputs:
            if c.close_after_flush:
                c.close()

    def _apply_access_tracking(self) -> None:
        """OBJECT FREQ needs LFU counters, kept only under an LFU maxmemory-policy (as Redis)."""
        access = self.engine.access
        access.lfu_enabled = self.config.get("maxmemory-policy").endswith("lfu")
        access.lfu_log_factor = self.config.get_int("lfu-log-factor")
        access.lfu_decay_time = self.config.get_int("lfu-decay-time")

    def _set_max_bulk(self, value: str) -> None:
        for cl in self.clients.values():
            cl.parser.max_bulk = int(value)

    # ---- what handlers use (pikadb.commands.context.ServerContext) ----

    def become_replica(self, host: str, port: int) -> bool:
        """REPLICAOF host port (server/roles.py). -> False when already replicating it."""
        return become_replica(self, host, port)

    def become_master(self) -> None:
        """REPLICAOF NO ONE (server/roles.py)."""
        become_master(self)

    def link_opened(self, link: MasterLink) -> None:
        """The link to our master connected (replication/replica.py): CLIENT LIST shows it
        as a client with flags=M, CLIENT KILL TYPE master closes it."""
        from pikadb.server.client import MasterLinkClient

        view = MasterLinkClient(self, link)
        self._link_views[link] = view
        self.clients[view.id] = view
        if self.worker is not None:
            self.worker.publish_clients(len(self.clients))

    def link_closed(self, link: MasterLink) -> None:
        view = self._link_views.pop(link, None)
        if view is not None:
            view.closed = True
            self.client_gone(view)

    def hand_off(self, c: Client, worker: int, argv: list[bytes]) -> None:
        """Give c's connection to another worker, which runs argv for it (server/handoff.py:
        a replica's PIKASYNC goes to the worker owning its shards)."""
        from pikadb.server.handoff import hand_off

        hand_off(c, worker, argv)

    def database(self, index: int) -> Database:
        return self._dbs[index]

    def next_client_id(self) -> int:
        self._next_client_id += 1
        w = self.worker
        if w is None:
            return self._next_client_id
        # Unique across workers (CLIENT KILL ID, CLIENT UNBLOCK name any of them).
        return self._next_client_id * w.count + w.index

    def client_count(self) -> int:
        """Connected clients of the whole server (every worker's: maxclients)."""
        if self.worker is not None and self.worker.client_counts is not None:
            return self.worker.total_clients()
        return len(self.clients)

    def client_gone(self, c: Client) -> None:
        if self.clients.pop(c.id, None) is not None and self.worker is not None:
            self.worker.publish_clients(len(self.clients))
        if c.blocked is not None:
            self.blocking.client_gone(c)
        if c.monitor:
            self.remove_monitor(c)
        if c.subscribed:
            self.pubsub.unsubscribe_everything(c)
        if c.tx.watched_keys:
            self.watches.unwatch_all(c)
        if c.repl_link is not None:
            c.repl_link.close()
        if c.postponed is not None or c.id in self.syncmode.waiters:
            self.syncmode.client_gone(c)
        if c.proxied:
            self.router.client_gone(c)  # type: ignore[union-attr]

    def add_monitor(self, c: Client) -> None:
        c.monitor = True
        self.monitors.append(c)
        if len(self.monitors) == 1:
            self._monitoring_changed()

    def remove_monitor(self, c: Client) -> None:
        c.monitor = False
        with contextlib.suppress(ValueError):
            self.monitors.remove(c)
            if not self.monitors:
                self._monitoring_changed()

    def _monitoring_changed(self) -> None:
        self.monitored = bool(self.monitors or self.remote_monitors)
        hub = self.hub
        if hub is not None:
            on = bool(self.monitors)
            for w in range(hub.count):
                if w != hub.index:
                    hub.notify(w, "monitoring", [hub.index, on])

    def remote_monitoring(self, payload: object) -> None:
        """Another worker got its first MONITOR client, or lost its last."""
        worker, on = payload  # type: ignore[misc]
        if on:
            self.remote_monitors.add(worker)
        else:
            self.remote_monitors.discard(worker)
        self.monitored = bool(self.monitors or self.remote_monitors)

    def feed_monitors(self, c: Client, argv: list[bytes]) -> None:
        now = time.time()
        line = f"+{now:.6f} [{c.dbindex} {c.peer}] " + " ".join(_repr_arg(a) for a in argv)
        data = line.encode() + b"\r\n"
        for m in self.monitors:
            if m is not c:
                m.write(data)
        if self.remote_monitors:
            for w in self.remote_monitors:
                self.hub.notify(w, "monitor", data)  # type: ignore[union-attr]

    def remote_monitor_line(self, data: object) -> None:
        for m in self.monitors:
            m.write(data)  # type: ignore[arg-type]

    def request_shutdown(self, exit_code: int = 0) -> None:
        """SHUTDOWN / SIGTERM: stop accepting, close clients, close RocksDB, exit."""
        if self._stopping:
            return
        self._stopping = True
        self._exit_code = exit_code
        log.warning("User requested shutdown...")
        asyncio.get_running_loop().call_soon(self._stop_event.set)

    # ---- lifecycle ----

    def _share(self, name: str) -> int:
        """This process's part of a memory budget (key-cache-size, rocksdb-block-cache-size):
        the workers share one, so workers N needs no more memory for caches than one."""
        total = self.config.get_int(name)
        return total if self.worker is None else total // self.worker.count

    def open_storage(self) -> None:
        c = self.config
        path = os.path.abspath(c.get("dir"))
        w = self.worker
        self.engine = Engine.open(
            path,
            owned=None if w is None else w.owns,
            lock=w is None,
            shards=c.get_int("shards"),
            sync_writes=c.get_bool("sync-writes"),
            block_cache_size=self._share("rocksdb-block-cache-size"),
            write_buffer_size=c.get_int("rocksdb-write-buffer-size"),
            key_cache_size=self._share("key-cache-size"),
            wal=c.get_bool("rocksdb-wal"),
            databases=c.get_int("databases"),
            binlog_segment_size=c.get_int("binlog-segment-size"),
        )
        c.on_change("binlog-segment-size", lambda v: self.engine.set_binlog_segment_size(int(v)))
        c.on_change(
            "key-cache-size",
            lambda _v: self.engine.set_key_cache_size(self._share("key-cache-size")),
        )
        self._dbs = [self.engine.db(i) for i in range(c.get_int("databases"))]
        self.engine.schedule_flush = self.engine.schedule_push = self._schedule_flush
        self.engine.set_group_commit(c.get_bool("group-commit"))
        self._apply_access_tracking()
        for name in ("maxmemory-policy", "lfu-log-factor", "lfu-decay-time"):
            c.on_change(name, lambda _v: self._apply_access_tracking())
        direct = [name for name, cmd in COMMANDS.items() if "core" in cmd.traits]
        core = self.core = CommandCore(
            self, COMMANDS, encode_counters, counters_key, shorten_args, LATEST, direct
        )
        core.enabled = c.get_bool("command-core")
        core.client_type = Client
        for name, attr in _CORE_LIMITS.items():
            setattr(core, attr, c.get_int(name))
            c.on_change(name, lambda v, attr=attr: setattr(core, attr, int(v)))
        c.on_change("command-core", lambda _v: setattr(core, "enabled", c.get_bool("command-core")))
        owned = (
            "" if w is None else f", worker {w.index} of {w.count} owns {len(self.engine.shards)}"
        )
        log.notice(
            f"Storage opened at {path}: {self.engine.nshards} shard(s){owned}, "
            f"{len(self._dbs)} databases"
        )

    def attach_loop(self) -> asyncio.AbstractEventLoop:
        """The running event loop becomes the one whose turns this server ends."""
        self._loop = asyncio.get_running_loop()
        return self._loop

    async def serve(self) -> int:
        loop = self.attach_loop()
        port = self.config.get_int("port")
        w = self.worker
        if w is not None:
            from pikadb.server.peers import PeerHub
            from pikadb.server.routing import Router

            self.hub = PeerHub(self, w.index, w.count, w.coordinator_pid)
            await self.hub.start()
            self.router = Router(self, self.hub, w.index, w.count, self.engine.nshards)
            from pikadb.server.handoff import HandoffReceiver

            self.handoff = HandoffReceiver(self, w.index)
            self.handoff.start()
        binds = self.config.get("bind").split()
        if w is not None:
            # The coordinator bound our sockets (server/workers.py).
            for sock in w.sockets:
                srv = await loop.create_server(self._new_client, sock=sock, backlog=511)
                self._servers.append(srv)
        else:
            try:
                (socks,) = listen_sockets(binds, port, reuse_port=False)
            except OSError:
                raise SystemExit(1) from None
            for sock in socks:
                srv = await loop.create_server(self._new_client, sock=sock, backlog=511)
                self._servers.append(srv)
        log.notice(f"Ready to accept connections tcp on {' '.join(binds)}:{port}")
        self._cron_task = asyncio.create_task(self._cron())
        master = self.config.get("replicaof").split()
        if len(master) == 2:
            self.become_replica(master[0], int(master[1]))
        await self._stop_event.wait()
        await self._shutdown()
        return self._exit_code

    def _new_client(self) -> asyncio.Protocol:
        from pikadb.server.client import Client

        return Client(self)

    async def _shutdown(self) -> None:
        for srv in self._servers:
            srv.close()
        if self.hub is not None:
            self.hub.close()
        if self.handoff is not None:
            self.handoff.close()
        if self._cron_task is not None:
            self._cron_task.cancel()
        if self.replica_of is not None:
            self.replica_of.stop()
        self.repl_master.stop()
        for cl in list(self.clients.values()):
            if cl.transport is not None:
                cl.transport.abort()
        if self.engine is not None:
            self.engine.close()
            log.notice("RocksDB closed cleanly.")
        log.warning("pikadb is now ready to exit, bye bye...")

    async def _cron(self) -> None:
        """hz times a second: active expiry (25% of the period at most), reclaim of dropped
        collections (10%), idle clients, metrics."""
        tick = 0
        while True:
            period = 1.0 / self.hz
            self._tick_due = time.perf_counter() + period
            await asyncio.sleep(period)
            tick += 1
            self.begin_turn()
            try:
                # CLIENT PAUSE keeps the data set static: no active expiry meanwhile.
                if self.engine is not None and not self.syncmode.paused:
                    self.stats.expired_keys += self.engine.active_expire_cycle(period * 0.25)
                if self.engine is not None:
                    self.engine.reclaim_cycle(period * 0.1)
                    if tick % self.hz == 0:
                        self._purge_binlogs()
                        self.repl_master.cron()
                        if self.replica_of is not None:
                            self.replica_of.cron()
                if tick % max(1, self.hz // 10) == 0:
                    self.stats.sample()
                    self.loopstats.sample()
                if self.idle_timeout and tick % self.hz == 0:
                    self._close_idle_clients()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # the cron must survive anything one cycle hits
                log.warning(f"cron: {type(e).__name__}: {e}")

    def _purge_binlogs(self) -> None:
        c = self.config
        n = self.engine.purge_binlogs(
            c.get_int("binlog-keep-segments"), c.get_int("binlog-max-size")
        )
        if n:
            log.verbose(f"Binlog retention: {n} old segment(s) deleted")

    def _close_idle_clients(self) -> None:
        now = time.monotonic()
        for cl in list(self.clients.values()):
            # Blocked and Pub/Sub clients are not idle (Redis: no timeout for BLPOP, Pub/Sub).
            if (
                not cl.monitor
                and cl.kind() not in ("master", "replica")  # replication links: repl-timeout
                and cl.blocked is None
                and not cl.subscribed
                and now - cl.last_interaction > self.idle_timeout
            ):
                log.verbose(f"Closing idle client {cl.describe()}")
                cl.close()
