"""Server commands: INFO, DBSIZE, FLUSHDB, FLUSHALL, TIME, LASTSAVE, CONFIG, SHUTDOWN,
DEBUG, SLOWLOG, MONITOR and COMMAND (generated from the command table)."""

from __future__ import annotations

import os
import platform
import resource
import sys
import time

from pikadb import __version__, errors
from pikadb.commands.info_merge import merge_info
from pikadb.commands.merge import merge_sum
from pikadb.commands.table import COMMANDS, FLAG_ORDER, Command, Route, command, container, lookup
from pikadb.config import ConfigSetError
from pikadb.errors import CommandError
from pikadb.protocol import OK, RawReply, Status, Verbatim
from pikadb.storage.digest import dataset_digest, digest_parts, hex_digest, value_digest

NO_REPLY = RawReply(b"")

# ---- DBSIZE / FLUSHDB / FLUSHALL / TIME / LASTSAVE ----


@command(
    "dbsize", arity=1, flags="readonly fast", group="server", route=Route.MERGE, merge=merge_sum
)
def dbsize(c, argv):
    """DBSIZE"""
    return c.server.engine.dbsize(c.dbindex)


def _flush_mode(argv: list[bytes]) -> None:
    if len(argv) > 2 or (len(argv) == 2 and argv[1].lower() not in (b"async", b"sync")):
        raise CommandError(errors.SYNTAX)


@command("flushdb", arity=-1, flags="write", group="server", route=Route.ALL)
def flushdb(c, argv):
    """FLUSHDB [ASYNC|SYNC]"""
    _flush_mode(argv)
    c.server.watches.touch_flush(c.dbindex)  # before the keys go: WATCHes see them deleted
    c.db.flushdb()
    return OK


@command("flushall", arity=-1, flags="write", group="server", route=Route.ALL)
def flushall(c, argv):
    """FLUSHALL [ASYNC|SYNC]"""
    _flush_mode(argv)
    c.server.watches.touch_flush(None)
    c.server.engine.flushall()
    return OK


