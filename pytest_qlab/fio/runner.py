"""Locate fio, run a job file, stop it cleanly, and hand back parsed results.

fio always writes JSON to a file (--output): stdout carries notes and ETA lines that would
break parsing. fio runs in its own session so that only we decide when it is interrupted,
and an interruption still yields the partial results fio writes on SIGINT.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pytest_qlab.fio.errors import FioError, FioInterruptedError, FioNotFoundError
from pytest_qlab.fio.jobs import FioJobFile
from pytest_qlab.fio.results import FioResult
from pytest_qlab.fio.stream import split_documents
from pytest_qlab.signals import interruption_name

MINIMUM_VERSION = (3, 16)
FIO_ENV_VAR = "QLAB_FIO"
BUNDLED_BIN_DIR = Path(__file__).resolve().parents[2] / "bin"
STOP_GRACE_S = 15.0
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


@dataclass(frozen=True)
class FioRun:
    """The outcome of one fio invocation."""

    result: FioResult
    """The last document fio wrote: the final report (or what it had when stopped)."""
    snapshots: tuple[FioResult, ...]
    """Status documents written before the final one (--status-interval), oldest first."""
    diagnostics: tuple[str, ...]
    exit_code: int
    wall_s: float
    output_file: Path


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
    ) -> FioRun:
        """Run to completion; raises FioError on failure, FioInterruptedError on Ctrl-C/SIGTERM."""
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
        ]
        if status_interval_s is not None:
            command.append(f"--status-interval={status_interval_s}")
        command.append(str(job_path))

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
                )
            except OSError as exc:
                raise FioError(f"could not start fio {self.fio.path}: {exc}") from None
            try:
                exit_code = process.wait()
            except KeyboardInterrupt as interruption:
                _stop(process)
                console.seek(0)
                partial = self._collect(
                    output_path, console.read(), process.returncode, started, strict=False
                )
                raise FioInterruptedError(partial, interruption_name(interruption)) from None
            except BaseException:
                _stop(process)
                raise
            console.seek(0)
            console_text = console.read()
        run = self._collect(output_path, console_text, exit_code, started, strict=True)
        assert run is not None  # strict collection raises instead of returning None
        return run

    def _collect(
        self,
        output_path: Path,
        console_text: str,
        exit_code: int | None,
        started: float,
        *,
        strict: bool,
    ) -> FioRun | None:
        text = (
            output_path.read_text(encoding="utf-8", errors="replace")
            if output_path.exists()
            else ""
        )
        stream = split_documents(text)
        console_lines = tuple(line.strip() for line in console_text.splitlines() if line.strip())
        diagnostics = stream.diagnostics + console_lines
        code = -1 if exit_code is None else exit_code
        if not stream.documents:
            if not strict:
                return None
            raise FioError("fio wrote no results", exit_code=code, diagnostics=diagnostics)
        documents = [FioResult.model_validate(document) for document in stream.documents]
        run = FioRun(
            result=documents[-1],
            snapshots=tuple(documents[:-1]),
            diagnostics=diagnostics,
            exit_code=code,
            wall_s=time.monotonic() - started,
            output_file=output_path,
        )
        if strict:
            _raise_on_failure(run)
        return run


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
        process.kill()
        process.wait()
    except KeyboardInterrupt:
        # A second Ctrl-C while waiting: do not leave fio behind.
        process.kill()
        process.wait()
        raise
