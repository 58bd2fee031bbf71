"""Crashed runs' scratch folders: removed when their marker proves them ours and their run dead,
everything else left byte-identical and mentioned."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_qlab.core.units import format_bytes
from pytest_qlab.safety.leftovers import LeftoverCleanup, RemovedRun, clean_leftovers
from pytest_qlab.safety.volume import MARKER_NAME, ScratchMarker, ScratchSpace, resolve_target
from pytest_qlab.safety.volume_lock import LOCK_NAME, LockHolder, VolumeLock

FILE_BYTES = 256 * 1024


@pytest.fixture
def volume(tmp_path: Path) -> Path:
    path = tmp_path / "Show"
    (path / ".pytest-qlab").mkdir(parents=True)
    return path


@pytest.fixture
def lock(volume: Path) -> Iterator[VolumeLock]:
    with VolumeLock(resolve_target(str(volume))) as held:
        yield held


@pytest.fixture(scope="module")
def dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def a_run(
    volume: Path,
    run_id: str,
    *,
    pid: int,
    host: str | None = None,
    started_at: str | None = None,
    kept: bool = False,
) -> Path:
    """A run folder as ScratchSpace leaves it, with a test file of FILE_BYTES."""
    run_dir = volume / ".pytest-qlab" / run_id
    run_dir.mkdir()
    marker = ScratchMarker(
        run_id=run_id,
        pid=pid,
        host=host or socket.gethostname(),
        started_at=started_at or time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        kept=kept,
    )
    (run_dir / MARKER_NAME).write_text(marker.model_dump_json(), encoding="utf-8")
    (run_dir / "read-0.bin").write_bytes(os.urandom(FILE_BYTES))
    return run_dir


def digests(root: Path) -> dict[str, str]:
    """Every path under root with its content hash (or its kind), without following links."""
    found = {}
    for path in sorted(root.rglob("*")):
        key = path.relative_to(root).as_posix()
        if path.is_symlink():
            found[key] = f"-> {os.readlink(path)}"
        elif path.is_file():
            found[key] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            found[key] = "dir"
    return found


def allocated_bytes(path: Path) -> int:
    return sum(item.lstat().st_blocks * 512 for item in path.rglob("*") if item.is_file())


def test_a_dead_runs_folder_is_removed_and_its_space_reported(
    volume: Path, lock: VolumeLock, dead_pid: int
) -> None:
    run_dir = a_run(volume, "20260501-193000-1-abcd", pid=dead_pid)
    size_bytes = allocated_bytes(run_dir)

    cleanup = clean_leftovers(lock)

    assert not run_dir.exists()
    assert [run.path for run in cleanup.removed] == [run_dir]
    assert cleanup.reclaimed_bytes == size_bytes >= FILE_BYTES
    assert cleanup.left_alone == ()
    (line,) = cleanup.lines()
    assert f"removed 1 scratch folder left on {volume}" in line
    assert f"pid {dead_pid} on host {socket.gethostname()}" in line
    assert line.endswith(f": {format_bytes(size_bytes)} reclaimed")


def test_a_run_from_another_host_is_removed_under_the_lock(volume: Path, lock: VolumeLock) -> None:
    """Its pid means nothing here; the lock proves no run is live on the volume."""
    run_dir = a_run(volume, "20260501-193000-1-abcd", pid=os.getpid(), host="other-mac")

    cleanup = clean_leftovers(lock)

    assert not run_dir.exists()
    assert "pid" in cleanup.lines()[0]
    assert "other-mac" in cleanup.lines()[0]


def test_a_live_run_on_this_host_is_left_alone(volume: Path, lock: VolumeLock) -> None:
    run_dir = a_run(volume, "20260501-193000-1-abcd", pid=os.getpid())
    before = digests(volume)

    cleanup = clean_leftovers(lock)

    assert digests(volume) == before
    assert cleanup.removed == ()
    assert "is still running on this host" in cleanup.left_alone[0].reason
    assert cleanup.lines() == [f"left {run_dir} alone: {cleanup.left_alone[0].reason}"]


def test_a_pid_reused_by_a_later_process_is_not_the_run(volume: Path, lock: VolumeLock) -> None:
    """After a reboot a new process may carry the crashed run's pid: it started later."""
    run_dir = a_run(
        volume, "20260501-193000-1-abcd", pid=os.getpid(), started_at="2000-01-01T00:00:00+0000"
    )

    cleanup = clean_leftovers(lock)

    assert not run_dir.exists()
    assert len(cleanup.removed) == 1


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("no-marker", "no pytest-qlab marker in it, so it may not be ours"),
        ("garbage-marker", "no pytest-qlab marker in it"),
        ("other-tool", "no pytest-qlab marker in it"),
        ("marker-names-another-folder", "no pytest-qlab marker in it"),
        ("symlinked-marker", "no pytest-qlab marker in it"),
        ("kept", "kept on purpose with --qlab-keep-files"),
        ("a-file", "a file pytest-qlab did not write"),
        ("a-symlink", "a symbolic link pytest-qlab did not make"),
    ],
)
def test_anything_not_proven_ours_and_dead_is_left_byte_identical(
    volume: Path, lock: VolumeLock, dead_pid: int, tmp_path: Path, case: str, reason: str
) -> None:
    root = volume / ".pytest-qlab"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "show.mov").write_bytes(b"the show")
    name = "20260501-193000-1-abcd"
    if case == "a-file":
        (root / name).write_bytes(b"a user's file")
    elif case == "a-symlink":
        (root / name).symlink_to(elsewhere)
    elif case == "kept":
        a_run(volume, name, pid=dead_pid, kept=True)
    else:
        run_dir = a_run(volume, name, pid=dead_pid)
        marker = run_dir / MARKER_NAME
        if case == "no-marker":
            marker.unlink()
        elif case == "garbage-marker":
            marker.write_bytes(b"\x00not json")
        elif case == "other-tool":
            marker.write_text(marker.read_text().replace("pytest-qlab", "other-tool"))
        elif case == "marker-names-another-folder":
            (run_dir.parent / "20260501-193000-2-ef01").mkdir()
            (run_dir.parent / "20260501-193000-2-ef01" / MARKER_NAME).write_bytes(
                marker.read_bytes()
            )
            run_dir = run_dir.parent / "20260501-193000-2-ef01"
            (run_dir / "read-0.bin").write_bytes(b"data")
            marker.unlink()
            name = run_dir.name
        elif case == "symlinked-marker":
            moved = elsewhere / MARKER_NAME
            moved.write_bytes(marker.read_bytes())
            marker.unlink()
            marker.symlink_to(moved)
    before = digests(volume), digests(elsewhere)

    cleanup = clean_leftovers(lock)

    assert (digests(volume), digests(elsewhere)) == before
    assert cleanup.removed == ()
    left = [item for item in cleanup.left_alone if item.path.name == name]
    assert len(left) == 1, cleanup.left_alone
    assert reason in left[0].reason
    assert f"left {root / name} alone: " in "\n".join(cleanup.lines())


