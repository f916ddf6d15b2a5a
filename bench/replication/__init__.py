"""Replication measured side by side on pikad and redis-server: full-sync throughput,
replication lag under load, and the cost of pikad's sync mode.

    python -m bench.replication [--quick] [--fullsync-mb 1024] [--lag-n N] [--sync-n N]

Every server (a master and one replica of each kind) is a child of this process, started
in a temporary directory on a free 127.0.0.1 port, and stopped by PID at the end, also on
Ctrl-C or an error (bench.replication.procs). Modules:

    procs      starting/stopping servers, INFO, bounded waits
    loader     a pipelined loader of incompressible (random) values
    fullsync   1. full-sync throughput: an empty replica of a loaded master
    lag        2. replication lag under redis-benchmark SET load, by a probe key every ~10 ms
    syncmode   3. SET throughput, pikad async vs replication-mode sync (redis for context)
    cli        the command line and the printed tables

It measures; it does not judge (tests/integration/test_bench_replication.py checks only
that a quick run completes and prints its three sections).
"""
