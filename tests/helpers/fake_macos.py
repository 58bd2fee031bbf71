"""Fake macOS programs (diskutil, system_profiler, smartctl, mdutil, pmset, tmutil) that print
recorded output, put first on PATH: the macOS drive code path runs end to end on Linux, in unit
tests and in whole qualification runs (with $QLAB_PLATFORM=darwin)."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

import pytest

MACOS = Path(__file__).resolve().parents[1] / "fixtures" / "macos"


@dataclass(frozen=True)
class FakeMacos:
    """Fake macOS programs in `bin`; each call is appended to `calls`."""

    bin: Path
    calls: Path

    def logged(self) -> list[str]:
        if not self.calls.exists():
            return []
        return self.calls.read_text(encoding="utf-8").splitlines()


def _script(folder: Path, name: str, body: str, calls: Path) -> None:
    path = folder / name
    path.write_text(f'#!/bin/sh\necho "{name} $*" >> "{calls}"\n{body}\n', encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def install_fake_macos(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    volume: str,
    whole_disks: dict[str, str],
    smartctl: str,
    smartctl_exit: int,
    tm_destinations: str,
    tm_status: str,
) -> FakeMacos:
    folder = tmp_path / "bin"
    folder.mkdir()
    calls = tmp_path / "calls.log"
    disks = "\n".join(f'  {disk}) cat "{MACOS / name}" ;;' for disk, name in whole_disks.items())
    _script(
        folder,
        "diskutil",
        f'[ "$1 $2" = "info -plist" ] || exit 1\ncase "$3" in\n{disks}\n'
        f'  *) cat "{MACOS / volume}" ;;\nesac',
        calls,
    )
    _script(
        folder, "system_profiler", f'cat "{MACOS / "system_profiler_storage_nvme.json"}"', calls
    )
    _script(folder, "smartctl", f'cat "{MACOS / smartctl}"\nexit {smartctl_exit}', calls)
    _script(folder, "mdutil", f'cat "{MACOS / "mdutil_s_enabled_smb_share.txt"}"', calls)
    _script(folder, "pmset", f'cat "{MACOS / "pmset_g_imac20_1_hackintosh.txt"}"', calls)
    _script(
        folder,
        "tmutil",
        f'case "$1" in\n  destinationinfo) cat "{MACOS / tm_destinations}" ;;\n'
        f'  status) cat "{MACOS / tm_status}" ;;\n  *) exit 1 ;;\nesac',
        calls,
    )
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")
    return FakeMacos(folder, calls)
