"""The macOS drive backend: parsers on recorded and hand-written samples, then the whole probe
and the advisories end to end on Linux, with fake diskutil/system_profiler/smartctl/mdutil/pmset/
tmutil programs first on PATH.

Samples in tests/fixtures/macos: files without a prefix are real output (our shared fixtures or
other projects' published recordings; tests/fixtures/README.md names each source); files named
`handwritten_*` were written for these tests where no recording was found: the exFAT show volume
on the recorded USB disk, smartctl's JSON for a USB disk it cannot open, and a Time Machine
destination list naming the show volume.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from pytest_qlab.drive import probe_drive
from pytest_qlab.drive.advisories import Advisory, collect_advisories
from pytest_qlab.drive.commands import CommandResult
from pytest_qlab.drive.macos import (
    DiskutilParseError,
    bus_of,
    parse_diskutil_info,
    parse_system_profiler,
    smart_health_of,
    whole_disk_identifier,
)
from pytest_qlab.drive.smartctl import parse_smartctl
from tests.helpers.fake_macos import FakeMacos, install_fake_macos

MACOS = Path(__file__).parents[1] / "fixtures" / "macos"


def _text(name: str) -> str:
    return (MACOS / name).read_text(encoding="utf-8")


# --- diskutil info -plist ---------------------------------------------------------------------


def test_apfs_volume_free_space_is_zero_so_the_container_free_is_used() -> None:
    info = parse_diskutil_info(_text("diskutil_info_root_apfs_intel.plist"))

    assert info.free_space == 0  # the trap: diskutil's FreeSpace on APFS
    assert info.apfs_container_free == 198572486656
    assert info.total_size == 250790436864
    assert info.filesystem_type == "apfs"
    assert info.volume_name == "Macintosh HD"
    assert info.mount_point == "/"


def test_apfs_volume_has_empty_media_name_and_its_disk_is_the_physical_store() -> None:
    info = parse_diskutil_info(_text("diskutil_info_root_apfs_intel.plist"))

    assert info.media_name is None  # "" in the plist: unknown, not a model called ""
    assert info.apfs_physical_stores == ("disk0s2",)
    assert info.parent_whole_disk == "disk1"  # the synthesized container: no model there
    assert whole_disk_identifier(info) == "disk0"
    assert info.smart_health == "passed"
    assert info.solid_state is True


def test_apple_silicon_whole_disk_is_apple_fabric_and_missing_solid_state_is_unknown() -> None:
    info = parse_diskutil_info(_text("diskutil_info_disk0_apple_silicon.plist"))

    assert info.media_name == "APPLE SSD AP1024Z"
    assert info.whole_disk is True
    assert whole_disk_identifier(info) == "disk0"
    assert bus_of(info.bus_protocol, info.internal) == ("apple-fabric", None)
    assert info.size == 1000555581440
    assert info.solid_state is None  # no SolidState key: unknown, never "spinning"
    assert info.smart_health == "unknown"  # no SMARTStatus key either


def test_usb_volume_says_smart_not_supported_and_names_its_parent_disk() -> None:
    volume = parse_diskutil_info(_text("handwritten_diskutil_info_show_exfat_usb.plist"))
    disk = parse_diskutil_info(_text("diskutil_info_disk2_usb_sata_adapter_whole.plist"))

    assert volume.smart_health == "unsupported"
    assert volume.solid_state is None
    assert whole_disk_identifier(volume) == "disk2"
    assert bus_of(disk.bus_protocol, disk.internal) == ("usb", None)
    assert disk.media_name == "SSD PM830 mSATA"  # an mSATA SSD behind a USB-SATA bridge
    assert disk.solid_state is None  # recorded: no SolidState key for a USB-bridged SSD
    assert disk.smart_health == "unsupported"
    assert disk.mount_point is None  # "" in the recording: the whole disk mounts nothing
    assert disk.volume_name is None


def test_usb_stick_formatted_without_partitions_is_its_own_whole_disk() -> None:
    """Recorded: FAT32 written straight onto the stick, so the volume is the whole disk."""
    info = parse_diskutil_info(_text("diskutil_info_disk2_usb_stick_fat32.plist"))

    assert info.whole_disk is True
    assert whole_disk_identifier(info) == "disk2"
    assert info.mount_point == "/Volumes/NO NAME"
    assert info.filesystem_type == "msdos"
    assert info.media_name == "Cruzer Fit"
    assert info.free_space == 15662678016
    assert info.total_size == 15665463296


def test_plain_text_diskutil_output_is_refused_not_misread() -> None:
    """The text form is localized; only -plist is parsed."""
    with pytest.raises(DiskutilParseError, match="not a diskutil -plist document"):
        parse_diskutil_info(_text("diskutil_info_data_apple_silicon.txt"))


@pytest.mark.parametrize(
    ("protocol", "internal", "bus"),
    [
        ("Apple Fabric", True, "apple-fabric"),
        ("PCI-Express", False, "thunderbolt"),
        ("PCI-Express", True, "pcie"),
        ("PCI", True, "pcie"),
        ("PCI", False, "thunderbolt"),
        ("USB", False, "usb"),
        ("SATA", True, "sata"),
        ("Disk Image", False, "virtual"),
        ("Secure Digital", True, "unknown"),
        (None, None, "unknown"),
    ],
)
def test_bus_protocol_mapping(protocol: str | None, internal: bool | None, bus: str) -> None:
    assert bus_of(protocol, internal)[0] == bus


def test_pci_express_without_internal_flag_is_pcie_with_a_note() -> None:
    bus, note = bus_of("PCI-Express", None)
    assert bus == "pcie"
    assert note is not None
    assert "internal or external" in note


@pytest.mark.parametrize(
    ("status", "health"),
    [
        ("Verified", "passed"),
        ("Failing", "failed"),
        ("Not Supported", "unsupported"),
        (None, "unknown"),
        ("Something New", "unknown"),
    ],
)
def test_smart_status_mapping(status: str | None, health: str) -> None:
    assert smart_health_of(status) == health


# --- system_profiler ----------------------------------------------------------------------------


def test_system_profiler_gives_model_serial_and_firmware_of_the_nvme_drive() -> None:
    profile = parse_system_profiler(_text("system_profiler_storage_nvme.json"))

    drive = profile.drive("disk0")
    assert drive is not None
    assert drive.model == "APPLE SSD AP0256Z"
    assert drive.serial == "0ba018e4045c5e3e"
    assert drive.firmware == "561.100."
    assert drive.size_bytes == 251000193024
    assert profile.drive("disk4") is None


def test_system_profiler_storage_gives_medium_protocol_and_location() -> None:
    profile = parse_system_profiler(_text("system_profiler_storage_nvme.json"))

    volume = profile.volume("/System/Volumes/Data")
    assert volume is not None
    assert volume.bsd_name == "disk3s5"
    assert volume.medium_type == "ssd"
    assert volume.protocol == "Apple Fabric"
    assert volume.internal is True
    assert profile.volume("/Volumes/Show") is None


def test_system_profiler_garbage_reads_as_empty() -> None:
    assert parse_system_profiler("not json").drives == ()


# --- smartctl on macOS ------------------------------------------------------------------------


def test_smartctl_exit_4_on_apple_ssd_still_reads_the_json() -> None:
    """Recorded `smartctl -x -j` on an Apple Silicon SSD: exit bit 2 is set (error log
    unreadable) and smartctl names the device by its IOService path; the values are valid."""
    report = parse_smartctl(_text("smartctl_x_j_apple_ssd_ap0512z_exit4.json"), 4, "/dev/disk0")

    assert report.smart_health == "passed"
    assert report.temperature_c == 34
    assert report.model == "APPLE SSD AP0512Z"
    assert report.serial == "REDACTED123"  # anonymized by the project that published it
    assert report.firmware == "561.100."
    assert report.protocol == "NVMe"
    assert report.temperature_warning_c is None  # Apple states no thresholds
    assert any("bit 2" in note for note in report.notes)


def test_smartctl_text_output_gives_the_temperature() -> None:
    """Recorded `smartctl -A disk0` on an M2 Air: smartctl without JSON still yields the
    temperature."""
    report = parse_smartctl(_text("smartctl_A_apple_m2.txt"), 0, "disk0")

    assert report.temperature_c == 35
    assert report.smart_health == "unknown"  # -A prints no overall health line


def test_smartctl_on_a_usb_disk_it_cannot_open_is_unsupported() -> None:
    report = parse_smartctl(_text("handwritten_smartctl_usb_open_failed.json"), 2, "/dev/disk2")

    assert report.smart_health == "unsupported"
    assert report.temperature_c is None
    assert any("Operation not supported by device" in note for note in report.notes)


# --- the whole macOS path, with fake programs on PATH (the fake_macos fixture) -------------------


@pytest.fixture
def fake_macos(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., FakeMacos]:
    def install(**outputs: Any) -> FakeMacos:
        return install_fake_macos(tmp_path, monkeypatch, **outputs)

    return install


def _by_name(advisories: list[Advisory]) -> dict[str, Advisory]:
    return {advisory.name: advisory for advisory in advisories}


def test_macos_internal_apple_ssd_end_to_end(
    tmp_path: Path, fake_macos: Callable[..., FakeMacos]
) -> None:
    """Recorded diskutil, system_profiler and smartctl output, from three different Macs: each
    disagreement about the model and serial must be reported, not hidden, and smartctl wins."""
    fake = fake_macos(
        volume="diskutil_info_root_apfs_intel.plist",
        whole_disks={"disk0": "diskutil_info_disk0_apple_silicon.plist"},
        smartctl="smartctl_x_j_apple_ssd_ap0512z_exit4.json",
        smartctl_exit=4,
        tm_destinations="tmutil_destinationinfo_local_not_mounted.txt",
        tm_status="tmutil_status_idle.txt",
    )

    drive = probe_drive(tmp_path, platform="darwin")

    assert drive.platform == "darwin"
    assert drive.mount_point == Path("/")
    assert drive.volume_name == "Macintosh HD"
    assert drive.filesystem == "apfs"
    assert drive.device == "/dev/disk1s5"
    assert drive.whole_disk == "/dev/disk0"  # via APFSPhysicalStores, not ParentWholeDisk disk1
    assert drive.bus == "apple-fabric"
    assert drive.internal is True
    assert drive.solid_state is True  # the whole disk lacks the key; the volume has it
    assert drive.free_bytes == 198572486656  # APFSContainerFree, since FreeSpace is 0
    assert drive.capacity_bytes == 250790436864
    assert drive.disk_size_bytes == 1000555581440
    assert drive.model == "APPLE SSD AP0512Z"
    assert any("AP1024Z" in note and "AP0256Z" in note for note in drive.notes)
    assert any("AP0256Z" in note and "AP0512Z" in note for note in drive.notes)
    assert any("0ba018e4045c5e3e" in note and "REDACTED123" in note for note in drive.notes)
    assert drive.serial == "REDACTED123"
    assert drive.firmware == "561.100."
    assert drive.smart_health == "passed"  # despite smartctl's exit code 4
    assert drive.temperature_c == 34
    assert drive.temperature_sensor == "smartctl:/dev/disk0"
    assert drive.summary() == (
        "APPLE SSD AP0512Z, Apple Fabric, APFS, firmware 561.100.,"
        " serial REDACTED123, 34 °C, SMART passed"
    )
    calls = fake.logged()
    assert "diskutil info -plist disk0" in calls
    assert "smartctl -j -a /dev/disk0" in calls

    advisories = _by_name(collect_advisories(tmp_path, drive, platform="darwin"))

    assert advisories["spotlight"].severity == "warn"
    assert "sudo mdutil -i off /" in advisories["spotlight"].message
    assert advisories["disk-sleep"].severity == "warn"
    assert "sudo pmset -a disksleep 0" in advisories["disk-sleep"].message
    assert advisories["time-machine"].severity == "ok"
    assert advisories["smart"].severity == "ok"
    assert advisories["temperature"].severity == "ok"
    assert advisories["filesystem"].severity == "ok"
    assert advisories["free-space"].severity == "ok"
    assert "mdutil -s /" in fake.logged()


def test_macos_usb_exfat_show_drive_end_to_end(
    tmp_path: Path, fake_macos: Callable[..., FakeMacos]
) -> None:
    fake = fake_macos(
        volume="handwritten_diskutil_info_show_exfat_usb.plist",
        whole_disks={"disk2": "diskutil_info_disk2_usb_sata_adapter_whole.plist"},
        smartctl="handwritten_smartctl_usb_open_failed.json",
        smartctl_exit=2,
        tm_destinations="handwritten_tmutil_destinationinfo_show.txt",
        tm_status="tmutil_status_running_first_backup.txt",
    )

    drive = probe_drive(tmp_path, platform="darwin")

    assert drive.mount_point == Path("/Volumes/Show")
    assert drive.volume_name == "Show"
    assert drive.filesystem == "exfat"
    assert drive.device == "/dev/disk2s1"
    assert drive.whole_disk == "/dev/disk2"
    assert drive.bus == "usb"
    assert drive.internal is False
    assert drive.solid_state is None  # no SolidState anywhere: unknown, not guessed
    assert drive.smart_health == "unsupported"
    assert drive.model == "SSD PM830 mSATA"
    assert drive.serial is None
    assert drive.firmware is None
    assert drive.temperature_c is None
    assert drive.free_bytes == 8962424832
    assert drive.disk_size_bytes == 128035676160
    assert drive.summary() == (
        "SSD PM830 mSATA, USB, exFAT, firmware unknown, serial unknown,"
        " temperature unknown, SMART unsupported"
    )
    for topic in ("serial unknown", "solid state unknown", "temperature unknown"):
        assert any(note.startswith(topic) for note in drive.notes), topic
    assert "diskutil info -plist disk2" in fake.logged()
    assert "smartctl -j -a /dev/disk2" in fake.logged()

    advisories = _by_name(collect_advisories(tmp_path, drive, platform="darwin"))

    assert "mdutil -s /Volumes/Show" in fake.logged()
    assert advisories["spotlight"].severity == "warn"
    assert "sudo mdutil -i off /Volumes/Show" in advisories["spotlight"].message
    time_machine = advisories["time-machine"]
    assert time_machine.severity == "warn"
    assert "onto this volume" in time_machine.message
    assert "removedestination 9E4A1C27-5B3D-4F08-8C6E-D2A7B1F03E59" in time_machine.message
    # The recorded backup runs onto another disk ("/Volumes/Backups of smac14").
    assert "backing up right now: let it finish" in time_machine.message
    assert advisories["smart"].severity == "skip"
    assert "Not Supported" in advisories["smart"].message
    assert advisories["temperature"].severity == "skip"
    assert advisories["filesystem"].severity == "warn"
    assert "journal" in advisories["filesystem"].message
    assert advisories["free-space"].severity == "warn"  # 93 % full
    assert not any(advisory.severity == "fail" for advisory in advisories.values())


def test_macos_usb_stick_that_is_its_own_whole_disk_end_to_end(
    tmp_path: Path, fake_macos: Callable[..., FakeMacos]
) -> None:
    """Recorded diskutil output of a FAT32 stick without a partition map: the volume is the whole
    disk, so diskutil is asked once and the disk's identity comes from the volume's answer."""
    fake = fake_macos(
        volume="diskutil_info_disk2_usb_stick_fat32.plist",
        whole_disks={},
        smartctl="handwritten_smartctl_usb_open_failed.json",
        smartctl_exit=2,
        tm_destinations="tmutil_destinationinfo_local_not_mounted.txt",
        tm_status="tmutil_status_idle.txt",
    )

    drive = probe_drive(tmp_path, platform="darwin")

    assert drive.mount_point == Path("/Volumes/NO NAME")
    assert drive.whole_disk == "/dev/disk2"
    assert drive.device == "/dev/disk2"
    assert (drive.model, drive.bus, drive.filesystem) == ("Cruzer Fit", "usb", "msdos")
    assert drive.disk_size_bytes == 15682240512
    assert drive.capacity_bytes == 15665463296
    assert drive.free_bytes == 15662678016
    assert drive.smart_health == "unsupported"
    assert [call for call in fake.logged() if call.startswith("diskutil")] == [
        "diskutil info -plist /"  # the mount point holding tmp_path
    ]

    advisories = _by_name(collect_advisories(tmp_path, drive, platform="darwin"))

    assert "mdutil -s /Volumes/NO NAME" in fake.logged()
    assert advisories["filesystem"].severity == "warn"
    assert "4 GB" in advisories["filesystem"].message
    assert advisories["time-machine"].severity == "ok"
    assert advisories["free-space"].severity == "ok"


def test_macos_probe_without_any_program_says_why_and_does_not_raise(
    tmp_path: Path,
) -> None:
    def nothing_installed(argv: Sequence[str], timeout_s: float = 0.0) -> CommandResult:
        return CommandResult(tuple(argv), None, "", "", problem="not installed", missing=True)

    drive = probe_drive(tmp_path, platform="darwin", run=nothing_installed)

    assert drive.bus == "unknown"
    assert drive.smart_health == "unknown"
    assert drive.free_bytes is not None  # statvfs still answers
    assert any("diskutil: not installed" in note for note in drive.notes)
    advisories = _by_name(collect_advisories(tmp_path, drive, "darwin", nothing_installed))
    assert advisories["spotlight"].severity == "skip"
    assert advisories["spotlight"].message == "mdutil: not installed"
    assert advisories["time-machine"].severity == "skip"
