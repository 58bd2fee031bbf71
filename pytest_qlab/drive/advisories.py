"""Pre-show advisories: settings and drive states that endanger playback, each with what to do.

Following QLab's own advice for show machines (Figure 53's "Preparing your Mac"): no Spotlight
indexing and no disk sleep on the show drive, no Time Machine backups during the show; plus what
pytest-qlab reads about the drive itself (SMART, temperature, filesystem, fullness). Only
conditions that endanger playback "fail"; the rest "warn"; what cannot be checked here "skip"s
with the reason. The deciding functions are pure; `collect_advisories` runs the programs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, JsonValue

from pytest_qlab.core.rows import ReportRow
from pytest_qlab.core.units import format_bytes
from pytest_qlab.drive import commands
from pytest_qlab.drive.commands import CommandResult, Runner, current_platform
from pytest_qlab.drive.model import DriveInfo

Severity = Literal["ok", "warn", "fail", "skip"]

HOT_WITHOUT_LIMIT_C = 60.0
"""Treated as hot when the drive states no warning limit of its own."""
NEARLY_FULL_WARN_FRACTION = 0.90
NEARLY_FULL_FAIL_FRACTION = 0.98
COMMAND_TIMEOUT_S = 10.0
MACOS_ONLY = "macOS only"
ADVISORY_NAMES = (
    "spotlight",
    "disk-sleep",
    "time-machine",
    "smart",
    "temperature",
    "filesystem",
    "free-space",
)
"""Every advisory `collect_advisories` returns, in its order: one setup-check item each."""


class Advisory(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    """Stable id for test ids and the JSON report: "spotlight", "disk-sleep", ..."""
    title: str
    severity: Severity
    message: str
    """What was found and what to do about it."""

    def metadata(self) -> dict[str, JsonValue]:
        return {"advisory": self.name, "severity": self.severity, "message": self.message}

    def report_row(self) -> ReportRow:
        return ReportRow(f"{self.severity}: {self.message}", "not failing")


def parse_mdutil_status(text: str) -> bool | None:
    """`mdutil -s <volume>`: "Indexing enabled." -> True; "Indexing disabled." or
    "Indexing and searching disabled." -> False; anything else (e.g. "Error: unknown indexing
    state.") -> None."""
    if re.search(r"Indexing enabled", text, re.IGNORECASE):
        return True
    if re.search(r"Indexing (?:and searching )?disabled", text, re.IGNORECASE):
        return False
    return None


def parse_pmset_disksleep_min(text: str) -> int | None:
    """The `disksleep N` line of `pmset -g` (minutes; 0 = never)."""
    match = re.search(r"^\s*disksleep\s+(\d+)", text, re.MULTILINE)
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class TimeMachineDestination:
    name: str | None
    kind: str | None
    """"Local" or "Network"."""
    mount_point: str | None
    url: str | None
    id: str | None


def parse_tmutil_destinations(text: str) -> list[TimeMachineDestination] | None:
    """`tmutil destinationinfo`: blocks of "Key : value" lines separated by "=====" rules.
    "No destinations configured" is an empty list; output of another shape is None."""
    if re.search(r"No destinations configured", text, re.IGNORECASE):
        return []
    destinations = []
    for block in re.split(r"^=+\s*$", text, flags=re.MULTILINE):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            key, separator, value = line.partition(" : ")
            if separator:
                fields[key.strip()] = value.strip()
        if fields:
            destinations.append(
                TimeMachineDestination(
                    name=fields.get("Name"),
                    kind=fields.get("Kind"),
                    mount_point=fields.get("Mount Point"),
                    url=fields.get("URL"),
                    id=fields.get("ID"),
                )
            )
    return destinations if destinations else None


@dataclass(frozen=True)
class TimeMachineStatus:
    running: bool | None
    destination_mount_point: str | None = None
    phase: str | None = None


def parse_tmutil_status(text: str) -> TimeMachineStatus:
    """`tmutil status`: a property list in old-style text, `Running = 1;` while backing up."""
    running = re.search(r"^\s*Running\s*=\s*(\d+);", text, re.MULTILINE)
    mount = re.search(r'^\s*DestinationMountPoint\s*=\s*"?([^";]+)"?;', text, re.MULTILINE)
    phase = re.search(r"^\s*BackupPhase\s*=\s*\"?([^\";]+)\"?;", text, re.MULTILINE)
    return TimeMachineStatus(
        running=(running.group(1) != "0") if running else None,
        destination_mount_point=mount.group(1).strip() if mount else None,
        phase=phase.group(1).strip() if phase else None,
    )


def spotlight_advisory(
    indexing: bool | None, volume: str, platform: str, problem: str | None = None
) -> Advisory:
    title = "Spotlight indexing"
    if platform != "darwin":
        return Advisory(name="spotlight", title=title, severity="skip", message=MACOS_ONLY)
    if indexing is None:
        reason = problem or "mdutil did not say whether indexing is on"
        return Advisory(name="spotlight", title=title, severity="skip", message=reason)
    if indexing:
        return Advisory(
            name="spotlight",
            title=title,
            severity="warn",
            message=f"Spotlight indexes {volume}: indexing reads and writes the drive while"
            f" QLab plays from it; turn Spotlight off for the volume: sudo mdutil -i off {volume}",
        )
    return Advisory(
        name="spotlight",
        title=title,
        severity="ok",
        message=f"Spotlight indexing is off for {volume}",
    )


def disk_sleep_advisory(minutes: int | None, platform: str, problem: str | None = None) -> Advisory:
    title = "Disk sleep"
    if platform != "darwin":
        return Advisory(name="disk-sleep", title=title, severity="skip", message=MACOS_ONLY)
    if minutes is None:
        reason = problem or "pmset -g has no disksleep line"
        return Advisory(name="disk-sleep", title=title, severity="skip", message=reason)
    if minutes > 0:
        return Advisory(
            name="disk-sleep",
            title=title,
            severity="warn",
            message=f"disk sleep is on (disksleep {minutes} min): an idle drive may spin down"
            " between cues and take seconds to wake; turn it off: sudo pmset -a disksleep 0",
        )
    return Advisory(name="disk-sleep", title=title, severity="ok", message="disk sleep is off")


def time_machine_advisory(
    destinations: list[TimeMachineDestination] | None,
    status: TimeMachineStatus | None,
    mount_point: str | None,
    platform: str,
    problem: str | None = None,
) -> Advisory:
    title = "Time Machine"
    if platform != "darwin":
        return Advisory(name="time-machine", title=title, severity="skip", message=MACOS_ONLY)
    if destinations is None and (status is None or status.running is None):
        reason = problem or "tmutil gave neither its destinations nor its status"
        return Advisory(name="time-machine", title=title, severity="skip", message=reason)
    findings = []
    targeted = [d for d in destinations or [] if mount_point and d.mount_point == mount_point]
    for destination in targeted:
        remove = f"sudo tmutil removedestination {destination.id}" if destination.id else ""
        findings.append(
            f"Time Machine backs up onto this volume (destination {destination.name!r}): a backup"
            " during the show writes to the drive QLab plays from; back up to another disk"
            + (f" ({remove})" if remove else "")
        )
    if status is not None and status.running:
        onto = ""
        if mount_point and status.destination_mount_point == mount_point:
            onto = " onto this volume"
        findings.append(
            f"Time Machine is backing up right now{onto}: let it finish or stop it"
            " (tmutil stopbackup)"
        )
    if findings:
        advice = "; turn automatic backups off for the show: sudo tmutil disable"
        return Advisory(
            name="time-machine", title=title, severity="warn", message="; ".join(findings) + advice
        )
    parts = []
    if destinations is not None:
        parts.append("does not back up onto this volume")
    if status is not None and status.running is False:
        parts.append("is not backing up now")
    return Advisory(
        name="time-machine",
        title=title,
        severity="ok",
        message="Time Machine " + " and ".join(parts),
    )


def smart_advisory(drive: DriveInfo) -> Advisory:
    title = "SMART health"
    if drive.smart_health == "failed":
        return Advisory(
            name="smart",
            title=title,
            severity="fail",
            message="the drive reports SMART failing: it may lose data or stall at any time;"
            " copy the show to a healthy drive and replace this one",
        )
    if drive.smart_health == "passed":
        return Advisory(name="smart", title=title, severity="ok", message="SMART health passed")
    reason = _note_about(drive, "smart") or "no SMART data could be read"
    return Advisory(name="smart", title=title, severity="skip", message=reason)


def temperature_advisory(drive: DriveInfo) -> Advisory:
    title = "Drive temperature"
    temperature = drive.temperature_c
    if temperature is None:
        reason = _note_about(drive, "temperature") or "no temperature sensor could be read"
        return Advisory(name="temperature", title=title, severity="skip", message=reason)
    history = ""
    if drive.critical_comp_time_min:
        history = f"; it has spent {drive.critical_comp_time_min} min above its critical limit"
    elif drive.warning_temp_time_min:
        history = f"; it has spent {drive.warning_temp_time_min} min above its warning limit"
    now = f"{temperature:.0f} °C"
    critical, warning = drive.temperature_critical_c, drive.temperature_warning_c
    if critical is not None and temperature >= critical:
        return Advisory(
            name="temperature",
            title=title,
            severity="fail",
            message=f"the drive is at {now}, at or above its critical limit of {critical:.0f} °C:"
            f" it will throttle hard or shut down; cool it (airflow, out of the sun, a heatsink)"
            f" before the show{history}",
        )
    limit = warning if warning is not None else HOT_WITHOUT_LIMIT_C
    if temperature >= limit:
        stated = "its warning limit" if warning is not None else "the limit used when none is known"
        return Advisory(
            name="temperature",
            title=title,
            severity="warn",
            message=f"the drive is already at {now}, at or above {stated} ({limit:.0f} °C)"
            f" before the show has started: give it airflow, a hot drive throttles{history}",
        )
    known = f" (warning at {warning:.0f} °C)" if warning is not None else ""
    return Advisory(
        name="temperature", title=title, severity="ok", message=f"{now}{known}{history}"
    )


_POOR_FILESYSTEMS = {
    "exfat": "it is an exchange format with no journal (a cable pulled mid-show can leave the"
    " volume needing repair), and macOS handles it less well than APFS",
    "msdos": "FAT32 cannot hold files over 4 GB (minutes of ProRes) and has no journal",
    "vfat": "FAT32 cannot hold files over 4 GB (minutes of ProRes) and has no journal",
    "ntfs": "macOS mounts NTFS read-only; third-party NTFS drivers cost throughput",
    "ntfs3": "macOS mounts NTFS read-only; third-party NTFS drivers cost throughput",
}


def filesystem_advisory(drive: DriveInfo, platform: str) -> Advisory:
    title = "Filesystem"
    filesystem = drive.filesystem
    if filesystem is None:
        return Advisory(
            name="filesystem", title=title, severity="skip", message="filesystem unknown"
        )
    label = drive.filesystem_label()
    reason = _POOR_FILESYSTEMS.get(filesystem)
    if reason is not None:
        return Advisory(
            name="filesystem",
            title=title,
            severity="warn",
            message=f"{label} is a poor choice for playback: {reason}; for a Mac-only show"
            " drive reformat it as APFS (Mac OS Extended for a spinning disk) after copying"
            " the media off",
        )
    if filesystem in ("apfs", "hfs"):
        return Advisory(
            name="filesystem", title=title, severity="ok", message=f"{label} suits playback"
        )
    if platform == "darwin":
        return Advisory(name="filesystem", title=title, severity="ok", message=label)
    return Advisory(
        name="filesystem",
        title=title,
        severity="skip",
        message=f"{label}: filesystem advice is for volumes QLab plays from on macOS",
    )


def free_space_advisory(drive: DriveInfo) -> Advisory:
    title = "Free space"
    used = drive.used_fraction
    if used is None or drive.free_bytes is None or drive.capacity_bytes is None:
        return Advisory(
            name="free-space", title=title, severity="skip", message="volume size unknown"
        )
    figures = (
        f"{used:.1%} full ({format_bytes(drive.free_bytes)} free of "
        f"{format_bytes(drive.capacity_bytes)})"
    )
    if used > NEARLY_FULL_FAIL_FRACTION:
        return Advisory(
            name="free-space",
            title=title,
            severity="fail",
            message=f"the volume is {figures}: a nearly full volume fragments new media and"
            " leaves no room for changes; free up space or move the show to a larger drive",
        )
    if used > NEARLY_FULL_WARN_FRACTION:
        return Advisory(
            name="free-space",
            title=title,
            severity="warn",
            message=f"the volume is {figures}: keep at least 10 % free so copies made on tour"
            " land in large contiguous pieces; free up space",
        )
    return Advisory(name="free-space", title=title, severity="ok", message=figures)


def collect_advisories(
    path: Path,
    drive: DriveInfo,
    platform: str | None = None,
    run: Runner = commands.run,
) -> list[Advisory]:
    """Every advisory for the volume holding `path`, running mdutil, pmset and tmutil on macOS."""
    chosen = platform or current_platform()
    volume = str(drive.mount_point or path)
    advisories: list[Advisory] = []
    if chosen == "darwin":
        spotlight = run(["mdutil", "-s", volume], COMMAND_TIMEOUT_S)
        advisories.append(
            spotlight_advisory(
                parse_mdutil_status(_output(spotlight)) if spotlight.ran else None,
                volume,
                chosen,
                _problem(spotlight, "mdutil did not say whether indexing is on"),
            )
        )
        power = run(["pmset", "-g"], COMMAND_TIMEOUT_S)
        advisories.append(
            disk_sleep_advisory(
                parse_pmset_disksleep_min(power.stdout) if power.ok else None,
                chosen,
                _problem(power, "pmset -g has no disksleep line"),
            )
        )
        listed = run(["tmutil", "destinationinfo"], COMMAND_TIMEOUT_S)
        state = run(["tmutil", "status"], COMMAND_TIMEOUT_S)
        advisories.append(
            time_machine_advisory(
                parse_tmutil_destinations(_output(listed)) if listed.ran else None,
                parse_tmutil_status(state.stdout) if state.ok else None,
                str(drive.mount_point) if drive.mount_point else volume,
                chosen,
                _problem(listed, "tmutil destinationinfo gave no destinations"),
            )
        )
    else:
        advisories.append(spotlight_advisory(None, volume, chosen))
        advisories.append(disk_sleep_advisory(None, chosen))
        advisories.append(time_machine_advisory(None, None, volume, chosen))
    advisories += [
        smart_advisory(drive),
        temperature_advisory(drive),
        filesystem_advisory(drive, chosen),
        free_space_advisory(drive),
    ]
    return advisories


def _output(result: CommandResult) -> str:
    # tmutil prints "No destinations configured" on stderr on some macOS versions.
    return f"{result.stdout}\n{result.stderr}"


def _problem(result: CommandResult, otherwise: str) -> str:
    return otherwise if result.ok else result.describe()


def _note_about(drive: DriveInfo, topic: str) -> str | None:
    """The drive's own explanation of why something is unknown, when it has one."""
    return next((note for note in drive.notes if topic in note.lower()), None)
