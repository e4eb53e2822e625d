"""Dependencies of the aging API as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from aging_service.domain.policy import AgingPolicy
from collections_common.api import SessionDep

__all__ = ["PolicyDep", "SessionDep"]


def _policy(request: Request) -> AgingPolicy:
    policy: AgingPolicy = request.app.state.policy
    return policy


PolicyDep = Annotated[AgingPolicy, Depends(_policy)]
