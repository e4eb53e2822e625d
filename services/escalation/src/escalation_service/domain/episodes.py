"""Delinquency episodes and "entering a stage" (DOMAIN.md section 6).

Stages are compared by rank: their position in the configured order, 0 being the cure
(CURRENT). An episode starts with a change from the cure and ends only with a change back to it
(M3+ to M1 is no cure). A change enters every stage above the highest one reached so far in the
episode, up to and including its target: a jump CURRENT to M3+ enters M1, M2, M3 and M3+, and
falling back and rising again inside an episode enters nothing twice.

The same function tracks a debtor: their episode runs from the first of their accounts leaving
the cure to the last one returning (``held_elsewhere`` says another account is still delinquent).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Episode", "Step", "step"]


@dataclass(frozen=True, slots=True)
class Episode:
    """Where an account or debtor stands: episodes started so far, whether the last is open, and
    the highest stage rank reached in it (0 when closed)."""

    number: int = 0
    open: bool = False
    reached: int = 0


@dataclass(frozen=True, slots=True)
class Step:
    """The effect of one stage change: the episode after it, the ranks it entered (ascending) and
    whether it cured (closed the episode numbered ``before.number``)."""

    before: Episode
    after: Episode
    entered: tuple[int, ...]
    cured: bool


def step(episode: Episode, from_rank: int, to_rank: int, *, held_elsewhere: bool = False) -> Step:
    """Applies a change from ``from_rank`` to ``to_rank`` (ranks, 0 the cure) to ``episode``.

    * To the cure: closes an open episode, unless ``held_elsewhere`` (a debtor with another
      delinquent account); enters nothing.
    * From the cure (and not ``held_elsewhere``): starts a new episode, even if one was open (a
      cure was missed), and enters ranks 1 to ``to_rank``.
    * Between two delinquent stages with no episode open (the start was never seen): opens one
      as if ``from_rank`` had been reached already, so only the ranks above it are entered.
    """
    if from_rank < 0 or to_rank < 0:
        raise ValueError(f"stage ranks must not be negative: {from_rank} -> {to_rank}")
    if to_rank == 0:
        if episode.open and not held_elsewhere:
            return Step(episode, Episode(episode.number, False, 0), (), True)
        return Step(episode, episode, (), False)
    current = episode
    if from_rank == 0 and not held_elsewhere:
        current = Episode(episode.number + 1, True, 0)
    elif not episode.open:
        current = Episode(episode.number + 1, True, from_rank)
    entered = tuple(range(current.reached + 1, to_rank + 1))
    after = Episode(current.number, True, max(current.reached, to_rank))
    return Step(episode, after, entered, False)
