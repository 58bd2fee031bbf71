"""Whether a show's file may be read from memory: a file copied since the machine last started
is "just copied" on macOS, and the verdict says so without failing; on Linux the report says
direct I/O and fio's invalidate read the drive. The platform, clock, boot time and stat are
injected, so the macOS path runs here."""

from __future__ import annotations

import os
import time
from array import array
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from pytest_qlab.media.cache import CacheCheck, cache_warning, check_cache
from pytest_qlab.media.codecs import describe
from pytest_qlab.media.framemap import FrameMap
from pytest_qlab.plugin.hooks import write_verdicts
from pytest_qlab.report.html import verdict_banner
from pytest_qlab.report.model import build_report
from tests.helpers.evidence import session_on

DAY_S = 86_400.0


def _fresh(tmp_path: Path, name: str = "backdrop.mov") -> Path:
    """Our own stand-in for a copied movie (never the show's media)."""
    path = tmp_path / name
    path.write_bytes(b"\0" * 4096)
    return path


def _booted(ago_s: float) -> float:
    return time.time() - ago_s


def test_a_file_copied_since_the_mac_started_may_be_cached(tmp_path: Path) -> None:
    check = check_cache(_fresh(tmp_path), platform="darwin", boot_time=lambda: _booted(3600))
    assert check.just_copied
    assert check.may_be_cached
    assert "since this Mac last started" in check.note()
    assert "sudo purge" in check.note()


def test_an_old_modification_date_does_not_hide_a_fresh_copy(tmp_path: Path) -> None:
    """Finder and `cp -p` give a copy the original's dates; the change time is the copy's."""
    path = _fresh(tmp_path)
    month_ago = time.time() - 30 * DAY_S
    os.utime(path, (month_ago, month_ago))
    assert path.stat().st_mtime < _booted(3600)
    check = check_cache(path, platform="darwin", boot_time=lambda: _booted(3600))
    assert check.just_copied, "ctime is when the file arrived on the volume"


def test_a_file_written_before_the_last_start_is_not_just_copied(tmp_path: Path) -> None:
    path = _fresh(tmp_path)
    written_s = path.stat().st_ctime
    check = check_cache(path, platform="darwin", boot_time=lambda: written_s + 60)
    assert not check.just_copied
    assert not check.may_be_cached
    assert "before this Mac last started" in check.note()
    assert cache_warning([check]) is None


@dataclass(frozen=True)
class _Times:
    st_ctime: float
    st_mtime: float
    st_birthtime: float | None = None


def test_the_birth_time_shows_a_copy_where_ctime_is_the_copied_date() -> None:
    """A file system without a change time reports the (copied) modification date as ctime."""
    now_s = 1_750_000_000.0
    old = _Times(st_ctime=now_s - 40 * DAY_S, st_mtime=now_s - 40 * DAY_S)
    copied = _Times(old.st_ctime, old.st_mtime, st_birthtime=now_s - 300)
    boot = now_s - 2 * DAY_S

    def check(times: _Times) -> CacheCheck:
        return check_cache(
            Path("/Volumes/Show/backdrop.mov"),
            platform="darwin",
            now_s=now_s,
            boot_time=lambda: boot,
            stat=lambda path: times,
        )

    assert not check(old).just_copied
    fresh = check(copied)
    assert fresh.just_copied
    assert fresh.written_s == now_s - 300
    assert "copied or changed 5 min ago" in fresh.note()


def test_without_a_boot_time_the_last_day_stands_in() -> None:
    now_s = 1_750_000_000.0

    def written(ago_s: float) -> CacheCheck:
        times = _Times(st_ctime=now_s - ago_s, st_mtime=now_s - ago_s)
        return check_cache(
            Path("clip.mov"),
            platform="darwin",
            now_s=now_s,
            boot_time=lambda: None,
            stat=lambda path: times,
        )

    assert written(2 * 3600).just_copied
    assert "in the last 24 hours" in written(2 * 3600).note()
    assert not written(2 * DAY_S).just_copied


def test_on_linux_direct_io_and_invalidate_read_the_drive(tmp_path: Path) -> None:
    check = check_cache(_fresh(tmp_path), platform="linux", boot_time=lambda: _booted(3600))
    assert check.just_copied
    assert not check.may_be_cached
    assert "direct I/O (O_DIRECT)" in check.note()
    assert "invalidate=1" in check.note()
    assert cache_warning([check]) is None


def _media(path: Path) -> FrameMap:
    return FrameMap(
        path=path,
        file_bytes=4096,
        codec=describe("prores", "apch"),
        width=1920,
        height=1080,
        fps=Fraction(25),
        frame_offsets=array("q", [0]),
        frame_sizes=array("q", [4096]),
        frame_times_us=array("q", [0]),
        frame_durations_us=array("q", [40_000]),
        audio_offsets=array("q"),
        audio_sizes=array("q"),
        audio_times_us=array("q"),
        probe_bytes_read=0,
    )


class _Terminal:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def line(self, text: str, **markup: bool) -> None:
        self.lines.append(text)


def _verdict(tmp_path: Path, platform: str) -> tuple[list[str], str, bool]:
    """The terminal's verdict lines, the HTML banner and the volume's readiness, for a volume
    whose one file was just copied, decided as if on `platform`."""
    tmp_path.mkdir(exist_ok=True)
    session = session_on(tmp_path)
    (record,) = session.volumes.values()
    movie = _fresh(tmp_path)
    record.media = (_media(movie),)
    record.media_cache = {
        movie: check_cache(movie, platform=platform, boot_time=lambda: _booted(3600))
    }
    report = build_report(session)
    terminal = _Terminal()
    write_verdicts(terminal, report)
    (volume,) = report.volumes
    (item,) = volume.media
    assert item.cache_note == record.media_cache[movie].note()
    assert item.may_be_cached is (platform == "darwin")
    return terminal.lines, "".join(verdict_banner(report)), volume.ready


def test_on_macos_the_verdict_warns_of_a_just_copied_file_without_failing(tmp_path: Path) -> None:
    lines, page, ready = _verdict(tmp_path / "mac", "darwin")
    (warning,) = [line for line in lines if "show media may be read from memory" in line]
    assert warning.startswith("  WARN ")
    assert "backdrop.mov" in warning
    assert "sudo purge" in warning
    assert "show media may be read from memory" in page
    assert 'class="qlab-cache"' in page
    _, _, ready_on_linux = _verdict(tmp_path / "linux", "linux")
    assert ready == ready_on_linux, "the warning alone decides nothing"


def test_on_linux_the_report_states_the_cache_is_bypassed(tmp_path: Path) -> None:
    lines, page, _ = _verdict(tmp_path, "linux")
    assert not [line for line in lines if "WARN" in line and "memory" in line]
    assert 'class="qlab-cache"' in page
    assert "fio dropped the file&#x27;s cached pages before reading (invalidate=1)" in page
