"""`pikad [CONFIG_FILE] [--directive value ...]`: start a server, like redis-server."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from pikadb import __version__
from pikadb.config import Config, ConfigError, parse_command_line
from pikadb.log import log


def _daemonize() -> None:
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)


def _write_pidfile(path: str) -> None:
    try:
        with open(path, "w") as f:
            f.write(f"{os.getpid()}\n")
    except OSError as e:
        log.warning(f"Failed to write PID file: {e}")


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("-v", "--version"):
        print(f"pikadb server v={__version__}")
        return
    if args and args[0] in ("-h", "--help"):
        print("Usage: pikad [/path/to/pikadb.conf] [--directive value ...]")
        return
    try:
        file, overrides = parse_command_line(args)
        config = Config.load(file, overrides)
    except ConfigError as e:
        print(str(e), file=sys.stderr)
        sys.exit(1)
    except OSError as e:
        print(f"Fatal error, can't open config file '{e.filename}': {e.strerror}", file=sys.stderr)
        sys.exit(1)

    # Import after the config parsed cleanly: a missing compiled codec is reported here.
    from pikadb.server.server import Server
    from pikadb.storage.engine import DataDirLocked

    daemonize = config.get_bool("daemonize")
    if daemonize:
        _daemonize()
    logfile = config.get("logfile")
    if daemonize and not logfile:
        logfile = os.devnull
    log.configure(config.get("loglevel"), logfile)
    log.notice("oO0OoO0OoO0Oo pikadb is starting oO0OoO0OoO0Oo")
    log.notice(f"pikadb version={__version__}, bits=64, pid={os.getpid()}, just started")
    log.notice("Configuration loaded" if file else "No config file specified, using the defaults")

    pidfile = config.get("pidfile")
    if pidfile:
        _write_pidfile(pidfile)

    try:
        import uvloop

        uvloop.install()
    except ImportError:  # uvloop is a dependency; plain asyncio still works without it
        pass

    server = Server(config)
    try:
        server.open_storage()
    except DataDirLocked as e:
        log.warning(str(e))
        print(str(e), file=sys.stderr)
        sys.exit(1)

    async def run() -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, server.request_shutdown)
        return await server.serve()

    try:
        code = asyncio.run(run())
    finally:
        if server.engine is not None:
            server.engine.close()
        if pidfile:
            try:
                os.unlink(pidfile)
            except OSError:
                pass
    sys.exit(code)
