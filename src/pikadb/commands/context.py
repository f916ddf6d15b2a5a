"""What a command handler may use: the calling client and the server it runs in.

Handlers are called as handler(c, argv) after the dispatcher has applied every policy
(lookup, auth, arity, MULTI queueing, read-only replica, routing), and return a reply
value for pikadb.protocol.encode (bytes, int, None, list, dict, Status, ...) or raise
pikadb.errors.CommandError. These Protocols describe the objects without importing the
server package (import direction: server -> commands -> storage).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from pikadb.config import Config
    from pikadb.storage.engine import Database, Engine


class ServerContext(Protocol):
    """Everything of the server a handler reaches through c.server (server/server.py is the
    implementation). The services are the server's objects; each line says what for."""

    # storage and configuration
    engine: Engine
    config: Config

    def database(self, index: int) -> Database:
        """Storage handle for logical db `index` (already range-checked by the caller)."""
        ...

    # clients and what they wait for
    clients: dict[int, Any]  # id -> connection (CLIENT LIST / KILL / UNBLOCK, INFO)
    blocking: Any  # server/blocking.py: BLPOP & co, CLIENT UNBLOCK, SWAPDB's re-keying
    watches: Any  # server/multi.py: WATCHed keys (WATCH, UNWATCH, FLUSH*, SWAPDB)
    pubsub: Any  # server/pubsub.py: channels, patterns, PUBLISH
    syncmode: Any  # server/syncmode.py: CLIENT PAUSE, WAIT, sync mode's INFO lines
    router: Any  # server/routing.py (several workers): CLIENT UNBLOCK on another worker
    worker: Any  # this worker among several (None with one worker)
    dispatcher: Any  # server/dispatch.py: EXEC runs its queue through it; commandstats
    monitored: bool
    requirepass: str
    maxclients: int
    hz: int

    def add_monitor(self, c: Client) -> None: ...
    def remove_monitor(self, c: Client) -> None: ...
    def feed_monitors(self, c: Client, argv: list[bytes]) -> None: ...

    # figures
    stats: Any  # server/stats.py: INFO stats counters
    slowlog: Any  # server/slowlog.py
    latency: Any  # server/latency.py: LATENCY's events
    loopstats: Any  # server/loopstats.py: INFO's eventloop_* fields
    start_time: float
    lastsave: int
    run_id: str

    # replication
    replica_of: Any  # replication/replica.py ReplicaSide while a replica, else None
    repl_master: Any  # replication/master.py MasterSide: the replica links
    replid: str
    replid2: str
    second_repl_offset: int

    def become_replica(self, host: str, port: int) -> bool: ...
    def become_master(self) -> None: ...
    def hand_off(self, c: Client, worker: int, argv: list[bytes]) -> None: ...

    # the process
    def begin_turn(self) -> None: ...
    def next_turn(self, callback: Any, *args: Any) -> None:
        """Work spanning turns (KEYS slices) goes on in a turn of its own."""
        ...

    def request_shutdown(self, exit_code: int = 0) -> None: ...


class Client(Protocol):
    id: int
    server: ServerContext
    db: Database  # the selected logical database
    dbindex: int
    proto: int  # 2 or 3
    name: bytes | None
    argv: list[bytes]  # the command being executed (for error texts that quote it)
    now: int  # ms since the epoch, read once per command by the dispatcher
