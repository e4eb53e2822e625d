"""A local Prometheus (Debian's package) scraping every service process, with the alert rules.

``devstack up`` starts one on port 9090 (or a free port); the live metrics test starts one per
test. The scrape jobs and labels are those of ``deploy/prometheus/prometheus.yml`` (docker-compose),
with the targets on loopback.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from devstack._process import REPO_ROOT, free_port, stop_process, wait_until

RULES = REPO_ROOT / "deploy" / "prometheus" / "rules"


@dataclass(frozen=True)
class Target:
    """One process to scrape: its address and the labels the dashboards group by."""

    address: str
    service: str
    process: str


def scrape_config(targets: Sequence[Target], *, interval: str = "15s") -> dict[str, Any]:
    """The configuration: every target in the job of its process kind, and the alert rules."""
    jobs: dict[str, list[dict[str, Any]]] = {}
    for target in targets:
        jobs.setdefault(f"collections-{target.process}", []).append(
            {"targets": [target.address], "labels": {"service": target.service, "process": target.process}}
        )
    return {
        "global": {
            "scrape_interval": interval,
            "evaluation_interval": interval,
            "external_labels": {"platform": "collections"},
        },
        "rule_files": [str(RULES / "*.yml")],
        "scrape_configs": [
            {"job_name": job, "metrics_path": "/metrics", "static_configs": static}
            for job, static in sorted(jobs.items())
        ],
    }


@dataclass
class PrometheusServer:
    """A Prometheus process with its data and configuration under ``base_dir``."""

    base_dir: Path
    targets: Sequence[Target]
    port: int = 0
    interval: str = "15s"
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> PrometheusServer:
        binary = shutil.which("prometheus")
        if binary is None:
            raise RuntimeError("prometheus is not installed: run scripts/bootstrap.sh")
        self.port = self.port or free_port()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        config = self.base_dir / "prometheus.yml"
        config.write_text(
            yaml.safe_dump(scrape_config(self.targets, interval=self.interval), sort_keys=False)
        )
        log = self.base_dir / "prometheus.log"
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    binary,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={self.base_dir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--storage.tsdb.retention.time=2d",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(self._ready, timeout=60, what="prometheus", proc=self.proc, log=log)
        return self

    def _ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/-/ready", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, timeout=20)
            self.proc = None
