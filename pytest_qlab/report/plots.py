"""Per-test plots for the HTML report: measured series in, SVG bytes out.

Pure functions on plain data, so they run without pytest and without a display: figures are
built with matplotlib's object API (no pyplot, no global figure state) and drawn by its SVG
backend. Colours are Okabe-Ito (colour-blind safe) and every series also has its own line style,
so a greyscale print still tells them apart; figures are narrow with large type for phones.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter
from pydantic import JsonValue

OKABE_ITO = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#000000",  # black
)
LINE_STYLES = ("-", "--", "-.", ":")
MARKERS = ("o", "s", "^", "D", "v", "P", "*")
"""One per series, with its colour and line style: a greyscale print still tells them apart."""
HATCHES = ("//", "xx", "..", "\\\\")
"""Fill patterns for bars that must read apart in a black-and-white print."""
MARKS_PER_LINE = 12
REQUIREMENT_COLOUR = "#000000"
DROP_COLOUR = "#D55E00"
SHADE_COLOUR = "#E69F00"
FIGURE_WIDTH_IN = 6.4
"""About 600 px at 96 dpi: fits a phone held upright without sideways scrolling."""
_STYLE: dict[str, Any] = {
    "font.size": 13,
    "axes.titlesize": 14,
    "axes.labelsize": 13,
    "legend.fontsize": 11,
    "xtick.labelsize": 12,
    "ytick.labelsize": 12,
    "lines.linewidth": 2.0,
    "axes.grid": True,
    "grid.color": "#cccccc",
    "grid.linewidth": 0.6,
    "svg.hashsalt": "pytest-qlab",  # stable ids: the same data gives the same SVG
}


@dataclass(frozen=True)
class Plot:
    name: str
    svg: bytes


@dataclass(frozen=True)
class Window:
    start_s: float
    end_s: float
    mb_s: float


@dataclass(frozen=True)
class Line:
    label: str
    value: float


@dataclass(frozen=True)
class StreamLatency:
    """One stream's frame latency histogram: (from_ms, to_ms, frames) per non-empty bin."""

    label: str
    bins: tuple[tuple[float, float, int], ...]
    dropped_frames: int = 0


@dataclass(frozen=True)
class FileLateness:
    """One media file's worst lateness per bin of frames: (time_s, lateness_ms or None when
    nothing of the bin arrived, dropped frames)."""

    label: str
    points: tuple[tuple[float, float | None, int], ...]

    @property
    def dropped_frames(self) -> int:
        return sum(point[2] for point in self.points)


@dataclass(frozen=True)
class Timeline:
    """What the throughput-over-time plot shows; any part may be empty."""

    windows: tuple[Window, ...] = ()
    requirements: tuple[Line, ...] = ()
    shaded_s: tuple[tuple[float, float], ...] = ()
    """Crossfade periods, (start, end) in seconds on the windows' axis."""
    temperatures: tuple[tuple[float, float], ...] = ()
    """(elapsed_s, temperature_c) on the same time axis."""
    temperature_limits: tuple[Line, ...] = field(default_factory=tuple)


@contextmanager
def _style() -> Iterator[None]:
    with matplotlib.rc_context(_STYLE):  # type: ignore[arg-type]  # keys typed as literals
        yield


report_style = _style
"""The report's plot style, for figures drawn outside this module (the first screen's chart)."""


def _dropped_badge(axes: Axes, dropped: int) -> None:
    """The plot's dropped-frame count in its top right corner, in the drop colour when any."""
    axes.text(
        0.98,
        0.95,
        f"{dropped} dropped frames" if dropped else "no dropped frames",
        transform=axes.transAxes,
        ha="right",
        va="top",
        fontweight="bold",
        color=DROP_COLOUR if dropped else "#000000",
        bbox={"facecolor": "white", "edgecolor": DROP_COLOUR if dropped else "#999999"},
    )


