"""macOS backend: diskutil for the volume and its whole disk, system_profiler and smartctl for
model, serial, firmware, health and temperature.

Traps handled here (see tests/fixtures/macos): an APFS volume reports `FreeSpace` 0 and an empty
`MediaName` (its disk is a synthesized container; the physical disk is behind
`APFSPhysicalStores`); a missing `SolidState` key means unknown, not spinning; USB enclosures say
`SMARTStatus` = "Not Supported"; Thunderbolt drives say "PCI-Express" with `Internal` false.
The plain-text `diskutil info` is localized, so only `-plist` is read.
"""

from __future__ import annotations

import json
import plistlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.parsers.expat import ExpatError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pytest_qlab.drive import commands
from pytest_qlab.drive.commands import Runner
from pytest_qlab.drive.model import Bus, DriveInfo, SmartHealth
from pytest_qlab.drive.smartctl import read_smartctl
from pytest_qlab.drive.values import clean_text
from pytest_qlab.safety.volume import mount_point_of

DISKUTIL_TIMEOUT_S = 15.0
SYSTEM_PROFILER_TIMEOUT_S = 30.0
"""system_profiler can take a few seconds on a Mac with many devices."""

_SLICE = re.compile(r"^(disk\d+)s\d+$")
SMART_STATUS: dict[str, SmartHealth] = {
    "verified": "passed",
    "failing": "failed",
    "not supported": "unsupported",
}


class DiskutilParseError(ValueError):
    """Output that is not `diskutil info -plist`'s dictionary."""


class DiskutilInfo(BaseModel):
    """The keys of `diskutil info -plist` that pytest-qlab reads; empty strings read as None."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)

    device_identifier: str | None = Field(default=None, alias="DeviceIdentifier")
    device_node: str | None = Field(default=None, alias="DeviceNode")
    whole_disk: bool | None = Field(default=None, alias="WholeDisk")
    parent_whole_disk: str | None = Field(default=None, alias="ParentWholeDisk")
    apfs_physical_stores: tuple[str, ...] = Field(default=(), alias="APFSPhysicalStores")
    apfs_container_free: int | None = Field(default=None, alias="APFSContainerFree")
    bus_protocol: str | None = Field(default=None, alias="BusProtocol")
    internal: bool | None = Field(default=None, alias="Internal")
    solid_state: bool | None = Field(default=None, alias="SolidState")
    smart_status: str | None = Field(default=None, alias="SMARTStatus")
    media_name: str | None = Field(default=None, alias="MediaName")
    volume_name: str | None = Field(default=None, alias="VolumeName")
    volume_uuid: str | None = Field(default=None, alias="VolumeUUID")
    mount_point: str | None = Field(default=None, alias="MountPoint")
    filesystem_type: str | None = Field(default=None, alias="FilesystemType")
    free_space: int | None = Field(default=None, alias="FreeSpace")
    total_size: int | None = Field(default=None, alias="TotalSize")
    size: int | None = Field(default=None, alias="Size")

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_unknown(cls, value: Any) -> Any:
        if isinstance(value, str):
            return value.strip() or None
        return value

    @field_validator("apfs_physical_stores", mode="before")
    @classmethod
    def _store_names(cls, value: Any) -> Any:
        # [{"APFSPhysicalStore": "disk0s2"}, ...] -> ("disk0s2", ...)
        if isinstance(value, list):
            return tuple(
                item["APFSPhysicalStore"]
                for item in value
                if isinstance(item, dict) and isinstance(item.get("APFSPhysicalStore"), str)
            )
        return value

    @property
    def smart_health(self) -> SmartHealth:
        return smart_health_of(self.smart_status)


def parse_diskutil_info(text: str | bytes) -> DiskutilInfo:
    data = text.encode("utf-8") if isinstance(text, str) else text
    try:
        document = plistlib.loads(data)
    except (plistlib.InvalidFileException, ExpatError, ValueError) as exc:
        raise DiskutilParseError(f"not a diskutil -plist document ({exc})") from None
    if not isinstance(document, dict):
        raise DiskutilParseError("diskutil -plist printed no dictionary")
    try:
        return DiskutilInfo.model_validate(document)
    except ValidationError as exc:
        raise DiskutilParseError(f"unexpected diskutil values: {exc}") from None


def smart_health_of(status: str | None) -> SmartHealth:
    """diskutil's SMARTStatus: "Verified", "Failing", "Not Supported"."""
    if status is None:
        return "unknown"
    return SMART_STATUS.get(status.lower(), "unknown")


