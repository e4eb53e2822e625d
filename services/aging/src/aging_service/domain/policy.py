"""Aging configuration: stage buckets (DOMAIN.md section 4 rule 4), grace and tolerance (rule 3)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from aging_service.domain.errors import InvalidPolicy

__all__ = ["DEFAULT_BUCKETS", "AgingPolicy", "Bucket", "stage_for"]


@dataclass(frozen=True, slots=True)
class Bucket:
    """A stage and the smallest DPD that falls into it."""

    name: str
    min_dpd: int


#: Rule 4 defaults: CURRENT 0, M1 1-30, M2 31-60, M3 61-90, M3+ 91 and over.
DEFAULT_BUCKETS: tuple[Bucket, ...] = (
    Bucket("CURRENT", 0),
    Bucket("M1", 1),
    Bucket("M2", 31),
    Bucket("M3", 61),
    Bucket("M3+", 91),
)


def stage_for(dpd: int, buckets: Sequence[Bucket]) -> str:
    """Rule 4: the name of the last bucket whose ``min_dpd <= dpd``.

    ``buckets`` must be ordered by strictly increasing ``min_dpd``, the first at 0.
    """
    if dpd < 0:
        raise ValueError(f"dpd must not be negative, got {dpd}")
    stage = buckets[0].name
    for bucket in buckets[1:]:
        if bucket.min_dpd > dpd:
            break
        stage = bucket.name
    return stage


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class AgingPolicy:
    """How DPD becomes a stage: ordered buckets, grace days and a tolerance in minor units.

    Validated on construction: at least one bucket, the first at ``min_dpd`` 0, ``min_dpd``
    strictly increasing, names unique and non-empty, grace and tolerance non-negative integers.
    """

    buckets: tuple[Bucket, ...] = DEFAULT_BUCKETS
    grace_days: int = 0
    tolerance_minor: int = 0
    change_offsets: tuple[timedelta, ...] = field(init=False, repr=False, compare=False)
    """How long after the earliest unpaid due date the stage can change without a new event: when
    the grace ends and where each bucket starts (sorted; computed once for every reassessment)."""

    def __post_init__(self) -> None:
        # Accept any sequence of buckets, store a tuple so the policy stays hashable.
        object.__setattr__(self, "buckets", tuple(self.buckets))
        if not self.buckets:
            raise InvalidPolicy("at least one bucket is required")
        names = [bucket.name for bucket in self.buckets]
        if any(not isinstance(name, str) or not name for name in names):
            raise InvalidPolicy(f"bucket names must be non-empty strings: {names!r}")
        if len(set(names)) != len(names):
            raise InvalidPolicy(f"bucket names must be unique: {names!r}")
        thresholds = [bucket.min_dpd for bucket in self.buckets]
        if not all(_is_int(threshold) for threshold in thresholds):
            raise InvalidPolicy(f"bucket min_dpd must be integers: {thresholds!r}")
        if thresholds[0] != 0:
            raise InvalidPolicy(f"the first bucket must start at min_dpd 0, got {thresholds[0]}")
        if any(lower >= upper for lower, upper in zip(thresholds, thresholds[1:], strict=False)):
            raise InvalidPolicy(f"bucket min_dpd must be strictly increasing: {thresholds!r}")
        if not _is_int(self.grace_days) or self.grace_days < 0:
            raise InvalidPolicy(f"grace_days must be a non-negative integer: {self.grace_days!r}")
        tolerance = self.tolerance_minor
        if not _is_int(tolerance) or tolerance < 0:
            raise InvalidPolicy(f"tolerance_minor must be a non-negative integer: {tolerance!r}")
        offsets = {timedelta(days=self.grace_days + 1), *(timedelta(days=t) for t in thresholds)}
        object.__setattr__(self, "change_offsets", tuple(sorted(offsets)))

    @property
    def current_stage(self) -> str:
        """The stage of an account that is not delinquent: the first bucket's name."""
        return self.buckets[0].name

    def stage_for(self, dpd: int) -> str:
        """Rule 4 with this policy's buckets."""
        return stage_for(dpd, self.buckets)
