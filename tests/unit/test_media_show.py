"""Which files are the show's media, the stretch of a file a replay plays, and the show the
files describe when no profile is given."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_qlab.core.profiles import SourceKey
from pytest_qlab.core.verdict import Rating
from pytest_qlab.media.errors import (
    MediaFolderEmptyError,
    MediaNotFoundError,
    MediaOutsideVolumeError,
)
from pytest_qlab.media.framemap import US_PER_S, read_frame_map
from pytest_qlab.media.rates import media_rates
from pytest_qlab.media.selection import media_files, volume_of
from pytest_qlab.media.show import show_from_media
from pytest_qlab.media.window import play_window
from pytest_qlab.modes.media import stretch
from tests.helpers.media import make_movie


def test_a_folder_gives_its_movies_in_name_order(tmp_path: Path) -> None:
    for name in ("b.mov", "a.MP4", "c.m4v", "notes.txt", "poster.png"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "d.mov").mkdir()  # a folder named like a movie is not one

    assert [path.name for path in media_files(str(tmp_path))] == ["a.MP4", "b.mov", "c.m4v"]
    assert media_files(str(tmp_path / "b.mov")) == (tmp_path / "b.mov",)


def test_missing_and_empty_are_refused_naming_the_path(tmp_path: Path) -> None:
    with pytest.raises(MediaNotFoundError, match=r"nowhere\.mov: no such file or folder"):
        media_files(str(tmp_path / "nowhere.mov"))
    (tmp_path / "stills").mkdir()
    with pytest.raises(MediaFolderEmptyError, match=r"stills: the folder holds no \.mov"):
        media_files(str(tmp_path / "stills"))


def test_a_file_must_lie_inside_a_volume_links_resolved(tmp_path: Path) -> None:
    show, other = tmp_path / "Show", tmp_path / "Other"
    show.mkdir()
    other.mkdir()
    (other / "clip.mov").write_bytes(b"x")
    (show / "link.mov").symlink_to(other / "clip.mov")
    (show / "clip.mov").write_bytes(b"x")

    assert volume_of(show / "clip.mov", [other, show]) == show
    with pytest.raises(MediaOutsideVolumeError, match="would measure another drive"):
        volume_of(show / "link.mov", [show])


def test_a_stretch_holds_the_frames_of_its_seconds_counted_from_its_start(tmp_path: Path) -> None:
    movie = make_movie(tmp_path / "clip.mov", seconds=4.0)
    frame_map = read_frame_map(movie.path)

    part = play_window(frame_map, 1.0, 2.0)

    assert part.frames == pytest.approx(2.0 * float(frame_map.fps), abs=1)
    assert part.frame_times_us[0] == 0
    assert part.frame_times_us[-1] < 2 * US_PER_S
    first = frame_map.frame_offsets.index(part.frame_offsets[0])
    assert frame_map.frame_times_us[first] >= 1 * US_PER_S
    assert list(part.frame_sizes) == list(frame_map.frame_sizes[first : first + part.frames])
    assert all(0 <= time_us < 2 * US_PER_S for time_us in part.audio_times_us)
    assert part.audio_bytes > 0, "the audio between the frames is read too"
    assert stretch(frame_map, 10.0, 1.0).frame_offsets[0] == frame_map.frame_offsets[0], (
        "past the end of a short file, the stretch starts from the beginning"
    )


def test_without_a_profile_the_files_peak_rates_are_the_show(tmp_path: Path) -> None:
    maps = [
        read_frame_map(make_movie(tmp_path / "backdrop.mov", profile=3, seconds=2.0).path),
        read_frame_map(make_movie(tmp_path / "logo.mov", profile=0, seconds=2.0).path),
    ]

    show, files = show_from_media({tmp_path: maps}, player_buffer_frames=3)

    assert show.name == "media: backdrop.mov + logo.mov"
    assert [stream.media for stream in show.streams] == ["backdrop.mov", "logo.mov"]
    assert files.on(tmp_path) == {
        SourceKey("media", "backdrop.mov"): maps[0],
        SourceKey("media", "logo.mov"): maps[1],
    }, "each stream plays its own file in the show pattern"
    peaks = [media_rates(frame_map).peak_mb_s for frame_map in maps]
    for stream, peak_mb_s, frame_map in zip(show.streams, peaks, maps, strict=True):
        assert stream.mb_s is not None
        assert peak_mb_s <= stream.mb_s < peak_mb_s + 0.1 + 1e-9, "rounded up, never down"
        assert stream.fps == pytest.approx(float(frame_map.fps))
    normal = next(item for item in show.requirements() if item.level is Rating.ACCEPTABLE)
    assert normal.required_mb_s == pytest.approx(sum(s.mb_s_each for s in show.streams))
    lines = show.derivation_lines()
    assert lines[0].startswith("backdrop.mov: ProRes 422 HQ 320x180 29.97, ")
    assert "in its busiest second" in lines[0]
    assert lines[1].startswith("logo.mov: ProRes 422 Proxy 320x180 29.97, ")
