"""INFO over several workers (server/routing.py runs INFO on every worker): the server's
INFO from the workers' texts. Counters add up, figures of the whole process are taken once,
keyspace / commandstats / errorstats lines are merged per name, and INFO replication's
stream positions are summed over the workers' shards.
"""

from __future__ import annotations

import re
from typing import Any

from pikadb.protocol import Verbatim

# INFO fields that are per-worker counts: the server's figure is their sum.
_INFO_SUMS = frozenset(
    [
        "connected_clients",
        "blocked_clients",
        "tracking_clients",
        "clients_in_timeout_table",
        "pubsub_clients",
        "watching_clients",
        "total_blocking_keys",
        "total_watched_keys",
        "total_connections_received",
        "total_commands_processed",
        "command_core_calls",
        "instantaneous_ops_per_sec",
        "total_net_input_bytes",
        "total_net_output_bytes",
        "total_net_repl_input_bytes",
        "total_net_repl_output_bytes",
        "rejected_connections",
        "expired_keys",
        "evicted_keys",
        "keyspace_hits",
        "keyspace_misses",
        "pubsub_channels",
        "pubsub_patterns",
        "pubsub_shardchannels",
        "total_error_replies",
        "total_reads_processed",
        "total_writes_processed",
        "used_memory",
        "used_memory_rss",
        "used_memory_peak",
        "rocksdb_block_cache_usage",
        "rocksdb_memtables_bytes",
        "key_cache_records",
        "key_cache_used",
        "key_cache_hits",
        "key_cache_misses",
        "binlog_segments",
        "binlog_bytes",
        "binlog_records",
        "eventloop_cycles",
        "eventloop_duration_sum",
        "eventloop_turns_over_100ms",
        "instantaneous_eventloop_cycles_per_sec",
    ]
)
# INFO fields where the server's figure is the worst worker's.
_INFO_MAX = frozenset(["eventloop_max_turn_ms", "instantaneous_eventloop_duration_usec"])
# INFO lines about one shard each: every worker's, in shard order.
_PER_SHARD = re.compile(r"binlog_shard(\d+)$")


def merge_info(parts: list[Any]) -> Any:
    """INFO: this worker's text with the per-worker counts summed; the keyspace, command
    and error statistics of all workers."""
    texts = [p.decode("utf-8", "replace") for p in parts]
    repl = [_section(t, "# Replication") for t in texts]
    if repl[0]:
        merged_repl = _merge_replication(repl)
        texts = [texts[0].replace("\r\n".join(repl[0]), "\r\n".join(merged_repl), 1), *texts[1:]]
    sums: dict[str, int] = {}
    merged: dict[str, dict[str, dict[str, float]]] = {s: {} for s in _MERGED_SECTIONS}
    per_shard: dict[int, str] = {}
    for text in texts:
        section = ""
        for line in text.split("\r\n"):
            if line.startswith("# "):
                section = line
                continue
            name, sep, value = line.partition(":")
            if not sep:
                continue
            m = _PER_SHARD.match(name)
            if m:
                per_shard[int(m.group(1))] = line
            elif section in merged:
                fields = merged[section].setdefault(name, {})
                for f in value.split(","):
                    k, _, v = f.partition("=")
                    try:
                        num = float(v)
                    except ValueError:
                        continue
                    fields[k] = (
                        max(fields.get(k, 0.0), num)
                        if k == "avg_ttl"
                        else (fields.get(k, 0.0) + num)
                    )
            elif name in _INFO_SUMS or name in _INFO_MAX:
                try:
                    v = int(value)
                except ValueError:
                    continue
                if name in _INFO_MAX:
                    sums[name] = max(sums.get(name, v), v)
                else:
                    sums[name] = sums.get(name, 0) + v
    out = []
    section = ""
    for line in texts[0].split("\r\n"):
        if section in merged and (not line or line.startswith("# ")):
            out.extend(_merged_lines(section, merged[section]))  # every worker's lines
            section = ""
        if line.startswith("# "):
            section = line
            out.append(line)
            continue
        name, sep, _ = line.partition(":")
        if section in merged and sep:
            continue
        if _PER_SHARD.match(name):
            if per_shard:  # all of them where the first was
                out.extend(per_shard[i] for i in sorted(per_shard))
                per_shard = {}
            continue
        if sep and name in sums:
            line = f"{name}:{sums[name]}"
        out.append(line)
    if section in merged:
        out.extend(_merged_lines(section, merged[section]))
    return Verbatim("\r\n".join(out))


def _section(text: str, header: str) -> list[str]:
    """The lines of one INFO section after its header ([] when absent)."""
    lines = text.split("\r\n")
    if header not in lines:
        return []
    start = lines.index(header) + 1
    end = start
    while end < len(lines) and lines[end] and not lines[end].startswith("# "):
        end += 1
    return lines[start:end]


# INFO sections whose lines are name:field=value,... and add up over workers.
_MERGED_SECTIONS = ("# Keyspace", "# Commandstats", "# Errorstats")


