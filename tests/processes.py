"""Service processes started the way production starts them (the console scripts)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent


class ServiceProcess:
    """One ``<service> api|worker|migrate`` process with its output in a log file."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str], log: Path) -> None:
        self.argv = [str(BIN / argv[0]), *argv[1:]]
        self.env = {**os.environ, **env}
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ServiceProcess:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        return self

    def run(self, timeout: float = 120) -> None:
        """Run to completion (e.g. ``migrate``); fail with the log on a non-zero exit."""
        self.start()
        assert self.proc is not None
        code = self.proc.wait(timeout=timeout)
        assert code == 0, f"{self.argv} exited {code}:\n{self.output()[-3000:]}"

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def wait_for_status(
    url: str, status: int, timeout: float = 60, proc: ServiceProcess | None = None
) -> httpx.Response:
    """Poll ``url`` until it answers ``status``; fail with the last answer otherwise."""
    deadline = time.monotonic() + timeout
    last: str = "no answer"
    while time.monotonic() < deadline:
        if proc is not None and not proc.alive:
            raise AssertionError(f"{proc.argv} died:\n{proc.output()[-3000:]}")
        try:
            response = httpx.get(url, timeout=5)
            if response.status_code == status:
                return response
            last = f"{response.status_code} {response.text[:300]}"
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.3)
    raise AssertionError(f"{url} did not answer {status} within {timeout}s; last: {last}")
