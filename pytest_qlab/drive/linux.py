"""Linux backend: path -> st_dev -> /sys/dev/block/MAJ:MIN -> the whole disk's sysfs attributes,
lsblk for the transport, hwmon for the temperature, smartctl (as root) for health.

Filesystems without a block device of their own (tmpfs, overlay, btrfs: major 0) are looked up
in /proc/self/mountinfo: btrfs names its device there, the others are virtual. The sysfs root
and the mountinfo file are parameters, so tests can build a fake tree.
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_qlab.drive import commands
from pytest_qlab.drive.commands import Runner
from pytest_qlab.drive.model import Bus, DriveInfo
from pytest_qlab.drive.smartctl import plausible_temperature, read_smartctl
from pytest_qlab.drive.values import clean_text

SYS_ROOT = Path("/sys")
MOUNTINFO = Path("/proc/self/mountinfo")
LSBLK_COLUMNS = "KNAME,NAME,TRAN,MODEL,SERIAL,REV,ROTA,SIZE,TYPE,FSTYPE,MOUNTPOINT,LABEL,UUID"
LSBLK_TIMEOUT_S = 10.0
BLKID_TIMEOUT_S = 10.0
SECTOR_BYTES = 512
"""sysfs `size` counts 512-byte sectors whatever the drive's block size."""
MAX_STACK_DEPTH = 8
TRANSPORTS: dict[str, Bus] = {
    "usb": "usb",
    "sata": "sata",
    "ata": "sata",
    "nvme": "nvme",
    "virtio": "virtual",
}
NETWORK_FILESYSTEMS = ("nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "afs", "ceph", "fuse.sshfs")
_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")


@dataclass(frozen=True)
class MountEntry:
    """One line of /proc/self/mountinfo."""

    major: int
    minor: int
    root: str
    mount_point: str
    fstype: str
    source: str


def parse_mountinfo(text: str) -> list[MountEntry]:
    entries = []
    for line in text.splitlines():
        if " - " not in line:
            continue
        before, after = line.split(" - ", 1)
        fields, tail = before.split(), after.split()
        if len(fields) < 5 or len(tail) < 2 or ":" not in fields[2]:
            continue
        major, minor = fields[2].split(":", 1)
        entries.append(
            MountEntry(
                major=int(major),
                minor=int(minor),
                root=_unescape(fields[3]),
                mount_point=_unescape(fields[4]),
                fstype=tail[0],
                source=_unescape(tail[1]),
            )
        )
    return entries


def _unescape(text: str) -> str:
    # mountinfo writes space, tab, newline and backslash as \040, \011, \012, \134.
    return _OCTAL_ESCAPE.sub(lambda match: chr(int(match.group(1), 8)), text)


def mount_entry_for(
    path: Path, major: int, minor: int, entries: list[MountEntry]
) -> MountEntry | None:
    """The mount `path` lives on: the deepest mount point above it with the same device number
    (the last such line when mounts are stacked), else the deepest mount point at all."""

    def above(entry: MountEntry) -> bool:
        return path == Path(entry.mount_point) or Path(entry.mount_point) in path.parents

    same_device = [e for e in entries if (e.major, e.minor) == (major, minor) and above(e)]
    candidates = same_device or [e for e in entries if above(e)]
    if not candidates:
        return None
    deepest = max(len(Path(e.mount_point).parts) for e in candidates)
    return [e for e in candidates if len(Path(e.mount_point).parts) == deepest][-1]


@dataclass(frozen=True)
class HwmonReading:
    sensor: str
    """The temp*_input file: what a thermal monitor polls."""
    label: str | None
    temperature_c: float | None
    max_c: float | None
    """NVMe: the composite over-temperature threshold (WCTEMP by default)."""
    crit_c: float | None
    """NVMe: CCTEMP."""
    notes: tuple[str, ...] = ()


def read_hwmon(hwmon_dir: Path) -> HwmonReading | None:
    """The drive's main sensor ("Composite" on NVMe, else temp1) in °C, with its limits;
    placeholder values (65261.8 °C = 0xFFFF K, -273.1 °C = 0 K) are dropped with a note."""
    inputs = sorted(hwmon_dir.glob("temp*_input"), key=_sensor_index)
    if not inputs:
        return None
    labels = {path: _read(path.with_name(path.name.replace("_input", "_label"))) for path in inputs}
    chosen = next((path for path in inputs if labels[path] == "Composite"), inputs[0])
    prefix = chosen.name.removesuffix("_input")
    notes: list[str] = []

    def celsius(suffix: str) -> float | None:
        source = hwmon_dir / f"{prefix}_{suffix}"
        raw = _read_int(source)
        if raw is None:
            return None
        value = raw / 1000
        if plausible_temperature(value) is None:
            notes.append(
                f"{source} reads {value:.1f} °C, a placeholder for a value the drive does"
                " not report; ignored"
            )
            return None
        return value

    return HwmonReading(
        sensor=str(chosen),
        label=labels[chosen],
        temperature_c=celsius("input"),
        max_c=celsius("max"),
        crit_c=celsius("crit"),
        notes=tuple(notes),
    )


def _sensor_index(path: Path) -> int:
    digits = re.sub(r"\D", "", path.name)
    return int(digits) if digits else 0


def hwmon_dirs(device_dir: Path) -> list[Path]:
    """hwmon folders of a disk's device: under an NVMe controller (`nvme0/hwmon2`, or via the
    subsystem's controller links with native multipath, or `hwmon/hwmon2` under the PCI function
    on kernels before 5.10), or drivetemp's under a SATA disk's SCSI device."""
    if not device_dir.is_dir():
        return []
    device_dir = device_dir.resolve()
    anchors = [device_dir, device_dir / "device"]
    anchors += sorted(p for p in device_dir.glob("nvme[0-9]*") if p.is_dir())
    found: list[Path] = []
    for anchor in anchors:
        for pattern in ("hwmon[0-9]*", "hwmon/hwmon[0-9]*"):
            for candidate in sorted(anchor.glob(pattern)):
                if candidate.is_dir() and candidate not in found:
                    found.append(candidate)
    return found


@dataclass(frozen=True)
class LsblkDevice:
    name: str
    kname: str | None
    """The kernel's name ("dm-0") where `name` is the mapper's ("vg-show")."""
    tran: str | None
    model: str | None
    serial: str | None
    rev: str | None
    rota: bool | None
    size_bytes: int | None
    type: str | None
    fstype: str | None
    mountpoint: str | None
    label: str | None
    children: tuple[LsblkDevice, ...] = ()
    uuid: str | None = None

    def find(self, name: str) -> LsblkDevice | None:
        if name in (self.name, self.kname):
            return self
        for child in self.children:
            found = child.find(name)
            if found is not None:
                return found
        return None


def parse_lsblk(text: str) -> list[LsblkDevice]:
    """`lsblk -J -b -o ...` (values are JSON booleans/numbers on util-linux 2.37+, strings on
    older ones); unreadable output is an empty list."""
    try:
        document = json.loads(text)
    except ValueError:
        return []
    devices = document.get("blockdevices") if isinstance(document, dict) else None
    if not isinstance(devices, list):
        return []
    return [_lsblk_device(item) for item in devices if isinstance(item, dict)]


def _lsblk_device(item: dict[str, Any]) -> LsblkDevice:
    children = item.get("children")
    return LsblkDevice(
        name=str(item.get("name", "")),
        kname=clean_text(item.get("kname")),
        tran=clean_text(item.get("tran")),
        model=clean_text(item.get("model")),
        serial=clean_text(item.get("serial")),
        rev=clean_text(item.get("rev")),
        rota=_flag(item.get("rota")),
        size_bytes=_number(item.get("size")),
        type=clean_text(item.get("type")),
        fstype=clean_text(item.get("fstype")),
        mountpoint=clean_text(item.get("mountpoint")),
        label=clean_text(item.get("label")),
        uuid=clean_text(item.get("uuid")),
        children=tuple(
            _lsblk_device(child)
            for child in (children if isinstance(children, list) else [])
            if isinstance(child, dict)
        ),
    )


def _blkid_uuid(run: Runner, device: str) -> str | None:
    """lsblk reads a filesystem's UUID from udev's database, which containers and minimal
    systems lack; blkid reads it from the filesystem itself where the device is readable. The
    UUID is the drive history's key for a drive that names no serial."""
    found = run(["blkid", "-s", "UUID", "-o", "value", device], BLKID_TIMEOUT_S)
    return clean_text(found.stdout) if found.ok else None


@dataclass
class _BlockDevice:
    dev_dir: Path
    disk_dir: Path
    notes: list[str] = field(default_factory=list)


def probe_linux(
    path: Path,
    run: Runner = commands.run,
    *,
    sys_root: Path = SYS_ROOT,
    mountinfo: Path = MOUNTINFO,
    device_number: tuple[int, int] | None = None,
) -> DriveInfo:
    """Identity, bus, health and temperature of the drive holding `path`. `device_number`
    replaces os.stat's (major, minor), for tests with a fake sysfs tree."""
    drive = DriveInfo(platform="linux")
    resolved = path.resolve()
    try:
        st_dev = os.stat(resolved).st_dev
    except OSError as exc:
        drive.note(f"cannot stat {path}: {exc.strerror}")
        return drive
    major, minor = device_number or (os.major(st_dev), os.minor(st_dev))
    drive.fill_space(resolved)

    try:
        mounts = parse_mountinfo(mountinfo.read_text(encoding="utf-8", errors="replace"))
    except OSError as exc:
        mounts = []
        drive.note(f"cannot read {mountinfo}: {exc.strerror}")
    mount = mount_entry_for(resolved, major, minor, mounts)
    if mount is not None:
        drive.mount_point = Path(mount.mount_point)
        drive.filesystem = mount.fstype
        if mount.source.startswith("/dev/"):
            drive.device = mount.source

    if major == 0:
        number = _device_behind(mount)
        if number is None:
            _virtual_filesystem(drive, mount)
            return drive
        major, minor = number

    block = _resolve_block(sys_root, major, minor)
    if block is None:
        drive.note(f"no block device {major}:{minor} in {sys_root}/dev/block")
        return drive
    for note in block.notes:
        drive.note(note)
    if drive.device is None:
        drive.device = f"/dev/{block.dev_dir.name}"
    disk_name = block.disk_dir.name
    drive.whole_disk = f"/dev/{disk_name}"
    _read_sysfs_identity(drive, block.disk_dir)

    listed = run(["lsblk", "-J", "-b", "-o", LSBLK_COLUMNS, f"/dev/{disk_name}"], LSBLK_TIMEOUT_S)
    lsblk_disk = None
    if listed.ok:
        for device in parse_lsblk(listed.stdout):
            lsblk_disk = lsblk_disk or device.find(disk_name)
    else:
        drive.note(f"lsblk could not describe /dev/{disk_name} ({listed.describe()})")
    if lsblk_disk is not None:
        drive.model = drive.model or lsblk_disk.model
        drive.serial = drive.serial or lsblk_disk.serial
        drive.firmware = drive.firmware or lsblk_disk.rev
        volume = lsblk_disk.find(block.dev_dir.name)
        if volume is not None:
            drive.volume_name = volume.label
            drive.volume_uuid = volume.uuid
            drive.filesystem = drive.filesystem or volume.fstype

    if drive.volume_uuid is None:
        drive.volume_uuid = _blkid_uuid(run, drive.device)

    _decide_bus(drive, block.disk_dir, lsblk_disk.tran if lsblk_disk else None, sys_root)
    _decide_solid_state(drive, block.disk_dir)
    if drive.bus == "virtual":
        drive.smart_health = "unsupported"
        drive.note("a virtual disk has no SMART data or temperature of its own")
    else:
        _apply_smartctl(drive, run, f"/dev/{disk_name}")
    _apply_hwmon(drive, hwmon_dirs(block.disk_dir / "device"))
    _explain_unknowns(drive)
    return drive


def _device_behind(mount: MountEntry | None) -> tuple[int, int] | None:
    """btrfs (and some FUSE mounts) name a real block device as their source."""
    if mount is None or not mount.source.startswith("/dev/"):
        return None
    try:
        info = os.stat(mount.source)
    except OSError:
        return None
    if not stat.S_ISBLK(info.st_mode) or os.major(info.st_rdev) == 0:
        return None
    return os.major(info.st_rdev), os.minor(info.st_rdev)


def _virtual_filesystem(drive: DriveInfo, mount: MountEntry | None) -> None:
    drive.smart_health = "unsupported"
    if mount is None:
        drive.bus = "virtual"
        drive.note("no block device and no mountinfo entry for this path: a virtual filesystem")
        return
    what = f"{mount.fstype} ({mount.source})"
    if mount.fstype in NETWORK_FILESYSTEMS:
        drive.note(f"{drive.mount_point} is a network filesystem, {what}: its drive is elsewhere")
        return
    drive.bus = "virtual"
    drive.note(
        f"{drive.mount_point} is {what}, a filesystem with no drive of its own"
        " (so no SMART data or temperature)"
    )


def _resolve_block(sys_root: Path, major: int, minor: int) -> _BlockDevice | None:
    link = sys_root / "dev" / "block" / f"{major}:{minor}"
    if not link.exists():
        return None
    dev_dir = link.resolve()
    notes = []
    # device-mapper (LVM, LUKS) and md RAID sit on other block devices: follow them down.
    current = dev_dir
    for _ in range(MAX_STACK_DEPTH):
        slaves = sorted((current / "slaves").glob("*")) if (current / "slaves").is_dir() else []
        if not slaves or (current / "partition").exists():
            break
        if len(slaves) > 1:
            names = ", ".join(slave.name for slave in slaves)
            notes.append(f"{current.name} spans {names}; identity is of {slaves[0].name}")
        else:
            notes.append(f"{current.name} is a mapped device on {slaves[0].name}")
        current = slaves[0].resolve()
    disk_dir = current.parent if (current / "partition").exists() else current
    return _BlockDevice(dev_dir=dev_dir, disk_dir=disk_dir, notes=notes)


def _read_sysfs_identity(drive: DriveInfo, disk_dir: Path) -> None:
    device_dir = disk_dir / "device"
    model = _read(device_dir / "model")
    vendor = _read(device_dir / "vendor")
    # SCSI vendor strings: "ATA" for any SATA disk, a maker's name behind USB bridges;
    # NVMe and virtio give a PCI id ("0x1af4") instead.
    if (
        model
        and vendor
        and vendor != "ATA"
        and not vendor.startswith("0x")
        and not model.lower().startswith(vendor.lower())
    ):
        model = f"{vendor} {model}"
    drive.model = model
    drive.serial = (
        _read(device_dir / "serial") or _read(disk_dir / "serial") or _vpd_serial(device_dir)
    )
    drive.firmware = _read(device_dir / "firmware_rev") or _read(device_dir / "rev")
    sectors = _read_int(disk_dir / "size")
    if sectors is not None:
        drive.disk_size_bytes = sectors * SECTOR_BYTES


def _vpd_serial(device_dir: Path) -> str | None:
    """SCSI VPD page 0x80 (unit serial number): a 4-byte header, then ASCII. Root-only."""
    try:
        data = (device_dir / "vpd_pg80").read_bytes()
    except OSError:
        return None
    if len(data) < 4:
        return None
    length = int.from_bytes(data[2:4], "big")
    text = data[4 : 4 + length].decode("ascii", errors="replace").strip(" \x00")
    return text or None


def _decide_bus(drive: DriveInfo, disk_dir: Path, transport: str | None, sys_root: Path) -> None:
    where = disk_dir.as_posix()
    name = disk_dir.name
    if transport is not None:
        bus = TRANSPORTS.get(transport)
        if bus is None:
            drive.note(f"transport {transport!r} (lsblk) has no bus category here")
            bus = "unknown"
    elif name.startswith("nvme"):
        bus = "nvme"
    elif name.startswith(("vd", "xvd")) or "/virtio" in where:
        bus = "virtual"
    elif "/devices/virtual/" in where:
        bus = "virtual"
        drive.note(f"{name} is a kernel virtual block device (loop, zram, ram)")
    elif "/usb" in where:
        bus = "usb"
    elif "/ata" in where:
        bus = "sata"
    else:
        bus = "unknown"
        drive.note(f"neither lsblk nor the sysfs path of {name} names its bus")
    if bus == "virtual" and name.startswith(("vd", "xvd")):
        drive.note(f"{name} is a paravirtual (virtio/Xen) disk: the host's drive is hidden")
    external = _external(disk_dir, sys_root)
    if external is not None:
        drive.internal = not external
        if external and bus == "nvme":
            bus = "thunderbolt"  # an NVMe drive behind an external-facing PCIe port
    drive.bus = bus


def _external(disk_dir: Path, sys_root: Path) -> bool | None:
    """The kernel's `removable` attribute on the USB device or PCIe function above the disk:
    "removable" = behind an external-facing port, "fixed" = built in."""
    anchors = [disk_dir]
    device_dir = disk_dir / "device"
    if device_dir.exists():
        anchors.append(device_dir.resolve())
        anchors += [p.resolve() for p in sorted(device_dir.glob("nvme[0-9]*"))]
    stop = (sys_root / "devices").resolve()
    for anchor in anchors:
        for ancestor in anchor.parents:
            if ancestor == stop or stop not in ancestor.parents:
                break
            value = _read(ancestor / "removable")
            if value in ("removable", "fixed"):
                return value == "removable"
    return None


def _decide_solid_state(drive: DriveInfo, disk_dir: Path) -> None:
    rotational = _read(disk_dir / "queue" / "rotational")
    if rotational not in ("0", "1"):
        drive.note(f"{disk_dir.name} has no queue/rotational flag")
        return
    if drive.bus == "virtual":
        drive.note("a virtual disk's rotational flag says nothing about the host's drive")
        return
    if rotational == "1" and drive.bus == "usb":
        # Bridges that do not pass the drive's rotation rate through leave the default, 1.
        drive.note("queue/rotational is 1, which is unreliable behind a USB bridge: medium unknown")
        return
    drive.solid_state = rotational == "0"


def _apply_smartctl(drive: DriveInfo, run: Runner, device: str) -> None:
    report = read_smartctl(drive, run, device, "apt install smartmontools")
    if report is not None:
        # smartctl reads the drive's own identify data, through USB bridges too.
        drive.model = report.model or drive.model
        drive.serial = report.serial or drive.serial
        drive.firmware = report.firmware or drive.firmware


def _apply_hwmon(drive: DriveInfo, folders: list[Path]) -> None:
    """hwmon needs no root and can be polled cheaply: it wins over smartctl for the reading."""
    for folder in folders:
        reading = read_hwmon(folder)
        if reading is None:
            continue
        for note in reading.notes:
            drive.note(note)
        if reading.temperature_c is None:
            continue
        drive.temperature_c = reading.temperature_c
        drive.temperature_sensor = f"hwmon:{reading.sensor}"
        if reading.max_c is not None:
            drive.temperature_warning_c = reading.max_c
        if reading.crit_c is not None:
            drive.temperature_critical_c = reading.crit_c
        return


def _explain_unknowns(drive: DriveInfo) -> None:
    if drive.model is None:
        drive.note("model unknown: sysfs, lsblk and smartctl name none")
    if drive.serial is None:
        drive.note("serial unknown: sysfs, lsblk and smartctl give none (SCSI serials need root)")
    if drive.temperature_c is None and drive.bus != "virtual":
        drive.note("temperature unknown: no hwmon sensor under the drive and no smartctl reading")


def _read(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return text.strip() or None


def _read_int(path: Path) -> int | None:
    text = _read(path)
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    return {"1": True, "0": False}.get(value) if isinstance(value, str) else None


def _number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None
