"""--qlab-stream specs: each is the profile stream it names, refused with the profile's words."""

from __future__ import annotations

import pytest

from pytest_qlab.core.profiles import (
    CODEC_NAMES,
    NOMINAL_FPS,
    ProfileError,
    ShowProfile,
    StreamSpec,
    parse_profile,
    rate_table,
)
from pytest_qlab.core.stream_flags import (
    NAME_PREFIX,
    parse_stream,
    profile_from_streams,
    profile_name,
)

UHD = "3840x2160"
HD = "1920x1080"
ALLOWED_RASTERS = ", ".join(rate_table().rasters)
ALLOWED_FPS = ", ".join(f"{fps:g}" for fps in NOMINAL_FPS)


# --- specs that name a stream ------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("hq:3840x2160@29.97", StreamSpec(codec="hq", raster=UHD, fps=29.97)),
        ("3x422:1920x1080@25", StreamSpec(codec="422", raster=HD, fps=25, count=3)),
        ("18.4MB/s@29.97", StreamSpec(mb_s=18.4, fps=29.97)),
        ("2x18.4MB/s@29.97", StreamSpec(mb_s=18.4, fps=29.97, count=2)),
        ("4444xq:4096x2160@24", StreamSpec(codec="4444xq", raster="4096x2160", fps=24)),
        ("2x4444xq:4096x2160@24", StreamSpec(codec="4444xq", raster="4096x2160", fps=24, count=2)),
        ("12x4444:1920x1080@59.94", StreamSpec(codec="4444", raster=HD, fps=59.94, count=12)),
        ("HQ:3840X2160@29.97", StreamSpec(codec="hq", raster=UHD, fps=29.97)),
        (
            " 3 x proxy:1280x720 @ 50 ",
            StreamSpec(codec="proxy", raster="1280x720", fps=50, count=3),
        ),
        ("440 MB/s@29.97", StreamSpec(mb_s=440, fps=29.97)),
        ("64x1MB/s@240", StreamSpec(mb_s=1, fps=240, count=64)),
    ],
)
def test_a_spec_is_the_profile_stream_it_names(spec: str, expected: StreamSpec) -> None:
    assert parse_stream(spec) == expected


def test_a_spec_and_a_profile_stream_derive_the_same_figures() -> None:
    from_flag = parse_stream("3x422:1920x1080@29.97")
    from_file = parse_profile(
        {"name": "file", "streams": [{"codec": "422", "raster": HD, "fps": 29.97, "count": 3}]},
        "show.toml",
    ).streams[0]

    assert from_flag.derivation() == from_file.derivation()
    assert from_flag.total_mb_s == pytest.approx(3 * 147e6 / 8 / 30 * 29.97 / 1e6)
    assert from_flag.frame_bytes == from_file.frame_bytes


def test_a_rate_in_mb_s_keeps_its_figure_and_count() -> None:
    one, two = parse_stream("18.4MB/s@29.97"), parse_stream("2x18.4MB/s@29.97")

    assert one.count == 1
    assert two.count == 2
    assert one.mb_s_each == two.mb_s_each == pytest.approx(18.4)
    assert two.total_mb_s == pytest.approx(36.8)
    assert two.cell_key is None


