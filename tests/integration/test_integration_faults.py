"""Faults in the middle of a run (DESIGN 7, issue 7): the volume filling up, turning read-only or
disappearing, fio killed, a fio that hangs or prints garbage, and tmpfs. After each: a failing
exit code, one message saying what happened and what to do (no traceback), the JSON report, no
scratch files where the volume is still there, no fio left running, and the user's files on the
volume byte-identical."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import stat
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import psutil  # type: ignore[import-untyped]
import pytest

if TYPE_CHECKING:
    from tests.integration.conftest import Entry, FioWatch, MainJob, MainJobRunner, Mounts

pytestmark = pytest.mark.integration

SCRATCH_ROOT_NAME = ".pytest-qlab"
LOOP_MIB = 6 * 1024
"""A sparse image the setup check at time scale 0.02 (5 GB with the margin) accepts."""
USER_FILES: dict[str, bytes] = {
    "cues/show.qlab5": b"cue list v7\n",
    "media/clip-01.mov": os.urandom(256 * 1024),
}
Snapshot = Callable[[Path], dict[str, "Entry"]]


def _user_files(volume: Path) -> Path:
    """The show's files, in a folder of their own so what the test adds is not compared."""
    show = volume / "Show files"
    for name, content in USER_FILES.items():
        (show / name).parent.mkdir(parents=True, exist_ok=True)
        (show / name).write_bytes(content)
    return show


def _run_with(
    main_job: MainJobRunner,
    fio_watch: FioWatch,
    volume: Path,
    job: str,
    action: Callable[[subprocess.Popen[str]], None],
    *args: str,
) -> tuple[MainJob, list[str]]:
    """Start the setup check (with `args`), do `action` once fio runs <job>.fio, and wait for the
    end."""
    process = main_job.start(volume, *args)
    try:
        fio_watch.wait_for(process, job)
        fio_watch.running(process.pid)
        action(process)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    lingering = fio_watch.lingering((volume, main_job.system_temp))
    return main_job.finished(process.returncode, stdout, stderr), lingering


def _assert_failed_clearly(run: MainJob, lingering: list[str], *phrases: str) -> None:
    assert run.returncode == pytest.ExitCode.TESTS_FAILED, run.output
    assert "Traceback" not in run.output, run.output
    assert "During handling of the above exception" not in run.output, run.output
    for phrase in phrases:
        assert phrase in run.stdout, run.output
    assert lingering == [], "fio outlived the run"
    assert run.leftovers_in_system_temp() == [], "fio control files left behind"
    volume_report = run.volume_report()
    assert volume_report["ready"] is False


def _device_of(point: Path) -> str:
    for line in Path("/proc/self/mounts").read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if fields[1] == str(point):
            return fields[0]
    raise AssertionError(f"{point} is not mounted")


@pytest.mark.needs_root
def test_volume_filled_by_another_process_mid_run(
    main_job: MainJobRunner, mounts: Mounts, fio_watch: FioWatch, volume_snapshot: Snapshot
) -> None:
    volume = mounts.loop_ext4("show-full", LOOP_MIB)
    show = _user_files(volume)
    before = volume_snapshot(show)
    filler = volume / "copied-by-someone-else.bin"

    def fill(_process: subprocess.Popen[str]) -> None:
        stats = os.statvfs(volume)
        # Root may use the reserved blocks too: take them all. ext4 keeps what it allocated
        # before running out of room for its own metadata.
        with filler.open("wb") as handle, contextlib.suppress(OSError):
            os.posix_fallocate(handle.fileno(), 0, stats.f_bfree * stats.f_frsize)
        left = os.statvfs(volume)
        assert left.f_bfree * left.f_frsize < 64 * 1024 * 1024, "the volume is not full"

    run, lingering = _run_with(main_job, fio_watch, volume, "sequential-write", fill)

    _assert_failed_clearly(
        run, lingering, f"the volume {volume} ran out of space during the run", "free up space"
    )
    assert not (volume / SCRATCH_ROOT_NAME).exists(), "scratch folder left behind"
    assert volume_snapshot(show) == before


