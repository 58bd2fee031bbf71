"""The report writer: a report is whole under its name or absent, a failed write leaves nothing
behind and goes to the fallback folder, and the report folder check at the start refuses what
cannot hold a report. Write failures are injected where the disk reports them (write, fsync);
the integration tests fill and remove real filesystems."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from pytest_qlab.report.files import (
    PARTIAL_SUFFIX,
    ReportFolderError,
    check_report_folder,
    remove_folders,
    write_atomically,
    write_report,
)

REPORT = b'{"qlab": {"volumes": []}}\n' * 1000


def _no_space(*_args: object) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _partials(folder: Path) -> list[Path]:
    return sorted(path for path in folder.iterdir() if path.name.endswith(PARTIAL_SUFFIX))


def test_atomic_write_replaces_the_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "run.json"
    target.write_bytes(b"the previous run\n")

    write_atomically(target, REPORT)

    assert target.read_bytes() == REPORT
    assert sorted(tmp_path.iterdir()) == [target], "a temporary file was left"


def test_atomic_write_takes_the_umask_permissions(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_atomically(tmp_path / "run.html", REPORT)
    finally:
        os.umask(old)

    assert stat.S_IMODE((tmp_path / "run.html").stat().st_mode) == 0o644


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_failed_write_leaves_the_old_file_and_no_temporary_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    target = tmp_path / "run.json"
    target.write_bytes(b"the previous run\n")
    monkeypatch.setattr(os, failing, _no_space)

    with pytest.raises(OSError, match="No space left on device"):
        write_atomically(target, REPORT)

    assert target.read_bytes() == b"the previous run\n"
    assert _partials(tmp_path) == []


def test_report_written_in_place_says_where(tmp_path: Path) -> None:
    target = tmp_path / "run.json"

    written = write_report(target, REPORT, fallback=tmp_path / "unused")

    assert written.in_place
    assert written.location == target
    assert written.line() == f"report: {target}"


def test_report_in_a_removed_folder_goes_to_the_fallback(tmp_path: Path) -> None:
    fallback = tmp_path / "system-temp"
    fallback.mkdir()
    target = tmp_path / "gone" / "run.json"

    written = write_report(target, REPORT, fallback=fallback)

    assert not written.in_place
    assert written.location == fallback / "run.json"
    assert (fallback / "run.json").read_bytes() == REPORT
    assert not target.parent.exists(), "the missing folder was made again"
    assert written.line() == (
        f"report {target} could not be written (No such file or directory): "
        f"a copy is at {fallback / 'run.json'}"
    )


def test_report_on_a_full_disk_goes_to_the_fallback_without_a_cut_off_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, fallback = tmp_path / "reports", tmp_path / "system-temp"
    folder.mkdir()
    fallback.mkdir()
    real_fsync = os.fsync

    def fsync_full_in_reports(fd: int) -> None:
        if Path(os.readlink(f"/proc/self/fd/{fd}")).parent == folder:
            _no_space()
        real_fsync(fd)

    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc/self/fd to tell the two folders' files apart")
    monkeypatch.setattr(os, "fsync", fsync_full_in_reports)

    written = write_report(folder / "run.html", REPORT, fallback=fallback)

    assert written.cause == "No space left on device"
    assert written.location == fallback / "run.html"
    assert (fallback / "run.html").read_bytes() == REPORT
    assert sorted(folder.iterdir()) == [], "a cut-off or temporary report was left"


def test_copy_does_not_overwrite_a_file_in_the_fallback(tmp_path: Path) -> None:
    fallback = tmp_path / "system-temp"
    fallback.mkdir()
    (fallback / "run.json").write_bytes(b"someone else's\n")

    written = write_report(tmp_path / "gone" / "run.json", REPORT, fallback=fallback)

    assert written.location == fallback / "run-2.json"
    assert (fallback / "run.json").read_bytes() == b"someone else's\n"
    assert (fallback / "run-2.json").read_bytes() == REPORT


def test_report_that_fits_nowhere_says_both_causes(tmp_path: Path) -> None:
    target = tmp_path / "gone" / "run.json"

    written = write_report(target, REPORT, fallback=tmp_path / "also-gone")

    assert written.location is None
    assert written.line() == (
        f"report {target} could not be written (No such file or directory), "
        "nor a copy in the system temp folder (No such file or directory)"
    )


def test_report_folder_check_creates_the_folder_and_leaves_nothing_in_it(tmp_path: Path) -> None:
    folder = tmp_path / "a" / "b" / "reports"

    created = check_report_folder(folder)

    assert folder.is_dir()
    assert list(folder.iterdir()) == [], "the write check left its file"
    assert created == [folder, folder.parent, folder.parent.parent]
    remove_folders(created)
    assert sorted(tmp_path.iterdir()) == []


def test_report_folder_check_keeps_folders_it_did_not_make(tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()

    assert check_report_folder(tmp_path / "reports") == []


@pytest.mark.parametrize("depth", [0, 1, 2], ids=["is-a-file", "under-a-file", "deeper"])
def test_report_folder_through_a_file_is_refused_naming_the_file(
    tmp_path: Path, depth: int
) -> None:
    in_the_way = tmp_path / "notes.txt"
    in_the_way.write_bytes(b"notes\n")
    folder = in_the_way.joinpath(*["reports"] * depth)

    with pytest.raises(ReportFolderError) as refused:
        check_report_folder(folder, "--html")

    what = "it is a file" if depth == 0 else f"{in_the_way} is a file"
    assert str(refused.value) == (
        f"report folder {folder} cannot be created: {what}, not a folder; "
        "give a folder you can write to with --html"
    )
    assert in_the_way.read_bytes() == b"notes\n"


def test_unwritable_report_folder_is_refused_and_what_was_made_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Root writes anywhere, so a missing permission is injected where the check meets it."""

    def refuse(*_args: object) -> int:
        raise OSError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(os, "open", refuse)
    folder = tmp_path / "new" / "reports"

    with pytest.raises(ReportFolderError) as refused:
        check_report_folder(folder)

    assert str(refused.value) == (
        f"report folder {folder} is not writable (Permission denied); "
        "give a folder you can write to with --qlab-report-dir"
    )
    assert sorted(tmp_path.iterdir()) == [], "the refused check left the folders it made"
