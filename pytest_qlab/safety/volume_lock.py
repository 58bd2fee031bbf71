"""One run per volume: an flock on <volume>/.pytest-qlab/lock, held for the run's lifetime.

A lock file whose flock is free is stale and taken over (see flock.py); its record names the
holder for the refusal message.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
from typing import Literal

from pydantic import BaseModel

from pytest_qlab import __version__
from pytest_qlab.safety.flock import (
    OPEN_ATTEMPTS,
    open_locked,
    read_record,
    unlink_if_ours,
    write_record,
)
from pytest_qlab.safety.volume import (
    TargetVolume,
    VolumeError,
    ensure_scratch_root,
    local_timestamp,
)

LOCK_NAME = "lock"
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
            for _ in range(OPEN_ATTEMPTS):
                self._fd = self._try_lock()
                if self._fd is not None:
                    break
                self._close()
            else:
                raise OSError(errno.EAGAIN, "the lock file keeps being replaced")
            self.taken_over = read_record(self._fd, LockHolder)
            self.holder = LockHolder.ours()
            write_record(self._fd, self.holder)
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
        try:
            # Everything below goes through this descriptor: a .pytest-qlab swapped for a symlink
            # after the check cannot redirect the lock.
            self._root_fd = os.open(
                self.volume.scratch_root,
                os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
            )
        except FileNotFoundError:
            return None
        return open_locked(LOCK_NAME, self._refusal, dir_fd=self._root_fd)

    def _refusal(self, fd: int) -> VolumeBusyError:
        holder = read_record(fd, LockHolder, tries=_HOLDER_READ_TRIES, pause_s=_HOLDER_READ_PAUSE_S)
        return VolumeBusyError(self._busy(holder), holder)

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
        unlink_if_ours(fd, LOCK_NAME, dir_fd=root_fd)
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
