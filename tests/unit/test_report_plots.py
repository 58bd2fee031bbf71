"""Report plots and per-test summaries on synthetic measurements: what is drawn where data
exists, nothing where it does not, and series thinned to a plot's worth of points."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

from pydantic import JsonValue

from pytest_qlab.measure.frames import Completion, FrameStats
from pytest_qlab.measure.replay import LATENCY_HISTOGRAM_BINS, _latency_histogram
from pytest_qlab.report.entries import MAX_SERIES_POINTS, compact, thin
from pytest_qlab.report.plots import OKABE_ITO, Line, plots_for_test

REQUIREMENTS = [Line("normal", 656.0), Line("crossfade", 800.0)]


def _histogram(centre: int) -> list[JsonValue]:
    return [
        {
            "from_ms": round(0.1 * 1.2**k, 3),
            "to_ms": round(0.1 * 1.2 ** (k + 1), 3),
            "frames": int(900 * math.exp(-(((k - centre) / 4) ** 2))) + 1,
        }
        for k in range(30)
    ]


SUSTAINED: dict[str, JsonValue] = {
    "read_mb_s": 700.0,
    "lowest_window_mb_s": 450.0,
    "throttle_threshold_mb_s": 560.0,
    "windows": [
        {"start_s": i, "end_s": i + 1, "mb_s": 450.0 if 60 < i < 80 else 700.0} for i in range(900)
    ],
    "crossfade_windows": [{"start_s": 30, "end_s": 35}],
    "thermal": {
        "summary": {"temperature_warning_c": 60.0, "temperature_critical_c": 70.0},
        "series": [{"elapsed_s": i, "temperature_c": 40 + i / 50} for i in range(0, 900, 2)],
    },
}
REPLAY: dict[str, JsonValue] = {
    "achieved_mb_s": 650.0,
    "requested_mb_s": 656.0,
    "dropped_frames": 3,
    "per_stream": [
        {
            "stream": label,
            "frame_interval_ms": 33.367,
            "buffer_frames": 3,
            "dropped_frames": dropped,
            "latency_histogram": _histogram(centre),
        }
        for label, dropped, centre in (("4K", 3, 20), ("HD #1", 0, 14), ("HD #2", 0, 15))
    ],
}


def _svg_text(svg: bytes) -> str:
    ET.fromstring(svg)  # well-formed XML, as a browser needs it
    return svg.decode("utf-8")


def test_throughput_and_temperature_share_one_figure() -> None:
    (plot,) = plots_for_test(SUSTAINED, REQUIREMENTS, "test_sustained_read[Show]")
    assert plot.name == "throughput over time"
    text = _svg_text(plot.svg)
    assert OKABE_ITO[0].lower() in text.lower()  # measured throughput
    assert OKABE_ITO[1].lower() in text.lower()  # temperature
    assert "stroke-dasharray" in text  # requirement lines told apart without colour
    assert not re.search(r"(href|src)=\"https?:", text)  # nothing to load from anywhere


def test_latency_plot_per_stream_kind_with_drops() -> None:
    (plot,) = plots_for_test(REPLAY, REQUIREMENTS, "test_normal_playback[Show]")
    assert plot.name == "frame latency"
    _svg_text(plot.svg)


def test_temperature_alone_still_plots() -> None:
    only_thermal = {"thermal": SUSTAINED["thermal"]}
    (plot,) = plots_for_test(only_thermal, REQUIREMENTS, "t")
    assert plot.name == "temperature over time"


def test_no_series_no_plot() -> None:
    assert plots_for_test({"read_mb_s": 900.0}, REQUIREMENTS, "t") == []
    broken: dict[str, JsonValue] = {
        "windows": [{"start_s": "x"}],
        "thermal": {"series": None},
        "per_stream": [{"stream": "HD", "frame_interval_ms": 40.0, "latency_histogram": []}],
    }
    assert plots_for_test(broken, REQUIREMENTS, "t") == []


def test_series_are_thinned_to_a_plots_worth() -> None:
    thinned = compact(SUSTAINED)
    windows = thinned["windows"]
    assert isinstance(windows, list)
    assert len(windows) <= MAX_SERIES_POINTS
    assert windows[-1] == {"start_s": 899, "end_s": 900, "mb_s": 700.0}  # the end is kept
    assert thinned["read_mb_s"] == 700.0
    assert thin(list(range(10))) == list(range(10))
    assert len(thin(list(range(10_001)))) <= MAX_SERIES_POINTS


def test_latency_histogram_is_small_and_counts_every_frame() -> None:
    stats = FrameStats(fps=25, buffer_frames=3, due_frames=5000)
    for index in range(5000):
        latency_ns = 200_000 + (index % 97) * 150_000 + (400_000_000 if index == 4321 else 0)
        stats.add(index, Completion(index * 40, latency_ns, 1_000_000, 0))
    bins = [item for item in _latency_histogram(stats) if isinstance(item, dict)]
    assert len(bins) <= LATENCY_HISTOGRAM_BINS + 1
    counts = [item["frames"] for item in bins]
    assert sum(count for count in counts if isinstance(count, int)) == 5000
    low, high = bins[-1]["from_ms"], bins[-1]["to_ms"]
    assert isinstance(low, float)
    assert isinstance(high, float)
    assert low <= 400.2 <= high


def _measured_segments(svg: bytes) -> list[str]:
    """The `d` of every path drawn in the measured series' colour that has a line in it."""
    root = ET.fromstring(svg)
    colour = f"stroke: {OKABE_ITO[0].lower()}"
    return [
        path.get("d", "")
        for path in root.iter("{http://www.w3.org/2000/svg}path")
        if colour in (path.get("style") or "").lower() and " L " in f" {path.get('d', '')} "
    ]


