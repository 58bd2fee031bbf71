from __future__ import annotations

import math
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from pytest_qlab.core.profiles import (
    BUILTIN_PROFILES,
    CODEC_NAMES,
    DEFAULT_PROFILE,
    FRAME_ALIGNMENT_BYTES,
    CrossfadeSpec,
    ProfileError,
    ShowProfile,
    StreamSpec,
    load_profile,
    nominal_fps,
    parse_profile,
    rate_table,
)
from pytest_qlab.core.verdict import Rating

UHD = "3840x2160"
HD = "1920x1080"


# --- the rate table ----------------------------------------------------------------------


def test_rate_table_covers_every_codec_raster_and_rate() -> None:
    table = rate_table()

    assert len(table.target_mbit_s) == 6 * 7 * 5
    assert set(table.rasters) == {
        "1280x720",
        "1920x1080",
        "2048x1080",
        "3840x2160",
        "4096x2160",
        "5120x2700",
        "8192x4320",
    }
    assert {codec for codec, _, _ in table.target_mbit_s} == set(CODEC_NAMES)
    assert {fps for _, _, fps in table.target_mbit_s} == {24, 25, 30, 50, 60}


def test_uhd_hq_at_30_is_884_mbit_s() -> None:
    table = rate_table()

    assert table.lookup("hq", UHD, 30) == 884
    assert table.frame_bytes("hq", UHD, 30) == pytest.approx(884e6 / 8 / 30)

    spec = StreamSpec(codec="hq", raster=UHD, fps=30)
    assert spec.mb_s_each == pytest.approx(110.5)
    assert spec.total_mb_s == pytest.approx(110.5)


def test_uhd_hq_at_2997_plays_the_30_fps_frame_size_slower() -> None:
    spec = StreamSpec(codec="hq", raster=UHD, fps=29.97)

    assert spec.target_frame_bytes == pytest.approx(884e6 / 8 / 30)
    assert spec.mb_s_each == pytest.approx(884e6 / 8 / 30 * 29.97 / 1e6)
    assert spec.mb_s_each == pytest.approx(110.39, abs=0.005)
    assert spec.mb_s_each < StreamSpec(codec="hq", raster=UHD, fps=30).mb_s_each


@pytest.mark.parametrize(
    ("actual", "nominal"),
    [(23.976, 24), (24, 24), (25, 25), (29.97, 30), (30, 30), (50, 50), (59.94, 60), (60, 60)],
)
def test_fractional_rates_map_to_their_nominal_rate(actual: float, nominal: int) -> None:
    assert nominal_fps(actual) == nominal


@pytest.mark.parametrize(("actual", "nominal"), [(23.976, 24), (29.97, 30), (59.94, 60)])
def test_fractional_rates_use_the_nominal_rows_of_the_table(actual: float, nominal: int) -> None:
    table = rate_table()

    for codec in CODEC_NAMES:
        assert table.lookup(codec, HD, actual) == table.lookup(codec, HD, nominal)
        assert table.frame_bytes(codec, HD, actual) == table.frame_bytes(codec, HD, nominal)


@pytest.mark.parametrize(
    ("codec", "raster", "fps"),
    [
        ("hq", UHD, 29.97),
        ("hq", UHD, 30),
        ("proxy", "1280x720", 23.976),
        ("422", HD, 25),
        ("4444xq", "8192x4320", 59.94),
        ("lt", "2048x1080", 50),
    ],
)
def test_frame_bytes_rounds_up_to_whole_blocks(codec: Any, raster: str, fps: float) -> None:
    spec = StreamSpec(codec=codec, raster=raster, fps=fps)

    assert spec.frame_bytes % FRAME_ALIGNMENT_BYTES == 0
    assert FRAME_ALIGNMENT_BYTES == 4096
    assert spec.target_frame_bytes <= spec.frame_bytes < spec.target_frame_bytes + 4096
    assert spec.rate_bytes_s == math.ceil(spec.frame_bytes * spec.fps)
    assert isinstance(spec.rate_bytes_s, int)
    # A hair above the target rate, never below.
    assert spec.rate_bytes_s >= spec.mb_s_each * 1e6


