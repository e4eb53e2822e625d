"""``devstack up``: the whole system on this machine, until Ctrl-C.

Fetches and starts Apache Kafka (KRaft) and a private PostgreSQL cluster (data in ``.run/``),
creates the topics and the databases, starts the provider sandbox (``provider-sandbox``: what
the contact service sends lands there), migrates and starts every service's API and worker,
publishes a demo portfolio with the core-banking simulator, prints where to look, and on
Ctrl-C stops everything it started.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

from devstack._process import REPO_ROOT, free_port, port_open, stop_process, venv_script, wait_until
from devstack.agency_demo import register_demo_agency
from devstack.prometheus import PrometheusServer, Target
from devstack.stack import SERVICES, Stack

RUN_DIR = REPO_ROOT / ".run"
SANDBOX_HTTP_PORT = 8025
SANDBOX_SMTP_PORT = 2525
DEMO_ARGS = ("--accounts", "200", "--days", "60", "--seed", "1", "--rate", "200")
"""The demo portfolio: 200 accounts over 60 business days from 2026-01-05 (about 1,300 events),
at 200 events/s, so the services' stages change while you watch. Same seed, same events: a
second `make run` on the same `.run/` republishes identical events, which change nothing."""


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
        if with_demo:
            print(f"demo: corebank-simulator {' '.join(DEMO_ARGS)}", flush=True)
            env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap_servers, "KAFKA_TOPIC_PREFIX": ""}
            subprocess.run([venv_script("corebank-simulator"), *DEMO_ARGS], env=env, check=False)
        _print_map(stack, prometheus, logs, sandbox_http)
        if with_demo:
            gateway = next(service for service in SERVICES if service.name == "agency-gateway")
            try:
                print(register_demo_agency(f"http://127.0.0.1:{gateway.http_port}") + "\n", flush=True)
            except Exception as exc:  # noqa: BLE001 - the demo is a convenience; the platform runs on
                print(f"  agency demo skipped: {type(exc).__name__}\n", flush=True)
        while not stopping:
            for proc in processes:
                if proc.poll() is not None:
                    print(f"a service process exited ({proc.args!r}); see {logs}", flush=True)
                    return 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        print("\nstopping...", flush=True)
        prometheus.stop()
        for proc in reversed(processes):
            stop_process(proc, timeout=20)
        stack.stop()
        print("stopped; nothing left running", flush=True)
    return 0


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