def test_a_one_window_measurement_still_draws_its_throughput() -> None:
    """A second's sequential read at a time scale has one window: it is drawn across it."""
    metadata: dict[str, JsonValue] = {
        "read_mb_s": 6864.3,
        "windows": [{"start_s": 0.0, "end_s": 0.897, "mb_s": 6864.3}],
    }
    (plot,) = plots_for_test(metadata, REQUIREMENTS, "test_sequential_read[Show-acceptable]")

    assert plot.name == "throughput over time"
    lines = _measured_segments(plot.svg)
    assert len(lines) == 2, f"the measured throughput has no line beside its legend: {lines}"


def _texts(svg: bytes) -> list[str]:
    """The words matplotlib drew, which its SVG keeps as a comment before each glyph path."""
    return re.findall(r"<!-- (.*?) -->", svg.decode("utf-8"))


def test_a_capacity_search_without_a_drop_counts_whole_frames_from_zero() -> None:
    metadata: dict[str, JsonValue] = {
        "stream": "4K",
        "probes": [{"streams": n, "dropped_frames": 0} for n in (1, 2, 4, 8)],
    }
    (plot,) = plots_for_test(metadata, REQUIREMENTS, "test_max_stream_count[Show]")

    texts = _texts(plot.svg)
    assert "dropped frames" in texts
    after_x_label = texts.index("streams played at once (4K each)") + 1
    ticks = texts[after_x_label : texts.index("dropped frames")]
    assert ticks == ["0", "1"], ticks


def test_latency_axes_read_as_plain_numbers() -> None:
    """A failing drive's frames between 30 and 600 ms: 50, 100, 200, 500 ms, not 3 x 10^1,
    4 x 10^1, 6 x 10^1 running into each other; whole decades over a wide range."""
    slow: dict[str, JsonValue] = {
        "dropped_frames": 64,
        "per_stream": [
            {
                "stream": "4K",
                "frame_interval_ms": 33.367,
                "buffer_frames": 3,
                "dropped_frames": 64,
                "latency_histogram": [
                    {"from_ms": low, "to_ms": low + 10, "frames": frames}
                    for low, frames in ((30, 1), (120, 1), (300, 1), (400, 2), (580, 2))
                ],
            }
        ],
    }
    (plot,) = plots_for_test(slow, REQUIREMENTS, "test_normal_playback[Show]")
    texts = _texts(plot.svg)
    assert texts[: texts.index("frame read latency (ms)")] == ["50", "100", "200", "500"]
    assert not [text for text in texts if "times" in text or "^" in text], texts

    (wide,) = plots_for_test(REPLAY, REQUIREMENTS, "test_normal_playback[Show]")
    ticks = _texts(wide.svg)
    x_ticks = ticks[: ticks.index("frame read latency (ms)")]
    assert x_ticks
    assert all(re.fullmatch(r"10*|0\.0*1", tick) for tick in x_ticks), x_ticks