def test_a_folder_a_process_still_writes_in_is_left_alone(
    volume: Path, lock: VolumeLock, dead_pid: int
) -> None:
    """A fio orphaned by a crash keeps writing: removing its files would reclaim nothing."""
    run_dir = a_run(volume, "20260501-193000-1-abcd", pid=dead_pid)
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; f = open(sys.argv[1], 'ab'); print('open', flush=True); "
            "time.sleep(60)",
            str(run_dir / "read-0.bin"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "open"
        cleanup = clean_leftovers(lock)
    finally:
        writer.kill()
        writer.communicate()

    assert run_dir.is_dir()
    (left,) = cleanup.left_alone
    assert f"process {writer.pid} still has files open in it" in left.reason
    assert f"kill {writer.pid}" in left.reason


def test_a_removal_cut_short_keeps_the_marker(
    volume: Path, lock: VolumeLock, dead_pid: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The marker goes last, so what remains is still recognised as ours next time."""
    run_dir = a_run(volume, "20260501-193000-1-abcd", pid=dead_pid)
    (run_dir / "read-1.bin").write_bytes(b"more")
    real_unlink = os.unlink

    def unlink(path: str | os.PathLike[str], **kwargs: object) -> None:
        if Path(path).name == "read-1.bin":
            raise PermissionError(1, "Operation not permitted")
        real_unlink(path)

    monkeypatch.setattr(os, "unlink", unlink)
    cleanup = clean_leftovers(lock)
    monkeypatch.undo()

    assert (run_dir / MARKER_NAME).is_file()
    (left,) = cleanup.left_alone
    assert "could not be removed (Operation not permitted)" in left.reason
    assert cleanup.removed == ()
    assert clean_leftovers(lock).reclaimed_bytes > 0
    assert not run_dir.exists()


def test_a_kept_scratch_space_is_not_a_leftover(volume: Path, lock: VolumeLock) -> None:
    scratch = ScratchSpace(resolve_target(str(volume)), "20260501-193000-1-abcd").create()
    scratch.keep()
    marker = ScratchMarker.read(scratch.run_dir)

    assert marker is not None
    assert marker.kept
    assert clean_leftovers(lock).removed == ()
    assert scratch.run_dir.is_dir()


def test_the_lock_file_is_not_a_leftover(volume: Path, lock: VolumeLock) -> None:
    cleanup = clean_leftovers(lock)

    assert cleanup == LeftoverCleanup(volume.resolve())
    assert cleanup.lines() == []
    assert (volume / ".pytest-qlab" / LOCK_NAME).is_file()


def test_a_stale_lock_is_mentioned(volume: Path) -> None:
    stale = LockHolder(pid=4242, host="show-mac", started_at="2026-05-01T19:30:00+0200")
    (volume / ".pytest-qlab" / LOCK_NAME).write_text(stale.model_dump_json(), encoding="utf-8")

    with VolumeLock(resolve_target(str(volume))) as lock:
        cleanup = clean_leftovers(lock)

    assert cleanup.stale_lock == stale
    assert cleanup.lines() == [
        f"took over the lock on {volume} from a run that ended without releasing it "
        "(pid 4242 on host show-mac, started 2026-05-01T19:30:00+0200)"
    ]


def test_cleaning_needs_the_lock(volume: Path) -> None:
    with pytest.raises(ValueError, match="needs the volume's lock held"):
        clean_leftovers(VolumeLock(resolve_target(str(volume))))


def test_several_removed_runs_are_one_line(volume: Path) -> None:
    marker = ScratchMarker(run_id="a", pid=1, host="h", started_at="x")
    cleanup = LeftoverCleanup(
        volume,
        removed=(RemovedRun(volume / "a", marker, 10**9), RemovedRun(volume / "b", marker, 5)),
    )

    (line,) = cleanup.lines()
    assert line.startswith(f"removed 2 scratch folders left on {volume}")
    assert line.endswith(": 1.0 GB reclaimed")