def bus_of(protocol: str | None, internal: bool | None) -> tuple[Bus, str | None]:
    """diskutil's BusProtocol (+ Internal) -> bus, and a note when the answer is partial."""
    if protocol is None:
        return "unknown", "diskutil reports no bus protocol"
    name = protocol.lower()
    if name == "apple fabric":
        return "apple-fabric", None
    if name in ("pci-express", "pci", "pcie"):
        # Thunderbolt tunnels PCIe: diskutil says "PCI-Express" for both, only Internal differs.
        if internal is False:
            return "thunderbolt", None
        if internal is True:
            return "pcie", None
        return "pcie", "diskutil says PCI-Express without saying internal or external"
    if name == "thunderbolt":
        return "thunderbolt", None
    if name == "usb":
        return "usb", None
    if name == "sata":
        return "sata", None
    if name in ("nvme", "nvmexpress"):
        return "nvme", None
    if name == "disk image":
        return "virtual", None
    return "unknown", f"diskutil bus protocol {protocol!r} has no category here"


def whole_disk_identifier(info: DiskutilInfo) -> str | None:
    """The physical disk behind a volume. For APFS that is the first physical store's disk:
    `ParentWholeDisk` names the synthesized container, which has no model."""
    if info.apfs_physical_stores:
        store = info.apfs_physical_stores[0]
        match = _SLICE.match(store)
        return match.group(1) if match else store
    if info.whole_disk:
        return info.device_identifier
    return info.parent_whole_disk


@dataclass(frozen=True)
class ProfilerDrive:
    """One drive of system_profiler's SPNVMeDataType."""

    bsd_name: str | None
    model: str | None
    serial: str | None
    firmware: str | None
    size_bytes: int | None
    smart_status: str | None


@dataclass(frozen=True)
class ProfilerVolume:
    """One volume of system_profiler's SPStorageDataType, with its physical drive."""

    bsd_name: str | None
    mount_point: str | None
    file_system: str | None
    device_name: str | None
    medium_type: str | None
    """"ssd" or "rotational"."""
    protocol: str | None
    internal: bool | None


@dataclass(frozen=True)
class SystemProfile:
    drives: tuple[ProfilerDrive, ...]
    volumes: tuple[ProfilerVolume, ...]

    def drive(self, bsd_name: str | None) -> ProfilerDrive | None:
        return next((d for d in self.drives if bsd_name and d.bsd_name == bsd_name), None)

    def volume(self, mount_point: str | None) -> ProfilerVolume | None:
        return next((v for v in self.volumes if mount_point and v.mount_point == mount_point), None)


