"""`smartctl -j -a <disk>` read into the few facts pytest-qlab reports, on macOS and Linux.

smartctl's exit code is a bitmask, not a verdict: Apple SSDs always set bit 2 (their error log
cannot be read) while the JSON is complete, so the JSON is parsed whatever the exit code, and
only bit 3 ("DISK FAILING") or `smart_status.passed = false` mean a failing drive.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from pytest_qlab.drive.commands import Runner
from pytest_qlab.drive.model import DriveInfo, SmartHealth
from pytest_qlab.drive.values import clean_text

EXIT_COMMAND_LINE = 1 << 0
"""Also set when smartctl cannot tell the device type (virtio, unknown USB bridges)."""
EXIT_OPEN_FAILED = 1 << 1
EXIT_COMMAND_FAILED = 1 << 2
"""Some SMART command failed; Apple SSDs set this on every run (unreadable error log)."""
EXIT_DISK_FAILING = 1 << 3
EXIT_PREFAIL_BELOW_THRESHOLD = 1 << 4
TIMEOUT_S = 20.0
"""smartctl may have to wake a sleeping disk first."""
PLAUSIBLE_TEMPERATURE_C = (-60.0, 200.0)
"""Outside this, a reading is a sentinel (0 K, 0xFFFF K), not a temperature."""

_PERMISSION = re.compile(r"permission denied|operation not permitted|must be root", re.IGNORECASE)


@dataclass(frozen=True)
class SmartctlReport:
    model: str | None = None
    serial: str | None = None
    firmware: str | None = None
    protocol: str | None = None
    """smartctl's device protocol: "NVMe", "ATA", "SCSI"."""
    rotation_rate_rpm: int | None = None
    """ATA only: 0 means solid state."""
    capacity_bytes: int | None = None
    smart_health: SmartHealth = "unknown"
    temperature_c: float | None = None
    temperature_warning_c: float | None = None
    temperature_critical_c: float | None = None
    warning_temp_time_min: int | None = None
    critical_comp_time_min: int | None = None
    thermal_transitions: int | None = None
    thermal_throttle_time_s: int | None = None
    permission_denied: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)


def plausible_temperature(value: float | None) -> float | None:
    low, high = PLAUSIBLE_TEMPERATURE_C
    if value is None or not low < value < high:
        return None
    return value


def parse_smartctl(stdout: str, returncode: int | None, device: str = "the disk") -> SmartctlReport:
    """Read smartctl's JSON (or, from a smartctl without -j, its text) into a report."""
    try:
        document = json.loads(stdout)
    except ValueError:
        return _parse_text(stdout, returncode, device)
    if not isinstance(document, dict):
        return SmartctlReport(notes=(f"smartctl printed no JSON object for {device}",))
    return _parse_json(document, returncode, device)


def _parse_json(document: dict[str, Any], returncode: int | None, device: str) -> SmartctlReport:
    if returncode is None:
        returncode = _int(_get(document, "smartctl", "exit_status"))
    status = returncode or 0
    messages = [
        str(message.get("string", ""))
        for message in _get(document, "smartctl", "messages") or []
        if isinstance(message, dict)
    ]
    notes: list[str] = []
    permission_denied = any(_PERMISSION.search(message) for message in messages)
    model = clean_text(document.get("model_name")) or clean_text(document.get("product"))
    vendor = clean_text(document.get("vendor"))
    if vendor and model and not model.startswith(vendor):
        model = f"{vendor} {model}"  # SCSI/USB bridges split the name in two
    passed = _get(document, "smart_status", "passed")
    health: SmartHealth
    if status & EXIT_DISK_FAILING or passed is False:
        health = "failed"
        notes.append(f"smartctl reports {device} as FAILING its SMART health check")
    elif passed is True:
        health = "passed"
    elif permission_denied:
        health = "unknown"
        notes.append(f"smartctl was not permitted to read {device}: run as root for SMART data")
    elif status & (EXIT_COMMAND_LINE | EXIT_OPEN_FAILED):
        health = "unsupported"
        detail = f": {'; '.join(messages)}" if messages else ""
        notes.append(f"smartctl cannot read SMART data from {device} (exit {status}){detail}")
    else:
        health = "unknown"
        notes.append(f"smartctl gave no overall SMART health for {device}")
    if status & EXIT_COMMAND_FAILED and passed is not None:
        notes.append(
            f"smartctl exit code {status} has bit 2 set (a SMART command failed"
            " - on Apple SSDs the error log is unreadable); its other values were read"
        )
    if status & EXIT_PREFAIL_BELOW_THRESHOLD:
        notes.append(f"smartctl: {device} has pre-failure attributes at or below threshold")

    nvme_log = document.get("nvme_smart_health_information_log")
    nvme_log = nvme_log if isinstance(nvme_log, dict) else {}
    temperature = plausible_temperature(_float(_get(document, "temperature", "current")))
    if temperature is None:
        temperature = plausible_temperature(_float(nvme_log.get("temperature")))
    thresholds = document.get("nvme_composite_temperature_threshold")
    thresholds = thresholds if isinstance(thresholds, dict) else {}
    warning = _first_float(_get(document, "temperature", "op_limit_max"), thresholds.get("warning"))
    critical = _first_float(
        _get(document, "temperature", "critical_limit_max"),
        thresholds.get("critical"),
        _get(document, "temperature", "limit_max"),
    )
    transitions = _sum_present(
        nvme_log.get("thermal_mgmt_temperature_1_transition_count"),
        nvme_log.get("thermal_mgmt_temperature_2_transition_count"),
    )
    throttle_time = _sum_present(
        nvme_log.get("thermal_mgmt_temperature_1_total_time"),
        nvme_log.get("thermal_mgmt_temperature_2_total_time"),
    )
    return SmartctlReport(
        model=model,
        serial=clean_text(document.get("serial_number")),
        firmware=clean_text(document.get("firmware_version"))
        or clean_text(document.get("revision")),
        protocol=clean_text(_get(document, "device", "protocol")),
        rotation_rate_rpm=_int(document.get("rotation_rate")),
        capacity_bytes=_int(_get(document, "user_capacity", "bytes")),
        smart_health=health,
        temperature_c=temperature,
        temperature_warning_c=plausible_temperature(warning),
        temperature_critical_c=plausible_temperature(critical),
        warning_temp_time_min=_int(nvme_log.get("warning_temp_time")),
        critical_comp_time_min=_int(nvme_log.get("critical_comp_time")),
        thermal_transitions=transitions,
        thermal_throttle_time_s=throttle_time,
        permission_denied=permission_denied,
        notes=tuple(notes),
    )


