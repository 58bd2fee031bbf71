"""fio's client keeps only part of a host's per-I/O log: the server's log header does not say
the samples carry offsets (log_offset=1), so the client sizes the log for shorter samples and
reads the first ~80 % of it (seen with fio 3.33: 169 of 211 reads, 1464 of 1830, 6629 of 8287,
always the earliest). A logged job on a host therefore runs longer than asked, and its result
is cut back to the asked-for time: the log, the bytes and the runtime, so the frame analysis
sees what a local run of that length gives. A log that still ends early is an error, never a
silently shorter measurement."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from pytest_qlab.fio.errors import FioError
from pytest_qlab.fio.jobs import FioJob, FioJobFile
from pytest_qlab.fio.results import FioResult, JobResult

KEPT_FRACTION = 0.75
"""Below the 80 % seen, so the kept part always covers the asked-for time."""
EXTRA_MS = 500


@dataclass(frozen=True)
class Cut:
    job: str
    log_prefix: Path
    window_ms: int


def lengthen(job_file: FioJobFile) -> tuple[FioJobFile, tuple[Cut, ...]]:
    """Every time-based job with a per-I/O log runs long enough for its whole window to come
    back; the cuts say what to keep."""
    jobs: list[FioJob] = []
    cuts: list[Cut] = []
    for job in job_file.jobs:
        if job.lat_log_prefix is None or job.runtime_ms is None:
            jobs.append(job)
            continue
        longer_ms = math.ceil(job.runtime_ms / KEPT_FRACTION) + EXTRA_MS
        jobs.append(job.model_copy(update={"runtime_ms": longer_ms}))
        cuts.append(Cut(job.name, Path(job.lat_log_prefix), job.runtime_ms))
    return job_file.model_copy(update={"jobs": tuple(jobs)}), tuple(cuts)


def cut_back(result: FioResult, cuts: tuple[Cut, ...]) -> FioResult:
    """The result as if each cut job had run for its window only."""
    if not cuts:
        return result
    by_name = {cut.job: cut for cut in cuts}
    jobs = tuple(
        _cut_job(job, by_name[job.jobname]) if job.jobname in by_name else job
        for job in result.jobs
    )
    return result.model_copy(update={"jobs": jobs})


def _cut_job(job: JobResult, cut: Cut) -> JobResult:
    logs = sorted(cut.log_prefix.parent.glob(f"{cut.log_prefix.name}_lat.*.log"))
    if not logs:
        raise FioError(f"fio's client brought back no per-I/O log for job {cut.job!r}")
    kept: list[str] = []
    last_ms = -1
    read_bytes = 0
    for line in logs[0].read_text(encoding="ascii", errors="replace").splitlines():
        fields = line.split(",")
        try:
            time_ms, size_bytes = int(fields[0]), int(fields[3])
        except (IndexError, ValueError):
            continue
        last_ms = max(last_ms, time_ms)
        if time_ms <= cut.window_ms:
            kept.append(line)
            read_bytes += size_bytes
    if last_ms < cut.window_ms:
        raise FioError(
            f"the host's per-I/O log of job {cut.job!r} came back incomplete (it ends at "
            f"{last_ms} ms of {cut.window_ms} ms); use the same fio release everywhere and run "
            "again"
        )
    logs[0].write_text("\n".join(kept) + "\n", encoding="ascii")
    for other in (path for path in logs[0].parent.glob(f"{cut.log_prefix.name}_*.log")):
        if other != logs[0]:
            other.unlink(missing_ok=True)  # clat/slat logs: cut to nothing, never read
    read = job.read.model_copy(
        update={
            "io_bytes": read_bytes,
            "total_ios": len(kept),
            "runtime_ms": cut.window_ms,
            "bw_bytes": round(read_bytes * 1000 / cut.window_ms) if cut.window_ms else 0,
        }
    )
    return job.model_copy(update={"read": read})
