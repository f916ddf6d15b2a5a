"""Commands whose work is cut into slices over several event-loop turns (KEYS over a big
keyspace), so that one client's long command does not stall every other client.

The storage side is a generator that yields between steps and returns the reply value
(e.g. Database.keys_in_steps). in_slices() runs it for SLICE_S in the handler; what does not
finish by then goes on in later turns, SLICE_S each, while the client waits with its
pipeline behind it (Client.sliced, as a blocked client waits) and the other clients are
served; the reply is written when the generator returns. Inside EXEC the work runs to the
end at once: a transaction is one step for everybody else.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import Any

from pikadb.errors import CommandError
from pikadb.log import log
from pikadb.protocol import RawReply, encode, error_reply

SLICE_S = 0.005
ENCODE_STEP = 20_000  # array elements encoded per step
SUSPENDED = RawReply(b"")  # the reply comes later (Client.sliced)
_perf = time.perf_counter


def _run(work: Generator[None, None, bytes], deadline: float) -> tuple[bool, bytes]:
    """-> (finished, encoded reply) after running work until the deadline."""
    try:
        while True:
            next(work)
            if _perf() >= deadline:
                return False, b""
    except StopIteration as done:
        return True, done.value


def _encoded(work: Generator[None, None, Any], proto: int) -> Generator[None, None, bytes]:
    """work, then its reply encoded: a long array ENCODE_STEP elements a step."""
    value = yield from work
    if not isinstance(value, list) or len(value) <= ENCODE_STEP:
        return encode(value, proto)
    parts = [b"*%d\r\n" % len(value)]
    for i in range(0, len(value), ENCODE_STEP):
        data = encode(value[i : i + ENCODE_STEP], proto)
        parts.append(data[data.index(b"\r\n") + 2 :])  # the elements without their header
        yield
    return b"".join(parts)


def in_slices(c: Any, work: Generator[None, None, Any]) -> Any:
    """The reply of work, or SUSPENDED when it goes on in later turns."""
    steps = _encoded(work, c.proto)
    # Inside EXEC, and a local piece of a command split over workers without a way to
    # answer later (Router._ask sets sliced_reply when it has one), it runs to the end.
    whole = c.in_exec or (c.quiet and not c.is_proxy and c.sliced_reply is None)
    deadline = float("inf") if whole else _perf() + SLICE_S
    finished, reply = _run(steps, deadline)
    if finished:
        return RawReply(reply)
    c.sliced = steps
    c.server.next_turn(_next_slice, c, steps)
    return SUSPENDED


def _next_slice(c: Any, steps: Generator[None, None, bytes]) -> None:
    if c.closed or c.sliced is not steps:
        steps.close()
        return
    try:
        finished, reply = _run(steps, _perf() + SLICE_S)
    except CommandError as e:
        finished, reply = True, error_reply(e.text)
    except Exception as e:  # a bug must not leave the client waiting forever
        name = c.cmd.name if c.cmd is not None else "?"
        log.warning(f"Internal error in '{name}' (sliced): {e!r}")
        text = f"ERR internal error in '{name}': {type(e).__name__}: {e}"
        finished, reply = True, error_reply(text)
    if not finished:
        c.server.next_turn(_next_slice, c, steps)
        return
    c.sliced = None
    deliver = c.sliced_reply
    if deliver is not None:  # a piece of a command split over workers (Router._ask)
        c.sliced_reply = None
        deliver(reply)
        return
    c.write(reply)
    c.resume()  # the pipeline behind it
