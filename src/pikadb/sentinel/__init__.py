"""pika-sentinel: a Redis-Sentinel-compatible monitor and failover manager (pure asyncio).

Module map: config (sentinel.conf load/rewrite), link (connections to instances), instance
(per-instance state and flags), monitor (PING/INFO/hello cadence and reactions), detect
(SDOWN/ODOWN, is-master-down-by-addr), election (votes and leader), failover (the state
machine), events (event publication, logging, scripts), core (global state), timer (the tick
that drives monitor, detect and failover), table/api/commands (the command set), pubsub,
server (the listening side), main (the CLI).
"""