# --- specs that are refused --------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "hqq:3840x2160@29.97",
            "--qlab-stream 'hqq:3840x2160@29.97' is invalid: codec: Input should be 'proxy', "
            "'lt', '422', 'hq', '4444' or '4444xq'",
        ),
        (
            "3xhqq:3840x2160@29.97",
            "--qlab-stream '3xhqq:3840x2160@29.97' is invalid: codec: Input should be 'proxy', "
            "'lt', '422', 'hq', '4444' or '4444xq'",
        ),
        (
            "hq:3840x2161@29.97",
            f"--qlab-stream 'hq:3840x2161@29.97' is invalid: raster '3840x2161' is unknown; "
            f"use one of {ALLOWED_RASTERS}",
        ),
        (
            "hq:4k@29.97",
            "--qlab-stream 'hq:4k@29.97' is invalid: raster: String should match pattern "
            rf"'^\d{{3,5}}x\d{{3,5}}$'; use one of {ALLOWED_RASTERS}",
        ),
        (
            "hq:3840x2160@31",
            "--qlab-stream 'hq:3840x2160@31' is invalid: fps 31 is not a ProRes frame rate in "
            f"the table; use one of {ALLOWED_FPS}",
        ),
        (
            "hq:3840x2160@fast",
            "--qlab-stream 'hq:3840x2160@fast' is invalid: fps: Input should be a valid number, "
            "unable to parse string as a number",
        ),
        (
            "hq:3840x2160@0",
            "--qlab-stream 'hq:3840x2160@0' is invalid: fps: Input should be greater than 0",
        ),
        (
            "18.4MB/s@-25",
            "--qlab-stream '18.4MB/s@-25' is invalid: fps: Input should be greater than 0",
        ),
        (
            "0x422:1920x1080@25",
            "--qlab-stream '0x422:1920x1080@25' is invalid: count: Input should be greater "
            "than or equal to 1",
        ),
        (
            "-2x422:1920x1080@25",
            "--qlab-stream '-2x422:1920x1080@25' is invalid: count: Input should be greater "
            "than or equal to 1",
        ),
        (
            "65x18.4MB/s@25",
            "--qlab-stream '65x18.4MB/s@25' is invalid: count: Input should be less than or "
            "equal to 64",
        ),
        (
            "0MB/s@25",
            "--qlab-stream '0MB/s@25' is invalid: mb_s: Input should be greater than 0",
        ),
        (
            "-18.4MB/s@25",
            "--qlab-stream '-18.4MB/s@25' is invalid: mb_s: Input should be greater than 0",
        ),
        (
            "18.4Mb/s@25",
            "--qlab-stream '18.4Mb/s@25' is invalid: write the rate in MB/s (megabytes per "
            "second; Mb/s / 8 = MB/s)",
        ),
    ],
)
def test_a_bad_spec_names_the_flag_the_spec_and_what_is_allowed(spec: str, message: str) -> None:
    with pytest.raises(ProfileError) as caught:
        parse_stream(spec)

    assert str(caught.value) == message
    assert "\n" not in message


@pytest.mark.parametrize(
    "spec",
    ["garbage", "hq:3840x2160", "@29.97", "hq:3840x2160@", "18.4@29.97", "3x@25", "", "   "],
)
def test_a_spec_of_the_wrong_shape_shows_the_grammar(spec: str) -> None:
    with pytest.raises(ProfileError) as caught:
        parse_stream(spec)

    message = str(caught.value)
    assert message.startswith(f"--qlab-stream {spec!r} is ")
    assert "[COUNTx]CODEC:WIDTHxHEIGHT@FPS (e.g. hq:3840x2160@29.97" in message
    assert "[COUNTx]<rate>MB/s@FPS (e.g. 18.4MB/s@29.97" in message
    assert "\n" not in message


def test_the_profile_file_refuses_the_same_codec_with_the_same_words() -> None:
    with pytest.raises(ProfileError) as from_file:
        parse_profile(
            {"name": "x", "streams": [{"codec": "hqq", "raster": UHD, "fps": 25}]}, "show.toml"
        )
    with pytest.raises(ProfileError) as from_flag:
        parse_stream("hqq:3840x2160@25")

    said_by_flag = str(from_flag.value).partition(" is invalid: codec: ")[2]
    assert said_by_flag == f"Input should be {', '.join(repr(c) for c in CODEC_NAMES)}".replace(
        ", '4444xq'", " or '4444xq'"
    )
    assert said_by_flag in str(from_file.value)


# --- the show the flags describe ---------------------------------------------------------


