"""Locate fio, run a job file, stop it cleanly, and hand back parsed results.

fio always writes JSON to a file (--output): stdout carries notes and ETA lines that would
break parsing. fio runs in its own session so that only we decide when it is interrupted,
and an interruption still yields the partial results fio writes on SIGINT. On Linux fio also
dies with us (PR_SET_PDEATHSIG), so a SIGKILLed pytest leaves no fio reading a show drive.

Every run has a status interval, and the runner follows fio's output file while fio runs: each
document goes to a callback as it appears, and a watchdog kills fio when it stops moving bytes.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]
from pydantic import ValidationError

from pytest_qlab.fio.errors import (
    FioError,
    FioHangError,
    FioInterruptedError,
    FioKilledError,
    FioNotFoundError,
)
from pytest_qlab.fio.jobs import FioJobFile
from pytest_qlab.fio.results import FioResult, FioRun
from pytest_qlab.fio.stream import DocumentTail
from pytest_qlab.safety.signals import interruption_name

MINIMUM_VERSION = (3, 16)
FIO_ENV_VAR = "QLAB_FIO"
BUNDLED_BIN_DIR = Path(__file__).resolve().parents[2] / "bin"
STOP_GRACE_S = 15.0
KILL_WAIT_S = 10.0
"""How long a SIGKILLed fio may take to go; longer means it is stuck in the kernel on the drive."""
POLL_INTERVAL_S = 0.25
"""How often the output file is checked for new status documents while fio runs."""
HANG_STATUS_INTERVALS = 3
HANG_MINIMUM_S = 30.0
WATCH_INTERVAL_S = 10
"""Status interval of runs whose caller asked for none: only the watchdog reads them."""
HANG_BOUND_ENV_VAR = "_QLAB_TEST_HANG_BOUND_S"
"""Internal, for tests only: a shorter hang bound, so a fake fio that hangs ends in seconds."""
PR_SET_PDEATHSIG = 1
_VERSION_PATTERN = re.compile(r"^fio-(\d+)\.(\d+)")


def install_hint(platform_name: str = sys.platform) -> str:
    if platform_name == "darwin":
        return "install it with `brew install fio`"
    return "install it with `sudo apt-get install fio` (or your distribution's package manager)"


def bundled_name(platform_name: str = sys.platform, machine: str | None = None) -> str:
    """bin/fio-<os>-<arch>, e.g. fio-darwin-arm64, where an offline site drops its own build."""
    os_name = "darwin" if platform_name == "darwin" else platform_name.rstrip("0123456789")
    return f"fio-{os_name}-{machine or platform.machine()}"


@dataclass(frozen=True)
class FioBinary:
    path: Path
    version: tuple[int, int]
    version_text: str


def probe_binary(path: Path, source: str) -> FioBinary:
    """Run `fio --version` and check it is a fio we support; `source` names where it came from."""
    try:
        completed = subprocess.run(
            [str(path), "--version"], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FioNotFoundError(
            f"fio from {source} ({path}) cannot be run ({exc}); {install_hint()} or pass --fio PATH"
        ) from None
    version_text = completed.stdout.strip().splitlines()[0] if completed.stdout.strip() else ""
    match = _VERSION_PATTERN.match(version_text)
    if completed.returncode != 0 or match is None:
        shown = (version_text or completed.stderr.strip())[:80] or "nothing"
        raise FioNotFoundError(
            f"{path} (from {source}) is not fio: `--version` printed {shown!r}; "
            f"{install_hint()} or pass --fio PATH"
        )
    version = (int(match.group(1)), int(match.group(2)))
    if version < MINIMUM_VERSION:
        minimum = ".".join(map(str, MINIMUM_VERSION))
        raise FioNotFoundError(
            f"{path} is {version_text}, older than the fio-{minimum} pytest-qlab needs; "
            f"{install_hint()}"
        )
    return FioBinary(path=path, version=version, version_text=version_text)


def locate_fio(
    explicit: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    bin_dir: Path = BUNDLED_BIN_DIR,
) -> FioBinary:
    """--fio PATH, then $QLAB_FIO, then a bundled bin/fio-<os>-<arch>, then fio on PATH."""
    env = os.environ if environ is None else environ
    candidates: list[tuple[str, str]] = []
    if explicit:
        candidates.append(("--fio", explicit))
    elif env.get(FIO_ENV_VAR):
        candidates.append((f"${FIO_ENV_VAR}", env[FIO_ENV_VAR]))
    else:
        bundled = bin_dir / bundled_name()
        if bundled.is_file():
            candidates.append(("the bundled binary", str(bundled)))
        else:
            on_path = shutil.which("fio", path=env.get("PATH"))
            if on_path is None:
                raise FioNotFoundError(
                    f"fio (the Flexible I/O Tester) is not installed; {install_hint()}, "
                    "or pass --fio PATH"
                )
            candidates.append(("PATH", on_path))
    source, raw_path = candidates[0]
    path = Path(raw_path).expanduser()
    if not path.is_file():
        remedy = (
            f"fix or unset ${FIO_ENV_VAR}" if source.startswith("$") else "check the path given"
        )
        raise FioNotFoundError(f"fio from {source} does not exist: {path}; {remedy}")
    return probe_binary(path.resolve(), source)


StatusCallback = Callable[[FioResult], None]


def hang_bound_s(status_interval_s: int) -> float:
    """How long fio may go without moving a byte before it counts as hung.

    Three intervals forgive two late documents (fio's status thread waits for every job to
    update its counters, which one long I/O delays); 30 s is the kernel's own I/O timeout (SCSI,
    USB and NVMe): past it the drive or fio is stuck, not slow.
    """
    return max(HANG_STATUS_INTERVALS * status_interval_s, HANG_MINIMUM_S)


def _watch_settings(environ: Mapping[str, str]) -> tuple[int, float | None]:
    """Status interval and hang bound for a run whose caller gave none: every run is watched,
    so a drive that stops answering never hangs the setup check."""
    raw = environ.get(HANG_BOUND_ENV_VAR)
    if not raw:
        return WATCH_INTERVAL_S, None
    bound_s = float(raw)
    return max(1, min(WATCH_INTERVAL_S, int(bound_s // HANG_STATUS_INTERVALS))), bound_s


def _discard(_document: FioResult) -> None:
    """Intermediate documents of a run watched only for hangs are not kept."""


class FioRunner:
    """Runs job files with one fio binary, keeping its control files (job file, JSON output,
    logs) in `work_dir`, off the volume under test."""

    def __init__(self, fio: FioBinary, work_dir: Path) -> None:
        self.fio = fio
        self.work_dir = work_dir

    def run(
        self,
        job_file: FioJobFile,
        *,
        label: str,
        status_interval_s: int | None = None,
        on_status: StatusCallback | None = None,
        hang_timeout_s: float | None = None,
    ) -> FioRun:
        """Run to completion; raises FioError on failure (FioHangError, FioKilledError),
        FioInterruptedError on Ctrl-C/SIGTERM.

        With `status_interval_s` every document fio writes, the final report included, goes to
        `on_status` as it appears, and fio is killed when no byte moves for `hang_timeout_s`
        (default hang_bound_s). Documents given to `on_status` are not kept in the FioRun, so a
        two-hour run holds one at a time; without a callback they are kept as snapshots.
        Without `status_interval_s` fio is still watched (WATCH_INTERVAL_S), its documents
        dropped.
        """
        if status_interval_s is None and (on_status is not None or hang_timeout_s is not None):
            raise ValueError("on_status and hang_timeout_s need a status_interval_s")
        if status_interval_s is not None and status_interval_s < 1:
            raise ValueError(f"fio's status interval is at least 1 s, not {status_interval_s}")
        if hang_timeout_s is not None and hang_timeout_s <= 0:
            raise ValueError(f"the hang timeout must be positive, not {hang_timeout_s}")
        if status_interval_s is None:
            status_interval_s, hang_timeout_s = _watch_settings(os.environ)
            on_status = _discard
        elif hang_timeout_s is None:
            hang_timeout_s = _watch_settings(os.environ)[1]
        self.work_dir.mkdir(parents=True, exist_ok=True)
        job_path = self.work_dir / f"{label}.fio"
        output_path = self.work_dir / f"{label}.json"
        console_path = self.work_dir / f"{label}.console"
        job_path.write_text(job_file.render(), encoding="utf-8")
        output_path.unlink(missing_ok=True)
        command = [
            str(self.fio.path),
            "--output-format=json",
            f"--output={output_path}",
            f"--status-interval={status_interval_s}",
            *(["--readonly"] if job_file.readonly else []),
            str(job_path),
        ]
        bound_s = hang_bound_s(status_interval_s) if hang_timeout_s is None else hang_timeout_s

        started = time.monotonic()
        with console_path.open("w+", encoding="utf-8", errors="replace") as console:
            try:
                process = subprocess.Popen(
                    command,
                    stdout=console,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    cwd=job_file.directory,
                    start_new_session=True,
                    preexec_fn=_die_with_parent(),
                )
            except OSError as exc:
                raise FioError(f"could not start fio {self.fio.path}: {exc}") from None
            follower = _StatusFollower(DocumentTail(output_path), on_status, bound_s, started)
            try:
                exit_code = follower.follow(process)
                if exit_code is None:
                    console.seek(0)
                    raise follower.hang_error(process, _kill(process), console.read())
            except KeyboardInterrupt as interruption:
                _stop(process)
                console.seek(0)
                follower.drain()
                partial = follower.collect(console.read(), process.returncode, strict=False)
                raise FioInterruptedError(partial, interruption_name(interruption)) from None
            except FioHangError:
                raise
            except BaseException:
                _stop(process)
                raise
            finally:
                follower.tail.close()
            console.seek(0)
            console_text = console.read()
        run = follower.collect(console_text, exit_code, strict=exit_code >= 0)
        if exit_code < 0:
            raise _killed_error(exit_code, run, console_text)
        assert run is not None  # strict collection raises instead of returning None
        return run


class _StatusFollower:
    """Reads fio's status documents while it runs, hands them on, and watches for a stall."""

    def __init__(
        self,
        tail: DocumentTail,
        on_status: StatusCallback | None,
        bound_s: float,
        started: float,
    ) -> None:
        self.tail = tail
        self.on_status = on_status
        self.bound_s = bound_s
        self.started = started
        self.last: FioResult | None = None
        self.snapshots: list[FioResult] = []
        self.moved_bytes = 0
        self.progress_at = started
        """When the byte count last grew (or fio started): the watchdog's reference."""

    def follow(self, process: subprocess.Popen[bytes]) -> int | None:
        """fio's exit code, or None when it stalled for longer than the bound (still running)."""
        while True:
            try:
                exit_code = process.wait(timeout=POLL_INTERVAL_S)
            except subprocess.TimeoutExpired:
                self._take(self.tail.read_new(), notify=True)
                if time.monotonic() - self.progress_at > self.bound_s:
                    return None
                continue
            self._take(self.tail.finish(), notify=True)
            return exit_code

    def _take(self, documents: list[dict[str, Any]], *, notify: bool) -> None:
        for document in documents:
            result = _validate(document, self.tail.diagnostics)
            moved = result.read_bytes + result.write_bytes
            if moved > self.moved_bytes:
                self.moved_bytes = moved
                self.progress_at = time.monotonic()
            if self.last is not None and self.on_status is None:
                self.snapshots.append(self.last)
            self.last = result
            if notify and self.on_status is not None:
                self.on_status(result)

    def drain(self) -> None:
        """After fio was stopped: keep its last documents without calling back."""
        self._take(self.tail.finish(), notify=False)

    def collect(self, console_text: str, exit_code: int | None, *, strict: bool) -> FioRun | None:
        return _assemble(
            self.last,
            self.snapshots,
            self.tail.diagnostics + _console_lines(console_text),
            exit_code,
            self.started,
            self.tail.path,
            strict=strict,
        )

    def hang_error(self, process: subprocess.Popen[bytes], killed: bool, console: str) -> FioError:
        stalled_since_s = self.progress_at - self.started
        since = "since it started" if self.moved_bytes == 0 else f"after {stalled_since_s:.0f} s"
        if killed:
            outcome = (
                "killed it: the drive or its connection may have stopped responding; check the "
                "drive's cable and power and run again"
            )
        else:
            outcome = (
                f"fio (pid {process.pid}) is stuck in the kernel and cannot be killed: the drive "
                "has stopped responding; unplug it or restart the computer"
            )
        return FioHangError(
            f"fio moved no data for {_seconds(self.bound_s)} ({since}); {outcome}",
            bound_s=self.bound_s,
            stalled_since_s=stalled_since_s,
            exit_code=process.returncode,
            diagnostics=self.tail.diagnostics + _console_lines(console),
            result=self.last,
        )


