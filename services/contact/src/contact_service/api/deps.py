"""Dependencies of the contact API: its configuration and who may call which routes.

Staff come with a bearer token and a role (DOMAIN.md section 9). Services that ask for permits
(the agency gateway, a dialler) come with a token from the same identity provider, verified the
same way; they hold no staff role, so they are admitted by subject: a token whose ``sub`` is in
``PERMIT_SERVICE_SUBJECTS`` may use the permit routes and read cases, and nothing else.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security.http import HTTPAuthorizationCredentials

from collections_common.auth import (
    InvalidToken,
    KeySetUnavailable,
    Role,
    RoleGuard,
    StaffPrincipal,
    TokenVerifier,
    _bearer_scheme,
    _bearer_token,
    _challenge,
    require_roles,
)
from collections_common.problems import Forbidden, ServiceUnavailable, Unauthorized
from contact_service.domain.packs import RulePack
from contact_service.permits import Reservations
from contact_service.plans import LoadedPlan, Renderer
from contact_service.settings import ContactSettings

__all__ = [
    "CaseReader",
    "Collector",
    "ContactConfig",
    "ContactConfigDep",
    "PermitCaller",
    "Supervisor",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ContactConfig:
    """What the routes need besides their sessions: settings, the rule pack, the plan, and the
    permit route's reservations."""

    settings: ContactSettings
    pack: RulePack
    plan: LoadedPlan
    renderer: Renderer
    reservations: Reservations


def _config(request: Request) -> ContactConfig:
    config: ContactConfig = request.app.state.contact
    return config


async def _config_dependency(request: Request) -> ContactConfig:
    """``_config`` as an async dependency (FastAPI runs a plain ``def`` one in a worker thread)."""
    return _config(request)


ContactConfigDep = Annotated[ContactConfig, Depends(_config_dependency)]


class ServiceOrRoleGuard(RoleGuard):
    """Admits staff holding one of the roles, or a service whose token subject is allow-listed."""

    async def __call__(
        self,
        request: Request,
        _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)],
    ) -> StaffPrincipal:
        verifier: TokenVerifier | None = getattr(request.app.state, "staff_tokens", None)
        if verifier is None:
            raise RuntimeError("staff authentication is not configured")
        token = _bearer_token(request.headers.get("authorization"))
        try:
            principal = await verifier.verify(token)
        except InvalidToken as exc:
            raise Unauthorized(exc.reason, www_authenticate=_challenge("invalid_token", exc.reason)) from None
        except KeySetUnavailable:
            log.exception("staff token keys unavailable")
            raise ServiceUnavailable("staff tokens cannot be verified now", retry_after_seconds=5) from None
        services = _config(request).settings.permit_service_subjects
        if not principal.roles & self.admitted and principal.subject not in services:
            listed = ", ".join(sorted(self.admitted))
            challenge = _challenge("insufficient_scope", f"needs one of: {listed}, or a permitted service")
            raise Forbidden(
                f"this action admits the roles: {listed}, and permitted services",
                headers={"WWW-Authenticate": challenge},
            )
        request.state.staff = principal
        return principal


PermitCaller = Annotated[
    StaffPrincipal, Depends(ServiceOrRoleGuard(frozenset({Role.COLLECTOR, Role.SUPERVISOR})))
]
"""Permit, outcome and inbound routes: collectors, supervisors and permitted services."""

CaseReader = Annotated[
    StaffPrincipal, Depends(ServiceOrRoleGuard(frozenset({Role.COLLECTOR, Role.SUPERVISOR, Role.AUDITOR})))
]
"""Case reads: collectors, supervisors, auditors and permitted services."""

Collector = Annotated[StaffPrincipal, Depends(require_roles(Role.COLLECTOR, Role.SUPERVISOR))]
Supervisor = Annotated[StaffPrincipal, Depends(require_roles(Role.SUPERVISOR))]