def test_uhd_hq_frame_and_rate_figures() -> None:
    spec = StreamSpec(codec="hq", raster=UHD, fps=29.97)

    # 3,683,333.3 bytes -> 900 blocks of 4 KiB.
    assert spec.frame_bytes == 900 * 4096 == 3_686_400
    assert spec.rate_bytes_s == math.ceil(3_686_400 * 29.97)


def test_explicit_rate_stream() -> None:
    spec = StreamSpec(name="HD", mb_s=72, fps=29.97, count=3)

    assert spec.target_frame_bytes == pytest.approx(72e6 / 29.97)
    assert spec.frame_bytes == math.ceil(72e6 / 29.97 / 4096) * 4096
    assert spec.mb_s_each == pytest.approx(72.0)
    assert spec.total_mb_s == pytest.approx(216.0)
    assert spec.cell_key is None
    assert spec.label == "HD (72 MB/s at 29.97 fps)"


def test_codec_stream_label_and_matrix_cell() -> None:
    spec = StreamSpec(name="backdrop", codec="hq", raster=UHD, fps=29.97)

    assert spec.label == "backdrop (UHD ProRes 422 HQ 29.97)"
    assert spec.cell_key == ("hq", UHD, 30)


def test_unknown_codec_lists_the_codecs() -> None:
    with pytest.raises(ProfileError) as caught:
        rate_table().lookup("raw", UHD, 30)

    message = str(caught.value)
    assert "'raw'" in message
    for codec in CODEC_NAMES:
        assert codec in message


def test_unknown_codec_in_a_stream_lists_the_codecs() -> None:
    with pytest.raises(ValidationError) as caught:
        StreamSpec.model_validate({"codec": "raw", "raster": UHD, "fps": 30})

    message = str(caught.value)
    assert "codec" in message
    for codec in CODEC_NAMES:
        assert f"'{codec}'" in message


def test_unknown_raster_lists_the_rasters() -> None:
    with pytest.raises(ValidationError) as caught:
        StreamSpec(codec="hq", raster="1920x1200", fps=30)

    message = str(caught.value)
    assert "1920x1200" in message
    for raster in rate_table().rasters:
        assert raster in message


def test_unknown_raster_in_the_table_lookup() -> None:
    with pytest.raises(ProfileError, match="raster '1920x1200' is unknown; use one of 1280x720"):
        rate_table().lookup("hq", "1920x1200", 30)


@pytest.mark.parametrize("fps", [48, 23.97, 120, 29.9])
def test_unknown_fps_lists_the_frame_rates(fps: float) -> None:
    with pytest.raises(ProfileError) as caught:
        rate_table().lookup("hq", UHD, fps)

    message = str(caught.value)
    assert f"fps {fps:g}" in message
    for allowed in ("23.976", "24", "25", "29.97", "30", "50", "59.94", "60"):
        assert allowed in message


def test_unknown_fps_in_a_codec_stream_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match=r"fps 48 is not a ProRes frame rate.*59\.94"):
        StreamSpec(codec="hq", raster=UHD, fps=48)


def test_explicit_rate_stream_may_use_any_frame_rate() -> None:
    assert StreamSpec(mb_s=100, fps=48).mb_s_each == pytest.approx(100)


# --- the default profile -----------------------------------------------------------------


def test_default_profile_figures() -> None:
    assert DEFAULT_PROFILE.normal_mb_s == 656
    assert DEFAULT_PROFILE.crossfade_mb_s == 2100
    assert DEFAULT_PROFILE.headroom == 1.0
    assert DEFAULT_PROFILE.player_buffer_frames == 3
    assert BUILTIN_PROFILES["default"] is DEFAULT_PROFILE


