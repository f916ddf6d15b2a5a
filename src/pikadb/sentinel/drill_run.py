"""Running failover drills: build (or attach to) a deployment, start the writer, and per drill
fault the master, time the failover as the sentinels, the client and the old master see it,
check the acknowledged writes, and wait until the deployment is healthy again.
"""

from __future__ import annotations

import secrets
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis

from pikadb.sentinel.drill_deploy import (
    AttachedDeployment,
    Deployment,
    LocalDeployment,
    SentinelView,
    Settings,
    cooldown_until,
    replica_linked_to,
    sleep_until,
)
from pikadb.sentinel.drill_procs import Addr, DrillError, fmt_addr, wait_for
from pikadb.sentinel.drill_report import DrillResult, Report
from pikadb.sentinel.drill_writer import Writer, delete_keys, missing_on

Say = Callable[[str], None]


@dataclass
class Options:
    """How the drills run (the deployment is described by Settings)."""

    drills: int = 5
    fault: str = "kill"  # "kill" (SIGKILL, then restart) or "stop" (SIGSTOP, then SIGCONT)
    rate: float = 200.0
    client_timeout: float = 1.0
    step_timeout: float = 60.0  # bound of every wait
    attach: list[Addr] | None = None
    allow_kill: bool = False


def fault_name(fault: str) -> str:
    return "kill -9 (SIGKILL, restarted)" if fault == "kill" else "SIGSTOP (hang, SIGCONT)"


