"""Typing for the command core (cext/core.pyx)."""

from collections.abc import Callable
from typing import Any

DONE: int
AGAIN: int
NAMES: tuple[bytes, ...]

class CommandCore:
    enabled: bool
    calls_total: int
    client_type: Any
    def __init__(
        self,
        server: Any,
        commands: dict[bytes, Any],
        encode_counters: Callable[[int, int, int], bytes],
        counters_key: Callable[[int], bytes],
        shorten: Callable[[list[bytes]], list[bytes]],
        latest: Any,
    ) -> None: ...
    def run(self, c: Any, parser: Any, out: list[bytes]) -> int: ...
    def serve(self, c: Any, parser: Any, data: bytes) -> list[bytes] | bool | None: ...
    def release(self, outputs: list[tuple[Any, bytes]]) -> None: ...
    def sync(self) -> None: ...
