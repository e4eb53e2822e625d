"""Shared set-up of the benchmarks: a private broker and database, an aging worker process."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from devstack._process import free_port  # noqa: E402
from devstack.stack import SERVICES, Stack, temporary_stack  # noqa: E402
from tests.e2e.aging_harness import until as until  # noqa: E402 - shared with the benchmarks
from tests.processes import ServiceProcess, wait_for_status  # noqa: E402

AGING = next(service for service in SERVICES if service.name == "aging")

PACING = """
delay = function()
  return math.random(0, {twice_wait_ms})
end
"""


def paced(rate: int, connections: int) -> str:
    """wrk Lua that offers about ``rate`` requests a second over ``connections`` connections.

    Each connection waits ``connections / rate`` seconds on average between its requests (wrk's
    ``delay()``; the latency wrk reports leaves the wait out), drawn uniformly from zero to twice
    that, so that the connections, which all start at once, do not keep sending in step (a burst
    of every connection each cycle). The wait follows each answer, so the rate offered is a little
    under ``rate`` (by the latency's share of a connection's cycle): use enough connections that
    the wait is long beside the latency, and read the rate wrk reports.
    """
    return PACING.format(twice_wait_ms=max(2, round(2 * connections * 1000 / rate)))


def wrk(url: str, script: Path, *, seconds: int, connections: int) -> str:
    """wrk's report of ``script`` against ``url`` (two threads, latency percentiles)."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def _stat(pid: int) -> list[str]:
    """The fields of ``/proc/<pid>/stat`` after the command's name (so ``[1]`` is the parent's pid,
    ``[7]`` the minor faults, ``[11]`` and ``[12]`` the user and system clock ticks)."""
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far (Linux ``/proc``)."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def page_faults(pid: int) -> tuple[int, float]:
    """The minor page faults the process has taken so far, and its system CPU seconds (Linux
    ``/proc``): memory it touches for the first time costs a fault each page, paid in the kernel."""
    fields = _stat(pid)
    return int(fields[7]), int(fields[12]) / os.sysconf("SC_CLK_TCK")


def peak_resident_mb(pid: int) -> float:
    """The most resident memory the process has had so far, in MB (``VmHWM``, Linux ``/proc``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise LookupError(f"no VmHWM for process {pid}")


def postgres_cpu_seconds(stack: Stack) -> float:
    """CPU time of the stack's PostgreSQL so far: the postmaster, its live processes and those
    it has reaped (Linux ``/proc``)."""
    if stack.postgres is None:
        return 0.0
    postmaster = int((stack.postgres.data_dir / "postmaster.pid").read_text().split()[0])
    total = sum(int(f) for f in _stat(postmaster)[11:15]) / os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if int(_stat(int(entry.name))[1]) == postmaster:
                total += cpu_seconds(int(entry.name))
        except (OSError, ValueError):
            continue  # gone meanwhile
    return total


def run_apart(work: Coroutine[Any, Any, None]) -> None:
    """Run ``work`` to its end on an event loop of its own, in a thread of its own: callable from
    plain code and from inside a benchmark's running event loop alike."""
    with ThreadPoolExecutor(1) as apart:
        apart.submit(asyncio.run, work).result()


MEMORY = Path("/dev/shm")
"""A file system in memory (tmpfs), where the benchmarks' broker keeps its log."""


@contextmanager
def benchmark_stack(*, recycled_wal: bool = True, broker_in_memory: bool = True) -> Iterator[Stack]:
    """A broker and a database of the benchmark's own, deleted when it ends.

    The database's write-ahead log is a running server's (:func:`recycle_wal`) unless
    ``recycled_wal`` is False. The broker's log is in memory (``MEMORY``, when the machine has it)
    unless ``broker_in_memory`` is False. Kafka never syncs its log itself (its durability is the
    replicas'), so the kernel writes what it appended out in the background: on this machine the
    broker, PostgreSQL and the services share one disk, and every few seconds that write-back
    (35-50 MB at once in the cancellation benchmark) held PostgreSQL's WAL sync, and so every
    commit, for 60-100 ms. Deployed, the broker has disks of its own (docs/benchmarks.md).
    """
    under = MEMORY if broker_in_memory and MEMORY.is_dir() else None
    with temporary_stack("collections-bench-", broker_under=under) as stack:
        if recycled_wal:
            recycle_wal(stack)
        yield stack


RECYCLED_WAL_MB = 512
"""WAL segments a benchmark's PostgreSQL has to recycle (``min_wal_size``): more than any
benchmark here writes in its measured seconds."""


