"""When a player reads each part of a movie: the read schedule a replay issues.

A player with a buffer of B frames starts showing frame 0 once B frames are in, so frame k is
shown (due) at t_k + B/f, t_k being its time in the file; it asks for frame k when frame k - B
leaves the buffer, at t_k: B frames before it is due. This is the deadline the frame analysis
judges ((k + B) / f for a constant rate). Audio chunks are read where they lie between the
frames, in file order, at their own times. Issue times never go back: fio replays a trace in
order, and a read listed late in the file is not issued before the one listed before it.

Linux direct I/O reads whole 4 KiB blocks: each read's offset is aligned down and its end up,
and the extra bytes are counted, so the bytes fio reports are the map's bytes plus alignment.
A read whose aligned end passes the end of the file gets the bytes up to it (a short read),
so only those count.
"""

from __future__ import annotations

import dataclasses
import sys
from array import array
from collections.abc import Sequence
from dataclasses import dataclass

from pytest_qlab.media.framemap import FrameMap

AUDIO = -1
"""The frame index of an audio read."""
LINUX_DIRECT_IO_ALIGNMENT_BYTES = 4096


def direct_io_alignment_bytes(platform: str = sys.platform) -> int:
    """4 KiB on Linux (O_DIRECT needs aligned offsets and lengths); macOS's F_NOCACHE reads
    any byte range."""
    return LINUX_DIRECT_IO_ALIGNMENT_BYTES if platform.startswith("linux") else 1


