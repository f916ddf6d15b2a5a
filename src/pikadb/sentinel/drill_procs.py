"""Processes of the failover drill: the servers and sentinels it starts, and the master
processes of an attached deployment that it signals.

Every process the drill starts is a child in its own session (a Ctrl-C on the terminal reaches
the drill only, which then stops them), listens on a free port of 127.0.0.1, keeps its files in
a directory of the drill's temporary directory, and is stopped by PID: SIGCONT (it may be
stopped by a `stop` fault), SIGTERM, then SIGKILL after a timeout. Nothing is ever signalled
by name.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

LOOPBACK = "127.0.0.1"
Addr = tuple[str, int]
T = TypeVar("T")


class DrillError(RuntimeError):
    """The deployment did not do what the drill waited for (the message says what)."""


def fmt_addr(addr: Addr | None) -> str:
    return "-" if addr is None else f"{addr[0]}:{addr[1]}"


def parse_addr(text: str) -> Addr:
    host, _, port = text.strip().rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"not HOST:PORT: {text!r}")
    return host, int(port)


_handed_out: set[int] = set()


def free_port() -> int:
    """A port of 127.0.0.1 nobody listens on now, not handed out before by this process."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((LOOPBACK, 0))
            port = int(s.getsockname()[1])
        if port not in _handed_out:
            _handed_out.add(port)
            return port
    raise DrillError("no free port found after 100 tries")


