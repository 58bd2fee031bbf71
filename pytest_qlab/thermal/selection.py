"""Which thermal source to poll for a drive, in order of preference per platform; the first
that gives a reading wins, and when none does, the reasons of all of them become one sentence.

Linux: the drive's hwmon file (no root, a file read), then smartctl (a process, root).
macOS: smartctl (the drive's own temperature), then the machine's thermal pressure level
(powermetrics first when root, as it names levels and cannot be fooled by an unposted
notification; notifyutil otherwise), then `pmset -g therm`'s CPU speed limit.
A virtual disk or a filesystem without a drive has no temperature: nothing is run for it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pytest_qlab.drive import commands
from pytest_qlab.drive.commands import Runner
from pytest_qlab.drive.model import DriveInfo
from pytest_qlab.thermal.backend import ThermalBackend
from pytest_qlab.thermal.drive_sensors import HwmonBackend, SmartctlBackend
from pytest_qlab.thermal.macos import (
    PmsetThermBackend,
    PowermetricsBackend,
    ThermalPressureBackend,
)

INSTALL_HINTS = {"darwin": "brew install smartmontools", "linux": "apt install smartmontools"}
_VIRTUAL_WORDS = ("virtual", "no drive of its own", "network filesystem")


@dataclass(frozen=True)
class Selection:
    backend: ThermalBackend | None
    temperature_reason: str | None = None
    """Why the drive temperature cannot be read; None when `backend` reads it."""
    unavailable_reason: str | None = None
    """Why nothing at all can be read; None when there is a `backend`."""


def select_backend(
    drive: DriveInfo,
    *,
    platform: str | None = None,
    run: Runner = commands.run,
    is_root: bool | None = None,
) -> Selection:
    """Try each source once (this runs smartctl/notifyutil/... now) and keep the first that
    reads. `platform` overrides the drive's ("darwin", "linux"); `is_root` overrides geteuid."""
    chosen = platform or drive.platform or sys.platform
    root = is_root if is_root is not None else _is_root()
    drive_sources, problems = _drive_sources(drive, chosen, run)
    for backend in drive_sources:
        if backend.read() is not None:
            return Selection(backend)
        problems.append(backend.problem or f"{backend.name} gave no reading")
    temperature_reason = "; ".join(problems)
    system_problems: list[str] = []
    for backend in _system_sources(chosen, run, root):
        if backend.read() is not None:
            return Selection(backend, temperature_reason=temperature_reason)
        system_problems.append(backend.problem or f"{backend.name} gave no reading")
    reasons = "; ".join([temperature_reason, *system_problems])
    return Selection(None, temperature_reason=temperature_reason, unavailable_reason=reasons)


def _drive_sources(
    drive: DriveInfo, platform: str, run: Runner
) -> tuple[list[ThermalBackend], list[str]]:
    """The drive's own sensors to try, and why others were not tried."""
    if platform != "darwin" and not platform.startswith("linux"):
        return [], [f"temperatures are read on macOS and Linux only, not on {platform!r}"]
    where = drive.whole_disk or drive.device or str(drive.mount_point or "the volume")
    if drive.bus == "virtual" or (drive.whole_disk is None and _virtual_note(drive)):
        note = _virtual_note(drive) or "a virtual disk"
        return [], [f"{where} has no temperature sensor of its own ({note})"]
    sources: list[ThermalBackend] = []
    problems: list[str] = []
    kind, _, location = (drive.temperature_sensor or "").partition(":")
    warning_c, critical_c = drive.temperature_warning_c, drive.temperature_critical_c
    if kind == "hwmon":
        sources.append(HwmonBackend(Path(location), warning_c=warning_c, critical_c=critical_c))
    elif platform.startswith("linux"):
        problems.append(f"no hwmon temperature sensor under {where}")
    device = location if kind == "smartctl" else drive.whole_disk
    if device is None:
        problems.append("the drive's whole disk is unknown, so smartctl has nothing to read")
    else:
        hint = INSTALL_HINTS.get("linux" if platform.startswith("linux") else platform, "")
        sources.append(
            SmartctlBackend(
                device, run=run, install_hint=hint, warning_c=warning_c, critical_c=critical_c
            )
        )
    return sources, problems


def _system_sources(platform: str, run: Runner, root: bool) -> list[ThermalBackend]:
    """The machine's thermal state, where the platform publishes one (macOS)."""
    if platform != "darwin":
        return []
    pressure: list[ThermalBackend] = [ThermalPressureBackend(run)]
    if root:
        pressure.insert(0, PowermetricsBackend(run))
    return [*pressure, PmsetThermBackend(run)]


def _virtual_note(drive: DriveInfo) -> str | None:
    return next((note for note in drive.notes if any(w in note for w in _VIRTUAL_WORDS)), None)


def _is_root() -> bool:
    geteuid: Callable[[], int] | None = getattr(os, "geteuid", None)
    return geteuid is not None and geteuid() == 0