def test_the_flags_make_a_profile_with_only_streams() -> None:
    profile = profile_from_streams(["hq:3840x2160@29.97", "3x422:1920x1080@25"])
    from_file = ShowProfile(
        name="file",
        streams=(
            StreamSpec(codec="hq", raster=UHD, fps=29.97),
            StreamSpec(codec="422", raster=HD, fps=25, count=3),
        ),
    )

    assert profile.name == "from --qlab-stream: 1 x UHD ProRes 422 HQ 29.97 + 3 x HD ProRes 422 25"
    assert profile.streams == from_file.streams
    assert profile.crossfade == from_file.crossfade
    assert profile.headroom == from_file.headroom
    assert profile.player_buffer_frames == from_file.player_buffer_frames
    assert profile.show_phases == from_file.show_phases
    assert profile.normal_mb_s == pytest.approx(from_file.normal_mb_s)
    assert profile.crossfade_mb_s == pytest.approx(2 * from_file.normal_mb_s)


def test_the_derivation_names_the_flags_as_its_source() -> None:
    profile = profile_from_streams(["hq:3840x2160@29.97", "3x422:1920x1080@25"])

    assert profile.derivation_lines() == [
        "1 x UHD ProRes 422 HQ 29.97: 884 Mb/s target at 30 fps = 3.683 MB/frame x 29.97 fps "
        "= 110.4 MB/s each",
        "3 x HD ProRes 422 25: 122 Mb/s target at 25 fps = 0.610 MB/frame x 25 fps "
        "= 15.2 MB/s each",
        "normal playback of the --qlab-stream show: 1 x 110.4 + 3 x 15.2 MB/s = 156.1 MB/s",
        "crossfade peak of the --qlab-stream show: 1 x 110.4 + 3 x 15.2 + 1 x 110.4 + 3 x 15.2 "
        "MB/s = 312.3 MB/s",
    ]


def test_a_profile_file_still_names_itself_in_the_derivation() -> None:
    profile = ShowProfile(name="Tour", streams=(StreamSpec(mb_s=10, fps=25),))

    normal, crossfade = profile.requirements()
    assert normal.derivation == "normal playback of profile 'Tour': 1 x 10.0 MB/s = 10.0 MB/s"
    assert crossfade.derivation.startswith("crossfade peak of profile 'Tour': ")


def test_one_rate_flag_is_a_show_of_its_own() -> None:
    profile = profile_from_streams(["2x18.4MB/s@29.97"])

    assert profile.name == "from --qlab-stream: 2 x 18.4 MB/s at 29.97 fps"
    assert profile.normal_mb_s == pytest.approx(36.8)
    assert profile.crossfade_mb_s == pytest.approx(73.6)


def test_a_long_list_of_streams_is_cut_to_fit_a_profile_name() -> None:
    streams = [
        parse_stream(spec)
        for spec in (
            "hq:3840x2160@29.97",
            "3x422:1920x1080@25",
            "18.4MB/s@29.97",
            "4444:4096x2160@24",
        )
    ]

    name = profile_name(streams)
    assert name == "from --qlab-stream: 1 x UHD ProRes 422 HQ 29.97 + 3 x HD ProRes 422 25 + 2 more"
    assert len(name) <= 80
    many = [StreamSpec(name="n" * 60, codec="4444xq", raster="8192x4320", fps=59.94)] * 3
    assert profile_name(many) == f"{NAME_PREFIX}3 kinds of stream"


def test_a_bad_flag_among_good_ones_is_the_one_named() -> None:
    with pytest.raises(ProfileError, match=r"^--qlab-stream 'hq:3840x2160@31' is invalid: "):
        profile_from_streams(["3x422:1920x1080@25", "hq:3840x2160@31"])


def test_more_kinds_of_stream_than_a_profile_holds_are_refused() -> None:
    with pytest.raises(ProfileError) as caught:
        profile_from_streams(["25MB/s@25"] * 33)

    assert str(caught.value) == (
        "--qlab-stream was given 33 times: streams: Tuple should have at most 32 items after "
        "validation, not 33; give a stream that plays several times once, with a count "
        "(e.g. 3x422:1920x1080@25)"
    )


def test_no_flags_make_no_show() -> None:
    with pytest.raises(ProfileError, match=r"^no --qlab-stream was given; give "):
        profile_from_streams([])
