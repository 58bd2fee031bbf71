"""The SQLite side of the store: a file is checked read-only before anything opens it for
writing, so a damaged history is never overwritten or "repaired" in place; writers take the
write lock at BEGIN (IMMEDIATE) and wait for each other (busy timeout); WAL lets readers on."""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event

from pytest_qlab.history.errors import HistoryError

BUSY_TIMEOUT_S = 10.0
"""A run stores one row in milliseconds, but a commit's fsync can take seconds on a disk that
another qualification is loading: waiting longer means another program holds the file."""
RETRY_PAUSE_S = 0.05
T = TypeVar("T")
MOVE_ASIDE = (
    "it was left untouched and this run was not stored; move it aside (recover it with "
    "`sqlite3 FILE .recover`) to start a new history there, or pass --qlab-history FILE|off"
)
NO_ROOM_BYTES = 1024 * 1024
"""Less free than this where SQLite reports an I/O error means the disk is full: a stored run
(its JSON report included) takes about 100 kB, SQLite's shared-memory index 32 kB."""


def _no_room(path: Path) -> bool:
    """Whether the disk holding the store has too little free for SQLite to work in."""
    try:
        return shutil.disk_usage(path.parent).free < NO_ROOM_BYTES
    except OSError:
        return False


def _problem(path: Path, exc: sqlite3.Error) -> HistoryError:
    """SQLite's error in the user's words, by its error code: only a file SQLite reads as not
    a database, or as malformed, is called damaged. On a full disk SQLite fails as soon as it
    sizes its shared-memory index (SQLITE_IOERR_SHMSIZE) or cannot open its WAL, before any
    write reports SQLITE_FULL: those are the disk's lack of room, not damage."""
    text = str(exc)
    name = getattr(exc, "sqlite_errorname", None) or ""
    if _busy(exc) or "busy" in text:
        return HistoryError(
            f"history {path} is locked by another program (waited {BUSY_TIMEOUT_S:g} s): "
            "this run was not stored; close that program and the next run stores again"
        )
    if name == "SQLITE_FULL" or "full" in text:
        return full(str(path))
    if name.startswith(("SQLITE_IOERR", "SQLITE_CANTOPEN")) and _no_room(path):
        return full(str(path))
    if name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM")) or any(
        word in text for word in ("readonly", "read-only", "unable to open")
    ):
        return _read_only(path)
    if name.startswith("SQLITE_IOERR"):
        return HistoryError(
            f"history {path} could not be read or written ({text}): it was left untouched and "
            "this run was not stored; check the disk it is on, or pass --qlab-history FILE|off"
        )
    return HistoryError(f"history {path} is damaged ({text}): {MOVE_ASIDE}")


def _busy(exc: sqlite3.Error) -> bool:
    name = getattr(exc, "sqlite_errorname", None) or ""
    return name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in str(exc)


def retry_while_busy(work: Callable[[], T]) -> T:
    """Run `work` again while SQLite reports the file busy, up to BUSY_TIMEOUT_S in all. In WAL
    mode SQLite answers SQLITE_BUSY without waiting in a few moments (another connection
    closing and cleaning up the WAL, or recovering it), so its busy timeout alone lets a run
    opening the store at that moment lose its row."""
    deadline_s = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            return work()
        except Exception as exc:
            original = getattr(exc, "orig", exc)
            if not isinstance(original, sqlite3.Error) or not _busy(original):
                raise
            if time.monotonic() >= deadline_s:
                raise
        time.sleep(RETRY_PAUSE_S)


def _read_only(path: Path) -> HistoryError:
    return HistoryError(
        f"history {path} cannot be written (read-only): this run was not stored; pass "
        "--qlab-history FILE in a writable folder, or --qlab-history off"
    )


def full(label: str) -> HistoryError:
    return HistoryError(
        f"history {label} is full (no space left): this run was not stored; free some space "
        "on its disk and the next run stores again"
    )


def check_file(path: Path) -> None:
    """Refuse a file SQLite cannot read back whole, and a place that cannot be written, before
    any writing connection touches it."""
    folder = path.parent
    if not path.exists():
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HistoryError(
                f"history {path}: cannot create its folder ({exc.strerror or exc}): this run "
                "was not stored; pass --qlab-history FILE in a writable folder, or off"
            ) from None
        if not os.access(folder, os.W_OK):
            raise _read_only(path)
        return
    if not path.is_file():
        raise HistoryError(f"history {path} is not a file: {MOVE_ASIDE}")
    if not os.access(path, os.W_OK) or not os.access(folder, os.W_OK):
        raise _read_only(path)
    try:
        verdict = retry_while_busy(lambda: _quick_check(path))
    except sqlite3.Error as exc:
        raise _problem(path, exc) from None
    if verdict != [("ok",)]:
        raise HistoryError(f"history {path} is damaged ({verdict[0][0]}): {MOVE_ASIDE}")


def _quick_check(path: Path) -> list[Any]:
    connection = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
    try:
        return connection.execute("PRAGMA quick_check").fetchall()
    finally:
        connection.close()


def sqlite_engine(path: Path) -> Engine:
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy, not pysqlite, begins transactions
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def explain(path: Path, exc: BaseException) -> HistoryError:
    """A failure of the open store in the user's words."""
    original = getattr(exc, "orig", exc)
    if isinstance(original, sqlite3.Error):
        return _problem(path, original)
    if isinstance(original, OSError):
        if original.errno == 28:
            return full(str(path))
        return _read_only(path)
    return HistoryError(f"history {path}: {original}: this run was not stored")
