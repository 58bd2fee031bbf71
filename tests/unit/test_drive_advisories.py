"""Pre-show advisories: the parsers of mdutil/pmset/tmutil output and every decision, with its
thresholds. Only what endangers playback fails (SMART failing, critical temperature, > 98 % full).

The mdutil, pmset and tmutil samples in tests/fixtures/macos are real output published by others
(sources in tests/fixtures/README.md), except `handwritten_tmutil_destinationinfo_show.txt`: no
recording has the show volume itself as a Time Machine destination.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from pytest_qlab.drive.advisories import (
    ADVISORY_NAMES,
    HOT_WITHOUT_LIMIT_C,
    Advisory,
    TimeMachineStatus,
    collect_advisories,
    disk_sleep_advisory,
    filesystem_advisory,
    free_space_advisory,
    parse_mdutil_status,
    parse_pmset_disksleep_min,
    parse_tmutil_destinations,
    parse_tmutil_status,
    smart_advisory,
    spotlight_advisory,
    temperature_advisory,
    time_machine_advisory,
)
from pytest_qlab.drive.commands import CommandResult
from pytest_qlab.drive.model import DriveInfo

MACOS = Path(__file__).parents[1] / "fixtures" / "macos"


def _text(name: str) -> str:
    return (MACOS / name).read_text(encoding="utf-8")


# --- parsers --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "indexing"),
    [
        (_text("mdutil_s_enabled_smb_share.txt"), True),
        (_text("mdutil_s_disabled_root.txt"), False),
        ("/Volumes/Show:\n\tIndexing disabled.\n", False),
        ("/Volumes/Show:\n\tIndexing and searching disabled.\n", False),
        ("/Volumes/Show:\n\tError: unknown indexing state.\n", None),
        ("", None),
    ],
)
def test_mdutil_status(output: str, indexing: bool | None) -> None:
    assert parse_mdutil_status(output) is indexing


def test_pmset_disksleep() -> None:
    # Recorded: "sleep 1 (sleep prevented by sharingd, coreaudiod)" sits two lines below.
    assert parse_pmset_disksleep_min(_text("pmset_g_imac20_1_hackintosh.txt")) == 10
    assert parse_pmset_disksleep_min("Currently in use:\n disksleep            0\n") == 0
    assert parse_pmset_disksleep_min("Currently in use:\n sleep 1\n") is None


def test_tmutil_destinations_with_a_network_and_a_local_one() -> None:
    # handwritten_tmutil_destinationinfo_show.txt is a HAND-WRITTEN sample (not recorded) in the
    # shape of published `tmutil destinationinfo` output: a network destination (URL, no mount
    # point while unmounted) and the show drive itself as a local destination.
    destinations = parse_tmutil_destinations(_text("handwritten_tmutil_destinationinfo_show.txt"))

    assert destinations is not None
    assert [(d.name, d.kind, d.mount_point) for d in destinations] == [
        ("Office NAS", "Network", None),
        ("Show", "Local", "/Volumes/Show"),
    ]
    assert destinations[0].url == "smb://tech@nas.local/TimeMachine"
    assert destinations[1].id == "9E4A1C27-5B3D-4F08-8C6E-D2A7B1F03E59"


def test_tmutil_local_destination_that_is_not_plugged_in_has_no_mount_point() -> None:
    """Recorded: a local destination whose disk is absent lists no "Mount Point" line."""
    destinations = parse_tmutil_destinations(_text("tmutil_destinationinfo_local_not_mounted.txt"))

    assert destinations is not None
    (destination,) = destinations
    assert (destination.name, destination.kind, destination.mount_point) == (
        "TM_05-31-26_to_0",
        "Local",
        None,
    )
    assert destination.id == "141CF455-5990-4502-9BD0-58374769CA62"


def test_tmutil_mounted_network_destination_has_a_url_and_a_mount_point() -> None:
    destinations = parse_tmutil_destinations(
        _text("tmutil_destinationinfo_network_afp_mounted.txt")
    )

    assert destinations is not None
    (destination,) = destinations
    assert (destination.kind, destination.url, destination.mount_point) == (
        "Network",
        "afp://elatov@zf/time_mach",
        "/Volumes/time_mach-1",
    )


def test_tmutil_without_destinations_and_with_odd_output() -> None:
    assert parse_tmutil_destinations("tmutil: No destinations configured.\n") == []
    assert parse_tmutil_destinations("Segmentation fault\n") is None


def test_tmutil_status_idle_and_running() -> None:
    idle = parse_tmutil_status(_text("tmutil_status_idle.txt"))
    running = parse_tmutil_status(_text("tmutil_status_running_first_backup.txt"))

    assert idle == TimeMachineStatus(running=False)
    assert running.running is True
    assert running.destination_mount_point == "/Volumes/Backups of smac14"  # quoted, with spaces
    assert running.phase == "Copying"
    assert parse_tmutil_status("").running is None


# --- macOS settings -------------------------------------------------------------------------------


def test_spotlight_says_how_to_turn_it_off_for_the_volume() -> None:
    advisory = spotlight_advisory(True, "/Volumes/Show", "darwin")
    assert advisory.severity == "warn"
    assert advisory.message.endswith("sudo mdutil -i off /Volumes/Show")
    assert spotlight_advisory(False, "/Volumes/Show", "darwin").severity == "ok"
    unknown = spotlight_advisory(None, "/Volumes/Show", "darwin", "mdutil: timed out after 10 s")
    assert (unknown.severity, unknown.message) == ("skip", "mdutil: timed out after 10 s")


def test_disk_sleep() -> None:
    assert disk_sleep_advisory(10, "darwin").severity == "warn"
    assert "sudo pmset -a disksleep 0" in disk_sleep_advisory(10, "darwin").message
    assert disk_sleep_advisory(0, "darwin").severity == "ok"
    assert disk_sleep_advisory(None, "darwin").severity == "skip"


def test_time_machine_elsewhere_and_idle_is_ok() -> None:
    destinations = parse_tmutil_destinations(_text("tmutil_destinationinfo_local_not_mounted.txt"))
    advisory = time_machine_advisory(
        destinations, TimeMachineStatus(running=False), "/Volumes/Show", "darwin"
    )
    assert advisory.severity == "ok"
    assert "does not back up onto this volume" in advisory.message


def test_time_machine_backing_up_elsewhere_right_now_warns() -> None:
    advisory = time_machine_advisory([], TimeMachineStatus(running=True), "/Volumes/Show", "darwin")
    assert advisory.severity == "warn"
    assert "backing up right now:" in advisory.message
    assert "sudo tmutil disable" in advisory.message


def test_time_machine_backing_up_onto_the_show_volume_right_now_says_so() -> None:
    status = TimeMachineStatus(running=True, destination_mount_point="/Volumes/Show")
    advisory = time_machine_advisory([], status, "/Volumes/Show", "darwin")
    assert advisory.severity == "warn"
    assert "backing up right now onto this volume" in advisory.message


def test_time_machine_unreadable_skips_with_the_reason() -> None:
    advisory = time_machine_advisory(None, None, "/Volumes/Show", "darwin", "tmutil: timed out")
    assert (advisory.severity, advisory.message) == ("skip", "tmutil: timed out")


@pytest.mark.parametrize(
    "advisory",
    [
        spotlight_advisory(True, "/mnt/show", "linux"),
        disk_sleep_advisory(10, "linux"),
        time_machine_advisory([], TimeMachineStatus(running=True), "/mnt/show", "linux"),
    ],
    ids=["spotlight", "disk-sleep", "time-machine"],
)
def test_macos_settings_skip_elsewhere(advisory: Advisory) -> None:
    assert (advisory.severity, advisory.message) == ("skip", "macOS only")


# --- the drive itself -----------------------------------------------------------------------------


def test_smart_failing_fails_and_unsupported_skips_with_the_drive_s_reason() -> None:
    assert smart_advisory(DriveInfo(smart_health="failed")).severity == "fail"
    assert smart_advisory(DriveInfo(smart_health="passed")).severity == "ok"
    usb = DriveInfo(
        smart_health="unsupported",
        notes=["diskutil: SMART Not Supported (USB enclosures usually pass no SMART data through)"],
    )
    advisory = smart_advisory(usb)
    assert advisory.severity == "skip"
    assert "USB enclosures" in advisory.message


@pytest.mark.parametrize(
    ("temperature_c", "warning_c", "critical_c", "severity"),
    [
        (41.0, 70.0, 80.0, "ok"),
        (70.0, 70.0, 80.0, "warn"),
        (80.0, 70.0, 80.0, "fail"),
        (85.0, None, 80.0, "fail"),
        (HOT_WITHOUT_LIMIT_C - 1, None, None, "ok"),
        (HOT_WITHOUT_LIMIT_C, None, None, "warn"),
    ],
)
def test_temperature_thresholds(
    temperature_c: float, warning_c: float | None, critical_c: float | None, severity: str
) -> None:
    drive = DriveInfo(
        temperature_c=temperature_c,
        temperature_warning_c=warning_c,
        temperature_critical_c=critical_c,
    )
    advisory = temperature_advisory(drive)
    assert advisory.severity == severity
    assert f"{temperature_c:.0f} °C" in advisory.message


def test_temperature_history_is_mentioned_and_unknown_skips() -> None:
    drive = DriveInfo(temperature_c=45.0, temperature_warning_c=70.0, warning_temp_time_min=14)
    assert "14 min above its warning limit" in temperature_advisory(drive).message
    unknown = DriveInfo(notes=["temperature unknown: only smartctl reads a drive temperature"])
    advisory = temperature_advisory(unknown)
    assert advisory.severity == "skip"
    assert advisory.message.startswith("temperature unknown: only smartctl")


@pytest.mark.parametrize(
    ("filesystem", "platform", "severity", "reason"),
    [
        ("exfat", "darwin", "warn", "no journal"),
        ("msdos", "darwin", "warn", "4 GB"),
        ("ntfs", "darwin", "warn", "read-only"),
        ("vfat", "linux", "warn", "4 GB"),
        ("apfs", "darwin", "ok", "suits playback"),
        ("hfs", "darwin", "ok", "suits playback"),
        ("ext4", "linux", "skip", "macOS"),
        (None, "darwin", "skip", "unknown"),
    ],
)
def test_filesystem(filesystem: str | None, platform: str, severity: str, reason: str) -> None:
    advisory = filesystem_advisory(DriveInfo(filesystem=filesystem), platform)
    assert advisory.severity == severity
    assert reason in advisory.message


@pytest.mark.parametrize(
    ("free_bytes", "severity"),
    [(500, "ok"), (100, "ok"), (99, "warn"), (21, "warn"), (20, "warn"), (19, "fail"), (0, "fail")],
)
def test_free_space_thresholds(free_bytes: int, severity: str) -> None:
    """On a 1000-byte volume: over 90 % used warns, over 98 % fails."""
    drive = DriveInfo(capacity_bytes=1000, free_bytes=free_bytes)
    assert free_space_advisory(drive).severity == severity


def test_free_space_unknown_skips() -> None:
    assert free_space_advisory(DriveInfo()).severity == "skip"


def test_collect_on_linux_runs_no_macos_program(tmp_path: Path) -> None:
    def no_programs(argv: Sequence[str], timeout_s: float = 0.0) -> CommandResult:
        raise AssertionError(f"ran {argv!r}")

    drive = DriveInfo(filesystem="ext4", capacity_bytes=100, free_bytes=50, smart_health="passed")
    advisories = collect_advisories(tmp_path, drive, "linux", no_programs)

    assert [a.name for a in advisories] == [
        "spotlight",
        "disk-sleep",
        "time-machine",
        "smart",
        "temperature",
        "filesystem",
        "free-space",
    ]
    assert tuple(a.name for a in advisories) == ADVISORY_NAMES  # one setup-check item each
    assert [a.severity for a in advisories] == ["skip", "skip", "skip", "ok", "skip", "skip", "ok"]
