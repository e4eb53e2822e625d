"""How a service is described once and run: ``<service> migrate | api | worker``.

Each service's ``bootstrap.py`` builds a :class:`ServiceDefinition`; its ``__main__`` hands it to
:func:`main`. The API and the worker are separate processes: the API answers HTTP, the worker
runs the service's consumers and the outbox relay and serves its own health and metrics.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, Protocol, TypeVar

import uvicorn
from fastapi import APIRouter, FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from collections_common.database import create_engine
from collections_common.logs import configure_logging
from collections_common.migrations import upgrade
from collections_common.runtime.outbox import OutboxRelay
from collections_common.runtime.runner import BatchHandler, ConsumerRunner
from collections_common.settings import ServiceSettings
from collections_common.web import create_app

log = logging.getLogger(__name__)

S = TypeVar("S", bound=ServiceSettings)


class Component(Protocol):
    """Something the worker runs until ``stop`` is set (a consumer runner, the relay...)."""

    async def run(self, stop: asyncio.Event) -> None: ...


@dataclass(frozen=True)
class ServiceDefinition(Generic[S]):
    name: str
    settings_class: type[S]
    migrations: Path
    create_api: Callable[[S], FastAPI]
    worker_components: Callable[[S, AsyncEngine], Sequence[Component]]

    def settings(self) -> S:
        return self.settings_class()

    def migrate(self, settings: S) -> None:
        upgrade(self.migrations, settings.database_url, self.name)


def consuming_service(
    *,
    name: str,
    settings_class: type[S],
    migrations: Path,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    topics: Sequence[str],
    handler: BatchHandler,
) -> ServiceDefinition[S]:
    """The common shape: an API of ``routers`` and a worker applying ``topics`` with ``handler``."""

    def create_api(settings: S) -> FastAPI:
        return create_app(
            settings, engine=create_engine(settings), title=title, description=description, routers=routers
        )

    def worker_components(settings: S, engine: AsyncEngine) -> list[Component]:
        return [ConsumerRunner(settings=settings, engine=engine, topics=topics, handler=handler)]

    return ServiceDefinition(
        name=name,
        settings_class=settings_class,
        migrations=migrations,
        create_api=create_api,
        worker_components=worker_components,
    )


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: the worker owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve_until_signalled(app: FastAPI, host: str, port: int) -> None:
    """Serve ``app`` until SIGTERM or SIGINT, then shut down gracefully and return (exit 0)."""
    server = _QuietServer(uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
    await server.serve()


GC_YOUNG_THRESHOLD = 50_000
"""Allocations between two collections of the young generation in a worker (Python's default: 700)."""


def tune_garbage_collection() -> None:
    """Collect less often in a long-running worker.

    A batch allocates and drops many small objects (decoded events, books, rows). With Python's
    default thresholds the aging benchmark ran about 2,500 collections, and its full passes
    alone took 1.1 s of an 11 s run (docs/benchmarks.md). What start-up created lives as long as
    the process, so it is frozen out of every later collection; the young generation is then
    collected every ``GC_YOUNG_THRESHOLD`` allocations, the middle one every 20 of those and the
    oldest every 20 of the middle ones (measured with it: 0.33 s of collections in the worker's
    whole life during one benchmark run).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 20)


async def run_worker(definition: ServiceDefinition[S], settings: S) -> int:
    """Run the consumers, the outbox relay and a health/metrics endpoint until SIGTERM."""
    engine = create_engine(settings, pre_ping=False)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    components: list[Component] = [
        *definition.worker_components(settings, engine),
        OutboxRelay(engine, settings),
    ]
    health_app = create_app(settings, engine=engine, title=f"{definition.name} worker")
    server = _QuietServer(
        uvicorn.Config(
            health_app, host=settings.http_host, port=settings.worker_port, log_config=None, access_log=False
        )
    )
    tasks = [
        asyncio.create_task(component.run(stop), name=type(component).__name__) for component in components
    ]
    tune_garbage_collection()
    serving = asyncio.create_task(server.serve(), name="health")
    log.info(
        "worker started", extra={"components": [t.get_name() for t in tasks], "port": settings.worker_port}
    )
    failed = False
    stopping = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([*tasks, stopping], return_when=asyncio.FIRST_COMPLETED)
    for task in done:
        if task is not stopping and task.exception() is not None:
            failed = True
            log.error("component %s failed", task.get_name(), exc_info=task.exception())
    stop.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    failed = failed or any(isinstance(result, BaseException) for result in results)
    server.should_exit = True
    await serving
    await engine.dispose()
    log.info("worker stopped")
    return 1 if failed else 0


def main(definition: ServiceDefinition[S], argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"{definition.name}-service")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply database migrations and exit")
    api = commands.add_parser("api", help="serve the HTTP API")
    api.add_argument("--migrate", action="store_true", help="apply migrations first")
    worker = commands.add_parser("worker", help="run the consumers and the outbox relay")
    worker.add_argument("--migrate", action="store_true", help="apply migrations first")
    args = parser.parse_args(argv)

    settings = definition.settings()
    configure_logging(definition.name, settings.log_level)
    if args.command == "migrate" or getattr(args, "migrate", False):
        definition.migrate(settings)
        log.info("migrations applied")
    if args.command == "api":
        asyncio.run(
            serve_until_signalled(definition.create_api(settings), settings.http_host, settings.http_port)
        )
    elif args.command == "worker":
        return asyncio.run(run_worker(definition, settings))
    return 0


def entrypoint(definition: ServiceDefinition[S]) -> Callable[[], None]:
    def run() -> None:
        sys.exit(main(definition))

    return run
