"""The local run's demo agency: registered in the agency gateway with one API client, and the
commands an agency would run to get a token and pull its cases."""

from __future__ import annotations

from datetime import date, timedelta

import httpx

from collections_common.admin import staff_token
from collections_common.settings import ServiceSettings

DEMO_AGENCY = "AG-DEMO"


def register_demo_agency(gateway: str) -> str:
    """Register the demo agency (once) and issue it a client; the instructions to print."""
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
        "regions": ["CN-31", "CN-11"],
        "capacity": 500,
        "contract_start": (today - timedelta(days=30)).isoformat(),
        "contract_end": (today + timedelta(days=335)).isoformat(),
        "review_due": (today + timedelta(days=180)).isoformat(),
    }
    with httpx.Client(base_url=gateway, timeout=10) as http:
        registered = http.post("/admin/v1/agencies", json=agency, headers=staff)
        if registered.status_code not in (201, 409):
            return f"  agency demo: registering {DEMO_AGENCY} answered {registered.status_code}"
        issued = http.post(f"/admin/v1/agencies/{DEMO_AGENCY}/clients", headers=staff)
        if issued.status_code != 201:
            return f"  agency demo: issuing a client answered {issued.status_code}"
        client = issued.json()
    read_token = "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])'"
    return f"""  Agency demo: {DEMO_AGENCY} is registered with the agency gateway; its client's secret
  is shown here only (a new client each run). As the agency:

    TOKEN=$(curl -s -u '{client["client_id"]}:{client["client_secret"]}' \\
      -d grant_type=client_credentials {gateway}/oauth/token | {read_token})
    curl -s -H "Authorization: Bearer $TOKEN" '{gateway}/v1/cases?limit=20'
    curl -s -H "Authorization: Bearer $TOKEN" {gateway}/v1/cases/<case_id>

  Cases appear once escalation places them with {DEMO_AGENCY} (collections.case.placed)."""
