"""The drive behind a host's volume, read with that host's own tools over SSH: diskutil,
system_profiler and smartctl on a Mac (the same backend as locally, through the SSH runner),
lsblk and smartctl on Linux."""

from __future__ import annotations

from pathlib import Path

from pytest_qlab.drive.linux import LSBLK_COLUMNS, LSBLK_TIMEOUT_S, TRANSPORTS, parse_lsblk
from pytest_qlab.drive.macos import probe_macos
from pytest_qlab.drive.model import DriveInfo
from pytest_qlab.drive.smartctl import read_smartctl
from pytest_qlab.fleet.preflight import VolumeFacts
from pytest_qlab.fleet.ssh import SshHost


def probe_host_drive(ssh: SshHost, facts: VolumeFacts) -> DriveInfo:
    """Unknown parts are said to be unknown; the free space, and the size where the drive's
    tools gave none, are the host's own df figures."""
    mount_point = Path(str(facts.mount_point))
    if facts.platform == "Darwin":
        drive = probe_macos(mount_point, ssh.run)
    elif facts.platform == "Linux":
        drive = _probe_linux(ssh, facts)
    else:
        drive = DriveInfo(platform=facts.platform.lower() or None)
        drive.note(f"drive identity is read on macOS and Linux hosts, not on {facts.platform!r}")
    drive.mount_point = mount_point
    drive.free_bytes = facts.free_bytes
    drive.capacity_bytes = drive.capacity_bytes or facts.size_bytes
    drive.filesystem = drive.filesystem or facts.filesystem
    return drive


def _probe_linux(ssh: SshHost, facts: VolumeFacts) -> DriveInfo:
    drive = DriveInfo(platform="linux")
    source = facts.filesystem_source
    if not source.startswith("/dev/"):
        drive.filesystem = _filesystem(ssh, facts)
        drive.bus = "unknown"
        drive.smart_health = "unsupported"
        drive.note(f"{source} is not a local block device: no drive identity or SMART data")
        return drive
    drive.device = source
    parent = ssh.run(["lsblk", "-n", "-o", "PKNAME", source], LSBLK_TIMEOUT_S)
    disk = (parent.stdout.strip().splitlines() or [""])[0].strip() if parent.ok else ""
    disk_device = f"/dev/{disk}" if disk else source
    drive.whole_disk = disk_device
    listed = ssh.run(["lsblk", "-J", "-b", "-o", LSBLK_COLUMNS, disk_device], LSBLK_TIMEOUT_S)
    devices = parse_lsblk(listed.stdout) if listed.ok else []
    if not devices:
        drive.note(f"lsblk could not describe {disk_device} ({listed.describe()})")
    for device in devices:
        drive.model = drive.model or device.model
        drive.serial = drive.serial or device.serial
        drive.firmware = drive.firmware or device.rev
        drive.disk_size_bytes = drive.disk_size_bytes or device.size_bytes
        if device.rota is not None:
            drive.solid_state = not device.rota
        if device.tran is not None:
            drive.bus = TRANSPORTS.get(device.tran, "unknown")
        elif device.name.startswith("loop"):
            drive.bus = "virtual"
        volume = device.find(Path(source).name)
        if volume is not None:
            drive.volume_name = volume.label
            drive.volume_uuid = volume.uuid
            drive.filesystem = volume.fstype
    if drive.bus == "virtual":
        drive.smart_health = "unsupported"
        drive.note("a virtual disk has no SMART data or temperature of its own")
        return drive
    report = read_smartctl(drive, ssh.run, disk_device, "apt install smartmontools on that host")
    if report is not None:
        drive.model = report.model or drive.model
        drive.serial = report.serial or drive.serial
        drive.firmware = report.firmware or drive.firmware
    return drive


def _filesystem(ssh: SshHost, facts: VolumeFacts) -> str | None:
    found = ssh.run(["stat", "-f", "-c", "%T", str(facts.path)], LSBLK_TIMEOUT_S)
    return found.stdout.strip() or None if found.ok else None
