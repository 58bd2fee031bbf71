"""The versioned `qlab` block of the JSON report, as pydantic models."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

from pytest_qlab.core.evidence import MetadataValue, VolumeRecord
from pytest_qlab.core.profiles import ShowProfile
from pytest_qlab.core.proof import Aspect, Measurement, Outcome, WindowSpread
from pytest_qlab.core.session import QlabSession
from pytest_qlab.core.verdict import Rating, RequirementKey, RequirementVerdict, Status
from pytest_qlab.drive import DriveInfo
from pytest_qlab.drive.advisories import Advisory
from pytest_qlab.measure.frametimes import COLUMNS
from pytest_qlab.measure.pool import covered_bytes
from pytest_qlab.media.cache import cache_warning
from pytest_qlab.media.rates import media_rates
from pytest_qlab.report.entries import TestEntry
from pytest_qlab.report.files import WrittenReport
from pytest_qlab.report.fleet import FleetReport, fleet_report
from pytest_qlab.report.history_model import HistoryReport
from pytest_qlab.report.matrix import MatrixCell, profile_rows, will_it_work

SCHEMA_VERSION = "2.4"
"""major.minor: a minor version only adds fields, so readers of 1.x read every 1.y report.
1.1 added `tests` (per-test summary rows and down-sampled series), 1.2 a volume's `layout`,
1.3 a volume's `media` (the show's own files and how they played), 1.4 each media file's
`cache_note` and `may_be_cached`, 1.5 a volume's `read_pool` (what the synthetic replays read,
and how much of it was distinct). 2.0: a volume's `rating` is null when no level was proven and
nothing failed (NOT RATED; `not_rated` names the level), and each volume has `evidence` (what
proved or disproved each requirement) and `bandwidth_windows` (how steady each bandwidth
measurement was). 2.1 a volume's `history` (the drive's earlier runs). 2.2 added each test's
`message` (why it failed, in words) and the profile's `formats` (the matrix rows the show
plays). 2.3 added a volume's `host` and the run's `fleet` (--qlab-host), 2.4 `frametimes`
(where --qlab-frametimes saved every replayed frame's timing)."""


class RequirementReport(BaseModel):
    key: str
    level: Rating
    required_mb_s: float
    derivation: str


class ProfileReport(BaseModel):
    name: str
    headroom: float
    player_buffer_frames: int
    normal_mb_s: float
    crossfade_mb_s: float
    crossfade_duration_s: float
    crossfade_every_s: float
    streams: list[str]
    crossfade_streams: list[str]
    derivation: list[str]
    formats: list[list[str]] = []
    """[codec, raster] of every stream that names both, normal set first: the matrix's
    rows the show plays."""


class MediaReport(BaseModel):
    """One of the show's files on the volume: what it is, and how its playback went (None:
    not played, e.g. the media items were deselected or the run was interrupted first)."""

    path: str
    """Relative to the volume."""
    codec: str
    fourcc: str
    raster: str
    fps: float
    frames: int
    duration_s: float
    mean_mb_s: float
    peak_mb_s: float
    frames_played: int | None
    """Frames of the file the setup check's media replay played (a stretch of it)."""
    dropped_frames: int | None
    worst_lateness_ms: float | None
    latency_p999_ms: float | None
    bytes_read: int | None
    cache_note: str | None = None
    """Whether the replay's reads of this file came from the drive or may have come from
    memory, and why (None: not checked)."""
    may_be_cached: bool | None = None
    """True on macOS for a file copied or changed since the Mac last started: its pages may
    still be cached, and direct I/O there serves them."""


class PoolReplayReport(BaseModel):
    """One synthetic replay of the setup check (a capacity probe is one)."""

    replay: str
    """normal_playback, crossfade_peak, capacity-NN (NN streams)."""
    bytes_read: int
    distinct_bytes: int
    """Bytes of the pool this replay read, each counted once: below `bytes_read` when a
    stream looped over its region (the pool too small for the replay)."""


class ReadPoolReport(BaseModel):
    """The files the setup check's synthetic replays read from, one cursor for the run: a byte
    is read again only after the whole pool was read since."""

    pool_bytes: int
    layout_added_bytes: int
    """Laid out for the pool beyond the sequential read's file, which it shares."""
    layout_added_s: float
    """fio's time to lay those bytes out: what the pool adds to the setup check's layout."""
    laps: int
    """How often the cursor came round to the pool's start."""
    bytes_read: int
    distinct_bytes: int
    """Bytes of the pool the replays read, each counted once over all of them."""
    replays: list[PoolReplayReport]


class ProofReport(BaseModel):
    """One measurement's word on one requirement."""

    aspect: Aspect
    measurement: Measurement
    outcome: Outcome
    mb_s: float | None
    """The bandwidth judged, after any disagreement lowered it."""
    dropped_frames: int | None
    frames: int | None
    sentence: str


class DisagreementReport(BaseModel):
    """Two figures of the run that disagree beyond the drive's own variability; the rating
    took the lower."""

    measurement: Measurement
    against: Measurement
    claimed_mb_s: float
    rated_mb_s: float
    sentence: str


class RequirementEvidence(BaseModel):
    """A requirement judged on every measurement of it."""

    requirement: RequirementKey
    level: Rating
    required_mb_s: float
    status: Status
    proofs: list[ProofReport]
    disagreements: list[DisagreementReport]
    summary: str
    """Which measurements proved it, which disproved it, or which run adds the proof."""


class WindowSpreadReport(BaseModel):
    """How far a bandwidth measurement's own windows spread."""

    measurement: Measurement
    window_s: float
    windows: int
    lowest_mb_s: float
    highest_mb_s: float
    spread_percent: float
    """How far the lowest window lies below the highest, in percent of the highest."""
    sentence: str


class VolumeReport(BaseModel):
    path: str
    """On `host` when one is named, else on this machine."""
    requested_path: str
    name: str
    mount_point: str
    system_default: bool
    """True when no --volume was given and the system's temp folder was tested."""
    host: str | None = None
    """The fleet host holding the volume (--qlab-host), as the user named it; null: this
    machine."""
    rating: Rating | None
    """The highest level proven; null when nothing was proven and nothing failed (NOT
    RATED)."""
    not_rated: Rating | None = None
    """The first level no measurement proved or disproved: the run did not prove it."""
    ready: bool
    interrupted: bool
    rating_reasons: list[str]
    measurements: dict[str, MetadataValue]
    max_streams: str | None
    """e.g. "plays up to 6 x UHD ProRes 422 HQ 29.97"."""
    matrix: list[MatrixCell]
    """Empty when the sustained read was not measured."""
    drive: DriveInfo | None
    """Identity, bus and health of the drive, probed before anything was written."""
    advisories: list[Advisory]
    """Pre-show advisories, when the setup check ran them."""
    cleanup: list[str] = []
    """What the start of the run cleaned up: a stale lock taken over, folders left by a killed
    run (with the space reclaimed), folders without our marker left alone."""
    reclaimed_bytes: int = 0
    layout: str | None = None
    """How long laying out the setup check's test files took, e.g. "layout: 2.1 GB ... "."""
    media: list[MediaReport] = []
    """The show's own files (--qlab-media) on this volume, in play order."""
    read_pool: ReadPoolReport | None = None
    """None: no synthetic replay ran."""
    evidence: list[RequirementEvidence] = []
    """For each requirement, in level order, which measurements proved or disproved it."""
    bandwidth_windows: list[WindowSpreadReport] = []
    """The window spread of every bandwidth measurement, read and write."""
    history: HistoryReport | None = None
    """The drive's past from the drive history; None when the history is off or unusable."""


class FrameTimesReport(BaseModel):
    """The per-frame timings CSV of --qlab-frametimes: one row per frame of every replay."""

    path: str | None
    """Where the CSV is: beside the HTML report, or a copy in the system temp folder when
    that failed; null when no copy could be saved either."""
    wanted_path: str
    """Where it was to be: beside the HTML report, named after it."""
    rows: int
    """Frames written, one row each (header aside)."""
    columns: list[str]
    cause: str | None = None
    """Why it is not at `wanted_path`."""


def frametimes_report(written: WrittenReport, rows: int) -> FrameTimesReport:
    return FrameTimesReport(
        path=None if written.location is None else str(written.location),
        wanted_path=str(written.wanted),
        rows=rows,
        columns=list(COLUMNS),
        cause=written.cause,
    )


class QlabReport(BaseModel):
    """The `qlab` block of the JSON report; published as schema/qlab-report.schema.json."""

    schema_version: str = SCHEMA_VERSION
    rehearsal: bool
    time_scale: float
    required: Rating
    interrupted: bool
    interrupted_by: str | None
    fio_version: str
    profile: ProfileReport
    requirements: list[RequirementReport]
    volumes: list[VolumeReport]
    tests: list[TestEntry] = Field(default_factory=list)
    """Every qualification test in run order: outcome, measured vs required, series."""
    fleet: FleetReport | None = None
    """With --qlab-host: how many hosts are ready, and what their shared storage carried."""
    frametimes: FrameTimesReport | None = None
    """The per-frame timings CSV; null when --qlab-frametimes was not given."""

    @property
    def all_ready(self) -> bool:
        return all(volume.ready for volume in self.volumes)


def volume_report(session: QlabSession, record: VolumeRecord) -> VolumeReport:
    """The volume's verdict, decided here once; every renderer reads it from this model."""
    decision = session.decision(record)
    target = record.target
    return VolumeReport(
        path=str(target.path),
        requested_path=target.requested,
        name=target.name,
        mount_point=str(target.mount_point),
        system_default=target.is_system_default,
        host=target.host,
        rating=decision.rated,
        not_rated=decision.not_rated,
        ready=session.ready(record, decision),
        interrupted=record.interrupted,
        rating_reasons=[*interruption_reason(session, record), *decision.reasons],
        measurements=record.measurements(),
        max_streams=record.capacity_summary,
        matrix=volume_matrix(session.profile.headroom, record),
        drive=record.drive,
        advisories=[*record.advisories, *media_cache_advisories(record)],
        cleanup=record.leftovers.lines() if record.leftovers else [],
        reclaimed_bytes=record.leftovers.reclaimed_bytes if record.leftovers else 0,
        layout=record.layout_summary(),
        media=media_reports(record),
        read_pool=read_pool_report(record),
        evidence=[requirement_evidence(verdict) for verdict in decision.requirements],
        bandwidth_windows=[
            spread_report(measurement, spread) for measurement, spread in record.window_spreads()
        ],
    )


def interruption_reason(session: QlabSession, record: VolumeRecord) -> list[str]:
    """Why an interrupted run is NOT READY whatever it measured, first among the reasons: the
    rest may all read as met."""
    if not record.interrupted and session.interrupted_by is None:
        return []
    by = f" by {session.interrupted_by}" if session.interrupted_by else ""
    return [
        f"not ready: the run was interrupted{by} before it finished, and an interrupted run "
        "never qualifies a drive; run it again to its end"
    ]


def requirement_evidence(verdict: RequirementVerdict) -> RequirementEvidence:
    return RequirementEvidence(
        requirement=verdict.requirement.key,
        level=verdict.requirement.level,
        required_mb_s=round(verdict.requirement.required_mb_s, 3),
        status=verdict.status,
        proofs=[
            ProofReport(
                aspect=proof.aspect,
                measurement=proof.measurement,
                outcome=proof.outcome,
                mb_s=None if proof.mb_s is None else round(proof.mb_s, 3),
                dropped_frames=proof.dropped_frames,
                frames=proof.frames,
                sentence=proof.sentence,
            )
            for proof in verdict.proofs
        ],
        disagreements=[
            DisagreementReport(
                measurement=item.measurement,
                against=item.against,
                claimed_mb_s=round(item.claimed_mb_s, 3),
                rated_mb_s=round(item.rated_mb_s, 3),
                sentence=item.sentence,
            )
            for item in verdict.disagreements
        ],
        summary=verdict.summary,
    )


def spread_report(measurement: Measurement, spread: WindowSpread) -> WindowSpreadReport:
    return WindowSpreadReport(
        measurement=measurement,
        window_s=spread.window_s,
        windows=spread.count,
        lowest_mb_s=round(spread.lowest_mb_s, 3),
        highest_mb_s=round(spread.highest_mb_s, 3),
        spread_percent=round(100 * spread.fraction, 1),
        sentence=f"{measurement.run_name}: {spread.sentence()}",
    )


def read_pool_report(record: VolumeRecord) -> ReadPoolReport | None:
    if record.read_pool is None:
        return None
    reads = record.pool_reads()
    added_bytes, added_s = record.pool_layout()
    return ReadPoolReport(
        pool_bytes=record.read_pool.pool.size_bytes,
        layout_added_bytes=added_bytes,
        layout_added_s=round(added_s, 3),
        laps=record.read_pool.pool.laps,
        bytes_read=sum(bytes_read for _, bytes_read, _ in reads),
        distinct_bytes=covered_bytes(region for _, _, regions in reads for region in regions),
        replays=[
            PoolReplayReport(
                replay=name, bytes_read=bytes_read, distinct_bytes=covered_bytes(regions)
            )
            for name, bytes_read, regions in reads
        ],
    )


def media_cache_advisories(record: VolumeRecord) -> list[Advisory]:
    """A warning under the verdict when the media replay may have read memory, not the drive:
    it does not fail the run (the frames were played), it says the figures may flatter it."""
    checks = [record.media_cache[m.path] for m in record.media if m.path in record.media_cache]
    message = cache_warning(checks)
    if message is None:
        return []
    return [
        Advisory(
            name="media-cache",
            title="show media may be read from memory",
            severity="warn",
            message=message,
        )
    ]


def media_reports(record: VolumeRecord) -> list[MediaReport]:
    played = (
        {}
        if record.media_playback is None
        else {result.frame_map.path: result for result in record.media_playback.files}
    )
    reports = []
    for frame_map in record.media:
        rates = media_rates(frame_map)
        result = played.get(frame_map.path)
        frames = None if result is None else result.frames
        cache = record.media_cache.get(frame_map.path)
        reports.append(
            MediaReport(
                path=str(frame_map.path.resolve().relative_to(record.target.path.resolve())),
                codec=frame_map.codec.description,
                fourcc=frame_map.codec.fourcc,
                raster=frame_map.raster,
                fps=round(float(frame_map.fps), 3),
                frames=frame_map.frames,
                duration_s=round(frame_map.duration_s, 3),
                mean_mb_s=round(rates.mean_mb_s, 3),
                peak_mb_s=round(rates.peak_mb_s, 3),
                frames_played=None if frames is None else frames.due_frames,
                dropped_frames=None if frames is None else frames.dropped_frames,
                worst_lateness_ms=None if frames is None else round(frames.worst_lateness_ms, 3),
                latency_p999_ms=(
                    None if frames is None else round(frames.latency_percentile_ms(99.9), 3)
                ),
                bytes_read=None if result is None else result.bytes_read,
                cache_note=None if cache is None else cache.note(),
                may_be_cached=None if cache is None else cache.may_be_cached,
            )
        )
    return reports


def volume_matrix(headroom: float, record: VolumeRecord) -> list[MatrixCell]:
    if record.sequential_read is None:
        return []
    return will_it_work(record.sequential_read.mb_s, headroom, record.verified_streams)


def profile_report(profile: ShowProfile) -> ProfileReport:
    return ProfileReport(
        name=profile.name,
        headroom=profile.headroom,
        player_buffer_frames=profile.player_buffer_frames,
        normal_mb_s=round(profile.normal_mb_s, 3),
        crossfade_mb_s=round(profile.crossfade_mb_s, 3),
        crossfade_duration_s=profile.crossfade.duration_s,
        crossfade_every_s=profile.crossfade.every_s,
        streams=[stream.derivation() for stream in profile.streams],
        crossfade_streams=[stream.derivation() for stream in profile.crossfade_streams],
        derivation=profile.derivation_lines(),
        formats=[
            [codec, raster]
            for codec, raster in profile_rows(
                (stream.codec, stream.raster)
                for stream in (*profile.streams, *profile.crossfade_streams)
            )
        ],
    )


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the `qlab` block, as committed in schema/qlab-report.schema.json."""
    schema = QlabReport.model_json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "x-schema-version": SCHEMA_VERSION,
        **schema,
    }


def build_report(
    session: QlabSession,
    tests: Sequence[TestEntry] = (),
    frametimes: FrameTimesReport | None = None,
) -> QlabReport:
    """Decide every volume's verdict once, at the end of the run, into the one model the
    terminal, the HTML and the JSON report render."""
    volumes = {key: volume_report(session, record) for key, record in session.volumes.items()}
    ready = {key: volume.ready for key, volume in volumes.items()}
    return QlabReport(
        rehearsal=session.options.rehearsal,
        time_scale=session.options.time_scale,
        required=session.options.require,
        interrupted=session.interrupted_by is not None,
        interrupted_by=session.interrupted_by,
        fio_version=session.fio.version_text,
        profile=profile_report(session.profile),
        requirements=[
            RequirementReport(
                key=item.key,
                level=item.level,
                required_mb_s=item.required_mb_s,
                derivation=item.derivation,
            )
            for item in session.requirements
        ],
        volumes=list(volumes.values()),
        tests=list(tests),
        fleet=fleet_report(session, ready),
        frametimes=frametimes,
    )
