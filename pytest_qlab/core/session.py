"""The run's state: per volume, what was measured and how it rates, and the resources the run
holds (locks, scratch folders) until it closes. One object per run, never module globals."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field, replace

from pytest_qlab.core.evidence import VolumeRecord
from pytest_qlab.core.options import QlabOptions
from pytest_qlab.core.profiles import ShowProfile
from pytest_qlab.core.verdict import (
    Rating,
    RatingDecision,
    Requirement,
    rate,
)
from pytest_qlab.fio.runner import FioBinary
from pytest_qlab.fleet.checks import FleetSetupCheck, FleetShowPatternCheck, FleetSustainedCheck
from pytest_qlab.fleet.fleet import Fleet
from pytest_qlab.measure.frametimes import FrameTimes, RowSink
from pytest_qlab.safety.volume import ScratchSpace, TargetVolume


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
    resources: ExitStack = field(default_factory=ExitStack)
    """Released by `close`, last taken first: scratch folders, then drive and volume locks."""
    fleet: Fleet | None = None
    """The --qlab-host machines, measured at the same moment."""
    fleet_checks: dict[str, FleetSetupCheck] | None = None
    """Each host's setup check, made when the first host's test asks for one."""
    fleet_sustained: dict[str, FleetSustainedCheck] | None = None
    """Each host's max sustained check, made when the first host's test asks for one."""
    fleet_show_pattern: dict[str, FleetShowPatternCheck] | None = None
    """Each host's show pattern, made when the first host's test asks for one."""
    frame_sink: RowSink | None = None
    """Where every replay's per-frame timings go (--qlab-frametimes); None: nowhere."""

    def __post_init__(self) -> None:
        for target in self.targets:
            self.volumes[target.key] = VolumeRecord(target)

    def volume(self, target: TargetVolume) -> VolumeRecord:
        return self.volumes[target.key]

    def add_scratch(self, scratch: ScratchSpace) -> None:
        """Removed when the run closes unless the user keeps the files: the last resort after
        an exit path that skipped the fixture's own removal."""
        self.scratch_spaces.append(scratch)
        if not self.options.keep_files:
            self.resources.callback(scratch.remove)

    def frame_times(self, target: TargetVolume) -> FrameTimes | None:
        """The volume's per-frame timings, for its replays to write; None when not asked for."""
        return None if self.frame_sink is None else FrameTimes(self.frame_sink, target.name)

    def scratch_of(self, target: TargetVolume) -> ScratchSpace | None:
        return next((s for s in self.scratch_spaces if s.volume.path == target.path), None)

    def close(self) -> None:
        self.resources.close()

    @property
    def requirements(self) -> tuple[Requirement, ...]:
        return self.profile.requirements()

    def decision(self, record: VolumeRecord) -> RatingDecision:
        """The measured rating, capped at insufficient by an advisory that endangers playback
        (a failing drive plays well today and not tomorrow) or by a measurement that failed
        (fio killed, an I/O error): a drive is never ready on part of the evidence."""
        phases = tuple(phase.name for phase in self.profile.show_phases)
        interrupted = record.interrupted or self.interrupted_by is not None
        evidence = replace(record.evidence(phases), interrupted=interrupted)
        measured = rate(evidence, self.requirements)
        reasons = tuple(
            f"{advisory.title}: {advisory.message}" for advisory in record.failed_advisories
        ) + tuple(f"a measurement failed: {error}" for error in record.errors)
        if not reasons:
            return measured
        return RatingDecision(
            Rating.INSUFFICIENT, measured.reasons + reasons, measured.requirements
        )

    def ready(self, record: VolumeRecord, decision: RatingDecision) -> bool:
        """An interrupted run never qualifies a volume, whatever it measured before; a level
        not proven is not met, even when nothing failed."""
        if record.interrupted or self.interrupted_by is not None:
            return False
        return decision.rating.meets(self.options.require)
