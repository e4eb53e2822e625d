"""How each service is started: the argv lists the tests run, and the only ones the images run.

Keyed by the service's folder under ``services/``. The integration and end-to-end tests start
processes from these lists; ``tests/deployment/test_compose.py`` checks that every start command
of ``docker-compose.yml`` and of the service Dockerfiles (``CMD``) is one of them, so what runs in
production is what the tests ran.
"""

from __future__ import annotations

SERVICE_COMMANDS: dict[str, list[list[str]]] = {
    "aging": [
        ["aging-service", "api"],
        ["aging-service", "worker"],
        ["aging-service", "migrate"],
    ],
    "contact": [
        ["contact-service", "api"],
        ["contact-service", "worker"],
        ["contact-service", "migrate"],
    ],
    "escalation": [
        ["escalation-service", "api"],
        ["escalation-service", "worker"],
        ["escalation-service", "migrate"],
    ],
    "agency-gateway": [
        ["agency-gateway-service", "api"],
        ["agency-gateway-service", "worker"],
        ["agency-gateway-service", "migrate"],
    ],
}
