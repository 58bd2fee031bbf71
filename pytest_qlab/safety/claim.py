"""Taking a volume for one run: its lock, a clean scratch root, and room for the test files."""

from __future__ import annotations

from dataclasses import dataclass

from pytest_qlab.safety.leftovers import LeftoverCleanup, clean_leftovers
from pytest_qlab.safety.volume import (
    TargetVolume,
    VolumeError,
    check_free_space,
    check_scratch_root,
)
from pytest_qlab.safety.volume_lock import VolumeLock


@dataclass(frozen=True)
class VolumeClaim:
    lock: VolumeLock
    cleanup: LeftoverCleanup

    def release(self) -> None:
        self.lock.release()


def claim_volume(volume: TargetVolume, files_bytes: int) -> VolumeClaim:
    """Lock the volume and remove crashed runs' leftovers before checking for room, since they may
    be what fills it; raises VolumeError (VolumeBusyError when another run has it) with the
    remedy, and then holds nothing."""
    if not check_scratch_root(volume):
        # Nothing of ours to reclaim: a volume without room is refused before a byte is written.
        check_free_space(volume, files_bytes)
    lock = VolumeLock(volume).acquire()
    try:
        cleanup = clean_leftovers(lock)
        check_free_space(volume, files_bytes)
    except OSError as exc:
        lock.release()
        raise VolumeError(
            f"cannot read {volume.scratch_root} ({exc.strerror or exc}); check the volume"
        ) from None
    except BaseException:
        lock.release()
        raise
    return VolumeClaim(lock, cleanup)
