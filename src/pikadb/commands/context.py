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
    engine: Engine
    config: Config
    stats: Any  # pikadb.server.stats.Stats
    start_time: float

    def database(self, index: int) -> Database:
        """Storage handle for logical db `index` (already range-checked by the caller)."""
        ...


class Client(Protocol):
    id: int
    server: ServerContext
    db: Database  # the selected logical database
    dbindex: int
    proto: int  # 2 or 3
    name: bytes | None
    argv: list[bytes]  # the command being executed (for error texts that quote it)
    now: int  # ms since the epoch, read once per command by the dispatcher
