"""What each qualification mode asks of the drive: durations, file sizes and fio job specs.

Durations are given at full scale and compressed by --qlab-time-scale; no measurement is
shorter than MINIMUM_MEASUREMENT_S, below which fio's figures are noise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pytest_qlab.fio.jobs import FioJob, FioJobFile
from pytest_qlab.profiles import ShowProfile
from pytest_qlab.replay import stream_count
from pytest_qlab.units import BYTES_PER_GIB, BYTES_PER_MIB

MINIMUM_MEASUREMENT_S = 1.0
MINIMUM_FILE_BYTES = 64 * BYTES_PER_MIB
SEQUENTIAL_BLOCK_BYTES = BYTES_PER_MIB
SEQUENTIAL_IODEPTH = 8
"""Deep enough to saturate an NVMe drive with 1 MiB blocks, within macOS's 16 AIO per process."""

SETUP_CHECK_BUDGET_S = 30.0
"""At full scale on a 1 GB/s drive: ~4 s layout, 6 s write, 6 s read, 5 s + 5 s replays."""
SETUP_READ_S = 6.0
SETUP_WRITE_S = 6.0
SETUP_REPLAY_S = 5.0
SETUP_READ_FILE_BYTES = 2 * BYTES_PER_GIB
"""Larger than any drive's DRAM cache, and laid out in about 2 s on a 1 GB/s drive."""
SETUP_WRITE_FILE_BYTES = BYTES_PER_GIB
STREAM_FILE_BYTES = 128 * BYTES_PER_MIB
MINIMUM_FRAMES_PER_STREAM_FILE = 8
"""A replay loops over its file; a few frames per pass keep passes distinguishable."""
CAPACITY_PROBE_S = 2.0
CAPACITY_MAX_STREAMS = 32
"""Also keeps jobs x iodepth within macOS's 90 AIO requests system-wide."""


def scaled_seconds(full_scale_s: float, time_scale: float) -> float:
    return max(MINIMUM_MEASUREMENT_S, full_scale_s * time_scale)


def scaled_bytes(full_scale_bytes: int, time_scale: float) -> int:
    scaled = max(MINIMUM_FILE_BYTES, int(full_scale_bytes * time_scale))
    return scaled - scaled % SEQUENTIAL_BLOCK_BYTES


def stream_file_name(index: int) -> str:
    return f"stream-{index:02d}.bin"


@dataclass(frozen=True)
class SetupCheckPlan:
    time_scale: float
    read_file_bytes: int
    write_file_bytes: int
    read_duration_s: float
    write_duration_s: float
    stream_file_bytes: int
    stream_files: int
    """Enough files for the larger of the normal set and the crossfade overlap."""
    normal_duration_s: float
    crossfade_duration_s: float
    capacity_probe_s: float

    @classmethod
    def for_profile(cls, profile: ShowProfile, time_scale: float) -> SetupCheckPlan:
        largest_frame = max(
            stream.frame_bytes for stream in profile.crossfade_streams + profile.streams
        )
        stream_bytes = max(
            scaled_bytes(STREAM_FILE_BYTES, time_scale),
            MINIMUM_FRAMES_PER_STREAM_FILE * largest_frame,
        )
        return cls(
            time_scale=time_scale,
            read_file_bytes=scaled_bytes(SETUP_READ_FILE_BYTES, time_scale),
            write_file_bytes=scaled_bytes(SETUP_WRITE_FILE_BYTES, time_scale),
            read_duration_s=scaled_seconds(SETUP_READ_S, time_scale),
            write_duration_s=scaled_seconds(SETUP_WRITE_S, time_scale),
            stream_file_bytes=-(-stream_bytes // SEQUENTIAL_BLOCK_BYTES) * SEQUENTIAL_BLOCK_BYTES,
            stream_files=max(
                stream_count(profile.streams), stream_count(profile.crossfade_streams)
            ),
            normal_duration_s=scaled_seconds(SETUP_REPLAY_S, time_scale),
            crossfade_duration_s=scaled_seconds(profile.crossfade.duration_s, time_scale),
            capacity_probe_s=scaled_seconds(CAPACITY_PROBE_S, time_scale),
        )

    @property
    def layout_files(self) -> tuple[tuple[str, int], ...]:
        """The read-test file and the stream files, laid out once per volume."""
        streams = tuple(
            (stream_file_name(index), self.stream_file_bytes)
            for index in range(1, self.stream_files + 1)
        )
        return (("sequential-read.bin", self.read_file_bytes), *streams)

    @property
    def scratch_bytes(self) -> int:
        """The most the run may write: every file, capacity probes at their largest included."""
        stream_files = max(self.stream_files, CAPACITY_MAX_STREAMS)
        return self.read_file_bytes + self.write_file_bytes + stream_files * self.stream_file_bytes


def layout_job(directory: Path, files: Sequence[tuple[str, int]]) -> FioJobFile:
    """Real sequential writes of whole files, one after another: reading fallocated or sparse
    holes would measure nothing."""
    return FioJobFile(
        directory=directory,
        jobs=tuple(
            FioJob(
                name=f"layout-{index:02d}",
                filename=file_name,
                rw="write",
                block_size_bytes=SEQUENTIAL_BLOCK_BYTES,
                size_bytes=size_bytes,
                iodepth=SEQUENTIAL_IODEPTH,
                end_fsync=True,
                stonewall=True,
            )
            for index, (file_name, size_bytes) in enumerate(files, start=1)
        ),
    )


def sequential_job(
    directory: Path,
    file_name: str,
    rw: Literal["read", "write"],
    size_bytes: int,
    duration_s: float,
) -> FioJobFile:
    """Large blocks at full queue depth for a fixed time, looping over the file."""
    return FioJobFile(
        directory=directory,
        jobs=(
            FioJob(
                name=f"sequential-{rw}",
                filename=file_name,
                rw=rw,
                block_size_bytes=SEQUENTIAL_BLOCK_BYTES,
                size_bytes=size_bytes,
                iodepth=SEQUENTIAL_IODEPTH,
                runtime_ms=round(duration_s * 1000),
                end_fsync=rw == "write",
            ),
        ),
    )
