"""The flock helper both locks stand on: a busy flock refused with the holder's record, a replaced
file noticed, never a symlink or a non-regular file, and a record read within its size cap."""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

import pytest
from pydantic import BaseModel

from pytest_qlab.safety.flock import (
    MAX_RECORD_BYTES,
    names,
    open_locked,
    read_record,
    unlink_if_ours,
    write_record,
)


class Record(BaseModel):
    pid: int


class Busy(Exception):
    def __init__(self, record: Record | None) -> None:
        super().__init__("busy")
        self.record = record


def _busy(fd: int) -> Busy:
    return Busy(read_record(fd, Record))


def test_a_held_flock_is_refused_with_the_holders_record(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    fd = open_locked(path, _busy)
    assert fd is not None
    try:
        write_record(fd, Record(pid=42))
        with pytest.raises(Busy) as refused:
            open_locked(path, _busy)
    finally:
        os.close(fd)

    assert refused.value.record == Record(pid=42)
    again = open_locked(path, _busy)  # the kernel dropped the flock with its descriptor
    assert again is not None
    os.close(again)


def test_a_file_replaced_after_opening_is_not_ours(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    fd = open_locked(path, _busy)
    assert fd is not None
    try:
        path.unlink()
        path.write_text("someone else's", encoding="utf-8")
        assert not names(fd, path)

        unlink_if_ours(fd, path)

        assert path.read_text(encoding="utf-8") == "someone else's"
    finally:
        os.close(fd)


def test_unlink_removes_the_file_while_it_is_ours(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    fd = open_locked(path, _busy)
    assert fd is not None
    try:
        assert names(fd, path)
        unlink_if_ours(fd, path)
        assert not path.exists()
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # still ours until closed
    finally:
        os.close(fd)


def test_a_missing_folder_means_try_again(tmp_path: Path) -> None:
    assert open_locked(tmp_path / "gone" / "lock", _busy) is None


def test_symlinks_and_non_regular_files_are_refused(tmp_path: Path) -> None:
    target = tmp_path / "precious"
    target.write_bytes(b"cue list")
    (tmp_path / "link").symlink_to(target)
    os.mkfifo(tmp_path / "fifo")

    with pytest.raises(OSError, match="Too many levels of symbolic links") as linked:
        open_locked(tmp_path / "link", _busy)
    with pytest.raises(OSError, match="not a regular file") as fifo:
        open_locked(tmp_path / "fifo", _busy)

    assert linked.value.errno == errno.ELOOP
    assert fifo.value.errno == errno.EINVAL
    assert target.read_bytes() == b"cue list"


def test_a_record_is_read_only_up_to_its_cap(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    path.write_bytes(b" " * MAX_RECORD_BYTES + b'{"pid": 7}')  # valid, but past the cap
    fd = os.open(path, os.O_RDONLY)
    try:
        assert read_record(fd, Record) is None
        os.close(fd)
        path.write_bytes(b"not json")
        fd = os.open(path, os.O_RDONLY)
        assert read_record(fd, Record, tries=2, pause_s=0.01) is None
    finally:
        os.close(fd)
