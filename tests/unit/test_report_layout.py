"""The first screen's chart data and the compact matrix's row choice."""

from __future__ import annotations

from pytest_qlab.report.chart import Bar, chart_svg, requirement_figures
from pytest_qlab.report.matrix import MatrixCell, show_rows, will_it_work
from pytest_qlab.report.model import RequirementEvidence, VolumeReport


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
