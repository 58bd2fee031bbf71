"""One run per drive: an flock named after the whole disk, in the system temp folder.

The volume lock (volume_lock.py) keeps two runs out of one folder; two runs on two folders of
the same drive would still measure each other, each reporting about half the drive's speed. The
drive's lock cannot live on the drive without writing outside our scratch folder, so it lives in
the system temp folder of this computer, which is where both runs would start from.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel

from pytest_qlab.safety.flock import (
    OPEN_ATTEMPTS,
    open_locked,
    read_record,
    unlink_if_ours,
    write_record,
)
from pytest_qlab.safety.volume import VolumeError
from pytest_qlab.safety.volume_lock import LockHolder, VolumeBusyError

LOCK_DIR_NAME = "pytest-qlab-drives"


class DriveLockRecord(BaseModel):
    """Who measures a drive, and through which folder: shown when another run is refused."""

    holder: LockHolder
    volume: str


def drive_key(whole_disk: str | None, volume: Path) -> str:
    """ "disk4" or "vda" where the whole disk is known, else the volume's device number."""
    if whole_disk:
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(whole_disk).name)
        if name.strip("._"):
            return name
    try:
        return f"device-{os.stat(volume).st_dev}"
    except OSError:  # gone since it was checked: the volume lock has reported that already
        return "volume-" + re.sub(r"[^A-Za-z0-9_.-]", "_", str(volume))


class DriveLock:
    """The lock of one drive; `acquire` raises VolumeBusyError naming the other run and its
    folder, `release` is safe on every exit path. Only the flock means anything: the kernel
    drops it when its holder dies, so a file left by a killed run is simply taken over."""

    def __init__(self, key: str, volume: Path, lock_dir: Path | None = None) -> None:
        self.key = key
        self.volume = volume
        self.directory = lock_dir or Path(tempfile.gettempdir()) / LOCK_DIR_NAME
        self.path = self.directory / f"{key}.lock"
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> DriveLock:
        if self._fd is not None:
            return self
        for _ in range(OPEN_ATTEMPTS):
            fd = self._try_lock()
            if fd is not None:
                break
        else:
            raise VolumeError(f"cannot lock {self.path}: it keeps being replaced; start again")
        self._fd = fd
        try:
            write_record(fd, DriveLockRecord(holder=LockHolder.ours(), volume=str(self.volume)))
        except BaseException:
            self.release()  # a lock nobody holds a reference to would stay taken
            raise
        return self

    def _try_lock(self) -> int | None:
        """The locked file; None when its last holder removed it as we opened it (try again)."""
        try:
            self.directory.mkdir(exist_ok=True)
            return open_locked(self.path, self._refusal)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise VolumeError(
                f"cannot create the drive lock {self.path} ({exc.strerror or exc}); "
                "check that the system temp folder is writable (or set TMPDIR)"
            ) from None

    def _refusal(self, fd: int) -> VolumeBusyError:
        other = read_record(fd, DriveLockRecord)
        return VolumeBusyError(self._busy(other), other.holder if other else None)

    def _busy(self, other: DriveLockRecord | None) -> str:
        who = "another pytest-qlab run"
        if other is not None:
            who += f" on {other.volume} ({other.holder.describe()})"
        return (
            f"the drive holding {self.volume} ({self.key}) is being measured by {who}; two runs on "
            "one drive measure each other: wait for it to finish, or stop it, and start again"
        )

    def release(self) -> None:
        """Unlink the file while still locked (a waiting opener then sees it was replaced), and
        the folder when no other drive's lock is in it: nothing is left in the temp folder."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        unlink_if_ours(fd, self.path)
        with contextlib.suppress(OSError):
            os.close(fd)
        with contextlib.suppress(OSError):
            self.directory.rmdir()


def lock_drives(volumes: Sequence[tuple[Path, str]]) -> list[DriveLock]:
    """One lock per drive of the (volume, drive key) pairs: two volumes of one drive in one run
    are measured one after the other anyway. On a busy drive releases what it took and raises."""
    locks: dict[str, DriveLock] = {}
    try:
        for volume, key in volumes:
            if key not in locks:
                locks[key] = DriveLock(key, volume).acquire()
    except BaseException:
        for lock in locks.values():
            lock.release()
        raise
    return list(locks.values())
