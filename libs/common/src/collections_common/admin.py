"""``collections-admin``: topics from the manifest, dead letters (list, replay), local staff tokens.

    collections-admin topics apply --manifest deploy/topics.yaml --profile local
    collections-admin dlq list corebank.payments.v1
    collections-admin dlq replay corebank.payments.v1 --at 2:3 --at 0:7   (partition:offset, or --all)
    collections-admin staff-token --role collector --sub alice            (ENVIRONMENT=local only)

Kafka's address and the topic prefix come from the same environment variables as the services
(``KAFKA_BOOTSTRAP_SERVERS``, ``KAFKA_TOPIC_PREFIX``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError

from collections_common.auth import Role
from collections_common.runtime.kafka import new_producer, partitions_of
from collections_common.settings import ServiceSettings
from collections_common.staff_tokens import SigningKey

REPLAYED_HEADER = "dlq-replayed-from"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    replication_factor: int
    min_insync_replicas: int
    configs: dict[str, str] = field(default_factory=dict)
    """Kafka topic configs of the manifest (``message.timestamp.type``...), beside min.insync.replicas."""

    @property
    def topic_configs(self) -> dict[str, str]:
        return {"min.insync.replicas": str(self.min_insync_replicas), **self.configs}


def load_manifest(path: Path, profile: str) -> list[TopicSpec]:
    """Every topic of the manifest and its ``.dlq`` twin, sized for ``profile``."""
    manifest: dict[str, Any] = yaml.safe_load(path.read_text())
    settings = manifest["profiles"][profile]
    specs: list[TopicSpec] = []
    for topic in manifest["topics"]:
        partitions = int(topic.get("partitions", manifest["account_keyed_partitions"]))
        configs = {str(name): str(value) for name, value in (topic.get("configs") or {}).items()}
        for name, own in ((topic["name"], configs), (f"{topic['name']}.dlq", {})):
            specs.append(
                TopicSpec(
                    name,
                    partitions,
                    int(settings["replication_factor"]),
                    int(settings["min_insync_replicas"]),
                    own,
                )
            )
    return specs


async def apply_topics(settings: ServiceSettings, specs: Sequence[TopicSpec]) -> list[str]:
    """Create the topics that do not exist yet and set the manifest's configs on those that do;
    return the names created, once the broker's metadata shows each with a leader for every
    partition (:func:`until_described`)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [spec for spec in specs if settings.topic(spec.name) not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # another process was quicker
                await admin.create_topics(
                    [
                        NewTopic(
                            settings.topic(spec.name),
                            spec.partitions,
                            spec.replication_factor,
                            topic_configs=spec.topic_configs,
                        )
                        for spec in missing
                    ]
                )
            await until_described(admin, [settings.topic(spec.name) for spec in missing])
        present = [spec for spec in specs if spec.configs and spec not in missing]
        if present:  # AlterConfigs replaces a topic's configs whole: send the manifest's full set
            await admin.alter_configs(
                [
                    ConfigResource(ConfigResourceType.TOPIC, settings.topic(spec.name), spec.topic_configs)
                    for spec in present
                ]
            )
        return [spec.name for spec in missing]
    finally:
        await admin.close()


async def until_described(admin: AIOKafkaAdminClient, topics: Sequence[str], timeout: float = 30.0) -> None:
    """Wait until the broker's metadata describes ``topics`` with a leader for every partition.

    CreateTopics answers once the controller has created them; the broker's metadata can show
    them a moment later, and a client that starts meanwhile (a service, its partition look-up)
    finds no such topic. Raises ``TimeoutError`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    pending = set(topics)
    while pending:
        for described in await admin.describe_topics(sorted(pending)):
            partitions = described.get("partitions") or []
            if (
                not described.get("error_code")
                and partitions
                and all(not p.get("error_code") and p.get("leader", -1) >= 0 for p in partitions)
            ):
                pending.discard(described["topic"])
        if pending and time.monotonic() > deadline:
            raise TimeoutError(f"topics not in the broker's metadata after {timeout:g} s: {sorted(pending)}")
        if pending:
            await asyncio.sleep(0.05)


@dataclass(frozen=True)
class DeadLetter:
    offset: int
    partition: int
    key: bytes | None
    value: bytes
    headers: dict[str, str]

    @property
    def source(self) -> str:
        """Where the message was consumed from: ``topic[partition]@offset``."""
        h = self.headers
        return f"{h.get('dlq-source-topic')}[{h.get('dlq-source-partition')}]@{h.get('dlq-source-offset')}"

    @property
    def reason(self) -> str:
        return self.headers.get("dlq-reason", "")


async def read_dead_letters(settings: ServiceSettings, topic: str) -> list[DeadLetter]:
    """Everything in ``<topic>.dlq`` from the beginning to the current end."""
    physical = settings.topic(f"{topic}.dlq")
    try:
        partitions = [TopicPartition(physical, p) for p in await partitions_of(settings, physical)]
    except LookupError as exc:
        raise SystemExit(str(exc)) from exc
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        letters: list[DeadLetter] = []
        while any([await consumer.position(tp) < ends[tp] for tp in partitions]):
            for tp, records in (await consumer.getmany(timeout_ms=1000)).items():
                for record in records:
                    if record.offset >= ends[tp]:
                        continue
                    letters.append(
                        DeadLetter(
                            offset=record.offset,
                            partition=tp.partition,
                            key=record.key,
                            value=record.value or b"",
                            headers={k: v.decode("utf-8", "replace") for k, v in record.headers},
                        )
                    )
        return sorted(letters, key=lambda letter: (letter.partition, letter.offset))
    finally:
        await consumer.stop()


async def replay(settings: ServiceSettings, topic: str, letters: Sequence[DeadLetter]) -> int:
    """Publish dead letters back to their source topic (after a fix); returns how many."""
    producer = await new_producer(settings)
    try:
        for letter in letters:
            source = letter.headers.get("dlq-source-topic", topic)
            headers = [
                (name, value.encode())
                for name, value in letter.headers.items()
                if not name.startswith("dlq-")
            ]
            headers.append((REPLAYED_HEADER, f"{letter.partition}:{letter.offset}".encode()))
            await producer.send_and_wait(
                settings.topic(source), letter.value, key=letter.key, headers=headers
            )
        return len(letters)
    finally:
        await producer.stop()


DEV_KEY_NAME = "dev-signing-key.pem"


def staff_token(
    settings: ServiceSettings, *, subject: str, roles: Sequence[str], name: str | None, lifetime: timedelta
) -> str:
    """A staff token the local run's services accept, signed with the dev key kept beside their JWKS.

    The key (and the JWKS naming it) are created on first use; the services read the JWKS file
    again when it changes. Refused outside ``ENVIRONMENT=local`` or when the JWKS is a URL.
    """
    auth = settings.staff_auth
    if settings.environment != "local" or auth is None:
        raise SystemExit("staff-token mints tokens for the local run only (ENVIRONMENT=local)")
    if auth.jwks.startswith(("https://", "http://")):
        raise SystemExit("staff-token needs AUTH_JWKS_URL to be a file: the local run's JWKS")
    jwks_path = Path(auth.jwks.removeprefix("file://"))
    key = SigningKey.load_or_create(jwks_path.parent / DEV_KEY_NAME)
    published = json.loads(jwks_path.read_text()) if jwks_path.exists() else {}
    if key.kid not in {jwk.get("kid") for jwk in published.get("keys", [])}:
        key.write_jwks(jwks_path)
    return key.mint(
        subject=subject,
        roles=roles,
        issuer=auth.issuer,
        audience=auth.audience,
        lifetime=lifetime,
        name=name,
        roles_claim=auth.roles_claim,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="collections-admin")
    groups = parser.add_subparsers(dest="group", required=True)
    topics = groups.add_parser("topics").add_subparsers(dest="command", required=True)
    apply_cmd = topics.add_parser("apply", help="create missing topics from the manifest")
    apply_cmd.add_argument("--manifest", type=Path, default=Path("deploy/topics.yaml"))
    apply_cmd.add_argument("--profile", default="local")
    dlq = groups.add_parser("dlq").add_subparsers(dest="command", required=True)
    list_cmd = dlq.add_parser("list", help="print the dead letters of a topic, one JSON line each")
    list_cmd.add_argument("topic")
    replay_cmd = dlq.add_parser("replay", help="publish dead letters back to their topic")
    replay_cmd.add_argument("topic")
    which = replay_cmd.add_mutually_exclusive_group(required=True)
    which.add_argument("--at", action="append", metavar="PARTITION:OFFSET", help="a dead letter (repeatable)")
    which.add_argument("--all", action="store_true")
    token_cmd = groups.add_parser("staff-token", help="print a staff bearer token for the local run")
    token_cmd.add_argument(
        "--role", action="append", required=True, choices=[role.value for role in Role], help="(repeatable)"
    )
    token_cmd.add_argument("--sub", required=True, help="the staff member's id (the token's subject)")
    token_cmd.add_argument("--name", help="a display name")
    token_cmd.add_argument("--minutes", type=int, default=60, help="lifetime (default 60)")
    args = parser.parse_args(argv)
    settings = ServiceSettings()

    if args.group == "staff-token":
        lifetime = timedelta(minutes=args.minutes)
        print(staff_token(settings, subject=args.sub, roles=args.role, name=args.name, lifetime=lifetime))
        return 0

    if args.group == "topics":
        created = asyncio.run(apply_topics(settings, load_manifest(args.manifest, args.profile)))
        print(json.dumps({"created": created}))
        return 0
    letters = asyncio.run(read_dead_letters(settings, args.topic))
    if args.command == "list":
        for letter in letters:
            print(
                json.dumps(
                    {
                        "partition": letter.partition,
                        "offset": letter.offset,
                        "reason": letter.reason,
                        "source": letter.source,
                    }
                )
            )
        return 0
    wanted = {tuple(int(part) for part in at.split(":", 1)) for at in args.at or ()}
    chosen = (
        letters if args.all else [letter for letter in letters if (letter.partition, letter.offset) in wanted]
    )
    print(json.dumps({"replayed": asyncio.run(replay(settings, args.topic, chosen))}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
