"""A run as the history keeps it: what is stored, and what is read back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pytest_qlab.history.identity import DriveKey


@dataclass(frozen=True)
class RunFigures:
    """What a run is listed and compared with."""

    date_utc: str
    """ISO 8601 in UTC, e.g. "2026-11-20T21:04:05Z"."""
    host: str
    volume_name: str
    volume_path: str
    qlab_version: str
    fio_version: str
    profile: str
    time_scale: float
    interrupted: bool
    rating: str
    ready: bool
    read_mb_s: float | None
    max_streams: int | None
    dropped_frames: int | None
    throttled: bool | None
    """None: no long run looked for throttling."""

    @property
    def rehearsal(self) -> bool:
        return self.time_scale < 1

    @property
    def date(self) -> str:
        return self.date_utc[:10]


@dataclass(frozen=True)
class NewRun:
    drive: DriveKey
    figures: RunFigures
    measurements: dict[str, Any] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)
    """The JSON report the run wrote."""


@dataclass(frozen=True)
class StoredRun:
    run_id: int
    drive_key: str
    key_kind: str
    serial: str | None
    model: str | None
    figures: RunFigures


@dataclass(frozen=True)
class DriveSummary:
    drive_key: str
    key_kind: str
    serial: str | None
    model: str | None
    runs: int
    last_date_utc: str
