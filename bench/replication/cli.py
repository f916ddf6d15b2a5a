"""The command line of `python -m bench.replication` and its tables."""

from __future__ import annotations

import argparse
import math
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from types import FrameType

from bench.replication import fullsync, lag, syncmode
from bench.replication.loader import MAX_VALUE, MIN_VALUE
from bench.replication.procs import Servers

SECTIONS = ("fullsync", "lag", "syncmode")
QUICK = {"fullsync_mb": 32, "lag_n": 20_000, "sync_n": 10_000}
FULL = {"fullsync_mb": 1024, "lag_n": 300_000, "sync_n": 200_000}


def _num(x: float | None, fmt: str = ",.1f") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return format(x, fmt)


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a and b else "-"


def fullsync_lines(rep: fullsync.FullSyncReport) -> list[str]:
    out = [
        f"== 1. Full-sync throughput: {rep.size / 1e6:,.0f} MB of random values "
        f"({MIN_VALUE >> 10}-{MAX_VALUE >> 10} KB), empty replica, "
        "REPLICAOF -> link up + same DBSIZE",
    ]
    for kind, ld in rep.loads.items():
        out.append(
            f"   load {kind:<5} {ld.keys:,} keys, {ld.value_bytes / 1e6:,.0f} MB in "
            f"{ld.seconds:.1f} s ({ld.mb_per_s:,.0f} MB/s)"
        )
    redis_runs = [r for r in rep.runs if r.kind == "redis"]
    heads = [
        "pikad/redis "
        + ("defaults" if r.setting.startswith("defaults") else r.setting.split(", ")[-1])
        for r in redis_runs
    ]
    out.append(
        f"   {'server':<6} {'setting':<30} {'MB sent':>9} {'seconds':>8} {'MB/s':>8}  "
        + "  ".join(f"{h:>20}" for h in heads)
    )
    for run in rep.runs:
        ratios = ""
        if run.kind == "pikad":
            ratios = "  ".join(f"{_ratio(run.mb_per_s, r.mb_per_s):>20}" for r in redis_runs)
        out.append(
            f"   {run.kind:<6} {run.setting:<30} {run.bytes / 1e6:>9,.1f} "
            f"{_num(run.seconds, '.2f') if run.seconds else 'TIMEOUT':>8} "
            f"{_num(run.mb_per_s):>8}  {ratios}"
        )
        if run.note:
            out.append(f"          {run.note}")
    out += [
        "   MB = 10^6 bytes; pikad: checkpoint bytes sent, redis: RDB stream received; "
        "ratios: pikad MB/s / redis MB/s",
        "   pikad master: "
        + ", ".join(f"{k} {v}" for k, v in fullsync.PIKAD_MASTER.items())
        + " (so the empty replica needs a checkpoint, not a binlog replay from id 1)",
    ]
    return out


def _max(xs: list[float]) -> float | None:
    return max(xs, default=None)


