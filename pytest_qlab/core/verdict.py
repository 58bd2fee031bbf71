"""Ratings and the bandwidth checks behind them, with messages that state measured value,
required value, where the requirement comes from, and the shortfall."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import JsonValue

from pytest_qlab.core.agreement import Disagreement, agreed_mb_s
from pytest_qlab.core.hints import proof_hint
from pytest_qlab.core.modes import Mode
from pytest_qlab.core.proof import (
    Aspect,
    BandwidthFigure,
    CapacityFigure,
    Finding,
    Measurement,
    Outcome,
    Playback,
    Proof,
)
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


NOT_RATED_TEXT = "not rated"


def rating_text(rating: Rating | None) -> str:
    """A run's rating in words where it is stored or listed: its value, or "not rated" when no
    level was proven and nothing failed."""
    return NOT_RATED_TEXT if rating is None else rating.value


class RequirementKey(StrEnum):
    """What a rating level needs played without a drop; the value names it in the JSON report."""

    NORMAL_PLAYBACK = "normal_playback"
    CROSSFADE_PEAK = "crossfade_peak"

    @property
    def phrase(self) -> str:
        return _PHRASES[self]

    @property
    def played(self) -> str:
        """What a frame-by-frame proof of it plays, as the verdict names what is missing."""
        return _PLAYED[self]


_PHRASES = {
    RequirementKey.NORMAL_PLAYBACK: "normal playback",
    RequirementKey.CROSSFADE_PEAK: "crossfade peaks",
}
_PLAYED = {
    RequirementKey.NORMAL_PLAYBACK: "the normal set played frame by frame",
    RequirementKey.CROSSFADE_PEAK: "crossfades played frame by frame",
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
    """What a volume showed, by the measurement that showed it; empty means not measured
    (deselected, interrupted or failed)."""

    bandwidth: tuple[BandwidthFigure, ...] = ()
    """Every read bandwidth measured: each must carry a level, one is enough to prove it."""
    playback: Mapping[RequirementKey, tuple[Playback, ...]] = field(default_factory=dict)
    """What each requirement's streams played, by every measurement that played them."""
    capacity: CapacityFigure | None = None
    """Capacity search for the heaviest stream; it can only disprove, and lowers a bandwidth
    figure it disagrees with."""
    findings: Mapping[RequirementKey, tuple[Finding, ...]] = field(default_factory=dict)
    """Failures the long modes found (throttling, temperature, corrupt data), keyed by the
    requirement they break."""
    modes: frozenset[Mode] = frozenset()
    """The modes that measured anything, for the line saying which run adds a missing proof."""
    interrupted: bool = False
    """The run stopped early: a missing proof was cut short, not left out."""


class Status(StrEnum):
    PROVED = "proved"
    DISPROVED = "disproved"
    NOT_RATED = "not_rated"
    """No measurement disproved it, and some aspect had none to prove it."""


@dataclass(frozen=True)
class RequirementVerdict:
    """One requirement judged on every measurement of it."""

    requirement: Requirement
    status: Status
    proofs: tuple[Proof, ...]
    disagreements: tuple[Disagreement, ...]
    summary: str
    """One line: which measurements proved it, which disproved it, or which run adds the proof."""

    @property
    def reasons(self) -> tuple[str, ...]:
        return (
            *(item.sentence for item in self.disagreements),
            *(proof.sentence for proof in self.proofs),
            self.summary,
        )


@dataclass(frozen=True)
class RatingDecision:
    rating: Rating
    """The highest level proven; INSUFFICIENT when none was (see `not_rated`)."""
    reasons: tuple[str, ...]
    requirements: tuple[RequirementVerdict, ...] = ()
    """Every requirement judged, levels above the first one missed included."""
    not_rated: Rating | None = None
    """The first level neither proven nor disproved, when judging stopped there."""

    @property
    def rated(self) -> Rating | None:
        """The rating to show: None (NOT RATED) when nothing was proven and nothing failed."""
        if self.not_rated is not None and self.rating is Rating.INSUFFICIENT:
            return None
        return self.rating


def _bandwidth_proofs(
    requirement: Requirement, evidence: Evidence
) -> tuple[list[Proof], list[Disagreement]]:
    proofs: list[Proof] = []
    disagreements: list[Disagreement] = []
    for figure in evidence.bandwidth:
        rated_mb_s, found = agreed_mb_s(figure, evidence.capacity)
        disagreements += found
        what = figure.measurement.phrase
        if found:
            what += f" (rated on {rated_mb_s:.1f} MB/s, the lower figure)"
        check = BandwidthCheck(what, requirement, rated_mb_s)
        outcome = Outcome.PROVED if check.met else Outcome.DISPROVED
        proofs.append(
            Proof(Aspect.BANDWIDTH, figure.measurement, outcome, check.message(), mb_s=rated_mb_s)
        )
    return proofs, disagreements


def _playback_proof(requirement: Requirement, played: Playback) -> Proof:
    title = played.measurement.phrase
    level = requirement.level.label
    if played.dropped_frames:
        sentence = f"{title} dropped {played.dropped_frames} frames ({level} needs none)"
        if played.failures:
            sentence += ": " + "; ".join(played.failures)
        outcome = Outcome.DISPROVED
    else:
        sentence = f"{title}: no dropped frame" + (f" {played.scope}" if played.scope else "")
        outcome = Outcome.PROVED
        if played.short_of is not None:
            sentence += f"; not a proof on its own: {played.short_of}"
            outcome = Outcome.SUPPORTED
    return Proof(
        Aspect.PLAYBACK,
        played.measurement,
        outcome,
        sentence,
        dropped_frames=played.dropped_frames,
        frames=played.frames,
    )


