"""Blocking list and sorted-set commands with several connections, pikad against redis-server.

Each scenario is a function of a World (named raw connections to one server); it runs once
against pikad and once against redis-server and the two transcripts (every reply each
connection got, in the order the scenario looked at them, plus "nothing arrived" checks)
must be identical. Before acting on a blocked client a scenario waits until the server
reports it blocked (INFO blocked_clients), so the order of events is the same on both.

Covered: FIFO service of several clients blocked on one key, one element per client, keys
served in the order they got data, pushes of several elements, timeouts and their reply
types (RESP2 *-1, RESP3 _), BLMOVE chains, a blocked client's pipelined input waiting,
pushes inside MULTI/EXEC served once EXEC completed, keys created by RENAME/LMOVE or made
a string, WRONGTYPE destinations, disconnect / CLIENT KILL / CLIENT UNBLOCK of blocked
clients, other databases, INFO blocked_clients.

Sorted sets (BZPOPMIN, BZPOPMAX, BZMPOP): FIFO service, COUNT taking the whole zset, key
order, timeouts and RESP3 replies (scores as doubles), wake-up by ZADD / ZINCRBY /
ZUNIONSTORE / ZINTERSTORE / ZRANGESTORE / RENAME / COPY / GEOADD / MOVE / MULTI-EXEC,
pipelined writes, no blocking inside MULTI, list and zset waiters on one key, CLIENT
UNBLOCK and disconnects.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from helpers import servers
from helpers.raw import RawConnection, encode_command, parse
from pikadb.protocol import Parser

Transcript = list[tuple[str, object]]


class World:
    """Named connections to one server and the transcript of what they received."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conns: dict[str, RawConnection] = {}
        self.log: Transcript = []
        self.ctl = RawConnection(port, timeout=5)
        self.ctl.execute("FLUSHALL")

    def conn(self, name: str) -> RawConnection:
        c = self.conns.get(name)
        if c is None:
            c = self.conns[name] = RawConnection(self.port, timeout=5)
        return c

    def tagged(self, args: tuple[object, ...]) -> tuple[object, ...]:
        """With several pikad workers, every key gets the hash tag {t}, on both servers
        alike: the scenarios' multi-key blocking commands then stay on one worker (keys of
        two workers answer -CROSSSLOT, tested in test_workers.py) while the connections,
        spread over the workers, still block through another worker's proxy."""
        if not (servers.SETTINGS.workers and servers.SETTINGS.workers > 1):
            return args
        keys = parse(self.ctl.execute("COMMAND", "GETKEYS", *args))
        if not isinstance(keys, list):
            return args
        names = {k if isinstance(k, bytes) else str(k).encode() for k in keys}

        def raw(a: object) -> bytes:
            return a if isinstance(a, bytes) else str(a).encode()

        return (args[0], *(b"{t}" + raw(a) if raw(a) in names else a for a in args[1:]))

    def call(self, name: str, *args: object, label: str | None = None) -> bytes:
        """Send and read the reply (recorded, under `label` if the arguments differ
        between servers, e.g. client ids)."""
        args = self.tagged(args)
        reply = self.conn(name).execute(*args)
        self.log.append((f"{name}: {label or ' '.join(map(str, args))}", reply))
        return reply

    def quiet_call(self, name: str, *args: object) -> bytes:
        """Send and read the reply, not recorded (ids and other per-server values)."""
        return self.conn(name).execute(*self.tagged(args))

    def send(self, name: str, *args: object) -> None:
        self.conn(name).send(list(self.tagged(args)))

    def send_raw(self, name: str, data: bytes) -> None:
        if servers.SETTINGS.workers and servers.SETTINGS.workers > 1:
            parser = Parser()
            parser.feed(data)
            commands = []
            while (argv := parser.gets()) is not None:
                commands.append(encode_command(list(self.tagged(tuple(argv)))))
            data = b"".join(commands)
        self.conn(name).send(data)

    def read(self, name: str, timeout: float = 3.0) -> bytes:
        reply = self.conn(name).read_reply(timeout)
        self.log.append((f"{name} receives", reply))
        return reply

    def nothing(self, name: str, wait: float = 0.1) -> None:
        """Record whatever arrives within `wait` (should be nothing: still blocked)."""
        data = self.conn(name).read_available(quiet=wait, timeout=wait)
        self.log.append((f"{name} quiet", data))

    def blocked(self) -> int:
        info = self.ctl.execute("INFO", "clients").decode()
        for line in info.split("\r\n"):
            if line.startswith("blocked_clients:"):
                return int(line.split(":")[1])
        raise AssertionError("no blocked_clients in INFO clients")

    def wait_blocked(self, n: int, timeout: float = 3.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            got = self.blocked()
            if got == n:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"port {self.port}: {got} blocked clients, expected {n}")
            time.sleep(0.005)

    def block(self, name: str, *args: object, total: int) -> None:
        """Send a blocking command and wait until the server counts `total` blocked."""
        self.send(name, *args)
        self.wait_blocked(total)

    def client_id(self, name: str) -> int:
        return int(self.quiet_call(name, "CLIENT", "ID")[1:-2])

    def close(self) -> None:
        for c in self.conns.values():
            c.close()
        self.ctl.close()


