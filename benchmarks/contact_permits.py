"""Benchmark: contact permit decisions per second and their latency on one contact API worker.

``--debtors`` debtors are opened through the contact worker's own handlers (in process, in
batches). One ``contact-service api`` process (one uvicorn worker) then answers
``POST /v1/contact-permits`` from wrk's concurrent connections, each request for a random
debtor's own phone, an SMS or an unattended call by the bank, at a random time of March 2026
inside or outside the hours: every request is a full reservation (the debtor's advisory lock,
the case and its history loaded, the decision stored with its rule, a block event in the
outbox), authenticated with a staff token. wrk reports requests per second and latency
percentiles; the stored decisions are counted afterwards, and the API process's CPU time in the
measured run (per decision, a figure less sensitive than the rate to other load on the machine).
Target: at least 500/s, p99 under 50 ms.

    .venv/bin/python -m benchmarks.contact_permits [--debtors 10000] [--seconds 20] [--connections 16]
        [--rate 500 [--paced-connections 64]]
        [--profile flame.svg]  # py-spy on the API process during the measured run

The first run is closed-loop: each connection sends its next request as soon as the last is
answered (the most decisions a second the API gives, and the latency at that saturation). With
``--rate R`` a second run against the same API offers about R requests a second instead
(``benchmarks._infra.paced``: each of ``--paced-connections`` connections waits
``connections / R`` between requests), which gives the latency at that load; both are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import create_async_engine

from benchmarks._infra import benchmark_stack, connect, cpu_seconds, paced, postgres_cpu_seconds, wrk
from devstack._process import free_port
from devstack.stack import Stack
from tests.auth_tokens import AUDIENCE, ISSUER, StaffTokens
from tests.contact_harness import CONTACT, apply, opened
from tests.processes import ServiceProcess, wait_for_status
from tests.service_commands import SERVICE_COMMANDS

API = next(argv for argv in SERVICE_COMMANDS["contact"] if argv[1] == "api")
LUA = """
math.randomseed(os.time())
local headers = {{["Authorization"] = "Bearer {token}", ["Content-Type"] = "application/json"}}
local channels = {{"sms", "call"}}
request = function()
  local n = math.random(0, {last})
  local day, hour, minute = math.random(1, 28), math.random(0, 23), math.random(0, 59)
  local at = string.format("2026-03-%02dT%02d:%02d:00Z", day, hour, minute)
  local body = string.format(
    '{{"account_id": "A%06d", "channel": "%s", "contact_point": "+86138%08d", "at": "%s"}}',
    n, channels[math.random(1, 2)], n, at)
  return wrk.format("POST", "/v1/contact-permits", headers, body)
end
"""


def phone(n: int) -> str:
    return f"+86138{n:08d}"


async def load(stack: Stack, database: str, debtors: int) -> None:
    """The debtors, opened through the worker's handlers in batches of 500."""
    from contact_service.bootstrap import SERVICE
    from contact_service.settings import ContactSettings

    stack.create_database(database)
    settings = ContactSettings(database_url=stack.database_url(database))
    SERVICE.migrate(settings)
    engine = create_async_engine(settings.database_url)
    try:
        for first in range(0, debtors, 500):
            await apply(
                engine,
                settings,
                *(
                    opened(f"A{n:06d}", f"C{n:06d}", phones=[phone(n)])
                    for n in range(first, min(first + 500, debtors))
                ),
            )
    finally:
        await engine.dispose()
    conn = await connect(stack, database)
    try:
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def decisions(stack: Stack, database: str) -> tuple[int, int]:
    conn = await connect(stack, database)
    try:
        row = await conn.fetchrow(
            "SELECT count(*) AS n, count(*) FILTER (WHERE allowed) AS allowed FROM permits"
        )
        assert row is not None
        return int(row["n"]), int(row["allowed"])
    finally:
        await conn.close()


