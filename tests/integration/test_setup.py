"""The project's own infrastructure: a real broker, a real database, services that know it."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from devstack._process import free_port
from devstack.postgres import PostgresCluster
from devstack.stack import SERVICES, Stack
from tests.e2e.aging_harness import read_all, until
from tests.processes import ServiceProcess, wait_for_status
from tests.service_commands import SERVICE_COMMANDS

pytestmark = pytest.mark.infra


class TestBroker:
    async def test_a_message_goes_through_a_real_topic(self, stack: Stack, topics: str) -> None:
        topic = f"{topics}corebank.payments.v1"
        producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap_servers, enable_idempotence=True)
        await producer.start()
        try:
            sent = await producer.send_and_wait(topic, b"hello", key=b"ACC-1")
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=stack.bootstrap_servers,
            group_id=f"g-{uuid.uuid4()}",
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            batch = await consumer.getmany(timeout_ms=10_000)
        finally:
            await consumer.stop()
        records = [record for records in batch.values() for record in records]
        assert [(r.key, r.value, r.partition) for r in records] == [(b"ACC-1", b"hello", sent.partition)]

    def test_account_keyed_topics_are_co_partitioned_and_the_calendar_has_one_partition(
        self, stack: Stack, topics: str
    ) -> None:
        from collections_common.admin import load_manifest
        from devstack.stack import TOPIC_MANIFEST

        specs = {spec.name: spec for spec in load_manifest(TOPIC_MANIFEST, "local")}
        keyed = {name: spec.partitions for name, spec in specs.items() if "calendar" not in name}
        assert len(set(keyed.values())) == 1 and next(iter(keyed.values())) > 1
        assert specs["corebank.calendar.v1"].partitions == 1
        assert all(f"{name}.dlq" in specs for name in specs if not name.endswith(".dlq"))

    async def test_topics_applied_can_be_looked_up_at_once_and_a_missing_one_is_waited_for_in_vain(
        self, stack: Stack, namespace: str
    ) -> None:
        """``apply_topics`` returns once the broker's metadata shows what it created: a service
        started right after it (its partition look-ups) finds every topic."""
        from aiokafka.admin import AIOKafkaAdminClient

        from collections_common.admin import apply_topics, load_manifest, until_described
        from collections_common.runtime.kafka import partitions_of
        from collections_common.settings import ServiceSettings
        from devstack.stack import TOPIC_MANIFEST

        settings = ServiceSettings(
            kafka_bootstrap_servers=stack.bootstrap_servers, kafka_topic_prefix=f"{namespace}."
        )
        specs = load_manifest(TOPIC_MANIFEST, "local")
        await apply_topics(settings, specs)
        looked_up = await asyncio.gather(
            *(partitions_of(settings, settings.topic(spec.name)) for spec in specs)
        )
        assert [len(partitions) for partitions in looked_up] == [spec.partitions for spec in specs]

        admin = AIOKafkaAdminClient(bootstrap_servers=stack.bootstrap_servers)
        await admin.start()
        try:
            with pytest.raises(TimeoutError, match="not in the broker's metadata"):
                await until_described(admin, [f"{namespace}.never-created"], timeout=0.2)
        finally:
            await admin.close()

    def test_collections_admin_topics_apply_creates_every_topic_of_the_manifest(
        self, stack: Stack, namespace: str, tmp_path: Path
    ) -> None:
        """The command ``docker-compose.yml`` runs (the test session's fixtures apply the manifest
        in-process, through the same ``apply_topics``)."""
        from collections_common.admin import load_manifest
        from devstack.stack import TOPIC_MANIFEST

        env = {"KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap_servers, "KAFKA_TOPIC_PREFIX": f"{namespace}."}
        command = ServiceProcess(
            ["collections-admin", "topics", "apply", "--manifest", str(TOPIC_MANIFEST), "--profile", "local"],
            env,
            tmp_path / "topics.log",
        )
        command.run()
        created = json.loads(command.output().strip().splitlines()[-1])["created"]
        assert sorted(created) == sorted(spec.name for spec in load_manifest(TOPIC_MANIFEST, "local"))


class TestServicesReadiness:
    def test_each_service_is_ready_against_kafka_and_postgres_and_not_ready_without_its_database(
        self, stack: Stack, private_postgres: PostgresCluster, tmp_path: Path
    ) -> None:
        apis: dict[str, tuple[ServiceProcess, int]] = {}
        try:
            for service in SERVICES:
                url = private_postgres.create_database(service.database)
                port = free_port()
                env = {
                    "DATABASE_URL": url,
                    "KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap_servers,
                    "HTTP_PORT": str(port),
                    "WORKER_PORT": str(free_port()),
                }
                commands = {argv[1]: argv for argv in SERVICE_COMMANDS[service.name]}
                ServiceProcess(commands["migrate"], env, tmp_path / f"{service.name}-migrate.log").run()
                apis[service.name] = (
                    ServiceProcess(commands["api"], env, tmp_path / f"{service.name}.log").start(),
                    port,
                )

            for name, (proc, port) in apis.items():
                ready = wait_for_status(f"http://127.0.0.1:{port}/readyz", 200, proc=proc).json()
                assert ready == {"status": "ready", "checks": {"database": "ok", "kafka": "ok"}}, name
                assert wait_for_status(f"http://127.0.0.1:{port}/healthz", 200).json() == {"status": "alive"}
                assert "python_info" in wait_for_status(f"http://127.0.0.1:{port}/metrics", 200).text
                # The internet-facing gateway serves no API documentation unless API_DOCS is set.
                docs = 404 if name == "agency-gateway" else 200
                assert wait_for_status(f"http://127.0.0.1:{port}/docs", docs).status_code == docs

            private_postgres.stop()
            for name, (proc, port) in apis.items():
                not_ready = wait_for_status(f"http://127.0.0.1:{port}/readyz", 503, proc=proc).json()
                assert not_ready["status"] == "not ready", name
                assert not_ready["checks"]["kafka"] == "ok"
                assert not_ready["checks"]["database"] != "ok"
                assert wait_for_status(f"http://127.0.0.1:{port}/healthz", 200).status_code == 200

            private_postgres.start()
            for _, (proc, port) in apis.items():
                wait_for_status(f"http://127.0.0.1:{port}/readyz", 200, proc=proc)
        finally:
            codes = {name: proc.stop() for name, (proc, _) in apis.items()}
        assert codes == {service.name: 0 for service in SERVICES}, "each API stops cleanly on SIGTERM"

    async def test_each_worker_consumes_its_topics_publishes_serves_health_and_stops_cleanly(
        self, stack: Stack, topics: str, namespace: str, tmp_path: Path
    ) -> None:
        """Each worker is shown a record on one of its input topics that is not an event: it reads
        it and its relay publishes the dead letter, naming the worker's consumer group."""
        workers: dict[str, tuple[ServiceProcess, int]] = {}
        try:
            for service in SERVICES:
                database = f"{namespace}_{service.database}"
                stack.create_database(database)
                port = free_port()
                env = {
                    **stack.service_env(service, database=database, prefix=topics),
                    "WORKER_PORT": str(port),
                    "HTTP_PORT": str(free_port()),
                }
                commands = {argv[1]: argv for argv in SERVICE_COMMANDS[service.name]}
                ServiceProcess(commands["migrate"], env, tmp_path / f"{service.name}-migrate.log").run()
                workers[service.name] = (
                    ServiceProcess(commands["worker"], env, tmp_path / f"{service.name}-worker.log").start(),
                    port,
                )
            for name, (proc, port) in workers.items():
                ready = wait_for_status(f"http://127.0.0.1:{port}/readyz", 200, proc=proc).json()
                assert ready["status"] == "ready", name

            producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap_servers, enable_idempotence=True)
            await producer.start()
            try:
                for topic in sorted(set(PROBE_TOPICS.values())):
                    await producer.send_and_wait(f"{topics}{topic}", b"not an event", key=b"ACC-probe")
            finally:
                await producer.stop()

            async def dead_lettered_by() -> set[str]:
                consumers: set[str] = set()
                for topic in set(PROBE_TOPICS.values()):
                    for headers, value in await read_all(stack, f"{topics}{topic}.dlq"):
                        assert value == b"not an event"
                        consumers.add(headers["dlq-consumer"])
                return consumers

            expected = {f"collections-{service.name}" for service in SERVICES}
            await until(lambda: _covers(dead_lettered_by(), expected), what="every worker dead-lettered")

            for name, (_, port) in workers.items():
                metrics = wait_for_status(f"http://127.0.0.1:{port}/metrics", 200).text
                held = [
                    float(line.split()[-1])
                    for line in metrics.splitlines()
                    if line.startswith("collections_outbox_lanes_held")
                ]
                assert held and held[0] > 0, f"{name}'s relay holds outbox lanes"
        finally:
            codes = {name: proc.stop() for name, (proc, _) in workers.items()}
        assert codes == {service.name: 0 for service in SERVICES}, "each worker stops cleanly on SIGTERM"


PROBE_TOPICS = {
    "aging": "corebank.payments.v1",
    "contact": "collections.delinquency.v1",
    "escalation": "collections.delinquency.v1",
    "agency-gateway": "collections.escalation.v1",
}
"""One input topic of each worker."""


async def _covers(found: Awaitable[set[str]], expected: set[str]) -> bool:
    return expected <= await found
