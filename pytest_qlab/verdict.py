"""Ratings and the bandwidth checks behind them, with messages that state measured value,
required value, where the requirement comes from, and the shortfall."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Rating(StrEnum):
    INSUFFICIENT = "insufficient"
    ACCEPTABLE = "acceptable"
    EXCELLENT = "excellent"

    @property
    def rank(self) -> int:
        return list(Rating).index(self)

    def meets(self, required: Rating) -> bool:
        return self.rank >= required.rank

    @property
    def label(self) -> str:
        return self.value.capitalize()


@dataclass(frozen=True)
class Requirement:
    """A read bandwidth a rating level needs, with the sentence that says where it comes from."""

    key: str
    level: Rating
    required_mb_s: float
    derivation: str


def default_requirements() -> tuple[Requirement, Requirement]:
    """The figures the product was specified with (shared design, section 2)."""
    normal_mb_s = 1 * 440.0 + 3 * 72.0
    return (
        Requirement(
            key="normal_playback",
            level=Rating.ACCEPTABLE,
            required_mb_s=normal_mb_s,
            derivation=(
                "normal playback: 1 x 4K stream at 440 MB/s + 3 x HD streams at 72 MB/s "
                f"= {normal_mb_s:.0f} MB/s"
            ),
        ),
        Requirement(
            key="crossfade_peak",
            level=Rating.EXCELLENT,
            required_mb_s=2100.0,
            derivation="crossfade peak: two overlapping cue sets plus a safety buffer = 2100 MB/s",
        ),
    )


@dataclass(frozen=True)
class BandwidthCheck:
    what: str
    """The measurement, e.g. "sequential read"."""
    requirement: Requirement
    measured_mb_s: float

    @property
    def met(self) -> bool:
        return self.measured_mb_s >= self.requirement.required_mb_s

    @property
    def shortfall_mb_s(self) -> float:
        return max(0.0, self.requirement.required_mb_s - self.measured_mb_s)

    def message(self) -> str:
        required = self.requirement.required_mb_s
        level = self.requirement.level.label
        if self.met:
            return (
                f"{self.what} {self.measured_mb_s:.1f} MB/s meets the {required:.1f} MB/s "
                f"{level} needs ({self.requirement.derivation})"
            )
        percent = 100 * self.shortfall_mb_s / required
        return (
            f"{self.what} {self.measured_mb_s:.1f} MB/s is below the {required:.1f} MB/s "
            f"{level} needs ({self.requirement.derivation}); short by "
            f"{self.shortfall_mb_s:.1f} MB/s ({percent:.0f} %)"
        )


@dataclass(frozen=True)
class RatingDecision:
    rating: Rating
    reasons: tuple[str, ...]


def rate(read_mb_s: float | None, requirements: tuple[Requirement, ...]) -> RatingDecision:
    """Ratings are decided by reading, which is what playback does (design section 2)."""
    if read_mb_s is None:
        return RatingDecision(Rating.INSUFFICIENT, ("sequential read was not measured",))
    rating = Rating.INSUFFICIENT
    reasons = []
    for requirement in sorted(requirements, key=lambda item: item.level.rank):
        check = BandwidthCheck("sequential read", requirement, read_mb_s)
        reasons.append(check.message())
        if not check.met:
            break
        rating = requirement.level
    return RatingDecision(rating, tuple(reasons))
