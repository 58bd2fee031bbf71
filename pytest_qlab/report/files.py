"""Report files that outlive a bad report folder. The folder is checked before anything is
measured; each report is written to a temporary file beside its real name and renamed into place,
so no half-written report ever carries the real name; and a report that cannot be written there
(no space, the folder gone, read-only, permissions) goes to the system temp folder instead, said
in one line, so that a long qualification is never lost to its report."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pytest_qlab.core.errors import QlabError

PARTIAL_SUFFIX = ".partial"
"""The temporary name's ending: a crash mid-write leaves `.<name>.<random>.partial`, never
`<name>` cut short."""


class ReportFolderError(QlabError):
    """A report folder that cannot be created or written in; the message says why."""


def cause_of(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _file_in_the_way(folder: Path) -> Path | None:
    """The file that stands where `folder` or one of its parents should be a folder."""
    for candidate in (folder, *folder.parents):
        try:
            if candidate.exists():
                return None if candidate.is_dir() else candidate
        except OSError:
            return None  # mkdir then says what is wrong
    return None


def check_report_folder(folder: Path, option: str = "--qlab-report-dir") -> list[Path]:
    """Create `folder` if needed and create and remove an empty file in it: a folder that runs
    through a file, a read-only disk or missing permissions are found before a run measures for
    hours. A full disk passes (an empty file takes no space): that is caught at the end.
    Returns the folders it created, deepest first, for `remove_folders` if the run is refused."""
    where = f"report folder {folder}"
    hint = f"give a folder you can write to with {option}"
    blocker = _file_in_the_way(folder)
    if blocker is not None:
        what = "it is a file" if blocker == folder else f"{blocker} is a file"
        raise ReportFolderError(f"{where} cannot be created: {what}, not a folder; {hint}")
    missing = [path for path in (folder, *folder.parents) if not path.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        remove_folders(missing)
        raise ReportFolderError(f"{where} cannot be created ({cause_of(exc)}); {hint}") from None
    try:
        probe = create_temporary(folder / ".pytest-qlab-write-check")
    except OSError as exc:
        remove_folders(missing)
        raise ReportFolderError(f"{where} is not writable ({cause_of(exc)}); {hint}") from None
    with contextlib.suppress(OSError):
        probe.unlink()
    return missing


def remove_folders(folders: Sequence[Path]) -> None:
    """Remove the folders `check_report_folder` created, if still empty: a refused run leaves
    nothing behind."""
    for folder in folders:
        with contextlib.suppress(OSError):
            folder.rmdir()


def create_temporary(path: Path) -> Path:
    """A new, empty, uniquely named file beside `path`, created with the umask's permissions
    (tempfile.mkstemp's 0600 would make a report only its writer can open)."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}{PARTIAL_SUFFIX}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    os.close(os.open(temporary, flags, 0o666))
    return temporary


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` under a temporary name in `path`'s folder, flush it to the disk, and rename
    it to `path`: a reader sees the old file or the whole new one, never part of it. On failure
    the temporary file is removed and the error raised."""
    temporary = create_temporary(path)
    try:
        with temporary.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())  # a write error the disk reports late surfaces here
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


@dataclass(frozen=True)
class WrittenReport:
    """Where one report went: its wanted path, or a copy in the system temp folder, or nowhere."""

    wanted: Path
    location: Path | None
    cause: str | None = None
    """Why it is not at `wanted`."""
    copy_cause: str | None = None
    """Why no copy could be saved either."""
    what: str = "report"
    """What the file is, as the line names it: "report", "frame times"."""

    @property
    def in_place(self) -> bool:
        return self.location == self.wanted

    def line(self) -> str:
        if self.in_place:
            return f"{self.what}: {self.wanted}"
        failed = f"{self.what} {self.wanted} could not be written ({self.cause})"
        if self.location is not None:
            return f"{failed}: a copy is at {self.location}"
        return f"{failed}, nor a copy in the system temp folder ({self.copy_cause})"


def copy_path(folder: Path, name: str) -> Path:
    """`folder/name`, numbered if a file of that name is already there."""
    candidate, number = folder / name, 1
    stem, suffix = Path(name).stem, Path(name).suffix
    while candidate.exists():
        number += 1
        candidate = folder / f"{stem}-{number}{suffix}"
    return candidate


def write_report(path: Path, data: bytes, fallback: Path | None = None) -> WrittenReport:
    """Write a report atomically to `path`, else to the system temp folder (`fallback`). Never
    raises an OSError: the run's verdict matters more than any one file."""
    try:
        write_atomically(path, data)
    except OSError as exc:
        cause = cause_of(exc)
    else:
        return WrittenReport(path, path)
    folder = fallback if fallback is not None else Path(tempfile.gettempdir())
    try:
        copy = copy_path(folder, path.name)
        write_atomically(copy, data)
    except OSError as exc:
        return WrittenReport(path, None, cause, cause_of(exc))
    return WrittenReport(path, copy, cause)
