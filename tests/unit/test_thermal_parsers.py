"""Every thermal source's reading, on recorded output: notifyutil, powermetrics, pmset, smartctl
(through the drive probe's parser) and hwmon files (through its placeholder rule).

Samples in tests/fixtures (sources in tests/fixtures/macos and the shared fixtures README):
`pmset_therm_*.txt` (exelban/stats issue 749, MenuMeters issue 158) and
`powermetrics_thermal_moderate.txt` (a public report) are copied from the shared fixtures;
`notifyutil_thermalpressurelevel_nominal.txt` is the output published in the MacThrottle write-up
(stanislas.blog, macOS 26.2) and `notifyutil_thermalpressurelevel_moderate_m4_air.txt` the one
measured on an M4 Air (mingrath/mbcheck); `powermetrics_not_root.txt` is the refusal quoted
verbatim in several public reports. hwmon files are rebuilt from the recorded `sensors_nvme.txt`.
Every file's source is in tests/fixtures/README.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import pytest

from pytest_qlab.drive.commands import CommandResult
from pytest_qlab.thermal.drive_sensors import HwmonBackend, SmartctlBackend, read_millidegrees
from pytest_qlab.thermal.macos import (
    PmsetThermBackend,
    PowermetricsBackend,
    ThermalPressureBackend,
    parse_notifyutil_state,
    parse_pmset_therm,
    parse_powermetrics_pressure,
    pressure_level_of,
)

FIXTURES = Path(__file__).parents[1] / "fixtures"
MACOS = FIXTURES / "macos"
LINUX = FIXTURES / "linux"


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


class Replies:
    """An injected runner: canned (exit code, stdout) by program name, else "not installed"."""

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


# --- notifyutil: the no-root thermal pressure level ---------------------------------------------


def test_notifyutil_recorded_nominal_level() -> None:
    state = parse_notifyutil_state(_text(MACOS / "notifyutil_thermalpressurelevel_nominal.txt"))

    assert state == 0
    assert pressure_level_of(state) == "nominal"


def test_notifyutil_recorded_moderate_level_through_the_backend() -> None:
    """Recorded on a fanless M4 MacBook Air under sustained load: level 1 is moderate."""
    run = Replies(
        {"notifyutil": (0, _text(MACOS / "notifyutil_thermalpressurelevel_moderate_m4_air.txt"))}
    )
    backend = ThermalPressureBackend(run)

    sample = backend.read()

    assert sample is not None
    assert sample.pressure_level == "moderate"
    assert sample.temperature_c is None  # the machine's state, not the drive's
    assert run.calls == [("notifyutil", "-g", "com.apple.system.thermalpressurelevel")]
    assert backend.name == "notifyutil:com.apple.system.thermalpressurelevel"


@pytest.mark.parametrize(
    ("stdout", "problem"),
    [
        ("com.apple.system.thermalpressurelevel 30\n", "30 is not one of macOS's levels 0-4"),
        ("notifyutil: usage\n", "no thermal pressure level"),
        ("com.apple.other.name 2\n", "no thermal pressure level"),
    ],
    ids=["ios-scale", "garbage", "other-name"],
)
def test_notifyutil_unusable_answers_say_why(stdout: str, problem: str) -> None:
    backend = ThermalPressureBackend(Replies({"notifyutil": (0, stdout)}))

    assert backend.read() is None
    assert backend.problem is not None
    assert problem in backend.problem


def test_notifyutil_missing_off_macos() -> None:
    backend = ThermalPressureBackend(Replies({}))

    assert backend.read() is None
    assert backend.problem == "notifyutil is not installed (it comes with macOS)"


# --- powermetrics (root) -------------------------------------------------------------------------


def test_powermetrics_recorded_moderate_level() -> None:
    text = _text(MACOS / "powermetrics_thermal_moderate.txt")
    assert parse_powermetrics_pressure(text) == "moderate"

    run = Replies({"powermetrics": (0, text)})
    sample = PowermetricsBackend(run).read()

    assert sample is not None
    assert sample.pressure_level == "moderate"
    assert run.calls == [("powermetrics", "--samplers", "thermal", "-i", "1", "-n", "1")]


def test_powermetrics_without_root_says_so() -> None:
    backend = PowermetricsBackend(
        Replies({"powermetrics": (1, _text(MACOS / "powermetrics_not_root.txt"))})
    )

    assert backend.read() is None
    assert backend.problem == "powermetrics needs root (run the qualification with sudo)"


def test_powermetrics_unknown_level_name_is_not_guessed() -> None:
    assert parse_powermetrics_pressure("Current pressure level: Scorching\n") is None
    assert parse_powermetrics_pressure("") is None


# --- pmset -g therm ----------------------------------------------------------------------------


def test_pmset_recorded_intel_throttled() -> None:
    therm = parse_pmset_therm(_text(MACOS / "pmset_therm_intel_throttled.txt"))

    assert therm.cpu_speed_limit_pct == 28
    assert therm.cpu_scheduler_limit_pct == 40
    assert therm.cpu_available_cpus == 8
    assert not therm.no_cpu_power_status

    sample = PmsetThermBackend(
        Replies({"pmset": (0, _text(MACOS / "pmset_therm_intel_throttled.txt"))})
    ).read()
    assert sample is not None
    assert sample.cpu_speed_limit_pct == 28


def test_pmset_recorded_apple_silicon_has_nothing_to_read() -> None:
    text = _text(MACOS / "pmset_therm_apple_silicon_quiet.txt")
    therm = parse_pmset_therm(text)
    assert therm.cpu_speed_limit_pct is None
    assert therm.no_cpu_power_status

    backend = PmsetThermBackend(Replies({"pmset": (0, text)}))
    assert backend.read() is None
    assert backend.problem == (
        "pmset -g therm has recorded no CPU power status (Apple Silicon Macs never do)"
    )


# --- smartctl -j -A, through the drive probe's parser --------------------------------------------


def test_smartctl_nvme_json_gives_temperature_and_counters() -> None:
    run = Replies({"smartctl": (0, _text(LINUX / "smartctl_nvme_intel.json"))})
    backend = SmartctlBackend("/dev/nvme0n1", run=run, warning_c=70.0, critical_c=80.0)

    sample = backend.read()

    assert sample is not None
    assert sample.temperature_c == 36
    # -A printed no limits: the probe's (from -a) are kept
    assert (sample.temperature_warning_c, sample.temperature_critical_c) == (70.0, 80.0)
    assert (sample.warning_temp_time_min, sample.critical_comp_time_min) == (0, 0)
    assert run.calls == [("smartctl", "-j", "-A", "/dev/nvme0n1")]
    assert backend.name == "smartctl:/dev/nvme0n1"
    assert backend.problem is None


def test_smartctl_limits_in_the_output_win_over_the_probes() -> None:
    document = json.loads(_text(LINUX / "smartctl_nvme_intel.json"))
    document["nvme_composite_temperature_threshold"] = {"warning": 75, "critical": 85}
    backend = SmartctlBackend(
        "/dev/nvme0n1",
        run=Replies({"smartctl": (0, json.dumps(document))}),
        warning_c=70.0,
        critical_c=80.0,
    )

    sample = backend.read()

    assert sample is not None
    assert (sample.temperature_warning_c, sample.temperature_critical_c) == (75.0, 85.0)


def test_smartctl_recorded_apple_m2_text_output() -> None:
    backend = SmartctlBackend(
        "/dev/disk0", run=Replies({"smartctl": (0, _text(MACOS / "smartctl_A_apple_m2.txt"))})
    )

    sample = backend.read()

    assert sample is not None
    assert sample.temperature_c == 35
    assert sample.temperature_critical_c is None


@pytest.mark.parametrize(
    ("fixture", "device", "returncode", "problem"),
    [
        (
            LINUX / "smartctl_virtio_unable_to_detect.json",
            "/dev/vda",
            1,
            "smartctl cannot read SMART data from /dev/vda (exit 1): /dev/vda: Unable to detect"
            " device type",
        ),
        (
            MACOS / "handwritten_smartctl_usb_open_failed.json",
            "/dev/disk2",
            2,
            "smartctl cannot read SMART data from /dev/disk2 (exit 2): Smartctl open device:"
            " /dev/disk2 failed: Operation not supported by device",
        ),
    ],
    ids=["virtio", "usb-enclosure"],
)
def test_smartctl_without_a_temperature_says_why(
    fixture: Path, device: str, returncode: int, problem: str
) -> None:
    backend = SmartctlBackend(device, run=Replies({"smartctl": (returncode, _text(fixture))}))

    assert backend.read() is None
    assert backend.problem == problem


def test_smartctl_permission_denied_asks_for_root() -> None:
    refused = {
        "smartctl": {
            "messages": [
                {
                    "string": "Smartctl open device: /dev/nvme0 failed: Permission denied",
                    "severity": "error",
                }
            ],
            "exit_status": 2,
        }
    }
    backend = SmartctlBackend("/dev/nvme0", run=Replies({"smartctl": (2, json.dumps(refused))}))

    assert backend.read() is None
    assert backend.problem == (
        "smartctl was not permitted to read /dev/nvme0: run as root to watch the drive temperature"
    )


def test_smartctl_not_installed_names_the_install_command() -> None:
    backend = SmartctlBackend(
        "/dev/disk4", run=Replies({}), install_hint="brew install smartmontools"
    )

    assert backend.read() is None
    assert backend.problem == (
        "smartctl is not installed (brew install smartmontools), so the temperature of"
        " /dev/disk4 cannot be read"
    )


# --- hwmon files -------------------------------------------------------------------------------


def hwmon_from_sensors(text: str, folder: Path) -> None:
    """Write the hwmon files behind a recorded `sensors` chip (values in millidegrees)."""
    folder.mkdir(parents=True, exist_ok=True)
    index = 0
    for line in text.splitlines():
        reading = re.match(r"^(\S[^:]*):\s+([+-][\d.]+)°C", line)
        if reading:
            index += 1
            (folder / f"temp{index}_label").write_text(reading.group(1) + "\n", encoding="utf-8")
            (folder / f"temp{index}_input").write_text(_milli(reading.group(2)), encoding="utf-8")
        for key, value in re.findall(r"(low|high|crit)\s*=\s*([+-][\d.]+)°C", line):
            suffix = {"low": "min", "high": "max", "crit": "crit"}[key]
            (folder / f"temp{index}_{suffix}").write_text(_milli(value), encoding="utf-8")


def _milli(celsius: str) -> str:
    return f"{round(float(celsius) * 1000)}\n"


def test_hwmon_recorded_nvme_composite_with_its_limits(tmp_path: Path) -> None:
    hwmon_from_sensors(_text(LINUX / "sensors_nvme.txt"), tmp_path / "hwmon2")
    backend = HwmonBackend(tmp_path / "hwmon2" / "temp1_input")

    sample = backend.read()

    assert sample is not None
    assert sample.temperature_c == pytest.approx(31.9)
    assert sample.temperature_warning_c == pytest.approx(80.8)
    assert sample.temperature_critical_c == pytest.approx(80.8)
    assert backend.name == f"hwmon:{tmp_path / 'hwmon2' / 'temp1_input'}"


def test_hwmon_placeholder_limit_falls_back_to_the_probes(tmp_path: Path) -> None:
    """Sensor 1's "high" in the recording is 65261.8 °C (0xFFFF K): the drive has no such limit."""
    hwmon_from_sensors(_text(LINUX / "sensors_nvme.txt"), tmp_path / "hwmon2")
    backend = HwmonBackend(tmp_path / "hwmon2" / "temp2_input", warning_c=70.0)

    sample = backend.read()

    assert sample is not None
    assert sample.temperature_c == pytest.approx(31.9)
    assert sample.temperature_warning_c == 70.0
    assert sample.temperature_critical_c is None


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("65261850\n", "reads 65261.8 °C, a placeholder for a value the drive lacks"),
        ("-273150\n", "reads -273.1 °C, a placeholder"),
        ("N/A\n", "holds 'N/A', not millidegrees"),
    ],
    ids=["0xFFFF-kelvin", "0-kelvin", "not-a-number"],
)
def test_hwmon_unusable_input_says_why(tmp_path: Path, content: str, problem: str) -> None:
    sensor = tmp_path / "temp1_input"
    sensor.write_text(content, encoding="utf-8")

    value, why = read_millidegrees(sensor)

    assert value is None
    assert why is not None
    assert problem in why
    assert str(sensor) in why


def test_hwmon_sensor_gone_says_why(tmp_path: Path) -> None:
    backend = HwmonBackend(tmp_path / "hwmon9" / "temp1_input")

    assert backend.read() is None
    assert backend.problem is not None
    assert "cannot be read (No such file or directory)" in backend.problem