def parse_system_profiler(text: str) -> SystemProfile:
    """`system_profiler SPNVMeDataType SPStorageDataType -json`; unknown shapes read as empty."""
    try:
        document = json.loads(text)
    except ValueError:
        return SystemProfile((), ())
    if not isinstance(document, dict):
        return SystemProfile((), ())
    drives = []
    for controller in _dicts(document.get("SPNVMeDataType")):
        for item in _dicts(controller.get("_items")):
            drives.append(
                ProfilerDrive(
                    bsd_name=clean_text(item.get("bsd_name")),
                    model=clean_text(item.get("device_model")) or clean_text(item.get("_name")),
                    serial=clean_text(item.get("device_serial")),
                    firmware=clean_text(item.get("device_revision")),
                    size_bytes=item.get("size_in_bytes")
                    if isinstance(item.get("size_in_bytes"), int)
                    else None,
                    smart_status=clean_text(item.get("smart_status")),
                )
            )
    volumes = []
    for item in _dicts(document.get("SPStorageDataType")):
        physical = item.get("physical_drive")
        physical = physical if isinstance(physical, dict) else {}
        volumes.append(
            ProfilerVolume(
                bsd_name=clean_text(item.get("bsd_name")),
                mount_point=clean_text(item.get("mount_point")),
                file_system=clean_text(item.get("file_system")),
                device_name=clean_text(physical.get("device_name")),
                medium_type=clean_text(physical.get("medium_type")),
                protocol=clean_text(physical.get("protocol")),
                internal=_yes_no(physical.get("is_internal_disk")),
            )
        )
    return SystemProfile(tuple(drives), tuple(volumes))


def probe_macos(path: Path, run: Runner = commands.run) -> DriveInfo:
    """Identity, bus, health and temperature of the drive holding `path`, from diskutil,
    system_profiler and smartctl (when installed)."""
    drive = DriveInfo(platform="darwin")
    sources: dict[str, str] = {}
    target = mount_point_of(path) if path.exists() else path
    volume = _diskutil(run, str(target), drive)
    if volume is None:
        drive.mount_point = target
        drive.fill_space(path)
        _explain_unknowns(drive)
        return drive
    _apply_volume(drive, volume)
    whole_id = whole_disk_identifier(volume)
    if len(volume.apfs_physical_stores) > 1:
        stores = ", ".join(volume.apfs_physical_stores)
        drive.note(
            f"the APFS container spans several disks ({stores}); identity is of the first one's"
        )
    disk = volume
    if whole_id is not None and whole_id != volume.device_identifier:
        disk = _diskutil(run, whole_id, drive) or volume
    _apply_whole_disk(drive, disk, volume, whole_id, sources)
    if drive.free_bytes is None:
        drive.fill_space(path)

    profiled = run(
        ["system_profiler", "SPNVMeDataType", "SPStorageDataType", "-json"],
        SYSTEM_PROFILER_TIMEOUT_S,
    )
    if profiled.ok:
        _apply_profile(drive, parse_system_profiler(profiled.stdout), whole_id, volume, sources)
    else:
        drive.note(f"system_profiler could not be read ({profiled.describe()})")

    if whole_id is not None:
        _apply_smartctl(drive, run, f"/dev/{whole_id}", sources)
    _explain_unknowns(drive)
    return drive


def _diskutil(run: Runner, target: str, drive: DriveInfo) -> DiskutilInfo | None:
    result = run(["diskutil", "info", "-plist", target], DISKUTIL_TIMEOUT_S)
    if not result.ok:
        drive.note(f"diskutil info {target} failed ({result.describe()})")
        return None
    try:
        return parse_diskutil_info(result.stdout)
    except DiskutilParseError as exc:
        drive.note(f"diskutil info {target}: {exc}")
        return None


def _apply_volume(drive: DriveInfo, volume: DiskutilInfo) -> None:
    if volume.mount_point is not None:
        drive.mount_point = Path(volume.mount_point)
    drive.volume_name = volume.volume_name
    drive.volume_uuid = volume.volume_uuid
    drive.filesystem = volume.filesystem_type.lower() if volume.filesystem_type else None
    if volume.device_node is not None:
        drive.device = volume.device_node
    elif volume.device_identifier is not None:
        drive.device = f"/dev/{volume.device_identifier}"
    drive.capacity_bytes = volume.total_size if volume.total_size is not None else volume.size
    if volume.free_space:
        drive.free_bytes = volume.free_space
    elif volume.apfs_container_free is not None:
        # FreeSpace is 0 for APFS volumes: their volumes share the container's free space.
        drive.free_bytes = volume.apfs_container_free
        drive.note("free space is the APFS container's (diskutil reports FreeSpace 0 for APFS)")


