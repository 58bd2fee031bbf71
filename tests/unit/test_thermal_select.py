"""Which thermal source the monitor watches, per platform, and the one sentence it says when it
can watch none: with an injected runner, and with fake macOS programs first on PATH (the macOS
path run on Linux through the real command runner).

The DriveInfo values are what the drive probes produce for the recorded samples (see
test_drive_linux.py / test_drive_macos.py); the VM's is this project's Debian VM as probed.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from pytest_qlab.drive.commands import CommandResult
from pytest_qlab.drive.linux import probe_linux
from pytest_qlab.drive.model import DriveInfo
from pytest_qlab.thermal import ThermalMonitor, select_backend

FIXTURES = Path(__file__).parents[1] / "fixtures"
MACOS = FIXTURES / "macos"
LINUX = FIXTURES / "linux"


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


class Replies:
    """An injected runner: canned (exit code, stdout) by program name, else "not installed"."""

    def __init__(self, replies: dict[str, tuple[int, str]]) -> None:
        self.replies = replies
        self.calls: list[str] = []

    def __call__(self, argv: Sequence[str], timeout_s: float = 0.0) -> CommandResult:
        command = tuple(argv)
        self.calls.append(command[0])
        if command[0] not in self.replies:
            return CommandResult(command, None, "", "", problem="not installed", missing=True)
        returncode, stdout = self.replies[command[0]]
        return CommandResult(command, returncode, stdout, "")


def _nvme_hwmon(tmp_path: Path) -> Path:
    folder = tmp_path / "nvme0" / "hwmon2"
    folder.mkdir(parents=True)
    (folder / "temp1_label").write_text("Composite\n", encoding="utf-8")
    (folder / "temp1_input").write_text("31900\n", encoding="utf-8")
    (folder / "temp1_crit").write_text("80800\n", encoding="utf-8")
    return folder / "temp1_input"


def _linux_nvme(sensor: str | None) -> DriveInfo:
    return DriveInfo(
        platform="linux",
        bus="nvme",
        device="/dev/nvme0n1p2",
        whole_disk="/dev/nvme0n1",
        temperature_sensor=sensor,
        temperature_warning_c=70.0,
        temperature_critical_c=80.8,
    )


def _debian_vm() -> DriveInfo:
    return DriveInfo(
        platform="linux",
        mount_point=Path("/"),
        filesystem="ext4",
        device="/dev/vda",
        whole_disk="/dev/vda",
        bus="virtual",
        smart_health="unsupported",
        notes=[
            "vda is a paravirtual (virtio/Xen) disk: the host's drive is hidden",
            "a virtual disk's rotational flag says nothing about the host's drive",
            "a virtual disk has no SMART data or temperature of its own",
        ],
    )


def _mac(whole_disk: str = "/dev/disk4", sensor: str | None = None) -> DriveInfo:
    return DriveInfo(platform="darwin", bus="usb", whole_disk=whole_disk, temperature_sensor=sensor)


# --- Linux -------------------------------------------------------------------------------------


def test_linux_polls_the_hwmon_file_the_probe_found(tmp_path: Path) -> None:
    sensor = _nvme_hwmon(tmp_path)
    run = Replies({})

    selection = select_backend(_linux_nvme(f"hwmon:{sensor}"), run=run)

    assert selection.backend is not None
    assert selection.backend.name == f"hwmon:{sensor}"
    assert selection.backend.measures == "drive temperature"
    assert (selection.temperature_reason, selection.unavailable_reason) == (None, None)
    assert run.calls == []  # a file read: no smartctl process at all
    sample = selection.backend.read()
    assert sample is not None
    # the file's crit wins; its missing max leaves the probe's warning limit
    assert (sample.temperature_warning_c, sample.temperature_critical_c) == (70.0, 80.8)


def test_the_linux_probe_and_the_monitor_agree_on_the_sensor(tmp_path: Path) -> None:
    """The contract between them is DriveInfo.temperature_sensor: probe a fake sysfs tree (an
    NVMe controller with hwmon), then watch what the probe named while it warms up."""
    root = tmp_path / "sys"
    controller = root / "devices/pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme0"
    disk = controller / "nvme0n1"
    partition = disk / "nvme0n1p2"
    files = {
        controller / "hwmon2" / "temp1_label": "Composite",
        controller / "hwmon2" / "temp1_input": "31900",
        controller / "hwmon2" / "temp1_max": "80800",
        controller / "hwmon2" / "temp1_crit": "84800",
        disk / "size": "2000409264",
        disk / "queue" / "rotational": "0",
        partition / "partition": "2",
        partition / "dev": "259:2",
    }
    for path, content in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content + "\n", encoding="utf-8")
    (disk / "device").symlink_to(controller)
    (root / "dev" / "block").mkdir(parents=True)
    (root / "dev" / "block" / "259:2").symlink_to(partition)
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text("36 1 259:2 / / rw,relatime - ext4 /dev/nvme0n1p2 rw\n", encoding="utf-8")
    run = Replies({})

    drive = probe_linux(tmp_path, run, sys_root=root, mountinfo=mountinfo, device_number=(259, 2))
    monitor = ThermalMonitor.for_drive(drive, run=run, interval_s=0.02)
    with monitor:
        _wait_for(lambda: len(monitor.samples()) >= 2)
        (controller / "hwmon2" / "temp1_input").write_text("85100\n", encoding="utf-8")
        _wait_for(lambda: (latest := monitor.latest()) is not None and latest.temperature_c == 85.1)
    summary = monitor.summary()

    assert drive.temperature_sensor == f"hwmon:{controller / 'hwmon2' / 'temp1_input'}"
    assert monitor.backend_name == drive.temperature_sensor
    assert (summary.temperature_min_c, summary.temperature_max_c) == (31.9, 85.1)
    assert (summary.temperature_warning_c, summary.temperature_critical_c) == (80.8, 84.8)
    assert summary.at_or_above_critical
    assert run.calls == ["lsblk", "blkid", "smartctl"]  # the probe's; the monitor ran nothing


def test_linux_falls_back_to_smartctl_when_the_hwmon_file_is_gone(tmp_path: Path) -> None:
    run = Replies({"smartctl": (0, _text(LINUX / "smartctl_nvme_intel.json"))})

    selection = select_backend(_linux_nvme(f"hwmon:{tmp_path}/gone/temp1_input"), run=run)

    assert selection.backend is not None
    assert selection.backend.name == "smartctl:/dev/nvme0n1"
    assert selection.temperature_reason is None


def test_linux_without_hwmon_or_smartctl_says_both() -> None:
    selection = select_backend(_linux_nvme(None), run=Replies({}))

    assert selection.backend is None
    assert selection.unavailable_reason == (
        "no hwmon temperature sensor under /dev/nvme0n1; smartctl is not installed"
        " (apt install smartmontools), so the temperature of /dev/nvme0n1 cannot be read"
    )
    assert selection.temperature_reason == selection.unavailable_reason


def test_linux_virtual_disk_reads_nothing_and_says_why() -> None:
    run = Replies({})

    selection = select_backend(_debian_vm(), run=run)

    assert selection.backend is None
    assert selection.unavailable_reason == (
        "/dev/vda has no temperature sensor of its own"
        " (vda is a paravirtual (virtio/Xen) disk: the host's drive is hidden)"
    )
    assert run.calls == []


def test_tmpfs_has_no_drive_to_read() -> None:
    drive = DriveInfo(
        platform="linux",
        mount_point=Path("/dev/shm"),
        filesystem="tmpfs",
        bus="virtual",
        notes=[
            "/dev/shm is tmpfs (tmpfs), a filesystem with no drive of its own"
            " (so no SMART data or temperature)"
        ],
    )

    selection = select_backend(drive, run=Replies({}))

    assert selection.unavailable_reason is not None
    assert selection.unavailable_reason.startswith("/dev/shm has no temperature sensor of its own")
    assert "tmpfs" in selection.unavailable_reason


def test_other_platforms_are_named() -> None:
    selection = select_backend(DriveInfo(platform="win32"), run=Replies({}))

    assert selection.unavailable_reason == (
        "temperatures are read on macOS and Linux only, not on 'win32'"
    )


def test_a_monitor_for_an_unreadable_drive_carries_the_reason() -> None:
    monitor = ThermalMonitor.for_drive(_debian_vm(), run=Replies({}))

    assert monitor.backend is None
    assert monitor.unavailable_reason is not None
    assert monitor.temperature_reason == monitor.unavailable_reason
    assert "/dev/vda" in monitor.unavailable_reason


# --- macOS, injected runner ------------------------------------------------------------------


def test_macos_usb_enclosure_falls_back_to_thermal_pressure() -> None:
    run = Replies(
        {
            "smartctl": (2, _text(MACOS / "handwritten_smartctl_usb_open_failed.json")),
            "notifyutil": (0, _text(MACOS / "notifyutil_thermalpressurelevel_nominal.txt")),
        }
    )

    selection = select_backend(_mac(), run=run, is_root=False)

    assert selection.backend is not None
    assert selection.backend.measures == "thermal pressure"
    assert selection.temperature_reason is not None
    assert "Operation not supported by device" in selection.temperature_reason
    assert selection.unavailable_reason is None
    assert run.calls == ["smartctl", "notifyutil"]  # powermetrics needs root: not tried

    monitor = ThermalMonitor.for_drive(_mac(), run=run, is_root=False)
    assert monitor.temperature_reason == selection.temperature_reason


def test_macos_as_root_prefers_powermetrics_for_the_pressure_level() -> None:
    run = Replies(
        {
            "powermetrics": (0, _text(MACOS / "powermetrics_thermal_moderate.txt")),
            "notifyutil": (0, _text(MACOS / "notifyutil_thermalpressurelevel_nominal.txt")),
        }
    )

    selection = select_backend(_mac(), run=run, is_root=True)

    assert selection.backend is not None
    assert selection.backend.name == "powermetrics:thermal"
    assert run.calls == ["smartctl", "powermetrics"]


def test_macos_intel_without_notifyutil_reads_the_cpu_speed_limit() -> None:
    run = Replies({"pmset": (0, _text(MACOS / "pmset_therm_intel_throttled.txt"))})

    selection = select_backend(_mac(), run=run, is_root=False)

    assert selection.backend is not None
    assert selection.backend.name == "pmset:therm"
    assert selection.backend.measures == "CPU speed limit"


def test_macos_nothing_readable_lists_every_source() -> None:
    run = Replies({"pmset": (0, _text(MACOS / "pmset_therm_apple_silicon_quiet.txt"))})

    selection = select_backend(_mac(), run=run, is_root=False)

    assert selection.backend is None
    assert selection.unavailable_reason == (
        "smartctl is not installed (brew install smartmontools), so the temperature of"
        " /dev/disk4 cannot be read; notifyutil is not installed (it comes with macOS);"
        " pmset -g therm has recorded no CPU power status (Apple Silicon Macs never do)"
    )


def test_platform_argument_overrides_the_drives() -> None:
    run = Replies({"notifyutil": (0, "com.apple.system.thermalpressurelevel 1\n")})
    drive = DriveInfo(whole_disk="/dev/disk0")

    selection = select_backend(drive, platform="darwin", run=run, is_root=False)

    assert selection.backend is not None
    assert selection.backend.measures == "thermal pressure"


# --- macOS, fake programs on PATH through the real runner ----------------------------------------


def _program(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


@pytest.fixture
def fake_mac_bin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every program the macOS selection may run, as a fake first on PATH (so a real Mac's own
    programs never answer); each test rewrites the ones it cares about."""
    folder = tmp_path / "bin"
    folder.mkdir()
    _program(folder, "smartctl", f'cat "{MACOS / "smartctl_A_apple_m2.txt"}"')
    _program(folder, "notifyutil", f'cat "{MACOS / "notifyutil_thermalpressurelevel_nominal.txt"}"')
    _program(folder, "powermetrics", f'cat "{MACOS / "powermetrics_not_root.txt"}"\nexit 1')
    _program(folder, "pmset", f'cat "{MACOS / "pmset_therm_apple_silicon_quiet.txt"}"')
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")
    return folder


