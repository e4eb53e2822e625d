"""Settings of the escalation service (environment variables; see README)."""

from collections_common.settings import ServiceSettings


class EscalationSettings(ServiceSettings):
    service_name: str = "escalation"
    http_port: int = 8003
    worker_port: int = 9103
