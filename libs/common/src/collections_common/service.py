"""How a service is described once and run: ``<service> migrate | api | worker``.

Each service's ``bootstrap.py`` builds a :class:`ServiceDefinition`; its ``__main__`` hands it to
:func:`main`. The API and the worker are separate processes: the API answers HTTP, the worker
runs the service's consumers, the outbox relay and the retention pruner and serves its own health
and metrics.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, Protocol, TypeVar

import uvicorn
import uvloop
from fastapi import APIRouter, FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from collections_common.database import create_engine
from collections_common.logs import configure_logging
from collections_common.migrations import upgrade
from collections_common.problems import ProblemError
from collections_common.runtime.holding import Gate
from collections_common.runtime.outbox import OutboxRelay
from collections_common.runtime.retention import RetentionPruner
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
    on_worker_start: Callable[[], None] | None = None
    """Called once in the worker after its components are created (e.g. a service's GC tuning)."""

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
    handler: BatchHandler | None = None,
    make_handler: Callable[[S], BatchHandler] | None = None,
    make_gate: Callable[[S], Gate] | None = None,
    deduplicate: bool = True,
    problems: Mapping[type[Exception], type[ProblemError]] | None = None,
    configure_api: Callable[[S, FastAPI], None] | None = None,
    components: Callable[[S, AsyncEngine], Sequence[Component]] | None = None,
    on_worker_start: Callable[[], None] | None = None,
) -> ServiceDefinition[S]:
    """The common shape: an API of ``routers`` and a worker applying ``topics`` with ``handler``.

    Every service is built with it. ``handler`` is the batch handler (usually
    ``per_event(EVENT_HANDLERS)``), or ``make_handler`` builds it from the settings. The rest is
    optional: ``make_gate`` a gate for the consumer (see ``collections_common.runtime.Gate``),
    ``deduplicate=False`` for a handler idempotent by its own keys, ``problems`` the domain errors'
    HTTP answers, ``configure_api`` what the API keeps on ``app.state``, ``components`` further
    worker components, ``on_worker_start`` a hook run once in the worker.
    """
    if (handler is None) == (make_handler is None):
        raise ValueError("give exactly one of handler and make_handler")

    def create_api(settings: S) -> FastAPI:
        app = create_app(
            settings,
            engine=create_engine(settings),
            title=title,
            description=description,
            routers=routers,
            problems=problems,
        )
        if configure_api is not None:
            configure_api(settings, app)
        return app

    def worker_components(settings: S, engine: AsyncEngine) -> list[Component]:
        batch_handler = make_handler(settings) if make_handler is not None else handler
        assert batch_handler is not None
        consumer = ConsumerRunner(
            settings=settings,
            engine=engine,
            topics=topics,
            handler=batch_handler,
            gate=make_gate(settings) if make_gate is not None else None,
            deduplicate=deduplicate,
        )
        return [consumer, *(components(settings, engine) if components is not None else ())]

    return ServiceDefinition(
        name=name,
        settings_class=settings_class,
        migrations=migrations,
        create_api=create_api,
        worker_components=worker_components,
        on_worker_start=on_worker_start,
    )


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: the worker owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def freeze_startup_objects() -> None:
    """Leave what start-up created (modules, the app, its routes and models, a worker's
    components: it lives as long as the process) out of every later garbage collection.

    Without it a full collection walks all of it, and those pauses made the tail of the API's
    latency: the gateway's case reads at 1,000/s had a p99 of 54-61 ms, with it 11-12 ms
    (docs/benchmarks.md).
    """
    gc.collect()
    gc.freeze()


async def serve_until_signalled(app: FastAPI, host: str, port: int) -> None:
    """Serve ``app`` until SIGTERM or SIGINT, then shut down gracefully and return (exit 0).

    HTTP is parsed by httptools (C) rather than h11; ``main`` runs the API on uvloop."""
    server = _QuietServer(
        uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, http="httptools")
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
    await server.serve()


SHUTDOWN_GRACE_SECONDS = 10.0
"""Seconds the worker's components have, once stopped, to finish the work in hand and close;
those still running then are cancelled. A component whose broker or database is gone can wait
for it without end (a consumer mirroring its positions into Kafka as it stops waits for a
group coordinator), and Kubernetes kills a pod 30 s after SIGTERM by default."""

CANCEL_ROUNDS = 10
"""Times the still-running components are cancelled, a second apart, before the worker gives up
waiting for them: each cancellation ends the wait in hand, and a clean-up may wait again."""


async def _cancel(tasks: set[asyncio.Task[None]]) -> set[asyncio.Task[None]]:
    """Cancel ``tasks`` until they are done (``CANCEL_ROUNDS`` at most); the ones still running."""
    for _ in range(CANCEL_ROUNDS):
        for task in tasks:
            task.cancel()
        _, tasks = await asyncio.wait(tasks, timeout=1.0)
        if not tasks:
            break
    if tasks:
        log.error("components not cancelled", extra={"components": sorted(t.get_name() for t in tasks)})
    return tasks


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
        RetentionPruner(engine, settings),
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
    freeze_startup_objects()
    if definition.on_worker_start is not None:
        definition.on_worker_start()
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
    _, late = await asyncio.wait(tasks, timeout=SHUTDOWN_GRACE_SECONDS)
    if late:
        failed = True
        log.error(
            "components still running %.0f s after the stop, cancelling them",
            SHUTDOWN_GRACE_SECONDS,
            extra={"components": sorted(task.get_name() for task in late)},
        )
        await _cancel(late)
    for task in tasks:
        if task in late or task in done:  # cancelled above, or its failure logged already
            continue
        error = None if task.cancelled() else task.exception()
        if task.cancelled() or error is not None:
            failed = True
            log.error("component %s failed while stopping", task.get_name(), exc_info=error)
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
        app = definition.create_api(settings)
        freeze_startup_objects()
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(serve_until_signalled(app, settings.http_host, settings.http_port))
    elif args.command == "worker":
        return asyncio.run(run_worker(definition, settings))
    return 0


def entrypoint(definition: ServiceDefinition[S]) -> Callable[[], None]:
    def run() -> None:
        sys.exit(main(definition))

    return run
