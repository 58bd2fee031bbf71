"""Maximum stream count: how many simultaneous streams of one kind a drive plays without a
single dropped frame (the SPEC VDA "streams" idea), found by doubling then bisection."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import JsonValue

from pytest_qlab.core.profiles import StreamSpec
from pytest_qlab.core.rows import ReportRow, reads_text
from pytest_qlab.measure.pool import PoolRegion, covered_bytes


@dataclass(frozen=True)
class CapacityProbe:
    streams: int
    dropped_frames: int
    bytes_read: int = 0
    reads: tuple[PoolRegion, ...] = ()
    """The bytes of the read pool the probe's streams read."""

    @property
    def distinct_bytes(self) -> int:
        return covered_bytes(self.reads)

    @property
    def passed(self) -> bool:
        return self.dropped_frames == 0


@dataclass(frozen=True)
class CapacityResult:
    spec: StreamSpec
    max_streams: int
    limit: int
    """The most streams the search was allowed to try."""
    probes: tuple[CapacityProbe, ...]
    needed_streams: int = 0
    """How many of this stream the show's normal set plays at once."""

    @property
    def enough(self) -> bool:
        return self.max_streams >= self.needed_streams

    @property
    def bytes_read(self) -> int:
        return sum(probe.bytes_read for probe in self.probes)

    @property
    def distinct_bytes(self) -> int:
        """Bytes of the read pool the search read, each counted once over all its probes."""
        return covered_bytes(region for probe in self.probes for region in probe.reads)

    def metadata(self) -> dict[str, JsonValue]:
        return {
            "max_streams": self.max_streams,
            "stream": self.spec.label,
            "stream_mb_s": round(self.spec.mb_s_each, 3),
            "limit": self.limit,
            "bytes_read": self.bytes_read,
            "distinct_bytes": self.distinct_bytes,
            "probes": [
                {
                    "streams": probe.streams,
                    "dropped_frames": probe.dropped_frames,
                    "bytes_read": probe.bytes_read,
                    "distinct_bytes": probe.distinct_bytes,
                }
                for probe in self.probes
            ],
            "summary": self.summary(),
        }

    def report_row(self) -> ReportRow:
        reads = reads_text(self.bytes_read, self.distinct_bytes)
        return ReportRow(f"{self.max_streams} x {self.spec.label}; {reads}", "the show's streams")

    def summary(self) -> str:
        stream = self.spec.label
        if self.max_streams == 0:
            return f"cannot play a single {stream} stream without dropped frames"
        text = f"plays up to {self.max_streams} x {stream}"
        if self.max_streams >= self.limit:
            text += f" (the most tried: {self.limit})"
        return text


def search_max_streams(
    probe: Callable[[int], CapacityProbe], limit: int
) -> tuple[int, list[CapacityProbe]]:
    """`probe(n)` replays n streams. Doubling finds the first failing count, bisection the
    largest passing one below it."""
    probes: list[CapacityProbe] = []

    def passes(count: int) -> bool:
        result = probe(count)
        probes.append(result)
        return result.passed

    best, count = 0, 1
    while True:
        count = min(count, limit)
        if not passes(count):
            failed = count
            break
        best = count
        if count == limit:
            return best, probes
        count *= 2
    while failed - best > 1:
        middle = (best + failed) // 2
        if passes(middle):
            best = middle
        else:
            failed = middle
    return best, probes
