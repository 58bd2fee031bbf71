"""Shared fixtures for the integration tests: the main job run as a real subprocess with real fio,
its JSON report, one whole setup check that several modules check different things about, and
root-only volumes (tmpfs, read-only bind, loop-mounted ext4) and blkio cgroups, each removed again
whatever the test did.

Each run gets its own system temp folder (TMPDIR), so fio's control files land somewhere the test
can check is empty afterwards.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]
import pytest

from tests.helpers.once import once_per_run

REPO = Path(__file__).resolve().parents[2]
SCRATCH_ROOT_NAME = ".pytest-qlab"
TIME_SCALE = "0.02"
"""Every measurement then takes the one-second minimum."""
RUN_TIMEOUT_S = 180.0
BLKIO = Path("/sys/fs/cgroup/blkio")
_REPORT_LINE = re.compile(r"^report: (.+\.json)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class MainJob:
    """One finished run of the main job."""

    returncode: int
    stdout: str
    stderr: str
    report_dir: Path
    system_temp: Path

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def report_path(self) -> Path:
        """The JSON report: the path the terminal printed, else the only one in the folder."""
        printed = _REPORT_LINE.findall(self.stdout)
        if printed:
            path = Path(printed[-1])
        else:
            found = sorted(self.report_dir.glob("*.json"))
            assert len(found) == 1, f"expected one JSON report in {self.report_dir}: {found}"
            path = found[0]
        assert path.is_file(), f"the JSON report {path} was not written\n{self.output}"
        return path

    def report(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.report_path().read_text(encoding="utf-8"))
        return document

    def volume_report(self) -> dict[str, Any]:
        (volume,) = self.report()["qlab"]["volumes"]
        assert isinstance(volume, dict)
        return volume

    def outcomes(self) -> dict[str, str]:
        """Test name with parameters, e.g. "test_sequential_read[vol-acceptable]" -> outcome."""
        return {
            test["nodeid"].rsplit("::", 1)[-1]: test["outcome"] for test in self.report()["tests"]
        }

    def test_entry(self, name: str, last_parameter: str | None = None) -> dict[str, Any]:
        """The report's entry for test `name`, e.g. ("test_sequential_read", "acceptable")."""
        entries = [
            test
            for test in self.report()["tests"]
            if str(test["nodeid"]).rsplit("::", 1)[-1].split("[", 1)[0] == name
            and (last_parameter is None or str(test["nodeid"]).endswith(f"-{last_parameter}]"))
        ]
        assert len(entries) == 1, f"{name}: {[test['nodeid'] for test in entries]}"
        entry: dict[str, Any] = entries[0]
        return entry

    def leftovers_in_system_temp(self) -> list[Path]:
        """What the run left in its system temp folder, where fio's control files go."""
        return sorted(self.system_temp.iterdir())

    def refusal(self) -> str:
        """The one error a refused run prints: exit code 4 (usage error), a single `ERROR:` line
        and no traceback. Returns that line."""
        assert "Traceback" not in self.output, self.output
        assert self.returncode == pytest.ExitCode.USAGE_ERROR, self.output
        errors = [line for line in self.output.splitlines() if line.startswith("ERROR:")]
        assert len(errors) == 1, self.output
        assert "collected" not in self.stdout, "a refused run must not start testing"
        return errors[0]