def compare(pikad, redis_oracle, scenario: Callable[[World], None]) -> Transcript:
    transcripts = []
    for server in (pikad, redis_oracle):
        world = World(server.port)
        try:
            scenario(world)
            world.wait_blocked(0)  # nothing left behind
        finally:
            world.close()
        transcripts.append(world.log)
    left, right = transcripts
    for i, (a, b) in enumerate(zip(left, right, strict=False)):
        if a != b:
            shown = "\n".join(
                f"  {s}: {parse(r) if isinstance(r, bytes) and r else r!r}"
                for s, r in left[max(0, i - 5) : i]
            )
            raise AssertionError(
                f"step {i} differs:\n pikad        {a[0]} -> {a[1]!r}\n"
                f" redis-server {b[0]} -> {b[1]!r}\nsteps before (pikad):\n{shown}"
            )
    assert len(left) == len(right), (left[len(right) :], right[len(left) :])
    return left


# ---- serving order ----


def test_fifo_one_element_per_client(pikad, redis_oracle):
    def scenario(w: World) -> None:
        w.block("a", "BLPOP", "l", "0", total=1)
        w.block("b", "BLPOP", "l", "0", total=2)
        w.block("c", "BRPOP", "l", "0", total=3)
        w.call("p", "RPUSH", "l", "1", "2")
        w.read("a")
        w.read("b")
        w.nothing("c")
        w.call("p", "EXISTS", "l")
        w.wait_blocked(1)
        w.call("p", "LPUSH", "l", "3", "4", "5")
        w.read("c")
        w.call("p", "LRANGE", "l", "0", "-1")

    compare(pikad, redis_oracle, scenario)


def test_one_push_serves_several_in_order(pikad, redis_oracle):
    def scenario(w: World) -> None:
        for i, name in enumerate(("a", "b", "c", "d")):
            cmd = ("BLPOP", "l", "0") if i % 2 == 0 else ("BRPOP", "l", "0")
            w.block(name, *cmd, total=i + 1)
        w.call("p", "LPUSH", "l", "x", "y", "z")
        for name in ("a", "b", "c"):
            w.read(name)
        w.nothing("d")
        w.call("p", "RPUSH", "l", "last")
        w.read("d")

    compare(pikad, redis_oracle, scenario)


def test_multi_key_blocking_and_key_order(pikad, redis_oracle):
    def scenario(w: World) -> None:
        w.block("a", "BLPOP", "k1", "k2", "0", total=1)
        w.block("b", "BLPOP", "k2", "0", total=2)
        w.block("c", "BRPOP", "k1", "k1", "0", total=3)
        w.call("p", "RPUSH", "k2", "x")
        w.read("a")
        w.nothing("b")
        w.call("p", "RPUSH", "k1", "y")
        w.read("c")
        w.call("p", "RPUSH", "k2", "z")
        w.read("b")

    compare(pikad, redis_oracle, scenario)


