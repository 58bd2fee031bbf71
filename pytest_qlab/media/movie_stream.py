"""A replayed stream that takes its frames from a movie: the show's own file on the volume
(`media`), or a reference movie's frame sizes laid on a scratch file (`frames_from`, a blank
drive). Either way fio replays the movie's real reads at their times through an iolog trace,
so a show-pattern act or a stream replay reads what the player would, VBR and audio included.

A stream longer than its movie loops to the movie's start, as a looping cue does; a stream that
starts part-way into the movie (a crossfade's incoming cue) begins at `from_s`."""

from __future__ import annotations

from dataclasses import dataclass

from pytest_qlab.core.profiles import SourceKey
from pytest_qlab.media.framemap import US_PER_S, FrameMap
from pytest_qlab.media.schedule import ReadSchedule, concatenate, packed, schedule_reads
from pytest_qlab.media.window import play_window


@dataclass(frozen=True, eq=False)
class MovieFrames:
    """The movie a stream plays, and where in it the stream starts."""

    key: SourceKey
    frame_map: FrameMap
    from_s: float = 0.0

    @property
    def on_media(self) -> bool:
        """True: fio reads the movie file itself; False: its frame sizes on scratch."""
        return self.key.kind == "media"


def movie_schedule(
    movie: MovieFrames,
    *,
    play_s: float,
    buffer_frames: int,
    alignment_bytes: int,
    region: tuple[int, int] | None = None,
) -> ReadSchedule:
    """`play_s` seconds of the movie's reads from `from_s`, looping to its start; with a
    `region` (offset, bytes) of a scratch file, the reads are laid back to back in it."""
    frame_map = movie.frame_map
    if frame_map.frames == 0:
        raise ValueError(f"{frame_map.path.name} has no frame to play")
    from_s = movie.from_s if movie.from_s < frame_map.duration_s else 0.0
    end_us = round(play_s * US_PER_S)
    passes: list[ReadSchedule] = []
    starts_us: list[int] = []
    start_us = 0
    while start_us < end_us:
        window = play_window(frame_map, from_s, (end_us - start_us) / US_PER_S)
        pass_us = round(window.duration_s * US_PER_S)
        if window.frames == 0 or pass_us <= 0:
            break
        passes.append(
            schedule_reads(window, buffer_frames=buffer_frames, alignment_bytes=alignment_bytes)
        )
        starts_us.append(start_us)
        start_us += pass_us
        from_s = 0.0
    if not passes:
        raise ValueError(f"{frame_map.path.name} has no frame to play from {movie.from_s} s")
    schedule = concatenate(passes, starts_us)
    if movie.on_media:
        return schedule
    if region is None:
        raise ValueError("a frames_from stream plays on a scratch region; give its region")
    return packed(schedule, *region)
