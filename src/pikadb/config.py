"""pikad configuration: a redis.conf-style file, command-line overrides, CONFIG GET/SET/REWRITE.

Every Redis 7.0 parameter name is known (pikadb.config_params) so tools written for Redis keep
working; the ones in ACTIVE change what pikadb does, the others are validated as Redis
validates them, stored and reported. pikadb adds its own RocksDB-era parameters (PIKADB_PARAMS).

Values are kept as the canonical strings CONFIG GET shows (memory sizes in bytes, booleans as
yes/no); typed accessors convert. Code that must react to a runtime change registers a
listener with on_change().
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from pikadb.config_params import REDIS_PARAMS
from pikadb.glob import stringmatch
from pikadb.protocol import Parser, ProtocolError


class ConfigError(Exception):
    """A bad directive in a file or on the command line (startup fails)."""


class ConfigSetError(Exception):
    """A CONFIG SET failure; str() is Redis's text after the ' - '."""


@dataclass
class Param:
    name: str
    kind: str  # bool | int | memory | enum | string | special
    default: str
    mutable: bool
    min: int | None = None
    max: int | None = None
    choices: tuple[str, ...] = ()
    error: str = ""  # special kinds: Redis's text for a bad value
    protected: bool = False
    aliases: tuple[str, ...] = field(default_factory=tuple)


# pikadb's own parameters (not in Redis).
PIKADB_PARAMS: tuple[tuple[str, str, str, bool, dict], ...] = (
    # Shard count of a NEW data dir; an existing dir keeps the count it was created with.
    ("shards", "int", "1", False, {"min": 1, "max": 1024}),
    # Worker processes sharing the port (server/workers.py); a new data dir gets at least
    # this many shards. 1: one process, full Redis semantics for multi-key commands.
    ("workers", "int", "1", False, {"min": 1, "max": 64}),
    ("sync-writes", "bool", "no", True, {}),
    # One RocksDB write (and fsync) per shard per event-loop turn instead of per command.
    ("group-commit", "bool", "yes", True, {}),
    ("rocksdb-block-cache-size", "memory", "134217728", False, {}),
    ("rocksdb-write-buffer-size", "memory", "8388608", False, {}),
    # Bytes of records (metadata and small values) kept in memory in front of RocksDB, for
    # the whole server (workers share it out); 0: no cache (storage/shard.py).
    ("key-cache-size", "memory", "67108864", True, {}),
    # RocksDB's own write-ahead log. "no": the binlog, written before RocksDB, is the only
    # redo log (one write and fsync per turn instead of two); storage/shard.py.
    ("rocksdb-wal", "bool", "no", False, {}),
    # The command core (cext/core.pyx) runs the common commands straight from the input
    # buffer; "no" sends every command through the dispatcher (the tests run both ways).
    ("command-core", "bool", "yes", True, {}),
    # Binlog (replication): segment files rotate at this size; the cron deletes the oldest
    # beyond keep-segments or max-size (bytes per shard), unless a replica still needs them.
    ("binlog-segment-size", "memory", "67108864", True, {}),
    ("binlog-keep-segments", "int", "10", True, {"min": 1, "max": 1000000}),
    ("binlog-max-size", "memory", "1073741824", True, {}),
    # Full sync (replication.fullsync): the master sends checkpoint files at most this fast.
    ("full-sync-max-bytes-per-sec", "memory", "209715200", True, {}),
    # Sync mode (replication.syncmode): a write's reply waits for min-replicas-to-ack
    # replicas; after replication-timeout-ms it fails or the master degrades to async.
    ("replication-mode", "enum", "async", True, {"choices": ("async", "sync")}),
    ("min-replicas-to-ack", "int", "1", True, {"min": 0, "max": 2147483647}),
    ("replication-timeout-ms", "int", "10000", True, {"min": 1, "max": 2147483647}),
    ("sync-timeout-action", "enum", "fail", True, {"choices": ("fail", "degrade")}),
    # Redis's hidden watchdog-period (ms; 0: off): log the event loop's stack when a turn
    # runs longer (server/loopstats.py).
    ("watchdog-period", "int", "0", True, {"min": 0, "max": 2147483647}),
)

# pikadb's defaults where they differ from Redis's.
PIKADB_DEFAULTS = {
    "bind": "127.0.0.1",
    "port": "9221",
    "dir": "./pikadb-data",
    "daemonize": "no",
    "pidfile": "",
    "logfile": "",
    "save": "",
    "appendonly": "no",
}

