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
        [--profile flame.svg]  # py-spy on the API process during the measured run
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from sqlalchemy.ext.asyncio import create_async_engine

from benchmarks._infra import benchmark_stack, connect
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


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(url: str, script: Path, *, seconds: int, connections: int) -> str:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--debtors", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--profile",
        type=Path,
        help="py-spy the API process during the measured run: an SVG, or collapsed stacks for .txt",
    )
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="contact-permits-bench-"))
    tokens = StaffTokens(logs / "jwks.json")
    with benchmark_stack() as stack:
        database = "contact_permits_bench"
        asyncio.run(load(stack, database, args.debtors))
        port = free_port()
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
            wait_for_status(f"http://127.0.0.1:{port}/healthz", 200, proc=api)
            script = logs / "permits.lua"
            script.write_text(
                LUA.format(last=args.debtors - 1, token=tokens.token("collector", subject="bench"))
            )
            wrk(f"http://127.0.0.1:{port}", script, seconds=3, connections=args.connections)  # warm-up
            before, _ = asyncio.run(decisions(stack, database))
            load_before = os.getloadavg()
            assert api.proc is not None
            cpu_before = cpu_seconds(api.proc.pid)
            profiler = None
            if args.profile is not None:
                assert api.proc is not None
                profiler = subprocess.Popen(
                    [
                        str(Path(sys.executable).parent / "py-spy"),
                        "record",
                        "--pid",
                        str(api.proc.pid),
                        "--duration",
                        str(args.seconds),
                        "--output",
                        str(args.profile),
                        "--nonblocking",
                        "--gil",
                        *(["--format", "raw"] if args.profile.suffix == ".txt" else []),
                    ],
                )
            report = wrk(
                f"http://127.0.0.1:{port}", script, seconds=args.seconds, connections=args.connections
            )
            if profiler is not None:
                profiler.wait(timeout=60)
            load_after = os.getloadavg()
            cpu = cpu_seconds(api.proc.pid) - cpu_before
            stored, allowed = asyncio.run(decisions(stack, database))
        finally:
            api.stop()
    print(report)
    rate = float(re.search(r"Requests/sec:\s+([0-9.]+)", report).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+(\S+)", report).group(1)  # type: ignore[union-attr]
    total = int(re.search(r"([0-9]+) requests in", report).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: ([0-9]+)", report)
    print(
        f"debtors={args.debtors} connections={args.connections} decisions/s={rate:.0f} p99={p99} "
        f"requests={total} non-2xx={errors.group(1) if errors else 0} "
        f"decisions stored={stored} (allowed {allowed}, measured run {stored - before}) "
        f"load average before/after={load_before[0]:.2f}/{load_after[0]:.2f} "
        f"API process CPU {cpu:.1f} s ({100 * cpu / args.seconds:.0f}% of a core, "
        f"{1000 * cpu / max(total, 1):.2f} ms per decision)"
    )


if __name__ == "__main__":
    main()