@pytest.mark.needs_root
def test_volume_turned_read_only_mid_run(
    main_job: MainJobRunner, mounts: Mounts, fio_watch: FioWatch, volume_snapshot: Snapshot
) -> None:
    """What the kernel does after a drive's write error (ext4 errors=remount-ro). A plain
    `mount -o remount,ro` is refused as busy while the run holds its lock file open."""
    volume = mounts.loop_ext4("show-ro", LOOP_MIB, options="errors=remount-ro")
    trigger = Path("/sys/fs/ext4") / Path(_device_of(volume)).name / "trigger_fs_error"
    if not trigger.exists():
        pytest.skip(f"this kernel has no {trigger} to turn ext4 read-only")
    show = _user_files(volume)
    before = volume_snapshot(show)

    def turn_read_only(_process: subprocess.Popen[str]) -> None:
        trigger.write_text("pytest-qlab fault injection\n", encoding="ascii")
        with pytest.raises(OSError, match="Read-only file system") as refused:
            (volume / "probe").write_bytes(b"")
        assert refused.value.errno == errno.EROFS, "ext4 did not turn read-only"

    run, lingering = _run_with(main_job, fio_watch, volume, "layout", turn_read_only)

    _assert_failed_clearly(
        run, lingering, f"the volume {volume} became read-only during the run", "make it writable"
    )
    # The files cannot be removed from a read-only volume: the message says so, and they carry
    # the marker by which the next start removes them.
    (run_dir,) = [path for path in (volume / SCRATCH_ROOT_NAME).iterdir() if path.is_dir()]
    assert f"test files in {run_dir} are removed at the next start" in run.stdout
    assert (run_dir / "pytest-qlab-scratch.json").is_file()
    assert volume_snapshot(show) == before


@pytest.mark.needs_root
def test_volume_lazily_unmounted_mid_run(
    main_job: MainJobRunner, mounts: Mounts, fio_watch: FioWatch, volume_snapshot: Snapshot
) -> None:
    """`umount -l`: the path stays, the drive behind it is gone, as when it is unplugged."""
    volume = mounts.loop_ext4("show-gone", LOOP_MIB)
    show = _user_files(volume)
    before = volume_snapshot(show)
    device = _device_of(volume)

    def unmount(_process: subprocess.Popen[str]) -> None:
        result = subprocess.run(["umount", "-l", str(volume)], capture_output=True, check=False)
        assert result.returncode == 0, result.stderr

    run, lingering = _run_with(main_job, fio_watch, volume, "sequential-write", unmount)

    _assert_failed_clearly(
        run, lingering, f"the volume {volume} disappeared during the run", "reconnect it"
    )
    assert sorted(volume.iterdir()) == [], "the run wrote to the folder the volume was mounted on"
    # Plugged in again: the show's files are intact, our files carry their marker.
    remount = subprocess.run(["mount", device, str(volume)], capture_output=True, check=False)
    assert remount.returncode == 0, remount.stderr
    assert volume_snapshot(show) == before
    for run_dir in (volume / SCRATCH_ROOT_NAME).iterdir():
        if run_dir.is_dir():
            assert (run_dir / "pytest-qlab-scratch.json").is_file()


@pytest.mark.needs_root
def test_tmpfs_is_measured_or_refused_for_direct_io(
    main_job: MainJobRunner, mounts: Mounts, volume_snapshot: Snapshot
) -> None:
    """tmpfs takes direct I/O since Linux 6.6 and is then measured like any folder (its drive
    line says tmpfs); an older kernel's tmpfs fails with a sentence about direct I/O."""
    volume = mounts.tmpfs("show-tmpfs", "6g")
    show = _user_files(volume)
    before = volume_snapshot(show)

    # The capacity search adds nothing here and, in memory, climbs to its 32-stream limit.
    run = main_job.run(volume, "-m", "not capacity")

    assert "Traceback" not in run.output, run.output
    assert "tmpfs" in run.stdout, "the drive line names the filesystem"
    if "does not support direct I/O" in run.stdout:
        assert run.returncode == pytest.ExitCode.TESTS_FAILED
    else:
        assert run.returncode in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED), run.output
        assert "sequential read" in run.stdout
    assert run.report()["qlab"]["volumes"]
    assert not (volume / SCRATCH_ROOT_NAME).exists()
    assert volume_snapshot(show) == before


