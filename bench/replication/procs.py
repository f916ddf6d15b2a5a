"""Servers for the replication bench: pikad and redis-server children of this process.

Each server gets a free 127.0.0.1 port (bench.compare.free_port), its own directory under
one temporary directory, a log file, and its own session (a Ctrl-C in the terminal reaches
only the bench, which then stops them). Servers.close() stops every server still running
by PID (bench.compare.stop: SIGTERM, SIGKILL after 20 s) and deletes the directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import redis

from bench.compare import free_port, stop, wait_ping

T = TypeVar("T")


class BenchTimeout(RuntimeError):
    """A bounded wait ran out."""


def wait_until(pred: Callable[[], T], timeout: float, what: str, interval: float = 0.05) -> T:
    """Poll pred() until it returns something truthy (returned); BenchTimeout after timeout
    seconds. Connection errors count as 'not yet'."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            value = pred()
            if value:
                return value
            last = value
        except (redis.ConnectionError, redis.TimeoutError) as e:
            last = e
        if time.monotonic() >= deadline:
            raise BenchTimeout(f"timed out after {timeout:.0f} s waiting for {what} ({last!r})")
        time.sleep(interval)


@dataclass
class Server:
    kind: str  # "pikad" | "redis"
    name: str
    port: int
    dir: str
    logfile: str
    proc: subprocess.Popen

    def client(self, timeout: float = 30.0) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=timeout)

    def info(self, section: str) -> dict[str, str]:
        c = self.client(10.0)
        try:
            raw = c.execute_command("INFO", section)
        finally:
            c.close()
        if isinstance(raw, dict):
            return {str(k): str(v) for k, v in raw.items()}
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)

    def dbsize(self) -> int:
        c = self.client(10.0)
        try:
            return int(c.dbsize())  # type: ignore[arg-type]
        finally:
            c.close()

    def log_text(self) -> str:
        try:
            with open(self.logfile, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log_tail(self, lines: int = 15) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


class Servers:
    """Every server of one bench run; a context manager that stops them all."""

    def __init__(self) -> None:
        self.tmp = tempfile.mkdtemp(prefix="pikadb-replbench-")
        self.running: list[Server] = []
        self._count = 0

    def start(self, kind: str, name: str, config: dict[str, str] | None = None) -> Server:
        """Start a pikad or redis-server with `--directive value` for each config item."""
        self._count += 1
        base = os.path.join(self.tmp, f"{self._count:02d}-{kind}-{name}")
        data = os.path.join(base, "data")
        os.makedirs(data)
        port = free_port()
        logfile = os.path.join(base, "server.log")
        args = {"bind": "127.0.0.1", "port": str(port), "dir": data, "logfile": logfile}
        if kind == "pikad":
            argv = [sys.executable, "-m", "pikadb"]
        else:
            argv = [shutil.which("redis-server") or "redis-server"]
            args.update({"save": "", "appendonly": "no", "daemonize": "no"})
        args.update(config or {})
        for k, v in args.items():
            argv += [f"--{k}", v]
        with open(os.path.join(base, "output.log"), "wb") as out:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=base,
                start_new_session=True,
            )
        server = Server(kind, name, port, data, logfile, proc)
        self.running.append(server)
        wait_ping(port, proc)
        return server

    def stop(self, server: Server) -> None:
        """Stop one server by PID and delete its files (frees the disk between runs)."""
        stop([server.proc])
        if server in self.running:
            self.running.remove(server)
        shutil.rmtree(os.path.dirname(server.dir), ignore_errors=True)

    def close(self) -> None:
        stop([s.proc for s in self.running])
        self.running.clear()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> Servers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def link_up(replica: Server) -> bool:
    info = replica.info("replication")
    return info.get("master_link_status") == "up" and info.get("master_sync_in_progress") == "0"


def pair(
    servers: Servers, kind: str, config: dict[str, str] | None = None
) -> tuple[Server, Server]:
    """A master and one replica of it, link up (at most 60 s)."""
    master = servers.start(kind, "master", config)
    replica = servers.start(kind, "replica", config)
    replica.client().execute_command("REPLICAOF", "127.0.0.1", master.port)
    wait_until(lambda: link_up(replica), 60, f"{kind} replica link up")
    return master, replica


def caught_up(master: Server, replica: Server) -> bool:
    """The replica applied everything the master wrote (replication offsets equal)."""
    want = master.info("replication")["master_repl_offset"]
    info = replica.info("replication")
    return info.get("master_link_status") == "up" and info.get("slave_repl_offset") == want
