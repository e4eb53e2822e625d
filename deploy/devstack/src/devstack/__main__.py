"""``devstack up``: the whole system on this machine, until Ctrl-C.

Fetches and starts Apache Kafka (KRaft) and a private PostgreSQL cluster (data in ``.run/``),
creates the topics and the databases, starts the provider sandbox (``provider-sandbox``: the
contact service's messages and escalation's letters land there), migrates and starts every
service's API and worker, registers a demo agency, publishes a demo portfolio with the
core-banking simulator, waits until the services have worked it, prints where to look and what
the platform did, and on Ctrl-C (or SIGTERM) stops everything it started.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from devstack._process import (
    REPO_ROOT,
    free_port,
    port_open,
    signals_ignored,
    stop_process,
    venv_script,
    wait_until,
)
from devstack.agency_demo import DEMO_AGENCY, DemoAgency, register_demo_agency
from devstack.demo_summary import (
    Endpoints,
    mint_staff_token,
    pull_cases,
    pull_next_call,
    read_figures,
    render,
    wait_until_settled,
)
from devstack.prometheus import PrometheusServer, Target
from devstack.stack import SERVICES, Stack

RUN_DIR = REPO_ROOT / ".run"
SANDBOX_HTTP_PORT = 8025
SANDBOX_SMTP_PORT = 2525
DEMO_START = date(2026, 1, 5)
DEMO_ARGS = (
    *("--accounts", "200", "--days", "110", "--start", DEMO_START.isoformat()),
    *("--seed", "1", "--rate", "400"),
)
"""The demo portfolio: 200 accounts over 110 business days from 2026-01-05 (to early June, long
enough for accounts that stop paying to reach M3 and M3+), at 400 events/s. Same seed, same
events: a second `make run` on the same `.run/` republishes identical events, which change
nothing."""


def up(with_demo: bool) -> int:
    stack = Stack(
        RUN_DIR,
        kafka_port=9092 if not port_open(9092) else 0,
        postgres_port=5432 if not port_open(5432) else 0,
    )
    processes: list[subprocess.Popen[bytes]] = []
    prometheus = PrometheusServer(
        RUN_DIR / "prometheus",
        [
            Target(f"127.0.0.1:{port}", service.name, process)
            for service in SERVICES
            for process, port in (("api", service.http_port), ("worker", service.worker_port))
        ],
        port=9090 if not port_open(9090) else 0,
    )
    logs = RUN_DIR / "logs"
    stopping = False

    def request_stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    started = time.monotonic()
    offset = contact_demo_clock_offset(datetime.now(UTC)) if with_demo else 0
    try:
        print("starting Kafka and PostgreSQL...", flush=True)
        stack.start()
        stack.apply_topics()
        stack.create_service_databases()
        logs.mkdir(parents=True, exist_ok=True)
        sandbox_http = SANDBOX_HTTP_PORT if not port_open(SANDBOX_HTTP_PORT) else free_port()
        sandbox_smtp = SANDBOX_SMTP_PORT if not port_open(SANDBOX_SMTP_PORT) else free_port()
        with (logs / "provider-sandbox.log").open("ab") as log:
            processes.append(
                subprocess.Popen(
                    [
                        venv_script("provider-sandbox"),
                        *("--http-port", str(sandbox_http), "--smtp-port", str(sandbox_smtp)),
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        for port in (sandbox_http, sandbox_smtp):
            wait_until(partial(port_open, port), timeout=30, what=f"provider sandbox on port {port}")
        for service in SERVICES:
            env = {**os.environ, **stack.service_env(service)}
            if service.name == "contact":
                env.update(sandbox_env(sandbox_http, sandbox_smtp))
                env["CLOCK_OFFSET_SECONDS"] = str(offset)
            if service.name == "escalation":
                env["LETTER_PROVIDER_URL"] = f"http://127.0.0.1:{sandbox_http}"
            subprocess.run(
                [venv_script(service.script), "migrate"],
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for role in ("api", "worker"):
                with (logs / f"{service.name}-{role}.log").open("ab") as log:
                    processes.append(
                        subprocess.Popen(
                            [venv_script(service.script), role],
                            env=env,
                            stdout=log,
                            stderr=subprocess.STDOUT,
                            start_new_session=True,
                        )
                    )
        for service in SERVICES:
            for port in (service.http_port, service.worker_port):
                wait_until(partial(port_open, port), timeout=60, what=f"{service.name} on port {port}")
        prometheus.start()
        print(f"platform up in {time.monotonic() - started:.0f}s", flush=True)
        summary = _demo(stack, sandbox_http) if with_demo else ""
        _print_map(stack, prometheus, logs, sandbox_http)
        if offset:
            print(
                f"  The contact service's sender runs {offset / 3600:.1f} h ahead "
                f"(CLOCK_OFFSET_SECONDS={offset}):\n  its clock reads {DEMO_CLOCK:%H:%M} in {DEMO_ZONE}, "
                "so the reminders planned for today\n  go out now, within the debtors' calling hours.\n",
                flush=True,
            )
        if summary:
            print(summary, flush=True)
        while not stopping:
            for proc in processes:
                if proc.poll() is not None:
                    print(f"a service process exited ({proc.args!r}); see {logs}", flush=True)
                    return 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        # Ctrl-C again (or SIGTERM) while stopping would cut the stops short and leave the
        # processes not yet stopped running; each stop below is bounded by its own timeout.
        with signals_ignored(signal.SIGINT, signal.SIGTERM):
            print("\nstopping (a few seconds; Ctrl-C again is not needed)...", flush=True)
            prometheus.stop()
            for proc in reversed(processes):
                stop_process(proc, timeout=20)
            stack.stop()
            print("stopped; nothing left running", flush=True)
    return 0


DEMO_ZONE = ZoneInfo("Asia/Shanghai")
DEMO_CLOCK = clock_time(10, 30)


def contact_demo_clock_offset(now: datetime) -> int:
    """Seconds from ``now`` to the next 10:30 in Shanghai (where most demo debtors live).

    Each treatment plan is laid out in the debtors' local days from when their case entered a
    stage (now, for the demo), its first reminders at 10:00; the contact sender, moved to 10:30,
    finds them due and inside calling hours, whenever ``make run`` is started.
    """
    local = now.astimezone(DEMO_ZONE)
    target = datetime.combine(local.date(), DEMO_CLOCK, DEMO_ZONE)
    if target <= local:
        target = datetime.combine(local.date() + timedelta(days=1), DEMO_CLOCK, DEMO_ZONE)
    return int((target - local).total_seconds())


def _endpoints(sandbox_http: int) -> Endpoints:
    ports = {service.name: service.http_port for service in SERVICES}
    return Endpoints(
        aging=f"http://127.0.0.1:{ports['aging']}",
        contact=f"http://127.0.0.1:{ports['contact']}",
        escalation=f"http://127.0.0.1:{ports['escalation']}",
        gateway=f"http://127.0.0.1:{ports['agency-gateway']}",
        sandbox=f"http://127.0.0.1:{sandbox_http}",
    )


def _demo(stack: Stack, sandbox_http: int) -> str:
    """Register the demo agency, publish the portfolio, wait for the services; the text to print.

    The demo is a convenience: a failure is reported in the text and the platform runs on.
    """
    endpoints = _endpoints(sandbox_http)
    escalation = next(service for service in SERVICES if service.name == "escalation")
    text: list[str] = []
    agency: DemoAgency | None = None
    try:
        token = mint_staff_token("devstack-demo", "make run", "supervisor", "collector")
        agency = register_demo_agency(endpoints.gateway, business_start=DEMO_START)
        text.append(agency.instructions + "\n")
        wait_until(
            partial(_escalation_knows, endpoints.escalation, token, DEMO_AGENCY),
            timeout=60,
            what=f"{DEMO_AGENCY} in escalation's registry",
        )
        print(f"demo: {DEMO_AGENCY} registered; corebank-simulator {' '.join(DEMO_ARGS)}", flush=True)
        began = time.monotonic()
        env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap_servers, "KAFKA_TOPIC_PREFIX": ""}
        subprocess.run([venv_script("corebank-simulator"), *DEMO_ARGS], env=env, check=True)
        published = time.monotonic() - began
        print(f"demo: published in {published:.0f}s; waiting for the services to work it...", flush=True)
        worker = f"http://127.0.0.1:{escalation.worker_port}"
        figures, waited = wait_until_settled(lambda: read_figures(endpoints, token, worker, DEMO_AGENCY))
        collector = mint_staff_token("alice", "Alice Wang", "collector")
        figures.next_call = pull_next_call(endpoints.contact, collector)
        figures.pulled_cases = pull_cases(endpoints.gateway, agency.client_id, agency.client_secret)
        text.append(
            f"  Demo: published in {published:.0f}s, worked by the services {waited:.0f}s later.\n"
            + render(figures, endpoints, DEMO_AGENCY)
        )
    except Exception as exc:  # noqa: BLE001 - the demo is a convenience; the platform runs on
        text.append(f"  demo incomplete: {type(exc).__name__}: {exc}\n")
    return "\n".join(text)


def _escalation_knows(escalation: str, token: str, agency_id: str) -> bool:
    answer = httpx.get(f"{escalation}/v1/agencies", headers={"Authorization": f"Bearer {token}"}, timeout=5)
    return answer.status_code == 200 and any(a["agency_id"] == agency_id for a in answer.json()["items"])


def sandbox_env(http_port: int, smtp_port: int) -> dict[str, str]:
    """The contact service's provider settings pointing at the provider sandbox."""
    base = f"http://127.0.0.1:{http_port}/v1"
    return {
        "SMS_URL": f"{base}/sms",
        "PUSH_URL": f"{base}/push",
        "IVR_URL": f"{base}/ivr",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
    }