# Parameters that change pikadb's behaviour. Everything else is stored and reported only.
ACTIVE = frozenset(
    {
        "bind",
        "port",
        "dir",
        "databases",
        "requirepass",
        "loglevel",
        "logfile",
        "daemonize",
        "pidfile",
        "maxclients",
        "timeout",
        "proto-max-bulk-len",
        "hll-sparse-max-bytes",
        "client-query-buffer-limit",
        "slowlog-log-slower-than",
        "slowlog-max-len",
        "hz",
        "maxmemory-policy",
        "enable-debug-command",
        "tcp-keepalive",
        "protected-mode",
        "shards",
        "workers",
        "sync-writes",
        "group-commit",
        "rocksdb-block-cache-size",
        "rocksdb-write-buffer-size",
        "key-cache-size",
        "rocksdb-wal",
        "command-core",
        "binlog-segment-size",
        "binlog-keep-segments",
        "binlog-max-size",
        "full-sync-max-bytes-per-sec",
        "min-replicas-to-write",
        "min-replicas-max-lag",
        "replication-mode",
        "min-replicas-to-ack",
        "replication-timeout-ms",
        "sync-timeout-action",
        "latency-monitor-threshold",
        "watchdog-period",
    }
)

# Redis 7 names that are aliases of another (CONFIG GET shows both, SET through either).
ALIASES = {
    "slaveof": "replicaof",
    "hash-max-ziplist-entries": "hash-max-listpack-entries",
    "hash-max-ziplist-value": "hash-max-listpack-value",
    "zset-max-ziplist-entries": "zset-max-listpack-entries",
    "zset-max-ziplist-value": "zset-max-listpack-value",
    "list-max-ziplist-size": "list-max-listpack-size",
    "slave-priority": "replica-priority",
    "slave-read-only": "replica-read-only",
    "slave-serve-stale-data": "replica-serve-stale-data",
    "slave-lazy-flush": "replica-lazy-flush",
    "slave-ignore-maxmemory": "replica-ignore-maxmemory",
    "slave-announce-ip": "replica-announce-ip",
    "slave-announce-port": "replica-announce-port",
    "min-slaves-to-write": "min-replicas-to-write",
    "min-slaves-max-lag": "min-replicas-max-lag",
    "repl-diskless-load": "repl-diskless-load",
}


def _build_params() -> dict[str, Param]:
    params: dict[str, Param] = {}
    for name, kind, default, mutable, extra in REDIS_PARAMS + PIKADB_PARAMS:
        params[name] = Param(
            name=name,
            kind=kind,
            default=PIKADB_DEFAULTS.get(name, default),
            mutable=mutable,
            min=extra.get("min"),
            max=extra.get("max"),
            choices=tuple(extra.get("choices", ())),
            error=extra.get("error", ""),
            protected=extra.get("protected", False),
        )
    return params


PARAMS: dict[str, Param] = _build_params()

_MEMORY_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1024,
    "m": 1000**2,
    "mb": 1024**2,
    "g": 1000**3,
    "gb": 1024**3,
}


def parse_memory(text: str) -> int | None:
    """Redis's memtoull: '1gb' -> 1073741824, '1g' -> 10**9, '100' -> 100; None if invalid."""
    t = text.strip().lower()
    i = len(t)
    while i > 0 and t[i - 1].isalpha():
        i -= 1
    digits, unit = t[:i], t[i:]
    if unit not in _MEMORY_UNITS or not digits:
        return None
    try:
        n = int(digits)
    except ValueError:
        return None
    if n < 0:
        return None
    return n * _MEMORY_UNITS[unit]


def _parse_int(text: str) -> int | None:
    t = text.strip()
    try:
        # Redis accepts plain decimal integers only (string2ll); no '+', no spaces, no '0x'.
        if not t or t != text or t.startswith("+"):
            return None
        return int(t, 10)
    except ValueError:
        return None


def _canonical(p: Param, value: str) -> str:
    """Validate value for p and return the canonical string, or raise ConfigSetError."""
    kind = p.kind
    if kind == "bool":
        v = value.lower()
        if v not in ("yes", "no"):
            raise ConfigSetError("argument must be 'yes' or 'no'")
        return v
    if kind == "enum":
        v = value.lower()
        if v not in p.choices:
            raise ConfigSetError(
                "argument(s) must be one of the following: " + ", ".join(p.choices)
            )
        return v
    if kind in ("int", "memory"):
        if kind == "memory":
            n = parse_memory(value)
            if n is None:
                n = _parse_int(value)  # negative plain numbers reach the bounds check below
                if n is None:
                    raise ConfigSetError("argument must be a memory value")
        else:
            n = _parse_int(value)
            if n is None:
                raise ConfigSetError("argument couldn't be parsed into an integer")
        if p.min is not None and p.max is not None and not p.min <= n <= p.max:
            raise ConfigSetError(f"argument must be between {p.min} and {p.max} inclusive")
        return str(n)
    if kind == "special":
        return _canonical_special(p, value)
    return value


