"""A real Apache Kafka broker, fetched from Maven Central and run on Java 17 in KRaft mode.

The broker version is pinned in ``deploy/kafka/pom.xml``; ``fetch`` copies the broker and its
runtime dependencies into ``.cache/kafka-<version>/libs`` once, and later runs reuse them.
"""

from __future__ import annotations

import asyncio
import base64
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from devstack._process import REPO_ROOT, cache_dir, free_port, port_open, stop_process, wait_until

POM = REPO_ROOT / "deploy" / "kafka" / "pom.xml"
LOG4J_CONFIG = REPO_ROOT / "deploy" / "kafka" / "log4j2.properties"
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"


def kafka_version() -> str:
    match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", POM.read_text())
    if match is None:
        raise RuntimeError(f"no <kafka.version> in {POM}")
    return match.group(1)


def fetch() -> Path:
    """Return the folder of broker jars, fetching them with Maven if this is the first run."""
    libs = cache_dir() / f"kafka-{kafka_version()}" / "libs"
    if (libs / ".complete").exists():
        return libs
    if shutil.which("mvn") is None:
        raise RuntimeError("Maven (mvn) is needed to fetch Apache Kafka; run scripts/bootstrap.sh")
    libs.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="libs-", dir=libs.parent))
    subprocess.run(
        [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(POM),
            f"{DEPENDENCY_PLUGIN}:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={staging}",
        ],
        check=True,
    )
    (staging / ".complete").write_text(kafka_version())
    if libs.exists():
        shutil.rmtree(libs)
    staging.rename(libs)
    return libs


JIT_OPTIONS: tuple[str, ...] = ("-XX:TieredStopAtLevel=1",)
"""Compile with C1 only. The brokers started here live for a test session, a benchmark or a
demo on a small machine; for those, the C2 compiler's work costs more than its faster code
saves. Measured (docs/benchmarks.md, "The broker's compiler"): a broker relaying 1,000
messages/s through two consumers used 0.5-0.8 ms of CPU per message over its first four rounds
of 5,000 messages with C2, settling near 0.3 ms only after that; with C1 only, 0.32-0.38 ms from
the second round. A production broker (``docker-compose.yml``) keeps the JVM's defaults."""


def _java(libs: Path, *args: str, heap: str | None = None) -> list[str]:
    memory = [f"-Xms{heap}", f"-Xmx{heap}"] if heap else []
    return [
        "java",
        *JIT_OPTIONS,
        *memory,
        "-cp",
        f"{libs}/*",
        f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
        *args,
    ]


MIN_SESSION_TIMEOUT_MS = 1000
"""The shortest consumer session the broker accepts (Kafka's default floor is 6 s). The services
ask for 10 s unless ``KAFKA_SESSION_TIMEOUT_MS`` says otherwise; the test session asks for less
(``tests/conftest.py``), so a worker killed by a test is replaced in the group sooner."""


@dataclass
class KafkaBroker:
    """One combined broker+controller node on loopback, with its data in ``data_dir``."""

    data_dir: Path
    port: int = 0
    controller_port: int = 0
    heap: str = "512m"
    config: dict[str, str] = field(default_factory=dict)
    """Broker settings over those below, written at each ``start``."""
    _proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "broker.log"

    def start(self, timeout: float = 90.0) -> KafkaBroker:
        libs = fetch()
        self.port = self.port or free_port()
        self.controller_port = self.controller_port or free_port()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        logs = self.data_dir / "kraft-logs"
        config = self.data_dir / "server.properties"
        config.write_text(self._properties(logs))
        if not (logs / "meta.properties").exists():
            subprocess.run(
                _java(
                    libs,
                    "kafka.tools.StorageTool",
                    "format",
                    "--standalone",
                    "-t",
                    new_cluster_id(),
                    "-c",
                    str(config),
                ),
                check=True,
                capture_output=True,
            )
        with self.log_file.open("ab") as log:
            self._proc = subprocess.Popen(
                _java(libs, "kafka.Kafka", str(config), heap=self.heap),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(
            lambda: port_open(self.port),
            timeout=timeout,
            what="Kafka broker",
            proc=self._proc,
            log=self.log_file,
        )
        wait_until(
            self._metadata_answers, timeout=timeout, what="Kafka metadata", proc=self._proc, log=self.log_file
        )
        return self

    def stop(self) -> None:
        if self._proc is not None:
            stop_process(self._proc, timeout=30)
            self._proc = None

    def kill(self) -> None:
        """Stop at once (SIGKILL), for a broker whose data is thrown away."""
        if self._proc is not None:
            stop_process(self._proc, sig=signal.SIGKILL, timeout=10)
            self._proc = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def _properties(self, logs: Path) -> str:
        settings = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.bootstrap.servers": f"127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(logs),
            "num.partitions": "1",
            "auto.create.topics.enable": "false",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "6",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "group.min.session.timeout.ms": str(MIN_SESSION_TIMEOUT_MS),
            **self.config,
        }
        return "".join(f"{key}={value}\n" for key, value in settings.items())

    def _metadata_answers(self) -> bool:
        result: list[bool] = []

        def probe() -> None:
            result.append(asyncio.run(_cluster_answers(self.bootstrap_servers)))

        thread = threading.Thread(target=probe)
        thread.start()
        thread.join()
        return bool(result and result[0])


def new_cluster_id() -> str:
    """A cluster id as ``kafka-storage random-uuid`` makes one (without starting a JVM for it): a
    random UUID in URL-safe base64 without padding, never starting with ``-`` (Kafka's
    ``Uuid.randomUuid`` draws again then, such an id reading like a command-line option)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


async def _cluster_answers(bootstrap_servers: str) -> bool:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=3000)
    try:
        await admin.start()
        await admin.describe_cluster()
        return True
    except Exception:  # noqa: BLE001 - any failure means "not yet"
        return False
    finally:
        await admin.close()
