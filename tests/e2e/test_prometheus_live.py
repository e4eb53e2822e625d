"""The dashboards and alert rules against the real thing: Debian's Prometheus scraping every
service's API and worker while the platform works. Every metric a panel or a rule names, that
the code defines, is in what Prometheus scraped; every expression parses in Prometheus itself;
every rule file loads and its rules evaluate without error."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from devstack._process import free_port
from devstack.prometheus import PrometheusServer, Target
from devstack.stack import SERVICES, Stack
from tests.deployment.test_compose import promql_metric_names
from tests.deployment.test_metric_names import (
    SUFFIXES,
    as_promql,
    dashboard_expressions,
    defined_metric_names,
    rule_expressions,
)
from tests.e2e.aging_harness import until
from tests.golden import load_golden_cases
from tests.processes import ServiceProcess, wait_for_status
from tests.service_commands import SERVICE_COMMANDS

pytestmark = [pytest.mark.infra, pytest.mark.slow]


@pytest.fixture
def platform(stack: Stack, topics: str, namespace: str, tmp_path: Path) -> Iterator[list[Target]]:
    """Every service's API and worker, on databases and topics of this test's own."""
    processes: list[ServiceProcess] = []
    targets: list[Target] = []
    try:
        for service in SERVICES:
            database = f"{namespace}_{service.database}"
            stack.create_database(database)
            ports = {"api": free_port(), "worker": free_port()}
            env = {
                **stack.service_env(service, database=database, prefix=topics),
                "HTTP_PORT": str(ports["api"]),
                "WORKER_PORT": str(ports["worker"]),
            }
            commands = {argv[1]: argv for argv in SERVICE_COMMANDS[service.name]}
            ServiceProcess(commands["migrate"], env, tmp_path / f"{service.name}-migrate.log").run()
            for role, port in ports.items():
                process = ServiceProcess(commands[role], env, tmp_path / f"{service.name}-{role}.log").start()
                processes.append(process)
                targets.append(Target(f"127.0.0.1:{port}", service.name, role))
        for process, target in zip(processes, targets, strict=True):  # all start at once
            wait_for_status(f"http://{target.address}/readyz", 200, proc=process)
        yield targets
    finally:
        for process in processes:
            if process.alive:
                process.stop()


async def _work(stack: Stack, topics: str, targets: list[Target]) -> None:
    """Traffic of every kind the boards show: events, stage changes, closes, a dead letter, HTTP."""
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap_servers, enable_idempotence=True)
    await producer.start()
    try:
        for item in load_golden_cases()[0]["events"]:
            key = item["event"]["data"].get("account_id", "calendar").encode()
            await producer.send_and_wait(
                f"{topics}{item['topic']}", json.dumps(item["event"]).encode(), key=key
            )
        await producer.send_and_wait(f"{topics}corebank.payments.v1", b"not an event", key=b"ACC-9")
    finally:
        await producer.stop()
    async with httpx.AsyncClient() as client:
        api = next(t for t in targets if t.service == "aging" and t.process == "api")
        await client.get(f"http://{api.address}/v1/accounts/ACC-1/delinquency")
        await client.get(f"http://{api.address}/v1/accounts/NOPE/delinquency")


async def _families_exported(targets: list[Target]) -> set[str]:
    """The metric families every process's /metrics announces (``# TYPE`` lines)."""
    families: set[str] = set()
    async with httpx.AsyncClient(timeout=10) as client:
        for target in targets:
            text = (await client.get(f"http://{target.address}/metrics")).text
            families |= {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}
    return {_family(name) for name in families} | families


def _family(name: str) -> str:
    for suffixes in SUFFIXES.values():
        for suffix in suffixes:
            if suffix and name.endswith(suffix):
                return name.removesuffix(suffix)
    return name


async def test_every_metric_the_boards_and_rules_name_is_scraped_and_every_expression_parses(
    stack: Stack, topics: str, platform: list[Target], tmp_path: Path
) -> None:
    prometheus = PrometheusServer(tmp_path / "prometheus", platform, interval="1s").start()
    try:
        await _work(stack, topics, platform)
        async with httpx.AsyncClient(base_url=prometheus.url, timeout=10) as client:

            async def every_target_up() -> bool:
                answer = (await client.get("/api/v1/query", params={"query": "up"})).json()
                values = [sample["value"][1] for sample in answer["data"]["result"]]
                return len(values) == len(platform) and set(values) == {"1"}

            await until(every_target_up, what="every service process scraped", timeout=60)
            await asyncio.sleep(3)  # a few scrapes after the traffic

            series = set((await client.get("/api/v1/label/__name__/values")).json()["data"])
            families = set((await client.get("/api/v1/metadata")).json()["data"])
            expressions = dashboard_expressions() + rule_expressions()
            named = {name for _, expr in expressions for name in promql_metric_names(expr)}
            ours = named & defined_metric_names()
            assert len(ours) > 10
            unseen = {name for name in ours if name not in series and _family(name) not in families}
            # A labelled counter has no series before its first event; its family is still exported.
            exported = await _families_exported(platform)
            missing = {name for name in unseen if _family(name) not in exported}
            assert not missing, f"named by a board or rule, defined by the code, but not exported: {missing}"

            for where, expr in expressions:
                answer = await client.get("/api/v1/query", params={"query": as_promql(expr)})
                assert answer.status_code == 200 and answer.json()["status"] == "success", (
                    where,
                    answer.text,
                )

            groups = (await client.get("/api/v1/rules")).json()["data"]["groups"]
            rules = [rule for group in groups for rule in group["rules"]]
            assert len(rules) == len(rule_expressions())
            assert all(rule["health"] != "err" for rule in rules), [r for r in rules if r["health"] == "err"]
    finally:
        prometheus.stop()
