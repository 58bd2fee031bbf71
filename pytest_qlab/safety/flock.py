"""One lock file held by flock: opened safely, locked without waiting, known to be the file its
name still points at, and carrying a small JSON record of its holder.

flock is released by the kernel when its holder dies, however it dies, so a lock file whose flock
is free is stale by definition and is taken over. The record only names the holder for a refusal
message; it never decides anything.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

OPEN_ATTEMPTS = 20
"""Tries when the lock file is replaced under us (its holder released it as we opened it)."""
MAX_RECORD_BYTES = 64 * 1024
"""A holder record is a few hundred bytes; a lock file is never read past this."""

Record = TypeVar("Record", bound=BaseModel)


def open_locked(
    name: str | Path, busy: Callable[[int], BaseException], *, dir_fd: int | None = None
) -> int | None:
    """`name` (in the folder `dir_fd` when given) opened read-write, created when missing, never
    through a symlink (ELOOP), and flocked without waiting.

    None when the file or its folder was removed by a releasing holder as we opened it: try
    again. When a live process holds the flock, raises what `busy` makes of the descriptor (it
    may read the holder's record there). Other failures are OSErrors.
    """
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(name, flags, 0o644, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        try:
            refusal = busy(fd)
        finally:
            os.close(fd)
        raise refusal from None
    except BaseException:
        os.close(fd)
        raise
    if names(fd, name, dir_fd=dir_fd):
        return fd
    os.close(fd)  # unlinked by its releasing holder after we opened it: lock the new one
    return None


def names(fd: int, name: str | Path, *, dir_fd: int | None = None) -> bool:
    """Whether `name` is still the file open as `fd`, not one its last holder already unlinked."""
    try:
        named = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    opened = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)


def unlink_if_ours(fd: int, name: str | Path, *, dir_fd: int | None = None) -> None:
    """Remove the lock file while still holding its flock, so a waiting opener sees it was
    replaced; never a file someone else put in its place. Errors are swallowed: the folder may
    be gone already."""
    with contextlib.suppress(OSError):
        if names(fd, name, dir_fd=dir_fd):
            os.unlink(name, dir_fd=dir_fd)


def write_record(fd: int, record: BaseModel) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, record.model_dump_json().encode(), 0)


def read_record(
    fd: int, model: type[Record], *, tries: int = 1, pause_s: float = 0.0
) -> Record | None:
    """The holder's record, or None when it is unreadable; `tries` > 1 waits `pause_s` between
    reads, for a holder that has locked but not yet written."""
    for attempt in range(tries):
        if attempt:
            time.sleep(pause_s)
        try:
            return model.model_validate_json(os.pread(fd, MAX_RECORD_BYTES, 0))
        except (OSError, ValidationError):
            pass
    return None
