"""The local run's demo agency: registered in the agency gateway with one API client, and the
commands an agency would run to get a token and pull its cases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import httpx

from collections_common.admin import staff_token
from collections_common.settings import ServiceSettings

DEMO_AGENCY = "AG-DEMO"
DEMO_REGIONS = ("BJ", "SH", "GD", "ZJ", "JS", "SC", "HB", "SN", "XJ")
"""The mainland regions of the simulator's holders (``corebank_simulator.people``): every debtor
there matches the agency's region."""


@dataclass(frozen=True)
class DemoAgency:
    """The registered agency's client, and the commands to print."""

    client_id: str
    client_secret: str
    instructions: str


def register_demo_agency(gateway: str, *, business_start: date) -> DemoAgency:
    """Register the demo agency (once) and issue it a client.

    Its contract runs from before ``business_start`` (placements are dated by the simulator's
    business days) to a year from today, its review is due in 180 days, so it may take new work
    on every business date of the demo and today.
    """
    token = staff_token(
        ServiceSettings(environment="local"),
        subject="devstack-demo",
        roles=["agency_admin"],
        name="make run",
        lifetime=timedelta(minutes=15),
    )
    staff = {"Authorization": f"Bearer {token}"}
    today = date.today()
    agency = {
        "agency_id": DEMO_AGENCY,
        "name": "Demo Collections Ltd",
        "regions": list(DEMO_REGIONS),
        "capacity": 500,
        "contract_start": (min(today, business_start) - timedelta(days=30)).isoformat(),
        "contract_end": (max(today, business_start) + timedelta(days=365)).isoformat(),
        "review_due": (max(today, business_start) + timedelta(days=180)).isoformat(),
    }
    with httpx.Client(base_url=gateway, timeout=10) as http:
        registered = http.post("/admin/v1/agencies", json=agency, headers=staff)
        if registered.status_code not in (201, 409):
            raise RuntimeError(f"registering {DEMO_AGENCY} answered {registered.status_code}")
        issued = http.post(f"/admin/v1/agencies/{DEMO_AGENCY}/clients", headers=staff)
        if issued.status_code != 201:
            raise RuntimeError(f"issuing a client answered {issued.status_code}")
        client = issued.json()
    read_token = "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])'"
    instructions = f"""  Agency demo: {DEMO_AGENCY} is registered with the agency gateway; its client's secret
  is shown here only (a new client each run). As the agency:

    TOKEN=$(curl -s -u '{client["client_id"]}:{client["client_secret"]}' \\
      -d grant_type=client_credentials {gateway}/oauth/token | {read_token})
    curl -s -H "Authorization: Bearer $TOKEN" '{gateway}/v1/cases?limit=20'
    curl -s -H "Authorization: Bearer $TOKEN" {gateway}/v1/cases/<case_id>

  Cases appear once escalation places them with {DEMO_AGENCY} (collections.case.placed)."""
    return DemoAgency(client["client_id"], client["client_secret"], instructions)
