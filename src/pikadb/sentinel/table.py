"""The sentinel's command table: names, arities, flags, ACL categories and tips as Redis 7.0
in sentinel mode reports them in COMMAND INFO (read off Debian's redis-sentinel 7.0.15), each
with its handler. Containers (CLIENT, COMMAND, SENTINEL) hold subcommands; a container's own
handler, if any, runs when it is called without a subcommand (COMMAND).

Only implemented commands are registered: anything else gets Redis's unknown-command or
unknown-subcommand error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pikadb.protocol import RawReply, Status, encode

Handler = Callable[..., Any]


@dataclass
class Cmd:
    name: str  # full name, 'sentinel|set'
    arity: int
    flags: tuple[str, ...]
    acl: tuple[str, ...]
    tips: tuple[str, ...] = ()
    handler: Handler | None = None
    subcommands: dict[str, Cmd] = field(default_factory=dict)

    def arity_ok(self, argc: int) -> bool:
        return argc == self.arity if self.arity >= 0 else argc >= -self.arity

    @property
    def no_auth(self) -> bool:
        return "no_auth" in self.flags

    @property
    def pubsub_context_ok(self) -> bool:
        # What RESP2 clients may send while subscribed.
        return self.name in ("ping", "subscribe", "unsubscribe", "psubscribe", "punsubscribe")


COMMANDS: dict[str, Cmd] = {}


def command(
    name: str, arity: int, flags: str, acl: str, tips: str = ""
) -> Callable[[Handler], Handler]:
    """Register a handler under `name` ('ping' or 'client|kill')."""

    def register(fn: Handler) -> Handler:
        cmd = Cmd(name, arity, tuple(flags.split()), tuple(acl.split()), tuple(tips.split()), fn)
        if "|" in name:
            parent, sub = name.split("|", 1)
            COMMANDS[parent].subcommands[sub] = cmd
        else:
            COMMANDS[name] = cmd
        return fn

    return register


def container(name: str, arity: int, flags: str, acl: str, tips: str = "") -> Cmd:
    cmd = Cmd(name, arity, tuple(flags.split()), tuple(acl.split()), tuple(tips.split()))
    COMMANDS[name] = cmd
    return cmd


def find(name: str) -> Cmd | None:
    """A command by full name, 'client|kill' style, case-insensitive."""
    low = name.lower()
    if "|" in low:
        parent, sub = low.split("|", 1)
        p = COMMANDS.get(parent)
        return p.subcommands.get(sub) if p is not None else None
    return COMMANDS.get(low)


def _status_set(items: tuple[str, ...], proto: int) -> Any:
    if proto == 3:
        return RawReply(b"~%d\r\n" % len(items) + b"".join(b"+%s\r\n" % i.encode() for i in items))
    return [Status(i) for i in items]


def _set(items: list[Any], proto: int) -> Any:
    """A RESP3 set ('~') of arbitrary replies; a plain array in RESP2."""
    if proto == 3:
        return RawReply(b"~%d\r\n" % len(items) + b"".join(encode(i, 3) for i in items))
    return items


def entry(cmd: Cmd, proto: int) -> list[Any]:
    """One COMMAND INFO entry: name, arity, flags, first/last/step key, ACL categories, tips,
    key specs, subcommands (flags, categories, tips, key specs and subcommands are sets in
    RESP3, as Redis 7.0 sends them)."""
    return [
        cmd.name.encode(),
        cmd.arity,
        _status_set(cmd.flags, proto),
        0,
        0,
        0,
        _status_set(cmd.acl, proto),
        _set([t.encode() for t in cmd.tips], proto),
        _set([], proto),
        _set([entry(s, proto) for s in cmd.subcommands.values()], proto),
    ]


def all_names() -> list[str]:
    out = []
    for cmd in COMMANDS.values():
        out.append(cmd.name)
        out.extend(s.name for s in cmd.subcommands.values())
    return out
