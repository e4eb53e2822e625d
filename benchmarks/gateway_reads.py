"""Benchmark (c): agency case reads through the gateway's HTTP API, with wrk.

100,000 cases are placed with one agency (loaded with SQL, not through Kafka). One gateway API
process (one uvicorn worker) answers ``GET /v1/cases/{case_id}`` for random cases, each read
authenticated (token, client and agency looked up), authorised (placed with the agency) and
audited (a ``personal_data_reads`` row committed). wrk reports requests per second and latency
percentiles; the audit rows are counted afterwards. The API process's CPU time per read and the
load average are printed too: on a shared machine they say more than the rate.

    .venv/bin/python -m benchmarks.gateway_reads [--cases 100000] [--seconds 20] [--connections 32]
        [--rate 1000]

Without ``--rate`` each connection sends its next request as soon as the last is answered (the
most the API answers, and the latency at that saturation). ``--rate R`` offers about R reads a
second instead: each connection waits ``connections / R`` seconds between its requests (wrk's
``delay()``; the latency wrk reports leaves the wait out), which shows the latency at that load.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import re
import secrets
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks._infra import benchmark_stack, connect, cpu_seconds, paced, wrk
from devstack._process import free_port
from devstack.stack import SERVICES, Stack
from tests.processes import ServiceProcess, wait_for_status
from tests.service_commands import SERVICE_COMMANDS

GATEWAY = next(service for service in SERVICES if service.name == "agency-gateway")
API = next(argv for argv in SERVICE_COMMANDS["agency-gateway"] if argv[1] == "api")
DEBTOR = {
    "name": "Zhang Wei",
    "national_id_last4": "451X",
    "contact_points": [{"kind": "phone", "value": "+8613800000001"}],
    "region": "CN-31",
    "language": "zh-CN",
}
LUA = """
math.randomseed(os.time())
local headers = {{["Authorization"] = "Bearer {token}"}}
request = function()
  local case_id = string.format("K%07d", math.random(0, {last}))
  return wrk.format("GET", "/v1/cases/" .. case_id, headers)
end
"""


async def load(stack: Stack, database: str, cases: int) -> str:
    """The placed cases, one agency and a live token for its client; returns the token."""
    from agency_gateway.bootstrap import SERVICE
    from agency_gateway.settings import AgencyGatewaySettings

    stack.create_database(database)
    SERVICE.migrate(AgencyGatewaySettings(database_url=stack.database_url(database)))
    conn = await connect(stack, database)
    try:
        await conn.execute(
            "INSERT INTO agencies (agency_id, name, regions, capacity, active, contract_start, contract_end,"
            " review_due, updated_by, change_sequence)"
            " VALUES ('AG-BENCH', 'Bench', '{CN-31}', $1::integer, true,"
            " current_date - 10, current_date + 300, current_date + 200, 'benchmark', $1::bigint)",
            cases,
        )
        await conn.execute(
            "INSERT INTO placements (placement_id, case_id, agency_id, account_id, customer_id, status,"
            " placed_on, ends_on, stage, dpd, past_due_minor, currency, debtor, sequence)"
            " SELECT 'PL' || to_char(n, 'FM0000000'), 'K' || to_char(n, 'FM0000000'), 'AG-BENCH',"
            " 'A' || to_char(n, 'FM0000000'), 'C' || to_char(n, 'FM0000000'), 'placed', current_date,"
            " current_date + 90, 'M3', 75, 120000, 'CNY', $1::jsonb, n + 1"
            " FROM generate_series(0, $2 - 1) AS n",
            json.dumps(DEBTOR),
            cases,
        )
        await conn.execute(
            "INSERT INTO placement_accounts (placement_id, account_id, stage, dpd, past_due_minor, currency)"
            " SELECT placement_id, account_id, stage, dpd, past_due_minor, currency FROM placements"
        )
        await conn.execute(
            "INSERT INTO api_clients (client_id, agency_id, secret_hash, created_by)"
            " VALUES ('agc_bench', 'AG-BENCH', 'unused', 'benchmark')"
        )
        token = "agt_" + secrets.token_urlsafe(32)
        await conn.execute(
            "INSERT INTO access_tokens (token_hash, client_id, generation, expires_at)"
            " VALUES ($1, 'agc_bench', 1, $2)",
            hashlib.sha256(token.encode()).digest(),
            datetime.now(UTC) + timedelta(hours=2),
        )
        await conn.execute("ANALYZE")
        return token
    finally:
        await conn.close()


async def audit_rows(stack: Stack, database: str) -> int:
    conn = await connect(stack, database)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM personal_data_reads"))
    finally:
        await conn.close()


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rate", type=int, default=None, help="offered reads per second (paced)")
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="gateway-bench-"))
    with benchmark_stack() as stack:
        database = "gateway_bench"
        token = asyncio.run(load(stack, database, args.cases))
        port = free_port()
        env = {
            **stack.service_env(GATEWAY, database=database),
            "HTTP_PORT": str(port),
            "ENVIRONMENT": "local",  # staff routes trust the local JWKS; the benchmark uses none
            "LOG_LEVEL": "WARNING",
            "RATE_LIMIT_PER_SECOND": "1000000",
            "RATE_LIMIT_BURST": "1000000",
            "DATABASE_POOL_SIZE": "20",
        }
        api = ServiceProcess(API, env, logs / "api.log").start()
        try:
            wait_for_status(f"http://127.0.0.1:{port}/healthz", 200, proc=api)
            script = logs / "reads.lua"
            lua = LUA.format(last=args.cases - 1, token=token)
            if args.rate:
                lua += paced(args.rate, args.connections)
            script.write_text(lua)
            wrk(f"http://127.0.0.1:{port}", script, seconds=3, connections=args.connections)  # warm-up
            before = asyncio.run(audit_rows(stack, database))
            assert api.proc is not None
            load_before, cpu_before = load_average(), cpu_seconds(api.proc.pid)
            report = wrk(
                f"http://127.0.0.1:{port}", script, seconds=args.seconds, connections=args.connections
            )
            cpu = cpu_seconds(api.proc.pid) - cpu_before
            load_after = load_average()
            audited = asyncio.run(audit_rows(stack, database)) - before
        finally:
            api.stop()
    print(report)
    rate = float(re.search(r"Requests/sec:\s+([0-9.]+)", report).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"^\s+99%\s+(\S+)", report, re.MULTILINE).group(1)  # type: ignore[union-attr]
    total = int(re.search(r"([0-9]+) requests in", report).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: ([0-9]+)", report)
    print(
        f"cases={args.cases} connections={args.connections} offered={args.rate or 'unpaced'} "
        f"reads/s={rate:.0f} p99={p99} "
        f"requests={total} non-2xx={errors.group(1) if errors else 0} audit rows written={audited}"
    )
    print(
        f"API process CPU per read: {cpu * 1000 / max(audited, 1):.2f} ms; "
        f"load average before: {load_before}, after: {load_after}"
    )


if __name__ == "__main__":
    main()