def test_default_requirements_and_their_derivation() -> None:
    normal, crossfade = DEFAULT_PROFILE.requirements()

    assert (normal.key, normal.level, normal.required_mb_s) == (
        "normal_playback",
        Rating.ACCEPTABLE,
        656,
    )
    assert normal.derivation == (
        "normal playback of profile 'default': 1 x 440.0 + 3 x 72.0 MB/s = 656.0 MB/s"
    )
    assert (crossfade.key, crossfade.level, crossfade.required_mb_s) == (
        "crossfade_peak",
        Rating.EXCELLENT,
        2100,
    )
    assert crossfade.derivation == (
        "crossfade peak of profile 'default': "
        "specified crossfade peak incl. safety buffer = 2100.0 MB/s"
    )


def test_default_crossfade_plays_the_normal_set_twice() -> None:
    profile = ShowProfile(
        name="two layers",
        streams=(
            StreamSpec(name="plate", codec="hq", raster=UHD, fps=30),
            StreamSpec(name="screens", mb_s=20, fps=25, count=3),
        ),
    )

    assert profile.crossfade_streams == profile.streams * 2
    assert profile.normal_mb_s == pytest.approx(110.5 + 60)
    assert profile.crossfade_mb_s == pytest.approx(2 * (110.5 + 60))
    _, crossfade = profile.requirements()
    assert crossfade.derivation == (
        "crossfade peak of profile 'two layers': "
        "1 x 110.5 + 3 x 20.0 + 1 x 110.5 + 3 x 20.0 MB/s = 341.0 MB/s"
    )


def test_explicit_crossfade_streams_replace_the_default() -> None:
    profile = ShowProfile(
        name="alpha",
        streams=(StreamSpec(mb_s=100, fps=25),),
        crossfade=CrossfadeSpec(streams=(StreamSpec(mb_s=100, fps=25, count=3),)),
    )

    assert len(profile.crossfade_streams) == 1
    assert profile.crossfade_mb_s == pytest.approx(300)


def test_headroom_multiplies_both_requirements() -> None:
    profile = ShowProfile(
        name="headroom",
        streams=(StreamSpec(codec="hq", raster=UHD, fps=30), StreamSpec(mb_s=20, fps=25)),
        headroom=1.2,
    )

    assert profile.normal_mb_s == pytest.approx((110.5 + 20) * 1.2)
    assert profile.crossfade_mb_s == pytest.approx(2 * (110.5 + 20) * 1.2)
    normal, crossfade = profile.requirements()
    assert normal.required_mb_s == pytest.approx(156.6)
    assert normal.derivation == (
        "normal playback of profile 'headroom': 1 x 110.5 + 1 x 20.0 MB/s x headroom 1.2 "
        "= 156.6 MB/s"
    )
    assert "x headroom 1.2 = 313.2 MB/s" in crossfade.derivation


def test_explicit_crossfade_peak_is_taken_as_given() -> None:
    """A specified peak already includes its safety buffer: headroom does not apply again."""
    profile = ShowProfile(
        name="peak",
        streams=(StreamSpec(mb_s=100, fps=25),),
        headroom=1.5,
        crossfade=CrossfadeSpec(peak_mb_s=900),
    )

    assert profile.normal_mb_s == pytest.approx(150)
    assert profile.crossfade_mb_s == 900


def test_stream_derivation_strings() -> None:
    prores = StreamSpec(name="backdrop", codec="hq", raster=UHD, fps=29.97)
    given = StreamSpec(name="HD", mb_s=72, fps=29.97, count=3)

    assert prores.derivation() == (
        "1 x backdrop (UHD ProRes 422 HQ 29.97): 884 Mb/s target at 30 fps = 3.683 MB/frame "
        "x 29.97 fps = 110.4 MB/s each"
    )
    assert given.derivation() == ("3 x HD (72 MB/s at 29.97 fps): 72 MB/s given = 72.0 MB/s each")


