"""Connection commands, pikad against redis-server: PING, ECHO, SELECT, SWAPDB, AUTH, HELLO,
RESET, QUIT and CLIENT. Replies are compared byte for byte unless a normalizer says otherwise
(ids, addresses, timings and the server's name and version may differ; nothing else)."""

from __future__ import annotations

import pytest

from integration.diff import (
    Error,
    client_info,
    fields,
    ignore,
    pairwise,
)

# HELLO's reply: these values name the server and the connection, the rest must agree.
HELLO_FIELDS = fields(ignore=("server", "version", "id"))


def _positive_int(a: object, b: object) -> object:
    ok = isinstance(a, int) and isinstance(b, int) and a > 0 and b > 0
    return ok or f"not both positive integers: {a!r}, {b!r}"


positive_int = pairwise(_positive_int, "both positive integers")


# ---- PING, ECHO ----


def test_ping(diff):
    diff(
        [
            ["PING"],
            ["ping"],
            ["PiNg"],
            ["PING", "hello world"],
            ["PING", ""],
            ["PING", b"\x00\xff\r\n binary"],
            ["PING", "a", "b"],
            ["PING", "a", "b", "c"],
        ]
    )


def test_ping_resp3(diff):
    diff([["PING"], ["PING", "x"], ["PING", "a", "b"]], proto=3)


def test_echo(diff):
    diff(
        [
            ["ECHO", "hello"],
            ["ECHO", ""],
            ["ECHO", b"\x00\x01\xfe\xff"],
            ["ECHO", "x" * 10_000],
            ["ECHO"],
            ["ECHO", "a", "b"],
        ]
    )


# ---- SELECT, SWAPDB ----


def test_select(diff):
    diff(
        [
            ["SET", "k", "in-db0"],
            ["SELECT", "1"],
            ["GET", "k"],
            ["SET", "k", "in-db1"],
            ["DBSIZE"],
            ["SELECT", "15"],
            ["GET", "k"],
            ["SELECT", "0"],
            ["GET", "k"],
        ]
    )


def test_select_errors(diff):
    diff(
        [
            ["SELECT", "16"],
            ["SELECT", "-1"],
            ["SELECT", "99999999999999999999"],
            ["SELECT", "x"],
            ["SELECT", "1.5"],
            ["SELECT", ""],
            ["SELECT", " 1"],
            ["SELECT", "01"],
            ["SELECT", "+1"],
            ["SELECT"],
            ["SELECT", "1", "2"],
            # a failed SELECT leaves the db as it was
            ["SET", "still", "db0"],
            ["SELECT", "0"],
            ["GET", "still"],
        ]
    )


def test_select_state_carries_over_calls(diff):
    diff([["SELECT", "3"], ["SET", "k", "v"]], db=0)
    diff([["SET", "k", "v3"], ["DBSIZE"], ["SELECT", "0"], ["DBSIZE"]], db=3)


def test_swapdb(diff):
    diff(
        [
            ["SET", "a", "1"],
            ["SELECT", "1"],
            ["SET", "b", "2"],
            ["SET", "other", "x"],
            ["SELECT", "0"],
            ["SWAPDB", "0", "1"],
            ["GET", "a"],
            ["GET", "b"],
            ["GET", "other"],
            ["DBSIZE"],
            ["SELECT", "1"],
            ["GET", "a"],
            ["DBSIZE"],
            ["SWAPDB", "1", "0"],
            ["GET", "a"],
            ["SWAPDB", "0", "0"],
            ["GET", "a"],
            ["SWAPDB", "2", "15"],
        ]
    )


def test_swapdb_errors(diff):
    diff(
        [
            ["SWAPDB", "0", "16"],
            ["SWAPDB", "16", "0"],
            ["SWAPDB", "-1", "0"],
            ["SWAPDB", "a", "1"],
            ["SWAPDB", "0", "b"],
            ["SWAPDB", "a", "b"],
            ["SWAPDB", "0"],
            ["SWAPDB", "0", "1", "2"],
        ]
    )


# ---- AUTH ----


