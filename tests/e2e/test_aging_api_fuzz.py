"""The aging API under schemathesis: generated requests from its OpenAPI document, valid and not,
against the real API process and database. No answer is a 5xx, and every answer matches the
document (status code, content type, body schema, headers)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from devstack.stack import Stack
from tests.e2e.aging_harness import AgingUnderTest
from tests.golden import load_golden_cases

pytestmark = [pytest.mark.infra, pytest.mark.slow]

CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
    )
)


async def test_no_generated_request_gets_a_server_error_or_an_answer_outside_the_document(
    stack: Stack, topics: str, namespace: str, tmp_path: Path
) -> None:
    aging = AgingUnderTest(stack, namespace, topics, tmp_path).start()
    try:
        await aging.publish(load_golden_cases()[0]["events"])  # an account to find, with history
        await aging.settled()
        result = subprocess.run(
            [
                str(Path(sys.executable).parent / "schemathesis"),
                "run",
                f"{aging.api}/openapi.json",
                "--checks",
                CHECKS,
                "--max-examples",
                "60",
                "--seed",
                "20261201",
                "--report-dir",
                str(tmp_path / "schemathesis"),
            ],
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    finally:
        aging.stop()
