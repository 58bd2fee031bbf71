"""One `fio --client` run with a job file per host, so every host's drive, and storage they
share, carry their load at the same moment; each host's share of the result comes back as the
FioRun a local run would have given.

The client names every host "127.0.0.1" (each is reached through its own forwarded port), so
hosts are told apart by port, never by hostname, and never by the "All clients" sum.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from pytest_qlab.fio.errors import FioError, FioInterruptedError
from pytest_qlab.fio.jobs import FioJobFile
from pytest_qlab.fio.results import FioResult, FioRun
from pytest_qlab.fio.runner import FioBinary
from pytest_qlab.fio.stream import split_documents
from pytest_qlab.safety.signals import interruption_name

CLIENT_ADDRESS = "127.0.0.1"
AGGREGATE_JOB = "All clients"
STOP_GRACE_S = 15.0


class HostLostError(FioError):
    """A host dropped out of the run: its connection ended before fio's report came back."""


@dataclass(frozen=True)
class Submission:
    """One host's job file for the round, and where its control files go on this machine."""

    job_file: FioJobFile
    label: str
    work_dir: Path
    port: int
    status_interval_s: int | None = None
    """Status snapshots every this many seconds (the long modes' throughput windows)."""


def run_clients(
    fio: FioBinary, control_dir: Path, submissions: Mapping[str, Submission]
) -> dict[str, FioRun | FioError]:
    """Every host's jobs in one client run; a host whose share failed gets its FioError.

    Raises FioInterruptedError on Ctrl-C/SIGTERM after stopping the client."""
    control_dir.mkdir(parents=True, exist_ok=True)
    output_path = control_dir / "fleet.json"
    console_path = control_dir / "fleet.console"
    output_path.unlink(missing_ok=True)
    command = [str(fio.path), "--output-format=json", f"--output={output_path}"]
    for submission in submissions.values():
        submission.work_dir.mkdir(parents=True, exist_ok=True)
        job_path = submission.work_dir / f"{submission.label}.fio"
        job_path.write_text(submission.job_file.render(), encoding="utf-8")
        # an option after a host's job file goes to that host's server: JSON keeps its text
        # chatter out of our output (an option after the last one would open a file there)
        command += [
            f"--client={CLIENT_ADDRESS},{submission.port}",
            str(job_path),
            "--output-format=json",
        ]
        if submission.status_interval_s is not None:
            command.append(f"--status-interval={submission.status_interval_s}")
    started = time.monotonic()
    with console_path.open("w+", encoding="utf-8", errors="replace") as console:
        process = subprocess.Popen(
            command,
            stdout=console,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=control_dir,
            start_new_session=True,
        )
        try:
            exit_code = process.wait()
        except KeyboardInterrupt as interruption:
            _stop(process)
            raise FioInterruptedError(None, interruption_name(interruption)) from None
        except BaseException:
            _stop(process)
            raise
        console.seek(0)
        console_lines = tuple(line.strip() for line in console if line.strip())
    wall_s = time.monotonic() - started
    stream = split_documents(output_path.read_text(encoding="utf-8", errors="replace"))
    diagnostics = stream.diagnostics + console_lines
    document = next((doc for doc in reversed(stream.documents) if "client_stats" in doc), None)
    outcome: dict[str, FioRun | FioError] = {}
    for host, submission in submissions.items():
        outcome[host] = _host_run(document, submission, diagnostics, exit_code, wall_s, output_path)
    return outcome


def _host_run(
    document: dict[str, Any] | None,
    submission: Submission,
    diagnostics: tuple[str, ...],
    exit_code: int,
    wall_s: float,
    output_path: Path,
) -> FioRun | FioError:
    entries = (
        []
        if document is None
        else [
            entry
            for entry in document.get("client_stats", [])
            if entry.get("jobname") != AGGREGATE_JOB and entry.get("port") == submission.port
        ]
    )
    if not entries:
        return HostLostError(
            "the host dropped out of the run before fio's report came back (its connection "
            "ended); check the host and its network, then run again",
            exit_code=exit_code,
            diagnostics=diagnostics,
        )
    # with a status interval each job's snapshots follow one another in the list, the final
    # one last: the k-th entry of every job makes the k-th document
    by_job: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        by_job.setdefault(str(entry.get("jobname")), []).append(entry)
    count = min(len(job_entries) for job_entries in by_job.values())
    version = document.get("fio version", "") if document else ""
    try:
        documents = [
            FioResult.model_validate(
                {
                    "fio version": version,
                    "jobs": [job_entries[index] for job_entries in by_job.values()],
                }
            )
            for index in range(count)
        ]
        result = FioResult.model_validate(
            {"fio version": version, "jobs": [job_entries[-1] for job_entries in by_job.values()]}
        )
    except ValidationError as exc:
        return FioError(
            f"fio's client report for the host is not a fio report ({exc.errors()[0]['msg']})"
        )
    _name_logs(submission.job_file)
    run = FioRun(
        result=result,
        snapshots=tuple(documents[:-1]) if count > 1 else (),
        diagnostics=diagnostics,
        exit_code=0 if not result.failed_jobs else 1,
        wall_s=wall_s,
        output_file=output_path,
    )
    if result.failed_jobs:
        job = result.failed_jobs[0]
        return FioError(
            f"fio job {job.jobname!r} failed",
            exit_code=run.exit_code,
            errno=job.error,
            diagnostics=diagnostics,
            result=result,
        )
    return run


def _name_logs(job_file: FioJobFile) -> None:
    """The client saves a host's per-I/O logs as <log>.<host>: give them the names a local run
    writes, which the frame analysis reads."""
    for job in job_file.jobs:
        if job.lat_log_prefix is None:
            continue
        prefix = Path(job.lat_log_prefix)
        for received in prefix.parent.glob(f"{prefix.name}_*.log.{CLIENT_ADDRESS}"):
            received.replace(received.with_name(received.name.removesuffix(f".{CLIENT_ADDRESS}")))


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGINT makes the client tell every server to stop its jobs; SIGKILL if it does not."""
    if process.poll() is not None:
        return
    with contextlib.suppress(OSError):
        process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
