"""The run's state: per volume, what was measured and how it rates. Owned by one object
stored in pytest's stash, never in module globals."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import JsonValue

from pytest_qlab.core.options import QlabOptions
from pytest_qlab.core.profiles import ShowProfile
from pytest_qlab.core.verdict import (
    REPLAY_NAMES,
    Evidence,
    Rating,
    RatingDecision,
    Requirement,
    rate,
)
from pytest_qlab.drive import DriveInfo
from pytest_qlab.drive.advisories import Advisory
from pytest_qlab.fio.runner import FioBinary
from pytest_qlab.report.matrix import CellKey
from pytest_qlab.safety.leftovers import LeftoverCleanup
from pytest_qlab.safety.volume import ScratchSpace, TargetVolume

MetadataValue = JsonValue


@dataclass
class VolumeRecord:
    target: TargetVolume
    measurements: dict[str, MetadataValue] = field(default_factory=dict)
    """Flat unit-suffixed figures, e.g. read_mb_s, write_mb_s, layout_duration_s."""
    interrupted: bool = False
    errors: list[str] = field(default_factory=list)
    verified_streams: dict[CellKey, int] = field(default_factory=dict)
    """Matrix cells proven by a replay: (codec, raster, nominal fps) -> streams played cleanly."""
    capacity_summary: str | None = None
    findings: dict[str, list[str]] = field(default_factory=dict)
    """Failures the long suites found, keyed by the requirement they break."""
    leftovers: LeftoverCleanup | None = None
    """What the start of the run cleaned from the scratch root (crashed runs' folders, reclaimed
    bytes, a stale lock) and left alone."""
    drive: DriveInfo | None = None
    """Probed once at the start of the run, before anything is written."""
    advisories: list[Advisory] = field(default_factory=list)
    """Pre-show advisories, when the setup check ran them."""

    def add_finding(self, requirement_key: str, sentence: str) -> None:
        self.findings.setdefault(requirement_key, []).append(sentence)

    @property
    def failed_advisories(self) -> list[Advisory]:
        return [advisory for advisory in self.advisories if advisory.severity == "fail"]

    def _number(self, key: str) -> float | None:
        value = self.measurements.get(key)
        return float(value) if isinstance(value, int | float) else None

    def evidence(self) -> Evidence:
        dropped = {
            key: None if value is None else int(value)
            for key in REPLAY_NAMES
            for value in [self._number(f"{key}_dropped_frames")]
        }
        max_streams = self._number("max_streams")
        needed = self._number("max_streams_needed")
        return Evidence(
            read_mb_s=self._number("read_mb_s"),
            dropped_frames=dropped,
            max_streams=None if max_streams is None else int(max_streams),
            max_streams_needed=None if needed is None else int(needed),
            sustained_read_mb_s=self._number("sustained_read_lowest_mb_s"),
            findings={key: tuple(found) for key, found in self.findings.items()},
        )


@dataclass
class QlabSession:
    options: QlabOptions
    targets: tuple[TargetVolume, ...]
    fio: FioBinary
    profile: ShowProfile
    volumes: dict[str, VolumeRecord] = field(default_factory=dict)
    interrupted_by: str | None = None
    scratch_spaces: list[ScratchSpace] = field(default_factory=list)
    """Every scratch directory this run created, for the last-resort cleanup at exit."""

    def __post_init__(self) -> None:
        for target in self.targets:
            self.volumes[str(target.path)] = VolumeRecord(target)

    @property
    def requirements(self) -> tuple[Requirement, ...]:
        return self.profile.requirements()

    def record(self, target: TargetVolume, values: dict[str, MetadataValue]) -> None:
        self.volumes[str(target.path)].measurements.update(values)

    def decision(self, record: VolumeRecord) -> RatingDecision:
        """The measured rating, capped at insufficient by an advisory that endangers playback
        (a failing drive plays well today and not tomorrow) or by a measurement that failed
        (fio killed, an I/O error): a drive is never ready on part of the evidence."""
        measured = rate(record.evidence(), self.requirements)
        reasons = tuple(
            f"{advisory.title}: {advisory.message}" for advisory in record.failed_advisories
        ) + tuple(f"a measurement failed: {error}" for error in record.errors)
        if not reasons:
            return measured
        return RatingDecision(Rating.INSUFFICIENT, measured.reasons + reasons)

    def ready(self, record: VolumeRecord) -> bool:
        """An interrupted run never qualifies a volume, whatever it measured before."""
        if record.interrupted or self.interrupted_by is not None:
            return False
        return self.decision(record).rating.meets(self.options.require)

    @property
    def all_ready(self) -> bool:
        return all(self.ready(record) for record in self.volumes.values())
