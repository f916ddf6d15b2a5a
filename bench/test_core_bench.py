"""Micro-benchmarks of the command core (cext/core.pyx) beside the dispatcher it stands in for.

    pytest bench/test_core_bench.py --benchmark-enable

Each benchmark runs 100 pipelined commands of one read through a real Server (storage on a
temporary directory, no sockets): the core's run() over the parser's buffer, or what a
client does with the core off (parser.gets() then Dispatcher.call per command). Writes are
staged as in a turn and the group is written once per round, as the end of a turn does.
Without --benchmark-enable each body runs once as a plain test, so the assertions keep them
honest.
"""

from __future__ import annotations

import pytest

from pikadb.config import Config
from pikadb.protocol import Parser, encode_command
from pikadb.server.client import Client
from pikadb.server.server import Server

N = 100
GETS = b"".join(encode_command([b"GET", b"key:%06d" % i]) for i in range(N))
SETS = b"".join(encode_command([b"SET", b"key:%06d" % i, b"value-%06d" % i]) for i in range(N))
INCRS = b"".join(encode_command([b"INCR", b"counter:%06d" % (i % 10)]) for i in range(N))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    path = tmp_path_factory.mktemp("core-bench")
    config = Config.load(None, [("dir", [str(path / "data")]), ("port", ["0"])])
    s = Server(config)
    s.open_storage()
    s.engine.schedule_flush = lambda: None  # each round writes its group itself
    s.engine.set_group_commit(True)
    c = Client(s)
    parser = Parser()
    parser.feed(SETS)
    out: list[bytes] = []
    s.core.run(c, parser, out)
    assert s.engine.flush_groups()
    yield s
    s.engine.close()


def _core(server: Server, data: bytes) -> int:
    c = Client(server)
    parser = Parser()
    parser.feed(data)
    out: list[bytes] = []
    run = server.core.run
    while parser.buffered():
        run(c, parser, out)
    server.engine.flush_groups()
    return sum(len(x) for x in out)


def _dispatcher(server: Server, data: bytes) -> int:
    c = Client(server)
    parser = Parser()
    parser.feed(data)
    call = server.dispatcher.call
    n = 0
    while (argv := parser.gets()) is not None:
        n += len(call(c, argv))
    server.engine.flush_groups()
    return n


@pytest.mark.parametrize("path", [_core, _dispatcher], ids=["core", "dispatcher"])
@pytest.mark.parametrize("data", [GETS, SETS, INCRS], ids=["get", "set", "incr"])
def test_100_pipelined(benchmark, server, path, data):
    replied = benchmark(path, server, data)
    assert replied == _dispatcher(server, data) or data is INCRS  # INCR: the counts grow
    assert replied > N * 4
