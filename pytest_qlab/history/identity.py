"""Which drive a run belongs to: its serial (with its model) where the drive names one, else its
volume's UUID, else the mount point on this host. The key's kind is always said to the user."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pytest_qlab.drive import DriveInfo

KeyKind = Literal["serial", "volume-uuid", "mount-point"]


@dataclass(frozen=True)
class DriveKey:
    kind: KeyKind
    value: str
    serial: str | None = None
    model: str | None = None
    volume_uuid: str | None = None

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.value}"

    def describe(self) -> str:
        """e.g. "serial S4EWNX0R123456", "volume UUID 1b2c...", "mount point /Volumes/Show on
        FOH-Mac"."""
        if self.kind == "serial":
            return f"serial {self.serial}"
        if self.kind == "volume-uuid":
            return f"volume UUID {self.value}"
        return f"mount point {self.value}"


def drive_key(drive: DriveInfo | None, mount_point: str, host: str) -> DriveKey:
    """A serial is the drive's own; a volume UUID changes when the drive is reformatted; a mount
    point only tells one host's volumes apart, so it carries the host."""
    serial = drive.serial if drive is not None else None
    model = drive.model if drive is not None else None
    uuid = drive.volume_uuid if drive is not None else None
    if serial:
        value = f"{model}/{serial}" if model else serial
        return DriveKey("serial", value, serial, model, uuid)
    if uuid:
        return DriveKey("volume-uuid", uuid.lower(), None, model, uuid)
    return DriveKey("mount-point", f"{mount_point} on {host}", None, model, None)