class MainJobRunner:
    """Runs `python -m pytest suites/ --volume ...` in `workdir`, with its own reports folder and
    system temp folder."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.report_dir = workdir / "reports"
        self.system_temp = workdir / "system-temp"
        self.system_temp.mkdir(parents=True, exist_ok=True)
        self.data_home = workdir / "data-home"

    def command(
        self,
        volume: Path | str,
        *args: str,
        scale: str = TIME_SCALE,
        suites: tuple[str, ...] = ("suites",),
    ) -> list[str]:
        """`suites`: what pytest collects, relative to the repository (a folder or files)."""
        return [
            sys.executable,
            "-m",
            "pytest",
            *(str(REPO / suite) for suite in suites),
            "--volume",
            str(volume),
            "--qlab-time-scale",
            scale,
            "--qlab-report-dir",
            str(self.report_dir),
            "-p",
            "no:cacheprovider",
            *args,
        ]

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env["TMPDIR"] = str(self.system_temp)
        # Each run's own drive history: runs of one test see each other, never another's.
        env["XDG_DATA_HOME"] = str(self.data_home)
        env.pop("QLAB_FIO", None)
        env.pop("PYTEST_ADDOPTS", None)
        return env

    def run(
        self,
        volume: Path | str,
        *args: str,
        scale: str = TIME_SCALE,
        preexec_fn: Callable[[], None] | None = None,
        suites: tuple[str, ...] = ("suites",),
    ) -> MainJob:
        return self.run_command(
            self.command(volume, *args, scale=scale, suites=suites), preexec_fn=preexec_fn
        )

    def run_command(
        self,
        command: list[str],
        *,
        preexec_fn: Callable[[], None] | None = None,
        timeout_s: float = RUN_TIMEOUT_S,
    ) -> MainJob:
        """`command` (a main job's, e.g. a fleet's without --volume) in this runner's folders."""
        completed = subprocess.run(
            command,
            cwd=self.workdir,
            env=self.environment(),
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
            preexec_fn=preexec_fn,
        )
        return self.finished(completed.returncode, completed.stdout, completed.stderr)

    def run_while(
        self,
        volume: Path | str,
        *args: str,
        during: Callable[[subprocess.Popen[str]], None],
        scale: str = TIME_SCALE,
        preexec_fn: Callable[[], None] | None = None,
    ) -> MainJob:
        """Run the main job with `during(process)` running meanwhile, e.g. to slow the disk
        part-way; the job is killed if anything goes wrong."""
        return self.run_command_while(
            self.command(volume, *args, scale=scale), during=during, preexec_fn=preexec_fn
        )

    def run_command_while(
        self,
        command: list[str],
        *,
        during: Callable[[subprocess.Popen[str]], None],
        preexec_fn: Callable[[], None] | None = None,
        timeout_s: float = RUN_TIMEOUT_S,
    ) -> MainJob:
        process = self.start_command(command, preexec_fn=preexec_fn)
        try:
            during(process)
            stdout, stderr = process.communicate(timeout=timeout_s)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
        return self.finished(process.returncode, stdout, stderr)

    def start(
        self,
        volume: Path | str,
        *args: str,
        scale: str = TIME_SCALE,
        preexec_fn: Callable[[], None] | None = None,
    ) -> subprocess.Popen[str]:
        """Start the main job in the background, for tests that signal it."""
        return self.start_command(self.command(volume, *args, scale=scale), preexec_fn=preexec_fn)

    def start_command(
        self, command: list[str], *, preexec_fn: Callable[[], None] | None = None
    ) -> subprocess.Popen[str]:
        return subprocess.Popen(
            command,
            cwd=self.workdir,
            env=self.environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=preexec_fn,
        )

    @property
    def history_file(self) -> Path:
        """Where the runs' default drive history is (platformdirs under XDG_DATA_HOME)."""
        return self.data_home / "pytest-qlab" / "history.sqlite3"

    def finished(self, returncode: int, stdout: str, stderr: str) -> MainJob:
        return MainJob(returncode, stdout, stderr, self.report_dir, self.system_temp)


@pytest.fixture
def main_job(tmp_path: Path) -> MainJobRunner:
    return MainJobRunner(tmp_path)


# --- fio processes --------------------------------------------------------------------------


