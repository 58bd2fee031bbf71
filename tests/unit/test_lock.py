"""The per-volume lock: one holder at a time, a dead holder's lock taken over, nothing left behind,
and never through a symlink. Other holders are real processes where the kernel must notice death."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_qlab.safety.volume import VolumeError, resolve_target
from pytest_qlab.safety.volume_lock import LOCK_NAME, LockHolder, VolumeBusyError, VolumeLock

HOLD_SCRIPT = """
import sys, time
from pytest_qlab.safety.volume_lock import VolumeLock
from pytest_qlab.safety.volume import resolve_target
lock = VolumeLock(resolve_target(sys.argv[1])).acquire()
print("held", flush=True)
time.sleep(60)
"""


@pytest.fixture
def volume(tmp_path: Path) -> Path:
    path = tmp_path / "Show"
    path.mkdir()
    return path


@pytest.fixture
def other_holder(volume: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the volume's lock until it is killed."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD_SCRIPT, str(volume)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "held"
        yield process
    finally:
        process.kill()
        process.communicate()


def lock_of(volume: Path) -> VolumeLock:
    return VolumeLock(resolve_target(str(volume)))


def test_acquire_writes_who_holds_the_volume(volume: Path) -> None:
    lock = lock_of(volume).acquire()
    try:
        record = json.loads((volume / ".pytest-qlab" / LOCK_NAME).read_text(encoding="utf-8"))
        assert lock.held
        assert record["pid"] == os.getpid()
        assert record["host"] == socket.gethostname()
        assert record["tool"] == "pytest-qlab"
        assert lock.holder is not None
        assert record["started_at"] == lock.holder.started_at
        assert lock.taken_over is None
    finally:
        lock.release()


def test_release_removes_the_lock_file_and_the_empty_scratch_root(volume: Path) -> None:
    lock = lock_of(volume).acquire()

    lock.release()
    lock.release()

    assert not lock.held
    assert sorted(volume.iterdir()) == []


def test_release_keeps_a_scratch_root_that_holds_something_else(volume: Path) -> None:
    with lock_of(volume):
        (volume / ".pytest-qlab" / "other").mkdir()

    assert sorted(path.name for path in (volume / ".pytest-qlab").iterdir()) == ["other"]


def test_a_second_lock_in_this_process_is_refused_naming_the_holder(volume: Path) -> None:
    with lock_of(volume) as first:
        with pytest.raises(VolumeBusyError) as refused:
            lock_of(volume).acquire()
        assert first.held

    message = str(refused.value)
    assert f"{volume} is in use by another pytest-qlab run" in message
    assert f"pid {os.getpid()} on host {socket.gethostname()}" in message
    assert first.holder is not None
    assert f"started {first.holder.started_at}" in message
    assert f"stop it (kill {os.getpid()})" in message
    assert "\n" not in message
    assert refused.value.holder == first.holder


def test_a_lock_held_by_another_process_is_refused(
    volume: Path, other_holder: subprocess.Popen[str]
) -> None:
    with pytest.raises(VolumeBusyError, match=f"pid {other_holder.pid} on host "):
        lock_of(volume).acquire()

    assert (volume / ".pytest-qlab" / LOCK_NAME).is_file(), "a refused run removed the lock"


def test_the_lock_of_a_killed_process_is_taken_over(
    volume: Path, other_holder: subprocess.Popen[str]
) -> None:
    other_holder.send_signal(signal.SIGKILL)
    other_holder.wait()
    assert (volume / ".pytest-qlab" / LOCK_NAME).is_file(), "SIGKILL leaves the lock file"

    with lock_of(volume) as lock:
        assert lock.taken_over is not None
        assert lock.taken_over.pid == other_holder.pid
        assert lock.holder is not None
        assert lock.holder.pid == os.getpid()

    assert not (volume / ".pytest-qlab").exists()


def test_a_holder_that_has_not_written_its_record_yet(volume: Path) -> None:
    root = volume / ".pytest-qlab"
    root.mkdir()
    with (root / LOCK_NAME).open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(VolumeBusyError, match=r"does not name it yet\); one run per volume"):
            lock_of(volume).acquire()


def test_release_never_removes_a_lock_file_that_is_not_ours(volume: Path) -> None:
    lock = lock_of(volume).acquire()
    path = volume / ".pytest-qlab" / LOCK_NAME
    path.unlink()
    path.write_text("someone else's", encoding="utf-8")

    lock.release()

    assert path.read_text(encoding="utf-8") == "someone else's"


def test_a_symlinked_scratch_root_is_refused_and_not_followed(volume: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (volume / ".pytest-qlab").symlink_to(elsewhere)

    with pytest.raises(
        VolumeError, match=r"is a symbolic link .*never follows it: remove the link"
    ):
        lock_of(volume).acquire()

    assert (volume / ".pytest-qlab").is_symlink()
    assert sorted(elsewhere.iterdir()) == []


def test_a_symlinked_lock_file_is_refused_and_not_followed(volume: Path, tmp_path: Path) -> None:
    (volume / ".pytest-qlab").mkdir()
    precious = tmp_path / "show.qlab5"
    precious.write_bytes(b"cue list")
    (volume / ".pytest-qlab" / LOCK_NAME).symlink_to(precious)

    with pytest.raises(VolumeError, match=f"{LOCK_NAME} is a symbolic link; remove it"):
        lock_of(volume).acquire()

    assert precious.read_bytes() == b"cue list"
    assert (volume / ".pytest-qlab" / LOCK_NAME).is_symlink()


def test_a_scratch_root_on_another_device_is_refused(
    volume: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (volume / ".pytest-qlab").mkdir()
    real_lstat = os.lstat

    def lstat(path: str | os.PathLike[str], **kwargs: object) -> os.stat_result:
        info = real_lstat(path)
        if Path(path).name != ".pytest-qlab":
            return info
        fields = list(info)
        fields[2] = info.st_dev + 1  # st_dev: a mount point
        return os.stat_result(fields)

    monkeypatch.setattr(os, "lstat", lstat)
    with pytest.raises(VolumeError, match="is on another device than the volume"):
        lock_of(volume).acquire()


def test_the_holder_record_describes_itself() -> None:
    holder = LockHolder(pid=42, host="show-mac", started_at="2026-05-01T19:30:00+0200")

    assert holder.describe() == "pid 42 on host show-mac, started 2026-05-01T19:30:00+0200"