def combine_health(first: SmartHealth, second: SmartHealth) -> SmartHealth:
    """Either source saying "failed" wins; then "passed"; then whichever knows more."""
    both = (first, second)
    if "failed" in both:
        return "failed"
    if "passed" in both:
        return "passed"
    if "unsupported" in both:
        return "unsupported"
    return "unknown"


def read_smartctl(
    drive: DriveInfo, run: Runner, device: str, install_hint: str
) -> SmartctlReport | None:
    """Run smartctl on `device` and put its health, temperature and thermal counters into
    `drive` (identity is left to the backend, which knows its other sources); None when
    smartctl did not run, with a note saying why."""
    result = run(["smartctl", "-j", "-a", device], TIMEOUT_S)
    if result.missing:
        drive.note(f"smartctl is not installed ({install_hint}): no SMART data read")
        return None
    if not result.ran:
        drive.note(f"smartctl could not read {device} ({result.describe()})")
        return None
    report = parse_smartctl(result.stdout, result.returncode, device)
    for note in report.notes:
        drive.note(note)
    drive.smart_health = combine_health(drive.smart_health, report.smart_health)
    if drive.solid_state is None and report.rotation_rate_rpm is not None:
        drive.solid_state = report.rotation_rate_rpm == 0
    if report.temperature_c is not None:
        drive.temperature_c = report.temperature_c
        drive.temperature_sensor = f"smartctl:{device}"
    drive.temperature_warning_c = report.temperature_warning_c
    drive.temperature_critical_c = report.temperature_critical_c
    drive.warning_temp_time_min = report.warning_temp_time_min
    drive.critical_comp_time_min = report.critical_comp_time_min
    drive.thermal_transitions = report.thermal_transitions
    drive.thermal_throttle_time_s = report.thermal_throttle_time_s
    return report


_TEXT_FIELDS = {
    "model": re.compile(r"^(?:Model Number|Device Model|Product):\s*(.+?)\s*$", re.MULTILINE),
    "serial": re.compile(r"^Serial Number:\s*(.+?)\s*$", re.MULTILINE),
    "firmware": re.compile(r"^(?:Firmware Version|Revision):\s*(.+?)\s*$", re.MULTILINE),
}
_TEXT_TEMPERATURE = re.compile(r"^(?:Current Drive )?Temperature:\s+(-?\d+) Celsius", re.MULTILINE)
_TEXT_HEALTH = re.compile(r"self-assessment test result:\s*(PASSED|FAILED)", re.IGNORECASE)


def _parse_text(stdout: str, returncode: int | None, device: str) -> SmartctlReport:
    """smartctl before 7.0 has no -j; its text is English whatever the locale."""
    found = {
        name: match.group(1)
        for name, pattern in _TEXT_FIELDS.items()
        if (match := pattern.search(stdout))
    }
    temperature_match = _TEXT_TEMPERATURE.search(stdout)
    health_match = _TEXT_HEALTH.search(stdout)
    health: SmartHealth = "unknown"
    notes = []
    if (returncode or 0) & EXIT_DISK_FAILING or (
        health_match and health_match.group(1).upper() == "FAILED"
    ):
        health = "failed"
    elif health_match:
        health = "passed"
    if not (found or temperature_match or health_match):
        notes.append(f"smartctl printed nothing readable for {device}")
    return SmartctlReport(
        model=found.get("model"),
        serial=found.get("serial"),
        firmware=found.get("firmware"),
        smart_health=health,
        temperature_c=plausible_temperature(
            float(temperature_match.group(1)) if temperature_match else None
        ),
        permission_denied=bool(_PERMISSION.search(stdout)),
        notes=tuple(notes),
    )


def _get(document: dict[str, Any], *keys: str) -> Any:
    value: Any = document
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _first_float(*values: Any) -> float | None:
    for value in values:
        number = _float(value)
        if number is not None:
            return number
    return None


def _sum_present(*values: Any) -> int | None:
    numbers = [number for value in values if (number := _int(value)) is not None]
    return sum(numbers) if numbers else None
