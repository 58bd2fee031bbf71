"""The first screen's chart data, the compact matrix's row choice, and the evidence's
blocks and tables as production reads them."""

from __future__ import annotations

from pytest_qlab.measure.frametimes import COLUMNS
from pytest_qlab.report.chart import Bar, chart_svg, requirement_figures
from pytest_qlab.report.entries import TestEntry
from pytest_qlab.report.html import ItemEvidence, frametimes_note, item_block, media_table
from pytest_qlab.report.matrix import MatrixCell, show_rows, will_it_work
from pytest_qlab.report.model import (
    FrameTimesReport,
    MediaReport,
    RequirementEvidence,
    VolumeReport,
)


def _cells() -> list[MatrixCell]:
    return will_it_work(1000.0, 1.1, {})


def test_show_rows_are_the_shows_formats_and_one_either_side() -> None:
    order = list(dict.fromkeys((cell.codec, cell.raster) for cell in _cells()))
    middle = order[len(order) // 2]
    assert show_rows(_cells(), [middle]) == set(order[len(order) // 2 - 1 : len(order) // 2 + 2])
    assert show_rows(_cells(), [order[0]]) == {order[0], order[1]}
    assert show_rows(_cells(), []) == set(order)  # a show of plain MB/s streams: every row


def test_a_bar_meets_only_at_or_above_its_line() -> None:
    assert Bar("Acceptable", "sequential read", 656.0, 656.0).met
    assert not Bar("Acceptable", "sequential read", 655.9, 656.0).met


def _volume(evidence: list[dict[str, object]]) -> VolumeReport:
    return VolumeReport.model_validate(
        {
            "path": "/v",
            "requested_path": "/v",
            "name": "v",
            "mount_point": "/",
            "system_default": False,
            "rating": None,
            "ready": False,
            "interrupted": False,
            "rating_reasons": [],
            "measurements": {},
            "max_streams": None,
            "matrix": [],
            "drive": None,
            "advisories": [],
            "evidence": [RequirementEvidence.model_validate(item) for item in evidence],
        }
    )


def _proof(
    measurement: str, aspect: str, mb_s: float | None, dropped: int | None
) -> dict[str, object]:
    return {
        "aspect": aspect,
        "measurement": measurement,
        "outcome": "proved",
        "mb_s": mb_s,
        "dropped_frames": dropped,
        "frames": None if dropped is None else 100,
        "sentence": "",
    }


def test_chart_figures_come_from_the_evidence() -> None:
    volume = _volume(
        [
            {
                "requirement": "normal_playback",
                "level": "acceptable",
                "required_mb_s": 656.0,
                "status": "proved",
                "proofs": [
                    _proof("sequential_read", "bandwidth", 740.4, None),
                    _proof("normal_replay", "playback", None, 0),
                ],
                "disagreements": [],
                "summary": "",
            }
        ]
    )
    (group,) = requirement_figures(volume)
    (bar,) = group.bars
    assert (bar.measured_mb_s, bar.required_mb_s, bar.met) == (740.4, 656.0, True)
    (played,) = group.played
    assert (played.dropped_frames, played.frames) == (0, 100)
    svg = chart_svg([group])
    assert svg is not None
    assert b"740 / 656 MB/s" in svg


def test_no_chart_without_a_bandwidth_figure() -> None:
    assert chart_svg(requirement_figures(_volume([]))) is None


def _media_report(bytes_read: int | None) -> MediaReport:
    played = bytes_read is not None
    return MediaReport(
        path="media/backdrop.mov",
        codec="ProRes 422 HQ",
        fourcc="apch",
        raster="640x360",
        fps=29.97,
        frames=240,
        duration_s=8.0,
        mean_mb_s=5.5,
        peak_mb_s=5.6,
        frames_played=30 if played else None,
        dropped_frames=0 if played else None,
        worst_lateness_ms=0.0 if played else None,
        latency_p999_ms=0.555 if played else None,
        bytes_read=bytes_read,
    )


def test_media_table_gives_bytes_in_megabytes() -> None:
    table = media_table([_media_report(5_795_840), _media_report(None)])

    assert "<td>5.8 MB</td>" in table
    assert "e+06" not in table
    assert table.count("<td>not played</td>") == 5  # frames, drops, lateness, latency, bytes


def _entry(outcome: str, message: str | None) -> TestEntry:
    return TestEntry.model_validate(
        {
            "nodeid": "suites/test_setup_check.py::test_preshow_advisory[Show-spotlight]",
            "name": "test_preshow_advisory[Show-spotlight]",
            "mode": "setup_check",
            "volume": "Show",
            "phase": None,
            "outcome": outcome,
            "measured": "skip: macOS only",
            "required": "not failing",
            "message": message,
        }
    )


def test_an_item_without_a_plot_that_did_not_apply_has_no_block_of_its_own() -> None:
    """Its row in the summary table says it; a failure still gets its block and message."""
    assert item_block(_entry("skipped", "Spotlight indexing: macOS only"), ItemEvidence()) == ""
    failed = item_block(_entry("failed", "SMART health: 3 reallocated sectors"), ItemEvidence())
    assert '<p class="qlab-message">SMART health: 3 reallocated sectors</p>' in failed


def _saved(path: str | None, cause: str | None = None) -> FrameTimesReport:
    return FrameTimesReport(
        path=path,
        wanted_path="/reports/run-frametimes.csv",
        rows=1905,
        columns=list(COLUMNS),
        cause=cause,
    )


def test_the_evidence_says_where_the_frame_times_are() -> None:
    assert frametimes_note(None) == ""
    in_place = frametimes_note(_saved("/reports/run-frametimes.csv"))
    assert (
        "(1905 frames: due, completed, latency, lateness, dropped) are in run-frametimes.csv, "
        "beside this report." in in_place
    )
    copied = frametimes_note(_saved("/tmp/run-frametimes.csv", "No space left on device"))
    assert "are in /tmp/run-frametimes.csv: the report folder failed (No space left on device)" in (
        copied
    )
    lost = frametimes_note(_saved(None, "No space left on device"))
    assert "could not be saved (No space left on device)." in lost