def _merged_lines(section: str, entries: dict[str, dict[str, float]]) -> list[str]:
    if section == "# Keyspace":
        return [
            f"{db}:keys={int(f['keys'])},expires={int(f['expires'])},avg_ttl={int(f['avg_ttl'])}"
            for db, f in sorted(entries.items(), key=lambda kv: int(kv[0][2:]))
        ]
    if section == "# Errorstats":
        return [f"{name}:count={int(f['count'])}" for name, f in sorted(entries.items())]
    out = []
    for name, f in entries.items():
        calls = int(f.get("calls", 0))
        usec = int(f.get("usec", 0))
        per_call = usec / calls if calls else 0.0
        out.append(
            f"{name}:calls={calls},usec={usec},usec_per_call={per_call:.2f},"
            f"rejected_calls={int(f.get('rejected_calls', 0))},"
            f"failed_calls={int(f.get('failed_calls', 0))}"
        )
    return out


# INFO replication: figures of each worker's shards that add up, and "no offset" (-1) aware
# sums of stream positions that count from 1.
_REPL_SUMS = frozenset(
    [
        "slave_read_repl_offset",
        "slave_repl_offset",
        "master_repl_offset",
        "repl_backlog_size",
        "repl_backlog_histlen",
        "master_sync_total_bytes",
        "master_sync_read_bytes",
        "master_sync_left_bytes",
        "sync_replies_waiting",
        "sync_timeouts",
    ]
)
_REPL_FROM_ONE = frozenset(["second_repl_offset", "repl_backlog_first_byte_offset"])
_REPL_MAX = frozenset(
    ["master_sync_in_progress", "master_link_down_since_seconds", "master_sync_last_io_seconds_ago"]
)


def _repl_value(name: str, values: list[str]) -> str:
    if name == "replication_mode_effective":  # a degraded worker degrades the server
        return "async" if "async" in values else values[0]
    try:
        nums = [int(v) for v in values]
    except ValueError:
        return values[0]
    if name in _REPL_SUMS:
        return str(sum(nums))
    if name in _REPL_FROM_ONE:
        known = [n for n in nums if n > 0]
        return str(sum(n - 1 for n in known) + 1) if known else str(nums[0])
    if name in _REPL_MAX:
        return str(max(nums))
    if name == "master_last_io_seconds_ago":
        return "-1" if -1 in nums else str(max(nums))
    if name in ("acked_replicas",):
        return str(min(nums))
    return values[0]


def _merge_replication(sections: list[list[str]]) -> list[str]:
    """INFO replication of every worker as one server's: the local worker's lines, in
    order, with the figures merged and each replica listed once (its links summed)."""
    fields = [dict(ln.split(":", 1) for ln in sec if ":" in ln) for sec in sections]
    base = sections[0]
    if len({f.get("role") for f in fields}) != 1:
        return base
    replicas: dict[tuple[str, str], list[int]] = {}
    for f in fields:
        for k, v in f.items():
            if k.startswith("slave") and k[5:].isdigit():
                d = dict(x.split("=", 1) for x in v.split(",") if "=" in x)
                entry = replicas.setdefault((d.get("ip", ""), d.get("port", "")), [0, 0])
                entry[0] += int(d.get("offset", 0))
                entry[1] = max(entry[1], int(d.get("lag", 0)))
    down = any(f.get("master_link_status") == "down" for f in fields)
    out: list[str] = []
    for line in base:
        name, sep, value = line.partition(":")
        if not sep or (name.startswith("slave") and name[5:].isdigit()):
            if not sep:
                out.append(line)
            continue
        if name == "connected_slaves":
            out.append(f"connected_slaves:{len(replicas)}")
            out += [
                f"slave{i}:ip={ip},port={port},state=online,offset={off},lag={lag}"
                for i, ((ip, port), (off, lag)) in enumerate(replicas.items())
            ]
            continue
        if name == "master_link_status":
            value = "down" if down else "up"
        elif name == "slave_priority" and down:
            # A worker's link is down while the local one is up: say since when.
            since = [
                f["master_link_down_since_seconds"]
                for f in fields
                if "master_link_down_since_seconds" in f
            ]
            if since and not any(ln.startswith("master_link_down_since") for ln in out):
                value_since = _repl_value("master_link_down_since_seconds", since)
                out.append(f"master_link_down_since_seconds:{value_since}")
        elif name == "master_sync_perc":
            # Of the transfers together (a worker may not have started its own yet).
            total, read = (
                sum(int(f.get(k, "0")) for f in fields)
                for k in ("master_sync_total_bytes", "master_sync_read_bytes")
            )
            value = f"{100.0 * read / total:.2f}" if total else "0.00"
        else:
            # A worker without the line (no transfer of its own) adds nothing to a sum.
            default = "0" if name in _REPL_SUMS and name.startswith("master_sync") else value
            value = _repl_value(name, [f.get(name, default) for f in fields])
        out.append(f"{name}:{value}")
    return out
