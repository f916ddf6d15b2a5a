"""The replica side of replication (the server's role changes that start and stop it are
server/roles.py).

ReplicaSide keeps one link to the master alive: connect, handshake (AUTH, REPLCONF
listening-port / ip-address / capa, then PIKASYNC with the last applied id of every
shard), apply the streamed records (Shard.apply_received: the records' ops and the applied
position in one RocksDB batch, the same bytes into the local binlog), acknowledge them
(REPLCONF ACK <shard> <id> <offset> after each read and every second), and reconnect with
backoff (0.1 s doubling to 2 s) after any drop. The applied ids live in RocksDB with the
data, so a restarted replica resumes where it stopped without copying anything.

The link (MasterLink) is a protocol object: a transport, a RESP parser and the handshake /
stream state. The server it runs in is reached through ReplicaServer (below): the engine,
the configuration, the turn, the stats, and link_opened / link_closed, through which the
server shows the link in CLIENT LIST (flags=M) and lets CLIENT KILL TYPE master close it
(the side then reconnects), as in Redis.
"""

from __future__ import annotations

import asyncio
import time
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from pikadb import errors
from pikadb.binlog_codec import BinlogError
from pikadb.errors import CommandError, StorageFullError
from pikadb.log import log
from pikadb.protocol import Parser, encode_command
from pikadb.replication.fullsync import FullSyncError, FullSyncReceiver

if TYPE_CHECKING:
    from pikadb.config import Config
    from pikadb.storage.engine import Engine
    from pikadb.storage.shard import Shard

BACKOFF_MIN = 0.1
BACKOFF_MAX = 2.0
CONNECT_TIMEOUT = 5.0
MASTERDOWN = "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
_MAX_LINE = 64 << 10
# Seconds of record applying per loop turn: past it the rest waits in the parser (reading
# paused) so the replica keeps serving its clients under a heavy stream.
APPLY_BUDGET = 0.01
# Record bytes applied in one write at most (a turn's run is usually smaller).
APPLY_RUN = 1 << 20


class LinkState(StrEnum):
    """A channel's link to the master, as Redis's REPL_STATE_* (ROLE shows the value)."""

    CONNECT = "connect"  # not connected: waiting to (re)connect
    CONNECTING = "connecting"  # the TCP connection is being made
    SYNC = "sync"  # handshake, PIKASYNC, or a full sync in progress
    CONNECTED = "connected"  # streaming records


# The worst state first: what several channels show as one.
_WORST_FIRST = (LinkState.CONNECT, LinkState.CONNECTING, LinkState.SYNC, LinkState.CONNECTED)


class ReplicaServer(Protocol):
    """What the replica side needs of the server that runs it."""

    engine: Engine
    config: Config
    stats: Any  # total_net_input_bytes, total_net_output_bytes, total_writes_processed

    def begin_turn(self) -> None:
        """Work starts running on the event loop (Server.end_turn ends it)."""
        ...

    def link_opened(self, link: MasterLink) -> None:
        """A link to the master connected: a connection CLIENT LIST shows."""
        ...

    def link_closed(self, link: MasterLink) -> None: ...


