"""The pika-sentinel command line: `pika-sentinel FILE [--directive value ...]` and
`python -m pikadb.sentinel`, with redis-sentinel's startup errors."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
import redis

from helpers.ports import free_port
from helpers.servers import PikaSentinelProcess, wait_until

MODULE = [sys.executable, "-m", "pikadb.sentinel"]


def run(args: list[str], timeout: float = 20) -> subprocess.CompletedProcess:
    return subprocess.run(MODULE + args, capture_output=True, text=True, timeout=timeout)


def test_a_config_file_is_required():
    r = run([])
    assert r.returncode == 1
    assert "Sentinel needs config file on disk to save state. Exiting..." in r.stdout


def test_missing_file(tmp_path):
    r = run([str(tmp_path / "nope.conf")])
    assert r.returncode == 1
    assert f"Fatal error, can't open config file '{tmp_path / 'nope.conf'}'" in r.stdout


def test_bad_directive_is_a_fatal_block(tmp_path):
    conf = tmp_path / "s.conf"
    conf.write_text("port 1\nsentinel monitor m 127.0.0.1 1 0\n")
    r = run([str(conf)])
    assert r.returncode == 1
    assert r.stderr == (
        "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n"
        "Reading the configuration file, at line 2\n"
        ">>> 'sentinel monitor m 127.0.0.1 1 0'\n"
        "Quorum must be 1 or greater.\n"
    )


def test_version():
    r = run(["--version"])
    assert r.returncode == 0 and "pika-sentinel" in r.stdout


@pytest.mark.skipif(shutil.which("pika-sentinel") is None, reason="console script not installed")
def test_console_script_and_port_override(tmp_path):
    port = free_port()
    conf = tmp_path / "s.conf"
    conf.write_text("port 1\nbind 127.0.0.1\nsentinel monitor m 127.0.0.1 1 1\n")
    proc = subprocess.Popen(
        ["pika-sentinel", str(conf), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        c = redis.Redis(port=port, decode_responses=True)
        wait_until(c.ping, 20, what="pika-sentinel to answer on the overridden port")
        assert c.execute_command("ROLE") == ["sentinel", ["m"]]
        # The override is what the rewrite persists.
        wait_until(lambda: f"port {port}\n" in conf.read_text(), 5, what="the rewrite")
        with pytest.raises(redis.ConnectionError):  # no reply: the connection just closes
            c.execute_command("SHUTDOWN")
        assert proc.wait(10) == 0
        c.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


def test_shutdown_flushes_and_a_restart_keeps_the_id(tmp_path):
    s = PikaSentinelProcess(tmp_path, ["m 127.0.0.1 1 1"])
    s.start()
    try:
        c = redis.Redis(port=s.port, decode_responses=True)
        myid = c.execute_command("SENTINEL", "MYID")
        c.close()
        s.restart()
        c = redis.Redis(port=s.port, decode_responses=True)
        assert c.execute_command("SENTINEL", "MYID") == myid
        c.close()
    finally:
        s.stop()
