"""The drive behind a volume: identity, bus, health and temperature, on macOS and Linux.

`probe_drive` picks the backend by platform; tests override the platform (argument, or
$QLAB_PLATFORM for a whole run) and put fake diskutil/smartctl/... programs first on PATH (or
pass their own `run`).
"""

from __future__ import annotations

from pathlib import Path

from pytest_qlab.drive import commands
from pytest_qlab.drive.commands import CommandResult, Runner, current_platform
from pytest_qlab.drive.linux import probe_linux
from pytest_qlab.drive.macos import probe_macos
from pytest_qlab.drive.model import Bus, DriveInfo, SmartHealth
from pytest_qlab.safety.volume import mount_point_of

__all__ = [
    "Bus",
    "CommandResult",
    "DriveInfo",
    "Runner",
    "SmartHealth",
    "current_platform",
    "probe_drive",
]


def probe_drive(path: Path, platform: str | None = None, run: Runner = commands.run) -> DriveInfo:
    """What is known about the drive holding `path`; unknown parts are said to be unknown.
    `platform` overrides sys.platform ("darwin", "linux")."""
    chosen = platform or current_platform()
    if chosen == "darwin":
        return probe_macos(path, run)
    if chosen.startswith("linux"):
        return probe_linux(path, run)
    drive = DriveInfo(platform=chosen)
    if path.exists():
        drive.mount_point = mount_point_of(path.resolve())
    drive.note(f"drive identity is read on macOS and Linux only, not on {chosen!r}")
    return drive
