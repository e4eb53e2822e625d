"""HTTP routers of the aging service."""

from fastapi import APIRouter

from aging_service.api import accounts, kpis, portfolio

routers: list[APIRouter] = [accounts.router, portfolio.router, kpis.router]