class FioWatch:
    """The fio processes a test's main job starts: found while it runs, checked for survivors
    afterwards, and killed at teardown whatever happened."""

    def __init__(self) -> None:
        self.seen: list[Any] = []

    def running(self, pid: int, job: str | None = None) -> list[Any]:
        """fio processes under `pid` (with `job`, only those running <job>.fio); remembered."""
        try:
            children = psutil.Process(pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        found = []
        for child in children:
            try:
                if child.name() != "fio":
                    continue
                command: list[str] = child.cmdline()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            if job is None or any(Path(part).name == f"{job}.fio" for part in command):
                found.append(child)
        self.seen += [process for process in found if process not in self.seen]
        return found

    def wait_for(self, process: subprocess.Popen[str], job: str, timeout_s: float = 60) -> None:
        """Until `process` runs fio on <job>.fio; fails if the run ends or never gets there."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"the run ended (exit {process.returncode}) before fio ran {job}")
            if self.running(process.pid, job):
                return
            time.sleep(0.05)
        pytest.fail(f"fio never ran {job} within {timeout_s:.0f} s")

    def lingering(self, paths: tuple[Path, ...], grace_s: float = 5.0) -> list[str]:
        """fio processes alive after `grace_s`: those seen during the run, and any other fio that
        works in, names or holds open something under `paths`."""
        deadline = time.monotonic() + grace_s
        while True:
            alive = []
            for process in self.seen:
                with contextlib.suppress(psutil.NoSuchProcess):
                    if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                        alive.append(f"{process.pid} {process.cmdline()}")
            for process in psutil.process_iter(["name"]):
                if process.info["name"] == "fio" and _touches(process, paths):
                    alive.append(f"{process.pid} (works under {[str(p) for p in paths]})")
            if not alive or time.monotonic() > deadline:
                return alive
            time.sleep(0.1)

    def kill_all(self) -> None:
        for process in self.seen:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()


def _touches(process: Any, paths: tuple[Path, ...]) -> bool:
    try:
        texts = [process.cwd(), *process.cmdline()]
        texts += [opened.path for opened in process.open_files()]
    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
        return False
    return any(str(path) in text for path in paths for text in texts)


@pytest.fixture
def fio_watch() -> Iterator[FioWatch]:
    watch = FioWatch()
    try:
        yield watch
    finally:
        watch.kill_all()


# --- what a volume holds ----------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One path under a volume: its kind, modification time, and for files their size and
    content hash, for symlinks where they point."""

    kind: str
    mtime_ns: int
    size_bytes: int | None = None
    sha256: str | None = None
    link_target: str | None = None


def snapshot(root: Path) -> dict[str, Entry]:
    """Every path under `root` (relative, "/"-separated), without following symlinks."""
    entries: dict[str, Entry] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        info = path.lstat()
        if path.is_symlink():
            entries[relative] = Entry("symlink", info.st_mtime_ns, link_target=os.readlink(path))
        elif path.is_dir():
            entries[relative] = Entry("dir", info.st_mtime_ns)
        else:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            entries[relative] = Entry("file", info.st_mtime_ns, info.st_size, digest)
    return entries


@pytest.fixture(scope="session")
def volume_snapshot() -> Callable[[Path], dict[str, Entry]]:
    return snapshot


# --- one setup check shared by several modules -------------------------------------------------

SETUP_CHECK_VOLUME_NAME = "Show #2; main:A ${HOME}"
"""fio reads # and ; as comments, : as a file separator and ${...} as a variable: the volume's path
must never reach a job file."""
USER_FILES_MTIME_NS = 1_577_836_800_000_000_000
"""2020-01-01: any rewrite of a user's file during the run shows as a newer mtime."""
USER_FILES: dict[str, bytes] = {
    "notes.txt": b"cue list v3\n",
    "media/clip-01.mov": os.urandom(1024 * 1024),
    "media/stills/poster.png": os.urandom(4096),
    # Named like the scratch root and the files the setup check writes, to catch a sloppy
    # clean-up that matches by name instead of by our own marker and run folder.
    ".pytest-qlab.bak": b"not ours\n",
    ".pytest-qlab-old/keep.txt": b"not ours either\n",
    "sequential-read.bin": b"the user's, not the read test's\n",
    "stream-01.bin": b"the user's, not a replay stream\n",
}


@dataclass(frozen=True)
class SetupCheckRun:
    """The shared setup check: the volume, what it held before and after, and the run."""

    volume: Path
    job: MainJob
    user_files: dict[str, bytes]
    user_files_mtime_ns: int
    before: dict[str, Entry]
    after: dict[str, Entry]


@pytest.fixture(scope="session")
def setup_check_run(tmp_path_factory: pytest.TempPathFactory) -> SetupCheckRun:
    """One whole setup check (capacity search included) at time scale 0.02, on a folder that
    holds the user's files and has a name fio would misread. Its verdict, clean-up and reports are
    each checked by their own tests: one run proves them all, once for all xdist workers."""
    return once_per_run(tmp_path_factory, "setup-check", _setup_check_run)


def _setup_check_run(workdir: Path) -> SetupCheckRun:
    volume = workdir / SETUP_CHECK_VOLUME_NAME
    for name, content in USER_FILES.items():
        path = volume / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    (volume / "notes-link").symlink_to("notes.txt")
    for path in sorted(volume.rglob("*"), reverse=True):  # files before their folders
        os.utime(path, ns=(USER_FILES_MTIME_NS, USER_FILES_MTIME_NS), follow_symlinks=False)
    before = snapshot(volume)

    job = MainJobRunner(workdir).run(volume)

    return SetupCheckRun(volume, job, USER_FILES, USER_FILES_MTIME_NS, before, snapshot(volume))


# --- root-only machinery ----------------------------------------------------------------------


def require_root(what: str) -> None:
    if os.geteuid() != 0:
        pytest.skip(f"{what} needs root (running as uid {os.geteuid()})")


def _command(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


class Mounts:
    """Mounts and loop devices made for one test; `cleanup` undoes them in reverse order.
    A mount that cannot be made skips the test: that is a missing privilege, not a failure."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self._undo: list[tuple[str, Callable[[], None]]] = []

    def _mount_point(self, name: str) -> Path:
        point = self.base / name
        point.mkdir(parents=True)
        return point

    def _mount(self, what: str, point: Path, *arguments: str) -> None:
        result = _command("mount", *arguments, str(point))
        if result.returncode != 0:
            pytest.skip(f"cannot mount {what}: {result.stderr.strip() or result.returncode}")
        self._undo.append((f"umount {point}", lambda: _unmount(point)))

    def tmpfs(self, name: str, size: str, *, read_only: bool = False) -> Path:
        point = self._mount_point(name)
        options = f"size={size},mode=0755" + (",ro" if read_only else "")
        self._mount(f"a {size} tmpfs", point, "-t", "tmpfs", "-o", options, "qlab-test")
        return point

    def read_only_bind(self, name: str, source: Path) -> Path:
        point = self._mount_point(name)
        self._mount(f"a bind of {source}", point, "--bind", str(source))
        result = _command("mount", "-o", "remount,bind,ro", str(point))
        if result.returncode != 0:
            pytest.skip(f"cannot remount {point} read-only: {result.stderr.strip()}")
        return point

    def loop_ext4(self, name: str, size_mib: int, *, options: str | None = None) -> Path:
        for tool in ("mkfs.ext4", "losetup", "mount", "umount"):
            if shutil.which(tool) is None:
                pytest.skip(f"{tool} is not installed")
        self.base.mkdir(parents=True, exist_ok=True)
        image = self.base / f"{name}.img"
        with image.open("wb") as handle:
            handle.truncate(size_mib * 1024 * 1024)
        self._undo.append((f"rm {image}", lambda: image.unlink(missing_ok=True)))
        made = _command("mkfs.ext4", "-q", "-F", str(image))
        if made.returncode != 0:
            pytest.skip(f"mkfs.ext4 failed: {made.stderr.strip()}")
        attached = _command("losetup", "--find", "--show", str(image))
        if attached.returncode != 0:
            pytest.skip(f"no loop device: {attached.stderr.strip()}")
        device = attached.stdout.strip()
        self._undo.append((f"losetup -d {device}", lambda: _detach(device)))
        point = self._mount_point(name)
        extra = ("-o", options) if options else ()
        self._mount(f"{device} (ext4)", point, "-t", "ext4", *extra, device)
        return point

    def cleanup(self) -> list[str]:
        """Undo everything; returns what could not be undone."""
        problems = []
        while self._undo:
            what, undo = self._undo.pop()
            try:
                undo()
            except Exception as exc:
                problems.append(f"{what}: {exc}")
        return problems


def _unmount(point: Path) -> None:
    for _ in range(20):
        if _command("umount", str(point)).returncode == 0:
            return
        time.sleep(0.25)  # still busy: a child that has not quite exited
    lazy = _command("umount", "-l", str(point))
    if lazy.returncode != 0:
        raise OSError(f"cannot unmount {point}: {lazy.stderr.strip()}")


def _detach(device: str) -> None:
    result = _command("losetup", "-d", device)
    if result.returncode != 0:
        raise OSError(f"cannot detach {device}: {result.stderr.strip()}")


@contextlib.contextmanager
def made_mounts(base: Path) -> Iterator[Mounts]:
    """Skips without root; everything mounted is unmounted (loop devices detached) afterwards."""
    require_root("mounting a test volume")
    if shutil.which("mount") is None or shutil.which("umount") is None:
        pytest.skip("mount/umount are not installed")
    made = Mounts(base)
    try:
        yield made
    finally:
        problems = made.cleanup()
        assert not problems, f"test volumes not cleaned up: {problems}"


@pytest.fixture
def mounts(tmp_path: Path) -> Iterator[Mounts]:
    with made_mounts(tmp_path / "mounts") as made:
        yield made


def block_device_of(path: Path) -> tuple[int, int]:
    """The whole disk holding `path`, as (major, minor): what a blkio throttle rule names."""
    device = os.stat(path).st_dev
    major, minor = os.major(device), os.minor(device)
    if major == 0:  # overlay, btrfs, tmpfs...: look for a real device behind the mount
        major, minor = _device_from_mountinfo(major, minor, path)
    sysfs = Path(f"/sys/dev/block/{major}:{minor}")
    if (sysfs / "partition").exists():  # throttle rules apply to whole disks only
        parent = (sysfs.resolve().parent / "dev").read_text(encoding="ascii").strip()
        major, minor = (int(part) for part in parent.split(":"))
    return major, minor


def _device_from_mountinfo(major: int, minor: int, path: Path) -> tuple[int, int]:
    wanted = f"{major}:{minor}"
    for line in Path("/proc/self/mountinfo").read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if fields[2] != wanted or " - " not in line:
            continue
        source = line.split(" - ", 1)[1].split()[1]
        with contextlib.suppress(OSError):
            rdev = os.stat(source).st_rdev
            if source.startswith("/dev/") and os.major(rdev) != 0:
                return os.major(rdev), os.minor(rdev)
    pytest.skip(f"{path} is on a virtual filesystem ({wanted}) with no block device to throttle")


@pytest.fixture
def block_device(tmp_path: Path) -> tuple[int, int]:
    """The disk holding tmp_path; skips when it is on a filesystem without one."""
    return block_device_of(tmp_path)


class BlkioCgroup:
    """A cgroup v1 blkio group; `join` is a preexec_fn that moves the child process into it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def limit_read(self, device: tuple[int, int], bytes_per_s: int) -> None:
        rule = f"{device[0]}:{device[1]} {bytes_per_s}"
        try:
            (self.path / "blkio.throttle.read_bps_device").write_text(rule, encoding="ascii")
        except OSError as exc:
            pytest.skip(f"the kernel refused the blkio throttle rule {rule!r}: {exc}")

    def join(self) -> None:
        (self.path / "cgroup.procs").write_text(str(os.getpid()), encoding="ascii")

    @contextlib.contextmanager
    def joined(self) -> Iterator[None]:
        """This test process (and every fio it starts) in the group, and back in the root group
        afterwards: for tests that call the measuring code in-process."""
        self.join()
        try:
            yield
        finally:
            (BLKIO / "cgroup.procs").write_text(str(os.getpid()), encoding="ascii")

    def remove(self) -> None:
        """Move stragglers back to the root group, then remove the (now empty) group."""
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError):
                for pid in (self.path / "cgroup.procs").read_text(encoding="ascii").split():
                    with contextlib.suppress(OSError):
                        (BLKIO / "cgroup.procs").write_text(pid, encoding="ascii")
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)


