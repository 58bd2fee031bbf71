"""DriveInfo: unknown is said as such, in the one-line summary and the metadata table."""

from __future__ import annotations

from pathlib import Path

from pytest_qlab.drive import probe_drive
from pytest_qlab.drive.model import DriveInfo


def test_everything_unknown_is_said_to_be_unknown() -> None:
    assert DriveInfo().summary() == (
        "model unknown, bus unknown, filesystem unknown, firmware unknown, serial unknown,"
        " temperature unknown, SMART unknown"
    )


def test_summary_of_a_known_drive() -> None:
    drive = DriveInfo(
        model="Samsung PSSD T7",
        bus="usb",
        filesystem="exfat",
        firmware="SVT02B6Q",
        serial="S6WBNS0T123456X",
        temperature_c=41.4,
        smart_health="passed",
    )
    assert drive.summary() == (
        "Samsung PSSD T7, USB, exFAT, firmware SVT02B6Q, serial S6WBNS0T123456X, 41 °C,"
        " SMART passed"
    )


def test_metadata_for_the_environment_table() -> None:
    drive = DriveInfo(
        mount_point=Path("/Volumes/Show"),
        volume_name="Show",
        filesystem="apfs",
        capacity_bytes=2_000_000_000_000,
        free_bytes=500_000_000_000,
        bus="thunderbolt",
        internal=False,
        solid_state=True,
        temperature_c=48.0,
        temperature_warning_c=70.0,
        temperature_critical_c=80.0,
    )
    metadata = drive.metadata()

    assert metadata["Drive bus"] == "Thunderbolt, external, solid state"
    assert metadata["Volume"] == "Show at /Volumes/Show, APFS, 500.0 GB free of 2.0 TB"
    assert metadata["Drive temperature"] == "48 °C (warning 70 °C, critical 80 °C)"
    assert metadata["Drive serial"] == "unknown"
    assert drive.used_fraction == 0.75


def test_notes_are_not_repeated() -> None:
    drive = DriveInfo()
    drive.note("smartctl is not installed")
    drive.note("smartctl is not installed")
    assert drive.notes == ["smartctl is not installed"]


def test_drive_info_round_trips_through_json() -> None:
    drive = DriveInfo(model="X", bus="nvme", notes=["a"])
    assert DriveInfo.model_validate_json(drive.model_dump_json()) == drive


def test_unsupported_platform_reports_unknown_with_a_note(tmp_path: Path) -> None:
    drive = probe_drive(tmp_path, platform="win32")

    assert drive.bus == "unknown"
    assert drive.platform == "win32"
    assert drive.notes == ["drive identity is read on macOS and Linux only, not on 'win32'"]
