"""FioRunner with stand-in fio scripts: status documents followed while fio runs, the hang
watchdog, garbage output, fio killed by a signal, and fio dying with a SIGKILLed parent."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import psutil  # type: ignore[import-untyped]
import pytest

from pytest_qlab.fio.errors import (
    FioError,
    FioHangError,
    FioInterruptedError,
    FioKilledError,
)
from pytest_qlab.fio.jobs import FioJob, FioJobFile
from pytest_qlab.fio.results import FioResult
from pytest_qlab.fio.runner import FioBinary, FioRunner, hang_bound_s
from pytest_qlab.fio.stream import DocumentTail

REPO = Path(__file__).resolve().parents[2]
FIO_FIXTURES = REPO / "tests" / "fixtures" / "fio"
RECORDED = FIO_FIXTURES / "status_interval_stream.json"
RECORDED_BYTES = [296747008, 813694976, 1347420160, 1903165440, 1961885696]

_PRELUDE = """\
import json, os, signal, sys, time
output = next(a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--output="))
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "fio.pid"), "w") as pid_file:
    pid_file.write(str(os.getpid()))
out = open(output, "w")

def document(read_bytes, runtime_ms, final=False):
    body = {"fio version": "fio-3.33", "timestamp_ms": int(time.time() * 1000),
            "jobs": [{"jobname": "s", "error": 0,
                      "read": {"io_bytes": read_bytes, "runtime": runtime_ms}}]}
    return json.dumps(body, indent=2) + "\\n"