class Drills:
    """One run: a deployment, a writer, N drills."""

    def __init__(self, label: str, settings: Settings, opts: Options, say: Say) -> None:
        self.settings = settings
        self.opts = opts
        self.say = say
        self.dep: Deployment = (
            AttachedDeployment(settings, opts.attach) if opts.attach else LocalDeployment(settings)
        )
        self.view: SentinelView | None = None
        self.writer: Writer | None = None
        self.t0 = 0.0
        self.lost: set[int] = set()
        self.report = Report(label=label, deployment="", fault=fault_name(opts.fault))

    # ---- the run ----

    def run(self) -> Report:
        """Every process started here is stopped (by PID) before this returns or raises."""
        try:
            self._run()
        except (DrillError, redis.RedisError, OSError) as e:
            self.report.error = str(e).splitlines()[0] if str(e) else repr(e)
            self.say(f"  drill stopped: {e!r}")
            if isinstance(self.dep, LocalDeployment):
                self.say(self.dep.log_tails())
        except KeyboardInterrupt:
            self.report.error = self.report.interrupted = "interrupted"
            self.say("  interrupted: stopping every process the drill started")
        finally:
            self._finish()
        return self.report

    def _run(self) -> None:
        view = self._start()
        assert self.writer is not None
        master = self.dep.wait_healthy(view, self.opts.step_timeout)
        last_agreed: float | None = None
        for i in range(1, self.opts.drills + 1):
            if last_agreed is not None:
                until = cooldown_until(last_agreed, self.dep.failover_timeout_ms)
                wait = until - time.monotonic()
                if wait > 0:
                    self.say(f"  cooldown {wait:.1f} s (no failover within 2 x failover-timeout)")
                sleep_until(until)
                master = self.dep.wait_healthy(view, self.opts.step_timeout)
            result = DrillResult(index=i, fault=self.opts.fault, old_master=fmt_addr(master))
            self.report.drills.append(result)
            try:
                master = self._drill(result, master)
            except BaseException as e:
                result.error = str(e).splitlines()[0] if str(e) else type(e).__name__
                raise
            last_agreed = self.t0 + (result.agree_t or 0.0)
            self.say(self._line(result))

    def _start(self) -> SentinelView:
        s = self.settings
        if isinstance(self.dep, LocalDeployment):
            self.say(f"starting {self.dep.describe()} in {self.dep.tmp}")
            self.report.workdir = str(self.dep.tmp)
            self.dep.start()
            self.view = SentinelView(self.dep.sentinel_addrs, s.master_name)
        else:
            self.view = SentinelView(self.dep.sentinel_addrs, s.master_name)
            self.dep.start(self.view)
        self.report.deployment = self.dep.describe()
        self.writer = Writer(
            self.dep.sentinel_addrs,
            s.master_name,
            prefix=f"drill:{secrets.token_hex(4)}:",
            rate=self.opts.rate,
            timeout=self.opts.client_timeout,
            max_seconds=600 + self.opts.drills * 6 * self.opts.step_timeout,
        )
        self.t0 = time.monotonic()
        self.writer.start()
        return self.view

    def _finish(self) -> None:
        writer, report = self.writer, self.report
        if writer is not None:
            writer.stop()
            report.acked = len(writer.acked)
            report.attempts = writer.attempts
            report.duration_s = time.monotonic() - self.t0
            report.ack_times = [t - self.t0 for t in writer.ack_times]
            if isinstance(self.dep, AttachedDeployment) and self.view is not None:
                self._clean_attached(writer)
        report.lost_keys = sorted(self.lost)
        report.total_lost = len(self.lost)
        if self.view is not None:
            self.view.close()
        self.dep.close()
        report.pids = self.dep.all_pids()

    def _clean_attached(self, writer: Writer) -> None:
        assert self.view is not None
        try:
            master = self.view.agreed_master()
            if master is not None:
                delete_keys(master, writer)
        except Exception as e:
            self.say(f"  could not delete the drill's keys ({writer.prefix}*): {e!r}")

    # ---- one drill ----

    def _drill(self, r: DrillResult, old: Addr) -> Addr:
        assert self.view is not None and self.writer is not None
        view, writer, step = self.view, self.writer, self.opts.step_timeout
        target = self.dep.target(old)
        warm = time.monotonic()
        wait_for(lambda: writer.first_ack_on(old, warm), step, "a write acknowledged by the master")
        self._check_writer()
        fault_t = time.monotonic()
        if self.opts.fault == "kill":
            target.kill()
        else:
            target.send(signal.SIGSTOP)
        r.fault_t = fault_t - self.t0
        new = wait_for(lambda: _moved(view.agreed_master(), old), step, "a new master")
        agree_t = time.monotonic()
        r.new_master, r.agree_t, r.agree_s = fmt_addr(new), agree_t - self.t0, agree_t - fault_t
        if self.opts.fault == "kill":
            target.restart_as_master(step)
        else:
            target.send(signal.SIGCONT)
        recover_t = time.monotonic()
        r.recover_t = recover_t - self.t0
        wait_for(lambda: replica_linked_to(old, new), step, "the old master to rejoin", 0.02)
        rejoin_t = time.monotonic()
        r.rejoin_t, r.rejoin_s = rejoin_t - self.t0, rejoin_t - recover_t
        self._unavailability(r, fault_t, new)
        healthy = self.dep.wait_healthy(view, step)
        if healthy != new:
            raise DrillError(f"the master moved again, to {fmt_addr(healthy)}")
        self._check_lost(r, new)
        r.old_master_acks = self.writer.acks_by_after(old, fault_t)
        return new

    def _unavailability(self, r: DrillResult, fault_t: float, new: Addr) -> None:
        assert self.writer is not None
        writer = self.writer
        first = wait_for(
            lambda: writer.first_ack_on(new, fault_t),
            self.opts.step_timeout,
            "a write acknowledged by the new master",
        )
        failure = writer.first_failure(fault_t, first)
        began = max(fault_t, failure.start) if failure is not None else fault_t
        r.first_ack_t = first - self.t0
        r.unavailable_s = first - began
        r.failed_writes = sum(1 for f in list(writer.failures) if fault_t < f.end <= first)

    def _check_lost(self, r: DrillResult, master: Addr) -> None:
        """Every write acknowledged so far must be on the (new) master."""
        assert self.writer is not None
        keys = self.writer.acked_before(time.monotonic())
        missing = set(missing_on(master, self.writer, keys))
        r.checked = len(keys)
        r.lost = len(missing - self.lost)
        self.lost |= missing

    def _check_writer(self) -> None:
        assert self.writer is not None
        if self.writer.crash is not None:
            raise DrillError(f"the writer failed: {self.writer.crash!r}")
        if not self.writer.running:
            raise DrillError("the writer stopped")

    def _line(self, r: DrillResult) -> str:
        return (
            f"  drill {r.index}/{self.opts.drills}: {r.old_master} -> {r.new_master}: "
            f"agree {r.agree_s or 0:.2f} s, unavailable {r.unavailable_s or 0:.2f} s, "
            f"rejoin {r.rejoin_s or 0:.2f} s, lost {r.lost} (checked {r.checked})"
        )


def _moved(addr: Addr | None, old: Addr) -> Addr | None:
    return addr if addr is not None and addr != old else None


def run_drills(label: str, settings: Settings, opts: Options, say: Say = print) -> Report:
    return Drills(label, settings, opts, say).run()