def test_pipelined_pushes_served_between_commands(pikad, redis_oracle):
    def scenario(w: World) -> None:
        w.block("a", "BLPOP", "l", "0", total=1)
        w.send_raw(
            "p",
            encode_command(["RPUSH", "l", "first"])
            + encode_command(["RPUSH", "l", "second"])
            + encode_command(["LRANGE", "l", "0", "-1"]),
        )
        w.read("p")
        w.read("p")
        w.read("p")
        w.read("a")

    compare(pikad, redis_oracle, scenario)


def test_blocked_clients_pipeline_waits(pikad, redis_oracle):
    def scenario(w: World) -> None:
        w.send_raw(
            "a",
            encode_command(["BLPOP", "l", "0"])
            + encode_command(["PING"])
            + encode_command(["RPUSH", "mine", "1"])
            + encode_command(["LLEN", "l"]),
        )
        w.wait_blocked(1)
        w.nothing("a")
        w.call("p", "EXISTS", "mine")
        w.call("p", "RPUSH", "l", "x", "y")
        for _ in range(4):
            w.read("a")
        w.send("a", "GET", "nokey")
        w.read("a")

    compare(pikad, redis_oracle, scenario)


# ---- timeouts ----


def test_timeouts_and_reply_types(pikad, redis_oracle):
    def scenario(w: World) -> None:
        w.send("a", "BLPOP", "l", "0.15")
        w.send("b", "BLMOVE", "l", "d", "LEFT", "RIGHT", "0.15")
        w.send("c", "BLMPOP", "0.15", "2", "l", "m", "LEFT", "COUNT", "2")
        w.quiet_call("r3", "HELLO", "3")
        w.send("r3", "BRPOPLPUSH", "l", "d", "0.15")
        w.wait_blocked(4)
        for name in ("a", "b", "c", "r3"):
            w.read(name)
        w.call("p", "EXISTS", "l", "d", "m")
        w.send("r3", "BLPOP", "x", "0.05")
        w.read("r3")

    compare(pikad, redis_oracle, scenario)


def test_timeout_of_one_does_not_disturb_others(pikad, redis_oracle):
    def scenario(w: World) -> None:
        w.block("a", "BLPOP", "l", "0.1", total=1)
        w.block("b", "BLPOP", "l", "0", total=2)
        w.read("a")
        w.wait_blocked(1)
        w.call("p", "RPUSH", "l", "v")
        w.read("b")

    compare(pikad, redis_oracle, scenario)


# ---- BLMOVE ----


def test_blmove_chain(pikad, redis_oracle):
    def scenario(w: World) -> None:
        w.block("a", "BLMOVE", "q1", "q2", "LEFT", "RIGHT", "0", total=1)
        w.block("b", "BRPOPLPUSH", "q2", "q3", "0", total=2)
        w.block("c", "BLMPOP", "0", "1", "q3", "LEFT", total=3)
        w.block("d", "BLPOP", "q1", "0", total=4)
        w.call("p", "RPUSH", "q1", "job")
        w.read("a")
        w.read("b")
        w.read("c")
        w.nothing("d")
        w.call("p", "EXISTS", "q1", "q2", "q3")
        w.call("p", "RPUSH", "q1", "job2")
        w.read("d")

    compare(pikad, redis_oracle, scenario)


def test_blmove_to_wrong_type_destination(pikad, redis_oracle):
    def scenario(w: World) -> None:
        w.call("p", "SET", "s", "string")
        w.block("a", "BLMOVE", "src", "s", "LEFT", "LEFT", "0", total=1)
        w.block("b", "BLPOP", "src", "0", total=2)
        w.call("p", "RPUSH", "src", "x")
        w.read("a")
        w.read("b")
        w.call("p", "EXISTS", "src")
        w.call("p", "GET", "s")

    compare(pikad, redis_oracle, scenario)


def test_blmove_same_key_and_resp3(pikad, redis_oracle):
    def scenario(w: World) -> None:
        w.quiet_call("a", "HELLO", "3")
        w.block("a", "BLMOVE", "l", "l", "RIGHT", "LEFT", "0", total=1)
        w.call("p", "RPUSH", "l", "1", "2")
        w.read("a")
        w.call("p", "LRANGE", "l", "0", "-1")
        w.block("a", "BLMPOP", "0", "1", "m", "RIGHT", "COUNT", "5", total=1)
        w.call("p", "RPUSH", "m", "1", "2", "3")
        w.read("a")

    compare(pikad, redis_oracle, scenario)


