"""Profile streams that name movies: filled in from the movie's sample tables (its busiest
second, its frame rate), found on every volume or beside the profile, refused in one line when
the profile also types a rate, when the file is not on the volume or lies outside it."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from pytest_qlab.core.profiles import (
    ProfileError,
    ProfileFile,
    SourceKey,
    StreamSpec,
    parse_profile,
)
from pytest_qlab.media.errors import MediaNotFoundError, MediaOutsideVolumeError
from pytest_qlab.media.rates import media_rates
from pytest_qlab.media.stream_files import fill_stream_files
from tests.helpers.media import make_movie


@pytest.fixture(scope="module")
def show(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A volume folder holding Show/backdrop.mov, and a reference movie beside a profile."""
    root = tmp_path_factory.mktemp("show")
    (root / "volume" / "Show").mkdir(parents=True)
    (root / "profiles" / "samples").mkdir(parents=True)
    make_movie(root / "volume" / "Show" / "backdrop.mov", profile=3, seconds=2.0)
    make_movie(root / "profiles" / "samples" / "reference.mov", profile=1, seconds=2.0)
    return root


def _profile(show: Path, streams: list[dict[str, object]], **extra: object) -> ProfileFile:
    return ProfileFile({"name": "t", "streams": streams, **extra}, show / "profiles" / "t.toml")


def test_a_media_stream_takes_its_rate_and_fps_from_the_file_on_the_volume(show: Path) -> None:
    volume = show / "volume"
    profile = _profile(show, [{"name": "backdrop", "media": "Show/backdrop.mov", "count": 2}])

    filled, files = fill_stream_files(profile, [volume])

    spec = parse_profile(filled.data, filled.source).streams[0]
    frame_map = files.on(volume)[SourceKey("media", "Show/backdrop.mov")]
    assert frame_map.path == volume / "Show" / "backdrop.mov"
    assert spec.mb_s == math.ceil(media_rates(frame_map).peak_mb_s * 10) / 10
    assert spec.fps == pytest.approx(float(frame_map.fps))
    assert spec.count == 2
    assert spec.source_key == SourceKey("media", "Show/backdrop.mov")
    assert "busiest second of Show/backdrop.mov" in spec.derivation()
    assert profile.data["streams"] == [
        {"name": "backdrop", "media": "Show/backdrop.mov", "count": 2}
    ], "the file's own data is left as read"


def test_frames_from_is_found_beside_the_profile_and_fills_phases_and_crossfades(
    show: Path,
) -> None:
    reference: dict[str, object] = {"frames_from": "samples/reference.mov"}
    profile = _profile(
        show,
        [reference],
        crossfade={"streams": [reference, reference]},
        phases=[{"name": "act-1", "duration_s": 60, "streams": [reference]}],
    )

    filled, files = fill_stream_files(profile, [show / "volume", show / "other"])

    parsed = parse_profile(filled.data, filled.source)
    absolute = str((show / "profiles" / "samples" / "reference.mov").resolve())
    key = SourceKey("frames_from", absolute)
    assert parsed.streams[0].source_key == key
    assert parsed.crossfade_streams[1].source_key == key
    assert parsed.show_phases[0].streams is not None
    assert parsed.show_phases[0].streams[0].source_key == key
    assert files.on(show / "other")[key] is files.on(show / "volume")[key], "mapped once"


@pytest.mark.parametrize(
    ("stream", "message"),
    [
        (
            {"media": "Show/backdrop.mov", "mb_s": 20},
            "takes its rate and fps from the movie; remove mb_s",
        ),
        ({"media": "Show/backdrop.mov", "fps": 25}, "remove fps"),
        ({"media": "/abs/backdrop.mov"}, "is absolute; media is relative to the volume's folder"),
        ({"media": 3}, "streams.0.media: give the movie's path as a string"),
        ({"media": "a.mov", "frames_from": "b.mov"}, "give either media or frames_from, not both"),
    ],
)
def test_a_movie_stream_that_also_types_its_rate_is_refused(
    show: Path, stream: dict[str, object], message: str
) -> None:
    with pytest.raises(ProfileError, match=r"profile .*t\.toml is invalid: streams\.0") as caught:
        fill_stream_files(_profile(show, [stream]), [show / "volume"])
    assert message in str(caught.value)


def test_a_media_file_missing_on_a_volume_names_the_volume(show: Path, tmp_path: Path) -> None:
    profile = _profile(show, [{"media": "Show/backdrop.mov"}])
    with pytest.raises(MediaNotFoundError, match=f"not on volume {tmp_path}"):
        fill_stream_files(profile, [show / "volume", tmp_path])


def test_a_media_link_out_of_the_volume_is_refused(show: Path, tmp_path: Path) -> None:
    (tmp_path / "Show").mkdir()
    (tmp_path / "Show" / "backdrop.mov").symlink_to(show / "volume" / "Show" / "backdrop.mov")
    with pytest.raises(MediaOutsideVolumeError, match="would measure another drive"):
        fill_stream_files(_profile(show, [{"media": "Show/backdrop.mov"}]), [tmp_path])


def test_a_missing_reference_movie_is_one_line(show: Path) -> None:
    with pytest.raises(MediaNotFoundError, match="no such movie; frames_from in"):
        fill_stream_files(_profile(show, [{"frames_from": "nowhere.mov"}]), [show / "volume"])


def test_a_spec_names_one_movie_and_gives_no_codec_with_it() -> None:
    with pytest.raises(ValueError, match="either media"):
        StreamSpec(mb_s=10, fps=25, media="a.mov", frames_from="/b.mov")
    with pytest.raises(ValueError, match="takes its rate from the file"):
        StreamSpec(codec="hq", raster="1920x1080", fps=25, media="a.mov")
    assert StreamSpec(mb_s=10, fps=25, media="Show/a.mov").label == "a.mov (10 MB/s at 25 fps)"
