"""macOS's own thermal state, for when the drive's temperature cannot be read (USB enclosures,
no smartmontools): the thermal pressure level and the CPU speed limit.

- `notifyutil -g com.apple.system.thermalpressurelevel` needs no root: thermald posts the level
  (0 nominal .. 4 sleeping, OSThermalNotification.h) as a Darwin notification. Trap: notifyutil
  answers 0 for a name that was never posted, so 0 means "nominal or not published".
- `powermetrics --samplers thermal` prints the same level by name ("Current pressure level:
  Moderate") but only as root; `-i 1 -n 1` takes one 1 ms sample instead of waiting 5 s.
- `pmset -g therm` prints `CPU_Speed_Limit = N` after a CPU power notification (Intel Macs);
  Apple Silicon Macs never record one, and say so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pytest_qlab.drive import commands
from pytest_qlab.drive.commands import CommandResult, Runner
from pytest_qlab.thermal.backend import READ_TIMEOUT_S, Measure
from pytest_qlab.thermal.model import PRESSURE_LEVELS, PressureLevel, ThermalSample

PRESSURE_NOTIFICATION = "com.apple.system.thermalpressurelevel"
_NOTIFY_STATE = re.compile(r"^\s*(\S+)\s+(-?\d+)\s*$", re.MULTILINE)
_POWERMETRICS_LEVEL = re.compile(r"^\s*Current pressure level:\s*(\w+)", re.MULTILINE)
_PMSET_VALUE = re.compile(r"^\s*(CPU_\w+)\s*=\s*(\d+)\s*$", re.MULTILINE)
_NOT_ROOT = re.compile(r"must be invoked as the superuser", re.IGNORECASE)


def parse_notifyutil_state(text: str, name: str = PRESSURE_NOTIFICATION) -> int | None:
    """`notifyutil -g <name>` prints "<name> <state>"; the state, or None."""
    for found_name, state in _NOTIFY_STATE.findall(text):
        if found_name == name:
            return int(state)
    return None


def pressure_level_of(state: int) -> PressureLevel | None:
    """macOS levels are 0-4; other values (iOS uses 0, 10, 20, ...) are not macOS's."""
    if 0 <= state < len(PRESSURE_LEVELS):
        return PRESSURE_LEVELS[state]
    return None


def parse_powermetrics_pressure(text: str) -> PressureLevel | None:
    """The last "Current pressure level: <Name>" of `powermetrics --samplers thermal`."""
    found = _POWERMETRICS_LEVEL.findall(text)
    if not found:
        return None
    name = found[-1].lower()
    return next((level for level in PRESSURE_LEVELS if level == name), None)


@dataclass(frozen=True)
class PmsetTherm:
    """`pmset -g therm`: the last CPU power notification, if any was recorded."""

    cpu_speed_limit_pct: int | None = None
    cpu_scheduler_limit_pct: int | None = None
    cpu_available_cpus: int | None = None
    no_cpu_power_status: bool = False
    """pmset said "No CPU power status has been recorded" (always, on Apple Silicon)."""


def parse_pmset_therm(text: str) -> PmsetTherm:
    """Lines are tab, key, space, tab, "=", value; the spacing is not relied on."""
    values = {key: int(value) for key, value in _PMSET_VALUE.findall(text)}
    return PmsetTherm(
        cpu_speed_limit_pct=values.get("CPU_Speed_Limit"),
        cpu_scheduler_limit_pct=values.get("CPU_Scheduler_Limit"),
        cpu_available_cpus=values.get("CPU_Available_CPUs"),
        no_cpu_power_status="no cpu power status has been recorded" in text.lower(),
    )


class _CommandBackend:
    """Runs one program per read; subclasses turn its output into a sample."""

    measures: Measure
    argv: tuple[str, ...]
    install_hint = "it comes with macOS"

    def __init__(self, run: Runner = commands.run, timeout_s: float = READ_TIMEOUT_S) -> None:
        self._run = run
        self._timeout_s = timeout_s
        self._problem: str | None = None

    @property
    def problem(self) -> str | None:
        return self._problem

    def read(self) -> ThermalSample | None:
        result = self._run(self.argv, self._timeout_s)
        if result.missing:
            self._problem = f"{self.argv[0]} is not installed ({self.install_hint})"
            return None
        if not result.ran:
            self._problem = result.describe()
            return None
        sample, self._problem = self.parse(result)
        return sample

    def parse(self, result: CommandResult) -> tuple[ThermalSample | None, str | None]:
        raise NotImplementedError


class ThermalPressureBackend(_CommandBackend):
    """The thermal pressure level thermald publishes, read without root through notifyutil."""

    measures: Measure = "thermal pressure"
    argv = ("notifyutil", "-g", PRESSURE_NOTIFICATION)

    @property
    def name(self) -> str:
        return f"notifyutil:{PRESSURE_NOTIFICATION}"

    def parse(self, result: CommandResult) -> tuple[ThermalSample | None, str | None]:
        state = parse_notifyutil_state(result.stdout) if result.ok else None
        if state is None:
            return None, f"notifyutil gave no thermal pressure level ({result.describe()})"
        level = pressure_level_of(state)
        if level is None:
            return None, f"thermal pressure level {state} is not one of macOS's levels 0-4"
        return ThermalSample(pressure_level=level), None


class PowermetricsBackend(_CommandBackend):
    """The same level, by name, from powermetrics (root only)."""

    measures: Measure = "thermal pressure"
    argv = ("powermetrics", "--samplers", "thermal", "-i", "1", "-n", "1")

    @property
    def name(self) -> str:
        return "powermetrics:thermal"

    def parse(self, result: CommandResult) -> tuple[ThermalSample | None, str | None]:
        if _NOT_ROOT.search(result.stdout + result.stderr):
            return None, "powermetrics needs root (run the qualification with sudo)"
        level = parse_powermetrics_pressure(result.stdout)
        if level is None:
            return None, f"powermetrics printed no thermal pressure level ({result.describe()})"
        return ThermalSample(pressure_level=level), None


class PmsetThermBackend(_CommandBackend):
    """The CPU speed limit of the last CPU power notification (Intel Macs)."""

    measures: Measure = "CPU speed limit"
    argv = ("pmset", "-g", "therm")

    @property
    def name(self) -> str:
        return "pmset:therm"

    def parse(self, result: CommandResult) -> tuple[ThermalSample | None, str | None]:
        therm = parse_pmset_therm(result.stdout)
        if therm.cpu_speed_limit_pct is not None:
            return ThermalSample(cpu_speed_limit_pct=therm.cpu_speed_limit_pct), None
        if therm.no_cpu_power_status:
            return None, (
                "pmset -g therm has recorded no CPU power status (Apple Silicon Macs never do)"
            )
        return None, f"pmset -g therm printed no CPU_Speed_Limit ({result.describe()})"
