"""What a qualification item shows in the report's summary table: each result type says it
itself, so no report guesses what kind of test a row is from the figures it holds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from pydantic import JsonValue

from pytest_qlab.core.units import format_bytes


@dataclass(frozen=True)
class ReportRow:
    measured: str
    """The figure a reader looks for first, e.g. "read 1052.8 MB/s"."""
    required: str
    """What it had to reach, e.g. "656.0 MB/s", or "reported only"."""


class Reportable(Protocol):
    """A measurement an item records: its figures for the JSON metadata and its summary row."""

    def metadata(self) -> Mapping[str, JsonValue]: ...

    def report_row(self) -> ReportRow: ...


def mb_s_text(mb_s: float) -> str:
    return f"{mb_s:.1f} MB/s"


def frames_row(achieved_mb_s: float, dropped_frames: int, required_mb_s: float) -> ReportRow:
    """A replay's row: what it read and dropped against what its streams ask, without a drop."""
    return ReportRow(
        f"{mb_s_text(achieved_mb_s)}, {dropped_frames} dropped frames",
        f"{mb_s_text(required_mb_s)}, no dropped frame",
    )


def reads_text(bytes_read: int, distinct_bytes: int) -> str:
    """e.g. "3.3 GB read, 2.4 GB of it distinct": a reader sees at once whether frames were
    read again."""
    return f"{format_bytes(bytes_read)} read, {format_bytes(distinct_bytes)} of it distinct"
