from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from pytest_qlab.core.profiles import StreamSpec
from pytest_qlab.measure.capacity import CapacityProbe, CapacityResult, search_max_streams
from pytest_qlab.measure.pool import PoolRegion

LIMIT = 32


def _drive(capacity: int) -> tuple[Callable[[int], CapacityProbe], list[int]]:
    """A fake probe: up to `capacity` streams play cleanly, each stream beyond drops frames."""
    probed: list[int] = []

    def probe(count: int) -> CapacityProbe:
        probed.append(count)
        return CapacityProbe(count, max(0, count - capacity) * 7)

    return probe, probed


@pytest.mark.parametrize(
    ("capacity", "expected", "sequence"),
    [
        (0, 0, [1]),
        (1, 1, [1, 2]),
        (3, 3, [1, 2, 4, 3]),
        (5, 5, [1, 2, 4, 8, 6, 5]),
        (31, 31, [1, 2, 4, 8, 16, 32, 24, 28, 30, 31]),
        (32, 32, [1, 2, 4, 8, 16, 32]),
        (40, 32, [1, 2, 4, 8, 16, 32]),
    ],
)
def test_search_doubles_then_bisects(capacity: int, expected: int, sequence: list[int]) -> None:
    probe, probed = _drive(capacity)

    best, probes = search_max_streams(probe, LIMIT)

    assert best == expected
    assert probed == sequence
    assert [item.streams for item in probes] == sequence
    assert len(probes) <= 2 * math.log2(LIMIT)
    assert all(item.passed == (item.streams <= capacity) for item in probes)
    assert all(item.dropped_frames == max(0, item.streams - capacity) * 7 for item in probes)


@pytest.mark.parametrize("limit", [2, 3, 5, 12, 20, 32])
def test_search_finds_every_capacity_below_any_limit(limit: int) -> None:
    for capacity in range(limit + 5):
        probe, probed = _drive(capacity)

        best, _ = search_max_streams(probe, limit)

        assert best == min(capacity, limit)
        assert max(probed) <= limit
        assert len(probed) == len(set(probed)), "no count is replayed twice"
        assert len(probed) <= 2 * math.ceil(math.log2(limit)) + 1


def test_search_stops_at_a_limit_that_is_not_a_power_of_two() -> None:
    probe, probed = _drive(100)

    best, _ = search_max_streams(probe, 20)

    assert best == 20
    assert probed == [1, 2, 4, 8, 16, 20]


def test_the_search_reports_the_distinct_bytes_over_all_its_probes() -> None:
    """Probes reading the same pool bytes again count them once: the figure says whether the
    search re-read what a cache may hold."""
    first = CapacityProbe(1, 0, 300, (PoolRegion("pool.bin", 0, 100),))
    second = CapacityProbe(
        2, 5, 400, (PoolRegion("pool.bin", 100, 100), PoolRegion("pool.bin", 50, 100))
    )
    result = CapacityResult(SPEC, 1, LIMIT, (first, second))

    assert (first.distinct_bytes, second.distinct_bytes) == (100, 150)
    assert (result.bytes_read, result.distinct_bytes) == (700, 200)
    metadata = result.metadata()
    assert (metadata["bytes_read"], metadata["distinct_bytes"]) == (700, 200)
    assert result.report_row().measured.endswith("700 B read, 200 B of it distinct")


def test_probe_passes_only_without_dropped_frames() -> None:
    assert CapacityProbe(streams=4, dropped_frames=0).passed
    assert not CapacityProbe(streams=4, dropped_frames=1).passed


SPEC = StreamSpec(name="backdrop", codec="hq", raster="3840x2160", fps=29.97)


def test_summary_when_not_one_stream_plays() -> None:
    result = CapacityResult(SPEC, 0, LIMIT, (CapacityProbe(1, 12),))

    assert result.summary() == (
        "cannot play a single backdrop (UHD ProRes 422 HQ 29.97) stream without dropped frames"
    )


def test_summary_below_the_limit() -> None:
    result = CapacityResult(SPEC, 5, LIMIT, ())

    assert result.summary() == "plays up to 5 x backdrop (UHD ProRes 422 HQ 29.97)"


def test_summary_at_the_limit_says_the_search_stopped_there() -> None:
    result = CapacityResult(SPEC, 32, LIMIT, ())

    assert result.summary() == (
        "plays up to 32 x backdrop (UHD ProRes 422 HQ 29.97) (the most tried: 32)"
    )
