"""Ratings and the bandwidth checks behind them, with messages that state measured value,
required value, where the requirement comes from, and the shortfall."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import JsonValue

from pytest_qlab.core.rows import Reportable, ReportRow, mb_s_text


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


class RequirementKey(StrEnum):
    """What a rating level needs played without a drop; the value names it in the JSON report."""

    NORMAL_PLAYBACK = "normal_playback"
    CROSSFADE_PEAK = "crossfade_peak"

    @property
    def replay_name(self) -> str:
        """The setup check's replay that proves this requirement frame by frame."""
        return _REPLAY_NAMES[self]


_REPLAY_NAMES = {
    RequirementKey.NORMAL_PLAYBACK: "normal playback replay",
    RequirementKey.CROSSFADE_PEAK: "crossfade replay",
}


@dataclass(frozen=True)
class Requirement:
    """A read bandwidth a rating level needs, with the sentence that says where it comes from."""

    key: RequirementKey
    level: Rating
    required_mb_s: float
    derivation: str


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

    def metadata(self) -> dict[str, JsonValue]:
        return {
            "required_mb_s": round(self.requirement.required_mb_s, 3),
            "shortfall_mb_s": round(self.shortfall_mb_s, 3),
            "requirement": self.requirement.derivation,
        }

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
class Judged:
    """A measurement judged against a requirement: its own figures and row, with the
    requirement's figure as what it had to reach."""

    measurement: Reportable
    check: BandwidthCheck

    def metadata(self) -> dict[str, JsonValue]:
        return {**self.measurement.metadata(), **self.check.metadata()}

    def report_row(self) -> ReportRow:
        measured = self.measurement.report_row().measured
        return ReportRow(measured, mb_s_text(self.check.requirement.required_mb_s))


@dataclass(frozen=True)
class Evidence:
    """What a volume showed; None means not measured (deselected, interrupted or failed)."""

    read_mb_s: float | None = None
    dropped_frames: Mapping[RequirementKey, int | None] = field(default_factory=dict)
    """Dropped frames in the replay behind each requirement, keyed by requirement key."""
    max_streams: int | None = None
    """Capacity search result for the heaviest stream; optional evidence."""
    max_streams_needed: int | None = None
    """How many of the heaviest stream the normal set plays at once."""
    sustained_read_mb_s: float | None = None
    """The lowest throughput window of the max-sustained read, when it ran."""
    findings: Mapping[RequirementKey, tuple[str, ...]] = field(default_factory=dict)
    """Failures the long suites found (show-pattern drops, throttling), keyed by the
    requirement they break; each is a sentence for the verdict."""


@dataclass(frozen=True)
class RatingDecision:
    rating: Rating
    reasons: tuple[str, ...]


def _judge(requirement: Requirement, evidence: Evidence) -> tuple[bool, list[str]]:
    reasons = []
    if evidence.read_mb_s is None:
        reasons.append(f"sequential read was not measured ({requirement.level.label} needs it)")
        read_met = False
    else:
        check = BandwidthCheck("sequential read", requirement, evidence.read_mb_s)
        reasons.append(check.message())
        read_met = check.met
    replay = requirement.key.replay_name
    dropped = evidence.dropped_frames.get(requirement.key)
    if dropped is None:
        reasons.append(f"{replay} was not measured ({requirement.level.label} needs it)")
    elif dropped:
        reasons.append(f"{replay} dropped {dropped} frames ({requirement.level.label} needs none)")
    else:
        reasons.append(f"{replay}: no dropped frame")
    sustained_met = True
    if evidence.sustained_read_mb_s is not None:
        check = BandwidthCheck(
            "sustained read (lowest window)", requirement, evidence.sustained_read_mb_s
        )
        reasons.append(check.message())
        sustained_met = check.met
    findings = evidence.findings.get(requirement.key, ())
    reasons += findings
    capacity_met = True
    needed, found = evidence.max_streams_needed, evidence.max_streams
    if (
        requirement.key is RequirementKey.NORMAL_PLAYBACK
        and needed is not None
        and found is not None
    ):
        capacity_met = found >= needed
        if not capacity_met:
            reasons.append(
                f"plays only {found} of the heaviest stream without drops; the show plays {needed}"
            )
    met = read_met and dropped == 0 and capacity_met and sustained_met and not findings
    return met, reasons


def rate(evidence: Evidence, requirements: tuple[Requirement, ...]) -> RatingDecision:
    """A level needs its read bandwidth and a drop-free replay of its streams (design, section 2);
    ratings are decided by reading, which is what playback does."""
    rating = Rating.INSUFFICIENT
    reasons: list[str] = []
    for requirement in sorted(requirements, key=lambda item: item.level.rank):
        met, why = _judge(requirement, evidence)
        reasons += why
        if not met:
            break
        rating = requirement.level
    return RatingDecision(rating, tuple(reasons))
