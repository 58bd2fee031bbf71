"""One summary row per test for the reports: what was measured against what was required,
and the test's time series thinned to a plot's worth of points."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, Field, JsonValue

MAX_SERIES_POINTS = 300
"""Points per series in the JSON report: enough for a plot, small enough to mail."""
SERIES_KEYS = ("windows", "crossfade_windows", "thermal")

Outcome = Literal["passed", "failed", "skipped", "xfailed", "xpassed", "error"]


class TestEntry(BaseModel):
    """A test's line in the summary table and the JSON `qlab.tests` list."""

    __test__ = False  # not a pytest test class

    nodeid: str
    name: str
    mode: str
    """setup_check, show_pattern, sustained, or "other"."""
    volume: str | None
    phase: str | None
    outcome: Outcome
    measured: str
    required: str
    message: str | None = None
    """Why the item failed, was an expected failure or was skipped: its assertion message
    (measured, required, shortfall), never a traceback."""
    series: dict[str, JsonValue] = Field(default_factory=dict)
    """Time series and histograms, each at most `MAX_SERIES_POINTS` points (a media file's
    lateness at most `MAX_LATENESS_POINTS`, as many)."""


def thin(points: Sequence[JsonValue], max_points: int = MAX_SERIES_POINTS) -> list[JsonValue]:
    """Every k-th point, the last always kept, so a two-hour series stays plot-sized."""
    if len(points) <= max_points:
        return list(points)
    stride = -(-len(points) // max_points)
    kept = list(points[::stride])
    if len(kept) >= max_points:
        kept = kept[: max_points - 1]
    kept.append(points[-1])
    return kept


def compact(metadata: Mapping[str, JsonValue]) -> dict[str, JsonValue]:
    """The metadata with every known series thinned; scalar measurements untouched."""
    result = dict(metadata)
    windows = result.get("windows")
    if isinstance(windows, list):
        result["windows"] = thin(windows)
    thermal = result.get("thermal")
    if isinstance(thermal, dict) and isinstance(thermal.get("series"), list):
        series = thermal["series"]
        assert isinstance(series, list)
        result["thermal"] = {**thermal, "series": thin(series)}
    return result


def series_of(metadata: Mapping[str, JsonValue]) -> dict[str, JsonValue]:
    compacted = compact(metadata)
    series: dict[str, JsonValue] = {key: compacted[key] for key in SERIES_KEYS if key in compacted}
    per_stream = compacted.get("per_stream")
    if isinstance(per_stream, list):
        histograms: list[JsonValue] = [
            {"stream": stream.get("stream"), "bins": stream.get("latency_histogram")}
            for stream in per_stream
            if isinstance(stream, dict) and stream.get("latency_histogram")
        ]
        if histograms:
            series["latency_histograms"] = histograms
    per_file = compacted.get("per_file")
    if isinstance(per_file, list):
        lateness: list[JsonValue] = [
            {"path": item.get("path"), "start_s": item.get("start_s"), "points": item["lateness"]}
            for item in per_file
            if isinstance(item, dict) and item.get("lateness")
        ]
        if lateness:
            series["media_lateness"] = lateness
    return series
