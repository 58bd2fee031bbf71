"""One run per volume: an flock on <volume>/.pytest-qlab/lock, held for the run's lifetime.

flock is released by the kernel when its holder dies, however it dies, so a lock file whose flock
is free is stale by definition and is taken over. The file's JSON only names the holder for the
refusal message; it never decides anything.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
import stat
import time
from typing import Literal

from pydantic import BaseModel, ValidationError

from pytest_qlab import __version__
from pytest_qlab.safety.volume import (
    TargetVolume,
    VolumeError,
    ensure_scratch_root,
    local_timestamp,
)

LOCK_NAME = "lock"
MAX_LOCK_BYTES = 64 * 1024
_OPEN_ATTEMPTS = 20
"""Tries when the lock file is replaced under us (its holder released it as we opened it)."""
_HOLDER_READ_TRIES = 10
_HOLDER_READ_PAUSE_S = 0.05
"""The holder writes its record right after locking: a busy lock may be briefly empty."""


class LockHolder(BaseModel):
    """Who holds a volume: written into the lock file, shown when another run is refused."""

    tool: Literal["pytest-qlab"] = "pytest-qlab"
    version: str = __version__
    pid: int
    host: str
    started_at: str

    @classmethod
    def ours(cls) -> LockHolder:
        return cls(pid=os.getpid(), host=socket.gethostname(), started_at=local_timestamp())

    def describe(self) -> str:
        return f"pid {self.pid} on host {self.host}, started {self.started_at}"


class VolumeBusyError(VolumeError):
    """Another live run holds the volume's lock."""

    def __init__(self, message: str, holder: LockHolder | None) -> None:
        super().__init__(message)
        self.holder = holder


class VolumeLock:
    """The lock of one volume; `acquire` raises VolumeBusyError naming the holder when another run
    has it, `release` is safe to call on every exit path, any number of times."""

    def __init__(self, volume: TargetVolume) -> None:
        self.volume = volume
        self.path = volume.scratch_root / LOCK_NAME
        self.holder: LockHolder | None = None
        """Our record, once acquired."""
        self.taken_over: LockHolder | None = None
        """The previous holder, when its run ended without releasing the lock (killed, crashed)."""
        self._fd: int | None = None
        self._root_fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> VolumeLock:
        if self._fd is not None:
            return self
        try:
            for _ in range(_OPEN_ATTEMPTS):
                self._fd = self._try_lock()
                if self._fd is not None:
                    break
                self._close()
            else:
                raise OSError(errno.EAGAIN, "the lock file keeps being replaced")
            self.taken_over = _read_holder(self._fd)
            self.holder = LockHolder.ours()
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, self.holder.model_dump_json().encode(), 0)
        except VolumeError:
            self._close()
            raise
        except OSError as exc:
            self._close()
            raise VolumeError(self._cannot_lock(exc)) from None
        return self

    def _try_lock(self) -> int | None:
        """The locked lock file; None when it or the scratch root was removed by a releasing
        holder as we opened it (try again); VolumeBusyError when a live run holds it."""
        ensure_scratch_root(self.volume)
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            # Everything below goes through this descriptor: a .pytest-qlab swapped for a symlink
            # after the check cannot redirect the lock.
            self._root_fd = os.open(
                self.volume.scratch_root,
                os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
            )
            fd = os.open(LOCK_NAME, flags, 0o644, dir_fd=self._root_fd)
        except FileNotFoundError:
            return None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OSError(errno.EINVAL, "not a regular file")
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd, patient=True)
            os.close(fd)
            raise VolumeBusyError(self._busy(holder), holder) from None
        except BaseException:
            os.close(fd)
            raise
        if self._is_current(fd):
            return fd
        os.close(fd)  # unlinked by its releasing holder after we opened it: lock the new one
        return None

    def _is_current(self, fd: int) -> bool:
        """Whether `fd` is still the file named lock, not one its last holder already unlinked."""
        assert self._root_fd is not None
        try:
            named = os.stat(LOCK_NAME, dir_fd=self._root_fd, follow_symlinks=False)
        except FileNotFoundError:
            return False
        opened = os.fstat(fd)
        return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)

    def _busy(self, holder: LockHolder | None) -> str:
        where = str(self.volume.path)
        if holder is None:
            return (
                f"{where} is in use by another pytest-qlab run (its lock {self.path} does not "
                "name it yet); one run per volume at a time: wait for it to finish and start again"
            )
        stop = f"kill {holder.pid}"
        if holder.host != socket.gethostname():
            stop += f" on {holder.host}"
        return (
            f"{where} is in use by another pytest-qlab run ({holder.describe()}); one run per "
            f"volume at a time: wait for it to finish, or stop it ({stop}) and start again"
        )

    def _cannot_lock(self, exc: OSError) -> str:
        if exc.errno == errno.ELOOP:
            return f"{self.path} is a symbolic link; remove it (rm {self.path}) and start again"
        if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOTSUP):
            return (
                f"cannot lock {self.path} ({exc.strerror}): this filesystem does not support "
                "file locks, so pytest-qlab cannot make sure it is the only run on the volume"
            )
        return (
            f"cannot write to {self.volume.path} ({exc.strerror or exc}); "
            "check that the volume is mounted read-write and has space"
        )

    def release(self) -> None:
        """Remove the lock file (only while it is ours), unlock, and remove the scratch root if
        nothing else is in it. Errors are swallowed: the volume may be gone already."""
        fd, root_fd = self._fd, self._root_fd
        if fd is None or root_fd is None:
            self._close()
            return
        with contextlib.suppress(OSError):
            if self._is_current(fd):
                # Unlinked while still locked, so a waiting opener sees it was replaced.
                os.unlink(LOCK_NAME, dir_fd=root_fd)
        self._close()
        with contextlib.suppress(OSError):  # other runs' or foreign folders, or already gone
            os.rmdir(self.volume.scratch_root)

    def _close(self) -> None:
        for fd in (self._fd, self._root_fd):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._fd = self._root_fd = None

    def __enter__(self) -> VolumeLock:
        return self.acquire()

    def __exit__(self, *_exc: object) -> None:
        self.release()


def _read_holder(fd: int, *, patient: bool = False) -> LockHolder | None:
    for _ in range(_HOLDER_READ_TRIES if patient else 1):
        try:
            return LockHolder.model_validate_json(os.pread(fd, MAX_LOCK_BYTES, 0))
        except (OSError, ValidationError):
            if patient:
                time.sleep(_HOLDER_READ_PAUSE_S)
    return None
