"""The `pikad` command line, used the way redis-server is used.

    python -m pikadb [CONFIG_FILE] [--directive value ...]

A config file, flags that override it, clear failures for bad directives, a clean exit 0 on
SIGTERM and on SHUTDOWN, Redis-style log lines, daemonize with a pidfile. Every server is
started on a free port of 127.0.0.1 in a temporary dir and stopped by PID.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from helpers.ports import free_port, port_is_open
from helpers.servers import ArgvServer, child_env, pikad_command

pytestmark = pytest.mark.pikad_only

# <pid>:<role> dd Mon yyyy hh:mm:ss.mmm <level> message   (Redis's serverLogRaw format)
LOG_LINE = re.compile(
    r"^(?P<pid>\d+):(?P<role>[MCSX]) (?P<day>\d{2}) "
    r"(?P<mon>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (?P<year>\d{4}) "
    r"(?P<time>\d{2}:\d{2}:\d{2}\.\d{3}) (?P<level>[.\-*#]) (?P<msg>.*)$"
)


def _run(args: list[str], cwd: Path, timeout: float = 30) -> subprocess.CompletedProcess:
    """Run pikad expecting it to exit by itself (bad config, --version)."""
    proc = subprocess.Popen(
        pikad_command() + args,
        cwd=cwd,
        env=child_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"pikad {args} still running after {timeout}s: {out!r} {err!r}")
    return subprocess.CompletedProcess(
        args, proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")
    )


@pytest.fixture
def launch(tmp_path):
    """launch(args, port) -> a started ArgvServer running pikad with exactly these args."""
    started: list[ArgvServer] = []

    def start(args: list[str], port: int, *, wait: bool = True) -> ArgvServer:
        server = ArgvServer(tmp_path / f"run{len(started)}", pikad_command() + args, port=port)
        started.append(server)
        if wait:
            server.start()
        else:
            server.spawn()
        return server

    yield start
    for server in started:
        server.stop()


def _config_get(server: ArgvServer, name: str) -> str:
    with server.raw() as r:
        reply = r.call("CONFIG", "GET", name)
    assert isinstance(reply, list) and len(reply) == 2, reply
    return reply[1].decode()


# ---- configuration ----


def test_config_file_and_flag_overrides(launch, tmp_path):
    port = free_port()
    data = tmp_path / "data"
    data.mkdir()
    conf = tmp_path / "pikad.conf"
    conf.write_text(
        "# a pikad config file, redis.conf syntax\n"
        f"port {port}\n"
        "bind 127.0.0.1\n"
        f'dir "{data}"\n'
        "databases 4\n"
        "maxmemory-policy allkeys-lru\n"
        "slowlog-max-len 77\n"
        "\n"
        "loglevel warning\n"
    )
    server = launch([str(conf), "--databases", "8", "--loglevel", "notice"], port)
    assert _config_get(server, "port") == str(port)  # from the file
    assert _config_get(server, "maxmemory-policy") == "allkeys-lru"
    assert _config_get(server, "slowlog-max-len") == "77"
    assert _config_get(server, "databases") == "8"  # the flag wins
    assert _config_get(server, "loglevel") == "notice"
    assert Path(_config_get(server, "dir")).resolve() == data.resolve()
    with server.raw() as r:
        assert r.execute("SELECT", "7") == b"+OK\r\n"
        assert r.execute("SELECT", "8") == b"-ERR DB index is out of range\r\n"


def test_port_flag(launch, tmp_path):
    port = free_port()
    server = launch(["--port", str(port), "--dir", str(tmp_path)], port)
    with server.raw() as r:
        assert r.execute("PING") == b"+PONG\r\n"
        assert r.execute("CONFIG", "GET", "bind") == b"*2\r\n$4\r\nbind\r\n$9\r\n127.0.0.1\r\n"


def test_defaults_port_9221_and_dir_pikadb_data(launch, tmp_path):
    """`pikad` with no arguments: 127.0.0.1:9221, data in ./pikadb-data (README promise)."""
    if port_is_open(9221):
        pytest.skip("something already listens on 127.0.0.1:9221")
    server = launch([], 9221)
    assert _config_get(server, "port") == "9221"
    assert (server.base / "pikadb-data").is_dir(), list(server.base.iterdir())


@pytest.mark.parametrize(
    "args, mention",
    [
        (["--no-such-directive", "1"], "no-such-directive"),
        (["--port", "notaport"], "port"),
        (["--port", "70000"], "port"),
        (["--databases", "0"], "databases"),
        (["--loglevel", "shouting"], "loglevel"),
        (["--sync-writes", "maybe"], "sync-writes"),
    ],
)
def test_bad_directive_fails_clearly(tmp_path, args, mention):
    result = _run([*args, "--dir", str(tmp_path)], tmp_path)
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert mention in out, f"the message does not name {mention!r}:\n{out}"


def test_bad_directive_in_config_file(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("port 7000\nno-such-directive yes\n")
    result = _run([str(conf), "--dir", str(tmp_path)], tmp_path)
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert "no-such-directive" in out, out


def test_missing_config_file(tmp_path):
    result = _run([str(tmp_path / "nope.conf")], tmp_path)
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert "nope.conf" in out, out


def test_version_and_help(tmp_path):
    for flag in ("--version", "-v"):
        result = _run([flag], tmp_path)
        assert result.returncode == 0 and "v=" in result.stdout, result
    result = _run(["--help"], tmp_path)
    assert result.returncode == 0 and "Usage" in result.stdout, result


# ---- stopping ----


def test_sigterm_exits_cleanly(launch, tmp_path):
    port = free_port()
    server = launch(["--port", str(port), "--dir", str(tmp_path)], port)
    server.client().set("k", "v")
    os.kill(server.pid, signal.SIGTERM)
    code = server.proc.wait(timeout=15)
    assert code == 0, f"exit status {code}\n{server.log_tail()}"
    assert not port_is_open(port)


def test_sigint_exits_cleanly(launch, tmp_path):
    port = free_port()
    server = launch(["--port", str(port), "--dir", str(tmp_path)], port)
    os.kill(server.pid, signal.SIGINT)
    assert server.proc.wait(timeout=15) == 0, server.log_tail()


@pytest.mark.parametrize("command", [["SHUTDOWN"], ["SHUTDOWN", "NOSAVE"], ["shutdown", "now"]])
def test_shutdown_command_stops_the_process(launch, tmp_path, command):
    port = free_port()
    server = launch(["--port", str(port), "--dir", str(tmp_path)], port)
    with server.raw() as r:
        r.send(command)
        assert r.read_until_closed(timeout=15) == b""  # like Redis: no reply, just closed
    code = server.proc.wait(timeout=15)
    assert code == 0, f"exit status {code}\n{server.log_tail()}"


def test_shutdown_errors_keep_it_running(launch, tmp_path):
    port = free_port()
    server = launch(["--port", str(port), "--dir", str(tmp_path)], port)
    with server.raw() as r:
        assert r.execute("SHUTDOWN", "FOO") == b"-ERR syntax error\r\n"
        assert r.execute("SHUTDOWN", "NOSAVE", "SAVE") == b"-ERR syntax error\r\n"
        assert r.execute("SHUTDOWN", "ABORT") == b"-ERR No shutdown in progress.\r\n"
        assert r.execute("PING") == b"+PONG\r\n"
    assert server.alive


# ---- logging ----


def _check_log_lines(text: str, pid: int) -> list[re.Match]:
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("---- start")]
    assert lines, "nothing logged"
    matches = []
    for ln in lines:
        m = LOG_LINE.match(ln)
        assert m, f"not a Redis-style log line: {ln!r}"
        assert int(m["pid"]) == pid, ln
        matches.append(m)
    assert any(m["role"] == "M" for m in matches), "no line with role M"
    return matches


def test_log_lines_are_redis_style_on_stdout(launch, tmp_path):
    port = free_port()
    server = launch(["--port", str(port), "--dir", str(tmp_path)], port)
    pid = server.pid
    assert server.stop() == 0
    matches = _check_log_lines(server.log_text(), pid)
    assert any(m["level"] == "*" for m in matches), "no notice-level line"


def test_log_lines_in_logfile_and_loglevel(launch, tmp_path):
    port = free_port()
    logfile = tmp_path / "pikad.log"
    server = launch(["--port", str(port), "--dir", str(tmp_path), "--logfile", str(logfile)], port)
    pid = server.pid
    assert server.stop() == 0
    _check_log_lines(logfile.read_text(), pid)
    stdout = server.output_path.read_text()
    assert not [ln for ln in stdout.splitlines() if LOG_LINE.match(ln)], "logged to stdout too"

    port = free_port()
    quiet_log = tmp_path / "quiet.log"
    server = launch(
        [
            "--port",
            str(port),
            "--dir",
            str(tmp_path / "q"),
            "--logfile",
            str(quiet_log),
            "--loglevel",
            "warning",
        ],
        port,
    )
    assert server.stop() == 0
    text = quiet_log.read_text() if quiet_log.exists() else ""
    levels = {m["level"] for m in (LOG_LINE.match(ln) for ln in text.splitlines()) if m}
    assert levels <= {"#"}, f"loglevel warning logged levels {levels}"


# ---- daemonize ----


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_daemonize_with_pidfile(tmp_path):
    port = free_port()
    pidfile = tmp_path / "pikad.pid"
    logfile = tmp_path / "pikad.log"
    result = _run(
        [
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(tmp_path),
            "--daemonize",
            "yes",
            "--pidfile",
            str(pidfile),
            "--logfile",
            str(logfile),
        ],
        tmp_path,
        timeout=20,
    )
    assert result.returncode == 0, result
    pid = None
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (pidfile.exists() and port_is_open(port)):
            time.sleep(0.05)
        assert pidfile.exists(), (
            f"no pidfile; log:\n{logfile.read_text() if logfile.exists() else ''}"
        )
        pid = int(pidfile.read_text().strip())
        assert _pid_alive(pid)
        assert port_is_open(port)
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and _pid_alive(pid):
            time.sleep(0.05)
        assert not _pid_alive(pid), "daemon still running 15 s after SIGTERM"
        assert not pidfile.exists(), "pidfile left behind after a clean exit"
    finally:
        if pid is not None and _pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
