"""Targets the plugin must refuse before writing a byte: each gives one clear sentence, exit code 4
(usage error) and no traceback, and leaves the target as it was."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.integration.conftest import Entry, MainJobRunner, Mounts

pytestmark = pytest.mark.integration

BYTES_PER_GIB = 1024**3
_NEEDS = re.compile(
    r"has (?P<free>[\d.]+ [kMGT]?B) free but this run needs (?P<needed>[\d.]+ [kMGT]?B)"
)
_UNITS = {"B": 1, "kB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}


def _bytes(figure: str) -> float:
    number, unit = figure.split()
    return float(number) * _UNITS[unit]


def _statvfs_free_bytes(path: Path) -> int:
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("missing", "does not exist; check that the drive is mounted"),
        ("a-file.txt", "is a file, not a folder"),
        ("/dev/null", "is a device, not a mounted volume"),
        ("/dev/zero", "is a device, not a mounted volume"),
    ],
    ids=["missing-path", "regular-file", "dev-null", "dev-zero"],
)
def test_unusable_path_is_refused(
    tmp_path: Path,
    main_job: MainJobRunner,
    volume_snapshot: Callable[[Path], dict[str, Entry]],
    target: str,
    expected: str,
) -> None:
    folder = tmp_path / "user-folder"
    folder.mkdir()
    (folder / "a-file.txt").write_bytes(b"a user's file\n")
    volume = target if target.startswith("/") else str(folder / target)
    before = volume_snapshot(folder)

    job = main_job.run(volume)

    error = job.refusal()
    assert expected in error
    assert repr(volume) in error, "the message names the path the user gave"
    assert volume_snapshot(folder) == before, "a refused run changed the folder"


@pytest.mark.needs_root
@pytest.mark.parametrize("kind", ["tmpfs-ro", "bind-ro"])
def test_read_only_volume_is_refused(
    tmp_path: Path,
    main_job: MainJobRunner,
    mounts: Mounts,
    volume_snapshot: Callable[[Path], dict[str, Entry]],
    kind: str,
) -> None:
    if kind == "tmpfs-ro":
        volume = mounts.tmpfs("show-ro", "16m", read_only=True)
    else:
        source = tmp_path / "show-data"
        source.mkdir()
        (source / "cue.txt").write_bytes(b"cue 1\n")
        volume = mounts.read_only_bind("show-ro", source)
    assert os.statvfs(volume).f_flag & os.ST_RDONLY, f"{volume} is not mounted read-only"
    before = volume_snapshot(volume)

    job = main_job.run(volume)

    error = job.refusal()
    assert f"{str(volume)!r} is not writable" in error
    assert "mount it read-write or pick another volume" in error
    assert volume_snapshot(volume) == before


@pytest.mark.needs_root
def test_volume_without_room_is_refused_before_writing(
    main_job: MainJobRunner, mounts: Mounts
) -> None:
    volume = mounts.tmpfs("show-small", "64m")
    free_before = _statvfs_free_bytes(volume)

    job = main_job.run(volume)

    error = job.refusal()
    match = _NEEDS.search(error)
    assert match, f"the message must say how much is free and how much is needed: {error}"
    assert _bytes(match["free"]) == pytest.approx(free_before, rel=0.01)
    assert _bytes(match["needed"]) > BYTES_PER_GIB, "test files plus a 1 GiB margin"
    assert str(volume) in error
    assert "free up space or qualify another volume" in error
    assert sorted(volume.iterdir()) == [], "nothing may be written to a volume without room"
    assert _statvfs_free_bytes(volume) == free_before


@pytest.mark.needs_root
def test_small_ext4_volume_is_refused_for_its_margin(
    main_job: MainJobRunner, mounts: Mounts
) -> None:
    """A real filesystem on a loop device: 300 MiB cannot hold the files and the 1 GiB margin."""
    volume = mounts.loop_ext4("show-ext4", 300)
    free_before = _statvfs_free_bytes(volume)

    job = main_job.run(volume)

    error = job.refusal()
    match = _NEEDS.search(error)
    assert match, error
    assert _bytes(match["free"]) == pytest.approx(free_before, rel=0.01)
    assert _bytes(match["needed"]) > free_before + BYTES_PER_GIB
    assert "left free for your show" in error
    assert sorted(path.name for path in volume.iterdir()) == ["lost+found"]
    assert _statvfs_free_bytes(volume) == free_before
