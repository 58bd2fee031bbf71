"""Whether the replay of a show's file read the drive or memory: the statement the report makes
per file, and the warning the verdict carries when a file may be served from memory.

On Linux the media jobs read with O_DIRECT, which goes around the page cache, and fio's
`invalidate=1` drops the file's cached pages when it opens the file: every frame comes from
the drive. On macOS direct I/O is F_NOCACHE, which keeps a read from adding pages to the cache
but still serves pages already there; macOS has no posix_fadvise for fio's invalidate to call,
and `purge` needs root. So a file written to the volume since the Mac last started may still
have pages in memory: the copy put them there, and macOS keeps them for as long as memory
allows, which on a show Mac is hours. No shorter window is safe, so "just copied" means
written since the last start (the last 24 hours when the start time cannot be read).

"Written" is the newest of the file's birth, change (ctime) and modification times: Finder and
`cp -p` give a copy the original's modification date, and a copy may keep its creation date
too, but the system sets ctime when the file is created on the volume and no program can set
it back. A file read (not written) since the start, by QLab or a preview, may be cached too
and leaves no such mark; the note says how to be sure either way.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import psutil  # type: ignore[import-untyped]

from pytest_qlab.drive.commands import current_platform

FALLBACK_WINDOW_S = 24 * 3600.0
"""Stands in for the time since the last start when it cannot be read."""
PURGE_ADVICE = "run `sudo purge` (or restart the Mac) and run again to measure the drive alone"


class FileTimes(Protocol):
    """What `check_cache` reads of a stat result (st_birthtime too, where the system has it)."""

    @property
    def st_ctime(self) -> float: ...

    @property
    def st_mtime(self) -> float: ...


def system_boot_s() -> float | None:
    """When this machine last started (seconds since the epoch), None when unreadable."""
    try:
        return float(psutil.boot_time())
    except (psutil.Error, OSError, RuntimeError, ValueError):
        return None


def _age_text(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.0f} days"


@dataclass(frozen=True)
class CacheCheck:
    """One media file's cache situation, decided from its times before anything is read."""

    path: Path
    platform: str
    written_s: float
    """Newest of birth, change and modification time, seconds since the epoch."""
    boot_s: float | None
    """When the machine last started; None when it could not be read."""
    now_s: float

    @property
    def bypasses_cache(self) -> bool:
        """Linux: direct I/O plus fio's invalidate read the drive whatever was cached."""
        return self.platform.startswith("linux")

    @property
    def window_text(self) -> str:
        return "since this Mac last started" if self.boot_s is not None else "in the last 24 hours"

    @property
    def just_copied(self) -> bool:
        since_s = self.boot_s if self.boot_s is not None else self.now_s - FALLBACK_WINDOW_S
        return self.written_s >= since_s

    @property
    def may_be_cached(self) -> bool:
        return not self.bypasses_cache and self.just_copied

    @property
    def age_text(self) -> str:
        return _age_text(self.now_s - self.written_s)

    def note(self) -> str:
        """What the report says about this file's reads and the cache."""
        if self.bypasses_cache:
            return (
                "read from the drive: direct I/O (O_DIRECT) goes around the page cache, and fio "
                "dropped the file's cached pages before reading (invalidate=1)"
            )
        if self.just_copied:
            return (
                f"copied or changed {self.age_text} ago, {self.window_text}: its pages may still "
                "be cached, and direct I/O here (F_NOCACHE) serves cached pages without evicting "
                f"them, so some frames may have come from memory; {PURGE_ADVICE}"
            )
        return (
            f"written {self.age_text} ago, before this Mac last started: pages are cached only if "
            "something read the file since (QLab, a preview); F_NOCACHE serves them without "
            "evicting them, `sudo purge` empties the cache"
        )


def check_cache(
    path: Path,
    *,
    platform: str | None = None,
    now_s: float | None = None,
    boot_time: Callable[[], float | None] = system_boot_s,
    stat: Callable[[Path], FileTimes] = os.stat,
) -> CacheCheck:
    """The file's times, read with stat (nothing is opened); each part injectable for tests."""
    info = stat(path)
    times = [info.st_ctime, info.st_mtime]
    # macOS and the BSDs; on a file system that keeps no change time, ctime may be the copied
    # modification time, and the birth time is what shows the copy
    birth = getattr(info, "st_birthtime", None)
    if isinstance(birth, int | float):
        times.append(float(birth))
    return CacheCheck(
        path=path,
        platform=current_platform() if platform is None else platform,
        written_s=max(times),
        boot_s=boot_time(),
        now_s=time.time() if now_s is None else now_s,
    )


def cache_warning(checks: Sequence[CacheCheck]) -> str | None:
    """One sentence for the verdict naming every file whose frames may have come from memory;
    None when no file may."""
    cached = [check for check in checks if check.may_be_cached]
    if not cached:
        return None
    files = ", ".join(f"{check.path.name} {check.age_text} ago" for check in cached)
    return (
        f"{len(cached)} of the show's files were copied or changed {cached[0].window_text} "
        f"({files}): macOS may serve their frames from memory (F_NOCACHE does not evict pages "
        f"already cached), so the media replay may read faster than the drive can; {PURGE_ADVICE}"
    )