# ---- what makes a key ready ----


def test_keys_made_by_other_commands(pikad, redis_oracle):
    def scenario(w: World) -> None:
        w.block("a", "BLPOP", "dst", "0", total=1)
        w.call("p", "RPUSH", "src", "1", "2")
        w.call("p", "RENAME", "src", "dst")
        w.read("a")
        w.block("a", "BLPOP", "moved", "0", total=1)
        w.call("p", "LMOVE", "dst", "moved", "LEFT", "LEFT")
        w.read("a")
        w.block("a", "BLPOP", "copied", "0", total=1)
        w.call("p", "RPUSH", "orig", "c")
        w.call("p", "COPY", "orig", "copied")
        w.read("a")
        w.call("p", "LRANGE", "orig", "0", "-1")

    compare(pikad, redis_oracle, scenario)


def test_string_at_the_key_does_not_serve(pikad, redis_oracle):
    def scenario(w: World) -> None:
        w.block("a", "BLPOP", "k", "0", total=1)
        w.call("p", "SET", "k", "v")
        w.nothing("a")
        w.call("p", "DEL", "k")
        w.call("p", "RPUSH", "k", "now")
        w.read("a")

    compare(pikad, redis_oracle, scenario)


def test_other_database(pikad, redis_oracle):
    def scenario(w: World) -> None:
        w.quiet_call("a", "SELECT", "1")
        w.block("a", "BLPOP", "l", "0", total=1)
        w.call("p", "RPUSH", "l", "db0")
        w.nothing("a")
        w.quiet_call("p", "SELECT", "1")
        w.call("p", "RPUSH", "l", "db1")
        w.read("a")
        w.quiet_call("p", "SELECT", "0")
        w.call("p", "LLEN", "l")

    compare(pikad, redis_oracle, scenario)


def test_swapdb_brings_data_to_blocked_clients(pikad, redis_oracle):
    def scenario(w: World) -> None:
        w.quiet_call("a", "SELECT", "1")
        w.block("a", "BLPOP", "l", "0", total=1)
        w.block("b", "BLPOP", "m", "0", total=2)
        w.call("p", "RPUSH", "l", "from-db0")
        w.nothing("a")
        w.call("p", "SWAPDB", "0", "1")
        w.read("a")
        w.call("p", "LLEN", "l")
        w.quiet_call("p", "SELECT", "1")
        w.call("p", "LLEN", "l")
        w.call("p", "RPUSH", "m", "db1")  # b waits in db 0, still
        w.nothing("b")
        w.call("p", "SWAPDB", "1", "0")
        w.read("b")
        w.quiet_call("p", "SELECT", "0")
        w.block("a", "BLPOP", "l", "0", total=1)
        w.call("p", "SWAPDB", "0", "1")
        w.quiet_call("p", "SELECT", "0")
        w.call("p", "RPUSH", "l", "after-swap")  # db 0 now; a waits on db 1
        w.nothing("a")
        w.quiet_call("p", "SELECT", "1")
        w.call("p", "RPUSH", "l", "db1-now")
        w.read("a")

    compare(pikad, redis_oracle, scenario)


def test_push_inside_multi_served_after_exec(pikad, redis_oracle):
    def scenario(w: World) -> None:
        w.block("a", "BLPOP", "l", "0", total=1)
        w.call("p", "MULTI")
        w.call("p", "RPUSH", "l", "x")
        w.call("p", "LPOP", "l")
        w.call("p", "EXEC")
        w.nothing("a")
        w.call("p", "MULTI")
        w.call("p", "RPUSH", "l", "y", "z")
        w.call("p", "LLEN", "l")
        w.call("p", "EXEC")
        w.read("a")
        w.call("p", "LRANGE", "l", "0", "-1")

    compare(pikad, redis_oracle, scenario)


