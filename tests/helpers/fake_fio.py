"""A fake of `FioRunner` that answers every job file with output real fio 3.33 recorded, so the
modes and measurements are unit-tested in-process, in milliseconds, without fio installed.

A recording is one folder per fio invocation, written by tests/fixtures/fio/record.py:

    output.json        fio's --output file as fio wrote it (status documents, then the report)
    run.json           exit code, wall time, diagnostics, the job file fio was given
    <job>_lat.<n>.log  per-I/O latency log of each job that had `lat_log_prefix` (n: fio's
                       number of the job in its job file)

The fake plays a recording the way the real runner would: status documents go to `on_status`
(the final report included), latency logs are written where the job file asked fio to put them,
and a failed job or a non-zero exit raises the runner's FioError. Scripted faults raise the real
runner's other errors with what fio had measured by then. Every call is kept, so a test can
assert what a mode asked fio to run.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from pytest_qlab.fio.errors import FioError, FioHangError, FioInterruptedError, FioKilledError
from pytest_qlab.fio.jobs import FioJob, FioJobFile
from pytest_qlab.fio.results import FioResult, FioRun
from pytest_qlab.fio.runner import FioBinary, FioRunner, StatusCallback
from pytest_qlab.fio.stream import split_documents

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fio"
OUTPUT_FILE = "output.json"
RUN_FILE = "run.json"
LAT_LOG_MARK = "_lat."
"""fio names a job's per-I/O completion log <write_lat_log prefix>_lat.<job number>.log."""
NO_FIO = FioBinary(Path("/nonexistent/fio"), (3, 33), "fio-3.33")
"""The fake never starts a process; a path that cannot exist proves it."""


class RunInfo(BaseModel):
    """What the recorder knew about one fio invocation besides fio's output file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    label: str
    exit_code: int
    wall_s: float
    diagnostics: tuple[str, ...]
    status_interval_s: int | None
    job_file: str
    """The rendered job file, work-directory paths replaced by "<work_dir>"."""


@dataclass(frozen=True)
class Recording:
    """One recorded fio invocation, loaded from its folder."""

    path: Path
    info: RunInfo
    documents: tuple[FioResult, ...]
    """Status documents, oldest first, then fio's final report."""
    lat_logs: Mapping[str, Path]
    """Job name -> its recorded per-I/O latency log (<job>_lat.<n>.log)."""

    @classmethod
    def load(cls, path: Path) -> Recording:
        info = RunInfo.model_validate_json((path / RUN_FILE).read_text(encoding="utf-8"))
        stream = split_documents((path / OUTPUT_FILE).read_text(encoding="utf-8"))
        documents = tuple(FioResult.model_validate(document) for document in stream.documents)
        if not documents:
            raise ValueError(f"the recording {path} holds no fio document")
        logs = {
            log.name.rsplit(LAT_LOG_MARK, 1)[0]: log
            for log in sorted(path.glob(f"*{LAT_LOG_MARK}*.log"))
        }
        return cls(path, info, documents, logs)

    @property
    def final(self) -> FioResult:
        return self.documents[-1]

    @property
    def status_documents(self) -> tuple[FioResult, ...]:
        return self.documents[:-1]

    def fio_run(self, result: FioResult | None = None, *, exit_code: int | None = None) -> FioRun:
        """A FioRun as the runner returns it, by default of the whole recorded run."""
        return FioRun(
            result=self.final if result is None else result,
            snapshots=(),
            diagnostics=self.info.diagnostics,
            exit_code=self.info.exit_code if exit_code is None else exit_code,
            wall_s=self.info.wall_s,
            output_file=self.path / OUTPUT_FILE,
        )


def recording(*parts: str) -> Recording:
    """tests/fixtures/fio/<parts...>, e.g. recording("setup-check", "sequential-read")."""
    return Recording.load(FIXTURES.joinpath(*parts))


