"""The one way drive probes run platform programs (diskutil, smartctl, lsblk, mdutil, ...).

A missing, broken or hung program is an answer ("not installed", "timed out"), never an
exception: a pre-show check must still report what it could read. Tests swap in fake programs
by putting them first on PATH, or pass their own `Runner`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

DEFAULT_TIMEOUT_S = 15.0
FALLBACK_DIRS = (
    "/usr/sbin",
    "/sbin",
    "/usr/local/sbin",
    "/usr/local/bin",
    "/opt/homebrew/bin",
    "/opt/homebrew/sbin",
)
"""Searched after PATH: smartctl lives in sbin on Debian (not on a user's PATH) and in Homebrew's
folder on macOS, which a GUI-launched or launchd shell often lacks."""
PLATFORM_OVERRIDE_ENV = "QLAB_PLATFORM"
"""Internal: lets the project's tests drive the macOS code path on Linux, end to end."""


def current_platform() -> str:
    """sys.platform, unless the project's tests set $QLAB_PLATFORM."""
    return os.environ.get(PLATFORM_OVERRIDE_ENV) or sys.platform


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    returncode: int | None
    """None when the program did not run to its end (see `problem`)."""
    stdout: str
    stderr: str
    problem: str | None = None
    """Why it did not run or finish: "not installed", "timed out after 15 s", ..."""
    missing: bool = False
    """The program is not installed (a fact worth its own note: "brew install smartmontools")."""

    @property
    def ran(self) -> bool:
        return self.problem is None

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def program(self) -> str:
        return os.path.basename(self.argv[0]) if self.argv else ""

    def describe(self) -> str:
        """One phrase for notes: "smartctl: not installed", "lsblk exited 32: <stderr line>"."""
        if self.problem is not None:
            return f"{self.program}: {self.problem}"
        first_line = (self.stderr.strip() or self.stdout.strip()).splitlines()[:1]
        detail = f": {first_line[0]}" if first_line else ""
        return f"{self.program} exited {self.returncode}{detail}"


class Runner(Protocol):
    def __call__(self, argv: Sequence[str], timeout_s: float = ...) -> CommandResult: ...


def locate(program: str) -> str | None:
    """PATH first (so fakes on PATH win), then the usual admin-tool folders."""
    found = shutil.which(program)
    if found is not None or os.sep in program:
        return found
    for folder in FALLBACK_DIRS:
        candidate = os.path.join(folder, program)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def run(argv: Sequence[str], timeout_s: float = DEFAULT_TIMEOUT_S) -> CommandResult:
    """Run `argv` with the C locale (the parsers read English output) and no stdin."""
    command = tuple(argv)
    executable = locate(command[0])
    if executable is None:
        return CommandResult(command, None, "", "", problem="not installed", missing=True)
    env = dict(os.environ, LC_ALL="C", LANG="C")
    try:
        completed = subprocess.run(
            [executable, *command[1:]],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=timeout_s,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return CommandResult(command, None, "", "", problem=f"timed out after {timeout_s:g} s")
    except OSError as exc:
        return CommandResult(command, None, "", "", problem=f"cannot run ({exc.strerror})")
    return CommandResult(
        command,
        completed.returncode,
        completed.stdout.decode("utf-8", errors="replace"),
        completed.stderr.decode("utf-8", errors="replace"),
    )