def test_fake_mac_internal_ssd_temperature_through_smartctl(fake_mac_bin: Path) -> None:
    selection = select_backend(_mac("/dev/disk0", "smartctl:/dev/disk0"), is_root=False)

    assert selection.backend is not None
    assert selection.backend.name == "smartctl:/dev/disk0"
    sample = selection.backend.read()
    assert sample is not None
    assert sample.temperature_c == 35


def test_fake_mac_monitor_follows_the_pressure_level(fake_mac_bin: Path, tmp_path: Path) -> None:
    """smartctl cannot open the USB disk; the monitor thread then runs the fake notifyutil
    through the real command runner and sees the level rise."""
    _program(
        fake_mac_bin,
        "smartctl",
        f'cat "{MACOS / "handwritten_smartctl_usb_open_failed.json"}"\nexit 2',
    )
    level = tmp_path / "level"
    level.write_text("0", encoding="utf-8")
    _program(
        fake_mac_bin,
        "notifyutil",
        f'echo "com.apple.system.thermalpressurelevel $(cat "{level}")"',
    )

    monitor = ThermalMonitor.for_drive(_mac(), is_root=True, interval_s=0.05)

    assert monitor.backend_name == "notifyutil:com.apple.system.thermalpressurelevel"
    with monitor:
        _wait_for(lambda: monitor.latest() is not None)
        level.write_text("2", encoding="utf-8")
        _wait_for(
            lambda: (latest := monitor.latest()) is not None and latest.pressure_level == "heavy"
        )
    summary = monitor.summary()
    assert summary.pressure_level_max == "heavy"
    assert summary.pressure_level_last == "heavy"
    assert summary.temperature_max_c is None
    assert summary.temperature_reason is not None
    assert "Operation not supported by device" in summary.temperature_reason
    assert summary.time_under_pressure_s is not None


def _wait_for(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)