@command("time", arity=1, flags="loading stale fast", group="server")
def time_(c, argv):
    """TIME"""
    now_us = time.time_ns() // 1000
    return [str(now_us // 1_000_000).encode(), str(now_us % 1_000_000).encode()]


@command("lastsave", arity=1, flags="loading stale fast", group="server")
def lastsave(c, argv):
    """LASTSAVE"""
    return c.server.lastsave


# ---- SHUTDOWN ----


@command(
    "shutdown", arity=-1, flags="admin noscript loading stale no_multi allow_busy", group="server"
)
def shutdown(c, argv):
    """SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]"""
    opts = {a.lower() for a in argv[1:]}
    if not opts <= {b"nosave", b"save", b"now", b"force", b"abort"} or (
        b"nosave" in opts and b"save" in opts
    ):
        raise CommandError(errors.SYNTAX)
    if b"abort" in opts:
        if len(opts) > 1:
            raise CommandError(errors.SYNTAX)
        raise CommandError("ERR No shutdown in progress.")
    # Every write is already durable in RocksDB's WAL; shutting down closes it cleanly.
    c.server.request_shutdown()
    c.close_after_reply = True
    return NO_REPLY  # Redis answers a successful SHUTDOWN by closing the connection


# ---- MONITOR ----


@command(
    "monitor", arity=1, flags="admin noscript loading stale", group="server", route=Route.MONITOR
)
def monitor(c, argv):
    """MONITOR"""
    if not c.monitor:
        c.server.add_monitor(c)
    return OK


# ---- DEBUG ----


def _debug_allowed(c) -> None:
    mode = c.server.config.get("enable-debug-command")
    if mode == "yes" or (mode == "local" and c.peer.split(":")[0] in ("127.0.0.1", "[::1]")):
        return
    raise CommandError(
        'ERR DEBUG command not allowed. If the enable-debug-command option is set to "local", '
        "you can run it from a local connection, otherwise you need to set this option in the "
        "configuration file, and then restart the server."
    )


@command("debug", arity=-2, flags="admin noscript loading stale", group="server", route=Route.DEBUG)
def debug(c, argv):
    """DEBUG SLEEP seconds | SET-ACTIVE-EXPIRE 0|1 | DIGEST | DIGEST-VALUE key [key ...] | HELP"""
    _debug_allowed(c)
    sub = argv[1].lower()
    if sub == b"digest" and len(argv) == 2:
        now = c.now
        return Status(hex_digest(dataset_digest(c.server.engine, now)))
    if sub == b"digest-parts" and len(argv) == 2:
        # Several workers (server/routing.py): this worker's share of DEBUG DIGEST.
        now = c.now
        parts = digest_parts(c.server.engine, now)
        return [x for db in sorted(parts) for x in (db, hex_digest(parts[db]).encode())]
    if sub == b"digest-value":
        now = c.now
        return [Status(hex_digest(value_digest(c.db, key, now))) for key in argv[2:]]
    if sub == b"sleep" and len(argv) == 3:
        try:
            secs = float(argv[2])
        except ValueError:
            raise CommandError(errors.NOT_FLOAT) from None
        # Like Redis, DEBUG SLEEP blocks the whole server: that is what tests use it for.
        time.sleep(max(0.0, secs))
        return OK
    if sub == b"set-active-expire" and len(argv) == 3:
        c.server.engine.active_expire_enabled = argv[2] != b"0"
        return OK
    if sub == b"help" and len(argv) == 2:
        return [
            Status("DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"),
            Status("DIGEST"),
            Status("    Output a hex signature representing the current DB content."),
            Status("DIGEST-VALUE <key> [<key> ...]"),
            Status("    Output a hex signature of the values of all the specified keys."),
            Status("SLEEP <seconds>"),
            Status("    Stop the server for <seconds>. Decimals allowed."),
            Status("SET-ACTIVE-EXPIRE <0|1>"),
            Status("    Setting it to 0 disables the active expiration of keys."),
        ]
    raise CommandError(
        f"ERR unknown subcommand or wrong number of arguments for "
        f"'{argv[1].decode('utf-8', 'replace')}'. Try DEBUG HELP."
    )


# ---- SLOWLOG ----

container("slowlog", group="server")


@command("slowlog|get", arity=-2, flags="admin loading stale", group="server", route=Route.SLOWLOG)
def slowlog_get(c, argv):
    """SLOWLOG GET [count]"""
    entries = list(c.server.slowlog.entries)
    count = 10
    if len(argv) == 3:
        try:
            count = int(argv[2])
        except ValueError:
            count = -2
        if count < -1:
            raise CommandError("ERR count should be greater than or equal to -1")
    elif len(argv) > 3:
        raise errors.subcommand_syntax(argv[1], "slowlog")
    if count != -1:
        entries = entries[:count]
    if c.quiet:  # one worker's piece (server/routing.py): with the time to merge by
        return [[e.id, e.time, e.duration_us, e.argv, e.peer, e.name, e.time_us] for e in entries]
    return [[e.id, e.time, e.duration_us, e.argv, e.peer, e.name] for e in entries]


@command("slowlog|len", arity=2, flags="admin loading stale", group="server", route=Route.SLOWLOG)
def slowlog_len(c, argv):
    """SLOWLOG LEN"""
    return len(c.server.slowlog.entries)


@command("slowlog|reset", arity=2, flags="admin loading stale", group="server", route=Route.ALL)
def slowlog_reset(c, argv):
    """SLOWLOG RESET"""
    c.server.slowlog.reset()
    return OK


@command("slowlog|help", arity=2, flags="loading stale", group="server")
def slowlog_help(c, argv):
    """SLOWLOG HELP"""
    return _help("slowlog")


def _help(name: str) -> list[Status]:
    parent = COMMANDS[name.encode()]
    lines = [Status(f"{name.upper()} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")]
    for sub in sorted(parent.subcommands):
        cmd = parent.subcommands[sub]
        lines.append(Status(cmd.doc or sub.decode().upper()))
    return lines


# ---- CONFIG ----

container("config", group="server")


@command("config|get", arity=-3, flags="admin noscript loading stale", group="server")
def config_get(c, argv):
    """CONFIG GET parameter [parameter ...]"""
    out: dict[bytes, bytes] = {}
    for pattern in argv[2:]:
        for name, value in c.server.config.matching(pattern):
            if name.encode() not in out:
                out[name.encode()] = _config_value(c, name, value).encode()
    return out


def _config_value(c, name: str, value: str) -> str:
    if name.lower() == "dir":
        return os.path.abspath(value)
    return value


@command(
    "config|set", arity=-4, flags="admin noscript loading stale", group="server", route=Route.ALL
)
def config_set(c, argv):
    """CONFIG SET parameter value [parameter value ...]"""
    if len(argv) % 2 != 0:
        raise CommandError(errors.SYNTAX)
    pairs = [
        (argv[i].decode("utf-8", "replace"), argv[i + 1].decode("utf-8", "replace"))
        for i in range(2, len(argv), 2)
    ]
    try:
        c.server.config.set_many(pairs)
    except ConfigSetError as e:
        raise CommandError("ERR " + str(e)) from None
    return OK


@command("config|rewrite", arity=2, flags="admin noscript loading stale", group="server")
def config_rewrite(c, argv):
    """CONFIG REWRITE"""
    try:
        c.server.config.rewrite()
    except ConfigSetError as e:
        raise CommandError("ERR " + str(e)) from None
    except OSError as e:
        raise CommandError(f"ERR Rewriting config file: {e.strerror}") from None
    return OK


@command(
    "config|resetstat",
    arity=2,
    flags="admin noscript loading stale",
    group="server",
    route=Route.ALL,
)
def config_resetstat(c, argv):
    """CONFIG RESETSTAT"""
    c.server.stats.reset()
    c.server.loopstats.reset()
    c.server.stats.lazy_expired_base = c.server.engine.lazy_expired
    c.server.dispatcher.cmdstats.clear()
    return OK


@command("config|help", arity=2, flags="loading stale", group="server")
def config_help(c, argv):
    """CONFIG HELP"""
    return _help("config")


# ---- COMMAND ----


# Redis 7.0's ACL categories in the order COMMAND INFO lists them (acl.c's table).
_ACL_ORDER = [
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
]
# Command groups that are also ACL categories ("server" is not one; "generic" is keyspace).
_GROUP_CATEGORY = {"generic": "keyspace", "server": None}
# Not admin, yet dangerous in Redis's command table.
_DANGEROUS = frozenset({"flushall", "flushdb", "info", "keys", "sort", "sort_ro", "swapdb"})
# Where Redis's table differs from what group and flags imply.
_EXTRA_CATEGORIES = {
    "swapdb": ("keyspace",),
    "dbsize": ("keyspace",),
    "flushdb": ("keyspace",),
    "flushall": ("keyspace",),
    "lastsave": ("admin", "dangerous"),
    "role": ("admin", "dangerous"),
}
_NO_GROUP_CATEGORY = frozenset({"client", "object", "pubsub", "pubsub|help"})


def _acl_categories(cmd: Command) -> list[Status]:
    flags = cmd.flags
    name = cmd.name
    if name in _NO_GROUP_CATEGORY:
        cats: set[str | None] = set()
    elif name == "command" or name.startswith("command|"):
        cats = {"connection"}
    else:
        cats = {_GROUP_CATEGORY.get(cmd.group, cmd.group)}
    cats.update(_EXTRA_CATEGORIES.get(name, ()))
    if "write" in flags:
        cats.add("write")
    if "readonly" in flags:
        cats.add("read")
    cats.add("fast" if "fast" in flags else "slow")
    if "blocking" in flags:
        cats.add("blocking")
    if "admin" in flags:
        cats.update(("admin", "dangerous"))
    if name in _DANGEROUS:
        cats.add("dangerous")
    return [Status(f"@{c}") for c in _ACL_ORDER if c in cats]


def _first_last_step(cmd: Command) -> tuple[int, int, int]:
    spec = cmd.keys
    if spec is None:
        return (0, 0, 0)
    if callable(spec):
        # A key function may carry Redis's legacy range (ZUNIONSTORE: 1 1 1, movablekeys).
        return getattr(spec, "legacy_range", (0, 0, 0))
    return spec


def command_entry(cmd: Command) -> list:
    first, last, step = _first_last_step(cmd)
    return [
        cmd.name.encode(),
        cmd.arity,
        [Status(f) for f in FLAG_ORDER if f in cmd.flags],
        first,
        last,
        step,
        _acl_categories(cmd),
        [],  # tips
        [],  # key specs
        [command_entry(s) for _, s in sorted(cmd.subcommands.items())],
    ]


container("command", arity=-1, flags="loading stale", group="server")


def _command_all(c, argv):
    return [command_entry(cmd) for cmd in COMMANDS.values()]


COMMANDS[b"command"].handler = _command_all


@command("command|count", arity=2, flags="loading stale", group="server")
def command_count(c, argv):
    """COMMAND COUNT"""
    return len(COMMANDS)


@command("command|list", arity=-2, flags="loading stale", group="server")
def command_list(c, argv):
    """COMMAND LIST (renamed commands under their own names, as Redis lists them)"""
    return [cmd.name.encode() for cmd in COMMANDS.values()]


@command("command|info", arity=-2, flags="loading stale", group="server")
def command_info(c, argv):
    """COMMAND INFO [command-name ...]"""
    if len(argv) == 2:
        return _command_all(c, argv)
    out = []
    for name in argv[2:]:
        cmd = _find_command(name)
        out.append(command_entry(cmd) if cmd is not None else None)
    return out


def _find_command(name: bytes) -> Command | None:
    lname = name.lower()
    if b"|" in lname:
        parent, sub = lname.split(b"|", 1)
        p = COMMANDS.get(parent)
        return p.subcommands.get(sub) if p is not None else None
    return COMMANDS.get(lname)


@command("command|docs", arity=-2, flags="loading stale", group="server")
def command_docs(c, argv):
    """COMMAND DOCS [command-name ...]"""
    names = argv[2:] or list(COMMANDS)
    out: dict[bytes, dict] = {}
    for name in names:
        cmd = _find_command(name)
        if cmd is None:
            continue
        out[cmd.name.encode()] = {
            b"summary": (cmd.doc or cmd.name.upper()).encode(),
            b"since": b"1.0.0",
            b"group": cmd.group.encode(),
        }
    return out


@command("command|getkeys", arity=-4, flags="loading stale", group="server")
def command_getkeys(c, argv):
    """COMMAND GETKEYS command [arg ...]"""
    target = argv[2:]
    cmd = lookup(target)
    if cmd is None or cmd.handler is None:
        raise CommandError("ERR Invalid command specified")
    if not cmd.arity_ok(len(target)):
        raise CommandError("ERR Invalid number of arguments specified for command")
    idx = cmd.key_indexes(target)
    if not idx:
        raise CommandError("ERR The command has no key arguments")
    return [target[i] for i in idx]


@command("command|help", arity=2, flags="loading stale", group="server")
def command_help(c, argv):
    """COMMAND HELP"""
    return _help("command")


# ---- INFO ----

_DEFAULT_SECTIONS = (
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "keyspace",
)
_ALL_SECTIONS = (*_DEFAULT_SECTIONS, "commandstats", "errorstats")


def _human(n: float) -> str:
    for unit in ("B", "K", "M", "G", "T"):
        if abs(n) < 1024 or unit == "T":
            return f"{n:.2f}{unit}" if unit != "B" else f"{int(n)}B"
        n /= 1024
    return str(n)


def _rss() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _section_server(c) -> list[str]:
    s = c.server
    now = time.time()
    uptime = int(now - s.start_time)
    uname = platform.uname()
    return [
        "redis_version:7.0.15",
        f"pikadb_version:{__version__}",
        "redis_git_sha1:00000000",
        "redis_git_dirty:0",
        "redis_build_id:0",
        "redis_mode:standalone",
        f"os:{uname.system} {uname.release} {uname.machine}",
        "arch_bits:64",
        "multiplexing_api:epoll",
        f"python_version:{platform.python_version()}",
        "codec:compiled",
        f"process_id:{os.getpid()}",
        "process_supervised:no",
        f"run_id:{s.run_id}",
        f"tcp_port:{s.config.get('port')}",
        f"server_time_usec:{time.time_ns() // 1000}",
        f"uptime_in_seconds:{uptime}",
        f"uptime_in_days:{uptime // 86400}",
        f"hz:{s.hz}",
        f"configured_hz:{s.config.get('hz')}",
        f"lru_clock:{int(now) & ((1 << 24) - 1)}",
        f"executable:{sys.executable}",
        f"config_file:{s.config.file or ''}",
        "io_threads_active:0",
        f"shards:{s.engine.nshards}",
    ]


def _section_clients(c) -> list[str]:
    s = c.server
    return [
        # Redis does not count its replicas' links as clients (it does count the master).
        f"connected_clients:{len(s.clients) - len(s.repl_master.links)}",
        "cluster_connections:0",
        f"maxclients:{s.maxclients}",
        "client_recent_max_input_buffer:0",
        "client_recent_max_output_buffer:0",
        f"blocked_clients:{len(s.blocking.clients) + len(s.syncmode.postponed)}",
        "tracking_clients:0",
        f"clients_in_timeout_table:{s.blocking.timeouts}",
    ]


def _section_memory(c) -> list[str]:
    s = c.server
    rss = _rss()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    maxmemory = s.config.get_int("maxmemory")
    lines = [
        f"used_memory:{rss}",
        f"used_memory_human:{_human(rss)}",
        f"used_memory_rss:{rss}",
        f"used_memory_rss_human:{_human(rss)}",
        f"used_memory_peak:{peak}",
        f"used_memory_peak_human:{_human(peak)}",
        f"maxmemory:{maxmemory}",
        f"maxmemory_human:{_human(maxmemory)}",
        f"maxmemory_policy:{s.config.get('maxmemory-policy')}",
        "mem_fragmentation_ratio:1.00",
        "mem_allocator:libc",
        f"rocksdb_block_cache_size:{s.config.get('rocksdb-block-cache-size')}",
        f"rocksdb_write_buffer_size:{s.config.get('rocksdb-write-buffer-size')}",
    ]
    # What RocksDB holds now, over this process's shards. A configured block cache is one
    # cache shared by them all (every shard reports its whole usage): counted once. Without
    # one, each shard has RocksDB's default cache of its own: summed.
    shards = s.engine.shards
    cache_used = [sh.property_int("rocksdb.block-cache-usage") for sh in shards]
    shared = s.config.get_int("rocksdb-block-cache-size") > 0
    lines += [
        f"rocksdb_block_cache_usage:{max(cache_used, default=0) if shared else sum(cache_used)}",
        "rocksdb_memtables_bytes:"
        + str(sum(sh.property_int("rocksdb.cur-size-all-mem-tables") for sh in shards)),
    ]
    lines.append(f"key_cache_size:{s.config.get('key-cache-size')}")
    lines.extend(f"{k}:{v}" for k, v in s.engine.key_cache_info().items())
    return lines


def _section_persistence(c) -> list[str]:
    s = c.server
    return [
        "loading:0",
        "async_loading:0",
        "rdb_changes_since_last_save:0",
        "rdb_bgsave_in_progress:0",
        f"rdb_last_save_time:{s.lastsave}",
        "rdb_last_bgsave_status:ok",
        "aof_enabled:0",
        "aof_rewrite_in_progress:0",
        "aof_last_write_status:ok",
        "storage_engine:rocksdb",
        f"sync_writes:{1 if s.engine.sync_writes else 0}",
        f"disk_usage_bytes:{s.engine.disk_usage()}",
        # Element records of dropped big collections still to reclaim / compact.
        f"reclaim_in_progress:{1 if s.engine.reclaim_busy else 0}",
        f"reclaimed_collections:{sum(sh.reclaim.groups_reclaimed for sh in s.engine.shards)}",
        *_binlog_lines(s.engine),
    ]


def _binlog_lines(engine) -> list[str]:
    """Binlog totals, then per shard: segments, bytes, first/last id held, stream offset."""
    per = engine.binlog_stats()
    lines = [
        f"binlog_segments:{sum(b['segments'] for b in per)}",
        f"binlog_bytes:{sum(b['bytes'] for b in per)}",
        f"binlog_records:{sum(b['last_id'] - b['first_id'] + 1 for b in per)}",
    ]
    lines.extend(
        f"binlog_shard{i}:segments={b['segments']},bytes={b['bytes']},first_id={b['first_id']},"
        f"last_id={b['last_id']},offset={b['offset']},term={b['term']}"
        for i, b in zip((s.index for s in engine.shards), per, strict=True)
    )
    return lines


def _section_stats(c) -> list[str]:
    st = c.server.stats
    hits, misses = _keyspace_hits(c)
    return [
        f"total_connections_received:{st.total_connections_received}",
        f"total_commands_processed:{st.total_commands_processed}",
        # of them, run by the command core (cext/core.pyx) rather than the dispatcher
        f"command_core_calls:{core.calls_total if (core := c.server.core) else 0}",
        f"instantaneous_ops_per_sec:{int(st.ops.rate())}",
        f"total_net_input_bytes:{st.total_net_input_bytes}",
        f"total_net_output_bytes:{st.total_net_output_bytes}",
        f"instantaneous_input_kbps:{st.net_in.rate() / 1024:.2f}",
        f"instantaneous_output_kbps:{st.net_out.rate() / 1024:.2f}",
        f"rejected_connections:{st.rejected_connections}",
        "sync_full:0",
        "sync_partial_ok:0",
        "sync_partial_err:0",
        # Active-cycle deletions are counted by the cron, deletions on access by the engine.
        f"expired_keys:{st.expired_keys + c.server.engine.lazy_expired - st.lazy_expired_base}",
        "evicted_keys:0",
        f"keyspace_hits:{hits}",
        f"keyspace_misses:{misses}",
        f"pubsub_channels:{len(c.server.pubsub.channels.registry)}",
        f"pubsub_patterns:{c.server.pubsub.numpat()}",
        f"pubsubshard_channels:{len(c.server.pubsub.shard.registry)}",
        f"total_error_replies:{st.total_error_replies}",
        f"total_reads_processed:{st.total_reads_processed}",
        f"total_writes_processed:{st.total_writes_processed}",
        *c.server.loopstats.info_lines(),
    ]


def _keyspace_hits(c) -> tuple[int, int]:
    fn = getattr(c.server.engine, "keyspace_hits_misses", None)
    if fn is None:
        return c.server.stats.keyspace_hits, c.server.stats.keyspace_misses
    return fn()


def _section_replication(c) -> list[str]:
    from pikadb.commands.replication import replication_info

    return replication_info(c.server)


def _section_cpu(c) -> list[str]:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    return [
        f"used_cpu_sys:{ru.ru_stime:.6f}",
        f"used_cpu_user:{ru.ru_utime:.6f}",
        f"used_cpu_sys_children:{ch.ru_stime:.6f}",
        f"used_cpu_user_children:{ch.ru_utime:.6f}",
    ]


def _section_keyspace(c) -> list[str]:
    info = c.server.engine.keyspace_info()
    return [
        f"db{db}:keys={keys},expires={expires},avg_ttl={avg}"
        for db, (keys, expires, avg) in sorted(info.items())
    ]


def _section_commandstats(c) -> list[str]:
    out = []
    for name, st in sorted(c.server.dispatcher.cmdstats.items()):
        per = st.usec / st.calls if st.calls else 0.0
        out.append(
            f"cmdstat_{name}:calls={st.calls},usec={st.usec},usec_per_call={per:.2f},"
            f"rejected_calls={st.rejected},failed_calls={st.failed}"
        )
    return out


def _section_errorstats(c) -> list[str]:
    return [f"errorstat_{k}:count={v}" for k, v in sorted(c.server.stats.errors.items())]


_SECTIONS = {
    "server": ("Server", _section_server),
    "clients": ("Clients", _section_clients),
    "memory": ("Memory", _section_memory),
    "persistence": ("Persistence", _section_persistence),
    "stats": ("Stats", _section_stats),
    "replication": ("Replication", _section_replication),
    "cpu": ("CPU", _section_cpu),
    "commandstats": ("Commandstats", _section_commandstats),
    "errorstats": ("Errorstats", _section_errorstats),
    "keyspace": ("Keyspace", _section_keyspace),
}


def info_text(c, requested: list[bytes]) -> str:
    wanted: list[str] = []
    if not requested:
        wanted = list(_DEFAULT_SECTIONS)
    for raw in requested:
        name = raw.decode("utf-8", "replace").lower()
        if name == "default":
            wanted.extend(_DEFAULT_SECTIONS)
        elif name in ("all", "everything"):
            wanted.extend(_ALL_SECTIONS)
        elif name in _SECTIONS:
            wanted.append(name)
    order = [n for n in _SECTIONS if n in wanted]
    parts = []
    for name in order:
        title, fn = _SECTIONS[name]
        parts.append("# " + title + "\r\n" + "".join(line + "\r\n" for line in fn(c)))
    return "\r\n".join(parts)


@command(
    "info", arity=-1, flags="loading stale", group="server", route=Route.MERGE, merge=merge_info
)
def info(c, argv):
    """INFO [section [section ...]]"""
    return Verbatim(info_text(c, argv[1:]))
