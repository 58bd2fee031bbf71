"""The drive's past in the JSON report: `qlab.volumes[i].history`."""

from __future__ import annotations

from pydantic import BaseModel


class HistoryRunReport(BaseModel):
    """One earlier qualification of the drive, as the history stored it."""

    run_id: int
    date_utc: str
    host: str
    rating: str
    ready: bool
    rehearsal: bool
    time_scale: float
    interrupted: bool
    read_mb_s: float | None
    max_streams: int | None
    dropped_frames: int | None
    throttled: bool | None
    profile: str
    qlab_version: str
    fio_version: str


class TrendPoint(BaseModel):
    """One qualification of the drive on its trend plot, this run last."""

    qualification: int
    date_utc: str
    read_mb_s: float | None
    max_streams: int | None
    rehearsal: bool


class HistoryReport(BaseModel):
    store: str
    """The history this run was compared with: a file or a URL without its password."""
    drive_key: str
    key_kind: str
    """What identifies the drive: serial (with model), volume-uuid, or mount-point."""
    drive: str
    """The key in words, e.g. "serial S4EWNX0R123456"."""
    qualification: int
    """This run's number among the drive's stored runs (rehearsals included)."""
    comparison: str | None
    """The terminal's `history:` line; None on the drive's first run."""
    best_read_mb_s: float | None
    """The best sequential read of the drive's earlier full-scale qualifications."""
    run_id: int | None = None
    """The id this run was stored under (for `compare`); None when it was not stored."""
    runs: list[HistoryRunReport]
    """The drive's last 10 earlier runs, newest first."""
    trend: list[TrendPoint]
