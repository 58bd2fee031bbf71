"""What a run is stored with, read from the decided report: the verdict, every measured
figure, and the JSON report itself."""

from __future__ import annotations

from typing import Any

from pydantic import JsonValue

from pytest_qlab.core.verdict import rating_text
from pytest_qlab.history.identity import DriveKey, drive_key
from pytest_qlab.history.model import NewRun, RunFigures
from pytest_qlab.report.model import QlabReport, VolumeReport


def _number(value: JsonValue) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def dropped_frames(volume: VolumeReport) -> int | None:
    """Frames dropped over every replay the run made, the show's own files (--qlab-media)
    included; None when no replay ran."""
    found = [
        number
        for key, value in volume.measurements.items()
        if key.endswith("_dropped_frames") and (number := _number(value)) is not None
    ]
    found += [item.dropped_frames for item in volume.media if item.dropped_frames is not None]
    return int(sum(found)) if found else None


def throttled(measurements: dict[str, JsonValue]) -> bool | None:
    """Whether a long run found throttling; None when none looked for it."""
    found = [value for key, value in measurements.items() if key.endswith("_throttled")]
    flags = [value for value in found if isinstance(value, bool)]
    return any(flags) if flags else None


def figures_of(
    qlab: QlabReport, volume: VolumeReport, *, host: str, date_utc: str, qlab_version: str
) -> RunFigures:
    measured = volume.measurements
    streams = _number(measured.get("max_streams"))
    return RunFigures(
        date_utc=date_utc,
        host=host,
        volume_name=volume.name,
        volume_path=volume.path,
        qlab_version=qlab_version,
        fio_version=qlab.fio_version,
        profile=qlab.profile.name,
        time_scale=qlab.time_scale,
        interrupted=volume.interrupted or qlab.interrupted,
        rating=rating_text(volume.rating),
        ready=volume.ready,
        read_mb_s=_number(measured.get("read_mb_s")),
        max_streams=None if streams is None else int(streams),
        dropped_frames=dropped_frames(volume),
        throttled=throttled(measured),
    )


def key_of(volume: VolumeReport, host: str) -> DriveKey:
    return drive_key(volume.drive, volume.mount_point, host)


def new_run(
    key: DriveKey, figures: RunFigures, volume: VolumeReport, document: dict[str, Any]
) -> NewRun:
    return NewRun(key, figures, dict(volume.measurements), document)
