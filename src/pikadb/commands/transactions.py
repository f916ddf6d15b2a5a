"""Transactions: MULTI, EXEC, DISCARD, WATCH and UNWATCH, with Redis 7.0's semantics (multi.c).

The dispatcher sees every command first: while `c.multi` is set it queues each command but
those with the not-queued trait (commands/table.py) and replies +QUEUED; a command it refuses meanwhile (unknown, wrong
arity, no_multi, RESP2 subscribed context, ...) goes through `rejected()`, which dooms the
transaction (EXEC then replies EXECABORT) or, for a refused EXEC, aborts it at once.

EXEC runs the queue in one go without yielding to the event loop, so no other client's
command runs in between (Redis's atomicity), each command through the dispatcher's execute
path: commandstats, SLOWLOG and MONITOR see the queued commands one by one, between MULTI
and EXEC, as with Redis's call(). While it runs `c.in_exec` is true: blocking commands must
then answer at once as if their timeout had expired (Redis's CLIENT_DENY_BLOCKING).
Runtime errors are per-command replies inside EXEC's array. WATCHed keys: server.multi.
"""

from __future__ import annotations

from pikadb import errors
from pikadb.commands.table import Command, command
from pikadb.errors import CommandError
from pikadb.protocol import NULL_ARRAY, OK, RawReply

# Commands that run at once inside MULTI instead of being queued (Redis processCommand).

QUEUED_REPLY = b"+QUEUED\r\n"


class MultiState:
    """A client's open transaction: the queued commands and whether one was refused."""

    __slots__ = ("commands", "doomed")

    def __init__(self) -> None:
        self.commands: list[tuple[Command, list[bytes]]] = []
        self.doomed = False  # Redis CLIENT_DIRTY_EXEC: EXEC will reply EXECABORT


def queue(c, cmd: Command, argv: list[bytes]) -> bytes:
    """The dispatcher's MULTI queueing (queueMultiCommand); returns the +QUEUED reply."""
    state = c.multi
    if not (state.doomed or c.tx.dirty_cas):  # no point keeping commands that will never run
        state.commands.append((cmd, argv))
    return QUEUED_REPLY


def discard(c) -> None:
    """Leave MULTI, forget the queue and every WATCHed key (Redis discardTransaction)."""
    c.multi = None
    c.tx.dirty_cas = False
    c.server.watches.unwatch_all(c)


def rejected(c, err: CommandError, cmd: Command | None, argv: list[bytes]) -> CommandError:
    """The dispatcher refused a command (Redis rejectCommand): inside MULTI it dooms the
    transaction; a refused EXEC aborts it, naming the reason, and MONITOR sees the EXEC.
    Returns the error to reply."""
    if cmd is not None and cmd.name == "exec":
        discard(c)
        if c.server.monitored:
            c.server.feed_monitors(c, argv)
        # Redis formats its own errors without the ERR prefix here; shared ones keep theirs.
        reason = err.text[4:] if err.text.startswith("ERR ") else err.text
        return CommandError("EXECABORT Transaction discarded because of: " + reason)
    if c.multi is not None:
        c.multi.doomed = True
    return err


@command(
    "multi",
    arity=1,
    flags="noscript loading stale fast allow_busy",
    group="transaction",
    traits="not-queued not-pipelined tx-local",
)
def multi(c, argv):
    """MULTI"""
    if c.multi is not None:
        raise CommandError("ERR MULTI calls can not be nested")
    c.multi = MultiState()
    return OK


@command(
    "discard",
    arity=1,
    flags="noscript loading stale fast allow_busy",
    group="transaction",
    traits="not-queued not-pipelined tx-local",
)
def discard_(c, argv):
    """DISCARD"""
    if c.multi is None:
        raise CommandError("ERR DISCARD without MULTI")
    discard(c)
    return OK


@command(
    "exec",
    arity=1,
    flags="noscript loading stale skip_slowlog",
    group="transaction",
    traits="not-queued not-pipelined",
)
def exec_(c, argv):
    """EXEC"""
    state = c.multi
    if state is None:
        raise CommandError("ERR EXEC without MULTI")
    watches = c.server.watches
    if c.tx.watched_keys and watches.expired_since_watch(c, c.now):
        c.tx.dirty_cas = True
    if state.doomed:
        discard(c)
        raise CommandError(errors.EXECABORT)
    if c.tx.dirty_cas:
        discard(c)
        return NULL_ARRAY
    watches.unwatch_all(c)  # our own writes below must not matter
    queued = state.commands
    execute = c.server.dispatcher.execute
    # Output pushed to this client meanwhile (Pub/Sub messages) lands between the replies,
    # where Redis's reply buffer would have it.
    outer = c.out_batch
    parts = [b"*%d\r\n" % len(queued)]
    c.out_batch = parts
    c.in_exec = True
    try:
        for cmd, args in queued:
            parts.append(execute(c, cmd, args))
    finally:
        c.in_exec = False
        c.out_batch = outer
        c.argv = argv
        discard(c)
    return RawReply(b"".join(parts))


@command(
    "watch",
    arity=-2,
    flags="noscript loading stale fast allow_busy",
    keys=(1, -1, 1),
    group="transaction",
    traits="not-queued not-pipelined",
)
def watch(c, argv):
    """WATCH key [key ...]"""
    if c.multi is not None:
        raise CommandError("ERR WATCH inside MULTI is not allowed")
    if c.tx.dirty_cas:
        return OK  # already doomed: watching more changes nothing
    watches = c.server.watches
    now = c.now
    for key in argv[1:]:
        watches.watch(c, key, now)
    return OK


@command(
    "unwatch",
    arity=1,
    flags="noscript loading stale fast allow_busy",
    group="transaction",
    traits="not-pipelined tx-local",
)
def unwatch(c, argv):
    """UNWATCH"""
    c.server.watches.unwatch_all(c)
    c.tx.dirty_cas = False
    return OK
