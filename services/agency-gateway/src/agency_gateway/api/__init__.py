"""HTTP routers of the agency-gateway service."""

from fastapi import APIRouter

routers: list[APIRouter] = []
