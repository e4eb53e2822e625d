"""The infrastructure of one run: a Kafka broker, a PostgreSQL cluster, the topics, the databases.

Used by ``devstack up`` (the local system) and by the test session, so both start the broker
and the database the same way. ``KAFKA_BOOTSTRAP_SERVERS`` / ``POSTGRES_ADMIN_URL`` point at
existing ones instead (then nothing is started for them).
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from devstack._process import REPO_ROOT, run_to_completion
from devstack.kafka import KafkaBroker
from devstack.postgres import SERVICE_DATABASES, PostgresCluster, create_database, drop_database

TOPIC_MANIFEST = REPO_ROOT / "deploy" / "topics.yaml"


@dataclass(frozen=True)
class Service:
    """How to run one service locally."""

    name: str
    script: str
    database: str
    http_port: int
    worker_port: int


SERVICES = (
    Service("aging", "aging-service", "aging", 8001, 9101),
    Service("contact", "contact-service", "contact", 8002, 9102),
    Service("escalation", "escalation-service", "escalation", 8003, 9103),
    Service("agency-gateway", "agency-gateway-service", "agency_gateway", 8004, 9104),
)


@dataclass
class Stack:
    """A broker and a database server, started here or given by URL. The broker keeps its data
    in ``broker_dir`` (``base_dir/kafka`` unless given)."""

    base_dir: Path
    kafka_port: int = 0
    postgres_port: int = 0
    broker_dir: Path | None = None
    broker: KafkaBroker | None = field(default=None, init=False)
    postgres: PostgresCluster | None = field(default=None, init=False)
    bootstrap_servers: str = field(default="", init=False)
    admin_url: str = field(default="", init=False)

    def start(self) -> Stack:
        """Start the broker and PostgreSQL (those not given by URL) side by side: the broker's
        JVM start-up and ``initdb`` overlap. If either fails, the other is killed."""
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.base_dir.chmod(0o755)
        given_kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        given_pg = os.environ.get("POSTGRES_ADMIN_URL")
        broker_dir = self.broker_dir or self.base_dir / "kafka"
        broker = None if given_kafka else KafkaBroker(broker_dir, port=self.kafka_port)
        postgres = None if given_pg else PostgresCluster(self.base_dir / "postgres", port=self.postgres_port)
        with ThreadPoolExecutor(1) as pool:
            broker_started = pool.submit(broker.start) if broker is not None else None
            try:
                if postgres is not None:
                    postgres.start()
            except BaseException:
                if broker is not None and broker_started is not None:
                    wait([broker_started])
                    broker.kill()
                raise
            if broker_started is not None:
                try:
                    broker_started.result()
                except BaseException:
                    if postgres is not None:
                        postgres.kill()
                    raise
        self.broker, self.postgres = broker, postgres
        self.bootstrap_servers = broker.bootstrap_servers if broker is not None else str(given_kafka)
        self.admin_url = postgres.url("postgres") if postgres is not None else str(given_pg)
        return self

    def stop(self) -> None:
        if self.broker is not None:
            self.broker.stop()
        if self.postgres is not None:
            self.postgres.stop()

    def destroy(self) -> None:
        """Kill the broker and PostgreSQL, then delete everything the run wrote (a test session's
        cluster grows to gigabytes). Nothing of it is kept, so neither is given a clean shutdown:
        a broker's, with a test session's topics, took most of a minute. The deletion runs in a
        detached ``rm`` (``delete_in_background``): a whole test session's took 20 s."""
        if self.broker is not None:
            self.broker.kill()
        if self.postgres is not None:
            self.postgres.kill()
        delete_in_background(self.base_dir)
        if self.broker_dir is not None:
            delete_in_background(self.broker_dir)

    def database_url(self, database: str) -> str:
        return re.sub(r"/[^/]*$", f"/{database}", self.admin_url)

    def create_database(self, name: str) -> str:
        """Create ``name`` if it does not exist; return its URL."""
        create_database(self.admin_url, name)
        return self.database_url(name)

    def drop_database(self, name: str) -> None:
        drop_database(self.admin_url, name)

    def apply_topics(self, *, prefix: str = "", profile: str = "local") -> None:
        """What ``collections-admin topics apply`` does, in this process: the command's start-up
        (its imports) took about 2 s here, paid once per test that gets topics of its own."""
        from collections_common.admin import apply_topics, load_manifest
        from collections_common.settings import ServiceSettings

        settings = ServiceSettings(kafka_bootstrap_servers=self.bootstrap_servers, kafka_topic_prefix=prefix)
        run_to_completion(apply_topics(settings, load_manifest(TOPIC_MANIFEST, profile)))

    def service_env(
        self, service: Service, *, database: str | None = None, prefix: str = ""
    ) -> dict[str, str]:
        """Environment variables that point one service at this stack."""
        return {
            "DATABASE_URL": self.database_url(database or service.database),
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
            "KAFKA_TOPIC_PREFIX": prefix,
            "HTTP_PORT": str(service.http_port),
            "WORKER_PORT": str(service.worker_port),
        }

    def create_service_databases(self) -> None:
        for name in SERVICE_DATABASES:
            self.create_database(name)


@contextmanager
def temporary_stack(prefix: str, *, broker_under: Path | None = None) -> Iterator[Stack]:
    """A stack started in a new temporary directory (named from ``prefix``), stopped and deleted
    with everything it wrote when the block ends (``Stack.destroy``). With ``broker_under``, the
    broker's data goes to a new directory there instead (e.g. ``/dev/shm``: see
    ``benchmarks._infra.benchmark_stack``)."""
    broker_dir = Path(tempfile.mkdtemp(prefix=f"{prefix}kafka-", dir=broker_under)) if broker_under else None
    stack = Stack(Path(tempfile.mkdtemp(prefix=prefix)), broker_dir=broker_dir).start()
    try:
        yield stack
    finally:
        stack.destroy()


def delete_in_background(directory: Path) -> None:
    """Move ``directory`` out of the way under a new name beside it and delete it in a process of
    its own, not awaited: the name is free at once and nothing waits for the files to go."""
    if not directory.exists():
        return
    doomed = directory.with_name(f"{directory.name}.deleting-{os.getpid()}")
    directory.rename(doomed)
    subprocess.Popen(
        ["rm", "-rf", "--", str(doomed)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
