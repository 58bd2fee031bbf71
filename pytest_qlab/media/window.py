"""A stretch of a movie as a player meets it when a cue starts part-way in: the frames and audio
chunks whose times fall inside the stretch, times counted from its start. The setup check
plays seconds of each file, not hours, and a crossfade's incoming cue starts mid-file."""

from __future__ import annotations

import bisect
import dataclasses
from array import array

from pytest_qlab.media.framemap import US_PER_S, FrameMap


def _between(times_us: array[int], start_us: int, end_us: int) -> slice:
    return slice(bisect.bisect_left(times_us, start_us), bisect.bisect_left(times_us, end_us))


def _shifted(times_us: array[int], part: slice, start_us: int) -> array[int]:
    return array("q", (time_us - start_us for time_us in times_us[part]))


def play_window(frame_map: FrameMap, start_s: float, duration_s: float) -> FrameMap:
    """The frames and chunks in [start_s, start_s + duration_s), the first frame at 0 s; a
    start past the end plays nothing, a stretch past the end stops with the file."""
    if start_s < 0 or duration_s <= 0:
        raise ValueError(
            f"a stretch starts at 0 s or later and lasts > 0 s, not {start_s}, {duration_s}"
        )
    start_us = round(start_s * US_PER_S)
    end_us = start_us + round(duration_s * US_PER_S)
    video = _between(frame_map.frame_times_us, start_us, end_us)
    first_us = frame_map.frame_times_us[video.start] if video.start < frame_map.frames else start_us
    audio = _between(frame_map.audio_times_us, first_us, end_us)
    return dataclasses.replace(
        frame_map,
        frame_offsets=frame_map.frame_offsets[video],
        frame_sizes=frame_map.frame_sizes[video],
        frame_times_us=_shifted(frame_map.frame_times_us, video, first_us),
        frame_durations_us=frame_map.frame_durations_us[video],
        audio_offsets=frame_map.audio_offsets[audio],
        audio_sizes=frame_map.audio_sizes[audio],
        audio_times_us=_shifted(frame_map.audio_times_us, audio, first_us),
        start_s=frame_map.start_s + first_us / US_PER_S,
    )
