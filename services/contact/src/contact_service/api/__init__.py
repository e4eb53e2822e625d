"""HTTP routers of the contact service."""

from fastapi import APIRouter

from contact_service.api import call_tasks, cases, kpis, permits

routers: list[APIRouter] = [permits.router, cases.router, call_tasks.router, kpis.router]