def test_auth_without_password(diff):
    diff(
        [
            ["AUTH", "x"],
            ["AUTH", "default", "anything"],  # the default user has nopass
            ["AUTH", "someone", "x"],
            ["AUTH", "a", "b", "c"],
            ["AUTH"],
            ["PING"],
        ]
    )


def test_auth_with_password(diff_factory):
    diff = diff_factory(requirepass="s3cret")
    diff(
        [
            ["GET", "k"],
            ["PING"],
            ["SET", "k", "v"],
            ["CLIENT", "SETNAME", "x"],
            ["SELECT", "1"],
            ["AUTH", "wrong"],
            ["AUTH", "default", "wrong"],
            ["AUTH", "nobody", "s3cret"],
            ["GET", "k"],
            ["AUTH", "s3cret"],
            ["SET", "k", "v"],
            ["GET", "k"],
            ["AUTH", "default", "s3cret"],
            ["AUTH", "wrong"],
            ["GET", "k"],  # a failed AUTH does not log an authenticated client out
        ],
        flush=False,
    )


def test_auth_with_password_hello(diff_factory):
    diff = diff_factory(requirepass="s3cret")
    diff(
        [
            ["HELLO"],
            ["HELLO", "3"],
            ["HELLO", "3", "AUTH", "default", "wrong"],
            (["HELLO", "2", "AUTH", "default", "s3cret", "SETNAME", "named"], HELLO_FIELDS),
            (["HELLO", "3", "AUTH", "default", "s3cret"], HELLO_FIELDS),
            ["CLIENT", "GETNAME"],
            ["RESET"],
            ["GET", "k"],  # RESET de-authenticates when a password is set
        ],
        flush=False,
    )


# ---- HELLO ----


def test_hello(diff):
    diff(
        [
            (["HELLO"], HELLO_FIELDS),
            (["HELLO", "2"], HELLO_FIELDS),
            ["PING"],
            (["HELLO", "3"], HELLO_FIELDS),
            ["PING"],
            ["GET", "nokey"],  # RESP3 null: _
            ["SET", "k", "v"],
            ["GET", "k"],
            (["HELLO"], HELLO_FIELDS),  # no version: keeps RESP3
            (["HELLO", "2"], HELLO_FIELDS),
            ["GET", "nokey"],  # back to $-1
        ]
    )


def test_hello_errors(diff):
    diff(
        [
            ["HELLO", "4"],
            ["HELLO", "1"],
            ["HELLO", "0"],
            ["HELLO", "-1"],
            ["HELLO", "x"],
            ["HELLO", "3.0"],
            ["HELLO", "3", "FOO"],
            ["HELLO", "3", "AUTH", "a"],
            ["HELLO", "3", "AUTH", "a", "b"],
            ["HELLO", "3", "SETNAME"],
            ["HELLO", "3", "SETNAME", "a b"],
            ["GET", "nokey"],  # none of the failed HELLOs switched to RESP3
        ]
    )


def test_hello_setname_and_auth(diff):
    diff(
        [
            (["HELLO", "2", "SETNAME", "first"], HELLO_FIELDS),
            ["CLIENT", "GETNAME"],
            (["HELLO", "3", "AUTH", "default", "any", "SETNAME", "second"], HELLO_FIELDS),
            ["CLIENT", "GETNAME"],
            (["HELLO", "2", "setname", "third", "auth", "default", "x"], HELLO_FIELDS),
            ["CLIENT", "GETNAME"],
        ]
    )


def test_hello_id_is_client_id(diff):
    """HELLO's id field is the connection's CLIENT ID (on each server)."""
    diff([(["CLIENT", "ID"], positive_int), (["HELLO", "3"], HELLO_FIELDS)])
    for side in diff.sides:
        client_id, hello = side.replies
        assert hello.get(b"id") == client_id, (side.name, hello)


# ---- RESET, QUIT ----


def test_reset(diff):
    diff(
        [
            ["SELECT", "2"],
            ["SET", "k", "db2"],
            ["CLIENT", "SETNAME", "before-reset"],
            (["HELLO", "3"], HELLO_FIELDS),
            ["RESET"],
            ["CLIENT", "GETNAME"],
            ["GET", "k"],  # back in db 0, RESP2
            ["GET", "nokey"],
            ["RESET", "x"],
        ]
    )


