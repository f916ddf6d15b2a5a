"""Load every command family so the table in pikadb.commands.table is complete.

Every module of this package is imported; a family module registers its commands with
@command at import time, so adding a family is adding a file (no list to keep in sync).
"""

import importlib
import pkgutil

import pikadb.commands as _package
from pikadb.commands.table import COMMANDS

_NOT_FAMILIES = {"args", "context", "info_merge", "merge", "registry", "sliced", "table"}

for _info in sorted(pkgutil.iter_modules(_package.__path__), key=lambda m: m.name):
    if _info.name not in _NOT_FAMILIES and not _info.name.startswith("_"):
        importlib.import_module(f"{_package.__name__}.{_info.name}")


def rename_command(old: str, new: str) -> None:
    """rename-command OLD NEW (config file or command line only, as in Redis): the command
    answers to NEW from now on, OLD is unknown; NEW "" removes it. COMMAND still shows the
    command under its own name, as Redis does. (Here, where the table is complete.)"""
    cmd = COMMANDS.pop(old.lower().encode(), None)
    if cmd is None:
        raise ValueError("No such command in rename-command")
    if new:
        key = new.lower().encode()
        if key in COMMANDS:
            COMMANDS[old.lower().encode()] = cmd
            raise ValueError("Target command name already exists")
        COMMANDS[key] = cmd


__all__ = ["COMMANDS", "rename_command"]