def _seconds(duration_s: float) -> str:
    return f"{duration_s:.0f} s" if duration_s >= 10 else f"{duration_s:.1f} s"


def _console_lines(console_text: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in console_text.splitlines() if line.strip())


def _validate(document: dict[str, Any], diagnostics: tuple[str, ...]) -> FioResult:
    if "jobs" not in document:  # every fio report and status document lists its jobs
        raise FioError(
            "fio's output is not a fio report (a JSON document without jobs); "
            "check that --fio points at fio",
            diagnostics=diagnostics,
        )
    try:
        return FioResult.model_validate(document)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(part) for part in problem["loc"]) or "the document"
        raise FioError(
            f"fio's output is not a fio report ({where}: {problem['msg']}); "
            "check that --fio points at fio",
            diagnostics=diagnostics,
        ) from None


def _assemble(
    last: FioResult | None,
    snapshots: list[FioResult],
    diagnostics: tuple[str, ...],
    exit_code: int | None,
    started: float,
    output_path: Path,
    *,
    strict: bool,
) -> FioRun | None:
    code = -1 if exit_code is None else exit_code
    if last is None:
        if not strict:
            return None
        raise FioError("fio wrote no results", exit_code=code, diagnostics=diagnostics)
    run = FioRun(
        result=last,
        snapshots=tuple(snapshots),
        diagnostics=diagnostics,
        exit_code=code,
        wall_s=time.monotonic() - started,
        output_file=output_path,
    )
    if strict:
        _raise_on_failure(run)
    return run


