"""The per-frame timings CSV (`--qlab-frametimes`), streamed to disk and as robust as the reports.

Rows are written as the replays are judged, in 1 MiB chunks, to a temporary file beside the CSV's
real name, and the file is renamed into place when the run ends: a 2.5 h show pattern's millions
of rows are never held in memory, and no half-written CSV ever carries the real name. Each
stream's rows are flushed to the disk before the next measurement starts, so their write-back
never competes with fio on a report folder that shares the drive.

A write that fails (no space, the folder removed, read-only) moves the rows written so far,
read back through the open file, and every later row to the system temp folder, like a report;
when that fails too, the rows are given up. Either way the run goes on and the end of the run
says so in one line: the CSV never costs the verdict.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from pathlib import Path

from pytest_qlab.measure.frametimes import HEADER
from pytest_qlab.report.files import (
    ReportFolderError,
    WrittenReport,
    cause_of,
    copy_path,
    create_temporary,
)

WHAT = "frame times"
FLUSH_CHARS = 1 << 20
"""Rows kept before they are written: a few thousand, a megabyte."""
COPY_CHUNK_BYTES = 1 << 20


def frametimes_path(html: Path) -> Path:
    """Beside the HTML report, named after it: found, mailed and archived with it."""
    return html.with_name(f"{html.stem}-frametimes.csv")


class _Spool:
    """One temporary file open for reading and writing: its rows stay readable through the
    descriptor even when its folder is removed, so they can be copied elsewhere."""

    def __init__(self, beside: Path) -> None:
        self.partial = create_temporary(beside)
        try:
            self.fd = os.open(self.partial, os.O_RDWR | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            with contextlib.suppress(OSError):
                self.partial.unlink()
            raise
        self.size_bytes = 0
        """Bytes written whole; a chunk that failed part-way is not counted."""

    def write(self, data: bytes) -> None:
        view, written = memoryview(data), 0
        while written < len(data):
            written += os.pwrite(self.fd, view[written:], self.size_bytes + written)
        self.size_bytes += written

    def copy_to(self, other: _Spool) -> None:
        offset = 0
        while offset < self.size_bytes:
            chunk = os.pread(self.fd, min(COPY_CHUNK_BYTES, self.size_bytes - offset), offset)
            if not chunk:
                raise OSError(f"{self.partial} ended at {offset} of {self.size_bytes} bytes")
            other.write(chunk)
            offset += len(chunk)

    def commit(self, path: Path) -> None:
        """To the disk, then under `path`; the descriptor stays open until the rename is done,
        so a failed rename can still be copied."""
        os.fsync(self.fd)
        os.replace(self.partial, path)
        with contextlib.suppress(OSError):
            os.close(self.fd)

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)
        with contextlib.suppress(OSError):
            self.partial.unlink()


class FrameTimesFile:
    """The run's CSV: `write_row` and `flush` for the replays (a `RowSink`), `close` once at
    the end. Never raises for a failed write: the cause is kept for the closing line. A fleet's
    hosts judge their frames in threads of their own, so each row reaches the file whole."""

    def __init__(self, path: Path, spool: _Spool, fallback: Path | None = None) -> None:
        self.path = path
        self.fallback = fallback
        """The folder for a copy when `path`'s fails; None: the system temp folder."""
        self.rows = 0
        self._spool: _Spool | None = spool
        self._in_fallback = False
        self._pending: list[str] = []
        self._pending_chars = 0
        self._cause: str | None = None
        self._copy_cause: str | None = None
        self._written: WrittenReport | None = None
        self._lock = threading.RLock()

    @classmethod
    def start(cls, path: Path, fallback: Path | None = None) -> FrameTimesFile:
        """Open the CSV's temporary file with its header, before anything is measured. Raises
        ReportFolderError in one line for a path that cannot take it."""
        hint = "give a report folder you can write to with --qlab-report-dir, or an --html path"
        if path.is_dir():
            raise ReportFolderError(f"{WHAT} file {path} is a folder, not a file; {hint}")
        try:
            spool = _Spool(path)
        except OSError as exc:
            raise ReportFolderError(
                f"{WHAT} file {path} cannot be written ({cause_of(exc)}); {hint}"
            ) from None
        found = cls(path, spool, fallback)
        found.write_text(HEADER)
        found._flush(sync=False)
        return found

    @property
    def closed(self) -> bool:
        return self._written is not None

    # --- the replays' sink --------------------------------------------------------------------

    def write_row(self, line: str) -> None:
        with self._lock:
            self.rows += 1
            self.write_text(line)

    def write_text(self, text: str) -> None:
        with self._lock:
            self._pending.append(text)
            self._pending_chars += len(text)
            if self._pending_chars >= FLUSH_CHARS:
                self._flush(sync=False)

    def flush(self) -> None:
        """Every row so far written and on the disk: called at the end of each stream."""
        with self._lock:
            self._flush(sync=True)

    def _flush(self, *, sync: bool) -> None:
        data = "".join(self._pending).encode("utf-8")
        self._pending.clear()
        self._pending_chars = 0
        if self._spool is None:
            return  # given up: the closing line says why
        try:
            if data:
                self._spool.write(data)
            if sync:
                os.fsync(self._spool.fd)
        except OSError as exc:
            self._fail_over(exc, data)

    def _fail_over(self, exc: OSError, data: bytes) -> None:
        """The rows written whole so far and `data` into a copy in the fallback folder."""
        failed = self._spool
        self._spool = None
        if failed is None:
            return
        if self._in_fallback:
            self._copy_cause = cause_of(exc)
            failed.discard()
            return
        self._cause = cause_of(exc)
        folder = self.fallback if self.fallback is not None else Path(tempfile.gettempdir())
        copy: _Spool | None = None
        try:
            copy = _Spool(folder / self.path.name)
            failed.copy_to(copy)
            copy.write(data)
        except OSError as copy_exc:
            self._copy_cause = cause_of(copy_exc)
            if copy is not None:
                copy.discard()
            failed.discard()
            return
        failed.discard()
        self._spool, self._in_fallback = copy, True

    # --- the end of the run -------------------------------------------------------------------

    def close(self) -> WrittenReport:
        """Rename the CSV into place, else into the fallback folder; once, then the same
        answer."""
        if self._written is not None:
            return self._written
        self._flush(sync=False)
        if self._spool is not None and not self._in_fallback:
            try:
                self._spool.commit(self.path)
            except OSError as exc:
                self._fail_over(exc, b"")
            else:
                self._spool = None
                self._written = WrittenReport(self.path, self.path, what=WHAT)
                return self._written
        location = None
        if self._spool is not None:
            folder = self._spool.partial.parent
            try:
                location = copy_path(folder, self.path.name)
                self._spool.commit(location)
            except OSError as exc:
                location, self._copy_cause = None, cause_of(exc)
                self._spool.discard()
            self._spool = None
        self._written = WrittenReport(self.path, location, self._cause, self._copy_cause, what=WHAT)
        return self._written

    def discard(self) -> None:
        """Nothing left behind: the run measured nothing (collect only) or ended in an error
        before its reports."""
        if self._spool is not None:
            self._spool.discard()
            self._spool = None
