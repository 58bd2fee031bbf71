"""One run per drive: a second lock on the same drive is refused naming the run and its folder,
two volumes of one drive in one run share a lock, and a dead holder's lock is free."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_qlab.safety.drive_lock import DriveLock, drive_key, lock_drives
from pytest_qlab.safety.volume_lock import VolumeBusyError


def test_the_key_is_the_whole_disk_else_the_device_number(tmp_path: Path) -> None:
    assert drive_key("/dev/disk4", tmp_path) == "disk4"
    assert drive_key("/dev/nvme0n1", tmp_path) == "nvme0n1"
    assert drive_key(None, tmp_path) == f"device-{os.stat(tmp_path).st_dev}"
    assert drive_key("/dev/..", tmp_path) == f"device-{os.stat(tmp_path).st_dev}"
    assert drive_key(None, tmp_path / "gone").startswith("volume-")


def test_a_second_run_on_the_same_drive_is_refused_naming_the_first(tmp_path: Path) -> None:
    first = DriveLock("disk4", tmp_path / "Show", tmp_path / "locks").acquire()
    try:
        with pytest.raises(VolumeBusyError) as refused:
            DriveLock("disk4", tmp_path / "Backup", tmp_path / "locks").acquire()
    finally:
        first.release()

    message = str(refused.value)
    assert message.startswith(f"the drive holding {tmp_path / 'Backup'} (disk4) is being measured")
    assert f"another pytest-qlab run on {tmp_path / 'Show'} (pid {os.getpid()} on host " in message
    assert "wait for it to finish, or stop it, and start again" in message
    assert refused.value.holder is not None
    assert refused.value.holder.pid == os.getpid()


def test_released_and_other_drives_are_free(tmp_path: Path) -> None:
    locks = tmp_path / "locks"
    DriveLock("disk4", tmp_path, locks).acquire().release()
    again = DriveLock("disk4", tmp_path, locks).acquire()
    other = DriveLock("disk5", tmp_path, locks).acquire()

    assert again.held
    assert other.held
    again.release()
    again.release()  # safe twice
    other.release()
    assert not again.held


def test_the_lock_of_a_process_that_died_is_free(tmp_path: Path) -> None:
    locks = tmp_path / "locks"
    holder = (
        "import sys; from pathlib import Path; "
        "from pytest_qlab.safety.drive_lock import DriveLock; "
        "DriveLock('disk4', Path(sys.argv[1]), Path(sys.argv[2])).acquire(); "
        "import os; os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", holder, str(tmp_path), str(locks)], check=True)

    lock = DriveLock("disk4", tmp_path, locks).acquire()

    assert lock.held
    lock.release()


def test_volumes_of_one_drive_share_one_lock_and_a_busy_drive_takes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"

    held = lock_drives([(a, "disk4"), (b, "disk4"), (c, "disk5")])
    try:
        assert [lock.key for lock in held] == ["disk4", "disk5"]
    finally:
        for lock in held:
            lock.release()

    busy = DriveLock("disk5", tmp_path).acquire()
    try:
        with pytest.raises(VolumeBusyError):
            lock_drives([(a, "disk4"), (c, "disk5")])
        freed = DriveLock("disk4", tmp_path).acquire()
        assert freed.held, "disk4 was released on refusal"
        freed.release()
    finally:
        busy.release()


def test_release_leaves_nothing_in_the_temp_folder(tmp_path: Path) -> None:
    locks = tmp_path / "locks"
    first = DriveLock("disk4", tmp_path, locks).acquire()
    second = DriveLock("disk5", tmp_path, locks).acquire()

    first.release()
    assert sorted(path.name for path in locks.iterdir()) == ["disk5.lock"]
    second.release()

    assert not locks.exists()