def _killed_error(exit_code: int, run: FioRun | None, console_text: str) -> FioKilledError:
    try:
        name = signal.Signals(-exit_code).name
    except ValueError:
        name = f"signal {-exit_code}"
    if name in ("SIGSEGV", "SIGBUS", "SIGABRT", "SIGILL", "SIGFPE"):
        cause = "fio crashed; reinstall fio or pass another with --fio"
    else:
        cause = (
            "something outside pytest-qlab ended it (the out-of-memory killer, a user); run "
            "again, and if it recurs look for the out-of-memory killer in the system log"
        )
    return FioKilledError(
        f"fio was killed by {name} before it finished: {cause}",
        signal_name=name,
        exit_code=exit_code,
        diagnostics=run.diagnostics if run is not None else _console_lines(console_text),
        result=run.result if run is not None else None,
    )


def _raise_on_failure(run: FioRun) -> None:
    failed = run.result.failed_jobs
    if failed:
        job = failed[0]
        raise FioError(
            f"fio job {job.jobname!r} failed",
            exit_code=run.exit_code,
            errno=job.error,
            diagnostics=run.diagnostics,
            result=run.result,
        )
    if run.exit_code != 0:
        raise FioError(
            "fio reported a failure",
            exit_code=run.exit_code,
            diagnostics=run.diagnostics,
            result=run.result,
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGINT lets fio finish its JSON report; SIGKILL if it does not stop in time."""
    if process.poll() is not None:
        return
    try:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        _kill(process)
    except KeyboardInterrupt:
        # A second Ctrl-C while waiting: do not leave fio behind.
        _kill(process)
        raise


def _kill(process: subprocess.Popen[bytes]) -> bool:
    """SIGKILL fio and any job processes it forked (they setsid() and would run on); False when
    fio is still there after KILL_WAIT_S, stuck in the kernel on an I/O that never returns."""
    try:
        workers = psutil.Process(process.pid).children(recursive=True)
    except psutil.Error:
        workers = []
    process.kill()
    for worker in workers:
        with contextlib.suppress(psutil.Error):
            worker.kill()  # psutil checks it is still the same process, not a reused pid
    try:
        process.wait(timeout=KILL_WAIT_S)
    except subprocess.TimeoutExpired:
        return False
    return True


def _die_with_parent() -> Callable[[], None] | None:
    """A preexec_fn asking Linux to SIGKILL fio when the thread that started it dies, so fio
    never outlives a SIGKILLed pytest (its own session shields it from every other signal).

    The runner's thread waits for fio, so it cannot end first. libc is looked up here, in the
    parent: the child between fork and exec runs only the prctl call.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong)
    prctl.restype = ctypes.c_int
    parent_pid = os.getpid()

    def in_child() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died before the request took effect
            os.kill(os.getpid(), signal.SIGKILL)

    return in_child
