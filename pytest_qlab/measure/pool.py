"""The read pool: laid-out files that synthetic replays take their regions from, so a run reads
data no earlier frame of it read until the whole pool has been read.

A drive, an enclosure, a RAID or a NAS caches what was read last; a replay that loops over a
small file is served re-reads a real show never makes. The pool hands out disjoint regions
with one cursor for the whole run, and wraps to its start only when every byte of it was
handed out: a byte is read again only after at least the whole pool was read since.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pytest_qlab.fio.jobs import DIRECT_IO_ALIGNMENT_BYTES


@dataclass(frozen=True)
class PoolRegion:
    """Bytes of one file: a region handed out, or the bytes a stream read from it."""

    file_name: str
    offset_bytes: int
    size_bytes: int

    @property
    def end_bytes(self) -> int:
        return self.offset_bytes + self.size_bytes


def covered_bytes(regions: Iterable[PoolRegion]) -> int:
    """How many distinct bytes the regions cover together (overlaps counted once)."""
    by_file: dict[str, list[tuple[int, int]]] = {}
    for region in regions:
        if region.size_bytes > 0:
            by_file.setdefault(region.file_name, []).append((region.offset_bytes, region.end_bytes))
    total = 0
    for spans in by_file.values():
        spans.sort()
        start, end = spans[0]
        for next_start, next_end in spans[1:]:
            if next_start > end:
                total += end - start
                start, end = next_start, next_end
            else:
                end = max(end, next_end)
        total += end - start
    return total


class ReadPool:
    """Disjoint regions of the pool's files, handed out in file order from a run-wide cursor.

    A region lies inside one file (a fio job reads one file); when the rest of the current file
    is too small the cursor moves on to the next file, and after the last file back to the
    first (a lap). Offsets are aligned for direct I/O."""

    def __init__(
        self,
        files: Sequence[tuple[str, int]],
        *,
        start_bytes: int = 0,
        alignment_bytes: int = DIRECT_IO_ALIGNMENT_BYTES,
    ) -> None:
        if not files:
            raise ValueError("a read pool needs at least one file")
        self.alignment_bytes = alignment_bytes
        self._files: list[tuple[str, int]] = []
        for name, size_bytes in files:
            self.extend(name, size_bytes)
        self._file = 0
        self._offset = 0
        self.laps = 0
        """How often the cursor came back to the pool's start."""
        self.taken_bytes = 0
        self.skip_to(start_bytes)

    @property
    def files(self) -> tuple[tuple[str, int], ...]:
        return tuple(self._files)

    @property
    def size_bytes(self) -> int:
        return sum(size for _, size in self._files)

    @property
    def largest_region_bytes(self) -> int:
        return max(size for _, size in self._files)

    def extend(self, file_name: str, size_bytes: int) -> None:
        """A further laid-out file, read after the pool's present files."""
        usable = size_bytes - size_bytes % self.alignment_bytes
        if usable <= 0:
            raise ValueError(f"{file_name} ({size_bytes} bytes) holds no aligned block")
        self._files.append((file_name, usable))

    def skip_to(self, position_bytes: int) -> None:
        """Move the cursor to `position_bytes` into the pool (files end to end), rounded up to the
        alignment: e.g. past what the sequential read read last."""
        position = position_bytes % self.size_bytes
        for index, (_, size) in enumerate(self._files):
            if position < size:
                self._file = index
                self._offset = self._aligned(position)
                if self._offset >= size:
                    self._next_file()
                return
            position -= size

    def new_lap(self) -> None:
        """Back to the pool's start: regions that would not fit side by side from here."""
        if (self._file, self._offset) != (0, 0):
            self._file, self._offset = 0, 0
            self.laps += 1

    def take(self, size_bytes: int) -> PoolRegion:
        """The next `size_bytes` no other region of this lap holds."""
        return self._take(size_bytes)[0]

    def fits(self, sizes: Sequence[int]) -> bool:
        """Whether regions of these sizes, taken now, would lie side by side: the last ends
        before the cursor comes round again to where the first starts."""
        if not sizes:
            return True
        if any(size > self.largest_region_bytes for size in sizes):
            return False
        trial = self.copy()
        starts = [trial._take(size)[1] for size in sizes]
        return starts[-1] + sizes[-1] - starts[0] <= self.size_bytes

    def _take(self, size_bytes: int) -> tuple[PoolRegion, int]:
        """The region and where it starts counted over every lap so far."""
        if size_bytes <= 0:
            raise ValueError(f"a region holds at least one byte, not {size_bytes}")
        if size_bytes > self.largest_region_bytes:
            raise ValueError(
                f"a {size_bytes}-byte region is larger than the pool's largest file "
                f"({self.largest_region_bytes} bytes)"
            )
        while self._files[self._file][1] - self._offset < size_bytes:
            self._next_file()
        name = self._files[self._file][0]
        region = PoolRegion(name, self._offset, size_bytes)
        before = sum(size for _, size in self._files[: self._file])
        position = self.laps * self.size_bytes + before + self._offset
        self._offset = self._aligned(self._offset + size_bytes)
        self.taken_bytes += size_bytes
        if self._offset >= self._files[self._file][1]:
            self._next_file()
        return region, position

    def copy(self) -> ReadPool:
        clone = ReadPool(self._files, alignment_bytes=self.alignment_bytes)
        clone._file, clone._offset = self._file, self._offset
        clone.laps, clone.taken_bytes = self.laps, self.taken_bytes
        return clone

    def _aligned(self, offset: int) -> int:
        return -(-offset // self.alignment_bytes) * self.alignment_bytes

    def _next_file(self) -> None:
        self._offset = 0
        self._file += 1
        if self._file == len(self._files):
            self._file = 0
            self.laps += 1


def share_frames(
    pool: ReadPool,
    wanted_frames: Sequence[int],
    frame_bytes: Sequence[int],
    minimum_frames: int,
) -> list[int]:
    """Frames per region for streams that want `wanted_frames` each: all of them when the
    pool's unread part holds them, otherwise shares in proportion to what each wants, so every
    stream loops over its share in the same time and the replay as a whole loops over the
    pool (a byte is read again only after the whole pool was read since).

    Raises ValueError when not even `minimum_frames` per stream fit beside each other."""
    if len(wanted_frames) != len(frame_bytes):
        raise ValueError("one frame size per stream")
    wanted = [max(minimum_frames, frames) for frames in wanted_frames]

    def sizes(frames: Sequence[int]) -> list[int]:
        return [count * size for count, size in zip(frames, frame_bytes, strict=True)]

    if pool.fits(sizes(wanted)):
        return wanted
    minimum = [minimum_frames] * len(wanted)
    if not pool.fits(sizes(minimum)):
        pool.new_lap()  # the ends of files skipped from here leave too little
    if not pool.fits(sizes(minimum)):
        raise ValueError(
            f"the read pool ({pool.size_bytes} bytes) cannot hold {len(wanted)} streams of "
            f"{minimum_frames} frames each side by side"
        )
    share = pool.size_bytes / sum(sizes(wanted))
    while True:
        frames = [max(minimum_frames, int(count * share)) for count in wanted]
        if pool.fits(sizes(frames)):
            return frames
        share *= 0.97


@dataclass(frozen=True)
class ReadPoolUse:
    """The run's read pool as the report shows it: which of its files another measurement laid
    out anyway (the sequential read's), so the rest is the layout the pool adds."""

    pool: ReadPool
    shared_files: tuple[str, ...]