@pytest.fixture
def blkio_cgroup() -> Iterator[BlkioCgroup]:
    with made_blkio_cgroup() as group:
        yield group


@contextlib.contextmanager
def made_blkio_cgroup() -> Iterator[BlkioCgroup]:
    """Skips without root or a cgroup v1 blkio hierarchy; the group is removed afterwards."""
    require_root("cgroup blkio throttling")
    if not (BLKIO / "blkio.throttle.read_bps_device").exists():
        pytest.skip(f"no cgroup v1 blkio controller at {BLKIO}")
    path = BLKIO / f"qlab-integration-{uuid.uuid4().hex[:8]}"
    try:
        path.mkdir()
    except OSError as exc:
        pytest.skip(f"cannot create a blkio cgroup: {exc}")
    group = BlkioCgroup(path)
    try:
        yield group
    finally:
        group.remove()


# --- one run of the long suites shared by several timing modules ------------------------------

LONG_SUITES_SCALE = "0.00125"
"""Two hours of sustained reading become 9 s (1 s windows, a 1 s warm-up, a 2 s baseline, 2 s
is throttling), the 2.5 h show pattern about 11 s; each act still holds a crossfade."""
LONG_SUITES_PLANNED_S = 9.0
"""The sustained read's and write's planned length at LONG_SUITES_SCALE."""
TWO_HD_STREAMS = """\
[[streams]]
name = "hd"
codec = "422"
raster = "1920x1080"
fps = 25
count = 2
"""
TWO_HD_PROFILE = 'name = "two HD 422"\n' + TWO_HD_STREAMS
"""30.5 MB/s of normal playback, 61 MB/s at a crossfade peak: far below any disk, so a run
measures the rules, not the disk's neighbours."""
LONG_SUITES = ("suites/test_show_pattern.py", "suites/test_sustained.py")
LONG_SUITES_READ_LIMIT_BYTES_S = 200_000_000
"""Over three times the crossfade peak, and what every window of the sustained read gets."""
LONG_SUITES_LOOP_MIB = 6 * 1024


