"""Crash safety: 50 connections write while pikad is killed with -9 at random moments, 20
times; after each restart every acknowledged write of every round so far is there. At the
end a new, empty replica rebuilds the data set from the master's binlog alone and reaches
the master's DEBUG DIGEST: binlog and data agree after all those crashes.

"Acknowledged" means the reply reached the client. Each connection has one pipeline of
SET + RPUSH in flight, so a list may hold one element more than was acknowledged (applied,
reply lost with the process), never fewer.
"""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from chaos.conftest import chaos_scale
from helpers.raw import encode_commands
from helpers.servers import ServerProcess, replication_info, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.pikad_only]

CONNECTIONS = 50
MAX_WRITES_PER_CONN = 5000  # bound of one round, whatever happens


async def _connection(port: int, rnd: int, conn: int, acked: list[int], deadline: float) -> None:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return
    try:
        for i in range(MAX_WRITES_PER_CONN):
            if time.monotonic() > deadline:
                return
            writer.write(
                encode_commands(
                    [["SET", f"r{rnd}:c{conn}:{i}", f"v{i}"], ["RPUSH", f"r{rnd}:l{conn}", i]]
                )
            )
            await writer.drain()
            first = await reader.readline()
            second = await reader.readline()
            if first != b"+OK\r\n" or not second.startswith(b":"):
                return  # the connection died with the process
            acked[conn] = i + 1
    except (OSError, asyncio.IncompleteReadError):
        return
    finally:
        writer.close()


async def _load_and_kill(server: ServerProcess, rnd: int, kill_after: float) -> list[int]:
    acked = [0] * CONNECTIONS
    deadline = time.monotonic() + kill_after + 10
    tasks = [
        asyncio.create_task(_connection(server.port, rnd, c, acked, deadline))
        for c in range(CONNECTIONS)
    ]
    await asyncio.sleep(kill_after)
    server.kill()
    await asyncio.wait_for(asyncio.gather(*tasks), 15)
    return acked


def _check_round(client, rnd: int, acked: list[int]) -> int:
    """-> acknowledged writes missing from round rnd."""
    lost = 0
    for conn, n in enumerate(acked):
        if not n:
            continue
        keys = [f"r{rnd}:c{conn}:{i}" for i in range(n)]
        values = client.mget(keys)
        lost += sum(1 for i, v in enumerate(values) if v != f"v{i}".encode())
        items = client.lrange(f"r{rnd}:l{conn}", 0, -1)
        assert len(items) <= n + 1, (rnd, conn, len(items), n)  # at most the one in flight
        prefix = [int(x) for x in items[:n]]
        lost += n - sum(1 for i, x in enumerate(prefix) if x == i)
    return lost


def test_kill_9_under_50_connections(pikad_factory, figures):
    kills = max(2, round(20 * chaos_scale()))
    rng = random.Random(20261203)
    server = pikad_factory(enable_debug_command="local", binlog_keep_segments=100000)
    history: list[list[int]] = []
    restarts: list[float] = []
    figures.append(f"{'kill':>4} {'after s':>8} {'acked':>7} {'restart s':>9} {'lost':>5}")
    for rnd in range(kills):
        kill_after = rng.uniform(0.2, 1.2)
        acked = asyncio.run(_load_and_kill(server, rnd, kill_after))
        history.append(acked)
        start = time.monotonic()
        server.start()
        restarts.append(time.monotonic() - start)
        c = server.client(socket_timeout=30)
        lost = sum(_check_round(c, r, a) for r, a in enumerate(history))
        figures.append(
            f"{rnd + 1:>4} {kill_after:>8.2f} {sum(acked):>7} {restarts[-1]:>9.2f} {lost:>5}"
        )
        assert lost == 0, f"round {rnd}: {lost} acknowledged writes lost"
    total = sum(sum(a) for a in history)
    figures.append(
        f"{kills} kills, {total} acknowledged writes (x2 commands), 0 lost; restart "
        f"median {sorted(restarts)[len(restarts) // 2]:.2f} s, max {max(restarts):.2f} s"
    )
    assert total > 0
    torn = server.log_text().count(": truncating ")
    figures.append(f"binlog tails truncated to the last valid record at restart: {torn}")

    # The binlog alone rebuilds the same data set (a new replica replays it from id 1).
    replica = pikad_factory(enable_debug_command="local", replicaof=f"{server.host} {server.port}")
    wait_until(
        lambda: (
            replication_info(replica).get("master_link_status") == "up"
            and replication_info(replica)["slave_repl_offset"]
            == replication_info(server)["master_repl_offset"]
        ),
        60,
        what="the replica to replay the binlog",
    )
    assert "full sync" not in replica.log_text().replace("no full sync needed", "")
    digest = server.client().execute_command("DEBUG", "DIGEST")
    assert digest != b"0" * 40
    assert replica.client().execute_command("DEBUG", "DIGEST") == digest
