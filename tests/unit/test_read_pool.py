"""The read pool's allocator: disjoint, aligned regions from one cursor, wrapping only after
the whole pool was handed out, and shares of it for a replay that reads more than it holds."""

from __future__ import annotations

import pytest

from pytest_qlab.core.units import BYTES_PER_MIB
from pytest_qlab.measure.pool import PoolRegion, ReadPool, covered_bytes, share_frames

KIB4 = 4096
FILES = (("a.bin", 64 * BYTES_PER_MIB), ("b.bin", 32 * BYTES_PER_MIB))


def _overlap(regions: list[PoolRegion]) -> int:
    return sum(region.size_bytes for region in regions) - covered_bytes(regions)


def test_regions_taken_within_a_lap_never_share_a_byte() -> None:
    pool = ReadPool(FILES)
    sizes = [3 * BYTES_PER_MIB + 7 * KIB4, 5 * BYTES_PER_MIB, 17 * KIB4 + 1, 11 * BYTES_PER_MIB]
    regions: list[PoolRegion] = []
    while pool.laps == 0:
        regions.append(pool.take(sizes[len(regions) % len(sizes)]))
    first_lap = regions[:-1] if regions[-1].offset_bytes == 0 else regions

    assert _overlap(first_lap[:-1]) == 0
    assert covered_bytes(first_lap) > 0.8 * pool.size_bytes, "little of the pool left unread"
    assert {region.file_name for region in first_lap} == {"a.bin", "b.bin"}


def test_every_region_is_aligned_and_inside_its_file() -> None:
    pool = ReadPool(FILES)
    sizes = dict(FILES)
    for index in range(200):
        region = pool.take((index % 9 + 1) * BYTES_PER_MIB + index * 13)
        assert region.offset_bytes % KIB4 == 0
        assert region.end_bytes <= sizes[region.file_name]


def test_the_cursor_wraps_only_when_the_rest_of_the_pool_is_too_small() -> None:
    pool = ReadPool((("a.bin", 10 * BYTES_PER_MIB),))

    first = pool.take(4 * BYTES_PER_MIB)
    second = pool.take(4 * BYTES_PER_MIB)
    assert pool.laps == 0
    third = pool.take(4 * BYTES_PER_MIB)

    assert (first.offset_bytes, second.offset_bytes) == (0, 4 * BYTES_PER_MIB)
    assert third == PoolRegion("a.bin", 0, 4 * BYTES_PER_MIB), "2 MiB left: back to the start"
    assert pool.laps == 1


def test_a_region_ending_a_file_moves_the_cursor_to_the_next() -> None:
    pool = ReadPool(FILES)

    pool.take(64 * BYTES_PER_MIB)

    assert pool.take(KIB4) == PoolRegion("b.bin", 0, KIB4)


def test_the_cursor_starts_where_it_is_told_rounded_up_to_the_alignment() -> None:
    pool = ReadPool(FILES, start_bytes=64 * BYTES_PER_MIB + 5)

    assert pool.take(KIB4) == PoolRegion("b.bin", KIB4, KIB4)
    assert ReadPool(FILES, start_bytes=96 * BYTES_PER_MIB).take(KIB4).file_name == "a.bin"


def test_a_region_larger_than_any_file_is_refused() -> None:
    pool = ReadPool(FILES)

    with pytest.raises(ValueError, match="larger than the pool's largest file"):
        pool.take(64 * BYTES_PER_MIB + KIB4)
    with pytest.raises(ValueError, match="at least one byte"):
        pool.take(0)


def test_fits_says_whether_regions_lie_side_by_side_from_the_cursor() -> None:
    pool = ReadPool(FILES, start_bytes=40 * BYTES_PER_MIB)

    assert pool.fits([24 * BYTES_PER_MIB, 32 * BYTES_PER_MIB, 40 * BYTES_PER_MIB])
    assert not pool.fits([24 * BYTES_PER_MIB, 32 * BYTES_PER_MIB, 41 * BYTES_PER_MIB])
    assert pool.laps == 0
    assert pool.take(KIB4).offset_bytes == 40 * BYTES_PER_MIB, "fits leaves the cursor alone"


