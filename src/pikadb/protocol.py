"""The one door to the compiled RESP codec (cext/resp.pyx).

Nothing else imports pikadb._resp. The compiled module is the product: if it is missing
the server refuses to start with a clear message instead of running a slow path.
"""

try:
    from pikadb._resp import (
        NULL_ARRAY,
        BigNumber,
        ErrorReply,
        Parser,
        ProtocolError,
        Push,
        RawReply,
        Status,
        Verbatim,
        encode,
        encode_command,
        format_double,
        ld_add,
        parse_ld,
    )
except ImportError as e:  # pragma: no cover - exercised by packaging mistakes only
    raise ImportError(
        "pikadb's compiled RESP codec (pikadb._resp) is missing: build it with "
        "`pip install .` or `python setup.py build_ext --inplace` (needs cython and gcc)"
    ) from e


def error_reply(text: str) -> bytes:
    """An error reply's bytes. Redis replaces newlines in error texts so the reply stays one
    line."""
    return b"-" + text.replace("\r", " ").replace("\n", " ").encode("utf-8", "replace") + b"\r\n"


OK = Status("OK")
PONG = Status("PONG")
QUEUED = Status("QUEUED")

__all__ = [
    "NULL_ARRAY",
    "OK",
    "PONG",
    "QUEUED",
    "BigNumber",
    "ErrorReply",
    "Parser",
    "ProtocolError",
    "Push",
    "RawReply",
    "Status",
    "Verbatim",
    "encode",
    "encode_command",
    "error_reply",
    "format_double",
    "ld_add",
    "parse_ld",
]
