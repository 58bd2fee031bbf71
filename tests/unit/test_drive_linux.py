"""The Linux drive backend: parsers on recorded samples, then whole probes on fake sysfs trees
(NVMe with hwmon, Thunderbolt NVMe, a USB bridge, LVM on SATA) with fake lsblk/smartctl replies.

Samples in tests/fixtures/linux: `smartctl_nvme_intel.json` and `sensors_nvme.txt` are copied
from the project's shared fixtures (scrutiny test data, a public merge request);
`lsblk_virtio_vda.json`, `smartctl_virtio_unable_to_detect.json` and `mountinfo_debian12_vm.txt`
were recorded on the project's Debian 12 VM (util-linux 2.38.1, smartctl 7.3; one sandboxing
line dropped from mountinfo).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

import pytest

from pytest_qlab.drive import probe_drive
from pytest_qlab.drive.advisories import collect_advisories
from pytest_qlab.drive.commands import CommandResult
from pytest_qlab.drive.linux import (
    mount_entry_for,
    parse_lsblk,
    parse_mountinfo,
    probe_linux,
    read_hwmon,
)
from pytest_qlab.drive.smartctl import parse_smartctl

LINUX = Path(__file__).parents[1] / "fixtures" / "linux"
SENTINEL_C = 65261.8
"""What `sensors` shows for 0xFFFF K: a drive that reports no such limit."""


def _text(name: str) -> str:
    return (LINUX / name).read_text(encoding="utf-8")


# --- mountinfo ----------------------------------------------------------------------------------


def test_mountinfo_finds_the_root_ext4_on_the_virtio_disk() -> None:
    entries = parse_mountinfo(_text("mountinfo_debian12_vm.txt"))

    entry = mount_entry_for(Path("/tmp/pytest-of-root/x"), 254, 0, entries)
    assert entry is not None
    assert (entry.mount_point, entry.fstype, entry.source) == ("/", "ext4", "/dev/vda")


def test_mountinfo_takes_the_top_of_stacked_mounts_by_device_number() -> None:
    """/dev/shm is mounted twice on the VM (0:23 under 0:27): st_dev says which one is seen."""
    entries = parse_mountinfo(_text("mountinfo_debian12_vm.txt"))

    top = mount_entry_for(Path("/dev/shm"), 0, 27, entries)
    assert top is not None
    assert (top.mount_point, top.fstype, top.minor) == ("/dev/shm", "tmpfs", 27)


def test_mountinfo_unescapes_spaces_in_mount_points() -> None:
    (entry,) = parse_mountinfo(
        "36 25 8:1 / /media/tech/Show\\040Drive rw,relatime - exfat /dev/sda1 rw\n"
    )
    assert entry.mount_point == "/media/tech/Show Drive"
    assert mount_entry_for(Path("/media/tech/Show Drive/media"), 8, 1, [entry]) == entry


# --- lsblk --------------------------------------------------------------------------------------


def test_lsblk_recorded_virtio_disk_has_no_transport_model_or_serial() -> None:
    (disk,) = parse_lsblk(_text("lsblk_virtio_vda.json"))

    assert (disk.name, disk.kname) == ("vda", "vda")
    assert (disk.tran, disk.model, disk.serial, disk.rev) == (None, None, None, None)
    assert disk.rota is True
    assert disk.size_bytes == 274877906944
    assert disk.mountpoint == "/"


def test_lsblk_older_string_values_and_children() -> None:
    text = json.dumps(
        {
            "blockdevices": [
                {
                    "name": "sda",
                    "tran": "usb",
                    "model": "PSSD T7         ",
                    "rota": "0",
                    "size": "1000204886016",
                    "type": "disk",
                    "children": [{"name": "sda1", "fstype": "exfat", "label": "Show"}],
                }
            ]
        }
    )
    (disk,) = parse_lsblk(text)
    assert (disk.tran, disk.model, disk.rota, disk.size_bytes) == (
        "usb",
        "PSSD T7",
        False,
        1000204886016,
    )
    child = disk.find("sda1")
    assert child is not None
    assert (child.fstype, child.label) == ("exfat", "Show")
    assert parse_lsblk("lsblk: /dev/nope: not a block device") == []


# --- smartctl on Linux --------------------------------------------------------------------------


def test_smartctl_nvme_gives_health_temperature_and_thermal_counters() -> None:
    report = parse_smartctl(_text("smartctl_nvme_intel.json"), 0, "/dev/nvme0")

    assert report.smart_health == "passed"
    assert report.temperature_c == 36
    assert report.warning_temp_time_min == 0
    assert report.critical_comp_time_min == 0
    assert (report.model, report.serial, report.firmware) == (
        "INTEL SSDPEKNW010T8",
        "BTNH93710FS91P0B",
        "002C",
    )
    assert report.protocol == "NVMe"


def test_smartctl_on_a_virtio_disk_is_unsupported_with_its_message() -> None:
    report = parse_smartctl(_text("smartctl_virtio_unable_to_detect.json"), 1, "/dev/vda")

    assert report.smart_health == "unsupported"
    assert any("Unable to detect device type" in note for note in report.notes)


def test_smartctl_limits_and_thermal_management_counters() -> None:
    """Key names as smartmontools' nvmeprint.cpp writes them (7.4+)."""
    document = {
        "smart_status": {"passed": True},
        "temperature": {"current": 52, "op_limit_max": 70, "critical_limit_max": 80},
        "nvme_smart_health_information_log": {
            "warning_temp_time": 14,
            "critical_comp_time": 2,
            "thermal_mgmt_temperature_1_transition_count": 3,
            "thermal_mgmt_temperature_2_transition_count": 1,
            "thermal_mgmt_temperature_1_total_time": 120,
            "thermal_mgmt_temperature_2_total_time": 5,
        },
    }
    report = parse_smartctl(json.dumps(document), 0)

    assert (report.temperature_warning_c, report.temperature_critical_c) == (70, 80)
    assert (report.warning_temp_time_min, report.critical_comp_time_min) == (14, 2)
    assert (report.thermal_transitions, report.thermal_throttle_time_s) == (4, 125)


