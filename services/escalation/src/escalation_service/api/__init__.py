"""HTTP routers of the escalation service."""

from fastapi import APIRouter

from escalation_service.api import kpis, legal, letters, offers, placements, visits

routers: list[APIRouter] = [
    letters.router,
    visits.router,
    offers.router,
    legal.router,
    placements.router,
    kpis.router,
]