def emit(text, halves=False):
    if halves:  # like stdio flushing a buffer mid-document
        out.write(text[: len(text) // 2]); out.flush(); time.sleep(0.1)
        text = text[len(text) // 2 :]
    out.write(text); out.flush()
"""


def _fake_fio(tmp_path: Path, body: str) -> FioBinary:
    directory = tmp_path / "fake-fio"
    directory.mkdir()
    script = directory / "fio"
    script.write_text(f"#!{sys.executable}\n" + _PRELUDE + textwrap.dedent(body), encoding="utf-8")
    script.chmod(0o755)
    return FioBinary(path=script, version=(3, 33), version_text="fio-3.33")


def _fio_pid(fio: FioBinary, timeout_s: float = 10.0) -> int:
    pid_file = fio.path.parent / "fio.pid"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(FileNotFoundError, ValueError):
            return int(pid_file.read_text(encoding="ascii"))
        time.sleep(0.02)
    raise AssertionError("the fake fio never started")


def _gone(pid: int, timeout_s: float = 3.0) -> bool:
    """The process has exited (a zombie nobody reaped counts as gone: it does no I/O)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def _job_file(tmp_path: Path) -> FioJobFile:
    return FioJobFile(
        directory=tmp_path,
        jobs=(
            FioJob(name="s", filename="s.bin", rw="read", block_size_bytes=4096, size_bytes=4096),
        ),
    )


def _runner(fio: FioBinary, tmp_path: Path) -> FioRunner:
    return FioRunner(fio, tmp_path / "control")


REPLAY_RECORDED = """
import re
text = open(RECORDED_PATH).read()
pieces = [piece for piece in re.split(r"(?m)^(?=[{]$)", text) if piece]
for piece in pieces[:-1]:
    emit(piece, halves=True)
    time.sleep(0.3)
time.sleep(0.5)
emit(pieces[-1])
""".replace("RECORDED_PATH", repr(str(RECORDED)))


def test_status_documents_reach_the_callback_while_fio_runs(tmp_path: Path) -> None:
    fio = _fake_fio(tmp_path, REPLAY_RECORDED)
    arrivals: list[tuple[float, int]] = []

    def on_status(status: FioResult) -> None:
        arrivals.append((time.monotonic(), status.read_bytes))

    run = _runner(fio, tmp_path).run(
        _job_file(tmp_path), label="live", status_interval_s=1, on_status=on_status
    )
    finished = time.monotonic()

    assert [read_bytes for _, read_bytes in arrivals] == RECORDED_BYTES
    assert finished - arrivals[0][0] > 1.0, "the first document arrived only at the end"
    assert run.result.read_bytes == RECORDED_BYTES[-1]
    assert run.snapshots == (), "documents handed to the callback are not kept"
    assert run.exit_code == 0


def test_without_a_callback_the_documents_are_kept_as_snapshots(tmp_path: Path) -> None:
    fio = _fake_fio(tmp_path, REPLAY_RECORDED)

    run = _runner(fio, tmp_path).run(_job_file(tmp_path), label="kept", status_interval_s=1)

    assert [status.read_bytes for status in run.snapshots] == RECORDED_BYTES[:-1]
    assert run.result.read_bytes == RECORDED_BYTES[-1]


def test_status_callback_and_watchdog_need_a_status_interval(tmp_path: Path) -> None:
    runner = _runner(_fake_fio(tmp_path, ""), tmp_path)

    with pytest.raises(ValueError, match="need a status_interval_s"):
        runner.run(_job_file(tmp_path), label="x", on_status=lambda _: None)
    with pytest.raises(ValueError, match="need a status_interval_s"):
        runner.run(_job_file(tmp_path), label="x", hang_timeout_s=5)
    with pytest.raises(ValueError, match="at least 1 s"):
        runner.run(_job_file(tmp_path), label="x", status_interval_s=0)
    with pytest.raises(ValueError, match="must be positive"):
        runner.run(_job_file(tmp_path), label="x", status_interval_s=1, hang_timeout_s=0)


@pytest.mark.parametrize(("interval_s", "bound_s"), [(1, 30.0), (5, 30.0), (10, 30.0), (20, 60.0)])
def test_hang_bound_is_three_intervals_but_at_least_thirty_seconds(
    interval_s: int, bound_s: float
) -> None:
    assert hang_bound_s(interval_s) == bound_s


HANG_WITH_A_WORKER = """
worker = os.fork()
if worker == 0:
    os.setsid()  # what fio's forked job processes do
    with open(os.path.join(here, "worker.pid"), "w") as handle:
        handle.write(str(os.getpid()))
    time.sleep(120)
    os._exit(0)
time.sleep(120)
"""


def test_fio_that_writes_nothing_is_killed_within_the_bound_with_its_workers(
    tmp_path: Path,
) -> None:
    fio = _fake_fio(tmp_path, HANG_WITH_A_WORKER)
    started = time.monotonic()

    with pytest.raises(FioHangError) as caught:
        _runner(fio, tmp_path).run(
            _job_file(tmp_path), label="hang", status_interval_s=1, hang_timeout_s=1.0
        )

    took_s = time.monotonic() - started
    assert 1.0 <= took_s < 1.0 + 1.5, f"the watchdog took {took_s:.1f} s for a 1 s bound"
    error = caught.value
    assert isinstance(error, FioError)
    assert str(error) == (
        "fio moved no data for 1.0 s (since it started); killed it: the drive or its "
        "connection may have stopped responding; check the drive's cable and power and run "
        "again; fio exit code -9"
    )
    assert error.bound_s == 1.0
    assert error.result is None
    assert _gone(_fio_pid(fio), timeout_s=0.5)
    worker_pid = int((fio.path.parent / "worker.pid").read_text(encoding="ascii"))
    assert _gone(worker_pid), "fio's forked job process outlived the kill"


STALL_AFTER_THREE = """
for step in range(1, 4):
    emit(document(step * 100_000_000, step * 200))
    time.sleep(0.2)
while True:  # status keeps coming, the bytes do not move
    emit(document(300_000_000, 600))
    time.sleep(0.2)
"""


def test_documents_whose_bytes_stop_advancing_are_a_hang(tmp_path: Path) -> None:
    fio = _fake_fio(tmp_path, STALL_AFTER_THREE)
    documents: list[int] = []

    with pytest.raises(FioHangError) as caught:
        _runner(fio, tmp_path).run(
            _job_file(tmp_path),
            label="stall",
            status_interval_s=1,
            on_status=lambda status: documents.append(status.read_bytes),
            hang_timeout_s=1.5,
        )

    error = caught.value
    assert documents[:3] == [100_000_000, 200_000_000, 300_000_000]
    assert len(documents) > 4, "documents kept arriving; only the bytes stalled"
    assert 0.2 < error.stalled_since_s < 1.5
    assert "fio moved no data for 1.5 s (after " in str(error)
    assert error.result is not None
    assert error.result.read_bytes == 300_000_000
    assert "\n" not in str(error), "one line"
    assert _gone(_fio_pid(fio), timeout_s=0.5)


STEADY_PROGRESS = """
for step in range(1, 9):
    emit(document(step * 1_000_000, step * 300))
    time.sleep(0.3)
emit(document(9_000_000, 2700))
"""


def test_a_run_longer_than_the_bound_that_moves_data_is_not_a_hang(tmp_path: Path) -> None:
    fio = _fake_fio(tmp_path, STEADY_PROGRESS)

    run = _runner(fio, tmp_path).run(
        _job_file(tmp_path), label="steady", status_interval_s=1, hang_timeout_s=1.0
    )

    assert run.wall_s > 2.0
    assert run.result.read_bytes == 9_000_000


@pytest.mark.parametrize("follow", [False, True], ids=["wait", "follow"])
def test_garbage_output_is_a_fio_error_showing_the_garbage(tmp_path: Path, follow: bool) -> None:
    fio = _fake_fio(
        tmp_path,
        """
        print("Segmentation fault? no: just garbage on stdout")
        emit("%%% not fio %%%\\n{ broken json line\\n\\x00\\x01 binary junk\\n")
        """,
    )
    interval = 1 if follow else None

    with pytest.raises(FioError, match="fio wrote no results") as caught:
        _runner(fio, tmp_path).run(_job_file(tmp_path), label="junk", status_interval_s=interval)

    diagnostics = caught.value.diagnostics
    assert "%%% not fio %%%" in diagnostics
    assert "{ broken json line" in diagnostics
    assert "Segmentation fault? no: just garbage on stdout" in diagnostics
    assert caught.value.exit_code == 0


@pytest.mark.parametrize("follow", [False, True], ids=["wait", "follow"])
def test_json_that_is_not_a_fio_report_is_a_fio_error(tmp_path: Path, follow: bool) -> None:
    fio = _fake_fio(tmp_path, 'emit(json.dumps({"jobs": "none"}, indent=2) + "\\n")')

    with pytest.raises(FioError, match=r"fio's output is not a fio report \(jobs: "):
        _runner(fio, tmp_path).run(
            _job_file(tmp_path), label="json", status_interval_s=1 if follow else None
        )


def test_fio_sigkilled_mid_run_is_a_fio_error_naming_the_signal(tmp_path: Path) -> None:
    fio = _fake_fio(
        tmp_path,
        """
        emit(document(123_000_000, 500))
        time.sleep(60)
        """,
    )

    def kill_fio(_status: FioResult) -> None:
        os.kill(_fio_pid(fio), signal.SIGKILL)

    with pytest.raises(FioKilledError) as caught:
        _runner(fio, tmp_path).run(
            _job_file(tmp_path), label="killed", status_interval_s=1, on_status=kill_fio
        )

    error = caught.value
    assert isinstance(error, FioError)
    assert error.signal_name == "SIGKILL"
    assert str(error).startswith("fio was killed by SIGKILL before it finished: something ")
    assert error.exit_code == -signal.SIGKILL
    assert error.result is not None
    assert error.result.read_bytes == 123_000_000, "what fio measured until then is kept"


def test_fio_killed_without_status_following_names_the_signal(tmp_path: Path) -> None:
    fio = _fake_fio(tmp_path, "time.sleep(60)")
    killer = threading.Thread(target=lambda: os.kill(_fio_pid(fio), signal.SIGKILL))
    killer.start()

    with pytest.raises(FioKilledError, match=r"^fio was killed by SIGKILL") as caught:
        _runner(fio, tmp_path).run(_job_file(tmp_path), label="killed")
    killer.join()

    assert caught.value.result is None


def test_fio_crashing_says_so(tmp_path: Path) -> None:
    fio = _fake_fio(tmp_path, "os.kill(os.getpid(), signal.SIGSEGV)")

    with pytest.raises(FioKilledError, match="killed by SIGSEGV before it finished: fio crashed"):
        _runner(fio, tmp_path).run(_job_file(tmp_path), label="crash", status_interval_s=1)


STOPS_ON_SIGINT = """
def stop(signum, frame):
    emit(document(250_000_000, 900, final=True))
    out.write("fio: terminating on signal 2\\n"); out.flush()
    sys.exit(128)
signal.signal(signal.SIGINT, stop)
emit(document(100_000_000, 400))
time.sleep(60)
"""


def test_interruption_from_the_callback_stops_fio_and_keeps_its_last_report(
    tmp_path: Path,
) -> None:
    fio = _fake_fio(tmp_path, STOPS_ON_SIGINT)

    def interrupt(_status: FioResult) -> None:
        raise KeyboardInterrupt

    with pytest.raises(FioInterruptedError) as caught:
        _runner(fio, tmp_path).run(
            _job_file(tmp_path), label="stop", status_interval_s=1, on_status=interrupt
        )

    partial = caught.value.partial
    assert partial is not None
    assert partial.result.read_bytes == 250_000_000
    assert partial.exit_code == 128
    assert "fio: terminating on signal 2" in partial.diagnostics
    assert _gone(_fio_pid(fio), timeout_s=0.5)


CHILD_RUNNER = """
import sys
from pathlib import Path
from pytest_qlab.fio.jobs import FioJob, FioJobFile
from pytest_qlab.fio.runner import FioBinary, FioRunner

fio, control, directory = (Path(argument) for argument in sys.argv[1:4])
job = FioJob(name="s", filename="s.bin", rw="read", block_size_bytes=1048576,
             size_bytes=int(sys.argv[4]), runtime_ms=int(sys.argv[5]))
runner = FioRunner(FioBinary(path=fio, version=(3, 33), version_text="fio-3.33"), control)
runner.run(FioJobFile(directory=directory, jobs=(job,)), label="orphan", status_interval_s=1)
"""


def start_runner_child(
    fio: Path, tmp_path: Path, size_bytes: int = 4096, runtime_ms: int = 60_000
) -> subprocess.Popen[bytes]:
    """A Python process running FioRunner.run, for tests that SIGKILL it."""
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            CHILD_RUNNER,
            str(fio),
            str(tmp_path / "control"),
            str(tmp_path),
            str(size_bytes),
            str(runtime_ms),
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_fio_dies_with_a_sigkilled_parent(tmp_path: Path) -> None:
    fio = _fake_fio(tmp_path, "signal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(120)")
    child = start_runner_child(fio.path, tmp_path)
    try:
        fio_pid = _fio_pid(fio)
        assert psutil.Process(fio_pid).ppid() == child.pid
        child.kill()
        child.wait()

        assert _gone(fio_pid), "fio outlived the SIGKILLed process that started it"
    finally:
        child.kill()
        with contextlib.suppress(OSError, ValueError):
            os.kill(int((fio.path.parent / "fio.pid").read_text(encoding="ascii")), 9)


def test_tail_reads_only_complete_documents_as_they_are_appended(tmp_path: Path) -> None:
    text = RECORDED.read_text(encoding="utf-8")
    output = tmp_path / "out.json"
    tail = DocumentTail(output)
    assert tail.read_new() == [], "the file does not exist yet"
    seen: list[int] = []
    with output.open("w", encoding="utf-8") as handle:
        for start in range(0, len(text), 1000):
            handle.write(text[start : start + 1000])
            handle.flush()
            seen += [document["jobs"][0]["read"]["io_bytes"] for document in tail.read_new()]
    seen += [document["jobs"][0]["read"]["io_bytes"] for document in tail.finish()]
    tail.close()

    assert seen == RECORDED_BYTES
    assert tail.diagnostics == ()
    assert not tail.truncated


def test_tail_keeps_stray_lines_and_reports_a_document_cut_short(tmp_path: Path) -> None:
    output = tmp_path / "out.json"
    document = json.dumps({"jobs": []}, indent=2)
    output.write_text(
        f"note: something\n{document}\n{{ not json\nfio: terminating on signal 2\n{document[:9]}",
        encoding="utf-8",
    )
    tail = DocumentTail(output)

    documents = tail.finish()
    tail.close()

    assert documents == [{"jobs": []}]
    assert tail.diagnostics == ("note: something", "{ not json", "fio: terminating on signal 2")
    assert tail.truncated
