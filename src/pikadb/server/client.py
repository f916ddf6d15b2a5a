"""One client connection: an asyncio Protocol around the sans-IO RESP parser.

data_received feeds the parser, runs every complete command through the dispatcher and
writes all replies of that read in one transport.write, so a pipeline of thousands of
commands costs one syscall per read rather than one per command. A protocol error answers
'-ERR Protocol error: ...' after the replies of the commands before it, then closes this
connection only. Flow control: when the peer does not read its replies, reading from it
pauses, so a client cannot make the server buffer unbounded output.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING

from pikadb.log import log
from pikadb.protocol import Parser, ProtocolError

_perf = time.perf_counter

OUTPUT_HIGH_WATER = 4 * 1024 * 1024  # bytes of unsent replies before input waits
MAX_INFLIGHT = 4096  # a client's commands running on other workers before its input waits
# Seconds of commands one client runs per event-loop turn: a pipeline longer than that goes
# on in the next turn, after the other clients (libuv hands over up to 32 reads of 256 KB in
# one turn: a redis-cli --pipe alone held the loop for 1.7 s).
CLIENT_SLICE_S = 0.005

if TYPE_CHECKING:
    from pikadb.commands.table import Command
    from pikadb.commands.transactions import MultiState
    from pikadb.replication.master import ReplicaLink
    from pikadb.replication.replica import MasterLink
    from pikadb.server.blocking import BlockedClient
    from pikadb.server.multi import WatchedKey
    from pikadb.server.server import Server

_MAX_CLIENTS_REACHED = b"-ERR max number of clients reached\r\n"


class Slot:
    """The place of a forwarded command's reply in its client's output."""

    __slots__ = ("data",)

    def __init__(self) -> None:
        self.data: bytes | None = None


class TxState:
    """A connection's WATCH / transaction state besides the open MULTI (Client.multi)."""

    __slots__ = ("broadcast", "dirty_cas", "pinned", "watched_keys", "worker")

    def __init__(self) -> None:
        self.dirty_cas = False  # Redis's CLIENT_DIRTY_CAS: a WATCHed key changed
        # WATCHed keys: (db, key) -> server.multi.WatchedKey
        self.watched_keys: dict[tuple[int, bytes], WatchedKey] = {}
        # Several workers (server/routing.py): the worker the transaction (WATCH, queued
        # keys) lives on; pinned: it changes the connection, so it runs here; broadcast:
        # queued commands about the whole server (SLAVEOF, CLIENT KILL, FLUSHALL) that run
        # on every other worker once the transaction ran here.
        self.worker: int | None = None
        self.pinned = False
        self.broadcast: list[list[bytes]] | None = None


class Subscriptions:
    """A connection's Pub/Sub subscriptions, each in subscription order."""

    __slots__ = ("channels", "patterns", "shard_channels")

    def __init__(self) -> None:
        self.channels: dict[bytes, None] = {}
        self.patterns: dict[bytes, None] = {}
        self.shard_channels: dict[bytes, None] = {}


class Announced:
    """What a replica connection announced with REPLCONF listening-port / ip-address."""

    __slots__ = ("ip", "port", "recs")

    def __init__(self) -> None:
        self.port = 0
        self.ip = ""
        self.recs = False  # REPLCONF capa recs: records come in "recs" frames