@dataclass(frozen=True)
class LongSuitesRun:
    """The show pattern and the max sustained suites run together, as a user runs them."""

    volume: Path
    job: MainJob


@pytest.fixture(scope="session")
def long_suites_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LongSuitesRun]:
    """One run of both long suites (2 x HD, time scale 0.00125) on a loop-mounted ext4 volume of
    its own, read through a blkio limit so the figures are the limit's, steady. The verdict, the
    show pattern's phases and the sustained items are each checked by their own tests: one run
    proves them all (the timing tier runs in one process, so the session holds it)."""
    workdir = tmp_path_factory.mktemp("long-suites")
    with made_mounts(workdir / "mounts") as mounts, made_blkio_cgroup() as group:
        volume = mounts.loop_ext4("show", LONG_SUITES_LOOP_MIB)
        group.limit_read(block_device_of(volume), LONG_SUITES_READ_LIMIT_BYTES_S)
        profile = workdir / "two-hd.toml"
        profile.write_text(TWO_HD_PROFILE, encoding="utf-8")
        job = MainJobRunner(workdir).run(
            volume,
            "--qlab-profile",
            str(profile),
            scale=LONG_SUITES_SCALE,
            suites=LONG_SUITES,
            preexec_fn=group.join,
        )
        yield LongSuitesRun(volume, job)
