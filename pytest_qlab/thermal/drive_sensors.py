"""The drive's own temperature: the hwmon file of its NVMe controller (or drivetemp) on Linux,
and `smartctl -j -A` on macOS and Linux.

hwmon costs one small file read per sample and needs no root, so it is polled where the drive
probe found one. smartctl costs a process per sample and, on Linux, root. Both reuse the drive
probe's rules: smartctl output goes through `parse_smartctl`, and values outside
`plausible_temperature` (0xFFFF K = 65261.8 °C, 0 K) are placeholders, not temperatures.
"""

from __future__ import annotations

from pathlib import Path

from pytest_qlab.drive import commands
from pytest_qlab.drive.commands import Runner
from pytest_qlab.drive.smartctl import parse_smartctl, plausible_temperature
from pytest_qlab.thermal.backend import READ_TIMEOUT_S, Measure
from pytest_qlab.thermal.model import ThermalSample

MILLIDEGREES_PER_C = 1000


def read_millidegrees(path: Path) -> tuple[float | None, str | None]:
    """An hwmon temperature file in °C, or None and why (unreadable, not a number, a
    placeholder)."""
    try:
        text = path.read_text(encoding="ascii", errors="replace").strip()
    except OSError as exc:
        return None, f"{path} cannot be read ({exc.strerror or exc})"
    try:
        value = int(text) / MILLIDEGREES_PER_C
    except ValueError:
        return None, f"{path} holds {text[:40]!r}, not millidegrees"
    if plausible_temperature(value) is None:
        return None, f"{path} reads {value:.1f} °C, a placeholder for a value the drive lacks"
    return value, None


class HwmonBackend:
    """Polls one hwmon `tempN_input`; its limits (`tempN_max`, `tempN_crit`) are read once, and
    the drive probe's limits fill in where the files are missing or hold placeholders."""

    measures: Measure = "drive temperature"

    def __init__(
        self,
        sensor: Path,
        *,
        warning_c: float | None = None,
        critical_c: float | None = None,
    ) -> None:
        self.sensor = sensor
        prefix = sensor.name.removesuffix("_input")
        self.warning_c = self._limit(sensor.with_name(f"{prefix}_max")) or warning_c
        self.critical_c = self._limit(sensor.with_name(f"{prefix}_crit")) or critical_c
        self._problem: str | None = None

    @staticmethod
    def _limit(path: Path) -> float | None:
        if not path.exists():
            return None
        return read_millidegrees(path)[0]

    @property
    def name(self) -> str:
        return f"hwmon:{self.sensor}"

    @property
    def problem(self) -> str | None:
        return self._problem

    def read(self) -> ThermalSample | None:
        temperature_c, self._problem = read_millidegrees(self.sensor)
        if temperature_c is None:
            return None
        return ThermalSample(
            temperature_c=temperature_c,
            temperature_warning_c=self.warning_c,
            temperature_critical_c=self.critical_c,
        )


class SmartctlBackend:
    """Runs `smartctl -j -A <device>`: the temperature and, on NVMe, the thermal counters.
    `-A` prints no limits on most drives, so the limits the probe read with `-a` are kept
    unless this output names its own."""

    measures: Measure = "drive temperature"

    def __init__(
        self,
        device: str,
        *,
        run: Runner = commands.run,
        install_hint: str = "install smartmontools",
        warning_c: float | None = None,
        critical_c: float | None = None,
        timeout_s: float = READ_TIMEOUT_S,
    ) -> None:
        self.device = device
        self.warning_c = warning_c
        self.critical_c = critical_c
        self._run = run
        self._install_hint = install_hint
        self._timeout_s = timeout_s
        self._problem: str | None = None

    @property
    def name(self) -> str:
        return f"smartctl:{self.device}"

    @property
    def problem(self) -> str | None:
        return self._problem

    def read(self) -> ThermalSample | None:
        result = self._run(["smartctl", "-j", "-A", self.device], self._timeout_s)
        if result.missing:
            self._problem = (
                f"smartctl is not installed ({self._install_hint}), so the temperature of"
                f" {self.device} cannot be read"
            )
            return None
        if not result.ran:
            self._problem = f"smartctl could not read {self.device} ({result.describe()})"
            return None
        report = parse_smartctl(result.stdout, result.returncode, self.device)
        if report.temperature_c is None:
            self._problem = self._why_no_temperature(report.permission_denied, report.notes)
            if self._problem is None:
                self._problem = (
                    f"smartctl reports no temperature for {self.device} (exit {result.returncode})"
                )
            return None
        self._problem = None
        return ThermalSample(
            temperature_c=report.temperature_c,
            temperature_warning_c=report.temperature_warning_c or self.warning_c,
            temperature_critical_c=report.temperature_critical_c or self.critical_c,
            warning_temp_time_min=report.warning_temp_time_min,
            critical_comp_time_min=report.critical_comp_time_min,
            thermal_transitions=report.thermal_transitions,
            thermal_throttle_time_s=report.thermal_throttle_time_s,
        )

    def _why_no_temperature(self, permission_denied: bool, notes: tuple[str, ...]) -> str | None:
        if permission_denied:
            return (
                f"smartctl was not permitted to read {self.device}: run as root to watch the"
                " drive temperature"
            )
        return next((note for note in notes if "cannot read" in note), None)
