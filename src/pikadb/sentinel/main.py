"""`pika-sentinel FILE [--port N] [--directive value ...]`: start a sentinel, like
`redis-sentinel FILE`. The file is required and must be writable: the sentinel keeps its
state in it. Command-line directives are applied after the file, as redis-server does, and
end up in the file at the next rewrite.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys

from pikadb import __version__
from pikadb.log import log
from pikadb.sentinel import config as cfg


def parse_args(argv: list[str]) -> tuple[str | None, list[tuple[str, list[str]]]]:
    """FILE then `--name value...` groups; a directive takes every word up to the next '--'."""
    file: str | None = None
    i = 0
    if argv and not argv[0].startswith("--"):
        file = argv[0]
        i = 1
    overrides: list[tuple[str, list[str]]] = []
    while i < len(argv):
        tok = argv[i]
        if not tok.startswith("--") or len(tok) == 2:
            raise cfg.ConfigError(
                f"\n*** FATAL CONFIG FILE ERROR (Redis {cfg.REDIS_VERSION}) ***\n"
                f"Reading the command line\n>>> '{tok}'\n"
                "Bad directive or wrong number of arguments"
            )
        name = tok[2:]
        i += 1
        args: list[str] = []
        while i < len(argv) and not (argv[i].startswith("--") and len(argv[i]) > 2):
            args.append(argv[i])
            i += 1
        if name == "sentinel" and not args:
            continue  # `redis-server FILE --sentinel`: the mode switch, not a directive
        overrides.append((name, args or [""]))
    return file, overrides


def _daemonize() -> None:
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)


async def serve(settings: cfg.SentinelSettings, path: str) -> int:
    import pikadb.sentinel.commands  # noqa: F401  (registers the connection-level commands)
    from pikadb.sentinel import timer
    from pikadb.sentinel.api import Api
    from pikadb.sentinel.core import Sentinel
    from pikadb.sentinel.server import SentinelServer

    sentinel = Sentinel(settings, path)
    api = Api(sentinel)
    server = SentinelServer(api)
    api.server = server
    try:
        await server.listen(settings.bind, settings.port)
    except OSError:
        return 1
    log.notice(f"Running mode=sentinel, port={settings.port}.")
    sentinel.start()
    loop = asyncio.get_running_loop()
    done = asyncio.Event()

    def on_signal(signame: str) -> None:
        log.warning(f"Received {signame} scheduling shutdown...")
        done.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig.name)
    timer_task = loop.create_task(timer.run(sentinel))
    while not done.is_set() and not api.shutdown_requested:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(done.wait(), 0.1)
    if timer_task.done() and timer_task.exception() is not None:
        raise timer_task.exception()  # type: ignore[misc]
    timer_task.cancel()
    if not api.shutdown_requested:
        log.warning("User requested shutdown...")
        sentinel.flush_config()
        log.warning("Sentinel is now ready to exit, bye bye...")
    sentinel.stop()
    server.close()
    await asyncio.sleep(0)
    return 0


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "drill":  # `pika-sentinel drill ...`: the failover drill
        from pikadb.sentinel.drill import main as drill_main

        sys.exit(drill_main(args[1:], prog="pika-sentinel drill"))
    if args and args[0] in ("-v", "--version"):
        print(f"pika-sentinel v={__version__} (Redis Sentinel {cfg.REDIS_VERSION} compatible)")
        return
    if args and args[0] in ("-h", "--help"):
        print("Usage: pika-sentinel /path/to/sentinel.conf [--directive value ...]")
        return
    log.role = "X"
    try:
        file, overrides = parse_args(args)
    except cfg.ConfigError as e:
        print(str(e), file=sys.stderr)
        sys.exit(1)
    if file is None:
        log.warning("Sentinel needs config file on disk to save state. Exiting...")
        sys.exit(1)
    path = os.path.abspath(file)
    try:
        settings = cfg.load(path, overrides)
    except cfg.ConfigError as e:
        print(str(e), file=sys.stderr)
        sys.exit(1)
    except OSError as e:
        log.warning(f"Fatal error, can't open config file '{file}': {e.strerror}")
        sys.exit(1)
    if not os.access(path, os.W_OK):
        log.warning(f"Sentinel config file {path} is not writable: Permission denied. Exiting...")
        sys.exit(1)
    if settings.daemonize:
        _daemonize()
    log.configure(settings.loglevel, settings.logfile)
    if settings.dir:
        try:
            os.chdir(settings.dir)
        except OSError as e:
            log.warning(f"Can't chdir to '{settings.dir}': {e.strerror}")
            sys.exit(1)
    if settings.pidfile:
        with contextlib.suppress(OSError), open(settings.pidfile, "w") as f:
            f.write(f"{os.getpid()}\n")
    log.warning(f"pika-sentinel {__version__} starting, pid={os.getpid()}")
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover - uvloop is a dependency
        runner = asyncio.run
    code = runner(serve(settings, path))
    if settings.pidfile:
        with contextlib.suppress(OSError):
            os.unlink(settings.pidfile)
    sys.exit(code)
