"""The show a set of media files describes, when no profile is given: the files play together
as the normal set, each stream at its file's peak rate (its busiest second), so the bandwidth
requirements hold for the file's heaviest moment; the crossfade is the set twice."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from pytest_qlab.core.profiles import ShowProfile, SourceKey, StreamSpec
from pytest_qlab.media.framemap import FrameMap
from pytest_qlab.media.rates import media_rates
from pytest_qlab.media.stream_files import StreamFiles

MAX_NAME_CHARS = 60


def _name(frame_map: FrameMap) -> str:
    name = frame_map.path.name
    return name if len(name) <= MAX_NAME_CHARS else name[: MAX_NAME_CHARS - 3] + "..."


def show_from_media(
    media: Mapping[Path, Sequence[FrameMap]], *, player_buffer_frames: int
) -> tuple[ShowProfile, StreamFiles]:
    """One stream per file at its peak rate (rounded up to 0.1 MB/s) and frame rate, playing
    that file (on its volume; a volume without it plays the stream at that rate)."""
    streams = []
    lines = []
    files = StreamFiles({volume: {} for volume in media})
    frame_maps = [frame_map for maps in media.values() for frame_map in maps]
    for volume, maps in media.items():
        for frame_map in maps:
            rates = media_rates(frame_map)
            peak_mb_s = math.ceil(rates.peak_mb_s * 10) / 10
            relative = frame_map.path.resolve().relative_to(volume.resolve()).as_posix()
            files.per_volume[volume][SourceKey("media", relative)] = frame_map
            streams.append(
                StreamSpec(
                    name=_name(frame_map),
                    mb_s=peak_mb_s,
                    fps=float(frame_map.fps),
                    media=relative,
                )
            )
            lines.append(
                f"{frame_map.path.name}: {frame_map.describe()}, {frame_map.frames} frames, "
                f"{rates.mean_mb_s:.1f} MB/s mean, {rates.peak_mb_s:.1f} MB/s in its busiest "
                f"second -> {peak_mb_s:.1f} MB/s"
            )
    names = " + ".join(frame_map.path.name for frame_map in frame_maps)
    title = f"media: {names}"
    profile = ShowProfile(
        name=title if len(title) <= 80 else title[:77] + "...",
        streams=tuple(streams),
        player_buffer_frames=player_buffer_frames,
        derived_from=tuple(lines),
    )
    return profile, files
