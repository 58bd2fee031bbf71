"""What pytest-qlab knows about the drive behind a volume: identity, bus, health, temperature.

Every field may be unknown (None, or "unknown"): a value is only ever set from something a
program or the kernel said, and `notes` say what could not be read and why. A rental house needs
the serial number; production needs the one-line `summary()`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pytest_qlab.core.units import format_bytes

Bus = Literal["apple-fabric", "pcie", "thunderbolt", "usb", "sata", "nvme", "virtual", "unknown"]
SmartHealth = Literal["passed", "failed", "unsupported", "unknown"]

BUS_NAMES: dict[str, str] = {
    "apple-fabric": "Apple Fabric",
    "pcie": "PCIe",
    "thunderbolt": "Thunderbolt",
    "usb": "USB",
    "sata": "SATA",
    "nvme": "NVMe",
    "virtual": "virtual disk",
    "unknown": "bus unknown",
}
FILESYSTEM_NAMES: dict[str, str] = {
    "apfs": "APFS",
    "hfs": "Mac OS Extended",
    "exfat": "exFAT",
    "msdos": "FAT",
    "vfat": "FAT",
    "ntfs": "NTFS",
    "ntfs3": "NTFS",
    "tmpfs": "tmpfs",
}


class DriveInfo(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    platform: str | None = None
    """The backend that filled this in: "darwin" or "linux"."""
    mount_point: Path | None = None
    volume_name: str | None = None
    volume_uuid: str | None = None
    """The filesystem's UUID: the drive history's key when the drive names no serial."""
    filesystem: str | None = None
    """Lower-case type as the OS names it: "apfs", "exfat", "msdos", "ext4", "tmpfs"."""
    device: str | None = None
    """The volume's device: "/dev/disk4s2", "/dev/nvme0n1p2"."""
    whole_disk: str | None = None
    """The physical disk holding it: "/dev/disk4", "/dev/nvme0n1"."""
    model: str | None = None
    serial: str | None = None
    firmware: str | None = None
    capacity_bytes: int | None = Field(default=None, ge=0)
    """Size of the volume (of the APFS container on macOS)."""
    free_bytes: int | None = Field(default=None, ge=0)
    disk_size_bytes: int | None = Field(default=None, ge=0)
    """Size of the whole physical disk, as its maker labels it."""
    bus: Bus = "unknown"
    internal: bool | None = None
    solid_state: bool | None = None
    smart_health: SmartHealth = "unknown"
    temperature_sensor: str | None = None
    """Where the temperature was read, "kind:location": "smartctl:/dev/disk0",
    "hwmon:/sys/class/nvme/nvme0/hwmon2/temp1_input". A thermal monitor can poll the same."""
    temperature_c: float | None = None
    temperature_warning_c: float | None = None
    """The drive's own warning limit (NVMe WCTEMP, ATA operating maximum)."""
    temperature_critical_c: float | None = None
    """The drive's own critical limit (NVMe CCTEMP)."""
    warning_temp_time_min: int | None = Field(default=None, ge=0)
    """NVMe lifetime minutes above the warning limit."""
    critical_comp_time_min: int | None = Field(default=None, ge=0)
    """NVMe lifetime minutes above the critical limit."""
    thermal_transitions: int | None = Field(default=None, ge=0)
    """NVMe host-controlled thermal management: times the drive throttled (TMT1 + TMT2)."""
    thermal_throttle_time_s: int | None = Field(default=None, ge=0)
    """NVMe host-controlled thermal management: total seconds spent throttled."""
    notes: list[str] = Field(default_factory=list)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def fill_space(self, path: Path) -> None:
        """Free bytes, and the capacity where no better source gave one, from the filesystem
        holding `path`; both stay as they were when it cannot be read."""
        try:
            stats = os.statvfs(path)
        except OSError:
            return
        self.free_bytes = stats.f_bavail * stats.f_frsize
        if self.capacity_bytes is None:
            self.capacity_bytes = stats.f_blocks * stats.f_frsize

    @property
    def used_fraction(self) -> float | None:
        if self.capacity_bytes is None or self.free_bytes is None or self.capacity_bytes == 0:
            return None
        return 1 - self.free_bytes / self.capacity_bytes

    def filesystem_label(self) -> str:
        if self.filesystem is None:
            return "filesystem unknown"
        return FILESYSTEM_NAMES.get(self.filesystem, self.filesystem)

    def temperature_label(self) -> str:
        if self.temperature_c is None:
            return "temperature unknown"
        return f"{self.temperature_c:.0f} °C"

    def summary(self) -> str:
        """One line for a header or a mail: "Samsung PSSD T7, USB, exFAT, firmware X, serial Y,
        41 °C, SMART passed", saying "unknown" for what could not be read."""
        parts = [
            self.model or "model unknown",
            BUS_NAMES[self.bus],
            self.filesystem_label(),
            f"firmware {self.firmware or 'unknown'}",
            f"serial {self.serial or 'unknown'}",
            self.temperature_label(),
            f"SMART {self.smart_health}",
        ]
        return ", ".join(parts)

    def metadata(self) -> dict[str, str]:
        """Label -> text, for pytest-metadata (the HTML environment table) and the terminal."""
        capacity = "unknown"
        if self.capacity_bytes is not None and self.free_bytes is not None:
            capacity = (
                f"{format_bytes(self.free_bytes)} free of {format_bytes(self.capacity_bytes)}"
            )
        location = {True: "internal", False: "external", None: "unknown"}[self.internal]
        medium = {True: "solid state", False: "rotational", None: "unknown"}[self.solid_state]
        limits = [
            f"{label} {value:.0f} °C"
            for label, value in (
                ("warning", self.temperature_warning_c),
                ("critical", self.temperature_critical_c),
            )
            if value is not None
        ]
        temperature = self.temperature_label()
        if limits:
            temperature += f" ({', '.join(limits)})"
        return {
            "Drive": self.summary(),
            "Drive model": self.model or "unknown",
            "Drive serial": self.serial or "unknown",
            "Drive firmware": self.firmware or "unknown",
            "Drive bus": f"{BUS_NAMES[self.bus]}, {location}, {medium}",
            "Drive device": f"{self.device or 'unknown'} on {self.whole_disk or 'unknown'}",
            "Volume": f"{self.volume_name or 'unknown'} at {self.mount_point or 'unknown'}, "
            f"{self.filesystem_label()}, {capacity}",
            "Drive temperature": temperature,
            "Drive SMART": self.smart_health,
        }