def test_fio_killed_mid_run(
    tmp_path: Path, main_job: MainJobRunner, fio_watch: FioWatch, volume_snapshot: Snapshot
) -> None:
    volume = tmp_path / "Show"
    show = _user_files(volume)
    before = volume_snapshot(show)

    def kill_fio(process: subprocess.Popen[str]) -> None:
        for fio in fio_watch.running(process.pid, "sequential-write"):
            fio.send_signal(signal.SIGKILL)

    # The run goes on after the killed write; its capacity search adds nothing checked here.
    run, lingering = _run_with(
        main_job, fio_watch, volume, "sequential-write", kill_fio, "-m", "not capacity"
    )

    _assert_failed_clearly(
        run, lingering, "fio was killed by SIGKILL before it finished", "run again"
    )
    assert run.test_entry("test_sequential_write")["outcome"] == "failed"
    assert not (volume / SCRATCH_ROOT_NAME).exists()
    assert volume_snapshot(show) == before


def _fake_fio(folder: Path, body: str) -> Path:
    """A script that answers `--version` like fio and then does `body` instead of testing."""
    script = folder / "fake-fio"
    script.write_text(
        "#!/bin/bash\n"
        'if [ "$1" = --version ]; then echo fio-3.33; exit 0; fi\n'
        "for argument; do case $argument in --output=*) output=${argument#--output=};; esac; "
        "done\n" + body,
        encoding="utf-8",
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def _processes_named(token: str) -> list[str]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if any(token in part for part in process.info["cmdline"] or ()):
            found.append(f"{process.pid} {process.info['cmdline']}")
    return found


def test_fake_fio_that_hangs_is_killed_by_the_watchdog(
    tmp_path: Path,
    main_job: MainJobRunner,
    monkeypatch: pytest.MonkeyPatch,
    volume_snapshot: Snapshot,
) -> None:
    volume = tmp_path / "Show"
    show = _user_files(volume)
    before = volume_snapshot(show)
    token = f"qlab-hanging-fio-{uuid.uuid4().hex[:8]}"
    fio = _fake_fio(tmp_path, f"exec -a {token} sleep 300\n")
    monkeypatch.setenv("_QLAB_TEST_HANG_BOUND_S", "2")

    started = time.monotonic()
    run = main_job.run(volume, "--fio", str(fio))
    took_s = time.monotonic() - started

    assert took_s < 60, f"a hanging fio held the run for {took_s:.0f} s"
    assert run.returncode == pytest.ExitCode.TESTS_FAILED, run.output
    assert "Traceback" not in run.output, run.output
    assert "fio moved no data for 2.0 s (since it started); killed it" in run.stdout
    assert "check the drive's cable and power" in run.stdout
    assert run.volume_report()["ready"] is False
    assert _processes_named(token) == [], "the hanging fio was left running"
    assert not (volume / SCRATCH_ROOT_NAME).exists()
    assert run.leftovers_in_system_temp() == []
    assert volume_snapshot(show) == before


def test_fake_fio_that_prints_garbage_fails_clearly(
    tmp_path: Path, main_job: MainJobRunner, volume_snapshot: Snapshot
) -> None:
    volume = tmp_path / "Show"
    show = _user_files(volume)
    before = volume_snapshot(show)
    fio = _fake_fio(
        tmp_path,
        'echo "Segmentation fault (core dumped) ### %%%"\n'
        'printf \'{"not": "fio"}\\n<<garbage>>\\n\' > "$output"\n'
        "exit 0\n",
    )

    run = main_job.run(volume, "--fio", str(fio))

    assert run.returncode == pytest.ExitCode.TESTS_FAILED, run.output
    assert "Traceback" not in run.output, run.output
    assert "fio's output is not a fio report" in run.stdout, run.output
    assert "check that --fio points at fio" in run.stdout
    assert run.volume_report()["ready"] is False
    assert not (volume / SCRATCH_ROOT_NAME).exists()
    assert run.leftovers_in_system_temp() == []
    assert volume_snapshot(show) == before
