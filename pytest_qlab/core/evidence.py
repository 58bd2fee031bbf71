"""What one volume showed, as typed fields: each mode stores its results here, the rating reads
them, and the JSON report's `measurements` are derived from them. A renamed or missing piece of
evidence is a type error, never a silently different verdict."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from pydantic import JsonValue

from pytest_qlab.core.modes import INTEGRITY, SETUP_CHECK, SHOW_PATTERN, SUSTAINED, Mode
from pytest_qlab.core.profiles import SourceKey
from pytest_qlab.core.proof import (
    BandwidthFigure,
    CapacityFigure,
    Finding,
    Measurement,
    Playback,
    WindowSpread,
)
from pytest_qlab.core.units import bytes_to_mb, format_bytes
from pytest_qlab.core.verdict import Evidence, RequirementKey
from pytest_qlab.drive import DriveInfo
from pytest_qlab.drive.advisories import Advisory
from pytest_qlab.measure.bandwidth import BandwidthResult, LayoutResult
from pytest_qlab.measure.capacity import CapacityResult
from pytest_qlab.measure.integrity import IntegrityResult
from pytest_qlab.measure.phase import PhaseResult
from pytest_qlab.measure.pool import PoolRegion, ReadPoolUse, covered_bytes
from pytest_qlab.measure.probe import ProbeResult
from pytest_qlab.measure.replay import ReplayResult
from pytest_qlab.measure.sustained_outcome import SustainedOutcome
from pytest_qlab.media.cache import CacheCheck
from pytest_qlab.media.framemap import FrameMap
from pytest_qlab.media.playback import MediaPlayback
from pytest_qlab.report.matrix import CellKey
from pytest_qlab.safety.leftovers import LeftoverCleanup
from pytest_qlab.safety.volume import TargetVolume

MetadataValue = JsonValue


class LayoutKind(StrEnum):
    """Which mode laid out test files; the value prefixes its figures in the JSON report."""

    SETUP_CHECK = "layout"
    SUSTAINED = "sustained_layout"
    SHOW_PATTERN = "show_layout"


@dataclass
class VolumeRecord:
    """Everything measured on one volume; None or empty means not measured (deselected,
    interrupted or failed)."""

    target: TargetVolume
    drive: DriveInfo | None = None
    """Probed once at the start of the run, before anything is written."""
    leftovers: LeftoverCleanup | None = None
    """What the start of the run cleaned from the scratch root (crashed runs' folders, reclaimed
    bytes, a stale lock) and left alone."""
    advisories: list[Advisory] = field(default_factory=list)
    """Pre-show advisories, when the setup check ran them."""
    layouts: dict[LayoutKind, list[LayoutResult]] = field(default_factory=dict)
    sequential_read: BandwidthResult | None = None
    sequential_write: BandwidthResult | None = None
    replays: dict[RequirementKey, ReplayResult] = field(default_factory=dict)
    """The setup check's replay behind each requirement."""
    capacity: CapacityResult | None = None
    read_pool: ReadPoolUse | None = None
    """The files the setup check's synthetic replays read from, once a replay took a region."""
    verified_streams: dict[CellKey, int] = field(default_factory=dict)
    """Matrix cells proven by a replay: (codec, raster, nominal fps) -> streams played cleanly."""
    read_probe: ProbeResult | None = None
    sustained_read: SustainedOutcome | None = None
    sustained_write: SustainedOutcome | None = None
    show_stream_span_s: float | None = None
    show_phases: dict[str, PhaseResult] = field(default_factory=dict)
    """Each show-pattern phase played, by name, in the show's order."""
    integrity: IntegrityResult | None = None
    media: tuple[FrameMap, ...] = ()
    """The show's own files on this volume (--qlab-media, and those the profile's streams name),
    mapped at the start of the run."""
    frame_sources: dict[SourceKey, FrameMap] = field(default_factory=dict)
    """The movie each movie-named stream of the show plays (its file on this volume), or whose
    frame sizes it replays on scratch files (frames_from)."""
    media_cache: dict[Path, CacheCheck] = field(default_factory=dict)
    """Whether each file's frames may come from memory instead of the drive, by file path."""
    media_playback: MediaPlayback | None = None
    """The files played together as the normal set, read-only, frame by frame."""
    media_crossfade: MediaPlayback | None = None
    """The set playing on while each file starts again mid-file: a crossfade of the show."""
    interrupted: bool = False
    errors: list[str] = field(default_factory=list)
    """Measurements that failed (fio killed, an I/O error), each in one sentence."""

    def add_layout(self, kind: LayoutKind, result: LayoutResult) -> None:
        self.layouts.setdefault(kind, []).append(result)

    def verify_streams(self, cell: CellKey | None, streams: int) -> None:
        """Remember a ProRes stream kind that played `streams` at once without a drop."""
        if cell is not None and streams > 0:
            self.verified_streams[cell] = max(self.verified_streams.get(cell, 0), streams)

    @property
    def failed_advisories(self) -> list[Advisory]:
        return [advisory for advisory in self.advisories if advisory.severity == "fail"]

    @property
    def capacity_summary(self) -> str | None:
        return None if self.capacity is None else self.capacity.summary()

    def findings(self) -> dict[RequirementKey, tuple[Finding, ...]]:
        """Failures the long modes found beyond dropped frames (which are playback evidence),
        by the requirement they break."""
        normal: list[Finding] = []
        read = self.sustained_read
        if read is not None and read.result.throttle.throttled:
            normal.append(Finding(Measurement.SUSTAINED_READ, read.throttle_message()))
        for outcome, measurement in (
            (self.sustained_read, Measurement.SUSTAINED_READ),
            (self.sustained_write, Measurement.SUSTAINED_WRITE),
        ):
            critical = None if outcome is None else outcome.critical_failure()
            if outcome is not None and critical is not None:
                sentence = f"sustained {outcome.result.direction}: {critical}"
                normal.append(Finding(measurement, sentence))
        for phase in self.show_phases.values():
            sentences = [] if phase.bandwidth_held else [phase.bandwidth_message()]
            if phase.throttled:
                sentences.append(phase.throttle_message())
            critical = phase.critical_failure()
            if critical is not None:
                sentences.append(critical)
            normal += [Finding(Measurement.SHOW_PATTERN, sentence) for sentence in sentences]
        if self.integrity is not None and not self.integrity.intact:
            # Corrupt data endangers any show.
            normal.append(Finding(Measurement.INTEGRITY, self.integrity.message()))
        return {RequirementKey.NORMAL_PLAYBACK: tuple(normal)} if normal else {}

    def modes_run(self) -> frozenset[Mode]:
        """The modes that measured something on this volume."""
        setup = (
            self.sequential_read,
            self.sequential_write,
            self.capacity,
            self.media_playback,
            self.media_crossfade,
        )
        ran = {
            SETUP_CHECK: any(item is not None for item in setup) or bool(self.replays),
            SHOW_PATTERN: bool(self.show_phases),
            SUSTAINED: self.sustained_read is not None or self.sustained_write is not None,
            INTEGRITY: self.integrity is not None,
        }
        return frozenset(mode for mode, measured in ran.items() if measured)

    def bandwidth(self) -> tuple[BandwidthFigure, ...]:
        figures = []
        if self.sequential_read is not None:
            read = self.sequential_read
            figures.append(BandwidthFigure(Measurement.SEQUENTIAL_READ, read.mb_s, read.spread()))
        sustained = None if self.sustained_read is None else self.sustained_read.result
        lowest = None if sustained is None else sustained.lowest_window
        if sustained is not None and lowest is not None:
            figures.append(
                BandwidthFigure(Measurement.SUSTAINED_READ, lowest.mb_s, sustained.spread())
            )
        return tuple(figures)

    def playback(self, show_phases: Sequence[str]) -> dict[RequirementKey, tuple[Playback, ...]]:
        """Every measurement that played each requirement's streams. The show pattern proves
        only as a whole show: a phase left out may be the one that drops."""
        found: dict[RequirementKey, list[Playback]] = {key: [] for key in RequirementKey}
        replayed = {
            RequirementKey.NORMAL_PLAYBACK: Measurement.NORMAL_REPLAY,
            RequirementKey.CROSSFADE_PEAK: Measurement.CROSSFADE_REPLAY,
        }
        for key, replay in self.replays.items():
            found[key].append(Playback(replayed[key], _due_frames(replay), replay.dropped))
        found[RequirementKey.NORMAL_PLAYBACK] += self._show_playback(show_phases, crossfades=False)
        found[RequirementKey.CROSSFADE_PEAK] += self._show_playback(show_phases, crossfades=True)
        for key, media, measurement in (
            (RequirementKey.NORMAL_PLAYBACK, self.media_playback, Measurement.MEDIA_PLAYBACK),
            (RequirementKey.CROSSFADE_PEAK, self.media_crossfade, Measurement.MEDIA_CROSSFADE),
        ):
            if media is not None:
                found[key].append(_media_playback(measurement, media))
        return {key: tuple(items) for key, items in found.items() if items}

    def _show_playback(self, show_phases: Sequence[str], *, crossfades: bool) -> list[Playback]:
        phases = [
            phase
            for phase in self.show_phases.values()
            if not crossfades or phase.plan.crossfade_starts_s
        ]
        if not phases:
            return []
        missing = [name for name in show_phases if name not in self.show_phases]
        short_of = None
        if missing:
            short_of = (
                f"{len(self.show_phases)} of the show's {len(show_phases)} phases played "
                f"({', '.join(missing)} not)"
            )
        if crossfades:
            count = sum(len(phase.plan.crossfade_starts_s) for phase in phases)
            frames = sum(_due_frames(phase.replay) for phase in phases)
            dropped = [(name, p.crossfade_dropped) for name, p in self._named(phases)]
            scope = f"in {count} crossfades of {len(phases)} phases"
            measurement = Measurement.SHOW_CROSSFADES
            during = "during crossfades"
        else:
            frames = sum(_due_frames(phase.replay) for phase in phases)
            dropped = [(name, p.normal_dropped) for name, p in self._named(phases)]
            scope = f"in {len(phases)} phases ({frames} frames)"
            measurement = Measurement.SHOW_PATTERN
            during = "in normal playback"
        failures = tuple(
            f"{name}: {count} frames dropped {during}" for name, count in dropped if count
        )
        total = sum(count for _, count in dropped)
        return [Playback(measurement, frames, total, scope, short_of, failures)]

    def _named(self, phases: Sequence[PhaseResult]) -> list[tuple[str, PhaseResult]]:
        return [(phase.plan.name, phase) for phase in phases]

    def window_spreads(self) -> tuple[tuple[Measurement, WindowSpread], ...]:
        """How steady every bandwidth measurement was, read and write, for the reports."""
        measured = (
            (Measurement.SEQUENTIAL_READ, self.sequential_read),
            (Measurement.SEQUENTIAL_WRITE, self.sequential_write),
            (Measurement.SUSTAINED_READ, self._sustained(self.sustained_read)),
            (Measurement.SUSTAINED_WRITE, self._sustained(self.sustained_write)),
        )
        spreads = []
        for measurement, result in measured:
            spread = None if result is None else result.spread()
            if spread is not None:
                spreads.append((measurement, spread))
        return tuple(spreads)

    @staticmethod
    def _sustained(outcome: SustainedOutcome | None) -> BandwidthResult | None:
        return None if outcome is None else outcome.result

    def capacity_figure(self) -> CapacityFigure | None:
        found = self.capacity
        if found is None:
            return None
        return CapacityFigure(
            max_streams=found.max_streams,
            needed_streams=found.needed_streams,
            limit=found.limit,
            stream=found.spec.label,
            stream_mb_s=found.spec.mb_s_each,
        )

    def evidence(self, show_phases: Sequence[str] = ()) -> Evidence:
        """What the rating reads, each piece straight from the results that measured it;
        `show_phases`: the names of the show's phases, all of which a show-pattern proof needs."""
        return Evidence(
            bandwidth=self.bandwidth(),
            playback=self.playback(show_phases),
            capacity=self.capacity_figure(),
            findings=self.findings(),
            modes=self.modes_run(),
        )

    def pool_reads(self) -> list[tuple[str, int, tuple[PoolRegion, ...]]]:
        """Each synthetic replay of the setup check in run order (a capacity probe is one): its
        name, the bytes it read and where in the read pool."""
        reads = [
            (key.value, replay.bytes_read, replay.reads) for key, replay in self.replays.items()
        ]
        if self.capacity is not None:
            reads += [
                (f"capacity-{probe.streams:02d}", probe.bytes_read, probe.reads)
                for probe in self.capacity.probes
            ]
        return reads

    def pool_layout(self) -> tuple[int, float]:
        """Bytes and seconds of layout the read pool adds to the files other measurements lay
        out anyway (fio's runtime of each pool file's layout job)."""
        if self.read_pool is None:
            return 0, 0.0
        own = {name for name, _ in self.read_pool.pool.files} - set(self.read_pool.shared_files)
        added = [
            (size, layout.duration_of(name))
            for layout in self.layouts.get(LayoutKind.SETUP_CHECK, [])
            for name, size in layout.files
            if name in own and layout.file_durations_s
        ]
        return sum(size for size, _ in added), sum(seconds for _, seconds in added)

    def layout_summary(self) -> str | None:
        """Laying out test files is not part of the measurement, but a slow layout is worth
        knowing."""
        layouts = self.layouts.get(LayoutKind.SETUP_CHECK, [])
        size_bytes = sum(result.size_bytes for result in layouts)
        duration_s = sum(result.duration_s for result in layouts)
        if duration_s <= 0:
            return None
        text = (
            f"layout: {format_bytes(size_bytes)} of test files written in {duration_s:.1f} s "
            f"({bytes_to_mb(size_bytes) / duration_s:.0f} MB/s)"
        )
        if self.read_pool is not None:
            added_bytes, added_s = self.pool_layout()
            text += (
                f"; the replays' {format_bytes(self.read_pool.pool.size_bytes)} read pool adds "
                f"{format_bytes(added_bytes)} ({added_s:.1f} s) to the sequential read's file"
            )
        return text

    def measurements(self) -> dict[str, MetadataValue]:
        """The volume's figures for the JSON report, flat and unit-suffixed, derived from the
        same fields the rating reads."""
        values: dict[str, MetadataValue] = {}
        for kind, layouts in self.layouts.items():
            values[f"{kind.value}_duration_s"] = round(sum(r.duration_s for r in layouts), 3)
            values[f"{kind.value}_bytes"] = sum(r.size_bytes for r in layouts)
        if self.show_stream_span_s is not None:
            values["show_stream_span_s"] = round(self.show_stream_span_s, 3)
        for result in (self.sequential_read, self.sequential_write):
            if result is not None:
                values[f"{result.direction}_mb_s"] = round(result.mb_s, 3)
        for requirement, replay in self.replays.items():
            values[f"{requirement.value}_dropped_frames"] = replay.dropped
            values[f"{requirement.value}_achieved_mb_s"] = round(replay.achieved_mb_s, 3)
        if self.capacity is not None:
            values["max_streams"] = self.capacity.max_streams
            values["max_streams_needed"] = self.capacity.needed_streams
        if self.read_pool is not None:
            values.update(self._pool_measurements(self.read_pool))
        if self.read_probe is not None:
            values["sustained_read_configuration"] = self.read_probe.best.label()
            values["sustained_read_probe_summary"] = self.read_probe.sentence()
        for outcome in (self.sustained_read, self.sustained_write):
            if outcome is not None:
                values.update(_sustained_measurements(outcome))
        for name, phase in self.show_phases.items():
            prefix = f"show_{name.replace('-', '_')}"
            values[f"{prefix}_normal_dropped_frames"] = phase.normal_dropped
            values[f"{prefix}_crossfade_dropped_frames"] = phase.crossfade_dropped
            values[f"{prefix}_achieved_mb_s"] = round(phase.achieved_mb_s, 3)
        if self.integrity is not None:
            values.update(self.integrity.metadata())
        return values

    def _pool_measurements(self, use: ReadPoolUse) -> dict[str, MetadataValue]:
        added_bytes, added_s = self.pool_layout()
        reads = self.pool_reads()
        values: dict[str, MetadataValue] = {
            "read_pool_bytes": use.pool.size_bytes,
            "read_pool_layout_bytes": added_bytes,
            "read_pool_layout_s": round(added_s, 3),
            "read_pool_laps": use.pool.laps,
            "replays_bytes_read": sum(bytes_read for _, bytes_read, _ in reads),
            "replays_distinct_bytes": covered_bytes(r for _, _, regions in reads for r in regions),
        }
        for requirement, replay in self.replays.items():
            values[f"{requirement.value}_bytes_read"] = replay.bytes_read
            values[f"{requirement.value}_distinct_bytes"] = replay.distinct_bytes
        if self.capacity is not None:
            values["max_streams_bytes_read"] = self.capacity.bytes_read
            values["max_streams_distinct_bytes"] = self.capacity.distinct_bytes
        return values


