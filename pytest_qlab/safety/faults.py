"""What went wrong with the volume when a measurement failed: fio only sees errno values, the
technician needs to know the drive vanished, turned read-only or filled up, and what to do."""

from __future__ import annotations

import contextlib
import errno
import os

from pytest_qlab.core.units import format_bytes
from pytest_qlab.fio import FioError
from pytest_qlab.safety.volume import ScratchSpace, VolumeError, free_space

_NO_SPACE = "No space left on device"
_NO_DIRECT_IO = ("does not support direct=1", "may not support direct IO")
"""fio's notes when a filesystem refuses O_DIRECT (EINVAL at open or at the first I/O)."""


def explain_failure(exc: FioError | VolumeError, scratch: ScratchSpace | None) -> str:
    """One message for a failed measurement: the volume's state when it explains the failure,
    followed by what fio said; otherwise the failure's own message."""
    original = str(exc)
    if scratch is None:
        return original
    cause = volume_fault(exc, scratch)
    if cause is None:
        return original
    said = original.splitlines()[0]
    return f"{cause}\n  ({said})"


def volume_fault(exc: FioError | VolumeError, scratch: ScratchSpace) -> str | None:
    """The volume disappeared, became read-only, ran out of space or reported an I/O error;
    None when it looks as it did at the start."""
    path = scratch.volume.path
    leftover = (
        f"pytest-qlab's test files in {scratch.run_dir} are removed at the next start on this "
        "volume"
    )
    try:
        present = scratch.run_dir.is_dir()
        read_only = bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        present, read_only = False, False
    read_only = read_only or (present and _refuses_writes(scratch))
    if not present:
        return (
            f"the volume {path} disappeared during the run (unplugged, unmounted or its "
            f"connection dropped); reconnect it and run again: {leftover}"
        )
    if read_only:
        return (
            f"the volume {path} became read-only during the run (the system does this after a "
            "write error, or it was remounted read-only); check the drive (Disk Utility First "
            f"Aid, fsck), make it writable and run again: {leftover}"
        )
    if any(note in str(exc) for note in _NO_DIRECT_IO):
        return (
            f"the filesystem of {path} does not support direct I/O, which qualification needs "
            "to measure the drive rather than the computer's memory (tmpfs before Linux 6.6, "
            "some network and FUSE filesystems); qualify the show drive itself"
        )
    code = exc.errno if isinstance(exc, FioError) else None
    if code == errno.ENOSPC or _NO_SPACE in str(exc):
        free = format_bytes(free_space(path).free_bytes)
        return (
            f"the volume {path} ran out of space during the run ({free} free now): something "
            "else wrote to it while the test ran; stop other copies to the drive, free up space "
            "and run again"
        )
    if code == errno.EIO:
        return (
            f"the drive behind {path} reported an I/O error: the drive, its cable or its "
            "enclosure is failing; reconnect it with another cable, check it (Disk Utility First "
            "Aid, fsck) and do not play a show from it until a run passes"
        )
    return None


def _refuses_writes(scratch: ScratchSpace) -> bool:
    """Whether a file can no longer be created in our run folder: Linux's emergency read-only
    (ext4 after an error) does not show in statvfs's flags."""
    probe = scratch.run_dir / ".write-probe"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        return exc.errno == errno.EROFS
    os.close(fd)
    with contextlib.suppress(OSError):
        probe.unlink()
    return False