def save_recording(
    folder: Path,
    info: RunInfo,
    output_text: str,
    lat_logs: Mapping[str, Path],
    *,
    max_log_lines: int,
) -> None:
    """Write one recording; `lat_logs` maps a job name to the log fio wrote for it, saved as
    <job>_lat.<n>.log with fio's own n, keeping its first `max_log_lines` lines."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / OUTPUT_FILE).write_text(output_text, encoding="utf-8")
    (folder / RUN_FILE).write_text(info.model_dump_json(indent=2) + "\n", encoding="utf-8")
    for job_name, log in lat_logs.items():
        with log.open(encoding="ascii") as source:
            lines = [line for _, line in zip(range(max_log_lines), source, strict=False)]
        number = log.name.rsplit(LAT_LOG_MARK, 1)[1]
        (folder / f"{job_name}{LAT_LOG_MARK}{number}").write_text("".join(lines), encoding="ascii")


# --- scripted faults --------------------------------------------------------------------------


@dataclass(frozen=True)
class Kill:
    """fio ended by a signal nobody in pytest-qlab sent, after `after_documents` status
    documents (the runner's FioKilledError, carrying what fio had reported)."""

    signal_name: str = "SIGKILL"
    after_documents: int = 0


@dataclass(frozen=True)
class Hang:
    """fio stopped moving bytes after `after_documents` documents and the watchdog killed it."""

    after_documents: int = 0
    bound_s: float = 30.0


@dataclass(frozen=True)
class Interrupt:
    """Ctrl-C or SIGTERM after `after_documents` documents were delivered; as the real runner
    does, the partial run holds the next document, the one fio wrote as it stopped."""

    after_documents: int = 0
    signal_name: str = "SIGINT"


@dataclass(frozen=True)
class Raise:
    """Any error the test builds (a FioError with an errno, a VolumeError...)."""

    error: BaseException


Fault = Kill | Hang | Interrupt | Raise


@dataclass(frozen=True)
class FioCall:
    """What a mode asked fio to run."""

    job_file: FioJobFile
    label: str
    status_interval_s: int | None
    hang_timeout_s: float | None
    watched: bool
    """Whether an `on_status` callback followed the run."""

    @property
    def jobs(self) -> tuple[FioJob, ...]:
        return self.job_file.jobs

    def job(self, name: str) -> FioJob:
        return next(job for job in self.jobs if job.name == name)


class RecordingMismatchError(AssertionError):
    """The job file asks for other jobs than the recording holds: re-record, or fix the test."""


class FakeFioRunner(FioRunner):
    """Answers `run` from recordings: the n-th call with label L plays `scenario/L` for n == 1,
    `scenario/L-n` after (the recorder numbers repeated labels the same way), unless `answers`
    names a recording for the label. `faults` turns every call of a label into a failure."""

    def __init__(
        self,
        work_dir: Path,
        scenario: str | None = None,
        *,
        answers: Mapping[str, Recording] | None = None,
        faults: Mapping[str, Fault] | None = None,
    ) -> None:
        super().__init__(NO_FIO, work_dir)
        self.scenario = scenario
        self.answers = dict(answers or {})
        self.faults = dict(faults or {})
        self.calls: list[FioCall] = []

    @property
    def labels(self) -> list[str]:
        return [call.label for call in self.calls]

    def calls_to(self, label: str) -> list[FioCall]:
        return [call for call in self.calls if call.label == label]

    def only_call(self, label: str) -> FioCall:
        (call,) = self.calls_to(label)
        return call

    def recording_for(self, label: str, number: int) -> Recording:
        if label in self.answers:
            return self.answers[label]
        if self.scenario is None:
            raise RecordingMismatchError(f"no recording given for fio run {label!r}")
        name = label if number == 1 else f"{label}-{number}"
        return recording(self.scenario, name)

    def run(
        self,
        job_file: FioJobFile,
        *,
        label: str,
        status_interval_s: int | None = None,
        on_status: StatusCallback | None = None,
        hang_timeout_s: float | None = None,
    ) -> FioRun:
        """The real runner's contract, played from a recording (see the module docstring)."""
        # The real runner's argument checks: a mode breaking them must fail here too.
        if status_interval_s is None and (on_status is not None or hang_timeout_s is not None):
            raise ValueError("on_status and hang_timeout_s need a status_interval_s")
        if status_interval_s is not None and status_interval_s < 1:
            raise ValueError(f"fio's status interval is at least 1 s, not {status_interval_s}")
        self.calls.append(
            FioCall(job_file, label, status_interval_s, hang_timeout_s, on_status is not None)
        )
        fault = self.faults.get(label)
        if isinstance(fault, Raise):
            raise fault.error
        recorded = self.recording_for(label, len(self.calls_to(label)))
        _check_matches(job_file, recorded)
        _write_lat_logs(job_file, recorded)
        documents = recorded.documents
        stop = None if fault is None else min(fault.after_documents, len(documents) - 1)
        delivered = documents if stop is None else documents[:stop]
        # Without an interval the real runner still watches fio but drops the documents.
        if status_interval_s is not None and on_status is not None:
            for document in delivered:
                on_status(document)
        if isinstance(fault, Interrupt):
            assert stop is not None
            partial = recorded.fio_run(documents[stop], exit_code=128)
            raise FioInterruptedError(partial, fault.signal_name)
        if isinstance(fault, Kill):
            assert stop is not None
            raise FioKilledError(
                f"fio was killed by {fault.signal_name} before it finished: something outside "
                "pytest-qlab ended it",
                signal_name=fault.signal_name,
                exit_code=-9,
                diagnostics=recorded.info.diagnostics,
                result=documents[stop - 1] if stop else None,
            )
        if isinstance(fault, Hang):
            assert stop is not None
            raise FioHangError(
                f"fio moved no data for {fault.bound_s:.0f} s; killed it",
                bound_s=fault.bound_s,
                stalled_since_s=float(stop),
                exit_code=-9,
                result=documents[stop - 1] if stop else None,
            )
        run = recorded.fio_run()
        if status_interval_s is not None and on_status is None:
            run = dataclasses.replace(run, snapshots=recorded.status_documents)
        _raise_on_failure(run)
        return run


def _check_matches(job_file: FioJobFile, recorded: Recording) -> None:
    """Every job asked for was recorded, in the same direction and block size; durations and
    sizes may differ, which is how a test plays "fio stopped before the planned time"."""
    final = recorded.final
    for job in job_file.jobs:
        try:
            options = final.job(job.name).job_options
        except KeyError:
            names = [result.jobname for result in final.jobs]
            raise RecordingMismatchError(
                f"{recorded.path} has no job {job.name!r} (recorded: {names})"
            ) from None
        asked = {"rw": job.rw, "bs": str(job.block_size_bytes)}
        found = {key: str(options.get(key)) for key in asked}
        if asked != found:
            raise RecordingMismatchError(
                f"{recorded.path} job {job.name!r} was recorded with {found}, asked {asked}"
            )


def _write_lat_logs(job_file: FioJobFile, recorded: Recording) -> None:
    """Where fio would have written them: <lat_log_prefix>_lat.<n>.log, each I/O's offset moved
    by the difference between the job's `offset` and the recorded job's, as fio reading the
    same region elsewhere in its file would have logged it."""
    for job in job_file.jobs:
        if job.lat_log_prefix is None:
            continue
        log = recorded.lat_logs.get(job.name)
        if log is None:
            raise RecordingMismatchError(f"{recorded.path} holds no latency log of {job.name!r}")
        number = log.name.rsplit(LAT_LOG_MARK, 1)[1]
        options = recorded.final.job(job.name).job_options
        shift = job.offset_bytes - int(options.get("offset", 0))
        target = Path(f"{job.lat_log_prefix}{LAT_LOG_MARK}{number}")
        if shift == 0:
            shutil.copyfile(log, target)
            continue
        lines = []
        for line in log.read_text(encoding="ascii").splitlines(keepends=True):
            fields = line.split(",")
            if len(fields) >= 5:
                fields[4] = f" {int(fields[4]) + shift}"
            lines.append(",".join(fields))
        target.write_text("".join(lines), encoding="ascii")


def _raise_on_failure(run: FioRun) -> None:
    """The real runner's verdict on a finished fio (fio.runner._raise_on_failure)."""
    failed = run.result.failed_jobs
    if failed:
        raise FioError(
            f"fio job {failed[0].jobname!r} failed",
            exit_code=run.exit_code,
            errno=failed[0].error,
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
