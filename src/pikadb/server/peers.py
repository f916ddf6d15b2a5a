"""The channel between the workers of one pikad (workers > 1): requests for keys another
worker owns, and that worker's replies.

Each worker listens on a unix stream socket in Linux's abstract namespace (no file to clean
up, no path-length limit) named after the coordinator's pid and the port, and connects to
each other worker on first use. Frames are msgpack arrays:

    [REQUEST, req_id, origin client id, db, proto, [argv, ...], [addr, name], quiet]
                                      -> [REPLY, req_id, bytes]
    [GONE, origin client id]          the origin's connection closed: drop its proxy
    [NOTIFY, kind, payload]           fire and forget (Pub/Sub delivery, ...)

A request carries one command, or a whole transaction (MULTI ... EXEC) whose reply is the
last command's. The owner runs it for a ProxyClient standing for the origin's client, so
blocking commands, WATCH and MULTI behave as for a local client: the reply comes back when
the proxy is answered (at once, or when a BLPOP is served). Frames leaving a worker are
gathered per event-loop turn and written in one call per peer.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import time
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING

import msgpack

from pikadb.log import log
from pikadb.protocol import Parser, encode_command
from pikadb.server.client import Client

if TYPE_CHECKING:
    from pikadb.server.server import Server

REQUEST, REPLY, GONE, NOTIFY = 0, 1, 2, 3

ReplyHandler = Callable[[bytes | None], None]  # None: the peer went away, outcome unknown

CONNECT_PATIENCE_S = 10.0
PEER_SLICE_S = 0.005  # frames run per turn and link (as CLIENT_SLICE_S for a client)
CORE_FRAME_MAX = 1 << 16  # bigger forwarded commands go to the dispatcher


def socket_name(coordinator_pid: int, port: int, index: int) -> str:
    return f"\0pikadb.{coordinator_pid}.{port}.w{index}"


class ProxyClient(Client):
    """On the owning worker: the client of another worker whose commands it runs. Its
    output goes back over the channel as the reply to the request in flight."""

    is_proxy = True

    def __init__(self, server: Server, link: PeerLink, origin_id: int) -> None:
        super().__init__(server)
        self.link = link
        self.origin_id = origin_id
        self.authenticated = True  # the origin checked AUTH
        self.req_id: int | None = None
        self.peer = f"worker{link.remote_index}"
        # Requests of the origin's pipeline that arrived while one was still unanswered
        # (blocked, postponed, held for replicas): run one at a time, in order.
        self.backlog: list[list] = []

    def write(self, data: bytes) -> None:
        if not data or self.closed:
            return
        req = self.req_id
        if req is None:
            return  # nobody waits (the origin's client went away meanwhile)
        self.req_id = None
        if self.server.engine.holding_replies:
            # After this turn's group commit, as any reply; bound to its request, since the
            # next request of the pipeline may run before then.
            self.server.defer_output(_DeferredReply(self.link, req), data)  # type: ignore[arg-type]
        else:
            self.link.send([REPLY, req, data])
        if self.backlog:
            frame = self.backlog.pop(0)
            asyncio.get_running_loop().call_soon(self.link.request_frame, frame)

    def send(self, data: bytes) -> None:
        self.write(data)

    def close(self) -> None:
        self.closed = True

    def notify_origin(self, kind: str) -> None:
        """Tell the origin worker something about its client (back over this link)."""
        self.link.send([NOTIFY, kind, self.origin_id])

    def kind(self) -> str:
        return "normal"


class _DeferredReply:
    """A proxy's reply waiting for the group commit (Server.defer_output's client)."""

    __slots__ = ("deferred", "link", "req")
    transport = None
    close_after_flush = False

    def __init__(self, link: PeerLink, req: int) -> None:
        self.link = link
        self.req = req
        self.deferred = True

    def send(self, data: bytes) -> None:
        self.link.send([REPLY, self.req, data])


class PeerLink(asyncio.Protocol):
    """One connection between two workers. Requests flow from the side that connected;
    replies flow back. Both sides run this protocol."""

    def __init__(self, hub: PeerHub, remote_index: int = -1) -> None:
        self.hub = hub
        self.remote_index = remote_index
        self.transport: asyncio.Transport | None = None
        self.unpacker = msgpack.Unpacker(raw=False, max_buffer_size=1 << 31)
        self.out: list[bytes] = []
        self.proxies: dict[int, ProxyClient] = {}
        self.closed = False
        self._sliced = False  # frames left for the next turn, reading paused
        self.parser = Parser()  # forwarded commands framed again for the command core

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.hub.links.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.hub.links.discard(self)
        self.hub.link_lost(self)
        server = self.hub.server
        for proxy in self.proxies.values():
            proxy.closed = True
            server.client_gone(proxy)
        self.proxies.clear()

    def send(self, frame: list) -> None:
        if self.closed:
            return
        if not self.out:
            self.hub.flush_soon(self)
        self.out.append(msgpack.packb(frame, use_bin_type=True))

    def flush(self) -> None:
        if self.out and self.transport is not None and not self.closed:
            data = b"".join(self.out)
            self.out = []
            self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        self.unpacker.feed(data)
        self._run_frames()

    def _run_frames(self) -> None:
        """The frames that arrived, for up to PEER_SLICE_S: a read of 256 KB holds
        thousands of requests; the rest waits for the next turn, after the other clients
        (reading pauses meanwhile)."""
        hub = self.hub
        hub.server.begin_turn()
        deadline = time.perf_counter() + PEER_SLICE_S
        for n, frame in enumerate(self.unpacker, 1):
            if not n & 63 and time.perf_counter() > deadline:
                self._dispatch(frame)
                if not self._sliced:
                    self._sliced = True
                    if self.transport is not None:
                        self.transport.pause_reading()
                asyncio.get_running_loop().call_soon(self._run_frames)
                return
            self._dispatch(frame)
        if self._sliced:
            self._sliced = False
            if self.transport is not None and not self.closed:
                self.transport.resume_reading()

    def _dispatch(self, frame: list) -> None:
        if self.closed:
            return
        hub = self.hub
        kind = frame[0]
        if kind == REQUEST:
            self.request_frame(frame)
        elif kind == REPLY:
            hub.replied(frame[1], frame[2])
        elif kind == GONE:
            proxy = self.proxies.pop(frame[1], None)
            if proxy is not None:
                proxy.closed = True
                hub.server.client_gone(proxy)
        elif kind == NOTIFY:
            hub.notified(frame[1], frame[2])

    def request_frame(self, frame: list) -> None:
        _, req_id, origin_id, db, proto, argvs, peer, quiet = frame
        server = self.hub.server
        proxy = self.proxies.get(origin_id)
        if proxy is None:
            proxy = self.proxies[origin_id] = ProxyClient(server, self, origin_id)
        elif proxy.closed:
            return
        if proxy.req_id is not None:  # the previous request is not answered yet
            proxy.backlog.append(frame)
            return
        if proxy.dbindex != db:
            proxy.dbindex = db
            proxy.db = server.database(db)
        proxy.proto = proto
        # The client's address and name: MONITOR, SLOWLOG, DEBUG's local check.
        proxy.peer, name = peer
        proxy.name = name or None
        proxy.req_id = req_id
        proxy.quiet = quiet
        blocking = server.blocking
        if len(argvs) == 1 and not quiet and self._run_in_core(proxy, argvs[0]):
            if blocking.ready:
                blocking.serve_ready()
            return
        dispatch = server.dispatcher.call
        reply = b""
        for i, argv in enumerate(argvs):
            # Several argvs: MULTI ... EXEC, whose MULTI was accounted where the client is.
            proxy.quiet = quiet or (i == 0 and len(argvs) > 1)
            reply = dispatch(proxy, argv)
            if blocking.ready:
                blocking.serve_ready()
        proxy.quiet = quiet
        if proxy.blocked is None and proxy.postponed is None and proxy.sliced is None:
            proxy.write(reply)

    def _run_in_core(self, proxy: ProxyClient, argv: list[bytes]) -> bool:
        """Run one forwarded command through the command core (cext/core.pyx), as the
        client's own worker would have. -> False: the core left it to the dispatcher."""
        core = self.hub.server.core
        if core is None:
            return False
        frame = encode_command(argv)
        if len(frame) > CORE_FRAME_MAX:
            return False
        parser = self.parser
        parser.feed(frame)
        out: list[bytes] = []
        core.run(proxy, parser, out)
        if not out:
            parser.gets()  # declined: its frame goes, the dispatcher runs argv
            return False
        proxy.write(out[0])
        return True


