"""Several worker processes behind one port (`workers N`, N > 1).

The coordinator is the process `pikad` started: it takes the data directory's lock, reads
(or creates) its format file to learn the shard count, forks one worker per share of the
shards and supervises them. Each worker is a whole pikad event loop (server/server.py)
that opens only the shards it owns (shard s belongs to worker s % N), listens on the port
with SO_REUSEPORT (the kernel spreads new connections over the workers) and forwards
commands for other workers' keys over the channel in server/peers.py.

A worker that dies (kill -9, a crash) is started again; its shards come back from RocksDB
and their binlogs exactly as after a restart of a single-process pikad. A worker that
exits with status 0 was asked to (SHUTDOWN): the coordinator then stops the others.
SIGTERM/SIGINT to the coordinator stop every worker the same way.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import secrets
import signal
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

from pikadb.config import Config
from pikadb.log import log
from pikadb.server.listen import listen_sockets

RESTART_DELAY_S = (0.05, 0.2, 0.5, 1.0, 2.0)  # after 1, 2, ... deaths in a short while
FAST_DEATHS = 5  # this many deaths within FAST_WINDOW_S of starting: give up
FAST_WINDOW_S = 2.0
PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class WorkerRole:
    index: int
    count: int
    coordinator_pid: int
    # This worker's listening sockets (one per bind address), made by the coordinator and
    # kept open there: connections that reach a dead worker's socket wait in its backlog
    # for the restarted worker instead of being refused.
    sockets: tuple[socket.socket, ...] = ()
    # The server's identity, the same in every worker (INFO run_id, master_replid).
    run_id: str = ""
    replid: str = ""
    # One 8-byte slot per worker, shared by all (mmap before fork): each worker's count of
    # connected clients, so maxclients limits the server, not each worker.
    client_counts: mmap.mmap | None = None

    def publish_clients(self, n: int) -> None:
        if self.client_counts is not None:
            struct.pack_into("q", self.client_counts, 8 * self.index, n)

    def total_clients(self) -> int:
        counts = self.client_counts
        if counts is None:
            return 0
        return sum(struct.unpack_from(f"{self.count}q", counts, 0))

    def owns(self, shard: int) -> bool:
        return shard % self.count == self.index


def _die_with_parent(parent: int) -> None:
    """A kill -9 of the coordinator takes its workers along (Linux's PR_SET_PDEATHSIG), as
    a kill -9 of a one-process pikad takes everything: no orphan keeps the port or data."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # it died before the request took effect
        os._exit(1)


class Coordinator:
    def __init__(
        self,
        config: Config,
        count: int,
        run_worker: Callable[[Config, WorkerRole], int],
    ) -> None:
        self.config = config
        self.count = count
        self.run_worker = run_worker
        self.pids: dict[int, int] = {}  # pid -> worker index
        self.started: dict[int, float] = {}  # worker index -> start time
        self.quick_deaths: dict[int, int] = {}
        self.stopping = False
        self.exit_code = 0
        self.sockets: list[list[socket.socket]] = []
        self.run_id = secrets.token_hex(20)
        self.client_counts = mmap.mmap(-1, 8 * count)
        self.replid = secrets.token_hex(20)

    def _spawn(self, index: int) -> None:
        struct.pack_into("q", self.client_counts, 8 * index, 0)  # a restart starts empty
        role = WorkerRole(
            index,
            self.count,
            os.getpid(),
            tuple(self.sockets[index]),
            self.run_id,
            self.replid,
            self.client_counts,
        )
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
                    signal.signal(sig, signal.SIG_DFL)
                _die_with_parent(role.coordinator_pid)
                for i, socks in enumerate(self.sockets):
                    if i != index:
                        for s in socks:
                            s.close()
                code = self.run_worker(self.config, role)
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else 1
            except BaseException as e:  # a worker must never return into our loop
                log.warning(f"worker {index}: {type(e).__name__}: {e}")
            finally:
                os._exit(code)
        self.pids[pid] = index
        self.started[index] = time.monotonic()
        log.notice(f"Worker {index} started, pid={pid}")

    def _on_signal(self, signum: int, _frame: object) -> None:
        if not self.stopping:
            log.warning("Received a stop signal: stopping the workers...")
        self.stopping = True
        for pid in list(self.pids):
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        config = self.config
        try:
            self.sockets = listen_sockets(
                config.get("bind").split(), config.get_int("port"), True, self.count
            )
        except OSError:
            return 1
        log.notice(f"Coordinator pid={os.getpid()}: starting {self.count} workers")
        for i in range(self.count):
            self._spawn(i)
        while self.pids:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            index = self.pids.pop(pid, None)
            if index is None:
                continue
            self._ended(index, pid, status)
        log.warning("pikadb is now ready to exit, bye bye...")
        return self.exit_code

    def _ended(self, index: int, pid: int, status: int) -> None:
        if self.stopping:
            return
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
            log.warning(f"Worker {index} (pid {pid}) shut down: stopping the others")
            self._on_signal(signal.SIGTERM, None)
            return
        how = (
            f"killed by signal {os.WTERMSIG(status)}"
            if os.WIFSIGNALED(status)
            else f"exited with status {os.WEXITSTATUS(status)}"
        )
        alive_for = time.monotonic() - self.started.get(index, 0.0)
        quick = self.quick_deaths.get(index, 0) + 1 if alive_for < FAST_WINDOW_S else 0
        self.quick_deaths[index] = quick
        if quick >= FAST_DEATHS:
            log.warning(f"Worker {index} (pid {pid}) {how}, {quick} times at start: giving up")
            self.exit_code = 1
            self._on_signal(signal.SIGTERM, None)
            return
        delay = RESTART_DELAY_S[min(quick, len(RESTART_DELAY_S) - 1)]
        log.warning(f"Worker {index} (pid {pid}) {how}: restarting it in {delay:.2f} s")
        time.sleep(delay)
        if not self.stopping:
            self._spawn(index)
