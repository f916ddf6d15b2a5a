"""The command table against Redis 7.0.15's own: arity, flags (in Redis's order), key
positions and ACL categories, for every command both have, as COMMAND INFO reports them.

The reference is read from a real redis-server started for the test (skipped without one).
"""

from __future__ import annotations

import shutil

import pytest

from helpers.servers import start_redis
from pikadb.commands.registry import COMMANDS
from pikadb.commands.server import _acl_categories, _first_last_step
from pikadb.commands.table import FLAG_ORDER


@pytest.fixture(scope="module")
def redis_table(tmp_path_factory):
    if shutil.which("redis-server") is None:
        pytest.skip("needs redis-server")
    server = start_redis(tmp_path_factory.mktemp("redis-table"))
    try:
        raw = server.raw()
        names = [n.decode() for n in raw.call("COMMAND", "LIST")]
        table = {}
        for info in raw.call("COMMAND", "INFO", *names):
            entries = [info, *info[9]]
            for e in entries:
                table[e[0].decode()] = (
                    e[1],
                    [f.decode() for f in e[2]],
                    e[3],
                    e[4],
                    e[5],
                    [c.decode() for c in e[6]],
                )
        raw.close()
        return table
    finally:
        server.stop()


def _ours(cmd):
    return (
        cmd.arity,
        [f for f in FLAG_ORDER if f in cmd.flags],
        *_first_last_step(cmd),
        [str(c) for c in _acl_categories(cmd)],
    )


def test_every_shared_command_matches(redis_table):
    diffs = []
    for cmd in COMMANDS.values():
        for c in [cmd, *cmd.subcommands.values()]:
            ref = redis_table.get(c.name)
            if ref is not None and _ours(c) != ref:
                diffs.append(f"{c.name}: pikad {_ours(c)} redis {ref}")
    assert not diffs, "\n".join(diffs)