def test_smartctl_exit_bit_3_means_failing_even_without_smart_status() -> None:
    assert parse_smartctl("{}", 8).smart_health == "failed"
    assert parse_smartctl('{"smart_status": {"passed": false}}', 0).smart_health == "failed"


def test_smartctl_without_permission_is_unknown_not_unsupported() -> None:
    document = {
        "smartctl": {
            "exit_status": 2,
            "messages": [
                {
                    "string": "Smartctl open device: /dev/sda failed: Permission denied",
                    "severity": "error",
                }
            ],
        }
    }
    report = parse_smartctl(json.dumps(document), 2, "/dev/sda")

    assert report.smart_health == "unknown"
    assert report.permission_denied
    assert any("run as root" in note for note in report.notes)


# --- hwmon --------------------------------------------------------------------------------------


def _millidegrees(value: str) -> str:
    return str(round(float(value) * 1000))


def hwmon_files_from_sensors(text: str) -> dict[str, str]:
    """The hwmon files behind a recorded `sensors` chip: label line -> tempN_input/_label,
    low/high/crit -> tempN_min/_max/_crit, in millidegrees."""
    files: dict[str, str] = {"name": text.split("-", 1)[0]}
    index = 0
    for line in text.splitlines():
        reading = re.match(r"^(\S[^:]*):\s+([+-][\d.]+)°C", line)
        if reading:
            index += 1
            files[f"temp{index}_label"] = reading.group(1)
            files[f"temp{index}_input"] = _millidegrees(reading.group(2))
        for key, value in re.findall(r"(low|high|crit)\s*=\s*([+-][\d.]+)°C", line):
            suffix = {"low": "min", "high": "max", "crit": "crit"}[key]
            files[f"temp{index}_{suffix}"] = _millidegrees(value)
    return files


def test_recorded_sensors_chip_has_a_sentinel_limit() -> None:
    files = hwmon_files_from_sensors(_text("sensors_nvme.txt"))

    assert files["name"] == "nvme"
    assert files["temp1_label"] == "Composite"
    assert files["temp1_input"] == "31900"
    assert files["temp1_crit"] == "80800"
    assert files["temp2_max"] == _millidegrees(str(SENTINEL_C))


