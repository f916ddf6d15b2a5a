"""Events: the one door every state change goes through (Redis's sentinelEvent).

emit(level, type, instance, text) logs `<type> <message>`, publishes the message on the
sentinel's own pub/sub with the event type as the channel (clients SUBSCRIBE +switch-master,
or PSUBSCRIBE *), and for warning-level events about a master that has a
notification-script, queues that script with the arguments `<type> <message>`. The message
is Redis's: when `instance` is given and `text` starts with '%@' the instance description
('master mymaster 127.0.0.1 6379', or for a replica 'slave 127.0.0.1:6380 127.0.0.1 6380 @
mymaster 127.0.0.1 6379') replaces it. Debug-level events are only logged.

Scripts (notification-script, client-reconfig-script) run as Redis runs them: at most 16 at a
time from a queue of at most 256 (the oldest waiting job is dropped beyond that); a script
exiting with 1 or killed by a signal is retried up to 10 times with a doubling delay from 30
seconds; one running longer than 60 seconds is killed (-script-timeout); any other failure
is reported once with -script-error. The timings come from the Timings dataclass so SENTINEL
DEBUG (and tests) can shrink them.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pikadb.log import DEBUG, NOTICE, VERBOSE, WARNING, log
from pikadb.sentinel.link import mstime

if TYPE_CHECKING:
    from pikadb.sentinel.instance import Instance

__all__ = ["DEBUG", "NOTICE", "VERBOSE", "WARNING", "Events", "ScriptJob"]

SCRIPT_MAX_QUEUE = 256
SCRIPT_MAX_RUNNING = 16
SCRIPT_MAX_RETRY = 10


@dataclass
class ScriptJob:
    argv: list[str]
    running: bool = False
    retry_num: int = 0
    start_time: int = 0  # running: when it started; waiting: not before this time (0: now)
    pid: int = 0
    process: asyncio.subprocess.Process | None = field(default=None, repr=False)
    timeout_killed: bool = False


class Events:
    """Event emission and the script queue of one sentinel."""

    def __init__(
        self,
        publish: Callable[[str, str], None],
        timings: object,
        announce_hostnames: Callable[[], bool] = lambda: False,
    ) -> None:
        self._publish = publish
        self.timings = timings
        self._announce_hostnames = announce_hostnames
        self.queue: list[ScriptJob] = []
        self.running = 0

    # ---- events ----

    def emit(self, level: int, type_: str, ri: Instance | None, text: str = "%@") -> None:
        if text.startswith("%@") and ri is not None:
            msg = ri.describe(self._announce_hostnames()) + text[2:]
        else:
            msg = text
        log.log(level, f"{type_} {msg}")
        if level != DEBUG:
            self._publish(type_, msg)
        if level == WARNING and ri is not None:
            master = ri if ri.is_master else ri.master
            if master is not None and master.notification_script:
                self.schedule([master.notification_script, type_, msg])

    # ---- scripts ----

    def schedule(self, argv: list[str]) -> None:
        self.queue.append(ScriptJob(list(argv)))
        if len(self.queue) > SCRIPT_MAX_QUEUE:
            for i, job in enumerate(self.queue):
                if not job.running:
                    del self.queue[i]  # the oldest one not running
                    break

    def client_reconfig(
        self,
        master: Instance,
        leader: bool,
        state: str,
        from_addr: tuple[str, int],
        to_addr: tuple[str, int],
    ) -> None:
        """client-reconfig-script <master-name> <leader|observer> <state> <from-ip>
        <from-port> <to-ip> <to-port>, run on every failover."""
        if not master.client_reconfig_script:
            return
        self.schedule(
            [
                master.client_reconfig_script,
                master.name,
                "leader" if leader else "observer",
                state,
                from_addr[0],
                str(from_addr[1]),
                to_addr[0],
                str(to_addr[1]),
            ]
        )

    def retry_delay(self, retry_num: int) -> int:
        delay = int(self.timings.script_retry_delay)  # type: ignore[attr-defined]
        while retry_num > 1:
            delay *= 2
            retry_num -= 1
        return delay

    def run_pending(self) -> None:
        """Start waiting jobs, oldest first, up to the running limit (called from tick)."""
        now = mstime()
        for job in self.queue:
            if self.running >= SCRIPT_MAX_RUNNING:
                return
            if job.running or (job.start_time and job.start_time > now):
                continue
            job.running = True
            job.start_time = mstime()
            job.retry_num += 1
            self.running += 1
            asyncio.get_running_loop().create_task(self._run(job))

    async def _run(self, job: ScriptJob) -> None:
        try:
            proc = await asyncio.create_subprocess_exec(
                *job.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
        except OSError:
            # execve failing in Redis's child exits 2: reported once, never retried.
            self._finished(job, 2, 0)
            return
        job.process = proc
        job.pid = proc.pid
        self.emit(DEBUG, "+script-child", None, str(proc.pid))
        code = await proc.wait()
        if code < 0:
            self._finished(job, 0, -code)
        else:
            self._finished(job, code, 0)

    def _finished(self, job: ScriptJob, exitcode: int, bysignal: int) -> None:
        self.emit(DEBUG, "-script-child", None, f"{job.pid} {exitcode} {bysignal}")
        self.running -= 1
        if (bysignal or exitcode == 1) and job.retry_num != SCRIPT_MAX_RETRY:
            job.running = False
            job.pid = 0
            job.process = None
            job.start_time = mstime() + self.retry_delay(job.retry_num)
            return
        if bysignal or exitcode != 0:
            self.emit(WARNING, "-script-error", None, f"{job.argv[0]} {bysignal} {exitcode}")
        if job in self.queue:
            self.queue.remove(job)

    def kill_timed_out(self) -> None:
        now = mstime()
        limit = int(self.timings.script_max_runtime)  # type: ignore[attr-defined]
        for job in self.queue:
            if job.running and job.process is not None and now - job.start_time > limit:
                self.emit(WARNING, "-script-timeout", None, f"{job.argv[0]} {job.pid}")
                try:
                    os.kill(job.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def pending_scripts(self) -> list[dict[str, object]]:
        """SENTINEL PENDING-SCRIPTS: one map per queued job."""
        now = mstime()
        out: list[dict[str, object]] = []
        for job in self.queue:
            entry: dict[str, object] = {
                "argv": list(job.argv),
                "flags": "running" if job.running else "scheduled",
                "pid": str(job.pid),
            }
            if job.running:
                entry["run-time"] = str(now - job.start_time)
            else:
                delay = job.start_time - now if job.start_time else 0
                entry["run-delay"] = str(max(delay, 0))
            entry["retry-num"] = str(job.retry_num)
            out.append(entry)
        return out
