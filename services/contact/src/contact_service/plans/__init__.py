"""Treatment-plan configuration: the default plan file, its templates, loading and rendering."""

from contact_service.plans.context import MessageFacts
from contact_service.plans.loader import DEFAULT_PLAN, LoadedPlan, PlanError, load_plan
from contact_service.plans.messages import Message, Renderer, pick_language

__all__ = [
    "DEFAULT_PLAN",
    "LoadedPlan",
    "Message",
    "MessageFacts",
    "PlanError",
    "Renderer",
    "load_plan",
    "pick_language",
]
