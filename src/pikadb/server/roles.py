"""The server's replication role changes: REPLICAOF host port (become a replica of host:port,
through pikadb.replication.replica) and REPLICAOF NO ONE (promotion).

While the server is a replica the engine never expires keys on its own (no active expiry,
no deletion on read): the master's deletions arrive as records; reads still hide expired
keys. Promotion gives every shard binlog a new term (history kept, so other replicas of the
old master continue incrementally here), a new replication id with the old one as
master_replid2, and expiry back on.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from pikadb.log import log
from pikadb.replication.replica import ReplicaSide

if TYPE_CHECKING:
    from pikadb.server.server import Server


def become_replica(server: Server, host: str, port: int) -> bool:
    """REPLICAOF host port. -> False when already replicating exactly that master."""
    side = server.replica_of
    if side is not None and side.host == host and side.port == port:
        return False
    if side is not None:
        side.stop()
    else:
        log.notice("Before turning into a replica, using my own master parameters...")
    engine = server.engine
    engine.lazy_expire_on_read = False
    engine.active_expire_enabled = False
    server.config.values["replicaof"] = f"{host} {port}"
    side = server.replica_of = ReplicaSide(server, host, port)
    log.notice(f"REPLICAOF {host}:{port} enabled")
    side.start()
    return True


def become_master(server: Server) -> None:
    """REPLICAOF NO ONE: promotion (nothing to do on a master)."""
    side = server.replica_of
    if side is None:
        return
    side.stop()
    server.replica_of = None
    server.config.values["replicaof"] = ""
    engine = server.engine
    # Records written from now on carry a new term: this history branches off here.
    term = max(s.binlog.term for s in engine.shards) + 1
    for s in engine.shards:
        s.binlog.set_term(term)
    server.replid2 = side.master_replid or server.replid
    # Derived, not drawn: every worker of this server promotes its own shards at once and
    # must name the new history the same.
    seed = f"{server.run_id}:{server.replid2}:{term}".encode()
    server.replid = hashlib.sha1(seed).hexdigest()
    server.second_repl_offset = engine.repl_offset + 1
    engine.lazy_expire_on_read = True
    engine.active_expire_enabled = True
    log.notice(
        f"MASTER MODE enabled (user request): term {term}, new replication id "
        f"{server.replid}, previous id {server.replid2} valid up to offset "
        f"{server.second_repl_offset - 1}"
    )