class ReplicaSide:
    """This server replicates host:port, over one Channel per group of shards the master
    serves on one connection: every shard this process owns, unless the master's workers
    own them in other groups and ask for one connection per group (-PIKASPLIT)."""

    def __init__(self, server: ReplicaServer, host: str, port: int) -> None:
        self.server = server
        self.host = host
        self.port = port
        self.master_replid = ""
        self.channels = [Channel(self, [s.index for s in server.engine.shards])]
        self._stopped = False

    # ---- lifecycle ----

    def start(self) -> None:
        for ch in self.channels:
            ch.start()

    def stop(self) -> None:
        self._stopped = True
        for ch in self.channels:
            ch.stop()

    def split(self, ch: Channel, groups: list[list[int]]) -> bool:
        """The master serves ch's shards in these groups, one connection each."""
        mine = sorted(ch.shards)
        if self._stopped or ch not in self.channels or sorted(i for g in groups for i in g) != mine:
            return False
        ch.stop()
        i = self.channels.index(ch)
        new = [Channel(self, g) for g in groups]
        self.channels[i : i + 1] = new
        log.notice(f"MASTER <-> REPLICA sync: the master serves shards {groups} apart")
        for n in new:
            n.start()
        return True

    # ---- the channels together ----

    @property
    def link_up(self) -> bool:
        return all(ch.link_up for ch in self.channels)

    @property
    def state(self) -> str:
        states = {ch.state for ch in self.channels}
        return next(s for s in _WORST_FIRST if s in states)

    @property
    def ever_up(self) -> bool:
        return all(ch.ever_up for ch in self.channels)

    @property
    def down_since(self) -> float:
        return max((ch.down_since for ch in self.channels if not ch.link_up), default=0.0)

    @property
    def last_io(self) -> float:
        return min(ch.last_io for ch in self.channels)

    @property
    def fullsync(self) -> FullSyncReceiver | None:
        return next((ch.fullsync for ch in self.channels if ch.fullsync is not None), None)

    @property
    def full_sync_reason(self) -> str:
        return next((ch.full_sync_reason for ch in self.channels if ch.full_sync_reason), "")

    def cron(self) -> None:
        for ch in self.channels:
            ch.cron()

    # ---- what the dispatcher asks (server.replica_of is this object on a replica) ----

    def refuse(self, is_write: bool, serves_stale: bool) -> CommandError | None:
        """READONLY for a write, MASTERDOWN while the link is down (replica-serve-stale-data
        no) for a command without the stale flag; None: it may run."""
        cfg = self.server.config
        if is_write and cfg.get_bool("replica-read-only"):
            return CommandError(errors.READONLY)
        if not self.link_up and not serves_stale and not cfg.get_bool("replica-serve-stale-data"):
            return CommandError(MASTERDOWN)
        return None

    # ---- figures ----

    @property
    def offset(self) -> int:
        return self.server.engine.repl_offset


class Channel:
    """One connection to the master for some shards (global indexes), kept alive."""

    def __init__(self, side: ReplicaSide, shards: list[int]) -> None:
        self.side = side
        self.server = side.server
        self.host = side.host
        self.port = side.port
        self.shards = shards
        self.state = LinkState.CONNECT  # set_state() only
        self.link: MasterLink | None = None
        self.link_up = False
        self.down_since = time.monotonic()
        self.ever_up = False
        self.last_io = 0.0
        self.full_sync_reason = ""  # why the master refused incremental sync, last time
        self.fullsync: FullSyncReceiver | None = None  # a full sync in progress
        self._task: asyncio.Task | None = None
        self._stopped = False

    def local_shards(self) -> list[Shard]:
        engine = self.server.engine
        return [engine.slot_shards[i] for i in self.shards]  # type: ignore[misc]

    # ---- lifecycle ----

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> None:
        self._stopped = True
        if self._task is not None:
            self._task.cancel()
            self._task = None
        if self.link is not None and self.link.transport is not None:
            self.link.transport.abort()
        self.link = None
        self.link_up = False

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        delay = BACKOFF_MIN
        while not self._stopped:
            self.set_state(LinkState.CONNECTING)
            log.notice(f"Connecting to MASTER {self.host}:{self.port}")
            try:
                _t, link = await asyncio.wait_for(
                    loop.create_connection(self._new_link, self.host, self.port),
                    CONNECT_TIMEOUT,
                )
            except (TimeoutError, OSError) as e:
                log.warning(f"Error condition on socket for SYNC: {e or type(e).__name__}")
            else:
                self.link = link
                await link.done
                self.link = None
                if link.was_up:
                    delay = BACKOFF_MIN
            self._set_down()
            self.set_state(LinkState.CONNECT)
            if self._stopped:
                return
            await asyncio.sleep(delay)
            delay = min(BACKOFF_MAX, delay * 2)

    def _new_link(self) -> MasterLink:
        # Known at once: its first reply may stop this channel before _run resumes.
        self.link = MasterLink(self)
        return self.link

    # ---- link state ----

    def set_state(self, state: LinkState) -> None:
        if state != self.state:
            log.verbose(f"MASTER <-> REPLICA link {self.shards}: {self.state} -> {state}")
            self.state = state

    def set_up(self, replid: str) -> None:
        self.side.master_replid = replid
        self.link_up = True
        self.ever_up = True
        self.full_sync_reason = ""
        self.set_state(LinkState.CONNECTED)
        self.last_io = time.monotonic()

    def _set_down(self) -> None:
        if self.link_up:
            self.link_up = False
            self.down_since = time.monotonic()

    def cron(self) -> None:
        """Once a second: acknowledge, and time the link out after repl-timeout of silence."""
        link = self.link
        if link is None or not link.streaming:
            return
        if time.monotonic() - self.last_io > self.server.config.get_int("repl-timeout"):
            log.warning("MASTER timeout: no data nor PING received...")
            link.close_now()
            return
        link.send_acks(all_shards=True)


