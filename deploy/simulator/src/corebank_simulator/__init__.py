"""A core-banking simulator: a card portfolio's events on the contract topics, day by day.

The generator (`simulate`, `day_events`) is pure; `publish` sends its days to Kafka.
"""

from .generator import (
    BusinessDay,
    Outgoing,
    SimulationOptions,
    business_days,
    close_event,
    day_events,
    simulate,
)
from .portfolio import BEHAVIOUR_MIX, Behaviour, Portfolio, open_portfolio
from .publisher import Pacer, Published, PublishFailed, kafka_producer, publish

__all__ = [
    "BEHAVIOUR_MIX",
    "Behaviour",
    "BusinessDay",
    "Outgoing",
    "Pacer",
    "Portfolio",
    "PublishFailed",
    "Published",
    "SimulationOptions",
    "business_days",
    "close_event",
    "day_events",
    "kafka_producer",
    "open_portfolio",
    "publish",
    "simulate",
]