def _apply_whole_disk(
    drive: DriveInfo,
    disk: DiskutilInfo,
    volume: DiskutilInfo,
    whole_id: str | None,
    sources: dict[str, str],
) -> None:
    if whole_id is not None:
        drive.whole_disk = f"/dev/{whole_id}"
    else:
        drive.note("diskutil names no whole disk for this volume")
    if disk is not volume or volume.whole_disk:
        drive.disk_size_bytes = disk.size if disk.size is not None else disk.total_size
    _set_identity(drive, "model", disk.media_name, "diskutil", sources)
    internal = disk.internal if disk.internal is not None else volume.internal
    drive.internal = internal
    drive.bus, bus_note = bus_of(disk.bus_protocol or volume.bus_protocol, internal)
    if bus_note:
        drive.note(bus_note)
    drive.solid_state = disk.solid_state if disk.solid_state is not None else volume.solid_state
    status = disk.smart_status or volume.smart_status
    drive.smart_health = smart_health_of(status)
    if drive.smart_health == "unsupported":
        drive.note(
            "diskutil: SMART Not Supported (USB enclosures usually pass no SMART data through)"
        )


def _apply_profile(
    drive: DriveInfo,
    profile: SystemProfile,
    whole_id: str | None,
    volume: DiskutilInfo,
    sources: dict[str, str],
) -> None:
    nvme = profile.drive(whole_id)
    if nvme is not None:
        _set_identity(drive, "model", nvme.model, "system_profiler", sources)
        _set_identity(drive, "serial", nvme.serial, "system_profiler", sources)
        _set_identity(drive, "firmware", nvme.firmware, "system_profiler", sources)
        if drive.disk_size_bytes is None:
            drive.disk_size_bytes = nvme.size_bytes
    storage = profile.volume(volume.mount_point)
    if storage is None:
        return
    if drive.solid_state is None and storage.medium_type in ("ssd", "rotational"):
        drive.solid_state = storage.medium_type == "ssd"
    if drive.internal is None:
        drive.internal = storage.internal
    if drive.bus == "unknown" and storage.protocol is not None:
        drive.bus, _ = bus_of(storage.protocol, drive.internal)
    if drive.model is None:
        _set_identity(drive, "model", storage.device_name, "system_profiler", sources)


def _apply_smartctl(drive: DriveInfo, run: Runner, device: str, sources: dict[str, str]) -> None:
    report = read_smartctl(drive, run, device, "brew install smartmontools")
    if report is None:
        return
    _set_identity(drive, "model", report.model, "smartctl", sources)
    _set_identity(drive, "serial", report.serial, "smartctl", sources)
    _set_identity(drive, "firmware", report.firmware, "smartctl", sources)


def _set_identity(
    drive: DriveInfo, name: str, value: str | None, source: str, sources: dict[str, str]
) -> None:
    """Later sources (system_profiler, then smartctl, which read the drive's own identify data)
    replace earlier ones; a disagreement is kept as a note rather than silently dropped."""
    if value is None:
        return
    current = getattr(drive, name)
    if current is not None and current != value:
        drive.note(
            f"{sources.get(name, 'an earlier source')} gives the {name} as {current!r},"
            f" {source} as {value!r}; reporting {source}'s"
        )
    setattr(drive, name, value)
    sources[name] = source


def _explain_unknowns(drive: DriveInfo) -> None:
    if drive.model is None:
        drive.note("model unknown: diskutil gave no media name and no other source named it")
    if drive.serial is None:
        drive.note(
            "serial unknown: diskutil does not report serial numbers; system_profiler lists"
            " only NVMe drives' and smartctl did not read this drive"
        )
    if drive.solid_state is None:
        drive.note("solid state unknown: diskutil has no SolidState key for this drive")
    if drive.temperature_c is None:
        drive.note("temperature unknown: only smartctl reads a drive temperature on macOS")


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _yes_no(value: Any) -> bool | None:
    return {"yes": True, "no": False}.get(value) if isinstance(value, str) else None
