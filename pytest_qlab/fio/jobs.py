"""fio job specifications (pydantic) and their job-file text.

Jobs are described as data so the workload model never builds fio syntax by hand and every
value reaches fio as a plain integer in bytes, bytes/s or milliseconds.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

IoEngine = Literal["libaio", "posixaio", "psync"]

DIRECT_IO_ALIGNMENT_BYTES = 4096


def platform_engine(platform: str = sys.platform) -> IoEngine:
    """posixaio on macOS (no libaio there), libaio on Linux, psync anywhere else."""
    if platform == "darwin":
        return "posixaio"
    if platform.startswith("linux"):
        return "libaio"
    return "psync"


SAFE_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
UNSAFE_IN_VALUES = ("#", ";", ":", "$", "\n", "\r")
"""Characters fio reads as comment, separator or variable inside a job-file value."""


class FioJob(BaseModel):
    """One fio job: one file, one direction, sequential.

    `filename` is relative to the job file's directory: fio reads '#' and ';' in a value as a
    comment, ':' as a file separator and '${...}' as a variable, so a volume path such as
    "/Volumes/Show #2" must never appear in a job file.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=SAFE_NAME)
    filename: str = Field(pattern=SAFE_NAME)
    rw: Literal["read", "write"]
    block_size_bytes: int = Field(gt=0)
    size_bytes: int = Field(gt=0)
    iodepth: int = Field(default=1, ge=1, le=256)
    direct: bool = True
    runtime_ms: int | None = Field(default=None, gt=0)
    """When set the job is time based: it loops over the file until the time is up."""
    rate_bytes_s: int | None = Field(default=None, gt=0)
    end_fsync: bool = False
    stonewall: bool = False
    """Start only after the jobs before it have finished."""
    start_delay_ms: int = Field(default=0, ge=0)
    """Start this long after the run starts: a crossfade's incoming cue set."""
    offset_bytes: int = Field(default=0, ge=0)
    """Read from here on, so repeated crossfades do not re-read what the last one read."""
    lat_log_prefix: str | None = None
    """Absolute path prefix of the per-I/O latency log (<prefix>_lat.<n>.log)."""
    verify: Literal["crc32c"] | None = None
    """Checksum every block: a write stores it in the block, a read checks it."""
    do_verify: bool = True
    """With `verify`, a write job reads its blocks back at its end; False leaves that to a later
    read job, so the data comes from the drive and not from a cache."""
    invalidate: bool | None = None
    """Drop the file's cached pages before reading (fio's invalidate); None leaves fio's
    default, which is on."""
    read_iolog: str | None = Field(default=None, pattern=SAFE_NAME)
    """Replay this trace (relative to the job file's directory) instead of reading the file
    sequentially: fio issues exactly the trace's reads, at their timestamps."""

    @field_validator("lat_log_prefix")
    @classmethod
    def _plain_log_path(cls, value: str | None) -> str | None:
        if value is not None and any(char in value for char in UNSAFE_IN_VALUES):
            raise ValueError(
                f"fio cannot log to {value!r}: its path contains one of "
                "# ; : $ or a line break; set TMPDIR to a plain folder"
            )
        return value

    @field_validator("block_size_bytes")
    @classmethod
    def _aligned(cls, value: int) -> int:
        if value % DIRECT_IO_ALIGNMENT_BYTES:
            raise ValueError(f"block size must be a multiple of {DIRECT_IO_ALIGNMENT_BYTES} bytes")
        return value

    def render(self) -> str:
        lines = [
            f"[{self.name}]",
            f"filename={self.filename}",
            f"rw={self.rw}",
            f"bs={self.block_size_bytes}",
            f"size={self.size_bytes}",
            f"iodepth={self.iodepth}",
            f"direct={int(self.direct)}",
        ]
        if self.runtime_ms is not None:
            lines += ["time_based=1", f"runtime={self.runtime_ms}ms"]
        if self.rate_bytes_s is not None:
            lines.append(f"rate={self.rate_bytes_s}")
        if self.start_delay_ms:
            lines.append(f"startdelay={self.start_delay_ms}ms")
        if self.offset_bytes:
            lines.append(f"offset={self.offset_bytes}")
        if self.invalidate is not None:
            lines.append(f"invalidate={int(self.invalidate)}")
        if self.read_iolog is not None:
            lines.append(f"read_iolog={self.read_iolog}")
        if self.end_fsync:
            lines.append("end_fsync=1")
        if self.stonewall:
            lines.append("stonewall")
        if self.verify is not None:
            # No state file: fio would write it next to the test file, on the volume.
            lines += [f"verify={self.verify}", f"do_verify={int(self.do_verify)}"]
            lines.append("verify_state_save=0")
        if self.lat_log_prefix is not None:
            # One line per I/O (log_avg_msec=0) with its file offset, to time every frame.
            lines += [
                f"write_lat_log={self.lat_log_prefix}",
                "log_avg_msec=0",
                "log_offset=1",
                "lat_percentiles=1",
            ]
        return "\n".join(lines) + "\n"


class FioJobFile(BaseModel):
    """A job file: global settings plus jobs that run concurrently, in `directory`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    directory: Path
    """Where the jobs' files live; fio runs there, so it never sees the volume's path."""
    jobs: tuple[FioJob, ...] = Field(min_length=1)
    ioengine: IoEngine = Field(default_factory=platform_engine)
    threads: bool | None = None
    """Run jobs as threads of one fio process (thread=1). None: threads except with posixaio.

    fio's forked job processes call setsid() and keep doing I/O after fio itself is killed, so
    only threads die with fio. macOS (posixaio) needs processes: it allows 16 AIO requests per
    process.
    """

    readonly: bool = False
    """Run fio with --readonly (a command-line flag, not a job option): fio refuses to write,
    for jobs that read the show's own media."""

    @property
    def uses_threads(self) -> bool:
        return self.ioengine != "posixaio" if self.threads is None else self.threads

    def render(self) -> str:
        header = ["; written by pytest-qlab", "[global]", f"ioengine={self.ioengine}"]
        if self.uses_threads:
            header.append("thread=1")
        return "\n".join(header) + "\n\n" + "\n".join(job.render() for job in self.jobs)
