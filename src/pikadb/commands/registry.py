"""Load every command family so the table in pikadb.commands.table is complete."""

from pikadb.commands import (  # noqa: F401  (imported for their @command registrations)
    connection,
    keys,
    server,
    strings,
)
from pikadb.commands.table import COMMANDS

__all__ = ["COMMANDS"]
