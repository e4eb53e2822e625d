"""HTTP routers of the agency-gateway service: the agencies' API and the bank's admin API."""

from fastapi import APIRouter

from agency_gateway.api import admin, case_actions, cases, oauth

routers: list[APIRouter] = [oauth.router, cases.router, case_actions.router, admin.router]
