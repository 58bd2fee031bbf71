"""The show-pattern suite end to end with real fio at time scale 0.00125 (the 2.5 h show in
about 11 s; each act still holds a crossfade), in the long suites' shared run: one item per
phase, in the show's order, each with its throughput windows and throttle verdict, and live
progress lines in a log (stdout is a pipe here, not a terminal)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.integration.conftest import LongSuitesRun

pytestmark = [pytest.mark.integration, pytest.mark.timing]

PHASES = ["house-open", "act-1", "intermission", "act-2", "finale"]
_PROGRESS = re.compile(
    r"^qlab show pattern (?P<phase>[a-z0-9-]+) \[[^\]]+\]: \d+:\d\d of \d+:\d\d, \d+:\d\d left, "
    r"[\d.]+ MB/s now",
    re.MULTILINE,
)


@pytest.mark.needs_root
def test_show_pattern_phases_in_order_with_windows_and_progress(
    long_suites_run: LongSuitesRun,
) -> None:
    job, volume = long_suites_run.job, long_suites_run.volume

    assert "Traceback" not in job.output, job.output
    tests = [test for test in job.report()["tests"] if "test_show_pattern.py::" in test["nodeid"]]
    nodeids = [test["nodeid"] for test in tests]
    assert len(nodeids) == len(PHASES), nodeids
    for nodeid, phase in zip(nodeids, PHASES, strict=True):
        assert nodeid.endswith(f"-{phase}]"), f"phases out of order: {nodeids}"
    for test in tests:
        metadata = test["metadata"]
        phase = metadata["phase"]
        assert metadata["windows"], f"{phase}: no throughput windows from the status documents"
        assert all(window["mb_s"] >= 0 for window in metadata["windows"])
        assert metadata["continuous_mb_s"] > 0
        assert metadata["baseline_mb_s"] == metadata["continuous_mb_s"]
        assert "throttle_summary" in metadata
        assert "thermal_summary" in metadata
        # Two HD streams (a crossfade makes four) are light for any disk: every frame on time.
        assert test["outcome"] == "passed", test["call"].get("longrepr")
        assert metadata["dropped_frames"] == 0
        if phase.startswith("act-"):
            assert metadata["crossfade_windows"], f"{phase}: no crossfade at this scale"

    written = [match["phase"] for match in _PROGRESS.finditer(job.stdout)]
    assert set(written) == set(PHASES), job.stdout
    assert written == sorted(written, key=PHASES.index), "progress lines follow the phases"
    final = [line for line in job.stdout.splitlines() if "dropped frames" in line]
    assert len(final) == len(PHASES), "each phase ends with a line counting its dropped frames"
    assert not (volume / ".pytest-qlab").exists(), "scratch folder left behind"
