"""Profile streams that name movies: `media = "Show/backdrop.mov"` (a show file on the volume)
or `frames_from = "/Samples/reference.mov"` (a reference movie for a blank drive). Each movie is
mapped from its sample tables before anything is measured, and the stream's rate (the file's
busiest second) and frame rate are filled in from it, so the requirements hold for the movie
the user named rather than for figures typed by hand."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pytest_qlab.core.profiles import ProfileError, ProfileFile, SourceKey
from pytest_qlab.media.errors import MediaNotFoundError
from pytest_qlab.media.framemap import FrameMap, read_frame_map
from pytest_qlab.media.rates import media_rates
from pytest_qlab.media.selection import volume_of

RATE_FIELDS = ("codec", "raster", "mb_s", "fps")
"""What a movie gives a stream, so the profile file may not give it as well."""


@dataclass
class StreamFiles:
    """The movies a profile's streams name, mapped per volume (a `media` stream's file lies on
    each volume qualified; a `frames_from` movie is the same for every volume)."""

    per_volume: dict[Path, dict[SourceKey, FrameMap]] = field(default_factory=dict)

    def on(self, volume: Path) -> dict[SourceKey, FrameMap]:
        return self.per_volume.get(volume, {})

    def on_any(self) -> bool:
        """Some stream plays a movie's frames on some volume."""
        return any(self.per_volume.values())


def _stream_lists(data: dict[str, object]) -> Iterator[tuple[str, list[object]]]:
    """Every `[[...streams]]` list of a profile, with the dotted name its errors use."""
    candidates: list[tuple[str, object]] = [("streams", data.get("streams"))]
    crossfade = data.get("crossfade")
    if isinstance(crossfade, dict):
        candidates.append(("crossfade.streams", crossfade.get("streams")))
    phases = data.get("phases")
    if isinstance(phases, list):
        for index, phase in enumerate(phases):
            if isinstance(phase, dict):
                for key in ("streams", "crossfade_streams"):
                    candidates.append((f"phases.{index}.{key}", phase.get(key)))
    for name, streams in candidates:
        if isinstance(streams, list):
            yield name, streams


def _refuse(profile: ProfileFile, where: str, problem: str) -> ProfileError:
    return ProfileError(f"profile {profile.source} is invalid: {where}: {problem}; fix the file")


def _path_value(profile: ProfileFile, where: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _refuse(profile, where, "give the movie's path as a string")
    return value


class _Mapper:
    """Maps each movie once, however many streams and volumes name it."""

    def __init__(self) -> None:
        self._maps: dict[Path, FrameMap] = {}

    def __call__(self, path: Path) -> FrameMap:
        key = path.resolve()
        if key not in self._maps:
            self._maps[key] = read_frame_map(path)
        return self._maps[key]


def _media_maps(
    profile: ProfileFile, where: str, relative: str, volumes: Sequence[Path], mapper: _Mapper
) -> dict[Path, FrameMap]:
    if Path(relative).is_absolute():
        raise _refuse(
            profile, where, f"{relative!r} is absolute; media is relative to the volume's folder"
        )
    maps = {}
    for volume in volumes:
        path = volume / relative
        if not path.is_file():
            raise MediaNotFoundError(
                path, f"named by {where} of profile {profile.source}, but not on volume {volume}"
            )
        volume_of(path, [volume])  # a link out of the volume measures another drive
        maps[volume] = mapper(path)
    return maps


def _reference_map(profile: ProfileFile, value: str, mapper: _Mapper) -> tuple[str, FrameMap]:
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = profile.path.parent / path
    if not path.is_file():
        raise MediaNotFoundError(path, f"no such movie; frames_from in {profile.source} names it")
    return str(path.resolve()), mapper(path)


def _filled(
    stream: dict[str, object], key: SourceKey, maps: Sequence[FrameMap]
) -> dict[str, object]:
    fps = {float(frame_map.fps) for frame_map in maps}
    if len(fps) > 1:
        rates = ", ".join(f"{value:g}" for value in sorted(fps))
        raise MediaNotFoundError(
            maps[0].path, f"its copies on the volumes play at different rates ({rates} fps)"
        )
    peak_mb_s = max(media_rates(frame_map).peak_mb_s for frame_map in maps)
    return {
        **stream,
        key.kind: key.path,
        "mb_s": math.ceil(peak_mb_s * 10) / 10,
        "fps": fps.pop(),
    }


def fill_stream_files(
    profile: ProfileFile, volumes: Sequence[Path]
) -> tuple[ProfileFile, StreamFiles]:
    """The profile with each movie-named stream's rate and fps filled in, and the maps."""
    files = StreamFiles({volume: {} for volume in volumes})
    mapper = _Mapper()
    data = dict(profile.data)
    for list_name, streams in list(_stream_lists(data)):
        filled_list: list[object] = []
        for index, stream in enumerate(streams):
            where = f"{list_name}.{index}"
            if not isinstance(stream, dict) or not ({"media", "frames_from"} & stream.keys()):
                filled_list.append(stream)
                continue
            given = [name for name in RATE_FIELDS if name in stream]
            if given:
                raise _refuse(
                    profile,
                    where,
                    f"a stream with media or frames_from takes its rate and fps from the movie; "
                    f"remove {', '.join(given)}",
                )
            if "media" in stream and "frames_from" in stream:
                raise _refuse(profile, where, "give either media or frames_from, not both")
            if "media" in stream:
                key = SourceKey("media", _path_value(profile, f"{where}.media", stream["media"]))
                maps = _media_maps(profile, where, key.path, volumes, mapper)
            else:
                value = _path_value(profile, f"{where}.frames_from", stream["frames_from"])
                absolute, reference = _reference_map(profile, value, mapper)
                key = SourceKey("frames_from", absolute)
                maps = {volume: reference for volume in volumes}
            for volume, frame_map in maps.items():
                files.per_volume[volume][key] = frame_map
            filled_list.append(_filled(stream, key, list(maps.values())))
        _store(data, list_name, filled_list)
    return ProfileFile(data, profile.path), files


def _store(data: dict[str, object], list_name: str, streams: list[object]) -> None:
    """Put a filled list back where `_stream_lists` found it (copying the tables on the way,
    so the file's own data is left as read)."""
    parts = list_name.split(".")
    if parts == ["streams"]:
        data["streams"] = streams
        return
    if parts[0] == "crossfade":
        crossfade = data["crossfade"]
        assert isinstance(crossfade, dict)
        data["crossfade"] = {**crossfade, "streams": streams}
        return
    phases = data["phases"]
    assert isinstance(phases, list)
    phases = list(phases)
    phase = phases[int(parts[1])]
    assert isinstance(phase, dict)
    phases[int(parts[1])] = {**phase, parts[2]: streams}
    data["phases"] = phases
