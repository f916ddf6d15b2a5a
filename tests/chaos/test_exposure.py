"""Auth and exposure, compared with redis-server: protected mode (no password: only loopback
clients get in; a client in a network namespace the test made is the outside world),
requirepass from outside, rename-command to disable or hide dangerous commands, and no
CONFIG SET that would make the server write outside its directory.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from chaos import netns
from helpers.ports import free_port
from helpers.servers import ArgvServer, pikad_command, redis_server_binary

pytestmark = pytest.mark.pikad_only

PROBE = r"""
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
s.sendall(b"PING\r\n")
out = b""
try:
    while True:
        data = s.recv(65536)
        if not data:
            out += b"<closed>"
            break
        out += data
        s.settimeout(0.5)  # the rest, or the close, follows at once
except socket.timeout:
    out += b"<timeout>"
except ConnectionResetError:  # closed with our PING unread: a reset rather than a FIN
    out += b"<closed>"
sys.stdout.buffer.write(out)
"""


@pytest.fixture
def ns():
    why = netns.available()
    if why:
        pytest.skip(why)
    with netns.namespace() as n:
        yield n


def _start(kind: str, base: Path, args: list[str]) -> ArgvServer:
    port = free_port()
    if kind == "pikad":
        argv = [*pikad_command(), "--port", str(port), "--dir", str(base / "data"), *args]
    else:
        argv = [redis_server_binary(), "--port", str(port), "--dir", str(base), "--save", ""]
        argv += args
    base.mkdir(parents=True, exist_ok=True)
    server = ArgvServer(base, argv, port=port)
    server.start()
    return server


def _outside_ping(ns: netns.Namespace, port: int) -> bytes:
    r = ns.run(sys.executable, "-c", PROBE, ns.host_ip, str(port))
    assert r.returncode == 0, r.stderr
    return r.stdout


def protected_mode_transcript(kind: str, base: Path, ns: netns.Namespace) -> list[bytes]:
    server = _start(kind, base, ["--bind", "127.0.0.1", ns.host_ip])
    try:
        local = server.client()
        out = [_outside_ping(ns, server.port)]  # no password: refused from outside
        out.append(b"local: %r" % local.ping())  # loopback always gets in
        local.config_set("requirepass", "s3cret")
        out.append(_outside_ping(ns, server.port))  # a password: in, but must AUTH
        local = server.client(password="s3cret")
        local.config_set("requirepass", "")
        local.config_set("protected-mode", "no")
        out.append(_outside_ping(ns, server.port))  # protection off
        return out
    finally:
        server.stop()


def test_protected_mode_like_redis(tmp_path, ns):
    pikad = protected_mode_transcript("pikad", tmp_path / "pikad", ns)
    redis = protected_mode_transcript("redis", tmp_path / "redis", ns)
    assert pikad == redis
    assert pikad[0].startswith(b"-DENIED ") and pikad[0].endswith(b"<closed>")
    assert pikad[2] == b"-NOAUTH Authentication required.\r\n<timeout>"
    assert pikad[3] == b"+PONG\r\n<timeout>"


NAMES = (b"flushall", b"config", b"cfg-7f3a")
RENAMES = 'rename-command FLUSHALL ""\nrename-command CONFIG cfg-7f3a\n'


def rename_transcript(kind: str, base: Path) -> list[object]:
    base.mkdir(parents=True)
    conf = base / "server.conf"
    conf.write_text(RENAMES)
    server = _start(kind, base, [])  # the file is given below
    server.stop()
    port = server.port
    argv = (
        [*pikad_command(), str(conf), "--port", str(port), "--dir", str(base / "data")]
        if kind == "pikad"
        else [redis_server_binary(), str(conf), "--port", str(port), "--dir", str(base)]
    )
    server = ArgvServer(base, argv, port=port)
    server.start()
    try:
        raw = server.raw()
        out: list[object] = []
        for cmd in (
            ["FLUSHALL"],
            ["CONFIG", "GET", "maxclients"],
            ["cfg-7f3a", "GET", "maxclients"],
            ["CFG-7F3A", "GET", "protected-mode"],
        ):
            out.append(raw.execute(*cmd))
        names = raw.execute("COMMAND", "LIST")
        out.append(tuple(b"$%d\r\n%s\r\n" % (len(n), n) in names for n in NAMES))
        return out
    finally:
        server.stop()


def test_rename_command_like_redis(tmp_path):
    assert rename_transcript("pikad", tmp_path / "pikad") == rename_transcript(
        "redis", tmp_path / "redis"
    )


def test_rename_of_an_unknown_command_stops_the_start(tmp_path):
    outputs = []
    for kind in ("pikad", "redis"):
        conf = tmp_path / f"{kind}.conf"
        conf.write_text("rename-command NOSUCHCMD foo\n")
        argv = (
            [*pikad_command(), str(conf), "--port", str(free_port())]
            if kind == "pikad"
            else [redis_server_binary(), str(conf), "--port", str(free_port())]
        )
        r = subprocess.run(argv, capture_output=True, text=True, timeout=30, cwd=tmp_path)
        assert r.returncode != 0
        outputs.append((r.stdout + r.stderr).split("\n>>> ", 1)[1])
    assert outputs[0] == outputs[1]
    assert "No such command in rename-command" in outputs[0]


def test_no_config_set_writes_outside_dir(diff):
    diff(
        [
            ["CONFIG", "SET", "dir", "/tmp"],
            ["CONFIG", "SET", "dbfilename", "../../etc/x"],
            ["CONFIG", "SET", "logfile", "/tmp/x.log"],
            ["CONFIG", "SET", "pidfile", "/tmp/x.pid"],
        ]
    )