class MasterLink(asyncio.Protocol):
    """The connection to the master: handshake replies first (one line each), then the
    record stream (RESP arrays parsed by the request parser)."""

    def __init__(self, side: Channel) -> None:
        self.side = side
        self.server = server = side.server
        self.parser = Parser(max_bulk=server.config.get_int("proto-max-bulk-len"))
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.peer = f"{side.host}:{side.port}"
        self.local = "?:0"
        self.fd = -1
        self.last_interaction = time.monotonic()
        self._mine = frozenset(side.shards)
        self.done: asyncio.Future = asyncio.get_running_loop().create_future()
        self.was_up = False
        self.streaming = False
        self._replies: list[str] = []  # what each handshake reply is for, in order
        self._line = b""
        self._dirty: set[int] = set()
        self._backlog = False  # frames left in the parser for the next turn

    # ---- asyncio.Protocol ----

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        local = transport.get_extra_info("sockname")
        if isinstance(peer, tuple):
            self.peer = f"{peer[0]}:{peer[1]}"
        if isinstance(local, tuple):
            self.local = f"{local[0]}:{local[1]}"
        sock = transport.get_extra_info("socket")
        self.fd = sock.fileno() if sock is not None else -1
        self.server.link_opened(self)
        side = self.side
        side.set_state(LinkState.SYNC)
        side.last_io = time.monotonic()
        cfg = self.server.config
        cmds: list[list[bytes | str | int]] = []
        user, password = cfg.get("masteruser"), cfg.get("masterauth")
        if password:
            cmds.append(["AUTH", user, password] if user else ["AUTH", password])
            self._replies.append("AUTH")
        port = cfg.get_int("replica-announce-port") or cfg.get_int("port")
        cmds.append(["REPLCONF", "listening-port", port])
        self._replies.append("REPLCONF listening-port")
        ip = cfg.get("replica-announce-ip")
        if ip:
            cmds.append(["REPLCONF", "ip-address", ip])
            self._replies.append("REPLCONF ip-address")
        cmds.append(["REPLCONF", "capa", "pikadb", "capa", "recs"])
        self._replies.append("REPLCONF capa")
        engine = self.server.engine
        term = max(s.binlog.term for s in engine.shards)
        shards = side.local_shards()
        ids = [s.binlog.durable_id for s in shards]
        positions: list[int] = []
        for s in shards:  # the master checks that it has these very records
            b = s.binlog
            positions += [s.index, b.durable_id, b.last_term, b.durable_offset]
        replid = side.side.master_replid or "?"
        cmds.append(["PIKASYNC", replid, term, engine.nshards, *positions])
        self._replies.append("PIKASYNC")
        log.notice(
            f"MASTER <-> REPLICA sync started: asking {side.host}:{side.port} for the records "
            f"after ids {ids} (term {term})"
        )
        self.send(b"".join(encode_command(cmd) for cmd in cmds))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.server.link_closed(self)
        if self.streaming:
            log.warning(f"Connection with master lost ({exc or 'closed'}).")
        self.streaming = False
        receiver = self.side.fullsync
        if receiver is not None:
            self.side.fullsync = None
            receiver.abort()
            log.warning(
                "MASTER <-> REPLICA sync: full sync interrupted after "
                f"{receiver.read}/{receiver.total} bytes; the old data stays in use"
            )
        if not self.done.done():
            self.done.set_result(None)

    def data_received(self, data: bytes) -> None:
        if self.closed or not data:
            return
        self.server.begin_turn()
        self.server.stats.total_net_input_bytes += len(data)
        self.last_interaction = self.side.last_io = time.monotonic()
        if not self.streaming:
            data = self._handshake(data)
            if not self.streaming or not data:
                return
        self.parser.feed(data)
        self._drain()

    def _drain(self) -> None:
        """Apply buffered frames for at most APPLY_BUDGET seconds; the rest next turn, with
        reading paused meanwhile (libuv would otherwise read and hand over up to 32 buffers
        of records in one turn: a second without answering clients)."""
        self.server.begin_turn()
        try:
            more = self._apply_frames(time.monotonic() + APPLY_BUDGET)
        finally:
            self.send_acks()
        transport = self.transport
        if self.closed or transport is None:
            return
        if more:
            if not self._backlog:
                self._backlog = True
                transport.pause_reading()
            asyncio.get_running_loop().call_soon(self._drain)
        elif self._backlog:
            self._backlog = False
            transport.resume_reading()

    # ---- handshake ----

    def _handshake(self, data: bytes) -> bytes:
        """Consume handshake reply lines; -> the bytes after the last one."""
        buf = self._line + data
        while self._replies:
            end = buf.find(b"\r\n")
            if end < 0:
                if len(buf) > _MAX_LINE:
                    self._fail("handshake reply line too long")
                self._line = buf
                return b""
            line, buf = buf[:end].decode("utf-8", "replace"), buf[end + 2 :]
            what = self._replies.pop(0)
            if what == "PIKASYNC":
                return self._sync_reply(line, buf)
            if line.startswith("-"):
                self._fail(f"{what} failed: {line[1:]}")
                return b""
        return b""

    def _sync_reply(self, line: str, rest: bytes) -> bytes:
        side = self.side
        if line.startswith("+CONTINUE"):
            parts = line.split()
            side.set_up(parts[1] if len(parts) > 1 else "")
            self.was_up = self.streaming = True
            log.notice(
                f"MASTER <-> REPLICA sync: incremental sync from {side.host}:{side.port} "
                f"accepted (replid {side.side.master_replid}): no full sync needed"
            )
            self._dirty.update(side.shards)
            return rest
        if line.startswith("+FULLRESYNC"):
            parts = line.split()
            try:
                replid, term = parts[1], int(parts[2])
                side.fullsync = FullSyncReceiver(self.server.engine, replid, term, side.shards)
            except (IndexError, ValueError, OSError) as e:
                self._fail(f"cannot start the full sync ({line}): {e}")
                return b""
            side.full_sync_reason = "full sync in progress"
            log.notice(
                f"MASTER <-> REPLICA sync: full sync from {side.host}:{side.port} "
                f"(replid {replid}, term {term}): receiving the master's checkpoint"
            )
            self.streaming = True
            return rest
        if line.startswith("-PIKASPLIT "):
            # The master's workers own these shards in groups: one connection per group.
            try:
                groups = [[int(i) for i in g.split(",")] for g in line.split()[1:]]
            except ValueError:
                groups = []
            if not side.side.split(side, groups):
                self._fail(f"cannot follow the master's shard groups: {line}")
            self.close_now()  # the channels of the groups have their own links
            return b""
        if line.startswith("-FULLSYNC"):
            side.full_sync_reason = line[1:]
            log.warning(
                f"MASTER <-> REPLICA sync: the master requires a full sync ({line[1:]}) "
                "it cannot do: the link stays down and the replica retries"
            )
        else:
            log.warning(f"MASTER <-> REPLICA sync: PIKASYNC refused by the master: {line}")
        self.close_now()
        return b""

    def _fail(self, why: str) -> None:
        log.warning(f"MASTER <-> REPLICA sync: {why}")
        self.close_now()

    # ---- the stream ----

    def _apply_frames(self, deadline: float) -> bool:
        """Apply the parsed frames, each shard's run of records in one write (one binlog
        append, one RocksDB batch). -> whether frames are left (the deadline passed)."""
        mine = self._mine
        parser = self.parser
        runs: dict[int, list[bytes]] = {}
        queued = 0
        more = False
        while not self.closed:
            if time.monotonic() > deadline:
                more = True
                break
            argv = parser.gets()
            if argv is None:
                break
            if self.side.fullsync is not None:
                self._full_sync_frame(argv)
                continue
            kind = argv[0]
            if (kind != b"rec" and kind != b"recs") or len(argv) != 3:
                continue  # PING (keeps last_io fresh) or something newer: nothing to do
            index = int(argv[1])
            if index not in mine:
                self._fail(f"the master sent a record of shard {index}, not asked for")
                return False
            run = runs.get(index)
            if run is None:
                run = runs[index] = []
            run.append(argv[2])
            queued += len(argv[2])
            if queued >= APPLY_RUN:
                if not self._apply_runs(runs):
                    return False
                queued = 0
        if not self._apply_runs(runs):
            return False
        return more

    def _apply_runs(self, runs: dict[int, list[bytes]]) -> bool:
        shards = self.server.engine.slot_shards
        for index, run in runs.items():
            try:
                shards[index].apply_received(run)  # type: ignore[union-attr]
            except BinlogError as e:
                # A gap or an offset mismatch: this replica's history is not the master's.
                self.side.full_sync_reason = f"history diverged: {e}"
                self._fail(f"cannot apply a record of shard {index}: {e} (full sync needed)")
                return False
            except StorageFullError as e:
                self._fail(f"cannot apply a record of shard {index}: {e}")
                return False
            self._dirty.add(index)
        runs.clear()
        return True

    def _full_sync_frame(self, argv: list[bytes]) -> None:
        side = self.side
        receiver = side.fullsync
        assert receiver is not None
        try:
            positions = receiver.feed(argv)
            if positions is None:
                return
            side.fullsync = None
            receiver.swap_in(positions)
        except (FullSyncError, OSError, ValueError) as e:
            side.fullsync = None
            receiver.abort()
            self._fail(f"full sync failed: {e}; the old data stays in use")
            return
        except Exception as e:  # StorageError / rocksdict errors reopening the shards
            side.fullsync = None
            receiver.abort()
            self._fail(f"full sync failed while swapping the shards in: {e}")
            return
        side.set_up(receiver.replid)
        self.was_up = True
        self._dirty.update(side.shards)

    def send_acks(self, all_shards: bool = False) -> None:
        if not self.streaming or self.transport is None or self.side.fullsync is not None:
            return
        shards = self.server.engine.slot_shards
        which = self.side.shards if all_shards else sorted(self._dirty)
        self._dirty.clear()
        out = []
        for i in which:
            b = shards[i].binlog  # type: ignore[union-attr]
            out.append(encode_command(["REPLCONF", "ACK", i, b.durable_id, b.durable_offset]))
        if out:
            self.send(b"".join(out))

    def send(self, data: bytes) -> None:
        if self.transport is not None and not self.closed:
            stats = self.server.stats
            stats.total_net_output_bytes += len(data)
            stats.total_writes_processed += 1
            self.transport.write(data)

    def close(self) -> None:
        """CLIENT KILL: close; the channel reconnects."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def close_now(self) -> None:
        self.streaming = False
        if self.transport is not None:
            self.transport.abort()
