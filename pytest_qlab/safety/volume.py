"""Target validation and the scratch directory: the only place pytest-qlab ever writes.

Everything lives in <volume>/.pytest-qlab/<run-id>/ next to a marker file that proves the
directory is ours; removal only ever touches a directory carrying that marker.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import stat
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from pytest_qlab import __version__
from pytest_qlab.core.errors import QlabError
from pytest_qlab.core.units import BYTES_PER_GIB, format_bytes

SCRATCH_ROOT_NAME = ".pytest-qlab"
MARKER_NAME = "pytest-qlab-scratch.json"
MAX_MARKER_BYTES = 64 * 1024
"""A marker is a few hundred bytes; anything larger is not ours."""
FREE_SPACE_MARGIN_BYTES = BYTES_PER_GIB
"""Left free on the volume after our files are written, so the user's headroom stays intact."""


class VolumeError(QlabError):
    """A target the plugin must not or cannot use; the message is one sentence saying what to do."""


@dataclass(frozen=True)
class TargetVolume:
    path: Path
    """The resolved directory tests write under."""
    requested: str
    """What the user typed (or the temp directory), shown next to the resolved path."""
    mount_point: Path
    is_system_default: bool
    name: str = ""
    """Short label for headers, test ids and report names; unique within a run."""
    host: str | None = None
    """The fleet host holding the volume (--qlab-host), as the user named it; None: this
    machine. A host's path is a path on that host, never looked at here."""
    host_system_disk: bool = False
    """For a host's volume: on the same filesystem as that host's root, as it said."""

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", default_name(self))

    @property
    def key(self) -> str:
        """Unique within a run: two hosts may each have a /Volumes/Show."""
        return str(self.path) if self.host is None else f"{self.host}:{self.path}"

    @property
    def on_system_disk(self) -> bool:
        """The same filesystem as the system's root: not a separate show drive."""
        if self.host is not None:
            return self.host_system_disk
        try:
            return os.stat(self.path).st_dev == os.stat("/").st_dev
        except OSError:
            return False

    @property
    def scratch_root(self) -> Path:
        return self.path / SCRATCH_ROOT_NAME


def default_name(target: TargetVolume) -> str:
    """The drive's name (its mount point's folder), plus the folder's when it is not the root
    of the drive: "Show", "Show-media", "system-temp"."""
    if target.is_system_default:
        return "system-temp"
    drive = target.mount_point.name or "system"
    if target.path == target.mount_point:
        return drive
    return f"{drive}-{target.path.name}"


def unique_names(targets: Sequence[TargetVolume]) -> tuple[TargetVolume, ...]:
    """Two folders on one drive would share a name; number the repeats."""
    seen: dict[str, int] = {}
    named = []
    for target in targets:
        seen[target.name] = seen.get(target.name, 0) + 1
        if seen[target.name] > 1:
            target = replace(target, name=f"{target.name}-{seen[target.name]}")
        named.append(target)
    return tuple(named)


def mount_point_of(path: Path) -> Path:
    current = path
    while not os.path.ismount(current) and current.parent != current:
        current = current.parent
    return current


def resolve_target(raw: str, *, is_system_default: bool = False) -> TargetVolume:
    """Check a volume path without writing anything; raises VolumeError with the remedy."""
    example = "e.g. --volume /Volumes/Show"
    if not raw.strip():
        raise VolumeError(
            f"--volume was given an empty path; pass the show drive's folder ({example})"
        )
    expanded = Path(raw).expanduser()
    try:
        mode = expanded.stat().st_mode
    except FileNotFoundError:
        raise VolumeError(
            f"volume path {raw!r} does not exist; check that the drive is mounted ({example})"
        ) from None
    except OSError as exc:
        raise VolumeError(
            f"volume path {raw!r} cannot be read ({exc.strerror}); {example}"
        ) from None
    if stat.S_ISBLK(mode) or stat.S_ISCHR(mode):
        raise VolumeError(
            f"{raw!r} is a device, not a mounted volume; pytest-qlab never writes to raw devices, "
            f"pass the folder the drive is mounted at ({example})"
        )
    if not stat.S_ISDIR(mode):
        raise VolumeError(
            f"{raw!r} is a file, not a folder; pass the drive's mount point ({example})"
        )
    resolved = expanded.resolve()
    if resolved.parent == resolved and not is_system_default:
        # Almost always a slip (an empty variable before a slash), and the system disk.
        raise VolumeError(
            f"{raw!r} is the root of the system disk, not a show drive; pass the folder the show "
            f"drive is mounted at ({example}), or leave --volume out to test the system disk"
        )
    if SCRATCH_ROOT_NAME in resolved.parts:
        raise VolumeError(
            f"{raw!r} is inside pytest-qlab's own scratch folder; "
            f"pass the volume itself ({example})"
        )
    if _read_only(resolved):
        raise VolumeError(
            f"{raw!r} is not writable (read-only volume or no permission); "
            "qualification needs to write test files: mount it read-write or pick another volume"
        )
    return TargetVolume(
        path=resolved,
        requested=raw,
        mount_point=mount_point_of(resolved),
        is_system_default=is_system_default,
    )


def _read_only(path: Path) -> bool:
    try:
        if os.statvfs(path).f_flag & os.ST_RDONLY:
            return True
    except OSError:
        return True
    return not os.access(path, os.W_OK | os.X_OK)


@dataclass(frozen=True)
class FreeSpace:
    free_bytes: int
    total_bytes: int


