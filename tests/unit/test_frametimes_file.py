"""The per-frame timings CSV on disk: streamed under a temporary name while the run goes on,
whole under its real name at the end or in the fallback folder when its own fails, never a
raise, never a partial file left. Write failures are injected where the disk reports them
(pwrite, fsync, replace); a folder removed mid-run is removed for real."""

from __future__ import annotations

import errno
import os
import shutil
import sys
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_qlab.measure.frametimes import HEADER
from pytest_qlab.report.files import PARTIAL_SUFFIX, ReportFolderError
from pytest_qlab.report.frametimes import FLUSH_CHARS, FrameTimesFile, frametimes_path

ROW = "Show,normal_playback,HD,{frame},100.100,24,24.529,-76.100,0\n"


def _rows(count: int, start: int = 0) -> list[str]:
    return [ROW.format(frame=frame) for frame in range(start, start + count)]


def _partials(*folders: Path) -> list[Path]:
    return sorted(
        path
        for folder in folders
        if folder.exists()
        for path in folder.iterdir()
        if path.name.endswith(PARTIAL_SUFFIX)
    )


def _no_space() -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _failing_on(monkeypatch: pytest.MonkeyPatch, name: str, fd: int | None = None) -> None:
    """os.<name> fails with ENOSPC on descriptor `fd` (None: on every descriptor)."""
    real: Callable[..., Any] = getattr(os, name)

    def failing(given: int, *args: Any) -> Any:
        if fd is None or given == fd:
            raise _no_space()
        return real(given, *args)

    monkeypatch.setattr(os, name, failing)


def _in_place_fd(csv: FrameTimesFile) -> int:
    """The descriptor of the CSV's temporary file in the report folder."""
    assert csv._spool is not None
    return csv._spool.fd


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    """The report folder and the fallback (the system temp folder's stand-in)."""
    report, fallback = tmp_path / "reports", tmp_path / "system-temp"
    report.mkdir()
    fallback.mkdir()
    return report, fallback


def test_named_after_the_html_report_beside_it(tmp_path: Path) -> None:
    html = tmp_path / "reports" / "20260101-120000-Show.html"
    assert frametimes_path(html) == tmp_path / "reports" / "20260101-120000-Show-frametimes.csv"


def test_rows_stream_to_disk_under_a_temporary_name_then_the_real_one(
    folders: tuple[Path, Path],
) -> None:
    report, fallback = folders
    path = report / "run-frametimes.csv"
    csv = FrameTimesFile.start(path, fallback)
    rows = _rows(2 * FLUSH_CHARS // len(ROW))
    for row in rows:
        csv.write_row(row)

    (partial,) = _partials(report)
    assert not path.exists(), "the real name before the CSV is whole"
    assert partial.stat().st_size >= FLUSH_CHARS, "rows held in memory instead of written"
    assert len(csv._pending) < FLUSH_CHARS // len(ROW) + 1

    written = csv.close()

    assert written.in_place
    assert written.line() == f"frame times: {path}"
    assert path.read_text(encoding="utf-8") == HEADER + "".join(rows)
    assert csv.rows == len(rows)
    assert _partials(report, fallback) == []
    assert csv.close() is written, "closing twice answers the same"


def test_rows_from_hosts_judged_in_threads_arrive_whole_and_once(
    folders: tuple[Path, Path],
) -> None:
    """A fleet's hosts write their rows from threads of their own, flushing at each stream's
    end; with the interpreter switching threads every microsecond, no row is lost, doubled
    or cut."""
    report, fallback = folders
    path = report / "fleet-frametimes.csv"
    csv = FrameTimesFile.start(path, fallback)
    per_host = 2 * FLUSH_CHARS // len(ROW)
    hosts = [f"host-{number}" for number in range(6)]

    def judge(host: str) -> None:
        for frame in range(per_host):
            csv.write_row(f"{host},normal_playback,HD,{frame},100.100,24,24.529,-76.100,0\n")
            if frame % 500 == 499:
                csv.flush()

    switch_s = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=judge, args=(host,)) for host in hosts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switch_s)
    csv.close()

    lines = path.read_text(encoding="utf-8").removeprefix(HEADER).splitlines()
    assert csv.rows == len(lines) == len(hosts) * per_host
    counted = Counter(lines)
    assert max(counted.values()) == 1, "a row written twice"
    for host in hosts:
        frames = [int(line.split(",")[3]) for line in lines if line.startswith(f"{host},")]
        assert frames == list(range(per_host)), f"{host}'s rows lost, cut or out of order"


