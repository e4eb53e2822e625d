"""HTTP routers of the contact service."""

from fastapi import APIRouter

routers: list[APIRouter] = []
