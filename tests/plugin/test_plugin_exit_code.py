"""Exit code 0 means every volume is ready for the required rating, and nothing else."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_qlab.core.verdict import Rating

if TYPE_CHECKING:
    from tests.plugin.conftest import SharedRun


@pytest.mark.integration
@pytest.mark.parametrize("required", ["acceptable", "excellent"])
def test_exit_code_is_zero_exactly_when_every_volume_is_ready(
    shared_setup_check: Callable[..., SharedRun], required: str
) -> None:
    # Acceptable is the default: that run is the plain one the report tests check too. The
    # capacity search is optional evidence and the slowest item: left out to stay fast.
    run = (
        shared_setup_check()
        if required == "acceptable"
        else shared_setup_check("--qlab-require", required)
    )

    result, document = run.result, run.report
    qlab = document["qlab"]
    assert qlab["required"] == required
    records = qlab["volumes"]
    assert records
    for record in records:
        rating = record["rating"]
        proven = rating is not None and Rating(rating).meets(Rating(required))
        assert record["ready"] is proven, record
        status = "READY" if record["ready"] else "NOT READY"
        shown = "NOT RATED" if rating is None else rating.upper()
        verdict = f"{record['name']}: {shown} - {status} for {required.title()}"
        assert [line for line in result.stdout.lines if line.startswith(verdict)], verdict
    all_ready = all(record["ready"] for record in records)
    assert (result.ret == pytest.ExitCode.OK) is all_ready, result.stdout.str()
    if not all_ready:
        assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert document["exitcode"] == result.ret


@pytest.mark.integration
def test_a_run_that_did_not_measure_reading_is_not_rated_and_not_ready(
    run_qlab: Callable[..., pytest.RunResult],
    default_json: Callable[[], dict[str, Any]],
    volume: Path,
) -> None:
    result = run_qlab("--volume", str(volume), "-k", "write")

    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED, "exit 0 must mean ready"
    result.stdout.fnmatch_lines(
        [
            "*: NOT RATED - NOT READY for Acceptable*",
            "  Acceptable NOT RATED: nothing measured the read bandwidth and the normal set "
            "played frame by frame; run the setup check's test_sequential_read and "
            "test_normal_playback too (this run left them out)",
        ]
    )
    assert "INSUFFICIENT" not in result.stdout.str(), "nothing failed"
    (record,) = default_json()["qlab"]["volumes"]
    assert record["rating"] is None
    assert record["not_rated"] == "acceptable"
    assert [item["status"] for item in record["evidence"]] == ["not_rated", "not_rated"]
    assert record["ready"] is False
    assert "read_mb_s" not in record["measurements"]
    assert record["measurements"]["write_mb_s"] > 0
