"""What the platform did with the demo portfolio, read through the services' own APIs.

A staff token from ``collections-admin staff-token`` (the local command) reads aging's portfolio,
contact's call queue, escalation's letters, visits and placements; the provider sandbox counts what
was delivered; the demo agency's client pulls its cases from the agency gateway, which must be the
placements escalation made with it.
"""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from devstack._process import venv_script

__all__ = [
    "Endpoints",
    "Figures",
    "mint_staff_token",
    "pull_cases",
    "pull_next_call",
    "read_figures",
    "render",
    "wait_until_settled",
]


@dataclass(frozen=True)
class Endpoints:
    aging: str
    contact: str
    escalation: str
    gateway: str
    sandbox: str


@dataclass
class Figures:
    """One reading of the platform."""

    stages: dict[str, int] = field(default_factory=dict)
    call_tasks_pending: int = 0
    call_tasks_first_due: str | None = None
    next_call: dict[str, Any] | None = None
    messages: dict[str, int] = field(default_factory=dict)
    letters: dict[str, int] = field(default_factory=dict)
    visits: dict[str, int] = field(default_factory=dict)
    placements_active: dict[str, int] = field(default_factory=dict)
    bureau_flags: int = 0
    demo_placements: set[str] = field(default_factory=set)
    pulled_cases: set[str] | None = None

    def progress(self) -> tuple[object, ...]:
        """What changes while events are still flowing."""
        return (
            sorted(self.stages.items()),
            self.call_tasks_pending,
            sorted(self.messages.items()),
            sorted(self.letters.items()),
            sorted(self.visits.items()),
            sorted(self.placements_active.items()),
            self.bureau_flags,
        )


def mint_staff_token(subject: str, name: str, *roles: str) -> str:
    """A staff token from the local command, as a person would get one."""
    command = [venv_script("collections-admin"), "staff-token", "--sub", subject, "--name", name]
    for role in roles:
        command += ["--role", role]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()


def _pages(http: httpx.Client, url: str, params: dict[str, str] | None = None) -> Iterator[dict[str, Any]]:
    """Every item of a cursor-paginated list."""
    cursor: str | None = None
    while True:
        query = {**(params or {}), "limit": "200", **({"cursor": cursor} if cursor else {})}
        answer = http.get(url, params=query)
        answer.raise_for_status()
        page = answer.json()
        yield from page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return


def _counter_total(metrics: str, name: str, labels: dict[str, str]) -> int:
    """The sum of a Prometheus counter's samples whose labels include ``labels``."""
    total = 0.0
    for line in metrics.splitlines():
        if not line.startswith(name + "{"):
            continue
        head, _, value = line.rpartition(" ")
        if all(f'{key}="{wanted}"' in head for key, wanted in labels.items()):
            total += float(value)
    return int(total)


def read_figures(endpoints: Endpoints, token: str, escalation_worker: str, agency_id: str) -> Figures:
    """Read the platform's state (no side effects: the next call task is pulled by ``pull_next_call``)."""
    figures = Figures()
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=10) as http:
        summary = http.get(f"{endpoints.aging}/v1/portfolio/summary")
        summary.raise_for_status()
        figures.stages = {s["stage"]: s["accounts"] for s in summary.json()["stages"]}
        pending = list(_pages(http, f"{endpoints.contact}/v1/call-tasks", {"status": "pending"}))
        figures.call_tasks_pending = len(pending)
        figures.call_tasks_first_due = min((str(task["due_at"]) for task in pending), default=None)
        figures.letters = dict(
            Counter(x["status"] for x in _pages(http, f"{endpoints.escalation}/v1/letters"))
        )
        figures.visits = dict(Counter(x["status"] for x in _pages(http, f"{endpoints.escalation}/v1/visits")))
        active = list(_pages(http, f"{endpoints.escalation}/v1/placements", {"active": "true"}))
        figures.placements_active = dict(Counter(x["agency_id"] for x in active))
        figures.demo_placements = {x["placement_id"] for x in active if x["agency_id"] == agency_id}
        messages = http.get(f"{endpoints.sandbox}/v1/messages")
        messages.raise_for_status()
        figures.messages = dict(Counter(x["channel"] for x in messages.json()["items"]))
        metrics = http.get(f"{escalation_worker}/metrics")
        if metrics.status_code == 200:
            figures.bureau_flags = _counter_total(
                metrics.text,
                "collections_escalation_actions_total",
                {"action": "bureau_flag", "status": "flagged"},
            )
    return figures


