"""Which replayed streams play a movie: a stream whose spec names one (`media` or
`frames_from`) gets its frames from that movie's sample tables, found in the volume's record.

Instances of one movie playing at once start at different points of it (the second copy of a
crossfade half-way in, a crossfade's incoming cue half-way past where it starts in the act), so
no two streams read the same frames together, which a real show would not do either."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, Sequence

from pytest_qlab.core.profiles import SourceKey
from pytest_qlab.measure.replay import ReplayStream
from pytest_qlab.media.framemap import FrameMap
from pytest_qlab.media.movie_stream import MovieFrames


def with_movies(
    streams: Sequence[ReplayStream],
    sources: Mapping[SourceKey, FrameMap],
    *,
    kinds: Collection[str] = ("media", "frames_from"),
) -> list[ReplayStream]:
    """The streams, those whose movie is in `sources` (and of one of `kinds`) playing it."""
    continuous: dict[SourceKey, int] = {}
    for stream in streams:
        key = stream.spec.source_key
        if key is not None and stream.start_s == 0:
            continuous[key] = continuous.get(key, 0) + 1
    seen: dict[SourceKey, int] = {}
    played = []
    for stream in streams:
        key = stream.spec.source_key
        frame_map = sources.get(key) if key is not None else None
        if key is None or frame_map is None or key.kind not in kinds:
            played.append(stream)
            continue
        duration_s = frame_map.duration_s
        if stream.start_s == 0:
            nth = seen.get(key, 0)
            seen[key] = nth + 1
            from_s = duration_s * nth / continuous[key]
        else:
            from_s = (duration_s / 2 + stream.start_s) % duration_s if duration_s else 0.0
        played.append(dataclasses.replace(stream, movie=MovieFrames(key, frame_map, from_s)))
    return played