def align_read(offset_bytes: int, size_bytes: int, alignment_bytes: int) -> tuple[int, int]:
    """(offset, length) of the whole aligned blocks covering a byte range."""
    start = offset_bytes - offset_bytes % alignment_bytes
    end = -(-(offset_bytes + size_bytes) // alignment_bytes) * alignment_bytes
    return start, end - start


@dataclass(frozen=True, eq=False)
class ReadSchedule:
    """The reads of one file in the order they are issued, as columns."""

    issue_us: array[int]
    offset_bytes: array[int]
    """Aligned offsets, as fio reads them."""
    length_bytes: array[int]
    """Aligned lengths."""
    frame_index: array[int]
    """The video frame a read fetches, or AUDIO."""
    map_bytes: int
    """The bytes of the frames and chunks themselves."""
    alignment_bytes: int
    """What aligning the reads adds inside the file: the bytes read are map_bytes +
    alignment_bytes."""
    buffer_frames: int

    @property
    def reads(self) -> int:
        return len(self.offset_bytes)

    @property
    def read_bytes(self) -> int:
        return self.map_bytes + self.alignment_bytes

    @property
    def requested_bytes(self) -> int:
        """What the reads ask for, past the end of the file included."""
        return sum(self.length_bytes)

    def split(self, video_jobs: int = 1) -> tuple[tuple[ReadSchedule, ...], ReadSchedule]:
        """The video reads dealt round-robin to `video_jobs` parts, and the audio reads: each
        part replayed by its own fio job at a queue depth of 1.

        fio (3.33 to 3.42, iolog.c `iolog_delay`) waits for each trace action's delay counted
        from the previous action's issue, and never makes up lost time: when a read takes
        longer than the gap to the job's next action, everything after it in that job plays
        later by the difference. In one job, an audio chunk due with its frame (a gap of 0)
        pushed the rest of the file back by every frame's read time (measured: 200 ms behind
        after 4 s). Apart, and with the frames dealt to B jobs for a player buffer of B frames,
        each job's reads are B frame intervals apart: B reads may be in flight, as a player
        reading B frames ahead keeps them, and a job only falls behind after a read that took
        longer than B intervals, which has made its own frame late already. A queue depth of 1
        keeps every completion timed as it happens. Each part's bytes are its reads' lengths."""
        if video_jobs < 1:
            raise ValueError(f"a trace plays in 1 or more video jobs, not {video_jobs}")
        video: list[list[int]] = [[] for _ in range(video_jobs)]
        audio = []
        dealt = 0
        for read, index in enumerate(self.frame_index):
            if index == AUDIO:
                audio.append(read)
            else:
                video[dealt % video_jobs].append(read)
                dealt += 1
        return tuple(self._part(reads) for reads in video), self._part(audio)

    def _part(self, reads: list[int]) -> ReadSchedule:
        lengths = array("q", (self.length_bytes[i] for i in reads))
        return ReadSchedule(
            issue_us=array("q", (self.issue_us[i] for i in reads)),
            offset_bytes=array("q", (self.offset_bytes[i] for i in reads)),
            length_bytes=lengths,
            frame_index=array("q", (self.frame_index[i] for i in reads)),
            map_bytes=sum(lengths),
            alignment_bytes=0,
            buffer_frames=self.buffer_frames,
        )

    @property
    def video_read_bytes(self) -> int:
        """What the video frames' reads ask for: the part the frame analysis counts."""
        return sum(
            length
            for length, index in zip(self.length_bytes, self.frame_index, strict=True)
            if index != AUDIO
        )

    @property
    def largest_read_bytes(self) -> int:
        return max(self.length_bytes, default=0)

    @property
    def end_us(self) -> int:
        return self.issue_us[-1] if self.issue_us else 0


def schedule_reads(
    frame_map: FrameMap, *, buffer_frames: int, alignment_bytes: int
) -> ReadSchedule:
    """Every frame and audio chunk of the map once, merged in file order."""
    if buffer_frames < 0:
        raise ValueError(f"the player buffer holds 0 or more frames, not {buffer_frames}")
    if alignment_bytes < 1:
        raise ValueError(f"alignment is at least 1 byte, not {alignment_bytes}")
    issue, offsets, lengths, frames = array("q"), array("q"), array("q"), array("q")
    video_offsets, video_sizes = frame_map.frame_offsets, frame_map.frame_sizes
    video_times = frame_map.frame_times_us
    audio_offsets, audio_sizes = frame_map.audio_offsets, frame_map.audio_sizes
    audio_times = frame_map.audio_times_us
    frame_count, chunk_count = len(video_offsets), len(audio_offsets)
    file_bytes = frame_map.file_bytes
    map_bytes = padding = last_issue_us = 0
    frame = chunk = 0
    while frame < frame_count or chunk < chunk_count:
        take_video = chunk >= chunk_count or (
            frame < frame_count and video_offsets[frame] <= audio_offsets[chunk]
        )
        if take_video:
            offset, size, time_us, index = (
                video_offsets[frame],
                video_sizes[frame],
                video_times[frame],
                frame,
            )
            frame += 1
        else:
            offset, size, time_us, index = (
                audio_offsets[chunk],
                audio_sizes[chunk],
                audio_times[chunk],
                AUDIO,
            )
            chunk += 1
        start = offset - offset % alignment_bytes
        length = -(-(offset + size) // alignment_bytes) * alignment_bytes - start
        last_issue_us = max(last_issue_us, time_us)
        issue.append(last_issue_us)
        offsets.append(start)
        lengths.append(length)
        frames.append(index)
        map_bytes += size
        padding += min(start + length, file_bytes) - start - size
    return ReadSchedule(
        issue_us=issue,
        offset_bytes=offsets,
        length_bytes=lengths,
        frame_index=frames,
        map_bytes=map_bytes,
        alignment_bytes=padding,
        buffer_frames=buffer_frames,
    )


def concatenate(schedules: Sequence[ReadSchedule], starts_us: Sequence[int]) -> ReadSchedule:
    """Passes over a file played one after another (a looping cue): each pass's reads at its
    start time, its frames numbered on from the last pass's, so deadlines keep rising."""
    if not schedules:
        raise ValueError("concatenate needs at least one schedule")
    issue, offsets, lengths, frames = array("q"), array("q"), array("q"), array("q")
    frames_before = 0
    for schedule, start_us in zip(schedules, starts_us, strict=True):
        issue.extend(time_us + start_us for time_us in schedule.issue_us)
        offsets.extend(schedule.offset_bytes)
        lengths.extend(schedule.length_bytes)
        frames.extend(
            index if index == AUDIO else index + frames_before for index in schedule.frame_index
        )
        frames_before += sum(1 for index in schedule.frame_index if index != AUDIO)
    return ReadSchedule(
        issue_us=issue,
        offset_bytes=offsets,
        length_bytes=lengths,
        frame_index=frames,
        map_bytes=sum(schedule.map_bytes for schedule in schedules),
        alignment_bytes=sum(schedule.alignment_bytes for schedule in schedules),
        buffer_frames=schedules[0].buffer_frames,
    )


def packed(schedule: ReadSchedule, region_offset_bytes: int, region_bytes: int) -> ReadSchedule:
    """The same reads, sizes and times laid back to back in a scratch region (a blank drive
    replaying a reference movie's frame sizes), starting over at the region's start when the
    next read would pass its end."""
    largest = schedule.largest_read_bytes
    if largest > region_bytes:
        raise ValueError(f"a {largest}-byte read does not fit a {region_bytes}-byte region")
    offsets = array("q")
    position = 0
    for length in schedule.length_bytes:
        if position + length > region_bytes:
            position = 0
        offsets.append(region_offset_bytes + position)
        position += length
    return dataclasses.replace(schedule, offset_bytes=offsets)


def video_frames_in(schedule: ReadSchedule) -> int:
    """How many video frames the schedule reads (the rest are audio chunks)."""
    return sum(1 for index in schedule.frame_index if index != AUDIO)
