"""Where a command runs when pikad has several workers (server/workers.py).

A key's shard is crc16(hash tag or key) % shards, and shard s belongs to worker
s % workers. The dispatcher asks route() about every command that passed its policies:

* keys all on this worker, or no keys: run here (None);
* keys all on one other worker: forward the command there (server/peers.py); the client
  waits for that reply before its next command runs, so replies keep their order;
* keys on several workers: commands that are sums of per-key work are split per worker
  and their replies combined (the command table's `route`: DEL/EXISTS/TOUCH/UNLINK sum,
  MGET gathers, MSET splits its pairs); any other command answers -CROSSSLOT, as Redis
  Cluster does, since one process must hold all its keys to keep it atomic. Hash tags
  ({user1}:a, {user1}:b) keep keys together.
* keyless commands about the whole keyspace or server are run on every worker and their
  replies combined (the table's `route`: DBSIZE sums, KEYS concatenates, FLUSHALL and
  CONFIG SET run everywhere, SCAN walks the workers in turn, ...).

MULTI/EXEC and WATCH: a transaction lives on the worker that owns its keys. Its queued
commands and WATCHed keys must all belong to one worker (otherwise the command is refused
with -CROSSSLOT, which dooms the transaction); EXEC then runs MULTI ... EXEC there in one
request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pikadb import errors
from pikadb.commands.keys import parse_cursor
from pikadb.commands.merge import merge_sum, to_reply
from pikadb.commands.table import Route
from pikadb.errors import CommandError
from pikadb.keycodec import key_slot
from pikadb.protocol import ErrorReply, RawReply, Status, encode
from pikadb.replies import ReplyError, ReplyReader
from pikadb.server.client import Slot
from pikadb.storage.digest import combine_digest_parts, hex_digest

if TYPE_CHECKING:
    from pikadb.commands.table import Command
    from pikadb.server.client import Client
    from pikadb.server.peers import PeerHub
    from pikadb.server.server import Server

# Keyless routes of commands with effects on the whole server, which a transaction may hold.
_BROADCAST_IN_TX = frozenset({Route.ALL, Route.CLIENT_KILL})
WORKER_GONE = "ERR the worker owning this key restarted; the command's outcome is unknown, retry it"


def _who(c: Client) -> list:
    """The client as its proxy on the owning worker shows it (MONITOR, SLOWLOG, DEBUG)."""
    return [c.peer, c.name or b""]


def parse_reply(data: bytes) -> Any:
    reader = ReplyReader()
    reader.feed(data)
    return reader.gets()


class Gather:
    """Replies of the pieces of one command, combined when the last arrives."""

    __slots__ = (
        "argv",
        "c",
        "cmd",
        "combine",
        "errors_too",
        "missing",
        "parts",
        "raw",
        "router",
        "start",
    )

    def __init__(
        self,
        router: Router,
        c: Client,
        argv: list[bytes],
        n: int,
        combine: Callable[[list[Any]], Any],
        errors_too: bool = False,
        raw: bool = False,
    ) -> None:
        self.raw = raw  # combine() takes the replies as they came (bytes, None: worker gone)
        self.router = router
        self.c = c
        self.cmd = c.cmd
        self.argv = argv
        self.start = time.perf_counter_ns()
        self.parts: list[Any] = [None] * n
        self.missing = n
        self.combine = combine
        self.errors_too = errors_too  # combine() judges error replies itself

    def put(self, i: int, data: bytes | None) -> None:
        if self.raw:
            self.parts[i] = data
        else:
            self.parts[i] = ReplyError(WORKER_GONE) if data is None else parse_reply(data)
        self.missing -= 1
        if self.missing == 0:
            value = None
            for p in self.parts:
                if isinstance(p, ReplyError) and (not self.errors_too or str(p) == WORKER_GONE):
                    value = ErrorReply(str(p))
                    break
            if value is None:
                try:
                    value = self.combine(self.parts)
                except CommandError as e:
                    value = ErrorReply(e.text)
            self.router.finish(self.c, self.cmd, self.argv, self.start, value)


# ---- combining the replies of every worker to a keyless command (the table's `route`) ----


def _concat_raw(parts: list[bytes | None]) -> Any:
    """Arrays as they came (KEYS: hundreds of thousands of keys), joined without parsing and
    encoding every element again: one header with the sum of the counts."""
    total = 0
    bodies = []
    for p in parts:
        if p is None:
            return ErrorReply(WORKER_GONE)
        if p[:1] != b"*":
            return to_reply(parse_reply(p))  # an error reply
        head = p.index(b"\r\n")
        total += int(p[1:head])
        bodies.append(p[head + 2 :])
    return RawReply(b"*%d\r\n" % total + b"".join(bodies))


def _digest(parts: list[Any]) -> Any:
    """DEBUG DIGEST from the per-db xors of every worker (storage/digest.py)."""
    merged: dict[int, int] = {}
    for p in parts:
        for i in range(0, len(p), 2):
            merged[p[i]] = merged.get(p[i], 0) ^ int(p[i + 1], 16)
    return Status(hex_digest(combine_digest_parts(merged)))


class Router:
    def __init__(self, server: Server, hub: PeerHub, index: int, count: int, nshards: int):
        self.server = server
        self.hub = hub
        self.index = index
        self.count = count
        self.nshards = nshards

    def owner(self, key: bytes) -> int:
        return (key_slot(key) % self.nshards) % self.count

    def owners(self, cmd: Command, argv: list[bytes]) -> set[int]:
        return {self.owner(argv[i]) for i in cmd.key_indexes(argv)}

    # ---- the dispatcher's question ----

    def route(self, c: Client, cmd: Command, argv: list[bytes]) -> bytes | None:
        """None: run here. Otherwise the reply (b"" while the client waits for it). Raises
        CommandError (-CROSSSLOT) for keys that cannot be served together."""
        if c.inflight and not self._may_overtake(c, cmd, argv):
            # Earlier commands of the pipeline still run on other workers: this one waits
            # for them (the client's input stops here) and runs again after (resume()).
            c.held_argv = argv
            c.awaiting = True
            return b""
        if c.multi is not None:
            return self._in_multi(c, cmd, argv)
        name = cmd.name
        if "tx-local" in cmd.traits:
            if name != "multi":
                self._drop_remote_watch(c)
            c.tx.pinned = False
            c.tx.broadcast = None
            return None
        policy = cmd.route
        if policy == "here":  # the client's own state (SSUBSCRIBE): where the client is
            return None
        if policy == "client-id":  # CLIENT UNBLOCK id: the worker the client is on
            raw = argv[2] if len(argv) > 2 else b""
            if raw.isdigit() and int(raw) % self.count != self.index:
                return self.forward(c, int(raw) % self.count, [argv])
            return None
        if policy == "wait":
            return self._wait(c, argv)
        if policy == "slowlog":
            # Every worker logs what it ran; the server's log is their newest entries.
            maxlen = self.server.slowlog_max_len
            pieces = [(w, argv) for w in range(self.count)]
            if cmd.name == "slowlog|len":
                return self._gather(c, argv, pieces, lambda parts: min(sum(parts), maxlen))
            count = int(argv[2]) if len(argv) == 3 and argv[2].lstrip(b"-").isdigit() else 10

            def newest(parts: list[Any]) -> Any:
                entries = sorted((e for p in parts for e in p), key=lambda e: -e[6])
                entries = entries[: maxlen if count == -1 else min(count, maxlen)]
                return [to_reply(e[:6]) for e in entries]

            return self._gather(c, argv, pieces, newest)
        if policy == "monitor":
            if c.monitor or c.multi is not None:
                return None
            # Every worker learns of the monitor (NOTIFY), then answers a PING behind it on
            # the same ordered link: after +OK every command anywhere is shown.
            self.server.add_monitor(c)
            pieces = [(w, [b"PING"]) for w in range(self.count) if w != self.index]
            return self._gather(c, argv, pieces, lambda _parts: Status("OK"))
        if policy == "publish":
            # Subscribers are on every worker. Worker 0 sends every message to the others,
            # over links that keep order: all subscribers see the messages of several
            # publishers in one order, as from one Redis process.
            if self.index != 0:
                return self.forward(c, 0, [argv])
            pieces = [(w, argv) for w in range(self.count)]
            return self._gather(c, argv, pieces, merge_sum)  # receivers, counted everywhere
        if policy == "debug":  # DIGEST: every worker's share; DIGEST-VALUE: by key
            sub = argv[1].lower()
            if sub == b"digest" and len(argv) == 2:
                pieces = [(w, [argv[0], b"DIGEST-PARTS"]) for w in range(self.count)]
                return self._gather(c, argv, pieces, _digest)
            if sub in (b"set-active-expire", b"sleep"):  # the server: every worker
                return self._everywhere(c, cmd, argv, Route.ALL)
            if sub == b"digest-value" and len(argv) > 2:
                indexes = list(range(2, len(argv)))
                if {self.owner(argv[i]) for i in indexes} == {self.index}:
                    return None
                return self._split(c, cmd, argv, "gather", indexes)
            return None
        if cmd.keys is not None:
            owners = self.owners(cmd, argv)
            if name == "watch":
                return self._watch(c, cmd, argv, owners)
            if not owners or owners == {self.index}:
                return None
            if len(owners) == 1:
                if self._pipelined(c, cmd):
                    return self.forward_slot(c, owners.pop(), argv)  # type: ignore[return-value]
                return self.forward(c, owners.pop(), [argv])
            if not policy:
                raise CommandError(errors.CROSSSLOT)
            return self._split(c, cmd, argv, policy)
        if not policy:
            return None
        return self._everywhere(c, cmd, argv, policy)

    # ---- forwarding ----

    @staticmethod
    def _sent_to(c: Client, worker: int) -> None:
        """c's command goes to worker: it holds a proxy of c from now on (GONE at close)."""
        c.forwarded_to = worker
        if c.proxied is None:
            c.proxied = set()
        c.proxied.add(worker)

    def forward(self, c: Client, worker: int, argvs: list[list[bytes]]) -> bytes:
        c.awaiting = True
        self._sent_to(c, worker)

        def done(data: bytes | None) -> None:
            if data is None:
                self.answer(c, ErrorReply(WORKER_GONE))
            else:
                self.answer_raw(c, data)

        self.hub.request(worker, c.id, c.dbindex, c.proto, argvs, done, _who(c))
        return b""

    # ---- pipelined forwarding ----

    def _pipelined(self, c: Client, cmd: Command) -> bool:
        """May this command run on its owner while the client's next commands go on? Only
        a plain one-worker command outside transactions, blocking and sync replication:
        its reply takes its place in the client's output (Slot) whenever it comes."""
        return not (
            cmd.route
            or c.multi is not None
            or c.tx.worker is not None
            or c.tx.watched_keys
            or "not-pipelined" in cmd.traits
            or "blocking" in cmd.flags
            or self.server.syncmode.sync
            or self.server.syncmode.pause_kind
        )

    def _may_overtake(self, c: Client, cmd: Command, argv: list[bytes]) -> bool:
        """With commands in flight on other workers: may this one run now (another
        pipelined forward, or a plain command on this worker's keys)? Anything else waits,
        so that effects beyond one key (transactions, blocking, the whole keyspace, the
        connection) keep the client's order."""
        if cmd.keys is None:
            return "overtakes" in cmd.traits
        if not self._pipelined(c, cmd):
            return False
        try:
            return len(self.owners(cmd, argv)) == 1
        except (IndexError, ValueError):
            return False

    def forward_slot(self, c: Client, worker: int, argv: list[bytes]) -> Slot:
        slot = Slot()
        c.inflight += 1
        self._sent_to(c, worker)

        def done(data: bytes | None) -> None:
            if data is None:
                data = encode(ErrorReply(WORKER_GONE), c.proto)
            c.fill(slot, data)
            if c.inflight == 0 and c.awaiting and c.held_argv is not None:
                c.awaiting = False  # the command that waited for them runs now
                c.resume()

        self.hub.request(worker, c.id, c.dbindex, c.proto, [argv], done, _who(c))
        return slot

    def answer_raw(self, c: Client, data: bytes) -> None:
        c.awaiting = False
        if c.closed:
            return
        c.write(data)
        if c.close_after_reply:  # CLIENT KILL of itself, QUIT: after this reply
            c.close()
            return
        blocking = self.server.blocking
        if blocking.ready:
            blocking.serve_ready()
        c.resume()

    def answer(self, c: Client, value: Any) -> None:
        self.answer_raw(c, encode(value, c.proto))

    def finish(
        self, c: Client, cmd: Command | None, argv: list[bytes], start: int, value: Any
    ) -> None:
        """The combined reply of a split or broadcast command: accounted for once, here
        (its pieces ran quietly), then sent."""
        if cmd is not None:
            failed = str(value) if isinstance(value, ErrorReply) else None
            usec = (time.perf_counter_ns() - start) // 1000
            self.server.dispatcher.account(c, cmd, argv, usec, failed)
        self.answer(c, value)

    def unblock_remote(self, target: Client, error: bool) -> bool:
        """CLIENT UNBLOCK of a client whose blocking command waits on another worker."""
        cmd = target.cmd
        if not target.awaiting or cmd is None or "blocking" not in cmd.flags:
            return False
        self.hub.notify(target.forwarded_to, "unblock", [target.id, error])
        return True

    def client_gone(self, c: Client) -> None:
        if c.proxied:
            for w in c.proxied:
                self.hub.gone(w, c.id)

    def _ask(self, c: Client, worker: int, argv: list[bytes], done: Callable) -> None:
        """One piece of a split or broadcast command, answered in RESP2 for combining."""
        if worker == self.index:
            # In the client's own protocol: what the command pushes to the client itself
            # (a PUBLISH to its own channel) must be in it; the reply parser reads both.
            c.quiet = True  # a piece: the whole is accounted for by finish()
            c.sliced_reply = done  # a piece working over several turns answers there
            try:
                reply = self.server.dispatcher.execute(c, c.cmd, argv)  # type: ignore[arg-type]
            finally:
                del c.quiet
            if c.sliced is not None:
                return  # done() comes with its last slice (commands/sliced.py)
            c.sliced_reply = None
            # Answered on the next turn, never from inside the dispatcher: the replies of
            # the commands before this one in the client's read are not written yet.
            asyncio.get_running_loop().call_soon(done, reply)
            return
        if c.proxied is None:
            c.proxied = set()
        c.proxied.add(worker)
        self.hub.request(worker, c.id, c.dbindex, 2, [argv], done, _who(c), quiet=True)

    def _gather(
        self,
        c: Client,
        argv: list[bytes],
        pieces: list[tuple[int, list[bytes]]],
        combine: Callable,
        errors_too: bool = False,
        raw: bool = False,
    ) -> bytes:
        c.awaiting = True
        g = Gather(self, c, argv, len(pieces), combine, errors_too, raw)
        for i, (worker, argv) in enumerate(pieces):
            self._ask(c, worker, argv, lambda data, i=i: g.put(i, data))
        return b""

    def _wait(self, c: Client, argv: list[bytes]) -> bytes | None:
        """WAIT for a client whose writes went to other workers too: each worker counts the
        replicas holding what the client wrote there; the answer is the smallest count."""
        others = [w for w in (c.proxied or ()) if w != self.index]
        if not others or self.server.replica_of is not None:
            return None
        try:
            need, timeout = int(argv[1]), int(argv[2])
        except ValueError:
            return None  # the handler reports it
        if timeout < 0:
            return None
        c.awaiting = True
        g = Gather(self, c, argv, 1 + len(others), min)
        self.server.syncmode.wait_then(c.woff, need, timeout, lambda n: g.put(0, b":%d\r\n" % n))
        for i, w in enumerate(others, 1):
            done = lambda d, i=i: g.put(i, d)  # noqa: E731
            self.hub.request(w, c.id, c.dbindex, 2, [argv], done, _who(c), quiet=True)
        return b""

    # ---- keys on several workers ----

    def _split(
        self,
        c: Client,
        cmd: Command,
        argv: list[bytes],
        policy: str,
        indexes: list[int] | None = None,
    ) -> bytes:
        step = 2 if policy == "pairs" else 1
        if indexes is None:
            indexes = cmd.key_indexes(argv)
        head = argv[: indexes[0]]  # the command (and subcommand) before the first key
        by_worker: dict[int, list[int]] = {}
        for i in indexes:
            by_worker.setdefault(self.owner(argv[i]), []).append(i)
        pieces = []
        for w, idxs in by_worker.items():
            sub = list(head)
            for i in idxs:
                sub.extend(argv[i : i + step])
            pieces.append((w, sub))
        if policy == Route.SUM:
            return self._gather(c, argv, pieces, merge_sum)
        if policy == "pairs":
            return self._gather(c, argv, pieces, lambda parts: to_reply(parts[0]))
        if policy == "gather":
            slots = list(by_worker.values())

            first = indexes[0]

            def combine(parts: list[Any]) -> Any:
                out: list[Any] = [None] * (len(argv) - first)
                for idxs, values in zip(slots, parts, strict=True):
                    for i, v in zip(idxs, values, strict=True):
                        out[i - first] = to_reply(v)
                return out

            return self._gather(c, argv, pieces, combine)
        raise CommandError(errors.CROSSSLOT)

    # ---- keyless commands about every worker ----

    def _everywhere(self, c: Client, cmd: Command, argv: list[bytes], policy: str) -> bytes:
        if policy == "scan":
            return self._scan(c, argv)
        if policy == "all":
            mine = self.index

            def combine(parts: list[Any]) -> Any:
                return to_reply(parts[mine])

        elif policy == "concat":
            pieces = [(w, argv) for w in range(self.count)]
            return self._gather(c, argv, pieces, _concat_raw, raw=True)
        else:  # MERGE, CLIENT_KILL: the command's own merge (commands/table.py)
            assert cmd.merge is not None
            combine = cmd.merge
        pieces = [(w, argv) for w in range(self.count)]
        return self._gather(c, argv, pieces, combine, errors_too=policy == Route.CLIENT_KILL)

    def _scan(self, c: Client, argv: list[bytes]) -> bytes | None:
        """SCAN walks worker 0's shards, then worker 1's, ...: a cursor names the worker
        whose cursor table holds its position (cursor % workers); cursors 1..workers-1
        start a worker's walk. A walk that ends with room left in the page goes on with
        the next worker's, so a small keyspace comes back in one page as from Redis."""
        try:
            cursor = parse_cursor(argv[1])  # strtoul, as Redis: "" is 0, "-0" is 0, ...
        except CommandError:
            return None  # the handler reports the invalid cursor
        n = self.count
        worker = cursor % n if cursor >= n else cursor
        count = 10
        for i in range(2, len(argv) - 1, 2):
            if argv[i].lower() == b"count" and argv[i + 1].isdigit():
                count = max(1, int(argv[i + 1]))
        c.awaiting = True
        found: list[Any] = []
        cmd, start = c.cmd, time.perf_counter_ns()

        def answer(value: Any) -> None:
            self.finish(c, cmd, argv, start, value)

        def ask(w: int, sub_cursor: int) -> None:
            sub = list(argv)
            sub[1] = b"%d" % sub_cursor
            self._ask(c, w, sub, lambda data, w=w: got(w, data))

        def got(w: int, data: bytes | None) -> None:
            value = ReplyError(WORKER_GONE) if data is None else parse_reply(data)
            if isinstance(value, ReplyError):
                answer(ErrorReply(str(value)))
                return
            nxt, keys = int(value[0]), value[1]
            found.extend(keys)
            if len(value) > 2:  # the cursor was not this worker's: the iteration ends
                answer([b"0", found])
            elif nxt:
                answer([b"%d" % (nxt * n + w), found])
            elif w + 1 >= n:
                answer([b"0", found])
            elif len(found) < count:
                ask(w + 1, 0)
            else:
                answer([b"%d" % (w + 1), found])

        ask(worker, 0 if cursor < n else cursor // n)
        return b""

    # ---- transactions ----

    def _tx_worker(self, c: Client) -> int | None:
        """The worker holding c's WATCHes or queued keys so far (None: not decided)."""
        if c.tx.watched_keys:
            return self.index
        return c.tx.worker

    def _watch(self, c: Client, cmd: Command, argv: list[bytes], owners: set[int]) -> bytes | None:
        if len(owners) > 1:
            raise CommandError(errors.CROSSSLOT)
        (w,) = owners
        current = self._tx_worker(c)
        if current is not None and current != w:
            raise CommandError(errors.CROSSSLOT)
        if w == self.index:
            return None
        c.tx.worker = w
        return self.forward(c, w, [argv])

    def _in_multi(self, c: Client, cmd: Command, argv: list[bytes]) -> bytes | None:
        name = cmd.name
        if name == "exec":
            w = c.tx.worker
            broadcast, c.tx.broadcast = c.tx.broadcast, None
            if w is None or w == self.index or c.multi.doomed:  # type: ignore[union-attr]
                self._drop_remote_watch(c)
                if broadcast and not c.multi.doomed:  # type: ignore[union-attr]
                    return self._exec_and_broadcast(c, cmd, argv, broadcast)
                return None
            queued = [a for _, a in c.multi.commands]  # type: ignore[union-attr]
            c.multi = None
            c.tx.worker = None
            c.tx.dirty_cas = False  # the owner's proxy judges the WATCHes
            return self.forward(c, w, [[b"MULTI"], *queued, argv])
        if name == "discard" or name == "reset":
            self._drop_remote_watch(c)
            c.tx.broadcast = None
            return None
        if name in ("multi", "watch", "quit"):
            return None
        if "client-state" in cmd.traits:
            # It changes this connection (db, subscriptions, name): the transaction must
            # run here, where the connection is.
            if c.tx.worker is not None and c.tx.worker != self.index:
                raise CommandError(errors.CROSSSLOT)
            c.tx.pinned = True
            return None
        if cmd.route == "here":
            return None
        if cmd.keys is None or cmd.route == "publish":
            if cmd.route in _BROADCAST_IN_TX:
                # About the whole server (Sentinel promotes with MULTI, SLAVEOF NO ONE,
                # CONFIG REWRITE, CLIENT KILL, EXEC): the transaction runs here, then these
                # run on the other workers before EXEC answers.
                if c.tx.worker is not None and c.tx.worker != self.index:
                    raise CommandError(errors.CROSSSLOT)
                c.tx.pinned = True
                if c.tx.broadcast is None:
                    c.tx.broadcast = []
                c.tx.broadcast.append(argv)
                return None
            if cmd.route:
                raise CommandError(errors.CROSSSLOT)  # a reply about every worker: not atomic
            return None
        owners = self.owners(cmd, argv)
        if not owners:
            return None
        current = self._tx_worker(c)
        if len(owners) > 1 or (current is not None and owners != {current}):
            raise CommandError(errors.CROSSSLOT)
        if c.tx.pinned and owners != {self.index}:
            raise CommandError(errors.CROSSSLOT)
        c.tx.worker = owners.pop()
        return None

    def _exec_and_broadcast(
        self, c: Client, cmd: Command, argv: list[bytes], broadcast: list[list[bytes]]
    ) -> bytes:
        """EXEC here; if it ran, the server-wide commands it held run on every other worker
        (as a transaction there too), and EXEC answers once they all did."""
        reply = self.server.dispatcher.execute(c, cmd, argv)
        if reply[:1] != b"*" or reply.startswith(b"*-1"):
            return reply  # aborted (EXECABORT, a WATCHed key changed): nothing ran
        others = [w for w in range(self.count) if w != self.index]
        left = [len(others)]

        def done(_data: bytes | None) -> None:
            left[0] -= 1
            if left[0] == 0:
                self.answer_raw(c, reply)

        c.awaiting = True
        if c.proxied is None:
            c.proxied = set()
        for w in others:
            c.proxied.add(w)
            self.hub.request(
                w,
                c.id,
                c.dbindex,
                2,
                [[b"MULTI"], *broadcast, [b"EXEC"]],
                done,
                _who(c),
                quiet=True,
            )
        return b""

    def _drop_remote_watch(self, c: Client) -> None:
        w = c.tx.worker
        c.tx.worker = None
        if w is not None and w != self.index:
            c.tx.dirty_cas = False
        if w is not None and w != self.index:
            self.hub.request(
                w, c.id, c.dbindex, 2, [[b"UNWATCH"]], lambda _d: None, _who(c), quiet=True
            )
