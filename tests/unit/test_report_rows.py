"""Each result says its own summary row: the figure a reader looks for first, and what it had to
reach. Nothing reads a test's kind from the keys of its figures."""

from __future__ import annotations

from pytest_qlab.core.profiles import DEFAULT_PROFILE
from pytest_qlab.core.rows import ReportRow, frames_row
from pytest_qlab.core.verdict import BandwidthCheck, Judged, Rating
from pytest_qlab.drive.advisories import Advisory
from tests.helpers.evidence import capacity, replay_result, sequential, sustained_read

NORMAL = next(item for item in DEFAULT_PROFILE.requirements() if item.level is Rating.ACCEPTABLE)


def test_a_replay_row_is_what_it_read_and_dropped_against_its_streams() -> None:
    assert frames_row(650.0, 3, 656.0) == ReportRow(
        "650.0 MB/s, 3 dropped frames", "656.0 MB/s, no dropped frame"
    )
    replay = replay_result(late_frames=2)
    row = replay.report_row()
    bytes_read = replay.bytes_read
    assert bytes_read > 0
    assert row.measured.endswith(
        f", 2 dropped frames; {bytes_read / 1e6:.1f} MB read, {bytes_read / 1e6:.1f} MB of it "
        "distinct"
    ), "a one-pass replay reads every byte once"
    assert row.required == f"{replay.requested_mb_s:.1f} MB/s, no dropped frame"


def test_a_judged_read_shows_the_requirement_it_was_judged_against() -> None:
    read = sequential("read", 1017.3)
    assert read.report_row() == ReportRow("read 1017.3 MB/s", "reported only")
    judged = Judged(read, BandwidthCheck("sequential read", NORMAL, read.mb_s))
    assert judged.report_row() == ReportRow("read 1017.3 MB/s", "656.0 MB/s")
    assert judged.metadata()["required_mb_s"] == 656.0
    assert judged.metadata()["shortfall_mb_s"] == 0.0
    assert judged.metadata()["read_mb_s"] == 1017.3


def test_a_sustained_row_names_its_configuration_and_lowest_window() -> None:
    outcome = sustained_read([1402.1, 1402.1, 1320.0, 1402.1])
    lowest = outcome.result.lowest_window
    assert lowest is not None
    judged = Judged(outcome, BandwidthCheck("sustained read", NORMAL, lowest.mb_s))
    assert judged.report_row() == ReportRow(
        f"read {outcome.result.mb_s:.1f} MB/s with 4 MiB x QD32, lowest window 1320.0 MB/s",
        "656.0 MB/s",
    )


def test_capacity_and_advisory_rows() -> None:
    assert capacity(6, 1).report_row() == ReportRow(
        "6 x HD (72 MB/s at 29.97 fps); 0 B read, 0 B of it distinct", "the show's streams"
    )
    advisory = Advisory(name="smart", title="SMART health", severity="warn", message="hot")
    assert advisory.report_row() == ReportRow("warn: hot", "not failing")