def _svg(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    return buffer.getvalue()


rendered_svg = _svg


def _style_of(index: int) -> dict[str, object]:
    return {
        "color": OKABE_ITO[index % len(OKABE_ITO)],
        "linestyle": LINE_STYLES[index % len(LINE_STYLES)],
    }


def timeline_svg(timeline: Timeline, title: str) -> bytes | None:
    """Throughput over time with the requirement lines and crossfades shaded, and the drive's
    temperature below it on the same time axis; None when there is neither series."""
    has_throughput = bool(timeline.windows)
    has_temperature = bool(timeline.temperatures)
    if not has_throughput and not has_temperature:
        return None
    with _style():
        panels = int(has_throughput) + int(has_temperature)
        ratios = [3, 2][:panels] if panels == 2 else [1]
        figure = Figure(figsize=(FIGURE_WIDTH_IN, 4.2 + 2.2 * (panels - 1)), layout="constrained")
        axes = figure.subplots(panels, 1, sharex=True, squeeze=False, height_ratios=ratios)
        column = [row[0] for row in axes]
        if has_throughput:
            _throughput(column[0], timeline)
            column[0].set_title(title)
        if has_temperature:
            _temperature(column[-1], timeline)
            if not has_throughput:
                column[-1].set_title(title)
        column[-1].set_xlabel("time (s)")
        _legend_below(figure, column)
        return _svg(figure)


def _throughput(axes: Axes, timeline: Timeline) -> None:
    """Each window's rate held over the window, as steps: a point at each window's end would
    leave a one-window measurement (a second's read) without any line at all."""
    windows = timeline.windows
    times = [window.start_s for window in windows] + [windows[-1].end_s]
    rates = [window.mb_s for window in windows] + [windows[-1].mb_s]
    for number, (start_s, end_s) in enumerate(timeline.shaded_s):
        label = "crossfade" if number == 0 else None
        axes.axvspan(start_s, end_s, color=SHADE_COLOUR, alpha=0.25, hatch="//", label=label)
    axes.plot(
        times,
        rates,
        label="measured",
        drawstyle="steps-post",
        **_style_of(0),  # type: ignore[arg-type]
    )
    for index, line in enumerate(timeline.requirements):
        axes.axhline(
            line.value,
            color=REQUIREMENT_COLOUR,
            linestyle=LINE_STYLES[(index + 1) % len(LINE_STYLES)],
            linewidth=1.5,
            label=f"{line.label} {line.value:.0f} MB/s",
        )
    axes.set_ylabel("MB/s")
    top = max([*rates, *(line.value for line in timeline.requirements)], default=1.0)
    axes.set_ylim(0, top * 1.15 or 1.0)


def _temperature(axes: Axes, timeline: Timeline) -> None:
    times = [point[0] for point in timeline.temperatures]
    values = [point[1] for point in timeline.temperatures]
    axes.plot(times, values, label="drive temperature", **_style_of(1))  # type: ignore[arg-type]
    for index, line in enumerate(timeline.temperature_limits):
        axes.axhline(
            line.value,
            color=REQUIREMENT_COLOUR,
            linestyle=LINE_STYLES[(index + 1) % len(LINE_STYLES)],
            linewidth=1.5,
            label=f"{line.label} {line.value:.0f} °C",
        )
    axes.set_ylabel("°C")


def _legend_below(figure: Figure, axes: Sequence[Axes]) -> None:
    """Below the plot, never over the data, in two columns to stay narrow."""
    handles, labels = [], []
    for each in axes:
        found_handles, found_labels = each.get_legend_handles_labels()
        handles += found_handles
        labels += found_labels
    figure.legend(handles, labels, loc="outside lower center", ncol=2, frameon=False)


def latency_svg(
    streams: Sequence[StreamLatency], frame_interval_ms: float, buffer_frames: int, title: str
) -> bytes | None:
    """Frame latency distribution per stream kind against the frame interval and the player's
    buffer, dropped frames counted on the plot; None without any histogram."""
    drawn = [stream for stream in streams if stream.bins]
    if not drawn:
        return None
    with _style():
        figure = Figure(figsize=(FIGURE_WIDTH_IN, 4.8), layout="constrained")
        axes = figure.subplots()
        kinds: dict[str, int] = {}
        for stream in drawn:
            kind = stream.label.split(" #", 1)[0]
            first = kind not in kinds
            index = kinds.setdefault(kind, len(kinds))
            edges, counts = _steps(stream.bins)
            axes.stairs(
                counts,
                [max(edge, 0.01) for edge in edges],  # the log axis has no zero
                label=kind if first else None,
                linewidth=2.0,
                **_style_of(index),  # type: ignore[arg-type]
            )
        axes.axvline(
            frame_interval_ms,
            color=REQUIREMENT_COLOUR,
            linestyle="--",
            linewidth=1.5,
            label=f"frame interval {frame_interval_ms:.1f} ms",
        )
        if buffer_frames > 1:
            axes.axvline(
                frame_interval_ms * buffer_frames,
                color=REQUIREMENT_COLOUR,
                linestyle=":",
                linewidth=1.5,
                label=f"player buffer {buffer_frames} frames",
            )
        _dropped_badge(axes, sum(stream.dropped_frames for stream in streams))
        axes.set_xscale("log")
        axes.set_yscale("log")
        _plain_log_ticks(axes.xaxis, *axes.get_xlim())
        _plain_log_ticks(axes.yaxis, *axes.get_ylim())
        axes.set_xlabel("frame read latency (ms)")
        axes.set_ylabel("frames")
        axes.set_title(title)
        _legend_below(figure, [axes])
        return _svg(figure)


def _plain_log_ticks(axis: Any, low: float, high: float) -> None:
    """Plain numbers on a log axis (20, 50, 100 ms, not 2 x 10^1 and minor labels running
    into each other); 1-2-5 steps over up to two decades, whole decades beyond."""
    decades = math.log10(max(high, 1e-9) / max(low, 1e-9))
    subs = (1.0, 2.0, 5.0) if decades <= 2.5 else (1.0,)
    axis.set_major_locator(LogLocator(base=10, subs=subs))
    axis.set_major_formatter(FuncFormatter(lambda value, _position: f"{value:g}"))
    axis.set_minor_formatter(NullFormatter())


def media_lateness_svg(files: Sequence[FileLateness], title: str) -> bytes | None:
    """Each file's lateness over the replay against the deadline (0 ms: a frame arriving just
    as it is shown), drops marked where they happened; None without any point."""
    drawn = [item for item in files if item.points]
    if not drawn:
        return None
    arrived = [p[1] for item in drawn for p in item.points if p[1] is not None]
    top = max([*arrived, 1.0])
    never_y = top * 1.1  # where frames that never arrived are marked: above every arrival
    with _style():
        figure = Figure(figsize=(FIGURE_WIDTH_IN, 5.2), layout="constrained")
        axes = figure.subplots()
        for index, item in enumerate(drawn):
            style = _style_of(index)
            marker = MARKERS[index % len(MARKERS)]
            times = [p[0] for p in item.points if p[1] is not None]
            values = [p[1] for p in item.points if p[1] is not None]
            axes.plot(
                times,
                values,
                label=item.label,
                marker=marker,
                markersize=5,
                markevery=max(1, len(times) // MARKS_PER_LINE),
                **style,  # type: ignore[arg-type]
            )
            drops = [p for p in item.points if p[2]]
            if drops:
                axes.scatter(
                    [p[0] for p in drops],
                    [never_y if p[1] is None else p[1] for p in drops],
                    s=90,
                    marker=marker,
                    color=style["color"],
                    edgecolors=REQUIREMENT_COLOUR,
                    linewidths=1.5,
                    zorder=3,
                    label=f"{item.label}: {item.dropped_frames} dropped",
                )
        axes.axhline(
            0.0,
            color=REQUIREMENT_COLOUR,
            linestyle="--",
            linewidth=1.5,
            label="deadline (0 ms late)",
        )
        if any(p[1] is None for item in drawn for p in item.points):
            axes.axhline(never_y, color="#999999", linestyle=":", linewidth=1.0)
            axes.text(
                0.01,
                never_y,
                " never arrived",
                transform=axes.get_yaxis_transform(),
                va="bottom",
                fontsize=10,
            )
        bottom, upper = axes.get_ylim()
        axes.set_ylim(bottom, upper + 0.2 * (upper - bottom))  # room for the count below
        _dropped_badge(axes, sum(item.dropped_frames for item in drawn))
        axes.set_xlabel("presentation time (s since the replay started)")
        axes.set_ylabel("lateness (ms; below 0: early)")
        axes.set_title(title)
        _legend_below(figure, [axes])
        return _svg(figure)


def capacity_svg(probes: Sequence[tuple[int, int]], stream: str, title: str) -> bytes | None:
    """The capacity search's probes: streams played at once against the frames they dropped,
    a probe without a drop drawn as a filled marker on the zero line; None without probes."""
    if not probes:
        return None
    ordered = sorted(probes)
    with _style():
        figure = Figure(figsize=(FIGURE_WIDTH_IN, 4.2), layout="constrained")
        axes = figure.subplots()
        clean = [(count, dropped) for count, dropped in ordered if dropped == 0]
        dropping = [(count, dropped) for count, dropped in ordered if dropped > 0]
        axes.plot([p[0] for p in ordered], [p[1] for p in ordered], color="#999999", linewidth=1.0)
        if clean:
            axes.scatter(
                [p[0] for p in clean],
                [0] * len(clean),
                s=80,
                marker="o",
                color=OKABE_ITO[0],
                zorder=3,
                label="played without a drop",
            )
        if dropping:
            axes.scatter(
                [p[0] for p in dropping],
                [p[1] for p in dropping],
                s=90,
                marker="X",
                color=DROP_COLOUR,
                edgecolors=REQUIREMENT_COLOUR,
                zorder=3,
                label="dropped frames",
            )
        axes.set_xticks(sorted({p[0] for p in ordered}))
        axes.set_xlabel(f"streams played at once ({stream} each)")
        axes.set_ylabel("dropped frames")
        # whole frames from 0 up: a search without a drop is not drawn on a -0.04..0.04 axis
        peak = max(1, max(p[1] for p in ordered))
        axes.set_ylim(-0.05 * peak, 1.1 * peak)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_title(title)
        _legend_below(figure, [axes])
        return _svg(figure)


def _steps(bins: Sequence[tuple[float, float, int]]) -> tuple[list[float], list[int]]:
    """Edges and counts for `stairs`, with empty stretches between bins as zero counts."""
    edges = [bins[0][0]]
    counts: list[int] = []
    for low, high, frames in bins:
        if low > edges[-1]:
            edges.append(low)
            counts.append(0)
        edges.append(high)
        counts.append(frames)
    return edges, counts


# --- reading a test's metadata ---------------------------------------------------------------


def _number(value: JsonValue) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _mappings(value: JsonValue) -> list[Mapping[str, JsonValue]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def windows_of(metadata: Mapping[str, JsonValue]) -> tuple[Window, ...]:
    found = []
    for item in _mappings(metadata.get("windows")):
        start, end, rate = (_number(item.get(key)) for key in ("start_s", "end_s", "mb_s"))
        if start is not None and end is not None and rate is not None:
            found.append(Window(start, end, rate))
    return tuple(found)


def crossfades_of(metadata: Mapping[str, JsonValue]) -> tuple[tuple[float, float], ...]:
    found = []
    for item in _mappings(metadata.get("crossfade_windows")):
        start, end = _number(item.get("start_s")), _number(item.get("end_s"))
        if start is not None and end is not None:
            found.append((start, end))
    return tuple(found)


def temperatures_of(metadata: Mapping[str, JsonValue]) -> tuple[tuple[float, float], ...]:
    thermal = metadata.get("thermal")
    if not isinstance(thermal, dict):
        return ()
    found = []
    for point in _mappings(thermal.get("series")):
        elapsed, celsius = _number(point.get("elapsed_s")), _number(point.get("temperature_c"))
        if elapsed is not None and celsius is not None:
            found.append((elapsed, celsius))
    return tuple(found)


def temperature_limits_of(metadata: Mapping[str, JsonValue]) -> tuple[Line, ...]:
    thermal = metadata.get("thermal")
    summary = thermal.get("summary") if isinstance(thermal, dict) else None
    if not isinstance(summary, dict):
        return ()
    limits = []
    for label, key in (
        ("warning", "temperature_warning_c"),
        ("critical", "temperature_critical_c"),
    ):
        value = _number(summary.get(key))
        if value is not None:
            limits.append(Line(label, value))
    return tuple(limits)


def latencies_of(metadata: Mapping[str, JsonValue]) -> list[StreamLatency]:
    streams = []
    for stream in _mappings(metadata.get("per_stream")):
        bins = []
        for item in _mappings(stream.get("latency_histogram")):
            low, high, frames = (_number(item.get(key)) for key in ("from_ms", "to_ms", "frames"))
            if low is not None and high is not None and frames is not None and frames > 0:
                bins.append((low, high, int(frames)))
        dropped = _number(stream.get("dropped_frames"))
        streams.append(
            StreamLatency(
                label=str(stream.get("stream", "stream")),
                bins=tuple(sorted(bins)),
                dropped_frames=int(dropped or 0),
            )
        )
    return streams


def media_lateness_of(metadata: Mapping[str, JsonValue]) -> list[FileLateness]:
    """Each played file's lateness series, labelled by name and, for a stretch that starts
    mid-file, where it starts (a crossfade plays a file twice)."""
    files = []
    seen: dict[str, int] = {}
    for item in _mappings(metadata.get("per_file")):
        points = []
        for point in _mappings(item.get("lateness")):
            time_s, dropped = _number(point.get("time_s")), _number(point.get("dropped_frames"))
            if time_s is not None and dropped is not None:
                points.append((time_s, _number(point.get("lateness_ms")), int(dropped)))
        name = Path(str(item.get("path", "file"))).name
        start_s = _number(item.get("start_s"))
        label = f"{name} from {start_s:g} s" if start_s else name
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            label += f" #{seen[label]}"
        files.append(FileLateness(label, tuple(points)))
    return files


def stream_lateness_of(metadata: Mapping[str, JsonValue]) -> list[FileLateness]:
    """Each replayed stream's worst lateness per bin of frames, labelled by stream."""
    streams = []
    for stream in _mappings(metadata.get("per_stream")):
        points = []
        for point in _mappings(stream.get("lateness")):
            time_s, dropped = _number(point.get("time_s")), _number(point.get("dropped_frames"))
            if time_s is not None and dropped is not None:
                points.append((time_s, _number(point.get("lateness_ms")), int(dropped)))
        streams.append(FileLateness(str(stream.get("stream", "stream")), tuple(points)))
    return streams


def probes_of(metadata: Mapping[str, JsonValue]) -> list[tuple[int, int]]:
    found = []
    for probe in _mappings(metadata.get("probes")):
        streams, dropped = _number(probe.get("streams")), _number(probe.get("dropped_frames"))
        if streams is not None and dropped is not None:
            found.append((int(streams), int(dropped)))
    return found


def plots_for_test(
    metadata: Mapping[str, JsonValue], requirements: Sequence[Line], title: str
) -> list[Plot]:
    """Every plot the test's metadata has data for; none when it has no series."""
    plots: list[Plot] = []
    limits = temperature_limits_of(metadata)
    threshold = _number(metadata.get("throttle_threshold_mb_s"))
    lines = (*requirements, *([Line("throttle threshold", threshold)] if threshold else []))
    timeline = Timeline(
        windows=windows_of(metadata),
        requirements=lines,
        shaded_s=crossfades_of(metadata),
        temperatures=temperatures_of(metadata),
        temperature_limits=limits,
    )
    svg = timeline_svg(timeline, title)
    if svg is not None:
        name = "throughput over time" if timeline.windows else "temperature over time"
        plots.append(Plot(name, svg))
    per_stream = _mappings(metadata.get("per_stream"))
    intervals = [_number(stream.get("frame_interval_ms")) for stream in per_stream]
    buffers = [_number(stream.get("buffer_frames")) for stream in per_stream]
    interval = min((value for value in intervals if value), default=None)
    if interval is not None:
        buffer_frames = int(min((value for value in buffers if value), default=1))
        svg = latency_svg(latencies_of(metadata), interval, buffer_frames, title)
        if svg is not None:
            plots.append(Plot("frame latency", svg))
    svg = media_lateness_svg(media_lateness_of(metadata), title)
    if svg is None:
        svg = media_lateness_svg(stream_lateness_of(metadata), title)
    if svg is not None:
        plots.append(Plot("lateness over time", svg))
    svg = capacity_svg(probes_of(metadata), str(metadata.get("stream", "stream")), title)
    if svg is not None:
        plots.append(Plot("streams against dropped frames", svg))
    return plots