def test_blocking_command_inside_multi_does_not_block(pikad, redis_oracle):
    def scenario(w: World) -> None:
        w.call("a", "MULTI")
        w.call("a", "BLPOP", "l", "0")
        w.call("a", "BLMOVE", "l", "d", "LEFT", "LEFT", "0")
        w.call("a", "EXEC")
        w.call("p", "RPUSH", "l", "x")
        w.call("a", "MULTI")
        w.call("a", "BRPOPLPUSH", "l", "d", "0")
        w.call("a", "EXEC")

    compare(pikad, redis_oracle, scenario)


# ---- leaving the blocked state without data ----


def test_disconnect_while_blocked(pikad, redis_oracle):
    def scenario(w: World) -> None:
        w.block("a", "BLPOP", "l", "0", total=1)
        w.block("b", "BLPOP", "l", "0", total=2)
        w.conn("a").close()
        w.wait_blocked(1)
        w.call("p", "RPUSH", "l", "x", "y")
        w.read("b")
        w.call("p", "LRANGE", "l", "0", "-1")

    compare(pikad, redis_oracle, scenario)


def test_client_kill_blocked(pikad, redis_oracle):
    def scenario(w: World) -> None:
        ida = w.client_id("a")
        w.block("a", "BLPOP", "l", "0", total=1)
        w.call("p", "CLIENT", "KILL", "ID", str(ida), label="CLIENT KILL ID <a>")
        w.wait_blocked(0)
        w.call("p", "RPUSH", "l", "x")
        w.call("p", "LLEN", "l")

    compare(pikad, redis_oracle, scenario)


def test_client_unblock(pikad, redis_oracle):
    def scenario(w: World) -> None:
        ida, idb = w.client_id("a"), w.client_id("b")
        w.block("a", "BLPOP", "l", "0", total=1)
        w.block("b", "BLMOVE", "l", "d", "LEFT", "LEFT", "0", total=2)
        w.call("p", "CLIENT", "UNBLOCK", str(ida), label="CLIENT UNBLOCK <a>")
        w.read("a")
        w.call("p", "CLIENT", "UNBLOCK", str(idb), "ERROR", label="CLIENT UNBLOCK <b> ERROR")
        w.read("b")
        w.call("p", "CLIENT", "UNBLOCK", str(ida), label="CLIENT UNBLOCK <a> (not blocked)")
        w.call("p", "CLIENT", "UNBLOCK", str(ida), "TIMEOUT", label="CLIENT UNBLOCK <a> TIMEOUT")
        w.call("p", "CLIENT", "UNBLOCK", str(ida), "FOO", label="CLIENT UNBLOCK <a> FOO")
        w.call("p", "CLIENT", "UNBLOCK", "x")
        w.call("p", "CLIENT", "UNBLOCK", "1", "2", "3")
        w.call("a", "PING")

    compare(pikad, redis_oracle, scenario)


def info_field(w: World, name: str) -> str:
    for line in w.ctl.execute("INFO", "clients").decode().split("\r\n"):
        if line.startswith(name + ":"):
            return line.split(":", 1)[1]
    return "?"


def test_blocked_flag_and_counts(pikad, redis_oracle):
    def field(w: World, own: int, key: str) -> str:
        text = w.quiet_call("p", "CLIENT", "LIST").decode()
        for line in text.split("\n"):
            if f"id={own} " in line:
                return dict(kv.split("=", 1) for kv in line.split(" ") if "=" in kv)[key]
        return "?"

    def scenario(w: World) -> None:
        ida = w.client_id("a")
        w.block("a", "BLPOP", "l", "5", total=1)
        w.log.append(("a flags", field(w, ida, "flags")))
        w.log.append(("a cmd", field(w, ida, "cmd")))
        w.log.append(("blocked", w.blocked()))
        w.block("b", "BLPOP", "l", "0", total=2)
        w.log.append(("in timeout table", info_field(w, "clients_in_timeout_table")))
        w.call("p", "RPUSH", "l", "x", "y")
        w.read("a")
        w.read("b")
        w.log.append(("in timeout table after", info_field(w, "clients_in_timeout_table")))
        w.log.append(("blocked after", w.blocked()))
        w.log.append(("a flags after", field(w, ida, "flags")))

    compare(pikad, redis_oracle, scenario)


