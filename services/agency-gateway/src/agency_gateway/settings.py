"""Settings of the agency-gateway service (environment variables; see README)."""

from collections_common.settings import ServiceSettings


class AgencyGatewaySettings(ServiceSettings):
    service_name: str = "agency-gateway"
    http_port: int = 8004
    worker_port: int = 9104
