"""pika-sentinel over pikad: three sentinels monitor a pikad master with two pikad replicas
(replication over the binlog, tests/integration/test_replication.py) and discover the
master's address, the replicas and each other from pikad's INFO replication and hellos.
No failover in this slice (full sync, which a failed-over old master may need, is next).
"""

from __future__ import annotations

from helpers.servers import start_replicated_group
from interop.support import MASTER, master_addr, wait_discovered


def test_sentinels_discover_a_pikad_group(pikad_factory, sentinels):
    master, r1, r2 = start_replicated_group(pikad_factory, replicas=2)
    clients = [sentinels.client(s) for s in sentinels(master, 3)]
    wait_discovered(clients, 3)
    for c in clients:
        assert master_addr(c) == (master.host, master.port)
        replicas = c.sentinel_slaves(MASTER)  # redis-py parses each into a dict
        assert sorted(int(r["port"]) for r in replicas) == sorted([r1.port, r2.port])
        for r in replicas:
            assert r["master-link-status"] == "ok"
            assert r["is_slave"] and not r["is_sdown"]
            assert int(r["master-port"]) == master.port
