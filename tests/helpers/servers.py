"""Real server processes for integration tests: pikad under test, redis-server as the oracle.

Every server is a child of the test process, listens on a free port of 127.0.0.1, keeps its
data in its own temporary directory, and is stopped by PID (SIGTERM, then SIGKILL after a
timeout) by whoever started it: the fixtures in tests/conftest.py, and, as a last resort, an
atexit hook here that kills anything still registered as running. Nothing is ever stopped by
name.

pikad runs as `[sys.executable, "-m", "pikadb", ...]`, so the suite tests whatever `pikadb`
that interpreter imports: the installed package (`pip install .`), or a source tree when the
caller sets PYTHONPATH (relative entries are made absolute because servers run with their
temporary directory as cwd). Config is passed the redis-server way, `--directive value`.

Layout of one server's temporary base directory:
    data/         the server's `dir`
    output.log    its stdout+stderr (pikad and redis-server log there unless `logfile` is set)

Two switches, set from conftest (pytest options or environment variables):
    SETTINGS.shards   -> `--shards N` for every pikad (PIKADB_TEST_SHARDS)
    SETTINGS.workers  -> `--workers N` for every pikad (PIKADB_TEST_WORKERS)
    SETTINGS.core     -> `--command-core yes|no` for every pikad (PIKADB_TEST_CORE)
    SETTINGS.target   -> "redis" starts redis-server wherever a pikad was asked for, to check
                         the harness and the differential cases against Redis on both sides
                         (PIKADB_TEST_TARGET=redis); pikad-only directives are then dropped.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import redis

from helpers.ports import free_port
from helpers.raw import RawConnection


@dataclass
class Settings:
    shards: int | None = None
    workers: int | None = None
    core: str | None = None
    target: str = "pikad"  # "pikad" or "redis"
    ready_timeout: float = 30.0
    stop_timeout: float = 15.0


SETTINGS = Settings()

# Directives only pikad knows; dropped when a redis-server stands in for pikad.
PIKAD_ONLY_DIRECTIVES = frozenset(
    {
        "shards",
        "workers",
        "sync-writes",
        "rocksdb-block-cache-size",
        "rocksdb-write-buffer-size",
        "command-core",
        "key-cache-size",
    }
)

_LIVE: dict[int, ServerProcess] = {}  # pid -> server, for the atexit safety net


class ServerStartError(RuntimeError):
    """A server did not come up; the message carries its exit status and log tail."""


def _flag_value(value: object) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return str(value)


def config_args(config: dict[str, object]) -> list[str]:
    """{'sync_writes': True, 'port': 1} -> ['--sync-writes', 'yes', '--port', '1']"""
    out: list[str] = []
    for name, value in config.items():
        out += [f"--{name}", _flag_value(value)]
    return out


def _normalize_names(kwargs: dict[str, object]) -> dict[str, object]:
    # Python keywords cannot hold '-': sync_writes=... means the directive sync-writes.
    return {k.replace("_", "-"): v for k, v in kwargs.items()}


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    if env.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.pathsep.join(
            os.path.abspath(p) for p in env["PYTHONPATH"].split(os.pathsep) if p
        )
    env["PYTHONUNBUFFERED"] = "1"
    if extra:
        env.update(extra)
    return env


def pikad_command() -> list[str]:
    """How pikad is started: the test interpreter running the pikadb package."""
    return [sys.executable, "-m", "pikadb"]


def redis_server_binary() -> str:
    path = shutil.which("redis-server")
    if path is None:
        raise ServerStartError(
            "redis-server is not installed (the differential tests need it as the oracle); "
            "`make test` installs it, or: apt-get install redis-server redis-tools"
        )
    return path


# ---- one server process ----


class ServerProcess:
    """A server child process on 127.0.0.1:<port> with its own temporary directory."""

    kind = "server"

    def __init__(
        self,
        base: Path,
        config: dict[str, object] | None = None,
        *,
        port: int | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.base = Path(base)
        self.base.mkdir(parents=True, exist_ok=True)
        self.dir = self.base / "data"
        self.dir.mkdir(exist_ok=True)
        self.output_path = self.base / "output.log"
        self.config: dict[str, object] = dict(config or {})
        self._fixed_port = port is not None
        self.port = port if port is not None else free_port()
        self.host = "127.0.0.1"
        self.extra_env = env or {}
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self._clients: list[redis.Redis] = []
        self._raws: list[RawConnection] = []

    # -- to be provided by subclasses --

    def argv(self) -> list[str]:
        raise NotImplementedError

    # -- lifecycle --

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def spawn(self) -> subprocess.Popen:
        """Start the process without waiting for it to serve (CLI tests use this)."""
        if self.alive:
            raise RuntimeError(f"{self.kind} pid {self.pid} is already running")
        self.starts += 1
        argv = self.argv()
        with open(self.output_path, "ab") as out:
            out.write(f"\n---- start #{self.starts}: {' '.join(argv)}\n".encode())
            out.flush()
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.base,
                env=child_env(self.extra_env),
                start_new_session=True,  # a Ctrl-C on pytest does not reach it; we stop it
            )
        _LIVE[self.proc.pid] = self
        return self.proc

    def start(self, timeout: float | None = None) -> ServerProcess:
        """Spawn and wait until the port answers PING. On a port race (someone else took the
        port between free_port() and bind) a fresh port is tried, unless the port was fixed."""
        for attempt in range(3):
            self.spawn()
            try:
                self.wait_ready(timeout)
                return self
            except ServerStartError:
                in_use = "address already in use" in self.log_tail(30).lower()
                self._terminate(signal.SIGKILL, 5)
                if in_use and not self._fixed_port and attempt < 2:
                    self.port = free_port()
                    continue
                raise
        raise AssertionError("unreachable")

    def wait_ready(self, timeout: float | None = None) -> None:
        """Until PING gets +PONG (or NOAUTH: up, but password-protected)."""
        timeout = SETTINGS.ready_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        last_error = "no attempt"
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise ServerStartError(
                    f"{self.kind} exited with status {self.returncode} before serving "
                    f"on port {self.port}\n{self._describe()}"
                )
            try:
                with socket.create_connection((self.host, self.port), timeout=1.0) as s:
                    s.settimeout(2.0)
                    s.sendall(b"*1\r\n$4\r\nPING\r\n")
                    reply = s.recv(256)
                if reply.startswith((b"+PONG", b"-NOAUTH")):
                    return
                last_error = f"PING answered {reply!r}"
            except OSError as e:
                last_error = repr(e)
            time.sleep(0.05)
        raise ServerStartError(
            f"{self.kind} did not answer PING on port {self.port} within {timeout}s "
            f"(last: {last_error})\n{self._describe()}"
        )

    def _terminate(self, sig: int, timeout: float) -> int | None:
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, sig)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGKILL)
                proc.wait(10)
        _LIVE.pop(proc.pid, None)
        return proc.returncode

    def _close_connections(self) -> None:
        for c in self._clients:
            with contextlib.suppress(Exception):
                c.close()
        for r in self._raws:
            r.close()
        self._clients.clear()
        self._raws.clear()

    def stop(self, timeout: float | None = None) -> int | None:
        """SIGTERM, then SIGKILL if it has not exited after timeout seconds. Returns the exit
        status (negative: killed by that signal). Safe to call on a stopped server."""
        self._close_connections()
        return self._terminate(
            signal.SIGTERM, SETTINGS.stop_timeout if timeout is None else timeout
        )

    def kill(self) -> int | None:
        """SIGKILL (kill -9): no chance to flush or clean up."""
        self._close_connections()
        return self._terminate(signal.SIGKILL, 10)

    def restart(
        self, *, kill: bool = False, timeout: float | None = None, **config: object
    ) -> ServerProcess:
        """Stop (SIGTERM, or SIGKILL with kill=True) and start again on the same port and dir,
        with config overrides if given."""
        if kill:
            self.kill()
        else:
            self.stop()
        self.config.update(_normalize_names(config))
        return self.start(timeout)

    # -- talking to it --

    def client(self, **kwargs: object) -> redis.Redis:
        """A redis-py client (bytes replies unless decode_responses=True is passed)."""
        kwargs.setdefault("decode_responses", False)
        kwargs.setdefault("socket_timeout", 30)
        c = redis.Redis(host=self.host, port=self.port, **kwargs)
        self._clients.append(c)
        return c

    def raw(self, timeout: float = 10.0) -> RawConnection:
        """A new raw RESP connection."""
        r = RawConnection(self.port, self.host, timeout=timeout)
        self._raws.append(r)
        return r

    # -- logs --

    def log_text(self) -> str:
        """Everything the server printed (all starts), plus its logfile if one is set."""
        parts = []
        if self.output_path.exists():
            parts.append(self.output_path.read_text(errors="replace"))
        logfile = self.config.get("logfile")
        if logfile:
            path = Path(str(logfile))
            if not path.is_absolute():
                path = self.base / path
            if path.exists():
                parts.append(path.read_text(errors="replace"))
        return "".join(parts)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def _describe(self) -> str:
        return (
            f"command: {' '.join(self.argv())}\n"
            f"---- last log lines ({self.output_path}) ----\n{self.log_tail()}"
        )

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.alive else f"exited {self.returncode}"
        return f"<{type(self).__name__} 127.0.0.1:{self.port} {state} dir={self.dir}>"


class PikadServer(ServerProcess):
    """pikad, the server under test."""

    kind = "pikad"

    def argv(self) -> list[str]:
        config: dict[str, object] = {"bind": "127.0.0.1", "port": self.port, "dir": self.dir}
        if SETTINGS.shards is not None:
            config["shards"] = SETTINGS.shards
        if SETTINGS.workers is not None:
            config["workers"] = SETTINGS.workers
        if SETTINGS.core is not None:
            config["command-core"] = SETTINGS.core
        config.update(self.config)
        return pikad_command() + config_args(config)


class ArgvServer(ServerProcess):
    """A server started with an exact command line (CLI tests: config files, defaults).
    The port is whatever that command line makes it listen on."""

    kind = "pikad"

    def __init__(
        self, base: Path, argv: list[str], *, port: int, env: dict[str, str] | None = None
    ) -> None:
        super().__init__(base, {}, port=port, env=env)
        self._argv = [str(a) for a in argv]

    def argv(self) -> list[str]:
        return list(self._argv)


class RedisServer(ServerProcess):
    """redis-server, the oracle: no persistence, foreground."""

    kind = "redis-server"

    def argv(self) -> list[str]:
        config: dict[str, object] = {
            "bind": "127.0.0.1",
            "port": self.port,
            "dir": self.dir,
            "save": "",
            "appendonly": "no",
            "daemonize": "no",
        }
        config.update(self.config)
        return [redis_server_binary(), *config_args(config)]


class RedisAsPikad(RedisServer):
    """A redis-server where a pikad was asked for (SETTINGS.target == "redis")."""

    kind = "redis-server (standing in for pikad)"

    def argv(self) -> list[str]:
        saved = self.config
        self.config = {k: v for k, v in saved.items() if k not in PIKAD_ONLY_DIRECTIVES}
        try:
            return super().argv()
        finally:
            self.config = saved


# ---- starters ----


def make_pikad(base: Path, **config: object) -> PikadServer:
    """A pikad (or its stand-in) configured but not started."""
    cls = RedisAsPikad if SETTINGS.target == "redis" else PikadServer
    return cls(base, _normalize_names(config))


def start_pikad(base: Path, **config: object) -> PikadServer:
    """Start pikad with `--name value` for each config item and wait until it serves."""
    server = make_pikad(base, **config)
    try:
        server.start()
    except BaseException:
        server.kill()
        raise
    return server


def start_redis(base: Path, **config: object) -> RedisServer:
    """Start the redis-server oracle and wait until it serves."""
    server = RedisServer(base, _normalize_names(config))
    try:
        server.start()
    except BaseException:
        server.kill()
        raise
    return server


def stop_all() -> None:
    """Kill whatever is still running (last resort; fixtures normally stopped it already)."""
    for server in list(_LIVE.values()):
        with contextlib.suppress(Exception):
            server.stop(timeout=5)


atexit.register(stop_all)


# ---- sentinels and replicated groups (pika-sentinel interop tests) ----


def sentinel_conf_text(port: int, monitors: list[str], lines: list[str] | None = None) -> str:
    """A minimal sentinel.conf: port, bind 127.0.0.1, then `sentinel ...` lines. monitors are
    'name ip port quorum' strings; lines are further directives, written as given."""
    out = [f"port {port}", "bind 127.0.0.1"]
    out += [f"sentinel monitor {m}" for m in monitors]
    out += list(lines or [])
    return "\n".join(out) + "\n"


class PikaSentinelProcess(ServerProcess):
    """pika-sentinel, run as `python -m pikadb.sentinel <base>/sentinel.conf`. The file is
    written on the first start only: later starts (restart()) read back what the sentinel
    rewrote into it, as a restarted production sentinel does."""

    kind = "pika-sentinel"

    def __init__(
        self, base: Path, monitors: list[str], lines: list[str] | None = None, **kw: object
    ) -> None:
        super().__init__(base, {}, **kw)  # type: ignore[arg-type]
        self.conf_path = self.base / "sentinel.conf"
        self.monitors = list(monitors)
        self.lines = list(lines or [])

    def write_conf(self) -> None:
        if not self.conf_path.exists():
            self.conf_path.write_text(sentinel_conf_text(self.port, self.monitors, self.lines))

    def spawn(self) -> subprocess.Popen:
        self.write_conf()
        return super().spawn()

    def argv(self) -> list[str]:
        return [sys.executable, "-m", "pikadb.sentinel", str(self.conf_path)]

    def conf_text(self) -> str:
        return self.conf_path.read_text()


class RedisSentinelProcess(PikaSentinelProcess):
    """Debian's redis-sentinel with the same kind of config file (the oracle)."""

    kind = "redis-sentinel"

    def argv(self) -> list[str]:
        path = shutil.which("redis-sentinel")
        if path is None:
            raise ServerStartError(
                "redis-sentinel is not installed (apt-get install redis-sentinel)"
            )
        return [path, str(self.conf_path)]