@pytest.mark.parametrize("n", [20])
def test_many_waiters(pikad, redis_oracle, n):
    def scenario(w: World) -> None:
        for i in range(n):
            w.block(f"c{i}", "BLPOP", f"k{i % 3}", "shared", "0", total=i + 1)
        w.call("p", "RPUSH", "shared", *[str(i) for i in range(n // 2)])
        for i in range(n // 2):
            w.read(f"c{i}")
        for i in range(n // 2, n):
            w.call("p", "RPUSH", f"k{i % 3}", f"v{i}")
            w.read(f"c{i}")

    compare(pikad, redis_oracle, scenario)


# ---- sorted sets: BZPOPMIN, BZPOPMAX, BZMPOP ----


def test_zset_fifo_one_pop_per_client(pikad, redis_oracle):
    def scenario(w: World) -> None:
        w.block("a", "BZPOPMIN", "z", "0", total=1)
        w.block("b", "BZPOPMAX", "z", "0", total=2)
        w.block("c", "BZMPOP", "0", "1", "z", "MIN", "COUNT", "2", total=3)
        w.block("d", "BZPOPMIN", "z", "0", total=4)
        w.call("p", "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5.5", "e")
        w.read("a")
        w.read("b")
        w.read("c")
        w.read("d")
        w.call("p", "ZRANGE", "z", "0", "-1", "WITHSCORES")
        w.block("a", "BZMPOP", "0", "1", "z", "MAX", "COUNT", "10", total=1)
        w.block("b", "BZPOPMIN", "z", "0", total=2)
        w.call("p", "ZADD", "z", "-inf", "lo", "inf", "hi", "0", "zero")
        w.read("a")  # takes all three: the zset is gone, b stays blocked
        w.nothing("b")
        w.call("p", "EXISTS", "z")
        w.call("p", "ZADD", "z", "7", "x", "8", "y")
        w.read("b")
        w.call("p", "ZRANGE", "z", "0", "-1", "WITHSCORES")

    compare(pikad, redis_oracle, scenario)


def test_zset_multi_key_and_key_order(pikad, redis_oracle):
    def scenario(w: World) -> None:
        w.block("a", "BZPOPMIN", "z1", "z2", "0", total=1)
        w.block("b", "BZPOPMAX", "z2", "0", total=2)
        w.block("c", "BZMPOP", "0", "3", "z1", "z1", "z3", "MAX", total=3)
        w.call("p", "ZADD", "z2", "1", "x")
        w.read("a")
        w.nothing("b")
        w.call("p", "ZADD", "z3", "2", "y")
        w.read("c")
        w.call("p", "ZADD", "z2", "3", "z")
        w.read("b")
        w.call("p", "DBSIZE")

    compare(pikad, redis_oracle, scenario)


def test_zset_timeouts_and_resp3(pikad, redis_oracle):
    def scenario(w: World) -> None:
        w.send("a", "BZPOPMIN", "z", "0.15")
        w.send("b", "BZMPOP", "0.15", "2", "z", "y", "MIN", "COUNT", "2")
        w.quiet_call("r3", "HELLO", "3")
        w.send("r3", "BZPOPMAX", "z", "y", "0.15")
        w.wait_blocked(3)
        for name in ("a", "b", "r3"):
            w.read(name)
        w.send("r3", "BZMPOP", "0.05", "1", "z", "MAX")
        w.read("r3")
        # Served replies in RESP3: scores as doubles.
        w.block("r3", "BZPOPMIN", "z", "0", total=1)
        w.call("p", "ZADD", "z", "1.5", "a", "2", "b", "-inf", "c", "1e300", "d")
        w.read("r3")
        w.block("r3", "BZPOPMAX", "z2", "0", total=1)
        w.call("p", "ZINCRBY", "z2", "1e300", "b")
        w.read("r3")
        w.block("r3", "BZMPOP", "0", "1", "z3", "MIN", "COUNT", "5", total=1)
        w.call("p", "ZADD", "z3", "0.1", "p", "0.2", "q", "inf", "r")
        w.read("r3")
        w.call("p", "ZRANGE", "z", "0", "-1", "WITHSCORES")

    compare(pikad, redis_oracle, scenario)


def test_zset_timeout_of_one_does_not_disturb_others(pikad, redis_oracle):
    def scenario(w: World) -> None:
        w.block("a", "BZPOPMIN", "z", "0.1", total=1)
        w.block("b", "BZMPOP", "0", "1", "z", "MIN", total=2)
        w.block("c", "BZPOPMAX", "z", "5", total=3)
        w.read("a")
        w.wait_blocked(2)
        w.call("p", "ZADD", "z", "1", "v", "2", "w")
        w.read("b")
        w.read("c")

    compare(pikad, redis_oracle, scenario)


def test_zset_woken_by_other_writers(pikad, redis_oracle):
    def scenario(w: World) -> None:
        w.block("a", "BZPOPMIN", "inc", "0", total=1)
        w.call("p", "ZINCRBY", "inc", "2.5", "m")
        w.read("a")
        w.call("p", "ZADD", "s1", "1", "x", "2", "y")
        w.call("p", "ZADD", "s2", "10", "y", "20", "z")
        w.block("a", "BZPOPMAX", "union", "0", total=1)
        w.call("p", "ZUNIONSTORE", "union", "2", "s1", "s2")
        w.read("a")
        w.block("a", "BZMPOP", "0", "1", "inter", "MIN", "COUNT", "3", total=1)
        w.call("p", "ZINTERSTORE", "inter", "2", "s1", "nokey")  # empty: nothing stored
        w.nothing("a")
        w.call("p", "ZINTERSTORE", "inter", "2", "s1", "s2", "WEIGHTS", "2", "3")
        w.read("a")
        w.block("a", "BZPOPMIN", "ranged", "0", total=1)
        w.call("p", "ZRANGESTORE", "ranged", "s2", "0", "0")
        w.read("a")
        w.block("a", "BZPOPMAX", "renamed", "0", total=1)
        w.call("p", "RENAME", "s1", "renamed")
        w.read("a")
        w.block("a", "BZPOPMIN", "copied", "0", total=1)
        w.call("p", "COPY", "s2", "copied")
        w.read("a")
        w.block("a", "BZPOPMIN", "geo", "0", total=1)
        w.call("p", "GEOADD", "geo", "13.361389", "38.115556", "Palermo")
        w.read("a")
        w.call("p", "ZRANGE", "s2", "0", "-1", "WITHSCORES")
        w.call("p", "ZRANGE", "union", "0", "-1", "WITHSCORES")

    compare(pikad, redis_oracle, scenario)


def test_zset_writes_inside_multi_served_after_exec(pikad, redis_oracle):
    def scenario(w: World) -> None:
        w.block("a", "BZPOPMIN", "z", "0", total=1)
        w.block("b", "BZPOPMAX", "z", "0", total=2)
        w.call("p", "MULTI")
        w.call("p", "ZADD", "z", "1", "x")
        w.call("p", "ZREM", "z", "x")
        w.call("p", "EXEC")
        w.nothing("a")
        w.call("p", "MULTI")
        w.call("p", "ZADD", "z", "1", "x", "2", "y", "3", "w")
        w.call("p", "ZPOPMAX", "z")
        w.call("p", "ZCARD", "z")
        w.call("p", "EXEC")
        w.read("a")
        w.read("b")
        w.call("p", "EXISTS", "z")

    compare(pikad, redis_oracle, scenario)


def test_zset_pipelined_writes_served_between_commands(pikad, redis_oracle):
    def scenario(w: World) -> None:
        w.block("a", "BZPOPMIN", "z", "0", total=1)
        w.send_raw(
            "p",
            encode_command(["ZADD", "z", "1", "first"])
            + encode_command(["ZADD", "z", "2", "second"])
            + encode_command(["ZRANGE", "z", "0", "-1"]),
        )
        w.read("p")
        w.read("p")
        w.read("p")
        w.read("a")

    compare(pikad, redis_oracle, scenario)


def test_zset_blocking_inside_multi_does_not_block(pikad, redis_oracle):
    def scenario(w: World) -> None:
        w.call("p", "SET", "str", "x")
        w.call("a", "MULTI")
        w.call("a", "BZPOPMIN", "z", "0")
        w.call("a", "BZPOPMAX", "z", "y", "10")
        w.call("a", "BZMPOP", "0", "2", "z", "y", "MIN", "COUNT", "3")
        w.call("a", "BZPOPMIN", "str", "0")
        w.call("a", "EXEC")
        w.call("p", "ZADD", "y", "1", "a", "2", "b", "3", "c")
        w.call("a", "MULTI")
        w.call("a", "BZPOPMIN", "z", "y", "0")
        w.call("a", "BZMPOP", "0", "2", "z", "y", "MAX", "COUNT", "5")
        w.call("a", "BZPOPMAX", "y", "0")
        w.call("a", "EXEC")
        w.quiet_call("a", "HELLO", "3")
        w.call("a", "MULTI")
        w.call("a", "BZPOPMIN", "z", "0")
        w.call("a", "BZMPOP", "0", "1", "z", "MIN")
        w.call("a", "EXEC")

    compare(pikad, redis_oracle, scenario)


def test_zset_and_list_waiters_on_one_key(pikad, redis_oracle):
    def scenario(w: World) -> None:
        w.block("l", "BLPOP", "k", "0", total=1)
        w.block("z", "BZPOPMIN", "k", "0", total=2)
        w.call("p", "ZADD", "k", "1", "m")
        w.read("z")  # the list waiter came first, but a zset is not for it
        w.nothing("l")
        w.block("z", "BZPOPMAX", "k", "0", total=2)
        w.call("p", "SET", "k", "string")
        w.nothing("l")
        w.nothing("z")
        w.call("p", "DEL", "k")
        w.call("p", "RPUSH", "k", "item")
        w.read("l")
        w.nothing("z")
        w.call("p", "ZADD", "k", "5", "n")  # k is gone: the list was emptied
        w.read("z")

    compare(pikad, redis_oracle, scenario)


def test_zset_client_unblock_and_disconnect(pikad, redis_oracle):
    def scenario(w: World) -> None:
        ida, idb = w.client_id("a"), w.client_id("b")
        w.block("a", "BZPOPMIN", "z", "0", total=1)
        w.block("b", "BZMPOP", "0", "1", "z", "MIN", total=2)
        w.block("c", "BZPOPMAX", "z", "0", total=3)
        w.block("d", "BZPOPMAX", "z", "0", total=4)
        w.call("p", "CLIENT", "UNBLOCK", str(ida), label="CLIENT UNBLOCK <a>")
        w.read("a")
        w.call("p", "CLIENT", "UNBLOCK", str(idb), "ERROR", label="CLIENT UNBLOCK <b> ERROR")
        w.read("b")
        w.conn("c").close()
        w.wait_blocked(1)
        w.call("p", "ZADD", "z", "1", "x", "2", "y")
        w.read("d")
        w.call("p", "ZRANGE", "z", "0", "-1")

    compare(pikad, redis_oracle, scenario)


def test_zset_other_database(pikad, redis_oracle):
    def scenario(w: World) -> None:
        w.quiet_call("a", "SELECT", "2")
        w.block("a", "BZPOPMIN", "z", "0", total=1)
        w.call("p", "ZADD", "z", "1", "db0")
        w.nothing("a")
        w.call("p", "MOVE", "z", "2")
        w.read("a")
        w.call("p", "EXISTS", "z")

    compare(pikad, redis_oracle, scenario)


@pytest.mark.parametrize("n", [12])
def test_zset_many_waiters(pikad, redis_oracle, n):
    def scenario(w: World) -> None:
        for i in range(n):
            cmd = ("BZPOPMIN", f"k{i % 3}", "shared", "0")
            if i % 2:
                cmd = ("BZMPOP", "0", "2", f"k{i % 3}", "shared", "MAX")
            w.block(f"c{i}", *cmd, total=i + 1)
        scores = [x for i in range(n // 2) for x in (str(i), f"m{i}")]
        w.call("p", "ZADD", "shared", *scores)
        for i in range(n // 2):
            w.read(f"c{i}")
        for i in range(n // 2, n):
            w.call("p", "ZADD", f"k{i % 3}", str(i), f"v{i}")
            w.read(f"c{i}")

    compare(pikad, redis_oracle, scenario)