def _capacity_proof(capacity: CapacityFigure) -> Proof:
    if capacity.max_streams >= capacity.needed_streams:
        outcome = Outcome.SUPPORTED
        sentence = (
            f"{Measurement.CAPACITY.phrase}: plays {capacity.max_streams} x {capacity.stream} "
            f"without drops; the show plays {capacity.needed_streams}"
        )
    else:
        outcome = Outcome.DISPROVED
        played = (
            f"cannot play a single {capacity.stream} stream"
            if capacity.max_streams == 0
            else f"plays only {capacity.max_streams} x {capacity.stream}"
        )
        sentence = (
            f"{Measurement.CAPACITY.phrase}: {played} without drops; the show plays "
            f"{capacity.needed_streams}"
        )
    # named only where it disproves, so never more streams than the show needs
    figure = f"with {capacity.max_streams} of the {capacity.needed_streams} streams without drops"
    return Proof(Aspect.PLAYBACK, Measurement.CAPACITY, outcome, sentence, figure_text=figure)


_SETUP_ITEMS = {
    Aspect.BANDWIDTH: "test_sequential_read",
    RequirementKey.NORMAL_PLAYBACK: "test_normal_playback",
    RequirementKey.CROSSFADE_PEAK: "test_crossfade_playback",
}


def _summary(
    requirement: Requirement,
    status: Status,
    proofs: list[Proof],
    modes: frozenset[Mode],
    *,
    interrupted: bool = False,
) -> str:
    level = requirement.level.label
    what = requirement.key.phrase
    if status is Status.DISPROVED:
        missed = _names(proof for proof in proofs if proof.outcome is Outcome.DISPROVED)
        return f"{level} missed: {what} disproved by the {missed}"
    if status is Status.PROVED:
        proved = _names(proof for proof in proofs if proof.outcome is Outcome.PROVED)
        return f"{level}: {what} proven by the {proved}"
    missing = [
        aspect
        for aspect in (Aspect.BANDWIDTH, Aspect.PLAYBACK)
        if not any(p.aspect is aspect and p.outcome is Outcome.PROVED for p in proofs)
    ]
    lacking = " and ".join(
        "the read bandwidth" if aspect is Aspect.BANDWIDTH else requirement.key.played
        for aspect in missing
    )
    items = [
        _SETUP_ITEMS[Aspect.BANDWIDTH if aspect is Aspect.BANDWIDTH else requirement.key]
        for aspect in missing
    ]
    hint = proof_hint(items, modes, interrupted=interrupted)
    return f"{level} NOT RATED: nothing measured {lacking}; {hint}"


def _names(proofs: Iterable[Proof]) -> str:
    """Each measurement once, with its first figure (a phase's drops before its slump)."""
    named: dict[Measurement, str] = {}
    for proof in proofs:
        named.setdefault(proof.measurement, f"{proof.measurement.phrase} {proof.figure}".strip())
    return " and the ".join(named.values())


def judge(requirement: Requirement, evidence: Evidence) -> RequirementVerdict:
    """Proved when a measurement proves each aspect (bandwidth, playback) and none disproves
    anything; disproved when any measurement of it failed, whatever the others said."""
    proofs, disagreements = _bandwidth_proofs(requirement, evidence)
    proofs += [_playback_proof(requirement, p) for p in evidence.playback.get(requirement.key, ())]
    capacity = evidence.capacity
    if requirement.key is RequirementKey.NORMAL_PLAYBACK and capacity is not None:
        proofs.append(_capacity_proof(capacity))
    proofs += [
        Proof(Aspect.HEALTH, finding.measurement, Outcome.DISPROVED, finding.sentence)
        for finding in evidence.findings.get(requirement.key, ())
    ]
    if any(proof.outcome is Outcome.DISPROVED for proof in proofs):
        status = Status.DISPROVED
    elif all(
        any(p.aspect is aspect and p.outcome is Outcome.PROVED for p in proofs)
        for aspect in (Aspect.BANDWIDTH, Aspect.PLAYBACK)
    ):
        status = Status.PROVED
    else:
        status = Status.NOT_RATED
    summary = _summary(
        requirement, status, proofs, evidence.modes, interrupted=evidence.interrupted
    )
    return RequirementVerdict(requirement, status, tuple(proofs), tuple(disagreements), summary)


def rate(evidence: Evidence, requirements: tuple[Requirement, ...]) -> RatingDecision:
    """A level needs its read bandwidth and its streams played without a drop, each proven by
    some measurement and disproved by none (design, section 2); judging stops at the first
    level missed or not proven."""
    verdicts = tuple(
        judge(requirement, evidence)
        for requirement in sorted(requirements, key=lambda item: item.level.rank)
    )
    rating = Rating.INSUFFICIENT
    reasons: list[str] = []
    for verdict in verdicts:
        reasons += verdict.reasons
        if verdict.status is Status.NOT_RATED:
            return RatingDecision(rating, tuple(reasons), verdicts, verdict.requirement.level)
        if verdict.status is Status.DISPROVED:
            break
        rating = verdict.requirement.level
    return RatingDecision(rating, tuple(reasons), verdicts)
