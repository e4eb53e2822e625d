"""A consumer batch's writes in rounds, so that writing a round set-wise keeps each key's order."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import TypeVar

__all__ = ["in_rounds"]

T = TypeVar("T")


def in_rounds(items: Sequence[T], keys: Callable[[T], Iterable[Hashable]]) -> list[list[T]]:
    """``items`` in rounds: each key at most once per round, and every item in a later round
    than the earlier items sharing one of its keys (in each round the items keep their order)."""
    rounds: list[list[T]] = []
    last: dict[Hashable, int] = {}
    for item in items:
        mine = list(keys(item))
        number = max((last.get(key, -1) for key in mine), default=-1) + 1
        for key in mine:
            last[key] = number
        if number == len(rounds):
            rounds.append([])
        rounds[number].append(item)
    return rounds
