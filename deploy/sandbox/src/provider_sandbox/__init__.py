"""A provider sandbox: records what the contact service would have sent."""

from provider_sandbox.recorder import Delivery, Recorder
from provider_sandbox.server import Sandbox, create_app

__all__ = ["Delivery", "Recorder", "Sandbox", "create_app"]
