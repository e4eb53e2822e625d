"""Settings of the contact service (environment variables; see README)."""

from collections_common.settings import ServiceSettings


class ContactSettings(ServiceSettings):
    service_name: str = "contact"
    http_port: int = 8002
    worker_port: int = 9102
