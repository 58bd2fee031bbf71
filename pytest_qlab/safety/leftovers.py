"""Scratch folders left by runs that were killed or lost power, removed at the next start.

Only under the volume's lock, which proves no other run is live on it; only folders whose marker
names them, and on this host only when the marker's process is gone and nothing has files open in
them. Everything else in the scratch root is left alone and mentioned, never touched.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psutil  # type: ignore[import-untyped]

from pytest_qlab.core.units import format_bytes
from pytest_qlab.safety.volume import MARKER_NAME, ScratchMarker
from pytest_qlab.safety.volume_lock import LOCK_NAME, LockHolder, VolumeLock

PID_REUSE_TOLERANCE_S = 2.0
"""A marker's time has one-second resolution and is written just after its process started: a
process with that pid created later than this is a stranger that reused the pid."""
_REMOVE_IT = "remove it yourself if you do not need it"


@dataclass(frozen=True)
class RemovedRun:
    path: Path
    marker: ScratchMarker
    size_bytes: int
    """Space its files took on the drive (allocated blocks), now free again."""


@dataclass(frozen=True)
class LeftAlone:
    path: Path
    reason: str
    """Why it was not removed and what to do, one sentence."""


@dataclass(frozen=True)
class LeftoverCleanup:
    """What the start of a run found in a volume's scratch root and did about it."""

    volume: Path
    removed: tuple[RemovedRun, ...] = ()
    left_alone: tuple[LeftAlone, ...] = ()
    stale_lock: LockHolder | None = None
    """The holder of a lock that was taken over: its run ended without releasing it."""

    @property
    def reclaimed_bytes(self) -> int:
        return sum(run.size_bytes for run in self.removed)

    def lines(self) -> list[str]:
        """One line per finding for the terminal; none when the scratch root was clean."""
        lines = []
        if self.stale_lock is not None:
            lines.append(
                f"took over the lock on {self.volume} from a run that ended without releasing it "
                f"({self.stale_lock.describe()})"
            )
        if self.removed:
            runs = "; ".join(
                f"{run.path.name}: pid {run.marker.pid} on host {run.marker.host}"
                for run in self.removed
            )
            folders = "folder" if len(self.removed) == 1 else "folders"
            lines.append(
                f"removed {len(self.removed)} scratch {folders} left on {self.volume} by a run "
                f"that was killed or lost power ({runs}): "
                f"{format_bytes(self.reclaimed_bytes)} reclaimed"
            )
        lines += [f"left {item.path} alone: {item.reason}" for item in self.left_alone]
        return lines


def clean_leftovers(lock: VolumeLock) -> LeftoverCleanup:
    """Remove the scratch folders of dead runs from the locked volume's scratch root."""
    if not lock.held:
        raise ValueError("clean_leftovers needs the volume's lock held")
    root = lock.volume.scratch_root
    root_device = os.lstat(root).st_dev
    host = socket.gethostname()
    removed: list[RemovedRun] = []
    left: list[LeftAlone] = []
    with os.scandir(root) as entries:
        found = sorted((entry for entry in entries if entry.name != LOCK_NAME), key=_name)
    for entry in found:
        path = Path(entry.path)
        judged = _judge(entry, root_device, host)
        if isinstance(judged, str):
            left.append(LeftAlone(path, judged))
            continue
        size_bytes = _allocated_bytes(path)
        problem = _remove_run(path)
        if problem is None:
            removed.append(RemovedRun(path, judged, size_bytes))
        else:
            left.append(
                LeftAlone(
                    path,
                    f"a crashed run's folder that could not be removed ({problem}); {_REMOVE_IT}",
                )
            )
    return LeftoverCleanup(lock.volume.path, tuple(removed), tuple(left), lock.taken_over)


def _name(entry: os.DirEntry[str]) -> str:
    return entry.name


def _judge(entry: os.DirEntry[str], root_device: int, host: str) -> ScratchMarker | str:
    """The marker of a dead run's folder, or why the entry must be left alone."""
    if entry.is_symlink():
        return f"a symbolic link pytest-qlab did not make; {_REMOVE_IT}"
    if not entry.is_dir(follow_symlinks=False):
        return f"a file pytest-qlab did not write; {_REMOVE_IT}"
    if entry.stat(follow_symlinks=False).st_dev != root_device:
        return "a mount point (another device); pytest-qlab never removes anything there"
    path = Path(entry.path)
    marker = ScratchMarker.read(path)
    if marker is None:
        return f"no pytest-qlab marker in it, so it may not be ours; {_REMOVE_IT}"
    if marker.kept:
        return (
            f"kept on purpose with --qlab-keep-files (pid {marker.pid} on host {marker.host}); "
            "remove it when you no longer need it"
        )
    if marker.host == host and run_is_alive(marker):
        return f"its run (pid {marker.pid}) is still running on this host"
    users = processes_using(path)
    if users:
        pids = " ".join(map(str, users))
        return (
            f"process {pids} still has files open in it (a fio left running by a crash?), "
            f"which also disturbs this run's measurements: stop it (kill {pids})"
        )
    return marker


def run_is_alive(marker: ScratchMarker) -> bool:
    """Whether the process that wrote the marker still runs on this host; a pid reused by a later
    process (after a reboot, say) does not count."""
    try:
        process = psutil.Process(marker.pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        created_s = float(process.create_time())
    except psutil.NoSuchProcess:  # includes ZombieProcess
        return False
    except psutil.Error:
        return True  # cannot look: assume it lives
    try:
        started_s = datetime.strptime(marker.started_at, "%Y-%m-%dT%H:%M:%S%z").timestamp()
    except ValueError:
        return True
    return created_s <= started_s + PID_REUSE_TOLERANCE_S


def processes_using(path: Path) -> list[int]:
    """Processes (other than this one) with open files or their working folder under `path`."""
    inside = str(path) + os.sep
    found = []
    for process in psutil.process_iter():
        if process.pid == os.getpid():
            continue
        try:
            cwd = str(process.cwd())
            opened = [str(item.path) for item in process.open_files()]
        except psutil.Error:
            continue
        if any(name.startswith(inside) for name in [cwd + os.sep, *opened]):
            found.append(int(process.pid))
    return found


def _allocated_bytes(path: Path) -> int:
    """Space the files under `path` take on the drive, counted without following links."""
    total = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                info = os.lstat(os.path.join(folder, name))
                total += info.st_blocks * 512 if hasattr(info, "st_blocks") else info.st_size
    return total


def _remove_run(path: Path) -> str | None:
    """Remove a dead run's folder, marker last: a removal cut short is still recognised as ours
    next time. Returns what went wrong, if anything."""
    try:
        with os.scandir(path) as entries:
            for entry in entries:
                if entry.name == MARKER_NAME:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)
        os.unlink(path / MARKER_NAME)
        os.rmdir(path)
    except OSError as exc:
        return exc.strerror or str(exc)
    return None
