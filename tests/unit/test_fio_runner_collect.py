"""What FioRunner.run makes of recorded fio output once fio has ended: how each way fio ends
becomes a run or an error."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pytest_qlab.fio.errors import FioError
from pytest_qlab.fio.results import FioRun
from pytest_qlab.fio.runner import _StatusFollower, hang_bound_s
from pytest_qlab.fio.stream import DocumentTail

FIO_FIXTURES = Path(__file__).parents[1] / "fixtures" / "fio"


def collect(
    output_path: Path, console_text: str, exit_code: int | None, started: float, *, strict: bool
) -> FioRun | None:
    """FioRunner.run after fio has exited: its follower reads what is left of the output file
    and assembles the run. No callback, so status documents are kept as snapshots."""
    follower = _StatusFollower(DocumentTail(output_path), None, hang_bound_s(1), started)
    try:
        follower.drain()
    finally:
        follower.tail.close()
    return follower.collect(console_text, exit_code, strict=strict)


def _output_file(tmp_path: Path, fixture: str | None) -> Path:
    output = tmp_path / "run.json"
    if fixture is not None:
        output.write_text((FIO_FIXTURES / fixture).read_text(encoding="utf-8"), encoding="utf-8")
    return output


def test_enospc_raises_fio_error_with_errno_diagnostics_and_result(tmp_path: Path) -> None:
    output = _output_file(tmp_path, "enospc_output.json")
    stderr = (FIO_FIXTURES / "enospc_stderr.txt").read_text(encoding="utf-8")

    with pytest.raises(FioError) as caught:
        collect(output, stderr, 1, time.monotonic(), strict=True)

    error = caught.value
    assert error.errno == 28
    assert error.exit_code == 1
    assert stderr.strip() in error.diagnostics
    assert error.result is not None
    assert error.result.job("fill").write.io_bytes == 8388608
    text = str(error)
    assert "'fill' failed" in text
    assert "ENOSPC" in text
    assert "No space left on device" in text
    assert "fio exit code 1" in text


def test_enospc_non_strict_returns_the_run(tmp_path: Path) -> None:
    output = _output_file(tmp_path, "enospc_output.json")

    run = collect(output, "", 1, time.monotonic(), strict=False)

    assert run is not None
    assert run.exit_code == 1
    assert run.result.failed_jobs[0].error == 28


def test_option_error_without_json_raises_no_results(tmp_path: Path) -> None:
    """fio exits 1 and writes no JSON when a job option is invalid."""
    output = _output_file(tmp_path, None)
    console = "fio: failed parsing rw=bogus\n"

    with pytest.raises(FioError, match="fio wrote no results") as caught:
        collect(output, console, 1, time.monotonic(), strict=True)

    assert caught.value.exit_code == 1
    assert caught.value.diagnostics == ("fio: failed parsing rw=bogus",)
    assert caught.value.result is None
    assert "fio: failed parsing rw=bogus" in str(caught.value)


def test_empty_output_file_is_the_same_as_none(tmp_path: Path) -> None:
    output = tmp_path / "run.json"
    output.write_text("", encoding="utf-8")

    with pytest.raises(FioError, match="fio wrote no results"):
        collect(output, "", 1, time.monotonic(), strict=True)


def test_no_documents_non_strict_returns_none(tmp_path: Path) -> None:
    output = _output_file(tmp_path, None)

    assert collect(output, "fio: failed parsing rw=bogus", 1, 0.0, strict=False) is None


def test_sigint_non_strict_returns_partial_run(tmp_path: Path) -> None:
    output = _output_file(tmp_path, "sigint_output.json")

    run = collect(output, "", 128, time.monotonic(), strict=False)

    assert run is not None
    assert run.exit_code == 128
    assert run.result.read_bytes > 0
    assert run.snapshots == ()
    assert run.diagnostics == ("fio: terminating on signal 2",)
    assert run.output_file == output
    assert run.wall_s >= 0


def test_sigint_strict_is_a_failure(tmp_path: Path) -> None:
    output = _output_file(tmp_path, "sigint_output.json")

    with pytest.raises(FioError, match="fio reported a failure") as caught:
        collect(output, "", 128, time.monotonic(), strict=True)

    assert caught.value.exit_code == 128
    assert caught.value.errno is None
    assert caught.value.result is not None


def test_unknown_exit_code_becomes_minus_one(tmp_path: Path) -> None:
    output = _output_file(tmp_path, None)

    with pytest.raises(FioError) as caught:
        collect(output, "", None, time.monotonic(), strict=True)

    assert caught.value.exit_code == -1


def test_status_stream_final_document_is_the_result(tmp_path: Path) -> None:
    output = _output_file(tmp_path, "status_interval_stream.json")
    started = time.monotonic()

    run = collect(output, "", 0, started, strict=True)

    assert run is not None
    assert len(run.snapshots) == 4
    assert run.result.job("s").read.io_bytes == 1961885696
    assert [s.job("s").read.io_bytes for s in run.snapshots] == [
        296747008,
        813694976,
        1347420160,
        1903165440,
    ]
    assert run.exit_code == 0


def test_diagnostics_join_file_lines_then_console_lines(tmp_path: Path) -> None:
    output = _output_file(tmp_path, "stdout_note_before_json.txt")

    run = collect(output, "\n  eta line  \n\n", 0, time.monotonic(), strict=True)

    assert run is not None
    assert len(run.diagnostics) == 2
    assert run.diagnostics[0].startswith("note: both iodepth")
    assert run.diagnostics[1] == "eta line"
