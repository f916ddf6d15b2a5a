"""Who is interested in which keys: the small shared registry behind engine.watched.

Several parts of the server want to hear about committed writes to some keys: WATCH (a
transaction must fail if a watched key changed) and clients blocked on a key (BLPOP and
friends must be served when the key gets data). The write path (storage.writeset) only knows
`engine.watched` (meta key -> anything, checked only while non-empty) and one callable,
`engine.on_modified(meta key)`. This module shares both between any number of parties:

    watch_key(engine, mk) / unwatch_key(engine, mk)
        engine.watched holds a reference count per meta key: a key stays watched while at
        least one party (a WATCHing client, a blocked client) still wants it.
    add_listener(engine, fn) / remove_listener(engine, fn)
        engine.modified_listeners is a list of callables; engine.on_modified calls each of
        them, in registration order, for every committed write to a watched key. A listener
        sees writes to keys other parties watch too and must ignore what is not its own.

Listeners run inside the writing command (after its batch is committed), so they should only
record the key (Redis's signalModifiedKey / signalKeyAsReady); acting on it is for later.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pikadb.storage.engine import Engine

Listener = Callable[[bytes], None]

__all__ = ["Listener", "add_listener", "listeners", "remove_listener", "unwatch_key", "watch_key"]


def watch_key(engine: Engine, mk: bytes) -> None:
    """One more party wants to hear about writes to meta key mk."""
    watched = engine.watched
    watched[mk] = watched.get(mk, 0) + 1  # type: ignore[operator]


def unwatch_key(engine: Engine, mk: bytes) -> None:
    """One party fewer for mk; the key leaves engine.watched with its last party."""
    watched = engine.watched
    n = watched.get(mk, 0) - 1  # type: ignore[operator]
    if n > 0:
        watched[mk] = n
    else:
        watched.pop(mk, None)


def listeners(engine: Engine) -> list[Listener]:
    """engine.modified_listeners, created (and engine.on_modified pointed at it) on first use."""
    lst: list[Listener] | None = getattr(engine, "modified_listeners", None)
    if lst is None:
        lst = []
        engine.modified_listeners = lst  # type: ignore[attr-defined]

        def on_modified(mk: bytes) -> None:
            for fn in lst:
                fn(mk)

        engine.on_modified = on_modified
    return lst


def add_listener(engine: Engine, fn: Listener) -> None:
    lst = listeners(engine)
    if fn not in lst:
        lst.append(fn)


def remove_listener(engine: Engine, fn: Listener) -> None:
    lst = listeners(engine)
    if fn in lst:
        lst.remove(fn)
