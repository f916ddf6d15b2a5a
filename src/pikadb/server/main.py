"""`pikad [CONFIG_FILE] [--directive value ...]`: start a server, like redis-server."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from typing import TYPE_CHECKING

from pikadb import __version__
from pikadb.commands.registry import rename_command
from pikadb.config import Config, ConfigError, parse_command_line
from pikadb.log import log

if TYPE_CHECKING:
    from pikadb.server.workers import WorkerRole


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
        config = Config.load(file, overrides, rename_command)
    except ConfigError as e:
        print(str(e), file=sys.stderr)
        sys.exit(1)
    except OSError as e:
        print(f"Fatal error, can't open config file '{e.filename}': {e.strerror}", file=sys.stderr)
        sys.exit(1)

    # Import after the config parsed cleanly: a missing compiled codec is reported here.
    from pikadb.storage.engine import DataDirLocked, StorageError

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

    workers = config.get_int("workers")
    if workers > 1:
        from pikadb.server.workers import Coordinator
        from pikadb.storage.engine import claim_directory

        path = os.path.abspath(config.get("dir"))
        try:
            lock, nshards = claim_directory(path, max(config.get_int("shards"), workers))
        except (DataDirLocked, StorageError) as e:
            log.warning(str(e))
            print(str(e), file=sys.stderr)
            sys.exit(1)
        if nshards < workers:
            log.warning(
                f"The data directory has {nshards} shard(s): running {nshards} worker(s), "
                f"not {workers} (a worker owns at least one shard)"
            )
            workers = nshards
        if workers > 1:
            try:
                code = Coordinator(config, workers, run_server).run()
            finally:
                lock.close()
        else:
            lock.close()
            code = run_server(config, None)
    else:
        code = run_server(config, None)
    if pidfile:
        try:
            os.unlink(pidfile)
        except OSError:
            pass
    sys.exit(code)


def run_server(config: Config, worker: WorkerRole | None) -> int:
    """One event loop serving clients: the whole server, or one worker of several."""
    from pikadb.server.server import Server
    from pikadb.storage.engine import DataDirLocked

    try:
        import uvloop

        uvloop.install()
    except ImportError:  # uvloop is a dependency; plain asyncio still works without it
        pass

    server = Server(config, worker)
    try:
        server.open_storage()
    except DataDirLocked as e:
        log.warning(str(e))
        print(str(e), file=sys.stderr)
        return 1

    async def run() -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, server.request_shutdown)
        return await server.serve()

    try:
        return asyncio.run(run())
    finally:
        if server.engine is not None:
            server.engine.close()