def start_sentinel(
    base: Path,
    monitors: list[str],
    lines: list[str] | None = None,
    *,
    kind: str = "pika",
) -> PikaSentinelProcess:
    """Start a pika-sentinel (kind='pika') or redis-sentinel (kind='redis') and wait until it
    answers PING."""
    cls = RedisSentinelProcess if kind == "redis" else PikaSentinelProcess
    sentinel = cls(base, monitors, lines)
    try:
        sentinel.start()
    except BaseException:
        sentinel.kill()
        raise
    return sentinel


def wait_until(
    predicate: object, timeout: float = 20.0, interval: float = 0.05, what: str = "condition"
) -> object:
    """Poll predicate() until it returns a truthy value (returned); AssertionError after
    timeout seconds. Exceptions inside predicate count as 'not yet'."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            last = predicate()  # type: ignore[operator]
            if last:
                return last
        except Exception as e:
            last = e
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")
        time.sleep(interval)


def replication_info(server: ServerProcess) -> dict[str, str]:
    """INFO replication of a server as a dict of strings."""
    c = redis.Redis(host=server.host, port=server.port, socket_timeout=5, decode_responses=True)
    try:
        text = c.execute_command("INFO", "replication")
    finally:
        c.close()
    if isinstance(text, dict):
        return {k: str(v) for k, v in text.items()}
    return dict(line.split(":", 1) for line in str(text).splitlines() if ":" in line)


def start_replicated_group(
    make: object, replicas: int = 2, timeout: float = 20.0, **config: object
) -> list[ServerProcess]:
    """Start a master and `replicas` replicas of it (`replicaof`), each through make(**config)
    (a factory returning a started server, e.g. conftest's redis_factory), and wait until
    every replica reports its master link up. Returns [master, replica, ...]."""
    master = make(**config)  # type: ignore[operator]
    group = [master]
    for _ in range(replicas):
        group.append(make(replicaof=f"{master.host} {master.port}", **config))  # type: ignore[operator]
    for replica in group[1:]:
        wait_until(
            lambda r=replica: replication_info(r).get("master_link_status") == "up",
            timeout,
            what=f"replica {replica.port} to sync with master {master.port}",
        )
    return group


def _process_tree(pid: int) -> list[int]:
    """pid and its children (a pikad with workers is a coordinator and its workers)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            children = [int(c) for c in f.read().split()]
    except OSError:
        children = []
    return [pid, *children]


def sigstop(server: ServerProcess) -> None:
    """SIGSTOP: the server hangs (its sockets stay open, nothing answers), every worker."""
    assert server.proc is not None
    for pid in _process_tree(server.proc.pid):
        os.kill(pid, signal.SIGSTOP)


def sigcont(server: ServerProcess) -> None:
    assert server.proc is not None
    for pid in _process_tree(server.proc.pid):
        os.kill(pid, signal.SIGCONT)