def test_reset_in_resp3_replies_reset(diff):
    diff([["RESET"]], proto=3)


def test_quit(diff):
    diff([["SET", "k", "v"], ["QUIT"]])
    # the next call reconnects: a new client on both sides
    diff([["PING"], ["QUIT", "extra", "args"]])


# ---- CLIENT ----


def test_client_id(diff):
    diff(
        [
            (["CLIENT", "ID"], positive_int),
            ["CLIENT", "ID", "x"],
        ]
    )
    first = [s.replies[0] for s in diff.sides]
    diff([(["CLIENT", "ID"], positive_int)])
    assert [s.replies[0] for s in diff.sides] == first, "CLIENT ID changed on one connection"


def test_client_setname_getname(diff):
    diff(
        [
            ["CLIENT", "GETNAME"],
            ["CLIENT", "SETNAME", "worker-1"],
            ["CLIENT", "GETNAME"],
            ["CLIENT", "SETNAME", "!#$%&()*+-./:;<=>?@[]^_`{|}~"],
            ["CLIENT", "GETNAME"],
            ["CLIENT", "SETNAME", ""],  # clears the name
            ["CLIENT", "GETNAME"],
            ["CLIENT", "SETNAME", "a b"],
            ["CLIENT", "SETNAME", "a\nb"],
            ["CLIENT", "SETNAME", "tab\there"],
            ["CLIENT", "SETNAME", "caf\xe9"],
            ["CLIENT", "SETNAME", b"\x7f"],
            ["CLIENT", "GETNAME"],  # failed SETNAMEs changed nothing
            ["CLIENT", "SETNAME"],
            ["CLIENT", "SETNAME", "a", "b"],
            ["CLIENT", "GETNAME", "x"],
        ]
    )


def test_client_getname_resp3(diff):
    diff([["CLIENT", "GETNAME"], ["CLIENT", "SETNAME", "n"], ["CLIENT", "GETNAME"]], proto=3)


def test_client_info(diff):
    diff(
        [
            (["CLIENT", "INFO"], client_info()),
            ["CLIENT", "SETNAME", "info-name"],
            ["SELECT", "5"],
            (["CLIENT", "INFO"], client_info()),
            ["CLIENT", "INFO", "x"],
        ]
    )


def test_client_info_resp3(diff):
    diff([(["CLIENT", "INFO"], client_info())], proto=3)


def test_client_info_values(diff):
    """The fields the normalizer lets differ still describe this connection."""
    diff([(["CLIENT", "ID"], positive_int), (["CLIENT", "INFO"], client_info())])
    for side in diff.sides:
        client_id, text = side.replies
        info = dict(kv.split("=", 1) for kv in bytes(text).decode().split())
        assert info["id"] == str(client_id), (side.name, info)
        assert info["addr"] == side.addr, (side.name, info)
        assert info["laddr"] == f"127.0.0.1:{side.port}", (side.name, info)
        assert int(info["age"]) >= 0 and int(info["idle"]) >= 0, (side.name, info)


def test_client_list(diff):
    def own(side):
        return ["CLIENT", "LIST", "ID", side.replies[0]]

    diff(
        [
            (["CLIENT", "ID"], positive_int),
            ["CLIENT", "SETNAME", "lister"],
            (own, client_info()),
            (["CLIENT", "LIST"], ignore),
            (["CLIENT", "LIST", "TYPE", "normal"], ignore),
            ["CLIENT", "LIST", "TYPE", "pubsub"],
            ["CLIENT", "LIST", "ID", "0"],
            ["CLIENT", "LIST", "ID", "-1"],
            ["CLIENT", "LIST", "ID", "999999999"],
        ]
    )


def test_client_list_sees_other_clients(diff):
    """A second named connection shows up in CLIENT LIST on both servers."""
    others = [server.raw() for server in diff.servers]
    try:
        for r in others:
            assert r.execute("CLIENT", "SETNAME", "the-other") == b"+OK\r\n"
        diff([(["CLIENT", "LIST", "TYPE", "normal"], ignore)])
        for side in diff.sides:
            assert b"name=the-other " in side.replies[0], (side.name, side.replies[0])
    finally:
        for r in others:
            r.close()