def _write_files(folder: Path, files: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).write_text(content + "\n", encoding="utf-8")


def test_hwmon_reads_the_composite_sensor_and_its_limits(tmp_path: Path) -> None:
    _write_files(tmp_path / "hwmon2", hwmon_files_from_sensors(_text("sensors_nvme.txt")))

    reading = read_hwmon(tmp_path / "hwmon2")

    assert reading is not None
    assert reading.label == "Composite"
    assert reading.sensor.endswith("hwmon2/temp1_input")
    assert reading.temperature_c == pytest.approx(31.9)
    assert reading.max_c == pytest.approx(80.8)
    assert reading.crit_c == pytest.approx(80.8)


def test_hwmon_sentinel_values_are_dropped_with_a_note(tmp_path: Path) -> None:
    """Sensor 1's "high" in the recorded chip is 65261.8 °C: a drive reporting no limit."""
    files = hwmon_files_from_sensors(_text("sensors_nvme.txt"))
    # Only Sensor 1 in the recording: a composite-only chip whose threshold is unset.
    files = {
        "name": "nvme",
        "temp1_label": "Sensor 1",
        "temp1_input": files["temp2_input"],
        "temp1_max": files["temp2_max"],
        "temp1_min": files["temp2_min"],
    }
    _write_files(tmp_path / "hwmon0", files)

    reading = read_hwmon(tmp_path / "hwmon0")

    assert reading is not None
    assert reading.temperature_c == pytest.approx(31.9)
    assert reading.max_c is None
    assert reading.crit_c is None
    assert any("65261.8" in note and "ignored" in note for note in reading.notes)


def test_hwmon_without_sensors_reads_as_none(tmp_path: Path) -> None:
    (tmp_path / "hwmon1").mkdir()
    assert read_hwmon(tmp_path / "hwmon1") is None


# --- whole probes on fake sysfs trees ------------------------------------------------------------


class FakeSys:
    """A fake /sys (and mountinfo) under a temp folder."""

    def __init__(self, root: Path) -> None:
        self.root = root / "sys"
        self.root.mkdir()
        self.mountinfo = root / "mountinfo"

    def write(self, relative: str, content: str) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content + "\n", encoding="utf-8")

    def link(self, relative: str, target: str) -> None:
        """A relative symlink, as the kernel makes them, from `relative` to `target`."""
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(os.path.relpath(self.root / target, path.parent))

    def block(self, disk: str, partition: str | None, number: str) -> None:
        """`disk` (a folder under devices/), its partition and /sys/dev/block/<number>."""
        target = f"{disk}/{partition}" if partition else disk
        if partition:
            self.write(f"{target}/partition", partition[-1])
        self.write(f"{target}/dev", number)
        self.link(f"dev/block/{number}", target)

    def mount(self, number: str, fstype: str, source: str) -> None:
        self.mountinfo.write_text(
            f"36 1 {number} / / rw,relatime - {fstype} {source} rw\n", encoding="utf-8"
        )


class FakeCommands:
    """Canned replies by program name; anything else is "not installed"."""

    def __init__(self, replies: dict[str, tuple[int, str]]) -> None:
        self.replies = replies
        self.calls: list[tuple[str, ...]] = []

    def __call__(self, argv: Sequence[str], timeout_s: float = 0.0) -> CommandResult:
        command = tuple(argv)
        self.calls.append(command)
        if command[0] not in self.replies:
            return CommandResult(command, None, "", "", problem="not installed", missing=True)
        returncode, stdout = self.replies[command[0]]
        return CommandResult(command, returncode, stdout, "")


PCI_NVME = "devices/pci0000:00/0000:00:1d.0/0000:3d:00.0"
NVME_CONTROLLER = f"{PCI_NVME}/nvme/nvme0"
NVME_DISK = f"{NVME_CONTROLLER}/nvme0n1"


