"""MULTI / EXEC / DISCARD / WATCH / UNWATCH, pikad against redis-server 7.0.

Single-connection cases go through the diff harness (raw replies compared byte for byte).
WATCH is about other clients, expiry and flushes: those scenarios run the same script of
steps on two or three connections to each server and compare the transcripts reply by reply.
MONITOR, SLOWLOG and INFO commandstats/errorstats around a transaction are compared too.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

import pytest

from helpers import servers
from helpers.keytags import one_worker
from helpers.raw import RawConnection
from integration.diff import client_info, transform

# ---- a multi-connection transcript, run on each server ----

Step = tuple[str, Sequence[object]] | tuple[str, float]


def _run_steps(server, steps: Sequence[Step]) -> list[tuple[str, list, bytes]]:
    conns: dict[str, RawConnection] = {}
    out = []
    try:
        admin = RawConnection(server.port)
        conns["admin"] = admin
        admin.execute("FLUSHALL")
        for who, args in steps:
            if who == "sleep":
                time.sleep(args)  # type: ignore[arg-type]
                continue
            conn = conns.get(who)
            if conn is None:
                conn = conns[who] = RawConnection(server.port)
            # Under --workers N every key gets one hash tag, on both servers alike: these
            # transcripts are about transactions, not about keys of several workers
            # (test_workers.py has those).
            args = one_worker([str(a) if not isinstance(a, bytes) else a for a in args])
            out.append((who, list(args), conn.execute(*args)))  # type: ignore[arg-type]
    finally:
        for conn in conns.values():
            conn.close()
    return out


def diff_steps(pikad, redis_oracle, steps: Sequence[Step]) -> None:
    """The same steps on both servers (connections named by the first item); every reply
    must be byte for byte the same."""
    ours = _run_steps(pikad, steps)
    theirs = _run_steps(redis_oracle, steps)
    assert len(ours) == len(theirs)
    for i, ((who, args, a), (_, _, b)) in enumerate(zip(ours, theirs, strict=True)):
        assert a == b, f"step #{i} {who}: {args}: pikad {a!r} != redis-server {b!r}"


@pytest.fixture
def no_active_expiry(pikad, redis_oracle):
    """Expired keys stay stored until something touches them (DEBUG SET-ACTIVE-EXPIRE 0)."""
    for s in (pikad, redis_oracle):
        with s.raw() as conn:
            assert conn.execute("DEBUG", "SET-ACTIVE-EXPIRE", "0") == b"+OK\r\n"
    yield
    for s in (pikad, redis_oracle):
        with s.raw() as conn:
            conn.execute("DEBUG", "SET-ACTIVE-EXPIRE", "1")


# ---- MULTI / EXEC / DISCARD on one connection ----


def test_exec_runs_the_queue(diff):
    diff(
        [
            ["MULTI"],
            ["SET", "a", "1"],
            ["INCR", "a"],
            ["GET", "a"],
            ["LPUSH", "a", "x"],  # a runtime error is one reply inside EXEC's array
            ["INCRBY", "a", "notanumber"],
            ["SET", "a", "1", "EX", "-1"],
            ["MGET", "a", "nosuch"],
            ["EXEC"],
            ["GET", "a"],
            ["MULTI"],
            ["EXEC"],
            ["EXEC"],
        ]
    )


def test_exec_resp3(diff):
    diff(
        [
            ["MULTI"],
            ["SET", "a", "1"],
            ["GET", "nosuch"],
            ["MGET", "a", "b"],
            ["INCR", "a"],
            ["EXEC"],
            ["MULTI"],
            ["FOO"],
            ["EXEC"],
        ],
        proto=3,
    )


def test_discard(diff):
    diff(
        [
            ["DISCARD"],
            ["MULTI"],
            ["SET", "a", "1"],
            ["DISCARD"],
            ["GET", "a"],
            ["EXEC"],
            ["DISCARD"],
        ]
    )


def test_queue_time_errors_doom_the_transaction(diff):
    for bad in (
        ["NOSUCHCOMMAND", "x"],
        ["SET", "a"],  # wrong arity
        ["CONFIG", "NOSUCHSUB"],  # unknown subcommand
        ["CONFIG"],  # a container alone
        ["CONFIG", "GET"],  # a subcommand's arity
        ["SHUTDOWN"],  # no_multi
    ):
        diff(
            [
                ["SET", "a", "before"],
                ["MULTI"],
                ["SET", "a", "queued"],
                bad,
                ["SET", "a", "after"],
                ["EXEC"],
                ["GET", "a"],
                ["EXEC"],
            ]
        )


def test_commands_run_inside_multi_instead_of_queued(diff):
    # Nested MULTI and WATCH inside MULTI are errors that do not doom the transaction.
    diff(
        [
            ["MULTI"],
            ["MULTI"],
            ["WATCH", "a"],
            ["SET", "a", "1"],
            ["EXEC"],
            ["GET", "a"],
        ]
    )
    # Arity errors of MULTI/WATCH/DISCARD inside MULTI are rejections: they doom it.
    for bad in (["MULTI", "x"], ["WATCH"], ["DISCARD", "x"], ["UNWATCH", "x"]):
        diff([["MULTI"], ["SET", "a", "1"], bad, ["EXEC"], ["GET", "a"]])


def test_rejected_exec_aborts_the_transaction(diff):
    diff(
        [
            ["MULTI"],
            ["SET", "a", "1"],
            ["EXEC", "extra"],
            ["EXEC"],
            ["GET", "a"],
            ["EXEC", "extra"],  # outside MULTI too: Redis words it as an abort
        ]
    )


def test_reset_and_quit_inside_multi(diff):
    diff([["MULTI"], ["SET", "a", "1"], ["RESET"], ["EXEC"], ["GET", "a"]])
    diff([["MULTI"], ["SET", "a", "1"], ["QUIT"]])


def test_errors_without_multi(diff):
    diff(
        [
            ["EXEC"],
            ["DISCARD"],
            ["WATCH"],
            ["UNWATCH", "x"],
            ["MULTI", "x"],
            ["UNWATCH"],
            ["WATCH", "a", "b", "a"],
            ["UNWATCH"],
        ]
    )


def test_connection_state_changes_inside_exec(diff):
    diff(
        [
            ["MULTI"],
            ["SELECT", "1"],
            ["SET", "q", "in-db1"],
            ["EXEC"],
            ["GET", "q"],
            ["SELECT", "0"],
            ["GET", "q"],
        ]
    )
    # HELLO names the server and the connection id: compare the rest of EXEC's reply.
    hello_in_exec = transform(lambda v: (v[0].get(b"proto"), v[1:]), "HELLO's proto, the rest")
    diff([["MULTI"], ["HELLO", "3"], ["GET", "nosuch"], (["EXEC"], hello_in_exec), ["GET", "x"]])


def test_blocking_commands_do_not_block_inside_exec(diff):
    diff(
        [
            ["MULTI"],
            ["BLPOP", "empty", "0"],
            ["RPUSH", "l", "a"],
            ["BLPOP", "l", "0"],
            ["EXEC"],
        ]
    )


def test_client_info_inside_and_after_multi(diff):
    # CLIENT INFO is queued: its text shows the client while EXEC runs.
    diff(
        [
            ["MULTI"],
            ["SET", "a", "1"],
            ["CLIENT", "INFO"],
            (["EXEC"], transform(_client_info_in_exec, "CLIENT INFO flags/multi in EXEC")),
            (["CLIENT", "INFO"], client_info()),
        ]
    )


def _client_info_in_exec(v: object) -> object:
    if not isinstance(v, list):
        return v
    text = bytes(v[1])
    return (v[0], re.findall(rb"(?:flags|multi|cmd)=\S+", text))


# ---- WATCH ----


def test_watch_own_write_before_multi(diff):
    diff(
        [
            ["WATCH", "k"],
            ["SET", "k", "1"],
            ["MULTI"],
            ["SET", "k", "2"],
            ["EXEC"],
            ["GET", "k"],
        ]
    )
    diff([["WATCH", "k"], ["SET", "k", "1"], ["MULTI"], ["EXEC"]], proto=3)


def test_watch_then_unwatch_or_discard(diff):
    diff(
        [
            ["WATCH", "k"],
            ["SET", "k", "1"],
            ["UNWATCH"],
            ["MULTI"],
            ["INCR", "k"],
            ["EXEC"],
            ["WATCH", "k"],
            ["SET", "k", "1"],
            ["MULTI"],
            ["DISCARD"],
            ["MULTI"],
            ["INCR", "k"],
            ["EXEC"],
        ]
    )


def test_writes_inside_exec_do_not_fail_it(diff):
    diff([["WATCH", "k"], ["MULTI"], ["SET", "k", "1"], ["INCR", "k"], ["EXEC"], ["GET", "k"]])


def test_watch_no_op_writes_leave_it_clean(diff):
    diff(
        [
            ["SET", "k", "1"],
            ["WATCH", "k", "missing"],
            ["SET", "k", "2", "NX"],
            ["DEL", "missing"],
            ["GET", "k"],
            ["EXISTS", "missing"],
            ["MULTI"],
            ["PING"],
            ["EXEC"],
        ]
    )


@pytest.mark.parametrize(
    "write",
    [
        ["SET", "k", "other"],
        ["DEL", "k"],
        ["EXPIRE", "k", "100"],
        ["PERSIST", "k"],
        ["APPEND", "k", "x"],
        ["RENAME", "k", "k2"],
        ["MSET", "z", "1", "k", "2"],
    ],
)
def test_watch_sees_other_clients_writes(pikad, redis_oracle, write):
    diff_steps(
        pikad,
        redis_oracle,
        [
            ("a", ["SET", "k", "v", "EX", "1000"]),
            ("a", ["WATCH", "k"]),
            ("b", write),
            ("a", ["MULTI"]),
            ("a", ["SET", "k", "mine"]),
            ("a", ["EXEC"]),
            ("a", ["GET", "k"]),
        ],
    )


def test_watch_is_per_db(pikad, redis_oracle):
    diff_steps(
        pikad,
        redis_oracle,
        [
            ("a", ["SELECT", "2"]),
            ("a", ["WATCH", "k"]),
            ("b", ["SET", "k", "db0"]),  # another db: not the watched key
            ("a", ["MULTI"]),
            ("a", ["SET", "k", "mine"]),
            ("a", ["EXEC"]),
            ("b", ["SELECT", "2"]),
            ("a", ["WATCH", "k"]),
            ("b", ["SET", "k", "db2"]),
            ("a", ["MULTI"]),
            ("a", ["EXEC"]),
        ],
    )


def test_watch_several_clients_same_key(pikad, redis_oracle):
    diff_steps(
        pikad,
        redis_oracle,
        [
            ("a", ["WATCH", "k", "j"]),
            ("b", ["WATCH", "k"]),
            ("c", ["WATCH", "j"]),
            ("a", ["MULTI"]),
            ("a", ["SET", "k", "from-a"]),
            ("a", ["EXEC"]),  # runs: its write touches b's watch, not c's
            ("b", ["MULTI"]),
            ("b", ["SET", "k", "from-b"]),
            ("b", ["EXEC"]),
            ("c", ["MULTI"]),
            ("c", ["SET", "j", "from-c"]),
            ("c", ["EXEC"]),
            ("a", ["MGET", "k", "j"]),
        ],
    )


def test_watched_key_expiring_before_exec(pikad, redis_oracle, no_active_expiry):
    diff_steps(
        pikad,
        redis_oracle,
        [
            ("a", ["SET", "k", "v", "PX", "150"]),
            ("a", ["WATCH", "k"]),  # alive now
            ("sleep", 0.3),
            ("a", ["MULTI"]),
            ("a", ["PING"]),
            ("a", ["EXEC"]),  # past its TTL at EXEC: fails (isWatchedKeyExpired)
        ],
    )


def test_watching_an_already_expired_key(pikad, redis_oracle, no_active_expiry):
    expired = [("a", ["SET", "k", "v", "PX", "1"]), ("sleep", 0.05), ("a", ["WATCH", "k"])]
    tail = [("a", ["MULTI"]), ("a", ["PING"]), ("a", ["EXEC"])]
    # Nothing happens to it: EXEC runs.
    diff_steps(pikad, redis_oracle, [*expired, *tail])
    # Deleted by a lazy expiry or a flush: logically no change, EXEC runs.
    diff_steps(pikad, redis_oracle, [*expired, ("b", ["GET", "k"]), *tail])
    diff_steps(pikad, redis_oracle, [*expired, ("b", ["FLUSHDB"]), *tail])
    diff_steps(pikad, redis_oracle, [*expired, ("b", ["FLUSHALL"]), *tail])
    # Given a value again: that is a change.
    diff_steps(pikad, redis_oracle, [*expired, ("b", ["SET", "k", "new"]), *tail])
    diff_steps(
        pikad, redis_oracle, [*expired, ("b", ["GET", "k"]), ("b", ["SET", "k", "x"]), *tail]
    )


def test_watched_key_removed_by_active_expiry(pikad, redis_oracle):
    diff_steps(
        pikad,
        redis_oracle,
        [
            ("a", ["SET", "k", "v", "PX", "50"]),
            ("a", ["WATCH", "k"]),
            ("sleep", 0.6),  # the expire cycle deletes it meanwhile
            ("b", ["EXISTS", "k"]),
            ("a", ["MULTI"]),
            ("a", ["PING"]),
            ("a", ["EXEC"]),
        ],
    )


@pytest.mark.parametrize(
    "flush",
    [["FLUSHDB"], ["FLUSHDB", "ASYNC"], ["FLUSHALL"], ["FLUSHALL", "SYNC"]],
)
def test_flush_touches_existing_watched_keys(pikad, redis_oracle, flush):
    tail = [("a", ["MULTI"]), ("a", ["PING"]), ("a", ["EXEC"])]
    # The watched key exists: the flush deletes it, EXEC fails.
    diff_steps(
        pikad, redis_oracle, [("a", ["SET", "k", "v"]), ("a", ["WATCH", "k"]), ("b", flush), *tail]
    )
    # It does not exist: nothing changed for it.
    diff_steps(
        pikad, redis_oracle, [("a", ["WATCH", "k"]), ("b", ["SET", "o", "1"]), ("b", flush), *tail]
    )
    # FLUSHDB of another db leaves it alone; FLUSHALL does not.
    diff_steps(
        pikad,
        redis_oracle,
        [
            ("a", ["SET", "k", "v"]),
            ("a", ["WATCH", "k"]),
            ("b", ["SELECT", "3"]),
            ("b", ["SET", "k", "v3"]),
            ("b", flush),
            *tail,
            ("a", ["EXISTS", "k"]),
        ],
    )


def test_swapdb_touches_watched_keys(pikad, redis_oracle):
    tail = [("a", ["MULTI"]), ("a", ["GET", "k"]), ("a", ["EXEC"])]
    # The key only exists in the other db: it appears in the watched db.
    diff_steps(
        pikad,
        redis_oracle,
        [
            ("b", ["SELECT", "1"]),
            ("b", ["SET", "k", "db1"]),
            ("a", ["WATCH", "k"]),
            ("b", ["SWAPDB", "0", "1"]),
            *tail,
        ],
    )
    # It exists nowhere: unchanged. SWAPDB of two other dbs: unchanged.
    diff_steps(pikad, redis_oracle, [("a", ["WATCH", "k"]), ("b", ["SWAPDB", "0", "1"]), *tail])
    diff_steps(
        pikad,
        redis_oracle,
        [("a", ["SET", "k", "v"]), ("a", ["WATCH", "k"]), ("b", ["SWAPDB", "2", "3"]), *tail],
    )
    diff_steps(
        pikad,
        redis_oracle,
        [("a", ["SET", "k", "v"]), ("a", ["WATCH", "k"]), ("b", ["SWAPDB", "0", "0"]), *tail],
    )


def test_watch_follows_its_db_across_swapdb(pikad, redis_oracle):
    tail = [("a", ["MULTI"]), ("a", ["PING"]), ("a", ["EXEC"])]
    # After the swap the watch is on db 0's new contents: a write there fails EXEC...
    diff_steps(
        pikad,
        redis_oracle,
        [
            ("a", ["WATCH", "k"]),
            ("b", ["SWAPDB", "0", "1"]),
            ("b", ["SET", "k", "new-db0"]),
            *tail,
        ],
    )
    # ...while a write to the old contents, now db 1, does not.
    diff_steps(
        pikad,
        redis_oracle,
        [
            ("a", ["WATCH", "k"]),
            ("b", ["SWAPDB", "0", "1"]),
            ("b", ["SELECT", "1"]),
            ("b", ["SET", "k", "old-db0"]),
            *tail,
        ],
    )


def test_watched_expired_key_across_swapdb(pikad, redis_oracle, no_active_expiry):
    tail = [("a", ["MULTI"]), ("a", ["PING"]), ("a", ["EXEC"])]
    expired_in_1 = [
        ("b", ["SELECT", "1"]),
        ("b", ["SET", "k", "v", "PX", "1"]),
        ("sleep", 0.05),
    ]
    # A missing key replaced by an expired one: no logical change.
    diff_steps(
        pikad,
        redis_oracle,
        [*expired_in_1, ("a", ["WATCH", "k"]), ("b", ["SWAPDB", "0", "1"]), *tail],
    )
    # An expired watched key replaced by nothing: no change either.
    diff_steps(
        pikad,
        redis_oracle,
        [
            ("a", ["SET", "k", "v", "PX", "1"]),
            ("sleep", 0.05),
            ("a", ["WATCH", "k"]),
            ("b", ["SWAPDB", "0", "1"]),
            *tail,
        ],
    )
    # An expired watched key replaced by a live one: a change.
    diff_steps(
        pikad,
        redis_oracle,
        [
            ("a", ["SET", "k", "v", "PX", "1"]),
            ("sleep", 0.05),
            ("a", ["WATCH", "k"]),
            ("b", ["SELECT", "1"]),
            ("b", ["SET", "k", "live"]),
            ("b", ["SWAPDB", "0", "1"]),
            *tail,
        ],
    )


def test_dirty_client_flags_and_queue(pikad, redis_oracle):
    """CLIENT LIST as another client sees it: 'd' once a watched key changed, 'x' in MULTI,
    and nothing queued once the transaction is known to fail."""

    def scenario(server) -> list[object]:
        with server.raw() as a, server.raw() as b:
            a.execute("FLUSHALL")
            ida = a.call("CLIENT", "ID")
            seen = []

            def look() -> None:
                text = bytes(b.call("CLIENT", "LIST", "ID", str(ida)))  # type: ignore[arg-type]
                seen.append(re.findall(rb"(?:flags|multi)=\S+", text))

            a.execute("WATCH", "k")
            look()
            b.execute("SET", "k", "1")
            look()
            a.execute("MULTI")
            a.execute("SET", "x", "1")
            look()
            seen.append(a.execute("EXEC"))
            look()
            a.execute("MULTI")
            a.execute("SET", "x", "1")
            a.execute("NOSUCH")
            a.execute("SET", "y", "1")
            look()
            seen.append(a.execute("DISCARD"))
            return seen

    assert scenario(pikad) == scenario(redis_oracle)


# ---- MONITOR, SLOWLOG, commandstats ----

MONITOR_LINE = re.compile(rb"^\+(\d+\.\d{6}) \[(\d+) ([^\]]+)\] (.*)$")


def _connection_owning_keys(server) -> RawConnection:
    """A connection on the worker owning the keys one_worker() tags (the transactions
    below SELECT a db, which pins them to the connection's worker)."""
    workers = servers.SETTINGS.workers or 1
    if workers == 1:
        return server.raw()
    from pikadb.keycodec import key_slot

    owner = key_slot(b"{t}") % workers  # as many shards as workers (the default)
    for _ in range(100):
        conn = server.raw()
        if int(conn.call("CLIENT", "ID")) % workers == owner:  # type: ignore[arg-type]
            return conn
        conn.close()
    raise AssertionError(f"no connection landed on worker {owner}")


def _monitored(server, commands: list[list[str]], expect: int) -> list[bytes]:
    with _connection_owning_keys(server) as cl, server.raw() as mon:
        assert mon.execute("MONITOR") == b"+OK\r\n"
        for cmd in commands:
            cl.execute(*one_worker(cmd))
        lines = []
        for _ in range(expect):
            m = MONITOR_LINE.match(mon.read_reply().rstrip(b"\r\n"))
            assert m
            lines.append(b"[" + m.group(2) + b"] " + m.group(4))
        cl.execute("FLUSHALL")
        return lines


def test_monitor_shows_multi_commands_exec(pikad, redis_oracle):
    commands = [
        ["MULTI"],
        ["SET", "a", "1"],
        ["SELECT", "1"],
        ["GET", "a"],
        ["EXEC"],
        ["SELECT", "0"],
        ["MULTI"],
        ["NOSUCH"],
        ["SET", "b", "1"],
        ["EXEC"],
        ["MULTI"],
        ["SET", "c", "1"],
        ["EXEC", "extra"],
        ["WATCH", "w"],
        ["SET", "w", "1"],
        ["MULTI"],
        ["GET", "w"],
        ["EXEC"],
        ["PING"],
    ]
    ours = _monitored(pikad, commands, 15)
    theirs = _monitored(redis_oracle, commands, 15)
    assert ours == theirs


def _slowlog_commands(server) -> list[list[bytes]]:
    with server.raw() as conn:
        conn.execute("CONFIG", "SET", "slowlog-log-slower-than", "0")
        conn.execute("SLOWLOG", "RESET")
        for cmd in (
            ["MULTI"],
            ["SET", "a", "1"],
            ["GET", "a"],
            ["EXEC"],
            ["MULTI"],
            ["NOSUCH"],
            ["EXEC"],
        ):
            conn.execute(*cmd)
        entries = conn.call("SLOWLOG", "GET", "100")
        conn.execute("CONFIG", "SET", "slowlog-log-slower-than", "10000")
        return [list(e[3]) for e in entries]  # type: ignore[union-attr, index]


def test_slowlog_logs_queued_commands_not_exec(pikad, redis_oracle):
    assert _slowlog_commands(pikad) == _slowlog_commands(redis_oracle)


_STAT = re.compile(
    rb"^(cmdstat_\S+|errorstat_\S+):(?:calls=(\d+),)?.*?(?:rejected_calls=(\d+),failed_calls=(\d+)|count=(\d+))"
)


def _stats(server) -> list[tuple]:
    with server.raw() as conn:
        conn.execute("CONFIG", "RESETSTAT")
        for cmd in (
            ["MULTI"],
            ["SET", "a", "x"],
            ["INCR", "a"],
            ["NOSUCH"],
            ["EXEC"],
            ["MULTI"],
            ["SET", "a", "x"],
            ["INCR", "a"],
            ["MULTI"],
            ["EXEC"],
            ["EXEC"],
            ["DISCARD"],
            ["WATCH", "a"],
            ["SET", "a", "1"],
            ["MULTI"],
            ["EXEC"],
        ):
            conn.execute(*cmd)
        text = bytes(conn.call("INFO", "commandstats"))  # type: ignore[arg-type]
        text += bytes(conn.call("INFO", "errorstats"))  # type: ignore[arg-type]
    # Redis lists commands in its dict's order: compare as sets of lines.
    return sorted(m.groups() for line in text.splitlines() if (m := _STAT.match(line)))


def test_commandstats_and_errorstats_around_transactions(pikad, redis_oracle):
    assert _stats(pikad) == _stats(redis_oracle)


def test_exec_refused_before_auth(pikad_factory, redis_factory):
    commands = (
        ["EXEC"],
        ["MULTI"],
        ["AUTH", "pw"],
        ["MULTI"],
        ["AUTH", "pw"],  # queued like any command
        ["GET", "a"],
        ["EXEC"],
    )

    def run(server) -> list[bytes]:
        # Under --workers N the queued AUTH pins the transaction to the connection's worker
        # (CROSSSLOT if "a" is another's): connect again until the connection is on a's.
        for _ in range(50):
            with server.raw() as conn:
                replies = [conn.execute(*cmd) for cmd in commands]
            if not any(r.startswith(b"-CROSSSLOT") for r in replies):
                break
        return replies

    assert run(pikad_factory(requirepass="pw")) == run(redis_factory(requirepass="pw"))