def test_flush_puts_the_rows_on_the_disk(
    folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    report, fallback = folders
    csv = FrameTimesFile.start(report / "run-frametimes.csv", fallback)
    synced: list[int] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    csv.write_row(ROW.format(frame=0))

    csv.flush()

    (partial,) = _partials(report)
    assert partial.read_text(encoding="utf-8") == HEADER + ROW.format(frame=0)
    assert synced


def test_a_run_with_no_replay_leaves_the_header(folders: tuple[Path, Path]) -> None:
    report, fallback = folders
    path = report / "run-frametimes.csv"

    written = FrameTimesFile.start(path, fallback).close()

    assert written.in_place
    assert path.read_text(encoding="utf-8") == HEADER


def test_a_write_that_fails_mid_run_moves_every_row_to_the_fallback(
    folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    report, fallback = folders
    path = report / "run-frametimes.csv"
    csv = FrameTimesFile.start(path, fallback)
    first = _rows(10)
    for row in first:
        csv.write_row(row)
    csv.flush()  # written whole in the report folder
    _failing_on(monkeypatch, "pwrite", _in_place_fd(csv))
    later = _rows(2 * FLUSH_CHARS // len(ROW), start=10)
    for row in later:
        csv.write_row(row)  # the disk fills: no raise

    written = csv.close()

    copy = fallback / path.name
    assert written.location == copy
    assert written.line() == (
        f"frame times {path} could not be written (No space left on device): a copy is at {copy}"
    )
    assert copy.read_text(encoding="utf-8") == HEADER + "".join(first + later)
    assert not path.exists()
    assert _partials(report, fallback) == []


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_csv_that_cannot_be_finished_in_place_is_copied(
    folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    report, fallback = folders
    path = report / "run-frametimes.csv"
    csv = FrameTimesFile.start(path, fallback)
    rows = _rows(100)
    for row in rows:
        csv.write_row(row)
    if failing == "fsync":
        _failing_on(monkeypatch, "fsync", _in_place_fd(csv))
    else:
        real_replace = os.replace

        def replace(source: Any, target: Any) -> None:
            if Path(target).parent == report:
                raise _no_space()
            real_replace(source, target)

        monkeypatch.setattr(os, "replace", replace)

    written = csv.close()

    assert written.location == fallback / path.name
    assert (fallback / path.name).read_text(encoding="utf-8") == HEADER + "".join(rows)
    assert not path.exists()
    assert _partials(report, fallback) == []


def test_a_report_folder_removed_mid_run_loses_no_row(folders: tuple[Path, Path]) -> None:
    report, fallback = folders
    path = report / "run-frametimes.csv"
    csv = FrameTimesFile.start(path, fallback)
    rows = _rows(1000)
    for row in rows[:500]:
        csv.write_row(row)
    csv.flush()
    shutil.rmtree(report)
    for row in rows[500:]:
        csv.write_row(row)

    written = csv.close()

    assert written.cause == "No such file or directory"
    assert written.location == fallback / path.name
    assert written.location.read_text(encoding="utf-8") == HEADER + "".join(rows)
    assert _partials(fallback) == []


def test_a_copy_that_fails_too_costs_one_line_and_leaves_nothing(
    folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    report, fallback = folders
    path = report / "run-frametimes.csv"
    csv = FrameTimesFile.start(path, fallback)
    csv.write_row(ROW.format(frame=0))
    _failing_on(monkeypatch, "pwrite")
    csv.flush()
    csv.write_row(ROW.format(frame=1))

    written = csv.close()

    assert written.location is None
    assert written.line() == (
        f"frame times {path} could not be written (No space left on device), nor a copy in "
        "the system temp folder (No space left on device)"
    )
    assert sorted(report.iterdir()) == []
    assert sorted(fallback.iterdir()) == []


def test_a_copy_in_the_fallback_does_not_replace_an_earlier_one(
    folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    report, fallback = folders
    path = report / "run-frametimes.csv"
    (fallback / path.name).write_text("an earlier run's\n", encoding="utf-8")
    csv = FrameTimesFile.start(path, fallback)
    _failing_on(monkeypatch, "fsync", _in_place_fd(csv))

    written = csv.close()

    assert written.location == fallback / "run-frametimes-2.csv"
    assert (fallback / path.name).read_text(encoding="utf-8") == "an earlier run's\n"


def test_discard_leaves_nothing(folders: tuple[Path, Path]) -> None:
    report, fallback = folders
    csv = FrameTimesFile.start(report / "run-frametimes.csv", fallback)
    csv.write_row(ROW.format(frame=0))

    csv.discard()

    assert sorted(report.iterdir()) == []


def test_a_folder_where_the_csv_goes_is_refused_at_the_start(folders: tuple[Path, Path]) -> None:
    report, _ = folders
    path = report / "run-frametimes.csv"
    path.mkdir()

    with pytest.raises(ReportFolderError) as refused:
        FrameTimesFile.start(path)

    assert str(refused.value) == (
        f"frame times file {path} is a folder, not a file; give a report folder you can write "
        "to with --qlab-report-dir, or an --html path"
    )


def test_a_folder_that_cannot_take_the_csv_is_refused_at_the_start(
    folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    report, _ = folders
    path = report / "run-frametimes.csv"

    def read_only(*_args: object) -> int:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(os, "open", read_only)
    with pytest.raises(ReportFolderError, match="cannot be written \\(Read-only file system\\)"):
        FrameTimesFile.start(path)
    monkeypatch.undo()
    assert sorted(report.iterdir()) == []