def _sustained_measurements(outcome: SustainedOutcome) -> dict[str, MetadataValue]:
    result = outcome.result
    prefix = f"sustained_{result.direction}"
    values: dict[str, MetadataValue] = {
        f"{prefix}_mb_s": round(result.mb_s, 3),
        f"{prefix}_duration_s": round(result.runtime_s, 3),
        f"{prefix}_throttled": result.throttle.throttled,
        f"{prefix}_throttle_summary": result.throttle.sentence(),
        f"{prefix}_interrupted": result.interrupted,
    }
    lowest = result.lowest_window
    if lowest is not None:
        values[f"{prefix}_lowest_mb_s"] = round(lowest.mb_s, 3)
    if outcome.counter_increases:
        values[f"{prefix}_nvme_counter_increases"] = dict(outcome.counter_increases)
    return values


def _media_playback(measurement: Measurement, media: MediaPlayback) -> Playback:
    """The show's own files prove nothing alone (the profile's streams may be other files),
    but a dropped frame of theirs fails the requirement."""
    frames = sum(result.frames.due_frames for result in media.files)
    return Playback(
        measurement,
        frames,
        media.dropped,
        scope=f"in {len(media.files)} files ({frames} frames)",
        short_of="it plays the show's files, not the profile's streams",
        failures=tuple(media.failures()),
    )


def _due_frames(replay: ReplayResult) -> int:
    return sum(stream.frames.due_frames for stream in replay.streams)
