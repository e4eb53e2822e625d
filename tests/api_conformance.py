"""Schemathesis over real HTTP for the services' APIs: a generated request may get any documented
answer but a 5xx, and every answer must match the document (status, content type, schema)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.schemas import BaseSchema
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

__all__ = ["EXAMPLES", "Live", "api_schema", "check_answer"]

EXAMPLES = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
"""Per operation; derandomized so a run is repeatable."""


def api_schema(document: dict[str, Any]) -> BaseSchema:
    """The schema of an OpenAPI document, without health and metrics (tag ``operations``)."""
    return schemathesis.openapi.from_dict(document).exclude(tag="operations")


@dataclass(frozen=True)
class Live:
    """A service answering on ``url``; ``headers`` authenticate its callers."""

    url: str
    headers: dict[str, str]


def check_answer(case: Any, url: str, headers: dict[str, str]) -> None:
    """Send ``case`` to ``url`` and check its answer against the document."""
    response = case.call(base_url=url, headers=headers)
    case.validate_response(
        response, checks=[not_a_server_error, response_schema_conformance, content_type_conformance]
    )
