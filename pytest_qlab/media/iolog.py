"""fio iolog version 3 traces: a file's read schedule as timestamped `read` actions.

fio (iolog.c, from 3.31 when version 3 came) sleeps between two actions for the difference of
their timestamps with usec_sleep: the unit is the microsecond, and the integration test
test_integration_media_calibration pins it for the installed fio. fio skips the wait before an
action whose predecessor has timestamp 0 (`delay_since_ttime` treats 0 as "no previous
action"), so a trace starts at TRACE_ORIGIN, not at 0.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Final, TextIO

from pytest_qlab.media.errors import MediaReplayError
from pytest_qlab.media.schedule import ReadSchedule

IOLOG_HEADER: Final = "fio version 3 iolog"
TRACE_ORIGIN_TICKS: Final = 1
IOLOG_V3_TICKS_PER_S: Final[tuple[tuple[tuple[int, int], int], ...]] = (((3, 31), 1_000_000),)
"""(first fio version, timestamp ticks per second), newest last: one place for the unit.
Read in fio's iolog.c for 3.31 to 3.42 (usec_sleep on the timestamp difference) and measured
on 3.33 (timestamps 33000 apart gave reads 33 ms apart)."""


def iolog_ticks_per_s(fio_version: tuple[int, int], path: Path) -> int:
    """The timestamp unit of a fio release's version 3 iologs; `path` names the file in the
    error when the release cannot replay a timed trace."""
    ticks = None
    for first_version, ticks_per_s in IOLOG_V3_TICKS_PER_S:
        if fio_version >= first_version:
            ticks = ticks_per_s
    if ticks is None:
        first = ".".join(map(str, IOLOG_V3_TICKS_PER_S[0][0]))
        raise MediaReplayError(
            path,
            f"fio {fio_version[0]}.{fio_version[1]} cannot replay a timed trace (iolog "
            f"version 3 came with fio {first}); install a newer fio or pass --fio PATH",
        )
    return ticks


def write_iolog(
    schedule: ReadSchedule, file_name: str, out: TextIO, *, ticks_per_s: int = 1_000_000
) -> None:
    """Add, open, every read at its issue time, close: one file's trace, streamed to `out`."""
    scale = ticks_per_s / 1_000_000
    origin = TRACE_ORIGIN_TICKS
    out.write(f"{IOLOG_HEADER}\n{origin} {file_name} add\n{origin} {file_name} open\n")
    write = out.write
    for issue_us, offset, length in zip(
        schedule.issue_us, schedule.offset_bytes, schedule.length_bytes, strict=True
    ):
        write(f"{origin + round(issue_us * scale)} {file_name} read {offset} {length}\n")
    out.write(f"{origin + round(schedule.end_us * scale)} {file_name} close\n")


def iolog_text(schedule: ReadSchedule, file_name: str, *, ticks_per_s: int = 1_000_000) -> str:
    """The whole trace as text, for small schedules and tests."""
    buffer = io.StringIO()
    write_iolog(schedule, file_name, buffer, ticks_per_s=ticks_per_s)
    return buffer.getvalue()