def test_derivation_lines_cover_streams_and_requirements() -> None:
    lines = DEFAULT_PROFILE.derivation_lines()

    assert len(lines) == 2 + 2
    assert lines[0].startswith("1 x 4K (440 MB/s at 29.97 fps)")
    assert lines[1].startswith("3 x HD (72 MB/s at 29.97 fps)")
    assert lines[2:] == [requirement.derivation for requirement in DEFAULT_PROFILE.requirements()]


# --- stream validation -------------------------------------------------------------------


def test_codec_and_mb_s_together_are_refused() -> None:
    with pytest.raises(ValidationError, match=r"either codec \+ raster or mb_s, not both"):
        StreamSpec(codec="hq", raster=UHD, mb_s=100, fps=30)


def test_neither_codec_nor_mb_s_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"give either codec \+ raster .* or mb_s"):
        StreamSpec(fps=30)


def test_codec_without_raster_is_refused() -> None:
    with pytest.raises(ValidationError, match="codec and raster go together"):
        StreamSpec(codec="hq", fps=30)


@pytest.mark.parametrize("count", [0, -1, 10**9])
def test_count_out_of_range_is_refused(count: int) -> None:
    with pytest.raises(ValidationError, match="count"):
        StreamSpec(mb_s=100, fps=25, count=count)


@pytest.mark.parametrize("fps", [0, -25, 1000])
def test_fps_out_of_range_is_refused(fps: float) -> None:
    with pytest.raises(ValidationError, match="fps"):
        StreamSpec(mb_s=100, fps=fps)


# --- loading profiles --------------------------------------------------------------------


VALID_TOML = """
name = "UHD HQ + 3 HD at 29.97"
headroom = 1.2
player_buffer_frames = 4

[[streams]]
name = "backdrop"
codec = "hq"
raster = "3840x2160"
fps = 29.97

[[streams]]
name = "screens"
mb_s = 18.4
fps = 25
count = 3

[crossfade]
duration_s = 3
every_s = 120
"""


def _write(tmp_path: Path, text: str, name: str = "show.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _load_error(path: Path) -> str:
    with pytest.raises(ProfileError) as caught:
        load_profile(str(path))
    return str(caught.value)


def test_load_a_valid_profile(tmp_path: Path) -> None:
    profile = load_profile(str(_write(tmp_path, VALID_TOML)))

    assert profile.name == "UHD HQ + 3 HD at 29.97"
    assert profile.headroom == 1.2
    assert profile.player_buffer_frames == 4
    backdrop, screens = profile.streams
    assert (backdrop.codec, backdrop.raster, backdrop.fps, backdrop.count) == ("hq", UHD, 29.97, 1)
    assert (screens.mb_s, screens.fps, screens.count) == (18.4, 25, 3)
    assert profile.crossfade.duration_s == 3
    assert profile.crossfade.every_s == 120
    assert profile.crossfade.peak_mb_s is None
    assert profile.normal_mb_s == pytest.approx((884e6 / 8 / 30 * 29.97 / 1e6 + 3 * 18.4) * 1.2)
    assert profile.crossfade_mb_s == pytest.approx(2 * profile.normal_mb_s)


def test_load_a_profile_with_explicit_crossfade_streams_and_defaults(tmp_path: Path) -> None:
    text = """
name = "alpha"

[[streams]]
codec = "4444"
raster = "1920x1080"
fps = 25
count = 2

[[crossfade.streams]]
codec = "4444"
raster = "1920x1080"
fps = 25
count = 4
"""
    profile = load_profile(str(_write(tmp_path, text)))

    assert profile.headroom == 1.0
    assert profile.player_buffer_frames == 3
    assert profile.crossfade.duration_s == 5.0
    assert profile.crossfade_streams[0].count == 4
    assert profile.crossfade_mb_s == pytest.approx(2 * profile.normal_mb_s)


@pytest.mark.parametrize("name", ["uhd-hq-plus-hd.toml", "4444-alpha.toml"])
def test_example_profiles_load(name: str) -> None:
    path = Path(__file__).parents[2] / "profiles" / name

    profile = load_profile(str(path))

    assert profile.normal_mb_s > 0
    assert profile.crossfade_mb_s > profile.normal_mb_s


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, 'name = "broken\n[[streams]\n')

    message = _load_error(path)

    assert str(path) in message
    assert "not valid TOML" in message