def wait_for(
    predicate: Callable[[], T | None],
    timeout: float,
    what: str,
    interval: float = 0.05,
) -> T:
    """Poll predicate() until it returns something truthy (returned), at most timeout seconds;
    an exception inside predicate counts as 'not yet'. DrillError on timeout."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            value = predicate()
            if value:
                return value
            last = value
        except Exception as e:
            last = e
        if time.monotonic() >= deadline:
            raise DrillError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")
        time.sleep(interval)


def answers_ping(addr: Addr, timeout: float = 1.0) -> bool:
    """Any RESP reply to PING (+PONG, -NOAUTH, -LOADING): the process serves its port."""
    try:
        with socket.create_connection(addr, timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            return s.recv(64)[:1] in (b"+", b"-")
    except OSError:
        return False


def pid_running(pid: int) -> bool:
    """Is there a process with this PID that is not a zombie?"""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return False
    state = stat.rpartition(")")[2].split()[:1]
    return state != ["Z"]


def _signal_pid(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


# ---- processes the drill starts ----


class Proc:
    """A child process serving 127.0.0.1:<port>, with its files under base/."""

    kind = "process"

    def __init__(self, base: Path, port: int) -> None:
        self.base = base
        self.base.mkdir(parents=True, exist_ok=True)
        self.port = port
        self.addr: Addr = (LOOPBACK, port)
        self.log_path = base / "output.log"
        self.popen: subprocess.Popen[bytes] | None = None
        self.pids: list[int] = []  # every PID this object ever started

    def argv(self) -> list[str]:
        raise NotImplementedError

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen is not None else None

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def spawn(self) -> None:
        if self.alive:
            raise DrillError(f"{self.kind} {fmt_addr(self.addr)} is already running")
        argv = self.argv()
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        with open(self.log_path, "ab") as out:
            out.write(f"\n---- {' '.join(argv)}\n".encode())
            out.flush()
            self.popen = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.base,
                env=env,
                start_new_session=True,
            )
        self.pids.append(self.popen.pid)

    def start(self, timeout: float = 30.0) -> None:
        """Spawn and wait until the port answers PING."""
        self.spawn()
        deadline = time.monotonic() + timeout
        while not answers_ping(self.addr, 0.5):
            if not self.alive:
                raise DrillError(
                    f"{self.kind} on port {self.port} exited with status "
                    f"{self.popen.returncode if self.popen else None}\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                self.kill()
                raise DrillError(
                    f"{self.kind} did not answer PING on port {self.port} within "
                    f"{timeout:.0f}s\n{self.log_tail()}"
                )
            time.sleep(0.05)

    def send(self, sig: int) -> None:
        """Signal the running process by its PID (no-op when it is not running)."""
        if self.alive and self.popen is not None:
            _signal_pid(self.popen.pid, sig)

    def kill(self) -> None:
        """SIGKILL (kill -9) and reap."""
        if self.popen is None:
            return
        self.send(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(10)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGCONT (in case a fault stopped it), SIGTERM, SIGKILL after timeout; reaped."""
        if self.popen is None:
            return
        self.send(signal.SIGCONT)
        self.send(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        tail = "\n".join(text.splitlines()[-lines:])
        return f"---- last lines of {self.log_path} ----\n{tail}"


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise DrillError(f"{name} is not installed (Debian: apt-get install {name})")
    return path


class ServerProc(Proc):
    """pikad (`python -m pikadb`, the interpreter running the drill) or redis-server (no
    persistence), configured on its command line; `replicaof` None starts it as a master."""

    def __init__(
        self, base: Path, port: int, kind: str, extra: dict[str, str] | None = None
    ) -> None:
        super().__init__(base, port)
        self.kind = kind
        self.data_dir = base / "data"
        self.data_dir.mkdir(exist_ok=True)
        self.extra = dict(extra or {})
        self.replicaof: Addr | None = None

    def argv(self) -> list[str]:
        conf: dict[str, str] = {"bind": LOOPBACK, "port": str(self.port), "dir": str(self.data_dir)}
        if self.kind == "pikad":
            argv = [sys.executable, "-m", "pikadb"]
        else:
            argv = [_binary("redis-server")]
            conf.update(save="", appendonly="no", daemonize="no", repl_diskless_sync_delay="0")
        conf.update(self.extra)
        if self.replicaof is not None:
            conf["replicaof"] = f"{self.replicaof[0]} {self.replicaof[1]}"
        for name, value in conf.items():
            argv += [f"--{name.replace('_', '-')}", value]
        return argv

    def restart_as_master(self, timeout: float = 30.0) -> None:
        """Start again (same port, same data) as the master it was when it went down, like a
        server whose config file was never rewritten; the sentinels convert it."""
        self.replicaof = None
        self.start(timeout)


class SentinelProc(Proc):
    """pika-sentinel (`python -m pikadb.sentinel FILE`) or Debian's redis-sentinel, with a
    sentinel.conf written before the first start (the sentinel rewrites it afterwards)."""

    def __init__(self, base: Path, port: int, kind: str, conf_lines: list[str]) -> None:
        super().__init__(base, port)
        self.kind = "pika-sentinel" if kind == "pika" else "redis-sentinel"
        self.conf_path = base / "sentinel.conf"
        head = [f"port {port}", f"bind {LOOPBACK}", f"dir {base}"]
        self.conf_path.write_text("\n".join(head + conf_lines) + "\n")

    def argv(self) -> list[str]:
        if self.kind == "pika-sentinel":
            return [sys.executable, "-m", "pikadb.sentinel", str(self.conf_path)]
        return [_binary("redis-sentinel"), str(self.conf_path)]


# ---- a master process of an attached deployment ----


class ExternalProc:
    """A local server process the drill did not start, known by the PID it reports in INFO
    server (process_id). How to start it again is worked out before a kill: its executable
    with its config file (INFO server executable + config_file, the file the sentinels'
    CONFIG REWRITE keeps up to date), else its command line from /proc when that is still the
    original one (redis-server rewrites its process title). The new process replaces the
    user's and is left running at the end."""

    kind = "external"

    def __init__(self, addr: Addr, pid: int, server_info: dict[str, object]) -> None:
        self.addr = addr
        self.pid = pid
        self.argv = _restart_argv(pid, server_info)
        self.cwd = "/"
        with contextlib.suppress(OSError):
            self.cwd = os.readlink(f"/proc/{pid}/cwd")
        self.restarted: list[int] = []

    def send(self, sig: int) -> None:
        _signal_pid(self.pid, sig)

    def kill(self) -> None:
        if not self.argv:
            raise DrillError(
                f"{fmt_addr(self.addr)} (pid {self.pid}) could not be started again after a "
                "kill: it has no config file and its command line is not known; use --fault stop"
            )
        self.send(signal.SIGKILL)
        deadline = time.monotonic() + 10
        while pid_running(self.pid) and time.monotonic() < deadline:
            time.sleep(0.02)

    def restart_as_master(self, timeout: float = 30.0) -> None:
        """Start it again the same way, in the same directory (its config decides the role)."""
        try:
            popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd=self.cwd,
                start_new_session=True,
            )
        except OSError as e:
            raise DrillError(f"cannot start {' '.join(self.argv)}: {e}") from e
        self.restarted.append(popen.pid)
        wait_for(lambda: answers_ping(self.addr, 0.5), timeout, f"{fmt_addr(self.addr)} to serve")


def _restart_argv(pid: int, server_info: dict[str, object]) -> list[str]:
    config_file = str(server_info.get("config_file") or "")
    executable = str(server_info.get("executable") or "")
    if not executable:
        with contextlib.suppress(OSError):
            executable = os.readlink(f"/proc/{pid}/exe")
    if config_file and executable and "python" not in os.path.basename(executable):
        return [executable, config_file]
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    argv = [a.decode(errors="replace") for a in raw.split(b"\0") if a]
    # One word holding spaces: a process title, not the command line it was started with.
    return argv if len(argv) > 1 or (argv and " " not in argv[0]) else []