class Client(asyncio.Protocol):
    is_proxy = False  # server/peers.py: a client of another worker
    quiet = False  # a proxy running a piece of a split command: not accounted here
    ready_queued = False  # fill() queued replies for the end of the turn (send_ready)

    def __init__(self, server: Server) -> None:
        self.server = server
        self.id = server.next_client_id()
        self.parser = Parser(max_bulk=server.config.get_int("proto-max-bulk-len"))
        self.dbindex = 0
        self.db = server.database(0)
        self.proto = 2
        self.name: bytes | None = None
        self._authenticated = False
        self.authenticated = not server.requirepass
        self.user = "default"
        self.argv: list[bytes] = []
        self.now = 0  # ms: the running command's clock (Dispatcher.execute stamps it)
        self.cmd: Command | None = None
        self.monitor = False
        self.blocked: BlockedClient | None = None  # while in BLPOP & co (server/blocking.py)
        # A command working over several loop turns (KEYS: commands/sliced.py); its reply
        # and the pipeline behind it wait.
        self.sliced: Generator | None = None
        self.sliced_reply: Callable[[bytes], None] | None = None  # where its reply goes
        # MULTI/EXEC (commands/transactions.py): the open transaction and, while EXEC runs
        # its queue, in_exec, which tells blocking commands to answer at once instead of
        # blocking (both read for every command); WATCH and the rest in tx.
        self.multi: MultiState | None = None
        self.in_exec = False
        self.tx = TxState()
        # Pub/Sub (server/pubsub.py): subscriptions; `subscribed` is Redis's CLIENT_PUBSUB
        # flag (the RESP2 subscribed context, read for every command).
        self.subs = Subscriptions()
        self.subscribed = False
        # The replies being built by data_received: output pushed meanwhile (push()) joins
        # them in order instead of overtaking them.
        self.out_batch: list[bytes] | None = None
        self.close_after_reply = False
        self.closed = False
        self.created = time.time()
        self.last_interaction = time.monotonic()
        self.peer = "?:0"
        self.local = "?:0"
        self.fd = -1
        self.transport: asyncio.Transport | None = None
        self._paused = False
        self._dispatch = server.dispatcher.call
        self.deferred = False  # output held until this turn's group commit (server.py)
        # Replication: what a replica announced (REPLCONF) and, once PIKASYNC accepted it,
        # the link streaming records to it (replication/master.py).
        self.announced = Announced()
        self.repl_link: ReplicaLink | None = None
        self.close_after_flush = False
        # CLIENT PAUSE: the command postponed until the pause ends (server/syncmode.py);
        # woff: the binlog ids after this client's last write (WAIT, sync mode).
        self.postponed: list[bytes] | None = None
        self.woff: tuple[int, ...] | None = None
        # Several workers (server/routing.py): waiting for another worker's reply (the
        # pipeline behind waits too), and the workers holding a proxy of this client.
        # (Flat, not grouped: data_received and write() read them for every command.)
        self.awaiting = False
        self.forwarded_to = -1
        self.proxied: set[int] | None = None
        # Pipelined forwarding: replies of commands still running on other workers (Slot)
        # and the output behind them, in order; how many are in flight; a command that
        # must wait until they all came back (held_argv, run again by resume()).
        self.pending_out: deque[bytes | Slot] | None = None
        self.inflight = 0
        self.throttled = False
        self._input_paused = False  # reading stopped while its input waits (awaiting)
        self._backlog = False  # reading stopped: complete commands wait for the next turn
        self.held_argv: list[bytes] | None = None

    @property
    def authenticated(self) -> bool:
        return self._authenticated

    @authenticated.setter
    def authenticated(self, value: bool) -> None:
        # Before AUTH, Redis caps multibulk counts (10) and bulk lengths (16 KB) so that an
        # unauthenticated peer cannot make the server buffer much; the parser enforces it.
        self._authenticated = value
        self.parser.auth_required = not value

    # ---- asyncio.Protocol ----

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  (uvloop's TCPTransport)
        self.peer = _addr(transport.get_extra_info("peername"))
        self.local = _addr(transport.get_extra_info("sockname"))
        sock = transport.get_extra_info("socket")
        self.fd = sock.fileno() if sock is not None else -1
        server = self.server
        server.stats.total_connections_received += 1
        if server.client_count() >= server.maxclients:
            server.stats.rejected_connections += 1
            transport.write(_MAX_CLIENTS_REACHED)
            transport.close()
            self.closed = True
            return
        if server.protected_mode and not server.requirepass and not _is_loopback(self.peer):
            # Redis's protected mode: no password, so only loopback clients get in.
            transport.write(_PROTECTED_MODE_DENIED)
            transport.close()
            self.closed = True
            log.warning(f"Refused a connection from {self.peer}: protected mode, no password")
            return
        server.clients[self.id] = self
        if server.worker is not None:
            server.worker.publish_clients(len(server.clients))
        # Replies are written once per read; above 4 MB of unread output, stop reading.
        transport.set_write_buffer_limits(high=OUTPUT_HIGH_WATER)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.server.client_gone(self)

    def pause_writing(self) -> None:
        if self.transport is not None and not self._paused:
            self._paused = True
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.transport is not None and self._paused:
            self._paused = False
            if not self.closed:
                if not self._input_paused and not self._backlog:
                    self.transport.resume_reading()
                self.resume()  # the pipelined input left unprocessed (see data_received)
        if self.repl_link is not None:
            self.repl_link.catch_up()  # flow control: the binlog is read again once drained

    def data_received(self, data: bytes) -> None:
        core = self.server.core
        if core is not None:
            # The common read (commands the core runs, a client in no special state) is
            # served in C; else it hands over what it did, or nothing.
            done = core.serve(self, self.parser, data)
            if done is None:
                return
            if done is not False:
                self._serve_input(b"", done)
                return
        self._serve_input(data, [])

    def _serve_input(self, data: bytes, out: list[bytes]) -> None:
        """Run the input (data, appended to what waits in the parser) after the replies in
        out."""
        if self.closed or self.close_after_reply:
            return
        server = self.server
        server.begin_turn()
        stats = server.stats
        if data:  # resume() runs input that waited while blocked: not a read
            stats.total_net_input_bytes += len(data)
            stats.total_reads_processed += 1
            self.last_interaction = time.monotonic()
        parser = self.parser
        parser.feed(data)
        self.out_batch = out
        dispatch = self._dispatch
        blocking = server.blocking
        core = server.core
        # A pipeline of small commands can ask for far more output than the peer reads
        # (10,000 GETs of 100 KB in one read): past the high water mark the rest of the
        # input waits in the parser until the output drains (resume_writing), so memory
        # stays bounded. Redis buffers it all (client-output-buffer-limit normal 0 0 0).
        room = OUTPUT_HIGH_WATER
        if self.transport is not None:
            room -= self.transport.get_write_buffer_size()
        more = False
        slots = False
        n = 0
        deadline = _perf() + CLIENT_SLICE_S
        try:
            # A blocked, postponed or forwarding client's pipelined input waits.
            while (
                self.blocked is None
                and self.postponed is None
                and self.sliced is None
                and not self.awaiting
            ):
                argv = self.held_argv
                if argv is None:
                    if core is not None:
                        # The command core runs what it takes of the input first; the
                        # command it stops at (if any) is the dispatcher's.
                        k = len(out)
                        again = core.run(self, parser, out)
                        if len(out) != k:
                            if blocking.ready:
                                blocking.serve_ready()
                            room -= len(out[-1])
                            if room < 0:
                                more = True
                                break
                            if _perf() > deadline:
                                more = True
                                break
                            if again:
                                continue
                    argv = parser.gets()
                    if argv is None:
                        break
                else:
                    self.held_argv = None
                reply = dispatch(self, argv)
                out.append(reply)
                if blocking.ready:  # keys the command gave data to: serve their waiters now
                    blocking.serve_ready()
                if self.close_after_reply:
                    break
                if reply.__class__ is Slot:
                    slots = True
                    if self.inflight >= MAX_INFLIGHT:
                        # The owners are behind: read on once half came back (fill()),
                        # instead of queueing the whole input for them.
                        self.throttled = self.awaiting = True
                        break
                    n += 1
                    if not n & 31 and _perf() > deadline:
                        more = True
                        break
                    continue
                room -= len(reply)
                if room < 0:
                    more = True
                    break
                n += 1
                if not n & 31 and _perf() > deadline:
                    more = True
                    break
        except ProtocolError as e:
            # latin-1: "expected '$', got 'c'" carries the offending raw byte.
            out.append(b"-ERR " + str(e).encode("latin-1", "replace") + b"\r\n")
            log.verbose(f"Protocol error ({e}) from client: {self.describe()}")
            self.close_after_reply = True
        finally:
            self.out_batch = None
        if parser.buffered() > server.query_buffer_limit:
            log.warning(f"Closing client that reached max query buffer length: {self.describe()}")
            self.close_after_reply = True
        if slots:
            self.emit(out)
        else:
            self.write(b"".join(out) if len(out) != 1 else out[0])
        if self.awaiting and not self._input_paused and parser.buffered() > OUTPUT_HIGH_WATER:
            # Waiting for other workers with plenty of input already here: stop reading
            # until resume() (a pipe would otherwise fill the query buffer).
            self._input_paused = True
            if self.transport is not None:
                self.transport.pause_reading()
        if self.close_after_reply and not self.awaiting:
            self.close()
        elif more:
            # The rest of the input waits for the next turn, after the other clients; no
            # more is read meanwhile.
            if not self._backlog:
                self._backlog = True
                if self.transport is not None:
                    self.transport.pause_reading()
            if not self._paused:  # else resume_writing resumes
                asyncio.get_running_loop().call_soon(self.resume)
        elif self._backlog:
            self._end_backlog()

    def _end_backlog(self) -> None:
        self._backlog = False
        if not self._paused and not self._input_paused and self.transport is not None:
            self.transport.resume_reading()

    def resume(self) -> None:
        """Run the input that waited while this client was blocked (server/blocking.py),
        paused or had too much output pending."""
        if self._input_paused and not self.awaiting and not self.closed:
            self._input_paused = False
            if not self._paused and not self._backlog and self.transport is not None:
                self.transport.resume_reading()
        if (
            self.blocked is None
            and self.postponed is None
            and self.sliced is None
            and not self.awaiting
            and not self.closed
            and not self._paused
            and (self.held_argv is not None or self.parser.buffered())
        ):
            self.data_received(b"")
        elif self._backlog and not self._paused:
            # Nothing to run now (the input went, or the client waits): read again.
            self._end_backlog()

    # ---- pipelined forwarding (server/routing.py) ----

    def emit(self, out: list) -> None:
        """This read's replies, some still on other workers: what is ready goes out, the
        rest waits in pending_out, in order."""
        if self.pending_out is not None:
            self.pending_out.extend(out)
            return
        self.pending_out = deque(out)
        self._send_ready()

    def fill(self, slot: Slot, data: bytes) -> None:
        """A forwarded command's reply came back: send what is ready now."""
        slot.data = data
        self.inflight -= 1
        if self.throttled and self.inflight <= MAX_INFLIGHT // 2:
            self.throttled = self.awaiting = False
            asyncio.get_running_loop().call_soon(self.resume)
        if self.pending_out is not None:  # else still in this read's batch (emit takes it)
            # Sent at the end of the turn: the replies that come back in one turn leave in
            # one write, not one each.
            self.server.send_ready_soon(self)

    def send_ready(self) -> None:
        """What fill() left for the end of the turn (Server.end_turn)."""
        self.ready_queued = False
        if self.pending_out is not None:
            self._send_ready()

    def _send_ready(self) -> None:
        """Write pending_out up to the first reply still on another worker."""
        pending = self.pending_out
        assert pending is not None
        ready: list[bytes] = []
        while pending:
            item = pending[0]
            if item.__class__ is Slot:
                if item.data is None:
                    break
                item = item.data
            ready.append(item)
            pending.popleft()
        if not pending:
            self.pending_out = None
        if ready:
            self._write_now(b"".join(ready))

    # ---- output and lifecycle ----

    def write(self, data: bytes) -> None:
        if self.pending_out is not None:  # behind replies still on other workers
            if data:
                self.pending_out.append(data)
            return
        self._write_now(data)

    def _write_now(self, data: bytes) -> None:
        if data and self.transport is not None and not self.closed:
            if self.server.engine.holding_replies:
                # Writes of this turn are not in RocksDB, or not on their way to the
                # replicas yet: the end of the turn (Server.end_turn) sends this.
                self.server.defer_output(self, data)
                return
            self.send(data)

    def send(self, data: bytes) -> None:
        if self.transport is not None and not self.closed:
            self.server.stats.total_net_output_bytes += len(data)
            self.server.stats.total_writes_processed += 1
            self.transport.write(data)

    def push(self, data: bytes) -> None:
        """Out-of-band output (Pub/Sub messages): after whatever this client was already
        sent or is being answered, as in Redis's reply buffer."""
        batch = self.out_batch
        if batch is not None:
            batch.append(data)
        else:
            self.write(data)

    def close(self) -> None:
        """Close after the pending output is flushed."""
        if self.deferred:
            self.close_after_flush = True
            return
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    # ---- introspection (CLIENT LIST / INFO) ----

    def flags(self) -> str:
        if self.repl_link is not None:
            return "S"
        f = ""
        if self.monitor:
            f += "O"
        if self.subscribed:
            f += "P"
        if self.multi is not None:
            f += "x"
        if (
            self.blocked is not None
            or self.postponed is not None
            or (self.awaiting and self.cmd is not None and "blocking" in self.cmd.flags)
        ):
            f += "b"  # blocked here, or on the worker owning the keys (server/routing.py)
        if self.tx.dirty_cas:
            f += "d"
        if self.close_after_reply:
            f += "c"
        return f or "N"

    def kind(self) -> str:
        """CLIENT KILL/LIST TYPE: normal | master | replica | pubsub."""
        if self.repl_link is not None:
            return "replica"
        return "pubsub" if self.subscribed else "normal"

    def describe(self) -> str:
        now = time.time()
        idle = int(time.monotonic() - self.last_interaction)
        cmd = self.cmd.name if self.cmd is not None else "NULL"
        name = (self.name or b"").decode("utf-8", "replace")
        qbuf = self.parser.buffered()
        queued = len(self.multi.commands) if self.multi is not None else -1
        subs = self.subs
        return (
            f"id={self.id} addr={self.peer} laddr={self.local} fd={self.fd} name={name} "
            f"age={int(now - self.created)} idle={idle} flags={self.flags()} db={self.dbindex} "
            f"sub={len(subs.channels)} psub={len(subs.patterns)} ssub={len(subs.shard_channels)} "
            f"multi={queued} qbuf={qbuf} qbuf-free=0 argv-mem=0 multi-mem=0 "
            f"rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd={cmd} user={self.user} "
            f"redir=-1 resp={self.proto}"
        )


class MasterLinkClient(Client):
    """The link to this replica's master (replication/replica.py MasterLink) as CLIENT LIST,
    CLIENT KILL and INFO clients see it; the link itself reads and writes the socket."""

    def __init__(self, server: Server, link: MasterLink) -> None:
        super().__init__(server)
        self.link = link
        self.transport = link.transport
        self.peer, self.local, self.fd = link.peer, link.local, link.fd
        self.authenticated = True

    def describe(self) -> str:
        self.last_interaction = self.link.last_interaction
        return super().describe()

    def kind(self) -> str:
        return "master"

    def flags(self) -> str:
        return "M"

    def close(self) -> None:
        self.link.close()


_PROTECTED_MODE_DENIED = (
    b"-DENIED Redis is running in protected mode because protected mode is enabled and no "
    b"password is set for the default user. In this mode connections are only accepted from "
    b"the loopback interface. If you want to connect from external computers to Redis you "
    b"may adopt one of the following solutions: 1) Just disable protected mode sending the "
    b"command 'CONFIG SET protected-mode no' from the loopback interface by connecting to "
    b"Redis from the same host the server is running, however MAKE SURE Redis is not "
    b"publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change "
    b"permanent. 2) Alternatively you can just disable the protected mode by editing the "
    b"Redis configuration file, and setting the protected mode option to 'no', and then "
    b"restarting the server. 3) If you started the server manually just for testing, restart "
    b"it with the '--protected-mode no' option. 4) Setup a an authentication password for "
    b"the default user. NOTE: You only need to do one of the above things in order for the "
    b"server to start accepting connections from the outside.\r\n"
)  # Redis 7.0's text, byte for byte: clients and operators recognise it


def _is_loopback(peer: str) -> bool:
    host = peer.rsplit(":", 1)[0].strip("[]")
    return host.startswith("127.") or host in ("::1", "?") or host.startswith("::ffff:127.")


def _addr(info: object) -> str:
    if isinstance(info, tuple) and len(info) >= 2:
        host = info[0]
        return f"[{host}]:{info[1]}" if ":" in str(host) else f"{host}:{info[1]}"
    if isinstance(info, str):
        return info
    return "?:0"