def test_invalid_field_names_the_file_the_field_and_what_is_allowed(tmp_path: Path) -> None:
    path = _write(tmp_path, 'name = "x"\n[[streams]]\nmb_s = 100\nfps = 0\n')

    message = _load_error(path)

    assert str(path) in message
    assert "streams.0.fps" in message
    assert "greater than 0" in message


def test_invalid_field_in_the_second_stream(tmp_path: Path) -> None:
    text = 'name = "x"\n[[streams]]\nmb_s = 100\nfps = 25\n[[streams]]\nmb_s = 100\nfps = 25\n'
    path = _write(tmp_path, text + "count = 0\n")

    message = _load_error(path)

    assert str(path) in message
    assert "streams.1.count" in message
    assert "greater than or equal to 1" in message


def test_unknown_codec_in_a_file(tmp_path: Path) -> None:
    path = _write(
        tmp_path, 'name = "x"\n[[streams]]\ncodec = "h264"\nraster = "1920x1080"\nfps = 25\n'
    )

    message = _load_error(path)

    assert str(path) in message
    assert "streams.0.codec" in message
    assert "'hq'" in message
    assert "'4444xq'" in message


def test_unknown_key_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, 'name = "x"\nhedroom = 1.2\n[[streams]]\nmb_s = 100\nfps = 25\n')

    message = _load_error(path)

    assert "hedroom" in message
    assert "Extra inputs are not permitted" in message


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        ('codec = "hq"\nraster = "3840x2160"\nmb_s = 100\nfps = 30', "not both"),
        ("fps = 30", "give either codec + raster"),
        ("mb_s = 100\nfps = 25\ncount = 0", "streams.0.count"),
        ("mb_s = 100\nfps = 25\ncount = -3", "streams.0.count"),
        ("mb_s = 100\nfps = 25\ncount = 1000000000", "less than or equal to 64"),
        ("mb_s = 100\nfps = 0", "streams.0.fps"),
        ('codec = "hq"\nraster = "3840x2160"\nfps = 48', "23.976"),
    ],
)
def test_invalid_streams_in_a_file(tmp_path: Path, stream: str, expected: str) -> None:
    path = _write(tmp_path, f'name = "x"\n[[streams]]\n{stream}\n')

    message = _load_error(path)

    assert str(path) in message
    assert "invalid" in message
    assert expected in message


def test_profile_without_streams_is_refused(tmp_path: Path) -> None:
    message = _load_error(_write(tmp_path, 'name = "x"\n'))

    assert "streams" in message
    assert "Field required" in message


def test_builtin_name_loads_the_default_profile() -> None:
    assert load_profile("default") is DEFAULT_PROFILE


def test_unknown_name_lists_the_builtin_profiles(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-show.toml"

    with pytest.raises(ProfileError) as caught:
        load_profile(str(missing))

    message = str(caught.value)
    assert str(missing) in message
    assert "neither a file nor a built-in profile" in message
    assert "default" in message


def test_a_directory_is_not_a_profile(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="neither a file nor a built-in profile"):
        load_profile(str(tmp_path))


def test_the_readme_profile_example_is_a_valid_profile() -> None:
    """Users copy it: it must load as written."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    example = re.search(r"```toml\n(.*?)```", readme, re.DOTALL)
    assert example, "the README has no TOML profile example"

    profile = parse_profile(tomllib.loads(example.group(1)), "README.md")

    assert [phase.name for phase in profile.show_phases] == ["preset", "show"]
    assert profile.headroom == 1.2
