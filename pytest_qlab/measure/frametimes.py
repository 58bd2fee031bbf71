"""Every replayed frame's timing as one CSV row (`--qlab-frametimes`), for a closer look than
the report's plots, which keep a worst frame per bin.

A row says when the frame was due and when it arrived, on the same clock and with the same
deadline the frame analysis judged (frame k of a stream is due (k + B) / f after the stream
started, B the player's buffer), so the file's dropped rows are the report's dropped frames: a
frame that arrived late, or one due within the run that never arrived (its completion columns
empty). Rows are handed to a sink as they are judged, never held: a 2.5 h show pattern has
millions of frames.
"""

from __future__ import annotations

import csv
import io
from typing import Protocol

from pytest_qlab.core.units import NS_PER_MS
from pytest_qlab.measure.frames import Completion

COLUMNS = (
    "volume",
    "measurement",
    "stream",
    "frame",
    "due_ms",
    "completed_ms",
    "latency_ms",
    "late_ms",
    "dropped",
)
"""due_ms and completed_ms count from the stream's start (a media file's: on the player's
schedule); latency_ms is the drive's time for the read, from issue to completion; late_ms is
completed_ms - due_ms, above 0 for a dropped frame; dropped is 1 or 0."""


def csv_line(fields: tuple[str, ...]) -> str:
    """One CSV line, quoted where a field needs it (a volume named "Show, main")."""
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerow(fields)
    return text.getvalue()


HEADER = csv_line(COLUMNS)


class RowSink(Protocol):
    """Where rows go: the run's CSV file, which never raises for a failed write and takes rows
    from several threads at once (a fleet's hosts judge their frames each in its own)."""

    def write_row(self, line: str) -> None: ...

    def flush(self) -> None:
        """The rows so far on the disk: at the end of each stream, before the next
        measurement."""


class StreamFrameTimes:
    """One stream's rows in one measurement: `arrived` for each frame as it is judged, then
    `finish` for the frames due that never arrived."""

    def __init__(
        self, sink: RowSink, prefix: str, *, fps: float, buffer_frames: int, due_frames: int
    ) -> None:
        self._sink = sink
        self._write = sink.write_row
        self._prefix = prefix
        self.fps = fps
        self.buffer_frames = buffer_frames
        self.due_frames = max(0, due_frames)
        self._arrived = bytearray(self.due_frames)
        self.rows = 0
        self.dropped = 0

    def due_ms(self, frame: int) -> float:
        return (frame + self.buffer_frames) * 1000.0 / self.fps

    def arrived(self, frame: int, completion: Completion) -> None:
        """The frame analysis' own arithmetic: late when completed after the deadline."""
        due_ms = (frame + self.buffer_frames) * 1000.0 / self.fps
        late_ms = completion.time_ms - due_ms
        dropped = 1 if late_ms > 0 else 0
        if 0 <= frame < self.due_frames:
            self._arrived[frame] = 1
        self.rows += 1
        self.dropped += dropped
        self._write(
            f"{self._prefix}{frame},{due_ms:.3f},{completion.time_ms},"
            f"{completion.latency_ns / NS_PER_MS:.3f},{late_ms:.3f},{dropped}\n"
        )

    def finish(self) -> None:
        """A row for every frame due within the run that never arrived, dropped."""
        start = 0
        while (frame := self._arrived.find(0, start)) != -1:
            self.rows += 1
            self.dropped += 1
            self._write(f"{self._prefix}{frame},{self.due_ms(frame):.3f},,,,1\n")
            start = frame + 1
        self._sink.flush()


class FrameTimes:
    """One volume's rows: each replay asks for a `StreamFrameTimes` per stream it judges."""

    def __init__(self, sink: RowSink, volume: str) -> None:
        self.sink = sink
        self.volume = volume

    def stream(
        self,
        measurement: str,
        stream: str,
        *,
        fps: float,
        buffer_frames: int,
        due_frames: int,
    ) -> StreamFrameTimes:
        prefix = csv_line((self.volume, measurement, stream, ""))[:-1]
        return StreamFrameTimes(
            self.sink, prefix, fps=fps, buffer_frames=buffer_frames, due_frames=due_frames
        )
