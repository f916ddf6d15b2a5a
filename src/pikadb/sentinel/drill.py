"""The failover drill: measures Sentinel failovers end to end.

    pika-sentinel drill [-n 5] [--fault kill|stop] [--servers pikad|redis]
                        [--sentinels pika|redis] [--sync] [--compare]
                        [--down-after MS] [--failover-timeout MS]
                        [--plot FILE | --no-plot] [--json FILE]
    pika-sentinel drill --attach HOST:PORT[,HOST:PORT...] --master-name NAME --allow-kill ...
    python -m bench.failover ...   (the same, from a source tree)

It starts a master and 2 replicas (pikad, or redis-server) and 3 sentinels (pika-sentinel, or
Debian's redis-sentinel) on free ports of 127.0.0.1 in a temporary directory, runs a client
that writes through redis-py's Sentinel API (Sentinel.master_for), and per drill faults the
master (kill -9 then restart, or SIGSTOP then SIGCONT) and measures:

    agree s      fault -> every sentinel's GET-MASTER-ADDR-BY-NAME gives the new master
    unavail s    first write that failed or blocked after the fault -> first write
                 acknowledged by the new master
    lost         acknowledged writes missing on the new master (all acked keys, MGET)
    rejoin s     old master restarted/resumed -> replica of the new master, link up

Between drills the deployment is healthy again (sentinels agree, every replica linked) and
the drill waits out the sentinels' 2 x failover-timeout between failovers of one master. It
prints a table per drill, a summary (median/min/max) and, with --compare, pika-sentinel's and
redis-sentinel's medians side by side over the same servers; it draws acknowledged writes/s
over time with the fault and recovery moments marked (SVG). It measures; it does not judge.

With --attach it runs against an existing deployment: it signals the master's process (by the
process_id of its INFO, only on this machine, only with --allow-kill); a master killed this
way is started again with its own command line and left running.

Every process the drill starts is stopped by PID at the end, also on errors and Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog=prog,
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="See the module docstring of pikadb.sentinel.drill for the metrics.",
    )
    ap.add_argument("-n", "--drills", type=int, default=5, help="drills per run (default 5)")
    ap.add_argument("--fault", choices=("kill", "stop"), default="kill")
    ap.add_argument("--servers", choices=("pikad", "redis"), default="pikad")
    ap.add_argument("--sentinels", choices=("pika", "redis"), default="pika")
    ap.add_argument("--sync", action="store_true", help="pikad sync mode on every server")
    ap.add_argument("--compare", action="store_true", help="pika-sentinel vs redis-sentinel")
    ap.add_argument("--down-after", "--down-after-milliseconds", type=int, default=2000)
    ap.add_argument("--failover-timeout", type=int, default=6000, help="ms (default 6000)")
    ap.add_argument("--rate", type=float, default=200.0, help="writes/s at most; 0: unpaced")
    ap.add_argument("--client-timeout", type=float, default=1.0, help="write timeout, s")
    ap.add_argument("--step-timeout", type=float, default=60.0, help="bound of each wait, s")
    ap.add_argument("--plot", default="failover.svg", help="SVG file (default failover.svg)")
    ap.add_argument("--no-plot", action="store_true")
    ap.add_argument("--json", help="write the report(s) to this JSON file")
    ap.add_argument("--keep-dir", action="store_true", help="keep the temporary directory")
    ap.add_argument("--attach", help="sentinels of an existing deployment: HOST:PORT,...")
    ap.add_argument("--master-name", default="mymaster")
    ap.add_argument("--allow-kill", action="store_true", help="attach: may signal the master")
    return ap


def check_args(ap: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.drills < 1:
        ap.error("-n must be at least 1")
    if args.sync and args.servers != "pikad":
        ap.error("--sync is pikad's sync mode: it needs --servers pikad")
    if args.attach and (args.compare or args.sync):
        ap.error("--attach runs against the given deployment: no --compare, no --sync")
    if args.attach and not args.allow_kill:
        ap.error("--attach signals the master's process: pass --allow-kill to allow it")
    if args.down_after < 1 or args.failover_timeout < 1:
        ap.error("--down-after and --failover-timeout are positive milliseconds")


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C, so that every started process is stopped."""

    def handler(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(args: argparse.Namespace) -> int:
    from pikadb.sentinel.drill_deploy import Settings
    from pikadb.sentinel.drill_procs import parse_addr
    from pikadb.sentinel.drill_report import compare_table, drill_table, summary_table, svg
    from pikadb.sentinel.drill_run import Options, run_drills

    settings = Settings(
        servers=args.servers,
        sentinels=args.sentinels,
        down_after_ms=args.down_after,
        failover_timeout_ms=args.failover_timeout,
        sync=args.sync,
        master_name=args.master_name,
        keep_dir=args.keep_dir,
    )
    opts = Options(
        drills=args.drills,
        fault=args.fault,
        rate=args.rate,
        client_timeout=args.client_timeout,
        step_timeout=args.step_timeout,
        attach=[parse_addr(a) for a in args.attach.split(",")] if args.attach else None,
        allow_kill=args.allow_kill,
    )
    kinds = ["pika", "redis"] if args.compare else [args.sentinels]
    reports = []
    for kind in kinds:
        label = "attached" if opts.attach else f"{kind}-sentinel"
        settings.sentinels = kind
        reports.append(run_drills(label, settings, opts, lambda s: print(s, flush=True)))
        if reports[-1].interrupted:
            break
    for report in reports:
        print()
        print(drill_table(report))
        print(summary_table(report))
    if len(reports) == 2 and not reports[1].interrupted:
        print()
        print(compare_table(reports[0], reports[1]))
    if not args.no_plot:
        Path(args.plot).write_text(svg(reports))
        print(f"\nplot: {args.plot}")
    if args.json:
        data: dict[str, Any] = {"runs": [r.to_json() for r in reports]}
        Path(args.json).write_text(json.dumps(data, indent=1))
    if any(r.interrupted for r in reports):
        return 130
    return 1 if any(r.error for r in reports) else 0


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    ap = build_parser(prog)
    args = ap.parse_args(sys.argv[1:] if argv is None else argv)
    check_args(ap, args)
    if importlib.util.find_spec("redis") is None:
        print("the drill needs redis-py (pip install redis)", file=sys.stderr)
        return 2
    try:
        with sigterm_as_interrupt():
            return run(args)
    except KeyboardInterrupt:
        print("\ninterrupted: every process the drill started was stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
