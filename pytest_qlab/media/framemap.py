"""Frame maps: where every video frame and audio chunk of a movie lies in the file, and when it
plays, read from the container's sample tables by FFmpeg's demuxer (PyAV).

Nothing is decoded and the media data is not read: FFmpeg reads the file's header boxes and
its sample tables (`moov`); its stream probe also reads the first video frame to learn the
pixel format, which `probe_bytes_read` reports. The file is opened read-only, through a
Python file object we own, so no FFmpeg code path can open it for writing.

A map holds its samples in `array` columns (8 bytes per value), not one object per frame: a
two-hour file has about 216,000 frames and 340,000 PCM audio entries.
"""

from __future__ import annotations

import io
import itertools
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_qlab.media.codecs import CodecInfo, describe, fourcc_text
from pytest_qlab.media.errors import (
    MediaCodecError,
    MediaNotFoundError,
    MediaNoVideoError,
    MediaSampleTableError,
    MediaUnreadableError,
)

if TYPE_CHECKING:
    from av.index import IndexEntries

US_PER_S = 1_000_000
DISCARD_FLAG = 2
"""AVINDEX_DISCARD_FRAME: a sample an edit list hides; it is never shown, so never due."""
PROBE_OPTIONS = {"probesize": "32", "analyzeduration": "0"}
"""The smallest stream probe FFmpeg allows: it stops after the first packet."""
QUICKTIME_BOXES = (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot", b"uuid")
"""Box types a QuickTime or MP4 file starts with: tells a damaged movie from a non-movie."""


@dataclass(frozen=True, eq=False)
class FrameMap:
    """One movie's video frames and audio chunks in file terms. Times are microseconds from the
    first video frame (decode order: for intra-only codecs such as ProRes and HAP, also the
    presentation order)."""

    path: Path
    file_bytes: int
    codec: CodecInfo
    width: int
    height: int
    fps: Fraction
    frame_offsets: array[int]
    frame_sizes: array[int]
    frame_times_us: array[int]
    frame_durations_us: array[int]
    audio_offsets: array[int]
    """Audio chunks: runs of audio samples stored back to back, read by a player at once."""
    audio_sizes: array[int]
    audio_times_us: array[int]
    probe_bytes_read: int
    """What FFmpeg read to open the file: its header, sample tables and first frame."""
    start_s: float = 0.0
    """Where in the file this map's first frame plays: 0 for a whole file, later for a
    stretch of it (a crossfade's incoming cue starts mid-file)."""

    @property
    def frames(self) -> int:
        return len(self.frame_sizes)

    @property
    def video_bytes(self) -> int:
        return sum(self.frame_sizes)

    @property
    def audio_bytes(self) -> int:
        return sum(self.audio_sizes)

    @property
    def media_bytes(self) -> int:
        """Every byte a player reads to play the file: video frames and audio chunks."""
        return self.video_bytes + self.audio_bytes

    @property
    def duration_s(self) -> float:
        if not self.frames:
            return 0.0
        return (self.frame_times_us[-1] + self.frame_durations_us[-1]) / US_PER_S

    @property
    def raster(self) -> str:
        return f"{self.width}x{self.height}"

    @property
    def fps_text(self) -> str:
        """29.97, 25, 59.94: as a technician writes the rate."""
        return f"{float(self.fps):.3f}".rstrip("0").rstrip(".")

    def describe(self) -> str:
        """ "ProRes 422 HQ 1920x1080 29.97": the words a failure names the file with."""
        return f"{self.codec.description} {self.raster} {self.fps_text}"


class _ReadOnlyFile(io.RawIOBase):
    """The movie opened O_RDONLY by us, counting what FFmpeg reads through it."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._file = path.open("rb", buffering=0)
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        count = self._file.readinto(buffer)
        self.bytes_read += count or 0
        return count or 0

    def close(self) -> None:
        self._file.close()
        super().close()


def read_frame_map(path: Path) -> FrameMap:
    """Map a movie's video frames and audio chunks; raises a MediaError naming the file."""
    if not path.exists():
        raise MediaNotFoundError(path, "no such file; check the path")
    if not path.is_file():
        raise MediaNotFoundError(path, "is not a file; name a movie (.mov, .mp4, .m4v)")
    file_bytes = path.stat().st_size
    import av  # PyAV (FFmpeg) loads only for a run that maps movies
    import av.error

    source = _ReadOnlyFile(path)
    try:
        try:
            container = av.open(source, mode="r", options=PROBE_OPTIONS)
        except (av.error.FFmpegError, OSError) as exc:
            raise _unreadable(path, exc) from None
        with container:
            if not container.streams.video:
                raise MediaNoVideoError(
                    path, "has no video track; name the movie that holds the picture"
                )
            video = container.streams.video[0]
            context = video.codec_context
            if context is None:
                raise MediaCodecError(
                    path,
                    "its video codec is one FFmpeg does not know; export it as ProRes, HAP or "
                    "H.264 and name that file",
                )
            video_tb = video.time_base or Fraction(1, 90_000)
            offsets, sizes, times, durations = _video_columns(video.index_entries, video_tb)
            if not sizes:
                raise MediaNoVideoError(path, "its video track holds no frames")
            audio_offsets, audio_sizes, audio_times = array("q"), array("q"), array("q")
            if container.streams.audio:
                audio = container.streams.audio[0]
                audio_tb = audio.time_base or Fraction(1, 48_000)
                origin_us = _first_timestamp_us(video.index_entries, video_tb)
                audio_offsets, audio_sizes, audio_times = _audio_chunks(
                    audio.index_entries, audio_tb, origin_us
                )
            fps = _frame_rate(video.average_rate, video.guessed_rate, durations)
            frame_map = FrameMap(
                path=path,
                file_bytes=file_bytes,
                codec=describe(context.name, fourcc_text(context.codec_tag)),
                width=context.width,
                height=context.height,
                fps=fps,
                frame_offsets=offsets,
                frame_sizes=sizes,
                frame_times_us=times,
                frame_durations_us=durations,
                audio_offsets=audio_offsets,
                audio_sizes=audio_sizes,
                audio_times_us=audio_times,
                probe_bytes_read=source.bytes_read,
            )
    finally:
        source.close()
    check_inside_file(frame_map)
    return frame_map


def _unreadable(path: Path, exc: Exception) -> MediaUnreadableError:
    with path.open("rb") as movie:
        head = movie.read(8)
    reason = getattr(exc, "strerror", None) or str(exc)
    if head[4:8] in QUICKTIME_BOXES:
        return MediaUnreadableError(
            path,
            f"is a damaged or truncated movie (FFmpeg: {reason}); copy it again from the original",
        )
    return MediaUnreadableError(
        path, f"is not a movie FFmpeg can read (FFmpeg: {reason}); name a .mov, .mp4 or .m4v"
    )


def _first_timestamp_us(entries: IndexEntries, time_base: Fraction) -> int:
    for entry in entries:
        if not entry.flags & DISCARD_FLAG:
            return round(entry.timestamp * time_base * US_PER_S)
    return 0


def _video_columns(
    entries: IndexEntries, time_base: Fraction
) -> tuple[array[int], array[int], array[int], array[int]]:
    """Offsets, sizes, times and durations of the frames that are shown."""
    offsets, sizes, ticks = array("q"), array("q"), array("q")
    for entry in entries:
        if entry.flags & DISCARD_FLAG:
            continue
        offsets.append(entry.pos)
        sizes.append(entry.size)
        ticks.append(entry.timestamp)
    times = _to_us(ticks, time_base)
    durations = array("q", (later - earlier for earlier, later in itertools.pairwise(times)))
    if times:
        durations.append(durations[-1] if durations else round(time_base * US_PER_S))
    return offsets, sizes, times, durations


def _to_us(ticks: array[int], time_base: Fraction) -> array[int]:
    """Ticks from the first, in microseconds; each from its own tick count, so no drift."""
    if not ticks:
        return array("q")
    first, numerator, denominator = ticks[0], time_base.numerator, time_base.denominator
    scale = numerator * US_PER_S
    half = denominator // 2
    return array("q", (((tick - first) * scale + half) // denominator for tick in ticks))


def _audio_chunks(
    entries: IndexEntries, time_base: Fraction, origin_us: int
) -> tuple[array[int], array[int], array[int]]:
    """FFmpeg splits PCM chunks into 1024-sample entries; entries stored back to back are
    joined again into the chunk a player reads in one go."""
    offsets, sizes, times = array("q"), array("q"), array("q")
    scale, denominator = time_base.numerator * US_PER_S, time_base.denominator
    end = -1
    for entry in entries:
        if entry.flags & DISCARD_FLAG or entry.size <= 0:
            continue
        if entry.pos == end:
            sizes[-1] += entry.size
        else:
            offsets.append(entry.pos)
            sizes.append(entry.size)
            times.append(max(0, entry.timestamp * scale // denominator - origin_us))
        end = entry.pos + entry.size
    return offsets, sizes, times


def _frame_rate(
    average: Fraction | None, guessed: Fraction | None, durations_us: Iterable[int]
) -> Fraction:
    for rate in (average, guessed):
        if rate:
            return Fraction(rate)
    spans = sorted(durations_us)
    median_us = spans[len(spans) // 2] if spans else 0
    return Fraction(US_PER_S, median_us) if median_us > 0 else Fraction(30)


def check_inside_file(frame_map: FrameMap) -> None:
    """Every sample must lie inside the file: a damaged table is caught before fio reads it."""
    limit = frame_map.file_bytes
    for kind, offsets, sizes in (
        ("video frame", frame_map.frame_offsets, frame_map.frame_sizes),
        ("audio chunk", frame_map.audio_offsets, frame_map.audio_sizes),
    ):
        for index, (offset, size) in enumerate(zip(offsets, sizes, strict=True)):
            if offset < 0 or size < 0 or offset + size > limit:
                raise MediaSampleTableError(
                    frame_map.path,
                    f"its sample table is damaged: {kind} {index} lies at bytes "
                    f"{offset}-{offset + size} of a {limit}-byte file; copy it again from the "
                    "original or re-export it",
                )