def _nvme_tree(tmp_path: Path, hwmon: dict[str, str], removable: str | None = None) -> FakeSys:
    fake = FakeSys(tmp_path)
    fake.write(f"{NVME_CONTROLLER}/model", "INTEL SSDPEKNW010T8")
    fake.write(f"{NVME_CONTROLLER}/serial", "BTNH93710FS91P0B    ")
    fake.write(f"{NVME_CONTROLLER}/firmware_rev", "002C    ")
    for name, content in hwmon.items():
        fake.write(f"{NVME_CONTROLLER}/hwmon2/{name}", content)
    fake.write(f"{NVME_DISK}/size", "2000409264")
    fake.write(f"{NVME_DISK}/queue/rotational", "0")
    fake.link(f"{NVME_DISK}/device", NVME_CONTROLLER)
    fake.block(NVME_DISK, "nvme0n1p2", "259:2")
    if removable is not None:
        fake.write(f"{PCI_NVME}/removable", removable)
    fake.mount("259:2", "ext4", "/dev/nvme0n1p2")
    return fake


NVME_LSBLK = json.dumps(
    {
        "blockdevices": [
            {
                "name": "nvme0n1",
                "tran": "nvme",
                "model": "INTEL SSDPEKNW010T8",
                "rota": False,
                "type": "disk",
                "children": [{"name": "nvme0n1p2", "fstype": "ext4", "label": "show"}],
            }
        ]
    }
)


def test_nvme_drive_with_hwmon(tmp_path: Path) -> None:
    fake = _nvme_tree(tmp_path, hwmon_files_from_sensors(_text("sensors_nvme.txt")))
    run = FakeCommands(
        {"lsblk": (0, NVME_LSBLK), "smartctl": (0, _text("smartctl_nvme_intel.json"))}
    )

    drive = probe_linux(
        tmp_path, run, sys_root=fake.root, mountinfo=fake.mountinfo, device_number=(259, 2)
    )

    assert drive.device == "/dev/nvme0n1p2"
    assert drive.whole_disk == "/dev/nvme0n1"
    assert (drive.mount_point, drive.filesystem, drive.volume_name) == (Path("/"), "ext4", "show")
    assert (drive.model, drive.serial, drive.firmware) == (
        "INTEL SSDPEKNW010T8",
        "BTNH93710FS91P0B",
        "002C",
    )
    assert drive.bus == "nvme"
    assert drive.internal is None  # nothing in sysfs says; not guessed
    assert drive.solid_state is True
    assert drive.disk_size_bytes == 2000409264 * 512
    assert drive.smart_health == "passed"
    # hwmon (no root needed, cheap to poll) wins over smartctl's 36 °C for the reading
    assert drive.temperature_c == pytest.approx(31.9)
    assert drive.temperature_sensor is not None
    assert drive.temperature_sensor.startswith("hwmon:")
    assert drive.temperature_sensor.endswith("/nvme/nvme0/hwmon2/temp1_input")
    assert drive.temperature_warning_c == pytest.approx(80.8)
    assert drive.temperature_critical_c == pytest.approx(80.8)
    assert (drive.warning_temp_time_min, drive.critical_comp_time_min) == (0, 0)
    assert not any(str(SENTINEL_C) in note for note in drive.notes)  # Sensor 1 is not read
    assert ("smartctl", "-j", "-a", "/dev/nvme0n1") in run.calls
    assert run.calls[0][:2] == ("lsblk", "-J")


def test_nvme_with_a_sentinel_composite_limit_and_no_smartctl(tmp_path: Path) -> None:
    hwmon = hwmon_files_from_sensors(_text("sensors_nvme.txt"))
    hwmon["temp1_max"] = hwmon["temp2_max"]  # the composite threshold unset: 0xFFFF K
    del hwmon["temp1_crit"]
    fake = _nvme_tree(tmp_path, hwmon)
    run = FakeCommands({"lsblk": (0, NVME_LSBLK)})

    drive = probe_linux(
        tmp_path, run, sys_root=fake.root, mountinfo=fake.mountinfo, device_number=(259, 2)
    )

    assert drive.temperature_c == pytest.approx(31.9)
    assert drive.temperature_warning_c is None
    assert drive.temperature_critical_c is None
    assert any(str(SENTINEL_C) in note for note in drive.notes)
    assert drive.smart_health == "unknown"
    assert any("smartctl is not installed" in note for note in drive.notes)
    advisories = {a.name: a for a in collect_advisories(tmp_path, drive, platform="linux")}
    assert advisories["temperature"].severity == "ok"
    assert advisories["smart"].severity == "skip"
    assert "smartctl is not installed" in advisories["smart"].message