def wait_until_settled(
    read: Any, *, quiet_seconds: float = 10, interval: float = 2, timeout: float = 300
) -> tuple[Figures, float]:
    """Read until nothing has changed for ``quiet_seconds`` and no letter waits to be sent.

    Returns the last reading and the seconds waited (up to ``timeout``).
    """
    started = time.monotonic()
    last: Figures = read()
    quiet_since = time.monotonic()
    while time.monotonic() - started < timeout:
        time.sleep(interval)
        figures: Figures = read()
        if figures.progress() != last.progress():
            quiet_since = time.monotonic()
        last = figures
        if time.monotonic() - quiet_since >= quiet_seconds and not figures.letters.get("pending"):
            break
    return last, time.monotonic() - started


def pull_next_call(contact: str, token: str) -> dict[str, Any] | None:
    """``POST /v1/call-tasks/next`` as a collector: the task compliance allows now (locked to them)."""
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=10) as http:
        answer = http.post(f"{contact}/v1/call-tasks/next")
        answer.raise_for_status()
        task: dict[str, Any] | None = answer.json()["task"]
        return task


def pull_cases(gateway: str, client_id: str, client_secret: str) -> set[str]:
    """The placement ids of every case the agency's client pulls from the start."""
    with httpx.Client(base_url=gateway, timeout=10) as http:
        issued = http.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, client_secret)
        )
        issued.raise_for_status()
        http.headers["Authorization"] = f"Bearer {issued.json()['access_token']}"
        pulled: set[str] = set()
        cursor: str | None = None
        while True:
            answer = http.get("/v1/cases", params={"limit": "200", **({"cursor": cursor} if cursor else {})})
            answer.raise_for_status()
            page = answer.json()
            pulled |= {case["placement_id"] for case in page["items"]}
            cursor = page["next_cursor"]
            if not page["has_more"]:
                return pulled


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{key} {value}" for key, value in sorted(counts.items())) or "none"


def render(figures: Figures, endpoints: Endpoints, agency_id: str) -> str:
    """The summary to print."""
    stage_order = ["CURRENT", "M1", "M2", "M3", "M3+"]
    stages = ", ".join(f"{stage} {figures.stages.get(stage, 0)}" for stage in stage_order)
    call = figures.next_call
    if call is None:
        next_call = f"none due and allowed now (the first is due at {figures.call_tasks_first_due})"
    else:
        script = str(call.get("script") or "").strip().splitlines()
        next_call = (
            f"task {call.get('task_id')}: {call.get('customer_id')} ({call.get('account_id')}, "
            f"{call.get('stage')}), call {call.get('contact_point')}, locked until {call.get('locked_until')}"
            + (f"\n                  script: {script[0][:100]}" if script else "")
        )
    pulled = figures.pulled_cases
    if pulled is None:
        check = "could not pull"
    elif pulled == figures.demo_placements:
        check = f"{len(pulled)} cases, exactly escalation's active placements with {agency_id}"
    else:
        check = (
            f"MISMATCH: pulled {len(pulled)}, escalation has {len(figures.demo_placements)} active; "
            f"only pulled {len(pulled - figures.demo_placements)}, "
            f"not pulled {len(figures.demo_placements - pulled)}"
        )
    delivered = {k: v for k, v in figures.messages.items() if k != "letter"}
    esc = endpoints.escalation
    lines = [
        "  What the platform did with the demo portfolio (read through the services' APIs with a",
        "  token from `collections-admin staff-token`):",
        "",
        f"    aging       accounts by stage: {stages}",
        f"                  {endpoints.aging}/v1/portfolio/summary",
        f"    contact     call tasks planned: {figures.call_tasks_pending} (the M2 and M3 plans, days ahead)",
        f"                  {endpoints.contact}/v1/call-tasks?status=pending",
        f"                a collector's next call: {next_call}",
        f"                delivered to the sandbox: {_counts(delivered)}",
        f"                  {endpoints.sandbox}/v1/messages",
        f"    escalation  letters: {_counts(figures.letters)}",
        f"                letters in the sandbox: {figures.messages.get('letter', 0)}",
        f"                  {esc}/v1/letters   {endpoints.sandbox}/v1/letters (each with its PDF)",
        f"                home visits: {_counts(figures.visits)}   {esc}/v1/visits",
        f"                active placements: {_counts(figures.placements_active)}",
        f"                  {esc}/v1/placements?active=true",
        f"                bureau flags set (this run): {figures.bureau_flags}",
        f"    gateway     {agency_id} pulled with its client: {check}",
    ]
    return "\n".join(lines) + "\n"
