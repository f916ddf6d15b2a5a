"""Keys on one pikad worker for the randomized differential streams.

With several workers (PIKADB_TEST_WORKERS > 1) a command whose keys belong to different
workers answers -CROSSSLOT (tests/integration/test_workers.py). The random streams mix
multi-key commands freely, so under workers they give every key the hash tag {t}, on both
servers alike: replies stay comparable, and the connections, spread over the workers,
still reach the keys through another worker's proxy half of the time.
"""

from __future__ import annotations

from helpers.servers import SETTINGS


def one_worker(argv: list[str]) -> list[str]:
    if not (SETTINGS.workers and SETTINGS.workers > 1):
        return argv
    import pikadb.commands.registry  # noqa: F401  (fills the command table)
    from pikadb.commands.table import lookup

    raw = [a.encode("utf-8", "surrogateescape") if isinstance(a, str) else a for a in argv]
    cmd = lookup(raw)
    if cmd is None or cmd.keys is None:
        return argv
    try:
        keys = set(cmd.key_indexes(raw))
    except (IndexError, ValueError):
        return argv
    return [f"{{t}}{a}" if i in keys else a for i, a in enumerate(argv)]


def tag_keys(args: list[object]) -> list[object]:
    """args (str, bytes or int) with the hash tag {t} before every key, as bytes where a
    key was tagged; other arguments unchanged."""
    import pikadb.commands.registry  # noqa: F401  (fills the command table)
    from pikadb.commands.table import lookup

    raw = [a if isinstance(a, bytes) else str(a).encode("utf-8", "surrogateescape") for a in args]
    cmd = lookup(raw)
    if cmd is None or cmd.keys is None:
        return list(args)
    try:
        keys = set(cmd.key_indexes(raw))
    except (IndexError, ValueError):
        return list(args)
    return [b"{t}" + raw[i] if i in keys else a for i, a in enumerate(args)]
