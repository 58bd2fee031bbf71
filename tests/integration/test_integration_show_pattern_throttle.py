"""A drive that slows down in the middle of a show-pattern phase, with real fio: the main job
runs in a cgroup v1 blkio group whose read limit drops below what the phase's streams need part
of the way into the phase. The phase must fail for dropped frames and for throttling, and the
volume must not be called ready."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.integration.conftest import TWO_HD_STREAMS

if TYPE_CHECKING:
    from tests.integration.conftest import BlkioCgroup, FioWatch, MainJobRunner

pytestmark = [pytest.mark.integration, pytest.mark.timing]

SCALE = "0.01"
"""The 15-minute phase lasts 9 s, in 1 s windows; 2 s below the line is throttling."""
PROFILE = (
    'name = "two HD 422, one act"\n'
    + TWO_HD_STREAMS
    + """
[[phases]]
name = "act"
duration_s = 900
"""
)
STEADY_BYTES_S = 100_000_000
"""Three times what the two streams need (30.5 MB/s): a steady drive plays them easily."""
SLOW_BYTES_S = 10_000_000
"""A third of what they need: frames are late and the phase's throughput slumps."""
SLOW_AFTER_S = 3.5


@pytest.mark.needs_root
def test_a_phase_that_slows_down_part_way_fails_for_throttling_and_dropped_frames(
    tmp_path: Path,
    main_job: MainJobRunner,
    blkio_cgroup: BlkioCgroup,
    block_device: tuple[int, int],
    fio_watch: FioWatch,
) -> None:
    volume = tmp_path / "Show"
    volume.mkdir()
    profile = tmp_path / "one-act.toml"
    profile.write_text(PROFILE, encoding="utf-8")
    blkio_cgroup.limit_read(block_device, STEADY_BYTES_S)

    def slow_down(process: subprocess.Popen[str]) -> None:
        fio_watch.wait_for(process, "show-act", timeout_s=120)
        time.sleep(SLOW_AFTER_S)
        blkio_cgroup.limit_read(block_device, SLOW_BYTES_S)

    job = main_job.run_while(
        volume,
        *("-m", "show_pattern", "--qlab-profile", str(profile)),
        during=slow_down,
        scale=SCALE,
        preexec_fn=blkio_cgroup.join,
    )

    assert "Traceback" not in job.output, job.output
    assert job.returncode == pytest.ExitCode.TESTS_FAILED, job.output
    (phase,) = job.report()["tests"]
    assert phase["outcome"] == "failed", job.stdout
    metadata = phase["metadata"]
    message = phase["call"]["longrepr"]
    assert metadata["dropped_frames"] > 0, metadata
    assert metadata["throttled"] is True, metadata["throttle_summary"]
    (episode, *_) = metadata["throttle_episodes"]
    assert SLOW_AFTER_S - 1.5 <= episode["start_s"] <= SLOW_AFTER_S + 3, episode
    assert episode["lowest_mb_s"] < SLOW_BYTES_S / 1e6 * 1.5, episode
    assert "frames dropped in normal playback" in message
    volume_report = job.volume_report()
    assert volume_report["rating"] == "insufficient"
    reasons = volume_report["rating_reasons"]
    assert any("throttling" in reason for reason in reasons), reasons
    assert "NOT READY" in job.stdout
    assert not (volume / ".pytest-qlab").exists(), "scratch folder left behind"
