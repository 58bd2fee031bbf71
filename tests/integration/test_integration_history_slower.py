"""A drive slower than its best full-scale qualification, with real fio: the drive history's
advisory warns, names the best run in the terminal, the JSON and the HTML, and never fails the
run: the measured figures decide it.

On a loop-mounted ext4 volume of its own, so both runs are of one drive (its volume UUID) that no
other test measures. The best is a real full-scale qualification stored by a real run; the second
run reads through a blkio limit at half that run's measured read, so it is really slower.

Not a timing test: whatever other runs do to the best figure, the second is held to half of it,
and 10 MB/s of playback is READY beside any neighbour, so it shares the machine with them."""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

import pytest

from pytest_qlab.core.units import BYTES_PER_MB
from pytest_qlab.history.compare import SLOWER_THAN_BEST_FRACTION
from tests.integration.conftest import block_device_of

if TYPE_CHECKING:
    from tests.integration.conftest import BlkioCgroup, MainJobRunner, Mounts

pytestmark = pytest.mark.integration

LOOP_MIB = 6 * 1024
"""A full-scale setup check's files (2.3 GiB read pool, 1 GiB write file) plus the 1 GiB it
leaves free."""
SHOW = ("--qlab-stream", "1x10MB/s@25")
"""10 MB/s of normal playback: far below the limited read, so the second run is READY."""
BEST = ("-k", "sequential_read", *SHOW)
"""Only the read at full scale (6 s, after laying out its 2 GiB file): the figure the history
keeps as the drive's best."""
SLOWER = ("-k", "sequential_read or normal_playback or advisory", *SHOW)
"""The read, the normal set played frame by frame (what Acceptable needs) and the advisories."""
SLOWDOWN = 0.5
"""The second run's read limit, as a fraction of the best run's measured read: far beyond the
15 % the advisory warns at, whatever the neighbours do to either figure."""


@pytest.mark.needs_root
def test_a_drive_slower_than_its_best_full_scale_run_is_warned_and_still_ready(
    main_job: MainJobRunner, mounts: Mounts, blkio_cgroup: BlkioCgroup
) -> None:
    """The second run is a rehearsal (time scale 0.02): the advisory compares any run's read
    with the drive's best full-scale one, and a rehearsal saves the 25 s a second full-scale
    layout and read would cost; the best itself is full scale, as only full scale counts."""
    volume = mounts.loop_ext4("show", LOOP_MIB)
    best = main_job.run(volume, *BEST, scale="1")
    assert "Traceback" not in best.output, best.output
    assert best.report()["qlab"]["rehearsal"] is False
    best_volume = best.volume_report()
    best_read_mb_s = best_volume["measurements"]["read_mb_s"]
    best_id = best_volume["history"]["run_id"]
    assert best_volume["history"]["qualification"] == 1
    limit_bytes_s = round(best_read_mb_s * SLOWDOWN * BYTES_PER_MB)
    blkio_cgroup.limit_read(block_device_of(volume), limit_bytes_s)

    slow = main_job.run(volume, *SLOWER, preexec_fn=blkio_cgroup.join)

    assert "Traceback" not in slow.output, slow.output
    record = slow.volume_report()
    read_mb_s = record["measurements"]["read_mb_s"]
    assert read_mb_s < best_read_mb_s * (1 - SLOWER_THAN_BEST_FRACTION), (read_mb_s, best_read_mb_s)
    # The measured figures decide: the read and the normal set carry the show, so READY, exit 0.
    assert record["ready"] is True, record["rating_reasons"]
    assert record["rating"] == "acceptable", record["rating_reasons"]
    assert slow.returncode == pytest.ExitCode.OK, slow.output
    assert not any("best" in reason for reason in record["rating_reasons"])
    name = record["name"]
    assert slow.outcomes()[f"test_preshow_advisory[{name}-history]"] == "passed"

    history = record["history"]
    assert history["qualification"] == 2
    assert (history["key_kind"], history["drive_key"]) == (
        "volume-uuid",
        best_volume["history"]["drive_key"],
    )
    assert history["best_read_mb_s"] == best_read_mb_s
    (earlier,) = history["runs"]
    assert (earlier["run_id"], earlier["rehearsal"]) == (best_id, False)
    best_run = f"run {best_id}: {best_read_mb_s:.0f} MB/s on {earlier['date_utc'][:10]} on "
    best_run += earlier["host"]
    (advisory,) = [item for item in record["advisories"] if item["name"] == "history"]
    assert advisory["severity"] == "warn"
    drop = 1 - read_mb_s / best_read_mb_s
    assert advisory["message"].startswith(
        f"read {read_mb_s:.0f} MB/s is {drop:.0%} below this drive's best full-scale "
        f"qualification ({best_run}): "
    )
    assert f"read {best_read_mb_s:.0f} → {read_mb_s:.0f} MB/s" in history["comparison"]

    lines = slow.stdout.splitlines()
    verdict = lines.index(f"{name}: ACCEPTABLE - READY for Acceptable - REHEARSAL")
    warning = lines.index(f"  WARN slower than this drive's best: {advisory['message']}")
    reports = next(n for n, line in enumerate(lines) if line.startswith("report: "))
    assert verdict < warning < reports, slow.stdout  # listed under the verdict
    page = slow.report_path().with_suffix(".html").read_text(encoding="utf-8")
    listed = re.search(r'<div class="qlab-advisories">(.*?)</div>', page, re.DOTALL)
    assert listed, "no advisory list under the verdict in the HTML report"
    shown = html.unescape(re.sub(r"<[^>]+>", "", listed.group(1)))
    assert f"WARN slower than this drive's best: {advisory['message']}" in shown
