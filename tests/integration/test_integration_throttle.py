"""A drive too slow for the show: the main job runs in a cgroup v1 blkio group that reads at most
100 MB/s from the volume's disk, so the default show's 656 MB/s normal playback cannot be met and
the run must fail naming the measured figure, the requirement and the shortfall."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.integration.conftest import BlkioCgroup, MainJobRunner

pytestmark = pytest.mark.integration

READ_LIMIT_BYTES_S = 100_000_000
SCRATCH_ROOT_NAME = ".pytest-qlab"
_BELOW = re.compile(r"sequential read (?P<measured>[\d.]+) MB/s is below the 656\.0 MB/s")
_FAILED_READ = re.compile(
    r"^FAILED \S*test_setup_check\.py::test_sequential_read\[[^\]]*-acceptable\]", re.MULTILINE
)
_SHORT_BY = re.compile(r"short by (?P<shortfall>[\d.]+) MB/s")


@pytest.mark.needs_root
def test_read_below_the_requirement_fails_with_the_figures(
    tmp_path: Path,
    main_job: MainJobRunner,
    blkio_cgroup: BlkioCgroup,
    block_device: tuple[int, int],
) -> None:
    volume = tmp_path / "Show"
    volume.mkdir()
    blkio_cgroup.limit_read(block_device, READ_LIMIT_BYTES_S)

    # The capacity search adds nothing to what is checked here.
    job = main_job.run(volume, "-m", "not capacity", preexec_fn=blkio_cgroup.join)

    assert job.returncode == 1, job.output
    assert "Traceback" not in job.output, job.output
    read = job.test_entry("test_sequential_read", "acceptable")
    assert read["outcome"] == "failed", job.output
    assert _FAILED_READ.search(job.stdout), job.stdout
    measured_mb_s = read["metadata"]["read_mb_s"]
    assert 0 < measured_mb_s < 0.8 * 656, f"the throttle did not hold: {measured_mb_s} MB/s"

    message = read["call"]["longrepr"]
    below = _BELOW.search(message)
    assert below, message
    assert float(below["measured"]) == pytest.approx(measured_mb_s, abs=0.06)
    assert "656.0 MB/s" in message
    assert "normal playback" in message
    short_by = _SHORT_BY.search(message)
    assert short_by, message
    assert float(short_by["shortfall"]) == pytest.approx(656 - measured_mb_s, abs=0.11)
    assert message in job.stdout, "the terminal shows the same sentence as the report"

    volume_report = job.volume_report()
    assert volume_report["rating"] == "insufficient"
    assert volume_report["ready"] is False
    assert volume_report["measurements"]["read_mb_s"] == pytest.approx(measured_mb_s)
    assert any("short by" in reason for reason in volume_report["rating_reasons"])
    assert "NOT READY" in job.stdout
    assert not (volume / SCRATCH_ROOT_NAME).exists(), "scratch folder left behind"
    assert job.leftovers_in_system_temp() == []
