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
        assert record["ready"] is Rating(record["rating"]).meets(Rating(required)), record
        status = "READY" if record["ready"] else "NOT READY"
        verdict = f"{record['name']}: {record['rating'].upper()} - {status} for {required.title()}"
        assert [line for line in result.stdout.lines if line.startswith(verdict)], verdict
    all_ready = all(record["ready"] for record in records)
    assert (result.ret == pytest.ExitCode.OK) is all_ready, result.stdout.str()
    if not all_ready:
        assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert document["exitcode"] == result.ret


@pytest.mark.integration
def test_a_run_that_did_not_measure_reading_is_not_ready(
    run_qlab: Callable[..., pytest.RunResult],
    default_json: Callable[[], dict[str, Any]],
    volume: Path,
) -> None:
    result = run_qlab("--volume", str(volume), "-k", "write")

    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED, "exit 0 must mean ready"
    result.stdout.fnmatch_lines(
        ["*: INSUFFICIENT - NOT READY for Acceptable*", "  sequential read was not measured*"]
    )
    (record,) = default_json()["qlab"]["volumes"]
    assert record["rating"] == "insufficient"
    assert record["ready"] is False
    assert "read_mb_s" not in record["measurements"]
    assert record["measurements"]["write_mb_s"] > 0
