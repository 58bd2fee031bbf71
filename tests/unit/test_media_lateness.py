"""Each media file's lateness over the replay: a bounded per-bin series built while the log is
judged, one series per file in the test's metadata, drops marked where they happened, and the
plot that draws them."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from array import array
from fractions import Fraction
from pathlib import Path

import pytest
from pydantic import JsonValue

from pytest_qlab.measure.frames import Completion
from pytest_qlab.measure.lateness import MAX_LATENESS_POINTS, LatenessSeries
from pytest_qlab.media.codecs import describe
from pytest_qlab.media.framemap import FrameMap
from pytest_qlab.media.playback import MediaFileResult, MediaPlayback, judge
from pytest_qlab.media.rates import media_rates
from pytest_qlab.media.schedule import schedule_reads
from pytest_qlab.media.window import play_window
from pytest_qlab.report.entries import series_of
from pytest_qlab.report.plots import MARKERS, OKABE_ITO, media_lateness_of, plots_for_test

FPS = 25
FRAME_BYTES = 8192


def _map(name: str, frames: int) -> FrameMap:
    interval_us = 1_000_000 // FPS
    return FrameMap(
        path=Path("/show") / name,
        file_bytes=frames * FRAME_BYTES,
        codec=describe("prores", "apch"),
        width=1920,
        height=1080,
        fps=Fraction(FPS),
        frame_offsets=array("q", (k * FRAME_BYTES for k in range(frames))),
        frame_sizes=array("q", (FRAME_BYTES for _ in range(frames))),
        frame_times_us=array("q", (k * interval_us for k in range(frames))),
        frame_durations_us=array("q", (interval_us for _ in range(frames))),
        audio_offsets=array("q"),
        audio_sizes=array("q"),
        audio_times_us=array("q"),
        probe_bytes_read=0,
    )


def _played(
    frame_map: FrameMap, arrival_ms: dict[int, int], buffer_frames: int = 2
) -> MediaFileResult:
    """The file judged from completions at the given times (frame -> ms); a frame left out
    never arrived."""
    schedule = schedule_reads(frame_map, buffer_frames=buffer_frames, alignment_bytes=4096)
    completions = [
        Completion(arrival_ms[k], 1_000_000, FRAME_BYTES, frame_map.frame_offsets[k])
        for k in sorted(arrival_ms)
    ]
    lateness = LatenessSeries(fps=FPS, buffer_frames=buffer_frames, frames=frame_map.frames)
    stats, bytes_read, audio, unmatched = judge(
        schedule, completions, fps=FPS, frames=frame_map.frames, lateness=lateness
    )
    return MediaFileResult(
        frame_map=frame_map,
        rates=media_rates(frame_map),
        schedule=schedule,
        frames=stats,
        bytes_read=bytes_read,
        audio_reads=audio,
        unmatched_completions=unmatched,
        lateness=lateness.points(),
    )


def _on_time(frames: int) -> dict[int, int]:
    """Each frame 5 ms after it is read, 75 ms before it is due (buffer of 2 at 25 fps)."""
    return {k: k * 40 + 5 for k in range(frames)}


def _points(result: MediaFileResult) -> list[JsonValue]:
    return [point.metadata() for point in result.lateness]


def test_a_short_replay_keeps_every_frame_with_its_lateness_and_drops() -> None:
    arrivals = _on_time(50)
    arrivals[20] = (20 + 2) * 40 + 130  # 130 ms late
    del arrivals[30]  # never arrived
    result = _played(_map("backdrop.mov", 50), arrivals)

    points = result.lateness
    assert len(points) == 50, "one point per frame when the file holds fewer than a plot's worth"
    assert points[0].time_s == pytest.approx(2 / FPS), "frame 0 is due after the buffer"
    assert points[0].lateness_ms == pytest.approx(5 - 80)
    assert points[20].lateness_ms == pytest.approx(130)
    assert points[20].dropped_frames == 1
    assert (points[30].lateness_ms, points[30].dropped_frames) == (None, 1)
    assert points[30].time_s == pytest.approx(32 / FPS)
    assert sum(point.dropped_frames for point in points) == result.dropped == 2
    assert max(p.lateness_ms for p in points if p.lateness_ms is not None) == pytest.approx(
        result.frames.worst_lateness_ms
    )


def test_a_two_hour_file_is_kept_to_a_plot_of_worst_per_bin() -> None:
    frames = 2 * 3600 * FPS
    series = LatenessSeries(fps=FPS, buffer_frames=3, frames=frames)
    stall = 123_457
    for k in range(frames):
        due_ms = (k + 3) * 40
        series.add(k, due_ms - 100 if k != stall else due_ms + 250)
    points = series.points()
    assert len(points) <= MAX_LATENESS_POINTS
    assert sum(point.dropped_frames for point in points) == 1
    (worst,) = [point for point in points if point.dropped_frames]
    assert worst.lateness_ms == pytest.approx(250), (
        "the stall is the worst of its bin, not averaged"
    )
    assert worst.time_s == pytest.approx((stall + 3) / FPS)
    others = [point.lateness_ms for point in points if not point.dropped_frames]
    assert others == [pytest.approx(-100)] * len(others)


def test_the_metadata_holds_one_series_per_file_and_the_plot_draws_each() -> None:
    late = _on_time(40)
    late[10] += 200
    backdrop = _played(_map("backdrop.mov", 40), late)
    logo_map = _map("logo.mov", 80)
    logo = _played(play_window(logo_map, 1.6, 1.6), _on_time(40))
    metadata = MediaPlayback((backdrop, logo)).metadata()

    files = media_lateness_of(metadata)
    assert [item.label for item in files] == ["backdrop.mov", "logo.mov from 1.6 s"]
    assert [len(item.points) for item in files] == [40, 40]
    assert [item.dropped_frames for item in files] == [1, 0]
    assert [point[2] for point in files[0].points].index(1) == 10
    assert series_of(metadata)["media_lateness"] == [
        {"path": "/show/backdrop.mov", "start_s": 0.0, "points": _points(backdrop)},
        {"path": "/show/logo.mov", "start_s": 1.6, "points": _points(logo)},
    ]

    plots = {plot.name: plot.svg for plot in plots_for_test(metadata, [], "test_media_playback")}
    svg = plots["lateness over time"].decode()
    ET.fromstring(svg)  # well-formed
    for label in ("backdrop.mov", "logo.mov from 1.6 s", "backdrop.mov: 1 dropped", "deadline"):
        assert label in svg, label
    assert "1 dropped frames" in svg
    for colour in OKABE_ITO[:2]:
        assert colour.lower() in svg.lower(), "each file in its own Okabe-Ito colour"
    assert len(set(MARKERS)) == len(MARKERS)


def test_a_crossfade_playing_a_file_twice_labels_each_copy() -> None:
    frame_map = _map("backdrop.mov", 200)
    outgoing = _played(play_window(frame_map, 2.0, 1.0), _on_time(25))
    incoming = _played(play_window(frame_map, 4.0, 1.0), _on_time(25))
    again = _played(play_window(frame_map, 4.0, 1.0), _on_time(25))
    metadata = MediaPlayback((outgoing, incoming, again)).metadata()
    labels = [item.label for item in media_lateness_of(metadata)]
    assert labels == ["backdrop.mov from 2 s", "backdrop.mov from 4 s", "backdrop.mov from 4 s #2"]


def test_no_lateness_no_plot() -> None:
    result = dataclasses.replace(_played(_map("empty.mov", 3), {}), lateness=())
    metadata = MediaPlayback((result,)).metadata()
    assert "lateness over time" not in {p.name for p in plots_for_test(metadata, [], "t")}
