"""Side-by-side throughput and memory of pikad and redis-server, measured in one run.

    python -m bench.compare [--tests set,get,incr,lpush,rpop,sadd,hset,zadd] [-n 200000]
                            [-c 50] [--pipelines 1,16] [--workers 1,2] [--keys 1000000]
                            [--pikad-arg=--DIRECTIVE --pikad-arg=VALUE ...]
                            [--png bench-compare.png] [--json PATH] [--quick]
                            [--replica] [--sync] [--profile DIR]

Every server is a child of this process, on a free 127.0.0.1 port in its own temporary
directory, stopped by PID at the end (SIGTERM, SIGKILL after 20 s) whatever happens.

Throughput: one redis-server and one pikad per --workers count (`--workers N`: N worker
processes on one port; a new data directory gets N shards) run side by side. For each -P
and test, redis-benchmark (-c, -n, -r 100000, --csv) runs once against every server, the
order rotating from one test to the next so that drift (the machine's other load) hits
every server alike. Each pikad figure is compared with the redis figure of the same round:
requests/s, p50/p99 latency, the rps ratio pikad/redis and the p99 ratio pikad/redis, and
each server's CPU seconds (user + system, all its processes) per million requests: on a
2-core machine shared with redis-benchmark, the figure that shows how efficient workers are.
Error replies during a test (INFO total_error_replies before and after) and a change of a
pikad's worker processes (a worker restarted by its coordinator) are reported too.

Memory: for each server in turn (redis-server, then pikad per --workers count), a fresh
instance is loaded with exactly --keys keys key:0 .. key:N-1 of 100-byte values (seeded
pseudo-random bytes) through `redis-cli --pipe`; then DBSIZE, the RSS and the PSS are read:
of the redis-server process, of the pikad process plus all its descendants (the coordinator
and its workers). The ratio is on PSS: the workers are forked, so summing their RSS would
count every page they share with the coordinator once per process. pikad's
rocksdb-block-cache-size and rocksdb-write-buffer-size (CONFIG GET) are shown with it.

--replica and --sync add bench.replication's lag and sync-mode sections (SET at each -P,
one replica; pikad with its defaults, --pikad-arg does not apply there); --profile DIR
records each pikad test with py-spy into a flame graph.

It measures; it does not judge. It prints tables, writes a PNG bar chart of the rps ratios
(matplotlib, `pip install .[bench]`; skipped with a note when it is missing) and, with
--json, every figure. Figures go into the issue notes with the command that produced them.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import platform
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field

DEFAULT_TESTS = "set,get,incr,lpush,rpop,sadd,hset,zadd"
RANDOM_KEYSPACE = 100000  # redis-benchmark -r
VALUE_SIZE = 100  # bytes per value in the memory load
LOAD_BATCH = 10000  # SETs generated per write to redis-cli --pipe
QUICK_N = 20000
QUICK_KEYS = 100000
BENCH_TIMEOUT_S = 600  # one redis-benchmark run
CLI_TIMEOUT_S = 60  # one redis-cli command


# ---- processes ----


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ping(port: int, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(64).startswith(b"+PONG"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on port {port} did not answer PING within {timeout}s")


def stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def children(pid: int) -> list[int]:
    """Direct children of pid: /proc/<pid>/task/<tid>/children of each of its threads, or
    a scan of /proc/*/stat where that file does not exist (kernels without
    CONFIG_PROC_CHILDREN)."""
    out: list[int] = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    found_file = False
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                found_file = True
                out.extend(int(x) for x in f.read().split())
        except (OSError, ValueError):
            continue
    if found_file:
        return sorted(set(out))
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            out.append(int(entry))
    return sorted(out)


def process_tree(pid: int) -> list[int]:
    """pid and all its descendants (bounded: at most 1000 processes)."""
    seen = [pid]
    i = 0
    while i < len(seen) and len(seen) < 1000:
        for child in children(seen[i]):
            if child not in seen:
                seen.append(child)
        i += 1
    return seen


def rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def pss_bytes(pid: int) -> int:
    """Proportional set size: the process's private pages plus its share of the pages it
    shares. Summed over a process tree it counts each page once: pikad's workers are
    forked, so their RSS figures all include the pages they share with the coordinator."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of pid and its descendants (a pikad's coordinator and
    workers), in seconds."""
    total = 0
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                # After the command name (which may hold spaces): field 14 utime, 15 stime.
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
    return total / os.sysconf("SC_CLK_TCK")


def dir_size(path: str) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


@dataclass
class Server:
    kind: str  # "pikad" | "redis"
    workers: int  # pikad's --workers; 0 for redis-server
    port: int
    base: str  # its directory: data/, server.log, output.log
    proc: subprocess.Popen
    worker_pids: list[int] = field(default_factory=list)  # pikad --workers > 1

    @property
    def name(self) -> str:
        return "redis" if self.kind == "redis" else f"pikad w{self.workers}"

    @property
    def data(self) -> str:
        return os.path.join(self.base, "data")

    def logs(self) -> str:
        text = []
        for name in ("server.log", "output.log"):
            try:
                with open(os.path.join(self.base, name), errors="replace") as f:
                    text.append(f.read())
            except OSError:
                pass
        return "\n".join(text)

    def log_tail(self, lines: int = 15) -> str:
        return "\n".join(self.logs().splitlines()[-lines:])


def start_server(tmp: str, kind: str, workers: int, pikad_args: list[str]) -> Server:
    """A pikad (--workers N) or a redis-server, in its own new directory under tmp."""
    name = "redis" if kind == "redis" else f"pikad-w{workers}"
    base = tempfile.mkdtemp(prefix=f"{name}-", dir=tmp)
    data = os.path.join(base, "data")
    os.makedirs(data)
    port = free_port()
    args = ["--bind", "127.0.0.1", "--port", str(port), "--dir", data]
    args += ["--logfile", os.path.join(base, "server.log")]
    if kind == "pikad":
        argv = [sys.executable, "-m", "pikadb", *args, "--workers", str(workers), *pikad_args]
    else:
        argv = [shutil.which("redis-server") or "redis-server", *args]
        argv += ["--save", "", "--appendonly", "no", "--daemonize", "no"]
    with open(os.path.join(base, "output.log"), "wb") as out:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=base,
            start_new_session=True,  # a Ctrl-C reaches the bench only, which stops them
        )
    server = Server(kind, workers if kind == "pikad" else 0, port, base, proc)
    try:
        wait_ping(port, proc)
        if kind == "pikad" and workers > 1:
            server.worker_pids = wait_workers(server, workers)
    except BaseException:
        tail = server.log_tail()
        stop_server(server)
        print(f"{server.name} did not start; its log ends with:\n{tail}", file=sys.stderr)
        raise
    return server


def wait_workers(server: Server, want: int, timeout: float = 30.0) -> list[int]:
    """The coordinator's worker processes once `want` of them answer (or what there is after
    timeout: pikad runs fewer workers than asked when the data dir has fewer shards)."""
    deadline = time.monotonic() + timeout
    pids = children(server.proc.pid)
    while len(pids) < want and time.monotonic() < deadline and server.proc.poll() is None:
        time.sleep(0.1)
        pids = children(server.proc.pid)
    if len(pids) != want:
        print(
            f"  note: {server.name} runs {len(pids)} worker process(es), not {want}",
            file=sys.stderr,
        )
    return pids


def stop_server(server: Server) -> None:
    """SIGTERM to the process this bench started (the coordinator stops its workers); then
    any worker still there after 10 s is killed by its PID."""
    stop([server.proc])
    deadline = time.monotonic() + 10
    left = [p for p in server.worker_pids if os.path.exists(f"/proc/{p}")]
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = [p for p in left if os.path.exists(f"/proc/{p}")]
    for pid in left:
        print(f"  note: {server.name} worker {pid} outlived its coordinator: SIGKILL")
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def cli(port: int, *args: str, timeout: float = CLI_TIMEOUT_S) -> str:
    out = subprocess.run(
        ["redis-cli", "-h", "127.0.0.1", "-p", str(port), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    if out.returncode != 0:
        raise RuntimeError(f"redis-cli {' '.join(args)}: {out.stderr.strip() or out.stdout}")
    return out.stdout


def info(port: int, section: str) -> dict[str, str]:
    text = cli(port, "INFO", section)
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def error_replies(port: int) -> int | None:
    try:
        return int(info(port, "stats").get("total_error_replies", ""))
    except (ValueError, RuntimeError, subprocess.TimeoutExpired):
        return None


# ---- throughput ----


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float


class BenchmarkError(RuntimeError):
    pass


def benchmark(
    port: int, test: str, n: int, clients: int, pipeline: int
) -> tuple[Result, list[str]]:
    """One redis-benchmark test; its figures and the error replies it showed (-e: at most
    one a second)."""
    argv = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-t", test, "-n", str(n)]
    argv += ["-c", str(clients), "-P", str(pipeline), "-r", str(RANDOM_KEYSPACE), "--csv", "-e"]
    try:
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=BENCH_TIMEOUT_S, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        raise BenchmarkError(f"redis-benchmark ran longer than {BENCH_TIMEOUT_S} s") from None
    lines = (proc.stdout + "\n" + proc.stderr).splitlines()
    errors = [ln.strip() for ln in lines if ln.startswith(("Error", "ERR"))]
    csv_lines = [ln for ln in proc.stdout.splitlines() if ln.startswith('"')]
    rows = list(csv.DictReader(io.StringIO("\n".join(csv_lines))))
    if proc.returncode != 0 or not rows:
        what = (proc.stderr.strip() or proc.stdout.strip())[-500:]
        raise BenchmarkError(f"redis-benchmark exited with {proc.returncode}: {what!r}")
    # Some tests fill their key first (lrange_* runs an LPUSH row before its own): the
    # test's own figures are the last row.
    row = rows[-1]
    res = Result(float(row["rps"]), float(row["p50_latency_ms"]), float(row["p99_latency_ms"]))
    return res, errors


def run_benchmark(port: int, test: str, n: int, clients: int, pipeline: int) -> Result:
    """One redis-benchmark test (-r 100000) against port: its rps and p50/p99 latency."""
    return benchmark(port, test, n, clients, pipeline)[0]


@dataclass
class Run:
    """One redis-benchmark test against one server."""

    test: str
    pipeline: int
    server: str
    workers: int
    rps: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    error_replies: int | None = None  # INFO total_error_replies, after - before
    cpu_s_per_m: float | None = None  # the server's CPU seconds per million requests
    error_samples: list[str] = field(default_factory=list)
    failure: str = ""  # redis-benchmark did not finish: why
    events: list[str] = field(default_factory=list)  # server died, worker restarted


def check_server(server: Server) -> list[str]:
    """What went wrong with the server since it started (nothing: [])."""
    if server.proc.poll() is not None:
        return [f"{server.name} exited with status {server.proc.returncode}"]
    if server.worker_pids:
        now = children(server.proc.pid)
        if now != server.worker_pids:
            event = f"{server.name} worker processes changed: {server.worker_pids} -> {now}"
            server.worker_pids = now
            return [event]
    return []


def start_profile(server: Server, path: str) -> subprocess.Popen | None:
    """py-spy recording the pikad process (every worker's, with --subprocesses) into a
    flame graph at path, until stop_profile()."""
    spy = shutil.which("py-spy")
    if spy is None:
        WARNINGS.append("--profile: py-spy is not installed (pip install py-spy)")
        return None
    argv = [spy, "record", "--pid", str(server.proc.pid), "--output", path, "--rate", "200"]
    argv += ["--format", "flamegraph", "--subprocesses", "--nonblocking"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)  # attached before the load starts
    return proc


def stop_profile(proc: subprocess.Popen | None) -> None:
    if proc is None:
        return
    proc.send_signal(signal.SIGINT)  # py-spy writes the flame graph when interrupted
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def measure_one(
    server: Server, test: str, n: int, clients: int, pipeline: int, profile_dir: str = ""
) -> Run:
    run = Run(test, pipeline, server.kind, server.workers)
    before = error_replies(server.port)
    spy = None
    if profile_dir and server.kind == "pikad":
        name = f"{server.name}-{test}-P{pipeline}.svg"
        spy = start_profile(server, os.path.join(profile_dir, name))
    cpu_before = cpu_seconds(server.proc.pid)
    try:
        res, run.error_samples = benchmark(server.port, test, n, clients, pipeline)
        run.rps, run.p50_ms, run.p99_ms = res.rps, res.p50_ms, res.p99_ms
        run.cpu_s_per_m = (cpu_seconds(server.proc.pid) - cpu_before) * 1_000_000 / n
    except BenchmarkError as e:
        run.failure = str(e)
    finally:
        stop_profile(spy)
    after = error_replies(server.port)
    if before is not None and after is not None:
        run.error_replies = after - before
    run.events = check_server(server)
    return run


def throughput(
    tmp: str, args: argparse.Namespace, tests: list[str], pipelines: list[int]
) -> list[Run]:
    """Every test at every -P against redis-server and each pikad, rotating the order."""
    servers: list[Server] = []
    runs: list[Run] = []
    try:
        servers.append(start_server(tmp, "redis", 0, []))
        for w in args.workers:
            try:
                servers.append(start_server(tmp, "pikad", w, args.pikad_arg))
            except RuntimeError as e:
                print(f"  ! pikad w{w} did not start, left out: {e}", flush=True)
                WARNINGS.append(f"pikad w{w} did not start: {e}")
        print("throughput: " + ", ".join(f"{s.name} port {s.port}" for s in servers), flush=True)
        k = 0
        for pipeline in pipelines:
            for test in tests:
                order = servers[k % len(servers) :] + servers[: k % len(servers)]
                k += 1
                got = {
                    s.name: measure_one(s, test, args.n, args.c, pipeline, args.profile)
                    for s in order
                }
                ordered = [got[s.name] for s in servers]
                runs.extend(ordered)
                print("  " + progress_line(ordered), flush=True)
                for r in ordered:
                    for problem in [r.failure, *r.events]:
                        if problem:
                            print(f"    ! {r.server} w{r.workers} {test}: {problem}", flush=True)
        for s in servers:
            if s.kind == "pikad":
                warn_from_log(s)
    finally:
        for s in servers:
            stop_server(s)
    return runs


def progress_line(runs: list[Run]) -> str:
    red = runs[0]
    parts = [f"{red.test:<8} -P {red.pipeline:<3}"]
    for r in runs:
        name = "redis" if r.server == "redis" else f"w{r.workers}"
        if r.rps is None:
            parts.append(f"{name} FAILED")
            continue
        ratio = f" ({r.rps / red.rps:.2f})" if r is not red and red.rps else ""
        parts.append(f"{name} {r.rps:>10,.0f}{ratio}")
    return "   ".join(parts)


WARNINGS: list[str] = []  # server log lines worth a look, printed at the end
LAG_MAX_SECONDS = 120.0  # --replica: the longest a lag probe runs


def warn_from_log(server: Server) -> None:
    """Warnings (Redis's '#' level) and tracebacks from a pikad's log and output."""
    for line in server.logs().splitlines():
        if " # " in line or "Traceback" in line or "Error" in line:
            WARNINGS.append(f"{server.name}: {line.strip()}")


# ---- memory ----


@dataclass
class Memory:
    server: str
    workers: int
    keys: int  # asked for
    dbsize: int | None = None
    rss: int | None = None  # bytes: the server process and its descendants
    pss: int | None = None  # bytes: the same, each shared page counted once (the ratio's)
    processes: int = 0
    load_s: float | None = None
    disk: int | None = None  # pikad: bytes in its data directory after the load
    block_cache_size: int | None = None
    write_buffer_size: int | None = None
    info_memory: dict[str, str] = field(default_factory=dict)
    failure: str = ""


def resp_set(key: bytes, value: bytes) -> bytes:
    return b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key, len(value), value)


def load_keys(port: int, keys: int, timeout: float, seed: int = 1) -> float:
    """SET key:0 .. key:<keys-1> to VALUE_SIZE seeded pseudo-random bytes each through
    `redis-cli --pipe`; the seconds it took. Raises unless every reply was a success."""
    rnd = random.Random(seed)
    start = time.perf_counter()
    proc = subprocess.Popen(
        ["redis-cli", "-h", "127.0.0.1", "-p", str(port), "--pipe", "--pipe-timeout", "120"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    timer = threading.Timer(timeout, proc.kill)  # bounds the writes below as well
    timer.start()
    try:
        assert proc.stdin is not None
        for first in range(0, keys, LOAD_BATCH):
            count = min(LOAD_BATCH, keys - first)
            values = rnd.randbytes(VALUE_SIZE * count)
            proc.stdin.write(
                b"".join(
                    resp_set(b"key:%d" % (first + j), values[j * VALUE_SIZE : (j + 1) * VALUE_SIZE])
                    for j in range(count)
                )
            )
        proc.stdin.close()
        assert proc.stdout is not None
        out = proc.stdout.read().decode(errors="replace")  # EOF: it exited (or the timer)
        proc.wait(timeout=timeout)
    except (BrokenPipeError, subprocess.TimeoutExpired):
        proc.kill()
        proc.wait()
        raise RuntimeError(f"redis-cli --pipe did not finish within {timeout:.0f} s") from None
    finally:
        timer.cancel()
    m = re.search(r"errors: (\d+), replies: (\d+)", out)
    if proc.returncode != 0 or not m or int(m.group(1)) != 0 or int(m.group(2)) != keys:
        raise RuntimeError(f"redis-cli --pipe exited with {proc.returncode}: {out.strip()[-400:]}")
    return time.perf_counter() - start


def config_get(port: int, name: str) -> int | None:
    lines = cli(port, "CONFIG", "GET", name).splitlines()
    try:
        return int(lines[1])
    except (IndexError, ValueError):
        return None


def memory_one(tmp: str, kind: str, workers: int, keys: int, pikad_args: list[str]) -> Memory:
    mem = Memory(kind, workers if kind == "pikad" else 0, keys)
    try:
        server = start_server(tmp, kind, workers, pikad_args if kind == "pikad" else [])
    except RuntimeError as e:
        mem.failure = f"did not start: {e}"
        return mem
    try:
        mem.load_s = load_keys(server.port, keys, timeout=300 + keys / 2000)
        mem.dbsize = int(cli(server.port, "DBSIZE").strip())
        pids = process_tree(server.proc.pid)
        mem.processes = len(pids)
        mem.rss = sum(rss_bytes(p) for p in pids)
        mem.pss = sum(pss_bytes(p) for p in pids)
        mem.info_memory = info(server.port, "memory")
        if kind == "pikad":
            mem.block_cache_size = config_get(server.port, "rocksdb-block-cache-size")
            mem.write_buffer_size = config_get(server.port, "rocksdb-write-buffer-size")
            mem.disk = dir_size(server.data)
            warn_from_log(server)
        problems = check_server(server)
        if problems:
            mem.failure = "; ".join(problems)
    except (RuntimeError, subprocess.TimeoutExpired, ValueError) as e:
        mem.failure = str(e)
        print(f"  ! {server.name}: {e}\n{server.log_tail()}", flush=True)
        if kind == "pikad":
            warn_from_log(server)
    finally:
        stop_server(server)
        shutil.rmtree(server.base, ignore_errors=True)
    return mem


def memory(tmp: str, args: argparse.Namespace) -> list[Memory]:
    out = []
    for kind, w in [("redis", 0)] + [("pikad", w) for w in args.workers]:
        name = "redis" if kind == "redis" else f"pikad w{w}"
        print(f"memory: loading {args.keys:,} keys into {name}", flush=True)
        out.append(memory_one(tmp, kind, w, args.keys, args.pikad_arg))
        m = out[-1]
        if m.rss is not None:
            print(
                f"  {name}: DBSIZE {m.dbsize:,}, RSS {m.rss / 2**20:,.1f} MiB, "
                f"PSS {(m.pss or 0) / 2**20:,.1f} MiB, loaded in {m.load_s:.1f} s",
                flush=True,
            )
    return out


# ---- report ----


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def fmt(x: float | None, spec: str, width: int) -> str:
    return f"{'-' if x is None else format(x, spec):>{width}}"


def rows_with_redis(runs: list[Run]) -> list[tuple[Run, Run]]:
    """(pikad run, the redis run of the same round) pairs."""
    redis_of = {(r.test, r.pipeline): r for r in runs if r.server == "redis"}
    return [(r, redis_of[(r.test, r.pipeline)]) for r in runs if r.server == "pikad"]


def throughput_table(runs: list[Run], args: argparse.Namespace) -> list[str]:
    out = [
        f"redis-benchmark -c {args.c} -n {args.n} -r {RANDOM_KEYSPACE} --csv; one run, "
        "the servers' order rotating per test; ratio = pikad/redis",
        f"{'test':<8} {'-P':>3} {'w':>2} {'pikad rps':>11} {'redis rps':>11} {'rps':>5}  "
        f"{'pikad p50/p99 ms':>17} {'redis p50/p99 ms':>17} {'p99':>5} {'err':>4} "
        f"{'pikad cpu':>9} {'redis cpu':>9}",
        f"{'':<8} {'':>3} {'':>2} {'':>11} {'':>11} {'ratio':>5}  {'':>17} {'':>17} "
        f"{'ratio':>5} {'':>4} {'s/M req':>9} {'s/M req':>9}",
    ]
    for pik, red in rows_with_redis(runs):
        pik_lat = "-" if pik.p50_ms is None else f"{pik.p50_ms:.3f}/{pik.p99_ms:.3f}"
        red_lat = "-" if red.p50_ms is None else f"{red.p50_ms:.3f}/{red.p99_ms:.3f}"
        errors = "?" if pik.error_replies is None else str(pik.error_replies)
        flag = " !" if pik.failure or pik.events else ""
        out.append(
            f"{pik.test:<8} {pik.pipeline:>3} {pik.workers:>2} {fmt(pik.rps, ',.0f', 11)} "
            f"{fmt(red.rps, ',.0f', 11)} {fmt(ratio(pik.rps, red.rps), '.2f', 5)}  "
            f"{pik_lat:>17} {red_lat:>17} {fmt(ratio(pik.p99_ms, red.p99_ms), '.2f', 5)} "
            f"{errors:>4} {fmt(pik.cpu_s_per_m, '.1f', 9)} {fmt(red.cpu_s_per_m, '.1f', 9)}{flag}"
        )
    out.append("")
    out.append("geometric mean of the rps ratios:")
    for (pipeline, workers), ratios in sorted(mean_groups(runs).items()):
        gm = math.exp(sum(math.log(r) for r in ratios) / len(ratios)) if ratios else None
        out.append(f"  -P {pipeline:<3} workers {workers}: {fmt(gm, '.2f', 5)}")
    return out


def mean_groups(runs: list[Run]) -> dict[tuple[int, int], list[float]]:
    groups: dict[tuple[int, int], list[float]] = {}
    for pik, red in rows_with_redis(runs):
        r = ratio(pik.rps, red.rps)
        groups.setdefault((pik.pipeline, pik.workers), [])
        if r:
            groups[(pik.pipeline, pik.workers)].append(r)
    return groups


def mib(x: int | None) -> str:
    return "-" if x is None else f"{x / 2**20:,.1f}"


def memory_table(mems: list[Memory], keys: int) -> list[str]:
    out = [
        f"memory after loading {keys:,} keys key:0..key:{keys - 1} of {VALUE_SIZE}-byte "
        "values (redis-cli --pipe), each server fresh; MiB, summed over the process and its "
        "workers: RSS, and PSS (shared pages counted once: the ratio's figure)",
        f"{'server':<8} {'w':>2} {'DBSIZE':>11} {'procs':>5} {'RSS MiB':>9} {'PSS MiB':>9} "
        f"{'ratio':>6} {'load s':>7} {'keys/s':>9} {'disk MiB':>9} {'block-cache':>12} "
        f"{'write-buffer':>12}",
    ]
    red = next((m for m in mems if m.server == "redis"), None)
    for m in mems:
        r = ratio(m.pss, red.pss) if red else None
        rate = ratio(m.dbsize, m.load_s)
        out.append(
            f"{m.server:<8} {m.workers or '-':>2} {fmt(m.dbsize, ',', 11)} {m.processes:>5} "
            f"{mib(m.rss):>9} {mib(m.pss):>9} {fmt(r, '.2f', 6)} {fmt(m.load_s, '.1f', 7)} "
            f"{fmt(rate, ',.0f', 9)} {mib(m.disk):>9} {mib(m.block_cache_size):>12} "
            f"{mib(m.write_buffer_size):>12}" + (f"  ! {m.failure}" if m.failure else "")
        )
    out.append(
        "(block-cache and write-buffer: CONFIG GET, MiB; the workers share the block cache "
        "and key cache budgets, every shard has its own write buffers)"
    )
    return out


def replication_tables(args: argparse.Namespace, pipelines: list[int]) -> list[str]:
    """--replica and --sync: bench.replication's lag and sync-mode sections, run here."""
    from bench.replication import cli as repl_cli  # (it imports this module)
    from bench.replication import lag, syncmode
    from bench.replication.procs import Servers

    out: list[str] = []
    with Servers() as servers:
        if args.replica:
            reps = [
                lag.probe(servers, kind, args.n, p, LAG_MAX_SECONDS)
                for p in pipelines
                for kind in ("pikad", "redis")
            ]
            out += ["", *repl_cli.lag_lines(reps, args.n)]
        if args.sync:
            rows = syncmode.measure(servers, args.n, pipelines)
            out += ["", *repl_cli.syncmode_lines(rows, args.n)]
    return out


def write_png(path: str, runs: list[Run], args: argparse.Namespace, mems: list[Memory]) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"matplotlib is not installed (pip install '.[bench]'): {path} not written")
        return
    pairs = rows_with_redis(runs)
    tests = list(dict.fromkeys(p.test for p, _ in pairs))
    groups = list(dict.fromkeys((p.pipeline, p.workers) for p, _ in pairs))
    value = {(p.test, p.pipeline, p.workers): ratio(p.rps, r.rps) for p, r in pairs}
    fig, ax = plt.subplots(figsize=(max(8, 1.3 * len(tests) + 2), 5))
    width = 0.8 / max(1, len(groups))
    top = 1.0
    for gi, (pipeline, workers) in enumerate(groups):
        xs = [ti + (gi - (len(groups) - 1) / 2) * width for ti in range(len(tests))]
        ys = [value.get((t, pipeline, workers)) or 0.0 for t in tests]
        top = max(top, *ys)
        bars = ax.bar(xs, ys, width, label=f"-P {pipeline}, {workers} worker(s)")
        ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
    ax.axhline(1.0, color="black", linewidth=1, linestyle="--")
    ax.set_xticks(range(len(tests)), [t.upper() for t in tests])
    ax.set_ylim(0, top * 1.15)
    ax.set_ylabel("pikad / redis-server requests/s")
    title = f"redis-benchmark -c {args.c} -n {args.n} -r {RANDOM_KEYSPACE}: pikad / redis rps"
    red = next((m for m in mems if m.server == "redis" and m.pss), None)
    if red:
        mem = ", ".join(
            f"w{m.workers} {m.pss / red.pss:.2f}" for m in mems if m.server == "pikad" and m.pss
        )
        title += f"\nPSS pikad / redis after {args.keys:,} keys of {VALUE_SIZE} B: {mem}"
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"chart: {path}")


def loadavg() -> list[float]:
    try:
        return list(os.getloadavg())
    except OSError:
        return []


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m bench.compare", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument(
        "--tests",
        default=DEFAULT_TESTS,
        help=f"redis-benchmark -t tests, comma-separated; '' skips the throughput part "
        f"(default {DEFAULT_TESTS})",
    )
    ap.add_argument("-n", type=int, default=None, help="requests per test (default 200000)")
    ap.add_argument("-c", type=int, default=50, help="redis-benchmark clients (default 50)")
    ap.add_argument("--pipelines", default="1,16", help="redis-benchmark -P values (default 1,16)")
    ap.add_argument(
        "--workers", default="1,2", help="pikad --workers counts, one pikad each (default 1,2)"
    )
    ap.add_argument(
        "--keys",
        type=int,
        default=None,
        help="keys loaded for the memory figures; 0 skips them (default 1000000)",
    )
    ap.add_argument(
        "--pikad-arg",
        action="append",
        default=[],
        help="extra pikad argument, repeatable: --pikad-arg=--rocksdb-block-cache-size "
        "--pikad-arg=64mb",
    )
    ap.add_argument("--png", default="bench-compare.png", help="chart path ('' for none)")
    ap.add_argument("--json", default="", help="write every figure to this JSON file")
    ap.add_argument(
        "--replica",
        action="store_true",
        help="also SET at each -P on a master with one replica attached, pikad and "
        "redis-server: the master's throughput with/without it, the replica's lag p50/p99 "
        "(bench.replication's probe)",
    )
    ap.add_argument(
        "--sync",
        action="store_true",
        help="also SET at each -P in sync replication mode with one replica "
        "(bench.replication's sync-mode table)",
    )
    ap.add_argument(
        "--profile",
        default="",
        metavar="DIR",
        help="record each pikad test with py-spy: a flame graph per test in DIR (the "
        "profiler's cost lowers those pikad figures; compare ratios from runs without it)",
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: -n {QUICK_N} and --keys {QUICK_KEYS} unless given",
    )
    args = ap.parse_args(argv)
    if args.n is None:
        args.n = QUICK_N if args.quick else 200000
    if args.keys is None:
        args.keys = QUICK_KEYS if args.quick else 1000000
    args.workers = [int(w) for w in args.workers.split(",") if w]
    if args.profile:
        os.makedirs(args.profile, exist_ok=True)
    if not args.workers or min(args.workers) < 1:
        ap.error("--workers: one or more counts >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for tool in ("redis-benchmark", "redis-server", "redis-cli"):
        if shutil.which(tool) is None:
            print(f"{tool} is needed (Debian: redis-server redis-tools)")
            return 2
    tests = [t for t in args.tests.split(",") if t]
    pipelines = [int(p) for p in args.pipelines.split(",") if p]
    load_start = loadavg()
    started = time.time()
    tmp = tempfile.mkdtemp(prefix="pikadb-bench-")
    runs: list[Run] = []
    mems: list[Memory] = []
    try:
        if tests and pipelines:
            runs = throughput(tmp, args, tests, pipelines)
        if args.keys > 0:
            mems = memory(tmp, args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    load_end = loadavg()

    print()
    print(f"python -m bench.compare {' '.join(sys.argv[1:] if argv is None else argv)}".rstrip())
    print(
        f"{os.cpu_count()} CPUs, load average {', '.join(f'{x:.2f}' for x in load_start)} at "
        f"the start, {', '.join(f'{x:.2f}' for x in load_end)} at the end; "
        f"{time.time() - started:.0f} s"
    )
    if runs:
        print()
        print("\n".join(throughput_table(runs, args)))
        failed = [r for r in runs if r.failure or r.events or r.error_samples]
        for r in failed:
            what = r.failure or "; ".join(r.events) or ""
            print(f"  ! {r.server} w{r.workers} {r.test} -P {r.pipeline}: {what}")
            for e in r.error_samples[:3]:
                print(f"      {e}")
    if mems:
        print()
        print("\n".join(memory_table(mems, args.keys)))
    if args.replica or args.sync:
        print("\n".join(replication_tables(args, pipelines)))
    if WARNINGS:
        print()
        print(f"pikad log warnings ({len(WARNINGS)}; the first 20):")
        for line in WARNINGS[:20]:
            print(f"  {line}")
    if args.png and runs:
        write_png(args.png, runs, args, mems)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "command": ["python", "-m", "bench.compare", *(sys.argv[1:] or [])],
                    "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
                    "host": {
                        "cpus": os.cpu_count(),
                        "loadavg_start": load_start,
                        "loadavg_end": load_end,
                        "python": platform.python_version(),
                        "redis_server": cli_version(),
                    },
                    "params": {
                        "tests": tests,
                        "n": args.n,
                        "clients": args.c,
                        "pipelines": pipelines,
                        "workers": args.workers,
                        "random_keyspace": RANDOM_KEYSPACE,
                        "keys": args.keys,
                        "value_size": VALUE_SIZE,
                        "pikad_args": args.pikad_arg,
                    },
                    "throughput": [asdict(r) for r in runs],
                    "memory": [asdict(m) for m in mems],
                    "warnings": WARNINGS,
                },
                f,
                indent=2,
            )
        print(f"json: {args.json}")
    return 1 if any(r.failure for r in runs) or any(m.failure for m in mems) else 0


def cli_version() -> str:
    try:
        return subprocess.run(
            ["redis-server", "--version"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


if __name__ == "__main__":
    sys.exit(main())
