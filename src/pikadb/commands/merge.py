"""Combining the replies of every worker to one command (several workers: server/routing.py).

A command whose route is Route.MERGE runs on every worker; its `merge` function (declared
with the command in the table) gets the workers' replies, parsed, in worker order, and
returns the server's reply. The generic merges are here; a command's own merge sits beside
the command (INFO: info_merge.py, ROLE: replication.py, CLIENT LIST: connection.py, ...).
"""

from __future__ import annotations

import random
from typing import Any

from pikadb.protocol import ErrorReply, Status
from pikadb.replies import ReplyError


def to_reply(value: Any) -> Any:
    """A parsed RESP2 reply back into what encode() takes."""
    if isinstance(value, ReplyError):
        return ErrorReply(str(value))
    if isinstance(value, str):
        return Status(value)
    if isinstance(value, list):
        return [to_reply(v) for v in value]
    return value


def merge_sum(parts: list[Any]) -> Any:
    return sum(parts)


def merge_max(parts: list[Any]) -> Any:
    return max(parts)


def merge_random(parts: list[Any]) -> Any:
    found = [p for p in parts if p is not None]
    return random.choice(found) if found else None


def merge_distinct(parts: list[Any]) -> Any:
    return list(dict.fromkeys(x for p in parts for x in p))
