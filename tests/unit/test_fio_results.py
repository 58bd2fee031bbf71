from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest

from pytest_qlab.fio.results import FioResult
from pytest_qlab.fio.stream import split_documents

FIO_FIXTURES = Path(__file__).parents[1] / "fixtures" / "fio"


def _results(name: str) -> list[FioResult]:
    text = (FIO_FIXTURES / name).read_text(encoding="utf-8")
    return [FioResult.model_validate(doc) for doc in split_documents(text).documents]


def _only(name: str) -> FioResult:
    (result,) = _results(name)
    return result


@pytest.mark.parametrize(
    ("name", "jobname", "direction"),
    [
        ("stdout_note_before_json.txt", "seqwrite", "write"),
        ("sigint_output.json", "int", "read"),
        ("enospc_output.json", "fill", "write"),
        ("stream_output.json", "stream", "read"),
    ],
)
def test_mb_s_comes_from_bw_bytes_not_kib_bw(name: str, jobname: str, direction: str) -> None:
    """fio's `bw` is KiB/s: the model must use `bw_bytes` and decimal megabytes."""
    text = (FIO_FIXTURES / name).read_text(encoding="utf-8")
    raw = split_documents(text).documents[0]["jobs"][0][direction]
    stats = getattr(_only(name).job(jobname), direction)

    assert stats.bw_bytes == raw["bw_bytes"] > 0
    assert stats.mb_s == pytest.approx(raw["bw_bytes"] / 1e6)
    assert abs(raw["bw"] * 1024 - raw["bw_bytes"]) < 1024


def test_stream_rate_limit_shows_in_mb_s() -> None:
    stats = _only("stream_output.json").job("stream").read

    # rate=60000000 B/s: 60 MB/s, which the KiB figure (58.6) would misreport.
    assert stats.mb_s == pytest.approx(60.0, rel=0.01)


def test_runtime_is_milliseconds() -> None:
    stats = _only("sigint_output.json").job("int").read

    assert stats.runtime_ms == 1686
    assert stats.runtime_s == pytest.approx(1.686)
    assert stats.io_bytes / stats.runtime_s / 1e6 == pytest.approx(stats.mb_s, rel=0.01)


def test_percentile_ms_reads_string_keys_and_converts_ns() -> None:
    clat = _only("enospc_output.json").job("fill").write.clat

    assert clat.percentile_ns["99.900000"] == 937984
    assert clat.percentile_ms(99.9) == pytest.approx(0.937984)
    assert clat.percentile_ms(99) is not None


def test_percentile_ms_is_none_when_fio_did_not_report_it() -> None:
    stats = _only("sigint_output.json").job("int").read

    assert stats.clat.percentile_ms(12.345) is None
    # fio reports percentiles for completion latency only, not total latency.
    assert stats.lat.percentile_ns == {}
    assert stats.lat.percentile_ms(99.9) is None


def test_latency_summary_in_ms() -> None:
    clat = _only("sigint_output.json").job("int").read.clat

    assert clat.samples > 0
    assert clat.max_ms == clat.max_ns / 1e6
    assert 0 < clat.mean_ms <= clat.max_ms


def test_enospc_job_carries_errno_28_and_is_failed() -> None:
    result = _only("enospc_output.json")

    assert result.job("fill").error == 28
    assert [job.jobname for job in result.failed_jobs] == ["fill"]


def test_successful_runs_have_no_failed_jobs() -> None:
    assert _only("sigint_output.json").failed_jobs == ()
    assert _only("stdout_note_before_json.txt").failed_jobs == ()


def test_job_lookup_by_unknown_name_raises_key_error() -> None:
    with pytest.raises(KeyError, match="no job named 'missing'"):
        _only("sigint_output.json").job("missing")


def test_read_and_write_bytes_sum_the_jobs() -> None:
    enospc = _only("enospc_output.json")
    sigint = _only("sigint_output.json")

    assert enospc.write_bytes == 8388608
    assert enospc.read_bytes == 0
    assert sigint.read_bytes == 683671552
    assert sigint.write_bytes == 0


def test_header_fields_and_job_options() -> None:
    result = _only("stdout_note_before_json.txt")

    assert result.fio_version == "fio-3.33"
    assert result.timestamp_ms == 1795382390632
    assert result.job("seqwrite").job_options["ioengine"] == "psync"
    assert result.job("seqwrite").elapsed_s == 3


def test_per_interval_rate_from_consecutive_status_documents() -> None:
    documents = _results("status_interval_stream.json")
    assert len(documents) == 5

    rates_mb_s = []
    for before, after in pairwise(documents):
        earlier, later = before.job("s").read, after.job("s").read
        delta_bytes = later.io_bytes - earlier.io_bytes
        delta_s = later.runtime_s - earlier.runtime_s
        rates_mb_s.append(delta_bytes / delta_s / 1e6)

    assert len(rates_mb_s) == 4
    assert all(rate > 0 for rate in rates_mb_s)
    first = documents[1].job("s").read.io_bytes - documents[0].job("s").read.io_bytes
    assert rates_mb_s[0] == pytest.approx(first / 1.0 / 1e6)