def recycle_wal(stack: Stack, megabytes: int = RECYCLED_WAL_MB) -> None:
    """Give the stack's PostgreSQL ``megabytes`` of WAL segments to reuse, as a server that has
    been running has.

    A new cluster has none: each time its WAL fills a 16 MB segment, the backend that needs the
    next one creates it, writing 16 MB of zeros and syncing them, while every other commit waits
    (wait events ``WALInitWrite`` and ``WALInitSync``, the others ``LWLock WALWrite``). In the
    cancellation benchmark at 1,000 payments a second that came every 2 to 3 seconds and made the
    slowest second of a run (docs/benchmarks.md). A running server renames the segments its
    checkpoints are done with instead (at least ``min_wal_size`` of them). So this keeps
    ``megabytes`` (``min_wal_size``), fills that much WAL once (one switch per segment) and
    checkpoints: the segments filled become the next ones.
    """

    async def fill() -> None:
        conn = await connect(stack, "postgres")
        try:
            await conn.execute(f"ALTER SYSTEM SET min_wal_size = '{megabytes}MB'")
            await conn.fetchval("SELECT pg_reload_conf()")
            await conn.execute("CREATE TABLE wal_fill (x int)")
            for _ in range(megabytes // 16):
                await conn.execute("INSERT INTO wal_fill VALUES (1)")  # a switch needs WAL to end
                await conn.fetchval("SELECT pg_switch_wal()")
            await conn.execute("DROP TABLE wal_fill")
            await conn.execute("CHECKPOINT")
        finally:
            await conn.close()

    run_apart(fill())


def write_back_now() -> None:
    """Have the kernel write every dirty page of the page cache to disk now (``sync``).

    A set-up's bulk writes (databases created, thousands of rows in seconds: what PostgreSQL's
    background writer hands the kernel, logs) wait in the page cache; the kernel writes back
    what has been dirty for 30 s (``vm.dirty_expire_centisecs``) every 5 s, all at once. In the
    cancellation benchmark that came as 40-49 MB within one measured second, usually the run's
    slowest (docs/benchmarks.md). PostgreSQL's own buffers are left as they are: no checkpoint, so
    the pages already logged in full since the last one are not logged in full again."""
    os.sync()


class DiskWrites:
    """What the machine's disks wrote, second by second, while the block ran (``/proc/diskstats``
    of the devices under ``/sys/block`` that are hardware, sampled every 0.1 s)."""

    def __init__(self) -> None:
        self._disks = {p.name for p in Path("/sys/block").glob("*") if (p / "device").exists()}
        self._samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _written(self) -> int:
        """Bytes written so far by the disks (field 10 of ``/proc/diskstats``: 512-byte sectors)."""
        total = 0
        with open("/proc/diskstats") as stats:
            for line in stats:
                fields = line.split()
                if fields[2] in self._disks:
                    total += int(fields[9]) * 512
        return total

    def _sample(self) -> None:
        while not self._stop.is_set():
            self._samples.append((time.monotonic(), self._written()))
            self._stop.wait(0.1)

    def __enter__(self) -> DiskWrites:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self._samples.append((time.monotonic(), self._written()))

    def by_second(self) -> list[float]:
        """MB written in each whole or last part second from the start."""
        if len(self._samples) < 2:
            return []
        start, first = self._samples[0]
        written: list[float] = []
        for at, total in self._samples[1:]:
            second = int(at - start)
            while len(written) <= second:
                written.append(0.0)
            written[second] = (total - first) / 1e6 - sum(written[:second])
        return written


async def wal_files(conn: Any) -> int:
    """Files in PostgreSQL's WAL directory: a segment created adds one, a segment recycled none."""
    return int(await conn.fetchval("SELECT count(*) FROM pg_ls_waldir()"))


async def wal_position(conn: Any) -> int:
    """The WAL's current write position, in bytes."""
    return int(await conn.fetchval("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn"))


@contextmanager
def aging_worker(
    stack: Stack, database: str, prefix: str, logs: Path, **env: str
) -> Iterator[ServiceProcess]:
    port = free_port()
    environment = {
        **stack.service_env(AGING, database=database, prefix=prefix),
        "WORKER_PORT": str(port),
        "HTTP_PORT": str(free_port()),
        "LOG_LEVEL": "WARNING",
        **env,
    }
    worker = ServiceProcess(["aging-service", "worker"], environment, logs / f"{database}-worker.log").start()
    try:
        wait_for_status(f"http://127.0.0.1:{port}/readyz", 200, proc=worker, timeout=120)
        yield worker
    finally:
        if worker.alive:
            worker.stop()


async def connect(stack: Stack, database: str) -> asyncpg.Connection:
    return await asyncpg.connect(
        stack.database_url(database).replace("postgresql+asyncpg://", "postgresql://")
    )


async def durability_settings(stack: Stack, database: str) -> dict[str, str]:
    conn = await connect(stack, database)
    try:
        return {
            name: await conn.fetchval(f"SHOW {name}")
            for name in (
                "fsync",
                "synchronous_commit",
                "full_page_writes",
                "wal_sync_method",
                "shared_buffers",
            )
        }
    finally:
        await conn.close()


def restart_postgres_with(stack: Stack, **settings: str) -> None:
    """Restart the stack's PostgreSQL with ``settings`` (``ALTER SYSTEM``: parameters that take
    effect only at a server start)."""
    assert stack.postgres is not None

    async def configure() -> None:
        conn = await connect(stack, "postgres")
        try:
            for name, value in settings.items():
                await conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
        finally:
            await conn.close()

    run_apart(configure())
    stack.postgres.stop()
    stack.postgres.start()


def load_statement_counter(stack: Stack) -> None:
    """Restart the stack's PostgreSQL with ``pg_stat_statements`` loaded."""
    restart_postgres_with(stack, shared_preload_libraries="pg_stat_statements")


async def statements(conn: Any, *, leaving_out: str = "") -> list[tuple[str, int, float]]:
    """The statements ``pg_stat_statements`` counted on the connection's database (query, calls,
    milliseconds of execution), most called first; ``leaving_out`` (a query of the caller's own)
    and the statistics' own queries are left out."""
    rows = await conn.fetch(
        "SELECT regexp_replace(query, '\\s+', ' ', 'g') AS query, sum(calls)::bigint AS calls,"
        " sum(total_exec_time) AS ms"
        " FROM pg_stat_statements"
        " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " AND query <> $1 AND query NOT LIKE '%pg_stat_%'"
        " GROUP BY 1 ORDER BY 2 DESC",
        leaving_out,
    )
    return [(r["query"], int(r["calls"]), float(r["ms"])) for r in rows]


async def commits(conn: Any) -> int:
    """Transactions committed on the connection's database so far."""
    return int(
        await conn.fetchval("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
    )
