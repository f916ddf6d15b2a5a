"""The one catalogue of error replies, with Redis 7.0's exact prefixes and texts.

Handlers raise these; the dispatcher turns them into '-<text>' replies. Clients key on the
prefixes (redis-py maps READONLY, NOSCRIPT, ...), so texts are copied from Redis, not paraphrased.
"""


class CommandError(Exception):
    """An error reply. str(self) is the whole reply text, prefix included."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def err(text: str) -> CommandError:
    return CommandError("ERR " + text)


# ---- texts shared by many commands (Redis server.c shared.* objects) ----
SYNTAX = "ERR syntax error"
NOT_INTEGER = "ERR value is not an integer or out of range"
NOT_FLOAT = "ERR value is not a valid float"
OVERFLOW = "ERR increment or decrement would overflow"
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
NO_SUCH_KEY = "ERR no such key"
OUT_OF_RANGE = "ERR index out of range"
DB_INDEX = "ERR DB index is out of range"
NOAUTH = "NOAUTH Authentication required."
WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."
READONLY = "READONLY You can't write against a read only replica."
LOADING = "LOADING Redis is loading the dataset in memory"
NOPROTO = "NOPROTO unsupported protocol version"
EXPIRE_INVALID = "ERR invalid expire time in '{}' command"
TIMEOUT_NEGATIVE = "ERR timeout is negative"
BIT_OFFSET = "ERR bit offset is not an integer or out of range"
HLL_WRONGTYPE = "WRONGTYPE Key is not a valid HyperLogLog string value."
HLL_INVALID = "INVALIDOBJ Corrupted HLL object detected"
STRING_TOO_LONG = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
EXECABORT = "EXECABORT Transaction discarded because of previous errors."
NO_MULTI = "ERR Command not allowed inside a transaction"
# Redis Cluster's text: with several workers, keys that must be handled together by one
# process (server/workers.py) but belong to shards of different workers.
CROSSSLOT = "CROSSSLOT Keys in request don't hash to the same slot"


def unknown_command(name: bytes, args: list[bytes]) -> CommandError:
    """Redis: ERR unknown command 'foo', with args beginning with: 'a' 'b'"""
    # Redis stops adding arguments once the text reaches 128 characters, and cuts the
    # last one it adds to fit.
    shown = ""
    for a in args:
        if len(shown) >= 128:
            break
        shown += "'" + a[: 128 - len(shown)].decode("utf-8", "replace") + "' "
    return CommandError(f"ERR unknown command '{_show(name)}', with args beginning with: {shown}")


def unknown_subcommand(sub: bytes, cmd: str) -> CommandError:
    return CommandError(f"ERR unknown subcommand '{_show(sub)}'. Try {cmd.upper()} HELP.")


def subcommand_syntax(sub: bytes, cmd: str) -> CommandError:
    """Redis's addReplySubcommandSyntaxError, for subcommands that check their own argc."""
    return CommandError(
        f"ERR unknown subcommand or wrong number of arguments for '{_show(sub)}'. "
        f"Try {cmd.upper()} HELP."
    )


def wrong_arity(name: str) -> CommandError:
    return CommandError(f"ERR wrong number of arguments for '{name}' command")


def wrong_arity_sub(name: str, sub: str) -> CommandError:
    return CommandError(f"ERR wrong number of arguments for '{name}|{sub}' command")


def pubsub_context(name: str) -> CommandError:
    """A RESP2 client with subscriptions may only run these (Redis processCommand)."""
    return CommandError(
        f"ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
        "RESET are allowed in this context"
    )


def _show(b: bytes) -> str:
    """Redis prints user tokens with sdscatrepr-like truncation to 128 chars (sdsnew + %.128s)."""
    return b[:128].decode("utf-8", "replace")


class WrongTypeError(CommandError):
    def __init__(self) -> None:
        super().__init__(WRONGTYPE)


class StorageFullError(CommandError):
    """The disk is full or RocksDB refused the write; nothing was applied."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"ERR write failed, nothing was applied: {detail}")
