"""The run's state: per volume, what was measured and how it rates. Owned by one object
stored in pytest's stash, never in module globals."""

from __future__ import annotations

from dataclasses import dataclass, field

from pytest_qlab.fio.runner import FioBinary
from pytest_qlab.options import QlabOptions
from pytest_qlab.verdict import RatingDecision, Requirement, default_requirements, rate
from pytest_qlab.volume import ScratchSpace, TargetVolume

MetadataValue = float | int | str | bool | None


@dataclass
class VolumeRecord:
    target: TargetVolume
    measurements: dict[str, MetadataValue] = field(default_factory=dict)
    """Flat unit-suffixed figures, e.g. read_mb_s, write_mb_s, layout_duration_s."""
    interrupted: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def read_mb_s(self) -> float | None:
        value = self.measurements.get("read_mb_s")
        return float(value) if isinstance(value, int | float) else None


@dataclass
class QlabSession:
    options: QlabOptions
    targets: tuple[TargetVolume, ...]
    fio: FioBinary
    requirements: tuple[Requirement, ...] = field(default_factory=default_requirements)
    volumes: dict[str, VolumeRecord] = field(default_factory=dict)
    interrupted_by: str | None = None
    scratch_spaces: list[ScratchSpace] = field(default_factory=list)
    """Every scratch directory this run created, for the last-resort cleanup at exit."""

    def __post_init__(self) -> None:
        for target in self.targets:
            self.volumes[str(target.path)] = VolumeRecord(target)

    def record(self, target: TargetVolume, values: dict[str, MetadataValue]) -> None:
        self.volumes[str(target.path)].measurements.update(values)

    def decision(self, record: VolumeRecord) -> RatingDecision:
        return rate(record.read_mb_s, self.requirements)

    def ready(self, record: VolumeRecord) -> bool:
        """An interrupted run never qualifies a volume, whatever it measured before."""
        if record.interrupted or self.interrupted_by is not None:
            return False
        return self.decision(record).rating.meets(self.options.require)

    @property
    def all_ready(self) -> bool:
        return all(self.ready(record) for record in self.volumes.values())
