from __future__ import annotations

from pathlib import Path

import pytest

from pytest_qlab.fio.stream import split_documents

FIO_FIXTURES = Path(__file__).parents[1] / "fixtures" / "fio"


def _read(name: str) -> str:
    return (FIO_FIXTURES / name).read_text(encoding="utf-8")


def test_note_line_before_json_is_a_diagnostic() -> None:
    stream = split_documents(_read("stdout_note_before_json.txt"))

    assert len(stream.documents) == 1
    assert stream.documents[0]["fio version"] == "fio-3.33"
    assert stream.documents[0]["jobs"][0]["jobname"] == "seqwrite"
    assert len(stream.diagnostics) == 1
    assert stream.diagnostics[0].startswith("note: both iodepth >= 1")
    assert stream.truncated is False


def test_status_interval_stream_holds_five_cumulative_documents() -> None:
    stream = split_documents(_read("status_interval_stream.json"))

    assert len(stream.documents) == 5
    assert stream.diagnostics == ()
    assert stream.truncated is False
    io_bytes = [doc["jobs"][0]["read"]["io_bytes"] for doc in stream.documents]
    runtimes = [doc["jobs"][0]["read"]["runtime"] for doc in stream.documents]
    timestamps = [doc["timestamp_ms"] for doc in stream.documents]
    assert io_bytes == sorted(set(io_bytes)), "cumulative io_bytes must strictly increase"
    assert runtimes == sorted(set(runtimes))
    assert timestamps == sorted(set(timestamps))
    # The final report is the last document: the most data over the longest runtime.
    assert io_bytes[-1] == max(io_bytes) == 1961885696
    assert runtimes[-1] == 4006


def test_sigint_output_starts_with_a_terminating_diagnostic() -> None:
    stream = split_documents(_read("sigint_output.json"))

    assert stream.diagnostics == ("fio: terminating on signal 2",)
    assert len(stream.documents) == 1
    job = stream.documents[0]["jobs"][0]
    assert job["jobname"] == "int"
    assert job["read"]["io_bytes"] > 0
    assert stream.truncated is False


def test_enospc_output_is_one_document_with_the_errno() -> None:
    stream = split_documents(_read("enospc_output.json"))

    assert len(stream.documents) == 1
    assert stream.diagnostics == ()
    assert stream.documents[0]["jobs"][0]["error"] == 28


def test_truncated_document_is_flagged_and_earlier_documents_kept() -> None:
    text = _read("status_interval_stream.json")
    second_start = text.index("}\n{") + 2
    third_start = text.index("}\n{", second_start) + 2
    cut = text[: (second_start + third_start) // 2]

    stream = split_documents(cut)

    assert stream.truncated is True
    assert len(stream.documents) == 1
    assert stream.documents[0]["jobs"][0]["read"]["io_bytes"] == 296747008


def test_truncated_only_document_yields_nothing_but_the_flag() -> None:
    text = _read("enospc_output.json")

    stream = split_documents(text[: len(text) // 3])

    assert stream.truncated is True
    assert stream.documents == ()


@pytest.mark.parametrize("text", ["", "   \n\n\t "])
def test_empty_text_has_no_documents_and_no_diagnostics(text: str) -> None:
    stream = split_documents(text)

    assert stream.documents == ()
    assert stream.diagnostics == ()
    assert stream.truncated is False


def test_garbage_text_is_kept_line_by_line_as_diagnostics() -> None:
    text = "fio: failed parsing rw=bogus\nfio: job global dropped\n\nlast line without newline"

    stream = split_documents(text)

    assert stream.documents == ()
    assert stream.truncated is False
    assert stream.diagnostics == (
        "fio: failed parsing rw=bogus",
        "fio: job global dropped",
        "last line without newline",
    )
