"""The per-frame timings rows: one per frame judged, on the frame analysis' clock and deadline,
so the rows' drops are the analysis' drops, frames that never arrived included, for a constant
stream (`analyse`) and a movie's trace (`judge`) alike."""

from __future__ import annotations

import csv
import io
from array import array
from fractions import Fraction
from pathlib import Path

import pytest

from pytest_qlab.measure.frames import Completion, analyse
from pytest_qlab.measure.frametimes import COLUMNS, HEADER, FrameTimes
from pytest_qlab.media.codecs import describe
from pytest_qlab.media.framemap import FrameMap
from pytest_qlab.media.playback import file_labels, judge
from pytest_qlab.media.schedule import schedule_reads

MS = 1_000_000
FRAME_BYTES = 10 * 4096


class ListSink:
    """Rows kept in memory, flushes counted."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.flushes = 0

    def write_row(self, line: str) -> None:
        self.lines.append(line)

    def flush(self) -> None:
        self.flushes += 1

    def rows(self) -> list[dict[str, str]]:
        return list(csv.DictReader(io.StringIO(HEADER + "".join(self.lines))))


def _completion(frame: int, time_ms: int, latency_ms: float = 2.0) -> Completion:
    return Completion(time_ms, round(latency_ms * MS), FRAME_BYTES, frame * FRAME_BYTES)


def test_header_names_every_column_with_its_unit() -> None:
    assert HEADER.rstrip("\n").split(",") == list(COLUMNS)
    timed = [name for name in COLUMNS if name.endswith("_ms")]
    assert timed == ["due_ms", "completed_ms", "latency_ms", "late_ms"]


def test_a_row_per_frame_on_time_late_and_never_arrived() -> None:
    sink = ListSink()
    rows = FrameTimes(sink, "Show").stream(
        "normal_playback", "HD #1", fps=25.0, buffer_frames=2, due_frames=4
    )
    rows.arrived(0, _completion(0, 30, latency_ms=1.25))  # due at 80 ms
    rows.arrived(1, _completion(1, 150, latency_ms=70.5))  # due at 120 ms: 30 ms late
    rows.arrived(3, _completion(3, 199))  # due at 200 ms
    assert sink.flushes == 0
    rows.finish()

    assert sink.flushes == 1, "a stream's rows reach the disk before the next measurement"
    assert sink.rows() == [
        {
            "volume": "Show",
            "measurement": "normal_playback",
            "stream": "HD #1",
            "frame": "0",
            "due_ms": "80.000",
            "completed_ms": "30",
            "latency_ms": "1.250",
            "late_ms": "-50.000",
            "dropped": "0",
        },
        {
            "volume": "Show",
            "measurement": "normal_playback",
            "stream": "HD #1",
            "frame": "1",
            "due_ms": "120.000",
            "completed_ms": "150",
            "latency_ms": "70.500",
            "late_ms": "30.000",
            "dropped": "1",
        },
        {
            "volume": "Show",
            "measurement": "normal_playback",
            "stream": "HD #1",
            "frame": "3",
            "due_ms": "200.000",
            "completed_ms": "199",
            "latency_ms": "2.000",
            "late_ms": "-1.000",
            "dropped": "0",
        },
        {
            "volume": "Show",
            "measurement": "normal_playback",
            "stream": "HD #1",
            "frame": "2",
            "due_ms": "160.000",
            "completed_ms": "",
            "latency_ms": "",
            "late_ms": "",
            "dropped": "1",
        },
    ]
    assert (rows.rows, rows.dropped) == (4, 2)


def test_names_with_commas_and_quotes_stay_one_field() -> None:
    sink = ListSink()
    rows = FrameTimes(sink, 'Show, main "A"').stream(
        "media-playback", "intro, v2.mov", fps=30.0, buffer_frames=0, due_frames=1
    )
    rows.arrived(0, _completion(0, 1))
    rows.finish()

    (row,) = sink.rows()
    assert (row["volume"], row["stream"], row["frame"]) == ('Show, main "A"', "intro, v2.mov", "0")


def test_rows_of_a_constant_stream_agree_with_the_frame_analysis() -> None:
    """A stall mid-run, frames read past the run's end, and the last due frames never read."""
    fps, buffer_frames, run_ms = 30.0, 3, 2000.0
    completions = [_completion(frame, int(frame * 1000 // fps)) for frame in range(20)]
    completions += [_completion(frame, 900 + frame * 10) for frame in range(20, 40)]  # a stall
    completions += [_completion(frame, int(frame * 1000 // fps)) for frame in range(40, 50)]
    sink = ListSink()
    due = 60 - buffer_frames  # ceil(2 s x 30 fps) - buffer: deadlines before the end
    rows = FrameTimes(sink, "Show").stream(
        "crossfade_peak", "4K", fps=fps, buffer_frames=buffer_frames, due_frames=due
    )
    stats = analyse(
        completions,
        fps=fps,
        buffer_frames=buffer_frames,
        frame_bytes=FRAME_BYTES,
        file_bytes=10_000 * FRAME_BYTES,
        run_ms=run_ms,
        on_frame=rows.arrived,
    )
    rows.finish()

    written = sink.rows()
    arrived = [row for row in written if row["completed_ms"]]
    assert stats.due_frames == due
    assert len(arrived) == stats.frames_read == 50
    assert len(written) - len(arrived) == stats.missing_frames == due - 50
    assert sum(int(row["dropped"]) for row in written) == stats.dropped_frames > 0
    assert max(float(row["late_ms"]) for row in arrived) == pytest.approx(
        stats.worst_lateness_ms, abs=0.001
    )
    for row in arrived:
        late_ms = float(row["completed_ms"]) - float(row["due_ms"])
        assert float(row["late_ms"]) == pytest.approx(late_ms, abs=0.001)
        if row["dropped"] == "1":
            assert float(row["late_ms"]) >= 0, row
        else:
            assert float(row["late_ms"]) <= 0, row


def _map(frames: list[tuple[int, int, int]], name: str = "clip.mov") -> FrameMap:
    return FrameMap(
        path=Path("/show") / name,
        file_bytes=10**9,
        codec=describe("prores", "apch"),
        width=1920,
        height=1080,
        fps=Fraction(25),
        frame_offsets=array("q", (f[0] for f in frames)),
        frame_sizes=array("q", (f[1] for f in frames)),
        frame_times_us=array("q", (f[2] for f in frames)),
        frame_durations_us=array("q", (40_000 for _ in frames)),
        audio_offsets=array("q", [4096]),
        audio_sizes=array("q", [4096]),
        audio_times_us=array("q", [0]),
        probe_bytes_read=0,
    )


def test_rows_of_a_movie_trace_are_its_video_frames_only() -> None:
    frame_map = _map([(0, 4096, 0), (8192, 4096, 40_000), (16384, 4096, 80_000)])
    schedule = schedule_reads(frame_map, buffer_frames=1, alignment_bytes=4096)
    completions = [
        Completion(1, 3 * MS, 4096, 0),
        Completion(1, 1 * MS, 4096, 4096),  # audio: no row
        Completion(150, 5 * MS, 4096, 16384),  # frame 2, due at 120 ms; frame 1 never came
    ]
    sink = ListSink()
    rows = FrameTimes(sink, "Show").stream(
        "media-playback", "clip.mov", fps=25.0, buffer_frames=1, due_frames=frame_map.frames
    )

    stats, _, audio_reads, _ = judge(
        schedule, completions, fps=25.0, frames=frame_map.frames, frame_times=rows
    )
    rows.finish()

    written = sink.rows()
    assert audio_reads == 1
    dropped = [(row["frame"], row["dropped"]) for row in written]
    assert dropped == [("0", "0"), ("2", "1"), ("1", "1")]
    assert sum(int(row["dropped"]) for row in written) == stats.dropped_frames == 2
    assert written[1]["latency_ms"] == "5.000"


def test_a_file_played_twice_is_numbered_in_its_rows() -> None:
    maps = [_map([(0, 4096, 0)], "a.mov"), _map([(0, 4096, 0)], "b.mov")]
    assert file_labels(maps) == ["a.mov", "b.mov"]
    assert file_labels([*maps, maps[0]]) == ["a.mov #1", "b.mov", "a.mov #2"]