def lag_lines(reps: list[lag.LagReport], n: int) -> list[str]:
    out = [
        f"== 2. Replication lag under load: redis-benchmark -t set -n {n} -c {lag.CLIENTS} "
        f"-r 100000 -P <p> on the master; probe SET every {lag.PROBE_EVERY * 1000:.0f} ms, "
        "polled on the replica",
        "   (alone rps: the same load on a master without a replica; with/alone: master rps "
        "over alone rps)",
        f"   {'-P':>3} {'server':<6} {'master rps':>11} {'alone rps':>10} {'with/alone':>10} "
        f"{'probes':>7} {'lag p50 ms':>11} {'p99 ms':>8} {'max ms':>8} {'unseen':>7} "
        f"{'catch-up s':>11}",
    ]
    rounds = max(1, len(reps) // max(1, len({(r.kind, r.pipeline) for r in reps})))
    for p in sorted({r.pipeline for r in reps}):
        for i in range(rounds):
            by = {}
            for r in reps:
                if r.pipeline == p:
                    by.setdefault(r.kind, []).append(r)
            for kind in ("pikad", "redis"):
                runs = by.get(kind, [])
                if i >= len(runs):
                    continue
                r = runs[i]
                out.append(
                    f"   {p:>3} {kind:<6} {_num(r.bench and r.bench.rps, ',.0f'):>11} "
                    f"{_num(r.alone and r.alone.rps, ',.0f'):>10} "
                    f"{_num(r.with_replica_ratio, '.2f'):>10} "
                    f"{r.probes:>7} {_num(r.pct(0.5), '.2f'):>11} {_num(r.pct(0.99), '.2f'):>8} "
                    f"{_num(_max(r.lags_ms), '.2f'):>8} {r.unseen:>7} "
                    f"{_num(r.catchup_s, '.2f'):>11}"
                )
            pk, rd = by.get("pikad", []), by.get("redis", [])
            if i < len(pk) and i < len(rd):
                a, b = pk[i], rd[i]
                out.append(
                    f"   {p:>3} {'ratio':<6} "
                    f"{_ratio(a.bench and a.bench.rps, b.bench and b.bench.rps):>11} "
                    f"{'':>10} {'':>10} {'':>7} "
                    f"{_ratio(a.pct(0.5), b.pct(0.5)):>11} {_ratio(a.pct(0.99), b.pct(0.99)):>8} "
                    f"{_ratio(_max(a.lags_ms), _max(b.lags_ms)):>8}   (pikad/redis)"
                )
        if rounds > 1:
            for kind in ("pikad", "redis"):
                runs = [r for r in reps if r.kind == kind and r.pipeline == p]
                if runs:
                    out.append(
                        f"   {p:>3} {kind:<6} median of {len(runs)} rounds: lag p99 "
                        f"{_num(_median([r.pct(0.99) for r in runs]), '.2f')} ms, with/alone "
                        f"{_num(_median([r.with_replica_ratio for r in runs]), '.2f')}"
                    )
    return out


def _median(xs: list[float | None]) -> float | None:
    vals = sorted(x for x in xs if x is not None and not math.isnan(x))
    return vals[len(vals) // 2] if vals else None


def syncmode_lines(rows: list[syncmode.SyncModeRow], n: int) -> list[str]:
    out = [
        f"== 3. Sync mode cost: redis-benchmark -t set -n {n} -c {syncmode.CLIENTS} -r 100000 "
        "-P <p>, master + 1 replica; pikad sync = replication-mode sync, min-replicas-to-ack 1",
        f"   {'-P':>3} {'pikad async':>12} {'pikad sync':>11} {'sync/async':>10} "
        f"{'redis async':>12} {'async/redis':>11} {'sync/redis':>10}  "
        "p50/p99 ms: pikad async | pikad sync | redis",
    ]
    by = {(r.kind, r.mode, r.pipeline): r for r in rows}
    for p in sorted({r.pipeline for r in rows}):
        a, s, d = (
            by.get(k) for k in (("pikad", "async", p), ("pikad", "sync", p), ("redis", "async", p))
        )
        rps = [x.result.rps if x else None for x in (a, s, d)]
        lat = " | ".join(
            f"{x.result.p50_ms:.2f}/{x.result.p99_ms:.2f}" if x else "-" for x in (a, s, d)
        )
        out.append(
            f"   {p:>3} {_num(rps[0], ',.0f'):>12} {_num(rps[1], ',.0f'):>11} "
            f"{_ratio(rps[1], rps[0]):>10} {_num(rps[2], ',.0f'):>12} "
            f"{_ratio(rps[0], rps[2]):>11} {_ratio(rps[1], rps[2]):>10}  {lat}"
        )
        if s and s.note:
            out.append(f"       sync run: {s.note}")
    out.append("   rps = requests/s (redis-benchmark); ratios of rps")
    return out


def _ints(text: str) -> list[int]:
    return [int(p) for p in text.split(",") if p]


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def parse(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m bench.replication",
        description="Replication of pikad and redis-server measured side by side.",
    )
    ap.add_argument("--quick", action="store_true", help=f"small sizes: {QUICK}")
    ap.add_argument("--fullsync-mb", type=int, help="data set for the full sync (MB = 10^6 B)")
    ap.add_argument("--lag-n", type=int, help="SETs of the lag run's redis-benchmark")
    ap.add_argument("--lag-pipelines", default="1,16", help="lag runs' -P values")
    ap.add_argument("--lag-max-seconds", type=float, default=120.0, help="probe at most this")
    ap.add_argument("--lag-rounds", type=int, default=1, help="lag runs per -P (interleaved)")
    ap.add_argument("--sync-n", type=int, help="SETs per sync-mode redis-benchmark run")
    ap.add_argument("--pipelines", default="1,16", help="sync-mode runs' -P values")
    ap.add_argument("--timeout", type=float, default=600.0, help="bound of loading, full sync")
    ap.add_argument(
        "--sections", default=",".join(SECTIONS), help="subset of " + ",".join(SECTIONS)
    )
    args = ap.parse_args(argv)
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.sections = [s for s in args.sections.split(",") if s]
    if unknown := set(args.sections) - set(SECTIONS):
        ap.error(f"unknown sections {sorted(unknown)}")
    return args


def _versions() -> str:
    redis = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{redis.split(' sha=')[0].strip()}; {os.cpu_count()} cores, load average {load}"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    if shutil.which("redis-benchmark") is None or shutil.which("redis-server") is None:
        print("redis-benchmark and redis-server are needed (Debian: redis-server redis-tools)")
        return 2
    command = shlex.join(["python", "-m", "bench.replication", *argv])
    print(f"command: {command}\n({_versions()})", flush=True)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    started = time.perf_counter()
    try:
        _run(args)
    except KeyboardInterrupt:
        print(f"\ninterrupted after {time.perf_counter() - started:.0f} s; servers stopped")
        return 130
    print(f"\ndone in {time.perf_counter() - started:.0f} s: {command}")
    return 0


def _run(args: argparse.Namespace) -> None:
    """The sections asked for, each printed when done; every server stopped at the end."""
    with Servers() as servers:
        if "fullsync" in args.sections:
            rep = fullsync.measure(servers, args.fullsync_mb * 1_000_000, args.timeout)
            print("\n".join(["", *fullsync_lines(rep)]), flush=True)
        if "lag" in args.sections:
            reps = [
                lag.probe(servers, kind, args.lag_n, p, args.lag_max_seconds)
                for p in _ints(args.lag_pipelines)
                for _round in range(args.lag_rounds)
                for kind in ("pikad", "redis")
            ]
            print("\n".join(["", *lag_lines(reps, args.lag_n)]), flush=True)
        if "syncmode" in args.sections:
            rows = syncmode.measure(servers, args.sync_n, _ints(args.pipelines))
            print("\n".join(["", *syncmode_lines(rows, args.sync_n)]), flush=True)
