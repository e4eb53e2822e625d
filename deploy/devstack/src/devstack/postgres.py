"""A private PostgreSQL cluster on a free loopback port, one database per service.

``initdb`` and ``postgres`` refuse to run as root, so as root they run as the ``postgres``
user (the data folder is handed to that user). Durability settings are PostgreSQL's defaults
(``fsync=on``, ``synchronous_commit=on``): the tests and the benchmarks see the real costs.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from devstack._process import free_port, port_open, run_to_completion, stop_process, wait_until

SERVICE_DATABASES = ("aging", "contact", "escalation", "agency_gateway")


def bin_dir() -> Path:
    """The newest installed PostgreSQL server binaries."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parts[-3]))
    if not candidates:
        raise RuntimeError("PostgreSQL server not found in /usr/lib/postgresql; run scripts/bootstrap.sh")
    return candidates[-1].parent


def _as_postgres(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


def _hand_to_postgres(path: Path) -> None:
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(path, user.pw_uid, user.pw_gid)


@dataclass
class PostgresCluster:
    """A throwaway cluster in ``base_dir`` (must be reachable by the ``postgres`` user)."""

    base_dir: Path
    port: int = 0
    _proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def socket_dir(self) -> Path:
        return self.base_dir / "socket"

    @property
    def log_file(self) -> Path:
        return self.base_dir / "postgres.log"

    def url(self, database: str, *, driver: str = "postgresql+asyncpg") -> str:
        return f"{driver}://postgres@127.0.0.1:{self.port}/{database}"

    def start(self, timeout: float = 60.0) -> PostgresCluster:
        binaries = bin_dir()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.base_dir.chmod(0o755)
        for folder in (self.socket_dir,):
            folder.mkdir(exist_ok=True)
            _hand_to_postgres(folder)
        if not (self.data_dir / "PG_VERSION").exists():
            self.data_dir.mkdir(exist_ok=True)
            _hand_to_postgres(self.data_dir)
            subprocess.run(
                _as_postgres(
                    [
                        str(binaries / "initdb"),
                        "-D",
                        str(self.data_dir),
                        "-U",
                        "postgres",
                        "--auth=trust",
                        "-E",
                        "UTF8",
                        "--no-locale",
                    ]
                ),
                check=True,
                capture_output=True,
            )
        self.port = self.port or free_port()
        self.log_file.touch()
        _hand_to_postgres(self.log_file)
        with self.log_file.open("ab") as log:
            self._proc = subprocess.Popen(
                _as_postgres(
                    [
                        str(binaries / "postgres"),
                        "-D",
                        str(self.data_dir),
                        "-p",
                        str(self.port),
                        "-k",
                        str(self.socket_dir),
                        "-c",
                        "listen_addresses=127.0.0.1",
                        "-c",
                        "max_connections=200",
                        "-c",
                        "shared_buffers=512MB",
                    ]
                ),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(
            self._accepts_connections, timeout=timeout, what="PostgreSQL", proc=self._proc, log=self.log_file
        )
        return self

    def stop(self) -> None:
        """Fast shutdown (SIGINT): open transactions roll back, committed data stays."""
        if self._proc is not None:
            stop_process(self._proc, sig=signal.SIGINT, timeout=30)
            self._proc = None

    def kill(self) -> None:
        """Immediate shutdown (SIGQUIT: no checkpoint, the server still releases its shared
        memory), for a cluster thrown away."""
        if self._proc is not None:
            stop_process(self._proc, sig=signal.SIGQUIT, timeout=10)
            self._proc = None

    def destroy(self) -> None:
        self.kill()
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def create_database(self, name: str) -> str:
        """Create ``name`` if missing; return its SQLAlchemy URL."""
        create_database(self.url("postgres"), name)
        return self.url(name)

    def _accepts_connections(self) -> bool:
        if not port_open(self.port):
            return False
        probe = subprocess.run(
            [str(bin_dir() / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"],
            capture_output=True,
        )
        return probe.returncode == 0


def create_database(admin_url: str, name: str) -> None:
    """Create database ``name`` on the server of ``admin_url`` unless it exists."""
    run_to_completion(_create_database(admin_url, name))


def drop_database(admin_url: str, name: str) -> None:
    """Drop database ``name`` (closing its connections) if it exists."""
    run_to_completion(_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _execute(admin_url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _create_database(admin_url: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