@dataclass(frozen=True)
class Run:
    """One measured wrk run against the API process."""

    label: str
    connections: int
    report: str
    stored: int
    load_before: float
    load_after: float
    cpu: float
    postgres_cpu: float
    seconds: int

    def summary(self) -> str:
        report = self.report
        rate = float(re.search(r"Requests/sec:\s+([0-9.]+)", report).group(1))  # type: ignore[union-attr]
        # the latency distribution's lines ("    50%   12.34ms"), not a +/- Stdev column ("68.50%")
        p50 = re.search(r"^\s+50%\s+(\S+)", report, re.MULTILINE).group(1)  # type: ignore[union-attr]
        p99 = re.search(r"^\s+99%\s+(\S+)", report, re.MULTILINE).group(1)  # type: ignore[union-attr]
        total = int(re.search(r"([0-9]+) requests in", report).group(1))  # type: ignore[union-attr]
        errors = re.search(r"Non-2xx or 3xx responses: ([0-9]+)", report)
        return (
            f"{self.label}: connections={self.connections} decisions/s={rate:.0f} p50={p50} p99={p99} "
            f"requests={total} non-2xx={errors.group(1) if errors else 0} "
            f"decisions stored in the run={self.stored} "
            f"load average before/after={self.load_before:.2f}/{self.load_after:.2f} "
            f"API process CPU {self.cpu:.1f} s ({100 * self.cpu / self.seconds:.0f}% of a core, "
            f"{1000 * self.cpu / max(total, 1):.2f} ms per decision); "
            f"PostgreSQL CPU {self.postgres_cpu:.1f} s "
            f"({1000 * self.postgres_cpu / max(total, 1):.2f} ms per decision)"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--debtors", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rate", type=int, default=None, help="then offer about this many a second")
    parser.add_argument("--paced-connections", type=int, default=64, help="connections of the paced run")
    parser.add_argument(
        "--profile",
        type=Path,
        help="py-spy the API process during the closed-loop run: an SVG, or collapsed stacks for .txt",
    )
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="contact-permits-bench-"))
    tokens = StaffTokens(logs / "jwks.json")
    runs: list[Run] = []
    with benchmark_stack() as stack:
        database = "contact_permits_bench"
        asyncio.run(load(stack, database, args.debtors))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {
            **stack.service_env(CONTACT, database=database),
            "HTTP_PORT": str(port),
            "ENVIRONMENT": "test",
            "AUTH_JWKS_URL": str(tokens.jwks_path),
            "AUTH_ISSUER": ISSUER,
            "AUTH_AUDIENCE": AUDIENCE,
            "LOG_LEVEL": "WARNING",
            "DATABASE_POOL_SIZE": "20",
        }
        api = ServiceProcess(API, env, logs / "api.log").start()
        try:
            wait_for_status(f"{url}/healthz", 200, proc=api)
            assert api.proc is not None
            pid = api.proc.pid
            lua = LUA.format(last=args.debtors - 1, token=tokens.token("collector", subject="bench"))
            script = logs / "permits.lua"
            script.write_text(lua)
            wrk(url, script, seconds=3, connections=args.connections)  # warm-up

            def measure(label: str, script: Path, connections: int, profile: Path | None) -> Run:
                before = asyncio.run(decisions(stack, database))[0]
                load_before, cpu_before = os.getloadavg()[0], cpu_seconds(pid)
                postgres_before = postgres_cpu_seconds(stack)
                profiler = None if profile is None else py_spy(pid, args.seconds, profile)
                report = wrk(url, script, seconds=args.seconds, connections=connections)
                if profiler is not None:
                    profiler.wait(timeout=60)
                load_after, cpu = os.getloadavg()[0], cpu_seconds(pid) - cpu_before
                postgres_cpu = postgres_cpu_seconds(stack) - postgres_before
                stored = asyncio.run(decisions(stack, database))[0] - before
                return Run(
                    label,
                    connections,
                    report,
                    stored,
                    load_before,
                    load_after,
                    cpu,
                    postgres_cpu,
                    args.seconds,
                )

            runs.append(measure("closed loop", script, args.connections, args.profile))
            if args.rate:
                paced_script = logs / "permits-paced.lua"
                paced_script.write_text(lua + paced(args.rate, args.paced_connections))
                runs.append(measure(f"offered {args.rate}/s", paced_script, args.paced_connections, None))
            stored, allowed = asyncio.run(decisions(stack, database))
        finally:
            api.stop()
    for run in runs:
        print(run.report)
    print(f"debtors={args.debtors} decisions stored={stored} (allowed {allowed})")
    for run in runs:
        print(run.summary())


def py_spy(pid: int, seconds: int, out: Path) -> subprocess.Popen[bytes]:
    """py-spy recording process ``pid`` for ``seconds`` (samples holding the GIL) into ``out``."""
    command = [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid)]
    command += ["--duration", str(seconds), "--output", str(out), "--nonblocking", "--gil"]
    return subprocess.Popen([*command, *(["--format", "raw"] if out.suffix == ".txt" else [])])


if __name__ == "__main__":
    main()