def test_client_list_errors(diff):
    diff(
        [
            ["CLIENT", "LIST", "TYPE", "foo"],
            ["CLIENT", "LIST", "TYPE"],
            ["CLIENT", "LIST", "ID"],
            ["CLIENT", "LIST", "ID", "abc"],
            ["CLIENT", "LIST", "ID", "1", "abc"],
            ["CLIENT", "LIST", "FOO", "bar"],
        ]
    )


def test_client_kill_errors(diff):
    diff(
        [
            ["CLIENT", "KILL", "1.2.3.4:5"],
            ["CLIENT", "KILL", "foo"],
            ["CLIENT", "KILL", "ID", "99999999"],
            ["CLIENT", "KILL", "ID", "abc"],
            ["CLIENT", "KILL", "ID", "0"],
            ["CLIENT", "KILL", "ID", "-5"],
            ["CLIENT", "KILL", "TYPE", "foo"],
            ["CLIENT", "KILL", "USER", "foo"],
            ["CLIENT", "KILL", "SKIPME", "x"],
            ["CLIENT", "KILL", "ID", "1", "ID"],
            ["CLIENT", "KILL", "ADDR", "1.1.1.1:1"],
            ["CLIENT", "KILL", "LADDR", "1.1.1.1:1"],
            ["CLIENT", "KILL", "FOO", "bar"],
            ["CLIENT", "KILL"],
            ["PING"],
        ]
    )


def test_client_kill_own_id_skipme(diff):
    diff(
        [
            (["CLIENT", "ID"], positive_int),
            lambda s: ["CLIENT", "KILL", "ID", s.replies[0]],  # SKIPME yes by default: :0
            ["PING"],
            lambda s: ["CLIENT", "KILL", "ID", s.replies[0], "SKIPME", "no"],  # :1, then closed
        ]
    )
    assert all(s.conn.closed_by_peer for s in diff.sides)


def test_client_kill_own_addr(diff):
    diff([["PING"], lambda s: ["CLIENT", "KILL", s.addr]])  # +OK, then the connection closes
    assert all(s.conn.closed_by_peer for s in diff.sides)


def test_client_kill_other(diff):
    """Killing another connection by ID and by ADDR: it is closed, the killer is not."""
    for how in ("ID", "ADDR"):
        victims = [server.raw() for server in diff.servers]
        try:
            ids = [v.call("CLIENT", "ID") for v in victims]
            addrs = [f"127.0.0.1:{v.sock.getsockname()[1]}" for v in victims]
            target = ids if how == "ID" else addrs
            diff(
                [
                    lambda s, t=target, h=how: [
                        "CLIENT",
                        "KILL",
                        h,
                        t[0 if s is diff.sides[0] else 1],
                    ],
                    ["PING"],
                ]
            )
            for v, side in zip(victims, diff.sides, strict=True):
                assert v.is_closed(wait=2.0), f"{side.name}: CLIENT KILL {how} left it open"
        finally:
            for v in victims:
                v.close()


def test_client_misc_errors(diff):
    diff(
        [
            ["CLIENT"],
            ["CLIENT", "FOO"],
            ["CLIENT", "foo", "bar"],
            (["CLIENT", "HELP"], ignore),
        ]
    )


def test_client_help_is_an_array_of_status_lines(diff):
    diff([(["CLIENT", "HELP"], ignore)])
    for side in diff.sides:
        lines = side.replies[0]
        assert isinstance(lines, list) and lines, (side.name, lines)
        assert not any(isinstance(x, Error) for x in lines)


@pytest.mark.parametrize("proto", [2, 3])
def test_unknown_and_arity_errors_in_both_protocols(diff, proto):
    diff(
        [
            ["NOSUCHCOMMAND"],
            ["NOSUCHCOMMAND", "a", "b"],
            ["GET"],
            ["SET", "k"],
            ["SELECT"],
            ["CLIENT", "SETNAME"],
        ],
        proto=proto,
    )
