"""HTTP routers of the escalation service."""

from fastapi import APIRouter

routers: list[APIRouter] = []