def free_space(path: Path) -> FreeSpace:
    # statvfs rather than diskutil's FreeSpace, which is 0 for APFS volumes.
    stats = os.statvfs(path)
    return FreeSpace(
        free_bytes=stats.f_bavail * stats.f_frsize, total_bytes=stats.f_blocks * stats.f_frsize
    )


def check_free_space(volume: TargetVolume, files_bytes: int) -> FreeSpace:
    """Refuse before writing anything when the test files plus the margin do not fit."""
    space = free_space(volume.path)
    needed = files_bytes + FREE_SPACE_MARGIN_BYTES
    if space.free_bytes < needed:
        raise VolumeError(
            f"{volume.path} has {format_bytes(space.free_bytes)} free but this run needs "
            f"{format_bytes(needed)} ({format_bytes(files_bytes)} of test files plus "
            f"{format_bytes(FREE_SPACE_MARGIN_BYTES)} left free for your show); "
            "free up space or qualify another volume"
        )
    return space


def new_run_id() -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{secrets.token_hex(2)}"


def local_timestamp() -> str:
    """Wall-clock time with its UTC offset, as markers and the lock record it."""
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def check_scratch_root(volume: TargetVolume) -> bool:
    """Refuse a .pytest-qlab that is not a plain folder on the volume itself: through a symlink or
    a mount point our files would land, and be measured, somewhere else. Returns whether it exists;
    never follows it."""
    root = volume.scratch_root
    try:
        info = os.lstat(root)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise VolumeError(f"cannot read {root} ({exc.strerror}); check the volume") from None
    if stat.S_ISLNK(info.st_mode):
        raise VolumeError(
            f"{root} is a symbolic link (to {os.readlink(root)}); pytest-qlab writes only on the "
            f"volume itself and never follows it: remove the link (rm {root}) and start again"
        )
    if not stat.S_ISDIR(info.st_mode):
        raise VolumeError(
            f"cannot write to {volume.path}: {root} is a file, not pytest-qlab's scratch folder; "
            "move it away and start again"
        )
    if info.st_dev != os.stat(volume.path).st_dev:
        raise VolumeError(
            f"{root} is on another device than the volume {volume.path} (a mount point?); "
            "the test files would measure the wrong drive: unmount or remove it and start again"
        )
    return True


def ensure_scratch_root(volume: TargetVolume) -> None:
    """Create <volume>/.pytest-qlab if needed, refusing one that is a symlink or on another device;
    OSError when the volume cannot be written."""
    if not check_scratch_root(volume):
        with contextlib.suppress(FileExistsError):  # another run made it in the meantime
            volume.scratch_root.mkdir()
        check_scratch_root(volume)


class ScratchMarker(BaseModel):
    """The marker file proving a run directory is ours; read back to recognise leftovers."""

    model_config = ConfigDict(extra="ignore")

    tool: Literal["pytest-qlab"] = "pytest-qlab"
    version: str = __version__
    run_id: str
    pid: int
    host: str
    started_at: str
    kept: bool = False
    """Kept on purpose (--qlab-keep-files): not a leftover of a crash."""

    @classmethod
    def read(cls, run_dir: Path) -> ScratchMarker | None:
        """The marker of `run_dir` when it is valid and names that very directory; never follows
        a symlinked marker."""
        try:
            fd = os.open(run_dir / MARKER_NAME, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            with os.fdopen(fd, "rb") as handle:
                marker = cls.model_validate_json(handle.read(MAX_MARKER_BYTES))
        except (OSError, ValidationError):
            return None
        return marker if marker.run_id == run_dir.name else None


class ScratchSpace:
    """<volume>/.pytest-qlab/<run-id>/: created with a marker, removed on every exit path."""

    def __init__(self, volume: TargetVolume, run_id: str) -> None:
        self.volume = volume
        self.run_id = run_id
        self.run_dir = volume.scratch_root / run_id
        self.marker = self.run_dir / MARKER_NAME
        self._created = False
        self._started_at = local_timestamp()

    def create(self) -> ScratchSpace:
        try:
            ensure_scratch_root(self.volume)
            self.run_dir.mkdir()  # fails on a clash: that directory is another run's
            self._created = True
            self._write_marker(kept=False)
        except OSError as exc:
            self.remove()
            raise VolumeError(
                f"cannot write to {self.volume.path} ({exc.strerror}); "
                "check that the volume is mounted read-write and has space"
            ) from None
        return self

    def _write_marker(self, *, kept: bool) -> None:
        marker = ScratchMarker(
            run_id=self.run_id,
            pid=os.getpid(),
            host=socket.gethostname(),
            started_at=self._started_at,
            kept=kept,
        )
        self.marker.write_text(marker.model_dump_json(), encoding="utf-8")

    def keep(self) -> None:
        """Mark the directory as kept on purpose, so the next run does not clean it as a crash's
        leftover."""
        if self._created and self.marker.is_file():
            with contextlib.suppress(OSError):
                self._write_marker(kept=True)

    def remove(self) -> None:
        """Delete the run directory this object created, and the root if now empty."""
        if not self._created:
            return
        if self.run_dir.is_dir() and (self.marker.is_file() or not any(self.run_dir.iterdir())):
            shutil.rmtree(self.run_dir, ignore_errors=True)
        with contextlib.suppress(OSError):  # other runs' directories, or already gone
            self.volume.scratch_root.rmdir()

    def __enter__(self) -> ScratchSpace:
        return self.create()

    def __exit__(self, *_exc: object) -> None:
        self.remove()