class PeerHub:
    """This worker's end of the channel: the listening socket, links to the other workers,
    and the requests waiting for their replies."""

    def __init__(self, server: Server, index: int, count: int, coordinator_pid: int) -> None:
        self.server = server
        self.index = index
        self.count = count
        self.coordinator_pid = coordinator_pid
        self.port = server.config.get_int("port")
        self._links: dict[int, PeerLink] = {}
        self._connecting: dict[int, asyncio.Task] = {}
        self._queued: dict[int, list[list]] = {}  # frames waiting for a link
        self._pending: dict[int, tuple[PeerLink | int, ReplyHandler]] = {}
        self._ids = itertools.count(1)
        # Links with frames queued in this turn: the end of the turn flushes them.
        self.dirty: list[PeerLink] = []
        self._server: asyncio.AbstractServer | None = None
        self.links: set[PeerLink] = set()  # every open link, made or accepted
        self.notify_handlers: dict[str, Callable[[object], None]] = {
            "unblock": self._unblock,
            "degrade": server.syncmode.degrade_from_peer,
            "monitoring": server.remote_monitoring,
            "monitor": server.remote_monitor_line,
            "dirty": self._client_dirty,
        }

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        # The socket is made here: uvloop refuses abstract names given as a path.
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(socket_name(self.coordinator_pid, self.port, self.index))
        sock.listen(128)
        sock.setblocking(False)
        self._server = await loop.create_unix_server(lambda: PeerLink(self), sock=sock)

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for link in list(self._links.values()):
            if link.transport is not None:
                link.transport.abort()

    # ---- sending ----

    def flush_soon(self, link: PeerLink) -> None:
        """Frames for link were queued: they leave at the end of the turn, with the other
        output (Server.end_turn), one write per link."""
        if not self.dirty:
            self.server.begin_turn()
        self.dirty.append(link)

    def flush(self) -> None:
        dirty, self.dirty = self.dirty, []
        for link in dirty:
            link.flush()

    def request(
        self,
        worker: int,
        client_id: int,
        db: int,
        proto: int,
        argvs: list,
        done: ReplyHandler,
        peer: list | None = None,
        quiet: bool = False,
    ) -> None:
        """Run argvs on worker for our client client_id; done(reply bytes) when answered,
        done(None) if the worker went away first (the outcome is unknown). quiet: a piece
        of a command this worker accounts for (stats, SLOWLOG, MONITOR) itself."""
        req_id = next(self._ids)
        self._pending[req_id] = (worker, done)
        who = peer or ["", b""]
        self._send(worker, [REQUEST, req_id, client_id, db, proto, argvs, who, quiet])

    def gone(self, worker: int, client_id: int) -> None:
        link = self._links.get(worker)
        if link is not None:
            link.send([GONE, client_id])

    def notify(self, worker: int, kind: str, payload: object) -> None:
        self._send(worker, [NOTIFY, kind, payload])

    def _client_dirty(self, payload: object) -> None:
        """A key our client WATCHes on another worker changed (shown as flags=d)."""
        c = self.server.clients.get(payload)  # type: ignore[arg-type]
        if c is not None and c.tx.worker is not None:
            c.tx.dirty_cas = True

    def _unblock(self, payload: object) -> None:
        """CLIENT UNBLOCK from the worker of a client whose proxy is blocked here."""
        origin_id, error = payload  # type: ignore[misc]
        for link in self.links:
            proxy = link.proxies.get(origin_id)
            if proxy is not None and proxy.blocked is not None:
                self.server.blocking.unblock(proxy, error)

    def _send(self, worker: int, frame: list) -> None:
        link = self._links.get(worker)
        if link is not None and not link.closed:
            link.send(frame)
            return
        self._queued.setdefault(worker, []).append(frame)
        if worker not in self._connecting:
            self._connecting[worker] = asyncio.get_running_loop().create_task(self._connect(worker))

    async def _connect(self, worker: int) -> None:
        loop = asyncio.get_running_loop()
        name = socket_name(self.coordinator_pid, self.port, worker)
        deadline = loop.time() + CONNECT_PATIENCE_S
        try:
            while True:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    sock.connect(name)  # a local socket: accepted or refused at once
                    sock.setblocking(False)
                    _, link = await loop.create_unix_connection(
                        lambda: PeerLink(self, worker), sock=sock
                    )
                    break
                except OSError as e:
                    sock.close()
                    if loop.time() > deadline:
                        log.warning(f"worker {worker} unreachable: {e}")
                        self._fail_queued(worker)
                        return
                    await asyncio.sleep(0.05)
            self._links[worker] = link
            for frame in self._queued.pop(worker, []):
                link.send(frame)
        finally:
            self._connecting.pop(worker, None)

    def _fail_queued(self, worker: int) -> None:
        for frame in self._queued.pop(worker, []):
            if frame[0] == REQUEST:
                entry = self._pending.pop(frame[1], None)
                if entry is not None:
                    entry[1](None)

    # ---- receiving ----

    def replied(self, req_id: int, data: bytes) -> None:
        entry = self._pending.pop(req_id, None)
        if entry is not None:
            entry[1](data)

    def notified(self, kind: str, payload: object) -> None:
        handler = self.notify_handlers.get(kind)
        if handler is not None:
            core = self.server.core
            if core is not None:
                core.sync()  # a notice may change what the core checks (CONFIG SET)
            try:
                handler(payload)
            except Exception:  # a bug here must not cut the link (and its requests)
                log.warning(f"Internal error handling a '{kind}' notice: {traceback.format_exc()}")

    def link_lost(self, link: PeerLink) -> None:
        worker = link.remote_index
        if worker >= 0 and self._links.get(worker) is link:
            del self._links[worker]
            log.warning(f"Lost the link to worker {worker}")
            # Requests in flight on it: executed or not, nobody can tell.
            for req_id, (w, done) in list(self._pending.items()):
                if w == worker and not any(f[1] == req_id for f in self._queued.get(w, [])):
                    del self._pending[req_id]
                    done(None)