def _canonical_special(p: Param, value: str) -> str:
    if p.name == "save":
        parts = value.split()
        if len(parts) % 2 or not all(_parse_int(x) is not None for x in parts):
            raise ConfigSetError(p.error)
        return " ".join(parts)
    if p.name == "bind":
        parts = value.split()
        if not parts:
            raise ConfigSetError(p.error)
        return " ".join(parts)
    if p.name == "maxmemory-clients":
        v = value[:-1] if value.endswith("%") else value
        if parse_memory(v) is None:
            raise ConfigSetError(p.error)
        return value
    if p.name == "notify-keyspace-events":
        if any(ch not in "Ag$lshzxeKEtmdn" for ch in value):
            raise ConfigSetError(p.error)
        return value
    return value


class Config:
    """The live configuration of one pikad."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {name: p.default for name, p in PARAMS.items()}
        self.file: str | None = None
        self._listeners: dict[str, list[Callable[[str], None]]] = {}
        self._rename_command: Callable[[str, str], None] | None = None

    # ---- loading ----

    @classmethod
    def load(
        cls,
        file: str | None,
        overrides: Iterable[tuple[str, list[str]]],
        rename_command: Callable[[str, str], None] | None = None,
    ) -> Config:
        """Read `file` (if any) then apply command-line overrides, as redis-server does.
        rename-command directives go to rename_command (the command table's; it raises
        ValueError with Redis's text for a bad one)."""
        cfg = cls()
        cfg._rename_command = rename_command
        if file is not None:
            cfg.file = os.path.abspath(file)
            with open(file, encoding="utf-8") as f:
                for lineno, line in enumerate(f, 1):
                    args = split_config_line(line)
                    if args is None:
                        raise ConfigError(
                            _fatal(
                                lineno, line.rstrip("\n"), "Unbalanced quotes in configuration line"
                            )
                        )
                    if not args:
                        continue
                    try:
                        cfg._apply_directive(args[0], args[1:])
                    except (ConfigError, ConfigSetError) as e:
                        raise ConfigError(_fatal(lineno, line.rstrip("\n"), str(e))) from None
        for name, args in overrides:
            try:
                cfg._apply_directive(name, args)
            except (ConfigError, ConfigSetError) as e:
                shown = " ".join([name, *args])
                raise ConfigError(_fatal(0, f"{shown}", str(e))) from None
        return cfg

    def _apply_directive(self, name: str, args: list[str]) -> None:
        name = name.lower()
        if name == "include":
            raise ConfigError("include is not supported")
        if name == "rename-command":  # the command table applies it (commands/registry.py)
            if len(args) != 2 or self._rename_command is None:
                raise ConfigError("Bad directive or wrong number of arguments")
            try:
                self._rename_command(args[0], args[1])
            except ValueError as e:
                raise ConfigError(str(e)) from None
            return
        p = self.param(name)
        if p is None or not args:
            raise ConfigError("Bad directive or wrong number of arguments")
        if name in ("replicaof", "slaveof") and len(args) == 1:
            args = args[0].split()  # --replicaof "host port" on the command line, as Redis
        if name in ("replicaof", "slaveof") and len(args) != 2:
            raise ConfigError("Bad directive or wrong number of arguments")
        value = " ".join(args)
        if p.kind == "special" and p.name == "save" and value == "":
            value = ""
        self.values[p.name] = _canonical(p, value)

    # ---- access ----

    @staticmethod
    def param(name: str) -> Param | None:
        name = name.lower()
        return PARAMS.get(ALIASES.get(name, name))

    def get(self, name: str) -> str:
        p = self.param(name)
        if p is None:
            raise KeyError(name)
        return self.values[p.name]

    def get_int(self, name: str) -> int:
        return int(self.get(name))

    def get_bool(self, name: str) -> bool:
        return self.get(name) == "yes"

    def matching(self, pattern: bytes) -> list[tuple[str, str]]:
        """CONFIG GET: (name, value) for every name (aliases included) matching the glob."""
        out = []
        pat = pattern.lower()
        if b"*" not in pat and b"?" not in pat and b"[" not in pat:
            p = self.param(pat.decode("utf-8", "replace"))
            if p is None:
                return []
            # Redis answers an exact name with the name as the client spelled it.
            return [(pattern.decode("utf-8", "replace"), self.values[p.name])]
        for name in list(PARAMS) + list(ALIASES):
            if stringmatch(pat, name.encode(), nocase=True):
                out.append((name, self.get(name)))
        return out

    def on_change(self, name: str, fn: Callable[[str], None]) -> None:
        self._listeners.setdefault(name, []).append(fn)

    # ---- runtime changes ----

    def set_many(self, pairs: list[tuple[str, str]]) -> None:
        """CONFIG SET a b [c d ...]: all or nothing, with Redis's error texts."""
        seen: set[str] = set()
        staged: list[tuple[Param, str]] = []
        for name, value in pairs:
            p = self.param(name)
            if p is None:
                raise ConfigSetError(
                    f"Unknown option or number of arguments for CONFIG SET - '{name}'"
                )
            try:
                if p.name in seen:
                    raise ConfigSetError("duplicate parameter")
                seen.add(p.name)
                if p.protected:
                    raise ConfigSetError("can't set protected config")
                if not p.mutable:
                    raise ConfigSetError("can't set immutable config")
                staged.append((p, _canonical(p, value)))
            except ConfigSetError as e:
                raise ConfigSetError(
                    f"CONFIG SET failed (possibly related to argument '{name}') - {e}"
                ) from None
        old = {p.name: self.values[p.name] for p, _ in staged}
        for p, v in staged:
            self.values[p.name] = v
        try:
            for p, v in staged:
                for fn in self._listeners.get(p.name, ()):
                    fn(v)
        except ConfigSetError as e:
            self.values.update(old)
            raise ConfigSetError(
                f"CONFIG SET failed (possibly related to argument '{p.name}') - {e}"
            ) from None

    # ---- CONFIG REWRITE ----

    def rewrite(self) -> None:
        """Rewrite the config file: keep comments and order, update changed directives,
        drop ones back at their default, append the rest (Redis's CONFIG REWRITE)."""
        if self.file is None:
            raise ConfigSetError("The server is running without a config file")
        try:
            with open(self.file, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            lines = []
        written: set[str] = set()
        out: list[str] = []
        for line in lines:
            args = split_config_line(line)
            if not args:
                if line.strip() != "# Generated by CONFIG REWRITE":
                    out.append(line)
                continue
            p = self.param(args[0])
            if p is None or p.name in written:
                if p is None:
                    out.append(line)
                continue
            written.add(p.name)
            if self.values[p.name] != p.default or p.name in ("port", "dir", "bind"):
                out.append(_format_directive(p.name, self.values[p.name]))
        extra = [
            _format_directive(name, v)
            for name, v in self.values.items()
            if name not in written and v != PARAMS[name].default
        ]
        if extra:
            out.append("# Generated by CONFIG REWRITE")
            out.extend(extra)
        tmp = self.file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write("\n".join(out) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.file)


def _format_directive(name: str, value: str) -> str:
    if value == "" or (
        any(ch in value for ch in " \"'\t")
        and name
        not in (
            "save",
            "bind",
            "client-output-buffer-limit",
            "oom-score-adj-values",
            "latency-tracking-info-percentiles",
            "replicaof",
        )
    ):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{name} "{escaped}"'
    return f"{name} {value}"


def _fatal(lineno: int, line: str, reason: str) -> str:
    where = (
        f"Reading the configuration file, at line {lineno}"
        if lineno
        else "Reading the command line"
    )
    return f"\n*** FATAL CONFIG FILE ERROR (pikadb) ***\n{where}\n>>> '{line.strip()}'\n{reason}"


def split_config_line(line: str) -> list[str] | None:
    """Split a config line as Redis does (sdssplitargs: quotes, escapes) after dropping
    '#' comments. Returns None on unbalanced quotes.

    The RESP parser's inline-command mode is exactly sdssplitargs, so it does the work.
    """
    s = line.strip()
    if not s or s.startswith("#"):
        return []
    raw = s.encode("utf-8", "surrogateescape")
    parser = Parser(max_inline=len(raw) + 2)
    parser.feed(raw + b"\n")
    try:
        args = parser.gets()
    except ProtocolError:
        return None
    return [a.decode("utf-8", "surrogateescape") for a in args or []]


def parse_command_line(argv: list[str]) -> tuple[str | None, list[tuple[str, list[str]]]]:
    """pikad [CONFIG_FILE] [--directive value ...]: like redis-server, a directive takes every
    following word up to the next '--name'."""
    file: str | None = None
    i = 0
    if argv and not argv[0].startswith("--"):
        file = argv[0]
        i = 1
    overrides: list[tuple[str, list[str]]] = []
    while i < len(argv):
        tok = argv[i]
        if not tok.startswith("--") or len(tok) == 2:
            raise ConfigError(
                f"\n*** FATAL CONFIG FILE ERROR (pikadb) ***\nReading the command line\n>>> '{tok}'\nBad directive or wrong number of arguments"
            )
        name = tok[2:]
        i += 1
        args: list[str] = []
        while i < len(argv) and not (argv[i].startswith("--") and len(argv[i]) > 2):
            args.append(argv[i])
            i += 1
        if not args:
            args = [""]  # `--save ""` style: an empty value
        overrides.append((name, args))
    return file, overrides
