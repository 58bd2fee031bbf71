"""What one volume showed, as typed fields: each mode stores its results here, the rating reads
them, and the JSON report's `measurements` are derived from them. A renamed or missing piece of
evidence is a type error, never a silently different verdict."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from pydantic import JsonValue

from pytest_qlab.core.profiles import SourceKey
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

    def findings(self) -> dict[RequirementKey, tuple[str, ...]]:
        """Failures the long modes found, by the requirement they break, each a sentence."""
        normal: list[str] = []
        crossfade: list[str] = []
        read = self.sustained_read
        if read is not None and read.result.throttle.throttled:
            normal.append(read.throttle_message())
        for outcome in (self.sustained_read, self.sustained_write):
            if outcome is None:
                continue
            critical = outcome.critical_failure()
            if critical is not None:
                normal.append(f"sustained {outcome.result.direction}: {critical}")
        for name, phase in self.show_phases.items():
            if phase.normal_dropped:
                normal.append(
                    f"show pattern, {name}: {phase.normal_dropped} frames dropped in normal "
                    "playback"
                )
            if not phase.bandwidth_held:
                normal.append(phase.bandwidth_message())
            if phase.throttled:
                normal.append(phase.throttle_message())
            critical = phase.critical_failure()
            if critical is not None:
                normal.append(critical)
            if phase.crossfade_dropped:
                crossfade.append(
                    f"show pattern, {name}: {phase.crossfade_dropped} frames dropped during "
                    "crossfades"
                )
        if self.media_playback is not None:
            normal += self.media_playback.failures()
        if self.media_crossfade is not None:
            crossfade += self.media_crossfade.failures()
        if self.integrity is not None and not self.integrity.intact:
            normal.append(self.integrity.message())  # corrupt data endangers any show
        found = {RequirementKey.NORMAL_PLAYBACK: normal, RequirementKey.CROSSFADE_PEAK: crossfade}
        return {key: tuple(sentences) for key, sentences in found.items() if sentences}

    def evidence(self) -> Evidence:
        """What the rating reads: each field straight from the results that measured it."""
        lowest = None if self.sustained_read is None else self.sustained_read.result.lowest_window
        return Evidence(
            read_mb_s=None if self.sequential_read is None else self.sequential_read.mb_s,
            dropped_frames={key: replay.dropped for key, replay in self.replays.items()},
            max_streams=None if self.capacity is None else self.capacity.max_streams,
            max_streams_needed=None if self.capacity is None else self.capacity.needed_streams,
            sustained_read_mb_s=None if lowest is None else lowest.mb_s,
            findings=self.findings(),
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