def test_nvme_behind_an_external_facing_port_is_thunderbolt(tmp_path: Path) -> None:
    fake = _nvme_tree(tmp_path, {}, removable="removable")

    drive = probe_linux(
        tmp_path,
        FakeCommands({"lsblk": (0, NVME_LSBLK)}),
        sys_root=fake.root,
        mountinfo=fake.mountinfo,
        device_number=(259, 2),
    )

    assert drive.bus == "thunderbolt"
    assert drive.internal is False
    assert drive.temperature_c is None
    assert any(note.startswith("temperature unknown") for note in drive.notes)


def test_nvme_on_a_fixed_port_is_internal(tmp_path: Path) -> None:
    fake = _nvme_tree(tmp_path, {}, removable="fixed")

    drive = probe_linux(
        tmp_path,
        FakeCommands({}),
        sys_root=fake.root,
        mountinfo=fake.mountinfo,
        device_number=(259, 2),
    )

    assert (drive.bus, drive.internal) == ("nvme", True)
    assert any("lsblk could not describe" in note for note in drive.notes)


def test_usb_bridge_rotational_flag_is_not_trusted(tmp_path: Path) -> None:
    fake = FakeSys(tmp_path)
    usb = "devices/pci0000:00/0000:00:14.0/usb2/2-1"
    scsi = f"{usb}/2-1:1.0/host0/target0:0:0/0:0:0:0"
    disk = f"{scsi}/block/sda"
    fake.write(f"{usb}/removable", "removable")
    fake.write(f"{scsi}/vendor", "Samsung ")
    fake.write(f"{scsi}/model", "PSSD T7         ")
    fake.write(f"{scsi}/rev", "0   ")
    fake.write(f"{disk}/size", "1953525168")
    fake.write(f"{disk}/queue/rotational", "1")
    fake.write(f"{disk}/removable", "0")
    fake.link(f"{disk}/device", scsi)
    fake.block(disk, "sda1", "8:1")
    fake.mount("8:1", "exfat", "/dev/sda1")
    lsblk = {
        "blockdevices": [
            {
                "name": "sda",
                "tran": "usb",
                "model": "PSSD T7",
                "serial": "S6WBNS0T123456X",
                "children": [{"name": "sda1", "fstype": "exfat", "label": "Show"}],
            }
        ]
    }

    drive = probe_linux(
        tmp_path,
        FakeCommands({"lsblk": (0, json.dumps(lsblk))}),
        sys_root=fake.root,
        mountinfo=fake.mountinfo,
        device_number=(8, 1),
    )

    assert (drive.device, drive.whole_disk) == ("/dev/sda1", "/dev/sda")
    assert drive.bus == "usb"
    assert drive.internal is False
    assert drive.model == "Samsung PSSD T7"  # SCSI vendor + model
    assert drive.firmware == "0"
    assert drive.serial == "S6WBNS0T123456X"  # sysfs has none without root: lsblk's
    assert drive.solid_state is None
    assert any("unreliable behind a USB bridge" in note for note in drive.notes)
    assert drive.volume_name == "Show"
    advisories = {a.name: a for a in collect_advisories(tmp_path, drive, platform="linux")}
    assert advisories["filesystem"].severity == "warn"  # exFAT, whichever OS qualifies it
    assert advisories["spotlight"].severity == "skip"


