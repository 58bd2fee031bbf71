"""The long modes run alone are judged on the evidence they produced, with real fio: the show
pattern's phases prove playback and the sustained read's lowest window proves bandwidth, so a
run of just those two suites that passes exits 0 READY and names what proved each level; the
sustained read alone is NOT RATED (never INSUFFICIENT) and says which run adds the proof.

On a loop-mounted ext4 volume of its own (a drive no other run on this machine measures), read
through a blkio limit so the figures are the limit's, steady, not the neighbours'."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.integration.conftest import (
    LONG_SUITES_LOOP_MIB,
    LONG_SUITES_READ_LIMIT_BYTES_S,
    LONG_SUITES_SCALE,
    TWO_HD_PROFILE,
    block_device_of,
)

if TYPE_CHECKING:
    from tests.integration.conftest import BlkioCgroup, LongSuitesRun, MainJobRunner, Mounts

pytestmark = pytest.mark.integration


def _profile(tmp_path: Path) -> str:
    path = tmp_path / "two-hd.toml"
    path.write_text(TWO_HD_PROFILE, encoding="utf-8")
    return str(path)


@pytest.mark.timing
@pytest.mark.needs_root
def test_show_pattern_and_sustained_alone_rate_the_volume_and_exit_0(
    long_suites_run: LongSuitesRun,
) -> None:
    job = long_suites_run.job

    assert "Traceback" not in job.output, job.output
    assert set(job.outcomes().values()) <= {"passed", "skipped"}, job.outcomes()
    assert job.returncode == pytest.ExitCode.OK, job.output
    assert "not measured" not in job.stdout
    assert "INSUFFICIENT" not in job.stdout
    volume_report = job.volume_report()
    assert volume_report["ready"] is True
    assert volume_report["rating"] == "excellent", volume_report["rating_reasons"]
    assert f"{volume_report['name']}: EXCELLENT - READY for Acceptable" in job.stdout
    normal, crossfade = volume_report["evidence"]
    assert normal["status"] == crossfade["status"] == "proved"
    proved = {
        (proof["aspect"], proof["measurement"])
        for proof in normal["proofs"]
        if proof["outcome"] == "proved"
    }
    assert proved == {("bandwidth", "sustained_read"), ("playback", "show_pattern")}
    lowest = volume_report["measurements"]["sustained_read_lowest_mb_s"]
    assert lowest < LONG_SUITES_READ_LIMIT_BYTES_S / 1e6 * 1.15, "the limit did not hold"
    (bandwidth,) = [p for p in normal["proofs"] if p["measurement"] == "sustained_read"]
    assert bandwidth["mb_s"] == pytest.approx(lowest, abs=0.01)
    assert any(
        p["measurement"] == "show_crossfades" and p["outcome"] == "proved"
        for p in crossfade["proofs"]
    ), crossfade
    assert (
        "Acceptable: normal playback proven by the sustained read (lowest window) at "
        f"{lowest:.1f} MB/s and the show pattern outside crossfades with 0 of"
    ) in job.stdout
    spreads = {item["measurement"] for item in volume_report["bandwidth_windows"]}
    assert spreads == {"sustained_read", "sustained_write"}
    assert "windows: sustained read: " in job.stdout


def test_the_sustained_read_alone_is_not_rated_and_says_to_add_the_setup_check(
    tmp_path: Path, main_job: MainJobRunner, mounts: Mounts, blkio_cgroup: BlkioCgroup
) -> None:
    """Capped well below the disk's speed, so the windows stay flat while other tests load
    the disk: a real dip would be throttling, a finding, and rightly INSUFFICIENT."""
    volume = mounts.loop_ext4("show", LONG_SUITES_LOOP_MIB)
    blkio_cgroup.limit_read(block_device_of(volume), LONG_SUITES_READ_LIMIT_BYTES_S)

    job = main_job.run(
        volume,
        "--qlab-profile",
        _profile(tmp_path),
        "-k",
        "test_sustained_read and acceptable",
        scale=LONG_SUITES_SCALE,
        suites=("suites/test_sustained.py",),
        preexec_fn=blkio_cgroup.join,
    )

    assert "Traceback" not in job.output, job.output
    assert set(job.outcomes().values()) == {"passed"}, job.outcomes()
    assert job.returncode == pytest.ExitCode.TESTS_FAILED, "a level not proven is not ready"
    assert "INSUFFICIENT" not in job.stdout, "nothing failed"
    assert f"{job.volume_report()['name']}: NOT RATED - NOT READY for Acceptable" in job.stdout
    assert (
        "Acceptable NOT RATED: nothing measured the normal set played frame by frame; add the "
        'setup check: pytest suites/ -m "setup_check or sustained"'
    ) in job.stdout
    volume_report = job.volume_report()
    assert volume_report["rating"] is None
    assert volume_report["not_rated"] == "acceptable"