def test_covered_bytes_counts_overlaps_once_per_file() -> None:
    regions = [
        PoolRegion("a.bin", 0, 100),
        PoolRegion("a.bin", 50, 100),
        PoolRegion("a.bin", 300, 10),
        PoolRegion("b.bin", 0, 100),
    ]

    assert covered_bytes(regions) == 150 + 10 + 100
    assert covered_bytes([]) == 0


def test_a_replay_the_pool_holds_gets_every_frame_it_wants() -> None:
    pool = ReadPool(FILES)

    frames = share_frames(pool, [30, 10], [BYTES_PER_MIB, 2 * BYTES_PER_MIB], minimum_frames=8)

    assert frames == [30, 10]


def test_a_replay_larger_than_the_pool_shares_it_in_proportion_side_by_side() -> None:
    """Each stream loops over a share proportional to what it reads, so all loop in the same
    time and a byte is read again only after the whole pool was read since."""
    pool = ReadPool(FILES)
    frame_bytes = [BYTES_PER_MIB, 2 * BYTES_PER_MIB]

    frames = share_frames(pool, [100, 50], frame_bytes, minimum_frames=8)

    sizes = [count * size for count, size in zip(frames, frame_bytes, strict=True)]
    assert pool.fits(sizes)
    assert frames[0] == pytest.approx(frames[1] * 2, abs=2)
    assert sum(sizes) > 0.6 * pool.size_bytes
    regions = [pool.take(size) for size in sizes]
    assert _overlap(regions) == 0


def test_never_fewer_than_the_minimum_frames_and_an_error_when_those_do_not_fit() -> None:
    pool = ReadPool((("a.bin", 64 * BYTES_PER_MIB),))

    frames = share_frames(pool, [1000, 1], [BYTES_PER_MIB, BYTES_PER_MIB], minimum_frames=8)
    assert frames[1] == 8
    with pytest.raises(ValueError, match="cannot hold 9 streams of 8 frames"):
        share_frames(pool, [1] * 9, [BYTES_PER_MIB] * 9, minimum_frames=8)


def test_minimum_regions_that_do_not_fit_from_the_cursor_start_a_new_lap() -> None:
    """From 10 MiB two 30 MiB regions leave a's and b's ends unused and come round onto the
    first; from the pool's start they lie side by side in a."""
    pool = ReadPool((("a.bin", 64 * BYTES_PER_MIB), ("b.bin", 16 * BYTES_PER_MIB)))
    pool.skip_to(10 * BYTES_PER_MIB)
    frame_bytes = 30 * BYTES_PER_MIB // 8

    frames = share_frames(pool, [8, 8], [frame_bytes] * 2, minimum_frames=8)

    assert frames == [8, 8]
    assert pool.laps == 1
    assert pool.take(30 * BYTES_PER_MIB) == PoolRegion("a.bin", 0, 30 * BYTES_PER_MIB)


def test_a_run_of_replays_reads_no_byte_twice_while_the_pool_lasts() -> None:
    """The setup check's use: replay after replay from the same cursor."""
    pool = ReadPool(FILES)
    regions: list[PoolRegion] = []
    for wanted in ([10, 10], [20, 5, 5], [12]):
        frame_bytes = [BYTES_PER_MIB] * len(wanted)
        frames = share_frames(pool, wanted, frame_bytes, minimum_frames=8)
        regions += [pool.take(count * BYTES_PER_MIB) for count in frames]

    assert pool.laps == 0
    assert _overlap(regions) == 0
    assert covered_bytes(regions) == (10 + 10 + 20 + 8 + 8 + 12) * BYTES_PER_MIB, "8 at least"