def test_lvm_volume_is_followed_down_to_its_sata_disk(tmp_path: Path) -> None:
    fake = FakeSys(tmp_path)
    scsi = "devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0"
    disk = f"{scsi}/block/sda"
    fake.write(f"{scsi}/vendor", "ATA     ")
    fake.write(f"{scsi}/model", "Samsung SSD 870 EVO 1TB")
    fake.write(f"{scsi}/rev", "SVT02B6Q")
    fake.write(f"{disk}/queue/rotational", "0")
    fake.link(f"{disk}/device", scsi)
    fake.write(f"{disk}/sda2/partition", "2")
    fake.write(f"{disk}/sda2/dev", "8:2")
    mapper = "devices/virtual/block/dm-0"
    fake.write(f"{mapper}/dev", "253:0")
    fake.link(f"{mapper}/slaves/sda2", f"{disk}/sda2")
    fake.link("dev/block/253:0", mapper)
    fake.mount("253:0", "ext4", "/dev/mapper/vg-show")

    drive = probe_linux(
        tmp_path,
        FakeCommands({}),
        sys_root=fake.root,
        mountinfo=fake.mountinfo,
        device_number=(253, 0),
    )

    assert drive.device == "/dev/mapper/vg-show"
    assert drive.whole_disk == "/dev/sda"
    assert drive.model == "Samsung SSD 870 EVO 1TB"  # "ATA" is no maker's name
    assert drive.firmware == "SVT02B6Q"
    assert drive.bus == "sata"
    assert drive.solid_state is True
    assert "dm-0 is a mapped device on sda2" in drive.notes


def test_missing_block_device_is_a_note_not_an_error(tmp_path: Path) -> None:
    fake = FakeSys(tmp_path)
    fake.mount("8:17", "xfs", "/dev/sdb1")

    drive = probe_linux(
        tmp_path,
        FakeCommands({}),
        sys_root=fake.root,
        mountinfo=fake.mountinfo,
        device_number=(8, 17),
    )

    assert drive.bus == "unknown"
    assert drive.filesystem == "xfs"
    assert any("no block device 8:17" in note for note in drive.notes)


def test_overlay_and_network_filesystems_resolve_without_raising(tmp_path: Path) -> None:
    fake = FakeSys(tmp_path)
    fake.mount("0:52", "overlay", "overlay")
    overlay = probe_linux(
        tmp_path, FakeCommands({}), mountinfo=fake.mountinfo, device_number=(0, 52)
    )
    assert (overlay.bus, overlay.filesystem, overlay.smart_health) == (
        "virtual",
        "overlay",
        "unsupported",
    )

    fake.mount("0:60", "nfs4", "nas.local:/shows")
    network = probe_linux(
        tmp_path, FakeCommands({}), mountinfo=fake.mountinfo, device_number=(0, 60)
    )
    assert network.bus == "unknown"
    assert any("network filesystem" in note for note in network.notes)


def test_probe_drive_picks_the_linux_backend(tmp_path: Path) -> None:
    drive = probe_drive(tmp_path, platform="linux", run=FakeCommands({}))
    assert drive.platform == "linux"


def test_a_volume_uuid_lsblk_does_not_know_is_read_by_blkid(tmp_path: Path) -> None:
    """Without udev's database (a container, a minimal system) lsblk lists no UUID; blkid
    reads it from the filesystem, so the drive history keys the drive by it."""
    fake = _nvme_tree(tmp_path, {})
    uuid = "9e525a78-486c-4780-8497-1aafdea744bd"
    run = FakeCommands({"lsblk": (0, NVME_LSBLK), "blkid": (0, f"{uuid}\n")})
    known = json.loads(NVME_LSBLK)
    known["blockdevices"][0]["children"][0]["uuid"] = uuid.upper()
    listed = FakeCommands({"lsblk": (0, json.dumps(known))})

    found = probe_linux(
        tmp_path, run, sys_root=fake.root, mountinfo=fake.mountinfo, device_number=(259, 2)
    )
    from_lsblk = probe_linux(
        tmp_path, listed, sys_root=fake.root, mountinfo=fake.mountinfo, device_number=(259, 2)
    )
    without = probe_linux(
        tmp_path,
        FakeCommands({"lsblk": (0, NVME_LSBLK)}),
        sys_root=fake.root,
        mountinfo=fake.mountinfo,
        device_number=(259, 2),
    )

    assert found.volume_uuid == uuid
    assert ("blkid", "-s", "UUID", "-o", "value", "/dev/nvme0n1p2") in run.calls
    assert from_lsblk.volume_uuid == uuid.upper()
    assert not any(call[0] == "blkid" for call in listed.calls)
    assert without.volume_uuid is None