def _print_map(stack: Stack, prometheus: PrometheusServer, logs: Path, sandbox_http: int) -> None:
    print("\nThe collections platform is running (Ctrl-C stops everything):\n")
    print(f"  Kafka       {stack.bootstrap_servers}")
    server = stack.admin_url.rsplit("/", 1)[0]
    print(f"  PostgreSQL  {server}  (databases: aging, contact, escalation, agency_gateway)")
    for service in SERVICES:
        base = f"http://127.0.0.1:{service.http_port}"
        print(
            f"  {service.name:<15} API {base}{'' if service.name == 'agency-gateway' else '/docs'}   "
            f"metrics {base}/metrics   "
            f"worker http://127.0.0.1:{service.worker_port}/metrics"
        )
    print(f"  Prometheus  {prometheus.url}  (every API and worker, and the alert rules)")
    print(
        f"  Provider sandbox  http://127.0.0.1:{sandbox_http}/v1/messages  "
        "(the SMS, push, IVR and e-mail the contact service sent)"
    )
    print(f"\n  logs: {logs}\n", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="devstack")
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("up", help="start the whole system locally")
    start.add_argument("--no-demo", action="store_true", help="do not publish demo data")
    args = parser.parse_args()
    sys.exit(up(with_demo=not args.no_demo))


if __name__ == "__main__":
    main()
